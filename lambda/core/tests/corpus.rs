//! Every corpus image x every output format x every fit mode, read back independently.

mod common;

use common::{corpus, read_back};
use imagecdn_transform::{Canonical, Fit, Format, Limits, TransformError, transform};

const BOX_W: u32 = 64;
const BOX_H: u32 = 48;

/// Expected output size for a source displayed as `sw` x `sh` (all corpus images are larger
/// than the box, so no enlargement rule applies).
fn expected(fit: Fit, sw: u32, sh: u32) -> (u32, u32) {
    let (sw, sh, bw, bh) = (sw as f64, sh as f64, BOX_W as f64, BOX_H as f64);
    let scaled = |s: f64| ((sw * s).round() as u32, (sh * s).round() as u32);
    match fit {
        Fit::Cover | Fit::Contain | Fit::Fill => (BOX_W, BOX_H),
        Fit::Inside => scaled((bw / sw).min(bh / sh)),
        Fit::Outside => scaled((bw / sw).max(bh / sh)),
    }
}

fn query(fit: Fit, fm: Format) -> String {
    let fit = match fit {
        Fit::Cover => String::new(), // implied: the canonical form omits it
        f => format!("fit={}&", f.as_str()),
    };
    format!("{fit}fm={}&h={BOX_H}&w={BOX_W}", fm.as_str())
}

fn matrix(prefix: &str, display_w: u32, display_h: u32, source_alpha: bool) {
    let (name, bytes) = corpus(prefix);
    for fm in Format::ALL {
        for fit in Fit::ALL {
            let q = query(fit, fm);
            let req = Canonical::parse(&q).unwrap();
            let out = transform(&bytes, &req, &Limits::default())
                .unwrap_or_else(|e| panic!("{name} ?{q}: {e}"));
            let back = read_back(&out.bytes);
            let want = expected(fit, display_w, display_h);
            assert_eq!(back.format, fm, "{name} ?{q}");
            assert_eq!(out.format, fm, "{name} ?{q}");
            assert_eq!(out.content_type, fm.mime(), "{name} ?{q}");
            assert_eq!((back.width, back.height), want, "{name} ?{q}: decoded size");
            assert_eq!((out.width, out.height), want, "{name} ?{q}: reported size");
            if fm == Format::Jpeg {
                assert!(!back.has_alpha, "{name} ?{q}: JPEG with alpha");
            } else if source_alpha && fit != Fit::Contain {
                assert!(back.has_alpha, "{name} ?{q}: alpha lost");
            }
            if fit == Fit::Contain && fm != Format::Jpeg && (display_w * BOX_H != display_h * BOX_W)
            {
                assert!(
                    back.has_alpha,
                    "{name} ?{q}: letterbox should be transparent"
                );
            }
        }
    }
}

#[test]
fn c01_large_baseline422() {
    matrix("01_", 6028, 3391, false);
}
#[test]
fn c02_large_baseline420() {
    matrix("02_", 5312, 2988, false);
}
#[test]
fn c03_large_progressive() {
    matrix("03_", 5312, 2988, false);
}
#[test]
fn c04_icc444() {
    matrix("04_", 2560, 1600, false);
}
#[test]
fn c05_exif_orientation() {
    matrix("05_", 2048, 3088, false);
}
#[test]
fn c06_gray() {
    matrix("06_", 2560, 1600, false);
}
#[test]
fn c07_small() {
    matrix("07_", 512, 600, false);
}
#[test]
fn c08_alpha_png() {
    matrix("08_", 1600, 1082, true);
}
#[test]
fn c09_webp() {
    matrix("09_", 3264, 2448, false);
}
#[test]
fn c10_png() {
    matrix("10_", 600, 400, false);
}

#[test]
fn orientation_is_applied() {
    let (_, bytes) = corpus("05_");
    let out = transform(
        &bytes,
        &Canonical::parse("w=400").unwrap(),
        &Limits::default(),
    )
    .unwrap();
    assert_eq!((out.width, out.height), (400, 603));
    let back = read_back(&out.bytes);
    assert_eq!((back.width, back.height), (400, 603));
    assert_eq!(back.format, Format::Jpeg);
    // No EXIF left in the output (so no viewer rotates it a second time).
    assert!(!out.bytes.windows(6).any(|w| w == b"Exif\0\0"));
}

#[test]
fn alpha_is_kept_and_flattened() {
    let (_, bytes) = corpus("08_");
    for fm in [Format::Png, Format::Webp, Format::Avif] {
        let q = format!("fm={}&w=200", fm.as_str());
        let out = transform(&bytes, &Canonical::parse(&q).unwrap(), &Limits::default()).unwrap();
        let back = read_back(&out.bytes);
        assert!(back.has_alpha, "{q}: alpha lost");
        if let Some(rgba) = back.rgba {
            // Corners are fully transparent in the source; the centre is opaque.
            assert!(
                rgba.get_pixel(0, 0)[3] < 16,
                "{q}: corner {:?}",
                rgba.get_pixel(0, 0)
            );
            let (w, h) = rgba.dimensions();
            assert_eq!(rgba.get_pixel(w / 2, h / 2)[3], 255, "{q}: centre");
        }
    }
    let out = transform(
        &bytes,
        &Canonical::parse("fm=jpeg&w=200").unwrap(),
        &Limits::default(),
    )
    .unwrap();
    let rgba = read_back(&out.bytes).rgba.unwrap();
    let corner = rgba.get_pixel(0, 0);
    assert!(
        corner.0[..3].iter().all(|&c| c > 240),
        "JPEG corner not white: {corner:?}"
    );
}

