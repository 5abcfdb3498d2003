//! Inputs the corpus does not cover, made here: 16-bit PNG, palette PNG, GIF, a Display
//! P3 JPEG, WebP with alpha; and damaged files that must give errors, not panics. CMYK
//! and progressive JPEGs come from other people's tools (`tools.rs`).

mod common;

use common::{corpus, read_back};
use image::ImageEncoder;
use imagecdn_transform::{Canonical, Format, Limits, transform};

fn run(input: &[u8], q: &str) -> imagecdn_transform::Output {
    transform(input, &Canonical::parse(q).unwrap(), &Limits::default())
        .unwrap_or_else(|e| panic!("?{q}: {e}"))
}

fn centre(out: &imagecdn_transform::Output) -> [u8; 4] {
    let rgba = read_back(&out.bytes).rgba.unwrap();
    let (w, h) = rgba.dimensions();
    rgba.get_pixel(w / 2, h / 2).0
}

fn close(a: [u8; 4], b: [u8; 4], tol: i32) -> bool {
    a.iter()
        .zip(b)
        .all(|(&x, y)| (i32::from(x) - i32::from(y)).abs() <= tol)
}

#[test]
fn sixteen_bit_and_palette_png() {
    let (w, h) = (40u32, 30u32);
    let px: Vec<u16> = (0..w * h)
        .flat_map(|_| [65535u16, 32768, 0, 32768])
        .collect();
    // image wants native-endian u16 bytes for Rgba16.
    let native: Vec<u8> = px.iter().flat_map(|v| v.to_ne_bytes()).collect();
    let mut png = Vec::new();
    image::codecs::png::PngEncoder::new(&mut png)
        .write_image(&native, w, h, image::ExtendedColorType::Rgba16)
        .unwrap();
    let out = run(&png, "w=20");
    assert_eq!((out.width, out.height, out.format), (20, 15, Format::Png));
    let c = centre(&out);
    assert!(close(c, [255, 128, 0, 128], 2), "{c:?}");

    // A 1-bit palette PNG with tRNS (the bomb's layout, at a sane size): 8 px wide rows of
    // alternating index 0 (transparent) and 1 (opaque green).
    let mut png_bytes = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut png_bytes, 16, 16);
        enc.set_color(png::ColorType::Indexed);
        enc.set_depth(png::BitDepth::One);
        enc.set_palette(vec![0, 0, 0, 0, 255, 0]);
        enc.set_trns(vec![0, 255]);
        let mut writer = enc.write_header().unwrap();
        let rows: Vec<u8> = (0..16).flat_map(|_| [0x00u8, 0xFF]).collect();
        writer.write_image_data(&rows).unwrap();
    }
    let out = run(&png_bytes, "fm=png");
    let rgba = read_back(&out.bytes).rgba.unwrap();
    assert_eq!(rgba.get_pixel(2, 2).0[3], 0);
    assert_eq!(rgba.get_pixel(12, 2).0, [0, 255, 0, 255]);
}

#[test]
fn gif_first_frame_to_png() {
    let mut gif = Vec::new();
    {
        let mut enc = image::codecs::gif::GifEncoder::new(&mut gif);
        let frame =
            |c: [u8; 4]| image::Frame::new(image::RgbaImage::from_pixel(50, 40, image::Rgba(c)));
        enc.encode_frames([frame([0, 0, 255, 255]), frame([255, 0, 0, 255])])
            .unwrap();
    }
    let out = run(&gif, "w=25");
    assert_eq!((out.width, out.height, out.format), (25, 20, Format::Png));
    assert!(close(centre(&out), [0, 0, 255, 255], 2));
    let out = run(&gif, "fm=webp&w=25");
    assert_eq!(read_back(&out.bytes).format, Format::Webp);
}

