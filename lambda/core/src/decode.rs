//! Format sniffing, header probing and decoding.
//!
//! Two steps, so that limits are enforced before any pixel memory exists:
//!
//! 1. [`probe`] reads the format from the magic bytes (never the key's extension) and the
//!    dimensions from the header with small hand-written, bounds-checked parsers. Nothing
//!    here allocates in proportion to the image: a 48 KB PNG declaring 20000x20000 is
//!    refused by the caller from this answer alone.
//! 2. [`decode`] decodes, JPEG at a reduced scale when the caller asks (DCT-domain
//!    scaling, libvips' "shrink-on-load": in libjpeg-turbo, natively and at the edge, see
//!    `libjpeg.rs`; in `jpeg-decoder` for CMYK), everything else through the
//!    `image` crate's decoders with `image::Limits` set from ours as a second line of
//!    defence.
//!
//! Supported input: JPEG (baseline, extended-sequential and progressive Huffman, 8-bit,
//! 1/3/4 components: gray, YCbCr/RGB, CMYK/YCCK via the Adobe marker), PNG (all bit
//! depths and colour types, palette, tRNS, 16-bit reduced to 8; APNG gives its default
//! image), WebP (lossy, lossless, alpha; animated gives its first frame), GIF (first frame,
//! composited on the logical screen). AVIF input is recognised and answered 415: no
//! pure-Rust AV1 decoder is practical for the wasm build. Arithmetic-coded, hierarchical,
//! lossless and 12-bit JPEGs are 415 (jpeg-decoder does not decode them all and they do not
//! occur in the wild on the web).

use std::io::Cursor;

use image::{DynamicImage, ImageDecoder};

use crate::error::{TransformError, from_image_decode};
use crate::pixels::{Layout, Pixels};

/// A source format we can recognise from its magic bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SourceFormat {
    Jpeg,
    Png,
    Webp,
    Gif,
}

impl SourceFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            SourceFormat::Jpeg => "jpeg",
            SourceFormat::Png => "png",
            SourceFormat::Webp => "webp",
            SourceFormat::Gif => "gif",
        }
    }
}

/// What the header says, before decoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SourceInfo {
    pub format: SourceFormat,
    /// Stored (not display-oriented) size.
    pub width: u32,
    pub height: u32,
    /// EXIF orientation 1..=8 when the probe could read it from the header (JPEG's APP1);
    /// 1 otherwise. PNG's eXIf and WebP's EXIF chunks are read by [`decode`].
    pub orientation: u8,
    /// Whether the format/colour type can carry alpha (PNG tRNS is only known after
    /// decoding, so a palette PNG says `true`).
    pub may_have_alpha: bool,
}

impl SourceInfo {
    /// `width * height` without overflow.
    pub fn pixels(&self) -> u64 {
        u64::from(self.width) * u64::from(self.height)
    }
}

/// Reads the format and the dimensions from the header only.
pub fn probe(input: &[u8]) -> Result<SourceInfo, TransformError> {
    let info = if input.starts_with(&[0xFF, 0xD8, 0xFF]) {
        probe_jpeg(input)?
    } else if input.starts_with(b"\x89PNG\r\n\x1a\n") {
        probe_png(input)?
    } else if input.len() >= 12 && &input[0..4] == b"RIFF" && &input[8..12] == b"WEBP" {
        probe_webp(input)?
    } else if input.starts_with(b"GIF87a") || input.starts_with(b"GIF89a") {
        probe_gif(input)?
    } else if is_avif(input) {
        return Err(TransformError::Unsupported(
            "AVIF/HEIF input is not supported (no pure-Rust AV1 decoder in this build)".into(),
        ));
    } else {
        return Err(TransformError::Unsupported(
            "not a JPEG, PNG, WebP or GIF file (magic bytes)".into(),
        ));
    };
    if info.width == 0 || info.height == 0 {
        return Err(TransformError::Corrupt(format!(
            "header declares a {}x{} image",
            info.width, info.height
        )));
    }
    Ok(info)
}

/// The most scans a JPEG may have. libjpeg's standard progression writes 10 (6 for
/// gray), mozjpeg's optimised ones a few dozen; successive-approximation scripts that
/// split every coefficient can write thousands, each a pass over the whole image.
/// libjpeg-turbo has the same guard (`TJPARAM_SCANLIMIT`, `djpeg -maxscans`).
pub const MAX_JPEG_SCANS: usize = 100;

