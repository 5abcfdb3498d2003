//! Output geometry (pure box maths) and resampling.
//!
//! # Fit modes (sharp's semantics) with `w` and `h`
//! - `cover` (default): fill the box, keep the aspect ratio, crop the overflow around the
//!   centre.
//! - `contain`: fit inside the box, keep the aspect ratio, letterbox to exactly the box.
//!   The bars are transparent when the output format has alpha (PNG, WebP, AVIF), white
//!   otherwise (JPEG).
//! - `fill`: stretch to exactly the box.
//! - `inside`: fit inside the box, keep the aspect ratio, no bars (output may be smaller
//!   than the box on one axis).
//! - `outside`: cover the box, keep the aspect ratio, no crop (output may be larger than
//!   the box on one axis).
//!
//! Only `w`: width `w`, height from the aspect ratio; only `h` likewise; neither: the
//! original size. Rounding is to the nearest pixel, at least 1.
//!
//! # Never enlarge
//! Like sharp's `withoutEnlargement`, output pixels never come from upsampling: when a fit
//! would need a scale factor above 1, the scale is 1. For `inside`, `outside`, `w`-only
//! and `h`-only that means the source size, as in sharp. For `cover`, `contain` and `fill`
//! (whose output is the box) the *box* is shrunk by that factor, so the requested aspect
//! ratio survives: a 512x600 source asked for `cover` 800x400 gives 512x256 (sharp would
//! crop to 512x400, changing the shape a layout asked for).
//!
//! # Limits
//! The box is clamped to the claim's `max_width` x `max_height` first (the edge already
//! clamps; this is defence in depth), and modes whose output is not bounded by the box
//! (`outside`, the original size) are fitted inside the limits.

use fast_image_resize as fir;
use imagecdn_urlapi::Fit;

use crate::error::TransformError;
use crate::pixels::{Layout, Pixels};

/// A source region, in source pixels (fractional: crops for `cover` are exact).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Crop {
    pub left: f64,
    pub top: f64,
    pub width: f64,
    pub height: f64,
}

/// Where every output pixel comes from.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Plan {
    /// The part of the (display-oriented) source that is resampled; the whole source
    /// except for `cover`.
    pub crop: Crop,
    /// The size the crop is resampled to.
    pub resize_w: u32,
    pub resize_h: u32,
    /// The output size: the resized image, or the letterbox for `contain`.
    pub canvas_w: u32,
    pub canvas_h: u32,
    /// Top-left of the resized image in the canvas.
    pub left: u32,
    pub top: u32,
}

impl Plan {
    fn whole(src_w: u32, src_h: u32, (w, h): (u32, u32)) -> Plan {
        Plan {
            crop: Crop {
                left: 0.0,
                top: 0.0,
                width: f64::from(src_w),
                height: f64::from(src_h),
            },
            resize_w: w,
            resize_h: h,
            canvas_w: w,
            canvas_h: h,
            left: 0,
            top: 0,
        }
    }

    /// True when the output is the source, pixel for pixel.
    pub fn is_identity(&self, src_w: u32, src_h: u32) -> bool {
        self.resize_w == src_w
            && self.resize_h == src_h
            && self.canvas_w == src_w
            && self.canvas_h == src_h
    }
}

/// `round(a * b / c)`, at least 1, saturating at `u32::MAX`. `c` must not be 0.
fn mul_div_round(a: u32, b: u32, c: u32) -> u32 {
    let (a, b, c) = (u128::from(a), u128::from(b), u128::from(c.max(1)));
    let v = (2 * a * b + c) / (2 * c);
    u32::try_from(v).unwrap_or(u32::MAX).max(1)
}

/// Width-bound test: is `bw/sw <= bh/sh` (the width ratio is the smaller one)?
fn width_ratio_smaller(sw: u32, sh: u32, bw: u32, bh: u32) -> bool {
    u64::from(bw) * u64::from(sh) <= u64::from(bh) * u64::from(sw)
}

/// Largest size with the source's aspect ratio inside `bw` x `bh` (may enlarge).
pub fn fit_inside(sw: u32, sh: u32, bw: u32, bh: u32) -> (u32, u32) {
    if width_ratio_smaller(sw, sh, bw, bh) {
        (bw, mul_div_round(sh, bw, sw))
    } else {
        (mul_div_round(sw, bh, sh), bh)
    }
}

/// Smallest size with the source's aspect ratio covering `bw` x `bh` (may enlarge).
pub fn fit_outside(sw: u32, sh: u32, bw: u32, bh: u32) -> (u32, u32) {
    if width_ratio_smaller(sw, sh, bw, bh) {
        (mul_div_round(sw, bh, sh), bh)
    } else {
        (bw, mul_div_round(sh, bw, sw))
    }
}