#[test]
fn display_p3_jpeg_is_converted_to_srgb() {
    let icc = moxcms::ColorProfile::new_display_p3().encode().unwrap();
    let (w, h) = (32u16, 32u16);
    let px: Vec<u8> = (0..w as usize * h as usize)
        .flat_map(|_| [200u8, 100, 50])
        .collect();
    let encode = |with_icc: bool| {
        let mut jpg = Vec::new();
        let mut enc = jpeg_encoder::Encoder::new(&mut jpg, 100);
        if with_icc {
            enc.add_icc_profile(&icc).unwrap();
        }
        enc.encode(&px, w, h, jpeg_encoder::ColorType::Rgb).unwrap();
        jpg
    };
    let plain = centre(&run(&encode(false), "fm=png&w=16"));
    let p3 = centre(&run(&encode(true), "fm=png&w=16"));
    assert!(close(plain, [200, 100, 50, 255], 3), "{plain:?}");
    assert!(
        p3[0] > plain[0] + 5 && p3[2] + 5 < plain[2],
        "P3 not converted: {p3:?} vs {plain:?}"
    );
    // And the output carries no profile.
    let out = run(&encode(true), "fm=jpeg&w=16");
    assert!(!out.bytes.windows(11).any(|w| w == b"ICC_PROFILE"));
}

#[test]
fn webp_alpha_input() {
    let img = image::RgbaImage::from_fn(60, 40, |x, _| {
        image::Rgba([0, 128, 255, if x < 30 { 0 } else { 255 }])
    });
    let mut webp = Vec::new();
    image::codecs::webp::WebPEncoder::new_lossless(&mut webp)
        .write_image(img.as_raw(), 60, 40, image::ExtendedColorType::Rgba8)
        .unwrap();
    let out = run(&webp, "fm=png&w=30");
    let back = read_back(&out.bytes);
    assert!(back.has_alpha);
    let rgba = back.rgba.unwrap();
    assert_eq!(rgba.get_pixel(2, 10)[3], 0);
    assert_eq!(rgba.get_pixel(27, 10)[3], 255);
    // Premultiplied resampling: no dark fringe next to the transparent half.
    let edge = rgba.get_pixel(16, 10);
    assert!(edge[3] == 255 && edge[2] > 240, "fringe: {edge:?}");
}

/// Truncations and byte flips of real files: every call returns (Ok or Err), none panics.
#[test]
fn damaged_inputs_never_panic() {
    let mut sources = vec![corpus("07_").1, corpus("10_").1];
    let mut gif = Vec::new();
    image::codecs::gif::GifEncoder::new(&mut gif)
        .encode(&[7u8; 16 * 16 * 4], 16, 16, image::ExtendedColorType::Rgba8)
        .unwrap();
    sources.push(gif);
    let req = Canonical::parse("fm=png&w=16").unwrap();
    let limits = Limits::default();
    for src in &sources {
        let n = src.len();
        for cut in (0..n)
            .step_by((n / 40).max(1))
            .chain([1, 2, 3, 10, 30, 100])
        {
            let _ = transform(&src[..cut.min(n)], &req, &limits);
        }
        let mut state = 0x2545F491u32;
        for _ in 0..40 {
            let mut m = src.clone();
            for _ in 0..8 {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                let i = state as usize % m.len().min(2048);
                m[i] = (state >> 8) as u8;
            }
            let _ = transform(&m, &req, &limits);
        }
    }
    // Headers that lie about sizes.
    let mut huge_png =
        b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR\xff\xff\xff\xff\0\0\0\x01\x08\x06\0\0\0".to_vec();
    huge_png.extend_from_slice(&[0; 64]);
    assert_eq!(
        transform(&huge_png, &req, &limits)
            .unwrap_err()
            .http_status(),
        413
    );
    let huge_gif = b"GIF89a\xff\xff\xff\xff\0\0\0;";
    assert_eq!(
        transform(huge_gif, &req, &limits)
            .unwrap_err()
            .http_status(),
        413
    );
}