/// Counts a JPEG's scans (SOS markers) by walking its markers and skipping each scan's
/// entropy-coded data, without decoding; stops counting past `limit`. Linear in the file
/// size, no allocation. A truncated file is counted as far as it goes (the decoder
/// reports the truncation).
pub fn count_jpeg_scans(input: &[u8], limit: usize) -> usize {
    let mut pos = 2;
    let mut scans = 0;
    while pos + 1 < input.len() && scans <= limit {
        if input[pos] != 0xFF {
            return scans;
        }
        while input.get(pos) == Some(&0xFF) {
            pos += 1;
        }
        let Some(&marker) = input.get(pos) else {
            return scans;
        };
        pos += 1;
        if marker == 0xD9 {
            return scans;
        }
        if marker == 0x01 || (0xD0..=0xD7).contains(&marker) {
            continue;
        }
        let Some(len) = be16(input, pos) else {
            return scans;
        };
        pos += usize::from(len);
        if marker != 0xDA {
            continue;
        }
        scans += 1;
        // Entropy-coded data: up to the next 0xFF that is not a stuffed zero or RSTn.
        loop {
            let Some(off) = input.get(pos..).and_then(|rest| memchr::memchr(0xFF, rest)) else {
                return scans;
            };
            pos += off;
            match input.get(pos + 1) {
                Some(0x00) | Some(0xD0..=0xD7) => pos += 2,
                Some(0xFF) => pos += 1,
                Some(_) => break,
                None => return scans,
            }
        }
    }
    scans
}

fn is_avif(input: &[u8]) -> bool {
    input.len() >= 12
        && &input[4..8] == b"ftyp"
        && matches!(&input[8..12], b"avif" | b"avis" | b"mif1" | b"msf1")
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(b.get(at..at + 2)?.try_into().ok()?))
}
fn le16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}
fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}
fn le24(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at + 3)?;
    Some(u32::from(s[0]) | (u32::from(s[1]) << 8) | (u32::from(s[2]) << 16))
}

fn truncated(what: &str) -> TransformError {
    TransformError::Corrupt(format!("truncated {what} header"))
}

/// Walks JPEG markers up to the frame header (SOFn), picking up the EXIF orientation from
/// APP1 on the way.
fn probe_jpeg(input: &[u8]) -> Result<SourceInfo, TransformError> {
    let mut pos = 2;
    let mut orientation = 1;
    loop {
        // Markers may be preceded by any number of 0xFF fill bytes.
        if input.get(pos) != Some(&0xFF) {
            return Err(TransformError::Corrupt(format!(
                "JPEG: expected a marker at byte {pos}"
            )));
        }
        while input.get(pos) == Some(&0xFF) {
            pos += 1;
        }
        let marker = *input.get(pos).ok_or_else(|| truncated("JPEG"))?;
        pos += 1;
        if marker == 0x01 || (0xD0..=0xD7).contains(&marker) {
            continue; // standalone markers (TEM, RSTn)
        }
        if marker == 0xD9 || marker == 0xDA {
            return Err(TransformError::Corrupt(
                "JPEG: no frame header before the scan".into(),
            ));
        }
        let len = usize::from(be16(input, pos).ok_or_else(|| truncated("JPEG"))?);
        if len < 2 {
            return Err(TransformError::Corrupt("JPEG: bad segment length".into()));
        }
        let seg = input
            .get(pos + 2..pos + len)
            .ok_or_else(|| truncated("JPEG"))?;
        match marker {
            0xE1 if seg.starts_with(b"Exif\0\0") => {
                if let Some(o) = image::metadata::Orientation::from_exif_chunk(&seg[6..]) {
                    orientation = o.to_exif();
                }
            }
            0xC0..=0xC2 => {
                let precision = seg.first().copied().ok_or_else(|| truncated("JPEG"))?;
                let height = be16(seg, 1).ok_or_else(|| truncated("JPEG"))?;
                let width = be16(seg, 3).ok_or_else(|| truncated("JPEG"))?;
                let components = seg.get(5).copied().ok_or_else(|| truncated("JPEG"))?;
                if precision != 8 {
                    return Err(TransformError::Unsupported(format!("{precision}-bit JPEG")));
                }
                if !matches!(components, 1 | 3 | 4) {
                    return Err(TransformError::Unsupported(format!(
                        "JPEG with {components} components"
                    )));
                }
                if height == 0 {
                    return Err(TransformError::Unsupported(
                        "JPEG with a DNL-defined height".into(),
                    ));
                }
                return Ok(SourceInfo {
                    format: SourceFormat::Jpeg,
                    width: u32::from(width),
                    height: u32::from(height),
                    orientation,
                    may_have_alpha: false,
                });
            }
            0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF => {
                return Err(TransformError::Unsupported(format!(
                    "JPEG process SOF{} (lossless, hierarchical or arithmetic-coded)",
                    marker - 0xC0
                )));
            }
            _ => {}
        }
        pos += len;
    }
}