#[test]
fn truncated_jpeg_is_422() {
    let (_, bytes) = corpus("11_");
    let started = std::time::Instant::now();
    let err = transform(
        &bytes,
        &Canonical::parse("w=400").unwrap(),
        &Limits::default(),
    )
    .unwrap_err();
    assert_eq!(err.http_status(), 422, "{err}");
    assert!(started.elapsed().as_secs() < 30);
    // Full-size decode too (no shrink-on-load).
    let err = transform(
        &bytes,
        &Canonical::default(),
        &Limits {
            max_width: 8000,
            max_height: 8000,
            ..Limits::default()
        },
    )
    .unwrap_err();
    assert_eq!(err.http_status(), 422, "{err}");
}

#[test]
fn garbage_is_415() {
    let req = Canonical::parse("w=10").unwrap();
    for input in [
        &b""[..],
        b"garbage bytes, not an image at all",
        &[0u8; 4096],
    ] {
        let err = transform(input, &req, &Limits::default()).unwrap_err();
        assert_eq!(err.http_status(), 415, "{err}");
    }
}

#[test]
fn source_limits_are_413() {
    let (_, bytes) = corpus("07_");
    let req = Canonical::parse("w=10").unwrap();
    let err = transform(
        &bytes,
        &req,
        &Limits {
            max_source_bytes: 1000,
            ..Limits::default()
        },
    )
    .unwrap_err();
    assert!(
        matches!(err, TransformError::SourceTooLarge { .. }),
        "{err}"
    );
    assert_eq!(err.http_status(), 413);
    let err = transform(
        &bytes,
        &req,
        &Limits {
            max_source_pixels: 512 * 600 - 1,
            ..Limits::default()
        },
    )
    .unwrap_err();
    assert!(matches!(err, TransformError::TooManyPixels { .. }), "{err}");
    assert_eq!(err.http_status(), 413);
}

#[test]
fn defaults_and_clamps() {
    let (_, bytes) = corpus("10_");
    // No parameters: original size and format.
    let out = transform(&bytes, &Canonical::default(), &Limits::default()).unwrap();
    assert_eq!((out.width, out.height, out.format), (600, 400, Format::Png));
    // Never enlarge.
    let out = transform(
        &bytes,
        &Canonical::parse("fm=jpeg&w=1200").unwrap(),
        &Limits::default(),
    )
    .unwrap();
    assert_eq!((out.width, out.height), (600, 400));
    // Clamped to the output limits.
    let limits = Limits {
        max_width: 300,
        max_height: 300,
        ..Limits::default()
    };
    let out = transform(&bytes, &Canonical::default(), &limits).unwrap();
    assert_eq!((out.width, out.height), (300, 200));
    let out = transform(
        &bytes,
        &Canonical::parse("fit=fill&h=1000&w=1000").unwrap(),
        &limits,
    )
    .unwrap();
    assert_eq!((out.width, out.height), (300, 300));
}

#[test]
fn quality_changes_size() {
    let (_, bytes) = corpus("07_");
    let size = |q: &str| {
        transform(&bytes, &Canonical::parse(q).unwrap(), &Limits::default())
            .unwrap()
            .bytes
            .len()
    };
    assert!(size("fm=jpeg&q=30&w=300") < size("fm=jpeg&q=90&w=300"));
    // Without `native` WebP is lossless and ignores the quality.
    if cfg!(feature = "native") {
        assert!(size("fm=webp&q=30&w=300") < size("fm=webp&q=90&w=300"));
    }
    assert!(size("fm=avif&q=30&w=300") < size("fm=avif&q=90&w=300"));
    // The default quality applies when q is absent.
    let low = Limits {
        default_quality: 20,
        ..Limits::default()
    };
    let d = transform(&bytes, &Canonical::parse("fm=jpeg&w=300").unwrap(), &low).unwrap();
    assert_eq!(d.bytes.len(), size("fm=jpeg&q=20&w=300"));
}

#[cfg(feature = "native")]
#[test]
fn webp_lossy_unless_q100() {
    let (_, bytes) = corpus("10_");
    let out = transform(
        &bytes,
        &Canonical::parse("fm=webp&q=80&w=100").unwrap(),
        &Limits::default(),
    )
    .unwrap();
    assert_eq!(&out.bytes[12..16], b"VP8 ", "lossy expected");
    let out = transform(
        &bytes,
        &Canonical::parse("fm=webp&q=100&w=100").unwrap(),
        &Limits::default(),
    )
    .unwrap();
    assert_eq!(&out.bytes[12..16], b"VP8L", "lossless expected");
}

/// Decoded colours agree across output formats (catches channel-order, colour-conversion
/// and encoder/decoder interoperability bugs that a size check cannot see).
#[test]
fn formats_agree_on_colours() {
    for prefix in ["07_", "10_", "04_"] {
        let (name, bytes) = corpus(prefix);
        let get = |fm: &str| {
            let q = format!("fm={fm}&w=100");
            let out =
                transform(&bytes, &Canonical::parse(&q).unwrap(), &Limits::default()).unwrap();
            read_back(&out.bytes).rgba.unwrap()
        };
        let png = get("png");
        for fm in ["jpeg", "webp"] {
            let other = get(fm);
            assert_eq!(other.dimensions(), png.dimensions());
            let mut total = 0u64;
            for (a, b) in png.pixels().zip(other.pixels()) {
                for c in 0..3 {
                    total += u64::from(a[c].abs_diff(b[c]));
                }
            }
            let mean = total as f64 / (png.len() as f64 * 0.75);
            assert!(
                mean < 8.0,
                "{name} {fm}: mean channel difference {mean:.1} vs PNG"
            );
        }
    }
}
