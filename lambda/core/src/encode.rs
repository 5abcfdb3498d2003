//! Encoders, chosen for speed at equal quality, all writing no metadata.
//!
//! - JPEG: `jpeg-encoder` (pure Rust, AVX2 at run time): baseline, the standard Huffman
//!   tables, 4:2:0 chroma below quality 90 and 4:4:4 from 90 (sharp's rule), gray stays
//!   gray. Not optimised Huffman tables: jpeg-encoder 0.7's optimised tables for small or
//!   flat images are valid (libjpeg-turbo decodes them) but zune-jpeg 0.5 (the `image`
//!   crate's JPEG decoder) decodes them to garbage colours; a CDN output must decode
//!   everywhere, and the standard tables also save a pass. Cost: a few % in size.
//!   Alpha is flattened onto **white** first (sharp uses black, which turns the transparent
//!   corners of a logo into black boxes; white is what a page usually shows).
//! - PNG: `image`'s PNG encoder (png crate), default zlib level, adaptive filtering;
//!   gray/RGB with or without alpha as the image has it.
//! - WebP, with `native` or `webp-lossy`: libwebp through the `webp` crate, lossy at the quality, method 4
//!   (sharp's default effort), alpha kept (losslessly compressed alpha plane); **lossless
//!   when the quality is 100** (the only way the canonical query can ask for "no loss").
//!   The same with `webp-lossy` alone (the edge's wasm32-wasip1 build). Without either:
//!   always lossless (`image-webp`, pure Rust), the quality ignored.
//! - AVIF: `ravif` (rav1e), quality as given (same for alpha), speed [`AVIF_SPEED`] (the
//!   edge's faster one through [`Encoding`]), 10-bit
//!   internally; an all-opaque alpha channel is dropped by ravif itself.

use imagecdn_urlapi::Format;

use crate::error::TransformError;
use crate::pixels::{Layout, Pixels};

/// rav1e speed (1 slowest .. 10 fastest) when the caller does not choose one. 8 is
/// ravif's "fast" region: roughly sharp's default AVIF effort in time, slightly larger
/// files. The edge encodes at 9 (see [`Encoding`]).
pub const AVIF_SPEED: u8 = 8;

/// Encoder choices that trade time for bytes, per front end: the renderer works off the
/// request path and keeps the defaults (smallest files); the edge answers a waiting
/// viewer (`imagecdn_edge_wasm::EDGE_ENCODING`). `bench/avif_speed.sh` measures the
/// trade.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Encoding {
    /// rav1e speed, 1 (slowest, smallest) ..= 10.
    pub avif_speed: u8,
}

impl Default for Encoding {
    fn default() -> Self {
        Encoding {
            avif_speed: AVIF_SPEED,
        }
    }
}

/// Whether the format can carry alpha.
pub fn supports_alpha(format: Format) -> bool {
    !matches!(format, Format::Jpeg)
}

/// Encodes `p` as `format` at `quality` (1..=100) with the default [`Encoding`].
pub fn encode(p: Pixels, format: Format, quality: u32) -> Result<Vec<u8>, TransformError> {
    encode_with(p, format, quality, &Encoding::default())
}

/// Encodes `p` as `format` at `quality` (1..=100) with `encoding`'s choices.
pub fn encode_with(
    p: Pixels,
    format: Format,
    quality: u32,
    encoding: &Encoding,
) -> Result<Vec<u8>, TransformError> {
    let quality = quality.clamp(1, 100);
    match format {
        Format::Jpeg => jpeg(p, quality),
        Format::Png => png(p),
        Format::Webp => webp(p, quality),
        Format::Avif => avif(p, quality, encoding.avif_speed),
    }
}

fn too_large(p: &Pixels, limit: u32, what: &str) -> TransformError {
    TransformError::OutputTooLarge {
        width: p.width,
        height: p.height,
        reason: format!("{what} is limited to {limit} pixels per side"),
    }
}

fn jpeg(p: Pixels, quality: u32) -> Result<Vec<u8>, TransformError> {
    let p = p.flatten([255, 255, 255]);
    let (Ok(w), Ok(h)) = (u16::try_from(p.width), u16::try_from(p.height)) else {
        return Err(too_large(&p, 65535, "JPEG"));
    };
    let color = match p.layout {
        Layout::Gray => jpeg_encoder::ColorType::Luma,
        _ => jpeg_encoder::ColorType::Rgb,
    };
    let mut out = Vec::with_capacity(p.data.len() / 8);
    // `quality` is clamped to 1..=100 by `encode`.
    let mut enc = jpeg_encoder::Encoder::new(&mut out, quality as u8);
    enc.set_optimized_huffman_tables(false);
    enc.encode(&p.data, w, h, color)
        .map_err(|e| TransformError::Internal(format!("JPEG encoder: {e}")))?;
    Ok(out)
}