fn probe_png(input: &[u8]) -> Result<SourceInfo, TransformError> {
    // Signature (8), IHDR length (4), "IHDR" (4), width, height, depth, colour type.
    if input.get(12..16) != Some(b"IHDR") {
        return Err(TransformError::Corrupt(
            "PNG: first chunk is not IHDR".into(),
        ));
    }
    let width = be32(input, 16).ok_or_else(|| truncated("PNG"))?;
    let height = be32(input, 20).ok_or_else(|| truncated("PNG"))?;
    Ok(SourceInfo {
        format: SourceFormat::Png,
        width,
        height,
        orientation: 1,
        // Colour types 4 and 6 carry alpha; the others may have a tRNS chunk.
        may_have_alpha: true,
    })
}

fn probe_gif(input: &[u8]) -> Result<SourceInfo, TransformError> {
    let width = le16(input, 6).ok_or_else(|| truncated("GIF"))?;
    let height = le16(input, 8).ok_or_else(|| truncated("GIF"))?;
    Ok(SourceInfo {
        format: SourceFormat::Gif,
        width: u32::from(width),
        height: u32::from(height),
        orientation: 1,
        may_have_alpha: true,
    })
}

fn probe_webp(input: &[u8]) -> Result<SourceInfo, TransformError> {
    let chunk = input.get(12..16).ok_or_else(|| truncated("WebP"))?;
    let (width, height, alpha) = match chunk {
        b"VP8X" => {
            let flags = *input.get(20).ok_or_else(|| truncated("WebP"))?;
            let w = le24(input, 24).ok_or_else(|| truncated("WebP"))? + 1;
            let h = le24(input, 27).ok_or_else(|| truncated("WebP"))? + 1;
            (w, h, flags & 0x10 != 0)
        }
        b"VP8 " => {
            // Frame tag (3 bytes), start code 9d 01 2a, then 14-bit width and height.
            if input.get(23..26) != Some(&[0x9d, 0x01, 0x2a]) {
                return Err(TransformError::Corrupt("WebP: bad VP8 start code".into()));
            }
            let w = le16(input, 26).ok_or_else(|| truncated("WebP"))? & 0x3fff;
            let h = le16(input, 28).ok_or_else(|| truncated("WebP"))? & 0x3fff;
            (u32::from(w), u32::from(h), false)
        }
        b"VP8L" => {
            if input.get(20) != Some(&0x2f) {
                return Err(TransformError::Corrupt("WebP: bad VP8L signature".into()));
            }
            let bits = input
                .get(21..25)
                .and_then(|s| s.try_into().ok())
                .map(u32::from_le_bytes)
                .ok_or_else(|| truncated("WebP"))?;
            let w = (bits & 0x3fff) + 1;
            let h = ((bits >> 14) & 0x3fff) + 1;
            (w, h, (bits >> 28) & 1 == 1)
        }
        _ => {
            return Err(TransformError::Corrupt("WebP: unknown first chunk".into()));
        }
    };
    Ok(SourceInfo {
        format: SourceFormat::Webp,
        width,
        height,
        orientation: 1,
        may_have_alpha: alpha,
    })
}

/// A decoded image plus what the pipeline needs from its metadata.
#[derive(Debug)]
pub struct Decoded {
    pub pixels: Pixels,
    /// EXIF orientation 1..=8 (1 when absent or unreadable).
    pub orientation: u8,
    /// The embedded ICC profile, if any (colour conversion happens later, on fewer pixels).
    pub icc: Option<Vec<u8>>,
}

