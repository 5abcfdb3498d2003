//! The one in-memory image type the pipeline passes between stages.
//!
//! Every decoder's output is normalised to 8-bit, interleaved gray, gray+alpha, RGB or RGBA
//! (16-bit PNGs are reduced to 8 bits: every output format we write is 8-bit), so resize,
//! orientation and the encoders only deal with four layouts. Alpha is straight (not
//! premultiplied) here; the resizer premultiplies internally.

use crate::error::TransformError;

/// Channel layout of [`Pixels`], always 8 bits per channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    Gray,
    GrayAlpha,
    Rgb,
    Rgba,
}

impl Layout {
    pub fn channels(self) -> usize {
        match self {
            Layout::Gray => 1,
            Layout::GrayAlpha => 2,
            Layout::Rgb => 3,
            Layout::Rgba => 4,
        }
    }

    pub fn has_alpha(self) -> bool {
        matches!(self, Layout::GrayAlpha | Layout::Rgba)
    }

    /// The same colour model with an alpha channel.
    pub fn with_alpha(self) -> Layout {
        match self {
            Layout::Gray | Layout::GrayAlpha => Layout::GrayAlpha,
            Layout::Rgb | Layout::Rgba => Layout::Rgba,
        }
    }
}

/// An 8-bit interleaved image. `data.len() == width * height * layout.channels()`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pixels {
    pub width: u32,
    pub height: u32,
    pub layout: Layout,
    pub data: Vec<u8>,
}

impl Pixels {
    /// Wraps a buffer, checking its length (decoders are trusted less than our own code).
    pub fn new(
        width: u32,
        height: u32,
        layout: Layout,
        data: Vec<u8>,
    ) -> Result<Pixels, TransformError> {
        let expected = buffer_len(width, height, layout)?;
        if data.len() != expected {
            return Err(TransformError::Corrupt(format!(
                "decoder returned {} bytes for {width}x{height} {layout:?}, expected {expected}",
                data.len()
            )));
        }
        Ok(Pixels {
            width,
            height,
            layout,
            data,
        })
    }

    /// A canvas filled with one pixel value (`fill.len() == layout.channels()`).
    pub fn filled(
        width: u32,
        height: u32,
        layout: Layout,
        fill: &[u8],
    ) -> Result<Pixels, TransformError> {
        let len = buffer_len(width, height, layout)?;
        let mut data = Vec::new();
        data.try_reserve_exact(len)
            .map_err(|_| too_large(width, height))?;
        if fill.iter().all(|&b| b == fill[0]) {
            data.resize(len, fill[0]);
        } else {
            for _ in 0..(len / fill.len()) {
                data.extend_from_slice(fill);
            }
        }
        Ok(Pixels {
            width,
            height,
            layout,
            data,
        })
    }

    /// Converts to another layout: gray is replicated into RGB, RGB is reduced to gray with
    /// Rec. 601 luma, alpha is added as opaque or dropped (callers flatten first when
    /// dropping alpha matters).
    pub fn convert(self, to: Layout) -> Pixels {
        if self.layout == to {
            return self;
        }
        let from = self.layout;
        let (fc, tc) = (from.channels(), to.channels());
        let mut out = Vec::with_capacity(self.data.len() / fc * tc);
        for px in self.data.chunks_exact(fc) {
            let (gray, rgb, alpha) = match from {
                Layout::Gray => (px[0], [px[0]; 3], 255),
                Layout::GrayAlpha => (px[0], [px[0]; 3], px[1]),
                Layout::Rgb => (luma(px), [px[0], px[1], px[2]], 255),
                Layout::Rgba => (luma(px), [px[0], px[1], px[2]], px[3]),
            };
            match to {
                Layout::Gray => out.push(gray),
                Layout::GrayAlpha => out.extend_from_slice(&[gray, alpha]),
                Layout::Rgb => out.extend_from_slice(&rgb),
                Layout::Rgba => out.extend_from_slice(&[rgb[0], rgb[1], rgb[2], alpha]),
            }
        }
        Pixels {
            width: self.width,
            height: self.height,
            layout: to,
            data: out,
        }
    }

    /// Composites onto an opaque background colour and drops alpha (JPEG output).
    pub fn flatten(self, background: [u8; 3]) -> Pixels {
        let to = match self.layout {
            Layout::GrayAlpha => Layout::Gray,
            Layout::Rgba => Layout::Rgb,
            _ => return self,
        };
        let n = self.layout.channels();
        let bg_gray = luma(&background);
        let mut out = Vec::with_capacity(self.data.len() / n * to.channels());
        let blend = |c: u8, bg: u8, a: u8| -> u8 {
            let (c, bg, a) = (u32::from(c), u32::from(bg), u32::from(a));
            ((c * a + bg * (255 - a) + 127) / 255) as u8
        };
        for px in self.data.chunks_exact(n) {
            let a = px[n - 1];
            if n == 2 {
                out.push(blend(px[0], bg_gray, a));
            } else {
                for c in 0..3 {
                    out.push(blend(px[c], background[c], a));
                }
            }
        }
        Pixels {
            width: self.width,
            height: self.height,
            layout: to,
            data: out,
        }
    }

    /// True when every alpha value is 255 (or there is no alpha channel).
    pub fn is_opaque(&self) -> bool {
        if !self.layout.has_alpha() {
            return true;
        }
        let n = self.layout.channels();
        self.data.chunks_exact(n).all(|px| px[n - 1] == 255)
    }
}

/// Rec. 601 luma, the same weights JPEG's YCbCr uses.
fn luma(px: &[u8]) -> u8 {
    let (r, g, b) = (u32::from(px[0]), u32::from(px[1]), u32::from(px[2]));
    ((r * 299 + g * 587 + b * 114 + 500) / 1000) as u8
}

/// `width * height * channels` with overflow checked (wasm32 has a 32-bit `usize`).
pub fn buffer_len(width: u32, height: u32, layout: Layout) -> Result<usize, TransformError> {
    usize::try_from(width)
        .ok()
        .and_then(|w| w.checked_mul(usize::try_from(height).ok()?))
        .and_then(|p| p.checked_mul(layout.channels()))
        .ok_or_else(|| too_large(width, height))
}

fn too_large(width: u32, height: u32) -> TransformError {
    TransformError::OutputTooLarge {
        width,
        height,
        reason: "pixel buffer size overflows".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flatten_onto_white() {
        let p = Pixels::new(2, 1, Layout::Rgba, vec![0, 0, 0, 0, 10, 20, 30, 255]).unwrap();
        let f = p.flatten([255, 255, 255]);
        assert_eq!(f.layout, Layout::Rgb);
        assert_eq!(f.data, vec![255, 255, 255, 10, 20, 30]);
    }

    #[test]
    fn convert_round_trip() {
        let p = Pixels::new(1, 1, Layout::Gray, vec![7]).unwrap();
        let rgba = p.convert(Layout::Rgba);
        assert_eq!(rgba.data, vec![7, 7, 7, 255]);
        assert_eq!(rgba.convert(Layout::Gray).data, vec![7]);
    }

    #[test]
    fn length_is_checked() {
        assert!(Pixels::new(2, 2, Layout::Rgb, vec![0; 11]).is_err());
        assert!(buffer_len(u32::MAX, u32::MAX, Layout::Rgba).is_err());
    }
}
