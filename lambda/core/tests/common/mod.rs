//! Shared helpers for the integration tests: the corpus, and reading outputs back.
#![allow(dead_code)]

use std::path::PathBuf;

use imagecdn_transform::Format;

/// `../shared/corpus` next to the repo (overridable with `IMAGECDN_CORPUS_DIR`). Missing
/// corpus is a failure, never a silent skip.
pub fn corpus_dir() -> PathBuf {
    let dir = match std::env::var_os("IMAGECDN_CORPUS_DIR") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus"),
    };
    assert!(
        dir.join("README.md").is_file(),
        "test corpus not found at {} (set IMAGECDN_CORPUS_DIR)",
        dir.display()
    );
    dir
}

/// The corpus file whose name starts with `prefix` (e.g. "05_").
pub fn corpus(prefix: &str) -> (String, Vec<u8>) {
    let dir = corpus_dir();
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(prefix))
        .collect();
    names.sort();
    let name = names
        .first()
        .unwrap_or_else(|| panic!("no corpus file starting with {prefix} in {}", dir.display()))
        .clone();
    let bytes = std::fs::read(dir.join(&name)).unwrap();
    (name, bytes)
}

/// What an encoded output really is, read back independently of the transform.
#[derive(Debug)]
pub struct Readback {
    pub format: Format,
    pub width: u32,
    pub height: u32,
    pub has_alpha: bool,
    /// Decoded RGBA pixels (not for AVIF: the `image` crate has no pure-Rust AV1 decoder).
    pub rgba: Option<image::RgbaImage>,
}

pub fn read_back(bytes: &[u8]) -> Readback {
    if bytes.len() > 12 && &bytes[4..8] == b"ftyp" {
        return read_avif(bytes);
    }
    let fmt = image::guess_format(bytes).expect("output format not recognised");
    let format = match fmt {
        image::ImageFormat::Jpeg => Format::Jpeg,
        image::ImageFormat::Png => Format::Png,
        image::ImageFormat::WebP => Format::Webp,
        other => panic!("unexpected output format {other:?}"),
    };
    if matches!(format, Format::Jpeg) {
        return read_jpeg(bytes);
    }
    let img = image::load_from_memory_with_format(bytes, fmt).expect("output does not decode");
    Readback {
        format,
        width: img.width(),
        height: img.height(),
        has_alpha: img.color().has_alpha(),
        rgba: Some(img.to_rgba8()),
    }
}

/// JPEG through zune-jpeg.
fn read_jpeg(bytes: &[u8]) -> Readback {
    use zune_core::{bytestream::ZCursor, colorspace::ColorSpace, options::DecoderOptions};
    let options = DecoderOptions::default().jpeg_set_out_colorspace(ColorSpace::RGBA);
    let mut decoder = zune_jpeg::JpegDecoder::new_with_options(ZCursor::new(bytes), options);
    let pixels = decoder.decode().expect("JPEG output does not decode");
    let (width, height) = decoder.dimensions().expect("decoded JPEG has dimensions");
    let (width, height) = (width as u32, height as u32);
    Readback {
        format: Format::Jpeg,
        width,
        height,
        has_alpha: decoder.input_colorspace().is_some_and(|c| c.has_alpha()),
        rgba: Some(image::RgbaImage::from_raw(width, height, pixels).expect("RGBA buffer size")),
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// AVIF: the brand, the primary item's `ispe` box (size) and whether an alpha auxiliary
/// image is declared.
fn read_avif(bytes: &[u8]) -> Readback {
    assert_eq!(&bytes[8..12], b"avif", "AVIF major brand");
    let at = find(bytes, b"ispe").expect("AVIF without ispe");
    let be = |i: usize| u32::from_be_bytes(bytes[i..i + 4].try_into().unwrap());
    // "ispe", version/flags (4), width, height.
    let (width, height) = (be(at + 8), be(at + 12));
    let has_alpha = find(bytes, b"urn:mpeg:mpegB:cicp:systems:auxiliary:alpha").is_some();
    assert!(find(bytes, b"av01").is_some(), "AVIF without an av01 item");
    assert!(find(bytes, b"mdat").is_some(), "AVIF without mdat");
    Readback {
        format: Format::Avif,
        width,
        height,
        has_alpha,
        rgba: None,
    }
}