/// Decodes `input` (already probed as `info`).
///
/// `min_size`: for JPEG, the smallest stored-orientation size the caller needs; the
/// decoder then scales by 1/2, 1/4 or 1/8 in the IDCT while staying at or above it. Other
/// formats decode at full size.
///
/// `max_alloc`: the byte budget handed to the decoders' own limits.
pub fn decode(
    input: &[u8],
    info: &SourceInfo,
    min_size: Option<(u32, u32)>,
    max_alloc: u64,
) -> Result<Decoded, TransformError> {
    match info.format {
        SourceFormat::Jpeg => decode_jpeg(input, info, min_size, max_alloc),
        SourceFormat::Png => {
            let mut limits = image::Limits::default();
            limits.max_alloc = Some(max_alloc);
            let d = image::codecs::png::PngDecoder::with_limits(Cursor::new(input), limits)
                .map_err(from_image_decode)?;
            decode_with_image(d, max_alloc)
        }
        SourceFormat::Gif => {
            let d = image::codecs::gif::GifDecoder::new(Cursor::new(input))
                .map_err(from_image_decode)?;
            decode_with_image(d, max_alloc)
        }
        SourceFormat::Webp => {
            let d = image::codecs::webp::WebPDecoder::new(Cursor::new(input))
                .map_err(from_image_decode)?;
            decode_with_image(d, max_alloc)
        }
    }
}

fn decode_with_image(mut d: impl ImageDecoder, max_alloc: u64) -> Result<Decoded, TransformError> {
    let mut limits = image::Limits::default();
    limits.max_alloc = Some(max_alloc);
    d.set_limits(limits).map_err(from_image_decode)?;
    // Metadata problems never fail a transform: we strip metadata anyway.
    let orientation = d.orientation().map(|o| o.to_exif()).unwrap_or(1);
    let icc = d.icc_profile().ok().flatten();
    let img = DynamicImage::from_decoder(d).map_err(from_image_decode)?;
    let (w, h) = (img.width(), img.height());
    let pixels = match img {
        DynamicImage::ImageLuma8(b) => Pixels::new(w, h, Layout::Gray, b.into_raw())?,
        DynamicImage::ImageLumaA8(b) => Pixels::new(w, h, Layout::GrayAlpha, b.into_raw())?,
        DynamicImage::ImageRgb8(b) => Pixels::new(w, h, Layout::Rgb, b.into_raw())?,
        DynamicImage::ImageRgba8(b) => Pixels::new(w, h, Layout::Rgba, b.into_raw())?,
        DynamicImage::ImageLuma16(_) => Pixels::new(w, h, Layout::Gray, img.to_luma8().into_raw())?,
        DynamicImage::ImageLumaA16(_) => {
            Pixels::new(w, h, Layout::GrayAlpha, img.to_luma_alpha8().into_raw())?
        }
        DynamicImage::ImageRgb16(_) | DynamicImage::ImageRgb32F(_) => {
            Pixels::new(w, h, Layout::Rgb, img.to_rgb8().into_raw())?
        }
        _ => Pixels::new(w, h, Layout::Rgba, img.to_rgba8().into_raw())?,
    };
    Ok(Decoded {
        pixels,
        orientation,
        icc,
    })
}

fn decode_jpeg(
    input: &[u8],
    info: &SourceInfo,
    min_size: Option<(u32, u32)>,
    max_alloc: u64,
) -> Result<Decoded, TransformError> {
    #[cfg(feature = "libjpeg")]
    if let Some(decoded) = crate::libjpeg::decode(input, info, min_size)? {
        return Ok(decoded);
    }
    let jpeg_err = |e: jpeg_decoder::Error| match e {
        jpeg_decoder::Error::Unsupported(u) => TransformError::Unsupported(format!("JPEG: {u:?}")),
        other => TransformError::Corrupt(format!("JPEG: {other}")),
    };
    let mut d = jpeg_decoder::Decoder::new(input);
    d.set_max_decoding_buffer_size(usize::try_from(max_alloc).unwrap_or(usize::MAX));
    // `scale` reads the header too; without a target read it explicitly. We never call
    // `Decoder::info()`: it panics on component counts the probe has already refused, and
    // the probe already told us the pixel format.
    let (w, h) = match min_size {
        Some((mw, mh)) => {
            let clamp = |v: u32| u16::try_from(v.max(1)).unwrap_or(u16::MAX);
            let (w, h) = d.scale(clamp(mw), clamp(mh)).map_err(jpeg_err)?;
            (u32::from(w), u32::from(h))
        }
        None => {
            d.read_info().map_err(jpeg_err)?;
            (info.width, info.height)
        }
    };
    let icc = d.icc_profile();
    let data = d.decode().map_err(jpeg_err)?;
    let area = (u64::from(w) * u64::from(h)).max(1);
    let components = u64::try_from(data.len()).unwrap_or(u64::MAX) / area;
    let pixels = match components {
        1 => Pixels::new(w, h, Layout::Gray, data)?,
        3 => Pixels::new(w, h, Layout::Rgb, data)?,
        4 => Pixels::new(w, h, Layout::Rgb, cmyk_to_rgb(&data))?,
        n => {
            return Err(TransformError::Corrupt(format!(
                "JPEG decoder returned {n} bytes per pixel"
            )));
        }
    };
    Ok(Decoded {
        pixels,
        orientation: info.orientation,
        icc,
    })
}