/// `fit_inside` that never enlarges.
fn inside_no_enlarge(sw: u32, sh: u32, bw: u32, bh: u32) -> (u32, u32) {
    let (w, h) = fit_inside(sw, sh, bw, bh);
    if w > sw || h > sh { (sw, sh) } else { (w, h) }
}

/// For box-sized outputs (`cover`, `fill`): if covering the box would enlarge, shrink the
/// box by the covering scale so that it fits the source, keeping the box's aspect ratio.
fn shrink_box_to_cover(sw: u32, sh: u32, bw: u32, bh: u32) -> (u32, u32) {
    if bw <= sw && bh <= sh {
        return (bw, bh);
    }
    // Covering scale = max(bw/sw, bh/sh) > 1; divide the box by it.
    if width_ratio_smaller(sw, sh, bw, bh) {
        // bh/sh is the larger ratio: the box's height becomes sh.
        (mul_div_round(bw, sh, bh).min(sw), sh)
    } else {
        (sw, mul_div_round(bh, sw, bw).min(sh))
    }
}

/// For `contain`: if fitting inside the box would enlarge, shrink the box by the
/// containing scale (min(bw/sw, bh/sh) > 1) so the source fits it exactly on one axis.
fn shrink_box_to_contain(sw: u32, sh: u32, bw: u32, bh: u32) -> (u32, u32) {
    let (w, h) = fit_inside(sw, sh, bw, bh);
    if w <= sw && h <= sh {
        return (bw, bh);
    }
    if width_ratio_smaller(sw, sh, bw, bh) {
        (sw, mul_div_round(bh, sw, bw).max(sh))
    } else {
        (mul_div_round(bw, sh, bh).max(sw), sh)
    }
}

/// Computes the output geometry for a `src_w` x `src_h` (display-oriented) source.
/// `fit` only matters when both `w` and `h` are given. `max_w`/`max_h` are the claim's
/// output limits (0 is treated as 1).
pub fn plan(
    src_w: u32,
    src_h: u32,
    w: Option<u32>,
    h: Option<u32>,
    fit: Fit,
    max_w: u32,
    max_h: u32,
) -> Plan {
    let (sw, sh) = (src_w.max(1), src_h.max(1));
    let (max_w, max_h) = (max_w.max(1), max_h.max(1));
    let (bw, bh) = match (w, h) {
        (None, None) => return Plan::whole(sw, sh, inside_no_enlarge(sw, sh, max_w, max_h)),
        (Some(w), None) => {
            return Plan::whole(sw, sh, inside_no_enlarge(sw, sh, w.clamp(1, max_w), max_h));
        }
        (None, Some(h)) => {
            return Plan::whole(sw, sh, inside_no_enlarge(sw, sh, max_w, h.clamp(1, max_h)));
        }
        (Some(w), Some(h)) => (w.clamp(1, max_w), h.clamp(1, max_h)),
    };
    match fit {
        Fit::Inside => Plan::whole(sw, sh, inside_no_enlarge(sw, sh, bw, bh)),
        Fit::Outside => {
            let (w, h) = fit_outside(sw, sh, bw, bh);
            let (w, h) = if w > sw || h > sh { (sw, sh) } else { (w, h) };
            // Outside is not bounded by the box: keep it inside the limits.
            Plan::whole(sw, sh, inside_no_enlarge(w, h, max_w, max_h))
        }
        Fit::Fill => Plan::whole(sw, sh, shrink_box_to_cover(sw, sh, bw, bh)),
        Fit::Cover => {
            let (bw, bh) = shrink_box_to_cover(sw, sh, bw, bh);
            // The source region with the box's aspect ratio, as large as possible, centred.
            let (fw, fh) = (f64::from(sw), f64::from(sh));
            let (cw, ch) = if width_ratio_smaller(sw, sh, bw, bh) {
                // Box relatively taller: full height, crop the sides.
                ((fh * f64::from(bw) / f64::from(bh)).min(fw), fh)
            } else {
                (fw, (fw * f64::from(bh) / f64::from(bw)).min(fh))
            };
            Plan {
                crop: Crop {
                    left: (fw - cw) / 2.0,
                    top: (fh - ch) / 2.0,
                    width: cw,
                    height: ch,
                },
                resize_w: bw,
                resize_h: bh,
                canvas_w: bw,
                canvas_h: bh,
                left: 0,
                top: 0,
            }
        }
        Fit::Contain => {
            let (bw, bh) = shrink_box_to_contain(sw, sh, bw, bh);
            let (w, h) = fit_inside(sw, sh, bw, bh);
            let (w, h) = (w.min(bw), h.min(bh));
            Plan {
                resize_w: w,
                resize_h: h,
                canvas_w: bw,
                canvas_h: bh,
                left: (bw - w) / 2,
                top: (bh - h) / 2,
                ..Plan::whole(sw, sh, (w, h))
            }
        }
    }
}

