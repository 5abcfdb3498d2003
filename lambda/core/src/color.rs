//! Colour: everything leaves as sRGB, with no profile attached.
//!
//! Outputs carry no metadata at all (no EXIF, no XMP, no ICC), and browsers treat untagged
//! images as sRGB, so pixels must *be* sRGB:
//! - no profile, or a profile that names itself sRGB (the usual "sRGB IEC61966-2.1" and
//!   its variants): the pixels are used as they are (fast path, no conversion);
//! - another RGB profile (Display P3, Adobe RGB, camera profiles...): converted to sRGB
//!   with `moxcms` (pure Rust, also in wasm), relative colorimetric intent, on the *resized*
//!   pixels (resampling commutes with a per-pixel transform far better than it costs to
//!   convert 16 MP first);
//! - a gray profile on a gray image: kept as is (treated as sRGB gray);
//! - a CMYK profile: ignored, CMYK is converted naively (see `decode`);
//! - a profile that does not parse or convert: ignored (the image is treated as sRGB),
//!   never an error: a bad profile should not make an image unservable.

use moxcms::{ColorProfile, DataColorSpace, Layout as CmsLayout, TransformOptions};

use crate::pixels::{Layout, Pixels};

/// Heuristic: does the profile call itself sRGB? The description tag is ASCII (v2) or
/// UTF-16BE (v4 `mluc`); we look for either spelling in the profile bytes.
pub fn looks_srgb(icc: &[u8]) -> bool {
    const UTF16: &[u8] = b"\0s\0R\0G\0B";
    icc.windows(4).any(|w| w == b"sRGB") || icc.windows(UTF16.len()).any(|w| w == UTF16)
}

/// Converts `p` to sRGB if `icc` describes another RGB space; see the module docs.
pub fn to_srgb(p: Pixels, icc: Option<&[u8]>) -> Pixels {
    let Some(icc) = icc else { return p };
    if looks_srgb(icc) {
        return p;
    }
    let layout = match p.layout {
        Layout::Rgb => CmsLayout::Rgb,
        Layout::Rgba => CmsLayout::Rgba,
        Layout::Gray | Layout::GrayAlpha => return p,
    };
    let Ok(profile) = ColorProfile::new_from_slice(icc) else {
        return p;
    };
    if profile.color_space != DataColorSpace::Rgb {
        return p;
    }
    let srgb = ColorProfile::new_srgb();
    let Ok(transform) =
        profile.create_transform_8bit(layout, &srgb, layout, TransformOptions::default())
    else {
        return p;
    };
    let mut out = vec![0u8; p.data.len()];
    if transform.transform(&p.data, &mut out).is_err() {
        return p;
    }
    Pixels { data: out, ..p }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn srgb_names() {
        assert!(looks_srgb(b"....desc....sRGB IEC61966-2.1...."));
        assert!(looks_srgb(b"mluc\0\0\0s\0R\0G\0B\0 \0b"));
        assert!(!looks_srgb(b"Display P3"));
    }

    #[test]
    fn garbage_profiles_are_ignored() {
        let p = Pixels::new(1, 1, Layout::Rgb, vec![1, 2, 3]).unwrap();
        assert_eq!(to_srgb(p.clone(), Some(b"not a profile")), p);
        assert_eq!(to_srgb(p.clone(), None), p);
    }

    #[test]
    fn display_p3_is_converted() {
        // moxcms writes profiles too: build a Display P3 one and convert a P3 colour.
        let icc = ColorProfile::new_display_p3().encode().unwrap();
        assert!(!looks_srgb(&icc));
        let p = Pixels::new(1, 1, Layout::Rgb, vec![200, 100, 50]).unwrap();
        let out = to_srgb(p, Some(&icc));
        // The same numbers mean a more saturated colour in P3: in sRGB red goes up and
        // blue goes down.
        assert!(out.data[0] > 200 && out.data[2] < 50, "{:?}", out.data);
    }
}