/// jpeg-decoder hands CMYK/YCCK back as ink amounts (255 = full ink; it undoes Adobe's
/// inverted storage itself), the convention `image` 0.24 relied on. The conversion is the
/// naive, profile-less one (a CMYK ICC profile, if any, is ignored): good enough for the
/// rare CMYK JPEG on the web, not colour-managed.
fn cmyk_to_rgb(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() / 4 * 3);
    for px in data.chunks_exact(4) {
        let k = 255 - u32::from(px[3]);
        for &c in &px[..3] {
            out.push((((255 - u32::from(c)) * k + 127) / 255) as u8);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffing() {
        assert!(matches!(
            probe(b"hello world, not an image"),
            Err(TransformError::Unsupported(_))
        ));
        assert!(matches!(probe(b""), Err(TransformError::Unsupported(_))));
        assert!(matches!(
            probe(b"\0\0\0\x1cftypavif\0\0\0\0"),
            Err(TransformError::Unsupported(_))
        ));
        // Truncated headers are corrupt, never a panic.
        for cut in 3..40 {
            let mut png =
                b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR\0\0\x01\0\0\0\x01\0\x08\x06\0\0\0".to_vec();
            png.truncate(cut.min(png.len()));
            let _ = probe(&png);
            let jpeg = [
                0xFF, 0xD8, 0xFF, 0xC0, 0, 17, 8, 0, 16, 0, 16, 3, 1, 0x22, 0,
            ];
            let _ = probe(&jpeg[..cut.min(jpeg.len())]);
            let webp = b"RIFF\0\0\0\0WEBPVP8L\0\0\0\0\x2f\0\0\0\0";
            let _ = probe(&webp[..cut.min(webp.len())]);
        }
    }

    #[test]
    fn png_header() {
        let png = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR\0\0\x4e\x20\0\0\x4e\x20\x01\x03\0\0\0";
        let info = probe(png).unwrap();
        assert_eq!((info.width, info.height), (20000, 20000));
        assert_eq!(info.pixels(), 400_000_000);
    }

    #[test]
    fn jpeg_header_refusals() {
        // SOF0 with 2 components: refused before jpeg-decoder could panic on it.
        let two = [
            0xFF, 0xD8, 0xFF, 0xC0, 0, 14, 8, 0, 16, 0, 16, 2, 1, 0x11, 0, 2, 0x11, 0,
        ];
        assert!(matches!(probe(&two), Err(TransformError::Unsupported(_))));
        let arith = [
            0xFF, 0xD8, 0xFF, 0xC9, 0, 11, 8, 0, 16, 0, 16, 1, 1, 0x11, 0,
        ];
        assert!(matches!(probe(&arith), Err(TransformError::Unsupported(_))));
        let ok = [
            0xFF, 0xD8, 0xFF, 0xC2, 0, 11, 8, 0, 16, 0, 32, 1, 1, 0x11, 0,
        ];
        let info = probe(&ok).unwrap();
        assert_eq!((info.width, info.height), (32, 16));
    }

    #[test]
    fn cmyk() {
        // Ink amounts: no ink is white, full magenta + yellow is red, full K is black.
        assert_eq!(cmyk_to_rgb(&[0, 0, 0, 0]), vec![255, 255, 255]);
        assert_eq!(cmyk_to_rgb(&[0, 255, 255, 0]), vec![255, 0, 0]);
        assert_eq!(cmyk_to_rgb(&[0, 0, 0, 255]), vec![0, 0, 0]);
    }
}