fn png(p: Pixels) -> Result<Vec<u8>, TransformError> {
    use image::ImageEncoder;
    use image::codecs::png::{CompressionType, FilterType, PngEncoder};
    let color = match p.layout {
        Layout::Gray => image::ExtendedColorType::L8,
        Layout::GrayAlpha => image::ExtendedColorType::La8,
        Layout::Rgb => image::ExtendedColorType::Rgb8,
        Layout::Rgba => image::ExtendedColorType::Rgba8,
    };
    let mut out = Vec::with_capacity(p.data.len() / 2);
    PngEncoder::new_with_quality(&mut out, CompressionType::Default, FilterType::Adaptive)
        .write_image(&p.data, p.width, p.height, color)
        .map_err(|e| TransformError::Internal(format!("PNG encoder: {e}")))?;
    Ok(out)
}

/// WebP's format limit.
const WEBP_MAX: u32 = 16383;

fn webp(p: Pixels, quality: u32) -> Result<Vec<u8>, TransformError> {
    if p.width > WEBP_MAX || p.height > WEBP_MAX {
        return Err(too_large(&p, WEBP_MAX, "WebP"));
    }
    webp_impl(p, quality)
}

#[cfg(feature = "webp-lossy")]
fn webp_impl(p: Pixels, quality: u32) -> Result<Vec<u8>, TransformError> {
    // libwebp takes RGB or RGBA; a fully opaque alpha channel only costs bytes.
    let p = if p.layout.has_alpha() && !p.is_opaque() {
        p.convert(Layout::Rgba)
    } else {
        p.convert(Layout::Rgb)
    };
    let layout = if p.layout == Layout::Rgba {
        webp::PixelLayout::Rgba
    } else {
        webp::PixelLayout::Rgb
    };
    let mut config = webp::WebPConfig::new()
        .map_err(|_| TransformError::Internal("libwebp: bad config version".into()))?;
    let lossless = quality >= 100;
    config.lossless = i32::from(lossless);
    config.quality = if lossless { 75.0 } else { quality as f32 };
    config.method = 4;
    config.alpha_quality = 100;
    let mem = webp::Encoder::new(&p.data, layout, p.width, p.height)
        .encode_advanced(&config)
        .map_err(|e| TransformError::Internal(format!("libwebp: {e:?}")))?;
    Ok(mem.to_vec())
}

#[cfg(not(feature = "webp-lossy"))]
fn webp_impl(p: Pixels, _quality: u32) -> Result<Vec<u8>, TransformError> {
    let color = match p.layout {
        Layout::Gray => image::ExtendedColorType::L8,
        Layout::GrayAlpha => image::ExtendedColorType::La8,
        Layout::Rgb => image::ExtendedColorType::Rgb8,
        Layout::Rgba => image::ExtendedColorType::Rgba8,
    };
    let mut out = Vec::new();
    image::codecs::webp::WebPEncoder::new_lossless(&mut out)
        .encode(&p.data, p.width, p.height, color)
        .map_err(|e| TransformError::Internal(format!("WebP encoder: {e}")))?;
    Ok(out)
}

/// AVIF at a given rav1e `speed` (clamped to 1..=10); public for `bench/avif_speed.sh`,
/// which weighs the speeds against size and quality.
pub fn avif(p: Pixels, quality: u32, speed: u8) -> Result<Vec<u8>, TransformError> {
    use ravif::{Encoder, Img, RGB8, RGBA8};
    let (w, h) = (p.width as usize, p.height as usize);
    // ravif requires (asserts) quality in 1..=100 and speed in 1..=10.
    let quality = quality.clamp(1, 100);
    let enc = Encoder::new()
        .with_quality(quality as f32)
        .with_alpha_quality(quality as f32)
        .with_speed(speed.clamp(1, 10));
    let result = if p.layout.has_alpha() {
        let p = p.convert(Layout::Rgba);
        let px: Vec<RGBA8> = p
            .data
            .chunks_exact(4)
            .map(|c| RGBA8::new(c[0], c[1], c[2], c[3]))
            .collect();
        enc.encode_rgba(Img::new(&px[..], w, h))
    } else {
        let p = p.convert(Layout::Rgb);
        let px: Vec<RGB8> = p
            .data
            .chunks_exact(3)
            .map(|c| RGB8::new(c[0], c[1], c[2]))
            .collect();
        enc.encode_rgb(Img::new(&px[..], w, h))
    };
    result
        .map(|r| r.avif_file)
        .map_err(|e| TransformError::Internal(format!("AVIF encoder: {e}")))
}