/// The smallest stored-size a scaled JPEG decode may return and still feed `plan`
/// without upsampling: the size the whole source would have at the plan's scale (the
/// same rule as sharp's default `fastShrinkOnLoad`: decode to at least the target, no
/// extra margin). `None` when no reduction is possible.
pub fn min_decode_size(plan: &Plan, src_w: u32, src_h: u32) -> Option<(u32, u32)> {
    // Scale per axis = resize / crop; the decode must keep the larger one.
    let sx = f64::from(plan.resize_w) / plan.crop.width.max(1.0);
    let sy = f64::from(plan.resize_h) / plan.crop.height.max(1.0);
    let s = sx.max(sy);
    if s >= 0.5 {
        return None; // no 1/2 (or smaller) scale fits
    }
    let w = (f64::from(src_w) * s).ceil() as u32;
    let h = (f64::from(src_h) * s).ceil() as u32;
    Some((w.max(1), h.max(1)))
}

fn pixel_type(layout: Layout) -> fir::PixelType {
    match layout {
        Layout::Gray => fir::PixelType::U8,
        Layout::GrayAlpha => fir::PixelType::U8x2,
        Layout::Rgb => fir::PixelType::U8x3,
        Layout::Rgba => fir::PixelType::U8x4,
    }
}

/// Resamples the plan's crop of `src` to `resize_w` x `resize_h`.
///
/// `full_w`/`full_h` is the display size the plan was computed for; `src` may be smaller
/// (a JPEG decoded at 1/2, 1/4 or 1/8), so the crop is scaled to `src`'s size. Lanczos3
/// (sharp's default kernel) with alpha premultiplied during the convolution, so fully
/// transparent pixels do not bleed their colour into the edges.
pub fn resample(
    src: Pixels,
    plan: &Plan,
    full_w: u32,
    full_h: u32,
) -> Result<Pixels, TransformError> {
    let (sx, sy) = (
        f64::from(src.width) / f64::from(full_w.max(1)),
        f64::from(src.height) / f64::from(full_h.max(1)),
    );
    let crop = Crop {
        left: plan.crop.left * sx,
        top: plan.crop.top * sy,
        width: (plan.crop.width * sx).min(f64::from(src.width)),
        height: (plan.crop.height * sy).min(f64::from(src.height)),
    };
    let whole = crop.left == 0.0
        && crop.top == 0.0
        && crop.width == f64::from(src.width)
        && crop.height == f64::from(src.height);
    if whole && src.width == plan.resize_w && src.height == plan.resize_h {
        return Ok(src);
    }
    let layout = src.layout;
    let internal = |e: &dyn std::fmt::Display| TransformError::Internal(format!("resize: {e}"));
    let src_img =
        fir::images::Image::from_vec_u8(src.width, src.height, src.data, pixel_type(layout))
            .map_err(|e| internal(&e))?;
    let len = crate::pixels::buffer_len(plan.resize_w, plan.resize_h, layout)?;
    let mut dst_buf = Vec::new();
    dst_buf
        .try_reserve_exact(len)
        .map_err(|_| TransformError::OutputTooLarge {
            width: plan.resize_w,
            height: plan.resize_h,
            reason: "cannot allocate the output".into(),
        })?;
    dst_buf.resize(len, 0);
    let mut dst_img =
        fir::images::Image::from_vec_u8(plan.resize_w, plan.resize_h, dst_buf, pixel_type(layout))
            .map_err(|e| internal(&e))?;
    let options = fir::ResizeOptions::new()
        .resize_alg(fir::ResizeAlg::Convolution(fir::FilterType::Lanczos3))
        .crop(crop.left, crop.top, crop.width, crop.height)
        .use_alpha(layout.has_alpha());
    fir::Resizer::new()
        .resize(&src_img, &mut dst_img, &options)
        .map_err(|e| internal(&e))?;
    Pixels::new(plan.resize_w, plan.resize_h, layout, dst_img.into_vec())
}

/// Places the resized image on the plan's canvas (the letterbox of `contain`).
/// `transparent`: the bars are transparent (the output format keeps alpha), else white.
pub fn place_on_canvas(
    img: Pixels,
    plan: &Plan,
    transparent: bool,
) -> Result<Pixels, TransformError> {
    if plan.canvas_w == img.width && plan.canvas_h == img.height {
        return Ok(img);
    }
    let (layout, fill): (Layout, &[u8]) = if transparent {
        let l = img.layout.with_alpha();
        (l, &[0, 0, 0, 0][..l.channels()])
    } else {
        (img.layout, &[255, 255, 255, 255][..img.layout.channels()])
    };
    let img = img.convert(layout);
    let mut canvas = Pixels::filled(plan.canvas_w, plan.canvas_h, layout, fill)?;
    let n = layout.channels();
    let src_row = img.width as usize * n;
    let dst_row = plan.canvas_w as usize * n;
    // Clip defensively: the plan guarantees the image fits, but a bad plan must not panic.
    let copy_w = (img.width.min(plan.canvas_w.saturating_sub(plan.left)) as usize) * n;
    let rows = img.height.min(plan.canvas_h.saturating_sub(plan.top)) as usize;
    for y in 0..rows {
        let s = y * src_row;
        let d = (y + plan.top as usize) * dst_row + plan.left as usize * n;
        canvas.data[d..d + copy_w].copy_from_slice(&img.data[s..s + copy_w]);
    }
    Ok(canvas)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn out(p: &Plan) -> (u32, u32) {
        (p.canvas_w, p.canvas_h)
    }

    const BIG: u32 = 4096;

    #[test]
    fn width_or_height_only_keeps_aspect() {
        assert_eq!(
            out(&plan(2048, 3088, Some(400), None, Fit::Cover, BIG, BIG)),
            (400, 603)
        );
        assert_eq!(
            out(&plan(5312, 2988, Some(400), None, Fit::Cover, BIG, BIG)),
            (400, 225)
        );
        assert_eq!(
            out(&plan(5312, 2988, None, Some(225), Fit::Cover, BIG, BIG)),
            (400, 225)
        );
        // Never enlarge.
        assert_eq!(
            out(&plan(512, 600, Some(1000), None, Fit::Cover, BIG, BIG)),
            (512, 600)
        );
        // Neither: original size, unless over the limits.
        assert_eq!(
            out(&plan(600, 400, None, None, Fit::Cover, BIG, BIG)),
            (600, 400)
        );
        assert_eq!(
            out(&plan(6028, 3391, None, None, Fit::Cover, BIG, BIG)),
            (4096, 2304)
        );
        // w clamped to the limit; height limit binds.
        assert_eq!(
            out(&plan(6000, 3000, Some(9000), None, Fit::Cover, 4096, 4096)),
            (4096, 2048)
        );
        assert_eq!(
            out(&plan(1000, 8000, Some(1000), None, Fit::Cover, 4096, 4096)),
            (512, 4096)
        );
    }

    #[test]
    fn cover() {
        let p = plan(5312, 2988, Some(400), Some(400), Fit::Cover, BIG, BIG);
        assert_eq!(out(&p), (400, 400));
        assert_eq!((p.resize_w, p.resize_h), (400, 400));
        assert_eq!(p.crop.height, 2988.0);
        assert_eq!(p.crop.width, 2988.0);
        assert_eq!(p.crop.left, (5312.0 - 2988.0) / 2.0);
        assert_eq!(p.crop.top, 0.0);
        // Tall box on a wide image and the other way round.
        let p = plan(600, 400, Some(100), Some(300), Fit::Cover, BIG, BIG);
        assert_eq!(out(&p), (100, 300));
        assert!((p.crop.width - 400.0 / 3.0).abs() < 1e-9);
        let p = plan(400, 600, Some(300), Some(100), Fit::Cover, BIG, BIG);
        assert!((p.crop.height - 400.0 / 3.0).abs() < 1e-9);
        assert_eq!(p.crop.width, 400.0);
        // Enlarging box: shrunk, aspect kept (2:1).
        assert_eq!(
            out(&plan(512, 600, Some(800), Some(400), Fit::Cover, BIG, BIG)),
            (512, 256)
        );
        assert_eq!(
            out(&plan(512, 600, Some(400), Some(800), Fit::Cover, BIG, BIG)),
            (300, 600)
        );
    }

    #[test]
    fn contain() {
        let p = plan(600, 400, Some(300), Some(300), Fit::Contain, BIG, BIG);
        assert_eq!(out(&p), (300, 300));
        assert_eq!((p.resize_w, p.resize_h), (300, 200));
        assert_eq!((p.left, p.top), (0, 50));
        let p = plan(400, 600, Some(300), Some(300), Fit::Contain, BIG, BIG);
        assert_eq!((p.resize_w, p.resize_h, p.left, p.top), (200, 300, 50, 0));
        // Enlarging: the box shrinks to the source on the binding axis, aspect kept.
        let p = plan(512, 600, Some(1000), Some(1000), Fit::Contain, BIG, BIG);
        assert_eq!(out(&p), (600, 600));
        assert_eq!((p.resize_w, p.resize_h, p.left, p.top), (512, 600, 44, 0));
    }

    #[test]
    fn fill_inside_outside() {
        assert_eq!(
            out(&plan(600, 400, Some(100), Some(300), Fit::Fill, BIG, BIG)),
            (100, 300)
        );
        assert_eq!(
            out(&plan(600, 400, Some(300), Some(300), Fit::Inside, BIG, BIG)),
            (300, 200)
        );
        assert_eq!(
            out(&plan(
                600,
                400,
                Some(300),
                Some(300),
                Fit::Outside,
                BIG,
                BIG
            )),
            (450, 300)
        );
        // Never enlarge.
        assert_eq!(
            out(&plan(600, 400, Some(900), Some(900), Fit::Inside, BIG, BIG)),
            (600, 400)
        );
        assert_eq!(
            out(&plan(
                600,
                400,
                Some(500),
                Some(500),
                Fit::Outside,
                BIG,
                BIG
            )),
            (600, 400)
        );
        assert_eq!(
            out(&plan(600, 400, Some(1200), Some(200), Fit::Fill, BIG, BIG)),
            (600, 100)
        );
        // Outside respects the limits.
        assert_eq!(
            out(&plan(
                8000,
                1000,
                Some(100),
                Some(1000),
                Fit::Outside,
                4096,
                4096
            )),
            (4096, 512)
        );
    }

    #[test]
    fn degenerate_inputs_do_not_panic() {
        for fit in Fit::ALL {
            for (sw, sh) in [(1, 1), (1, 65535), (65535, 1), (0, 0), (u32::MAX, u32::MAX)] {
                for (w, h) in [
                    (Some(1), Some(1)),
                    (Some(u32::MAX), Some(u32::MAX)),
                    (None, Some(7)),
                ] {
                    let p = plan(sw, sh, w, h, fit, 4096, 4096);
                    assert!(p.canvas_w >= 1 && p.canvas_h >= 1);
                    assert!(
                        p.canvas_w <= 4096 && p.canvas_h <= 4096,
                        "{fit:?} {sw}x{sh} {w:?}x{h:?}: {p:?}"
                    );
                    assert!(p.resize_w <= p.canvas_w && p.resize_h <= p.canvas_h);
                }
            }
        }
    }

    #[test]
    fn decode_scale() {
        let p = plan(5312, 2988, Some(400), None, Fit::Cover, BIG, BIG);
        let (w, h) = min_decode_size(&p, 5312, 2988).unwrap();
        assert!(w >= 400 && h >= 225 && w < 5312 / 8 + 8, "{w}x{h}");
        // Cover crops: the binding axis is the one that decides.
        let p = plan(5312, 2988, Some(400), Some(400), Fit::Cover, BIG, BIG);
        let (w, h) = min_decode_size(&p, 5312, 2988).unwrap();
        assert!(h >= 400 && w >= 400, "{w}x{h}");
        let p = plan(512, 600, Some(400), None, Fit::Cover, BIG, BIG);
        assert_eq!(min_decode_size(&p, 512, 600), None);
    }

    #[test]
    fn canvas_and_resample() {
        let src = Pixels::new(4, 2, Layout::Rgb, vec![10; 24]).unwrap();
        let p = plan(4, 2, Some(4), Some(4), Fit::Contain, BIG, BIG);
        let r = resample(src, &p, 4, 2).unwrap();
        assert_eq!((r.width, r.height), (4, 2));
        let c = place_on_canvas(r.clone(), &p, false).unwrap();
        assert_eq!((c.width, c.height, c.layout), (4, 4, Layout::Rgb));
        assert_eq!(&c.data[..12], &[255; 12]); // white bar on top
        assert_eq!(&c.data[12..24], &[10; 12]);
        let t = place_on_canvas(r, &p, true).unwrap();
        assert_eq!(t.layout, Layout::Rgba);
        assert_eq!(&t.data[..4], &[0, 0, 0, 0]);
        assert_eq!(&t.data[16..20], &[10, 10, 10, 255]);
    }
}
