//! ImageCDN's image transform core: bytes in, bytes out, no I/O.
//!
//! One pipeline for both front ends (the Lambda@Edge handler, where this crate runs as
//! WebAssembly, and the native regional renderer) and the CLI:
//!
//! 1. [`probe`]: format from the magic bytes and size from the header; the claim's limits
//!    (bytes, megapixels) are checked here, before any pixel buffer is allocated.
//! 2. [`decode`](mod@decode): JPEG at 1/2, 1/4 or 1/8 scale in the IDCT when the output is
//!    that much smaller (shrink-on-load), other formats at full size.
//! 3. [`orient`]: EXIF orientation, so sizes are display sizes.
//! 4. [`resize`]: the fit-mode geometry (sharp's semantics, never enlarging) and a SIMD
//!    Lanczos3 resample with premultiplied alpha.
//! 5. [`color`]: non-sRGB RGB profiles converted to sRGB; all metadata stripped.
//! 6. [`encode`](mod@encode): JPEG, PNG, WebP, AVIF.
//!
//! The request is the canonical query of the URL API ([`imagecdn_urlapi::Canonical`]),
//! parsed by the same code the edge uses; the transform trusts its form but still applies
//! its own [`Limits`]. Errors are typed and carry their HTTP status
//! ([`TransformError::http_status`]). Nothing here panics on any input: sizes come from
//! checked arithmetic and decoders' failures are errors.
//!
//! Cargo features: `native` (default) adds the C/asm/thread parts (libwebp for lossy
//! WebP, libjpeg-turbo, rav1e's nasm kernels, rayon); without it the crate is pure Rust
//! and builds for any wasm target (WebP output is then lossless, JPEG decodes through
//! `jpeg-decoder`). `webp-lossy` (libwebp) and `libjpeg` (libjpeg-turbo's portable C) add
//! one C library each: the edge's wasm32-wasip1 build enables both. `cli` (default)
//! builds the `imagecdn-transform` binary.

pub mod color;
pub mod decode;
pub mod encode;
pub mod error;
#[cfg(feature = "libjpeg")]
mod libjpeg;
pub mod orient;
pub mod pixels;
pub mod resize;

pub use decode::{SourceFormat, SourceInfo, probe};
pub use encode::Encoding;
pub use error::TransformError;
pub use imagecdn_urlapi::{Canonical, Fit, Format};

/// The claim's limits for one transform.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest source, in pixels (stored width x height, from the header).
    pub max_source_pixels: u64,
    /// Largest source file, in bytes.
    pub max_source_bytes: usize,
    /// Largest output width and height; requests are clamped to them.
    pub max_width: u32,
    pub max_height: u32,
    /// Quality when the request has no `q` (1..=100).
    pub default_quality: u32,
}

impl Default for Limits {
    /// 100 MP / 64 MiB sources, 4096x4096 outputs (the claim's default `maxWidth`),
    /// quality 80.
    fn default() -> Self {
        Limits {
            max_source_pixels: 100_000_000,
            max_source_bytes: 64 << 20,
            max_width: 4096,
            max_height: 4096,
            default_quality: 80,
        }
    }
}

/// An encoded variant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Output {
    pub bytes: Vec<u8>,
    pub format: Format,
    pub width: u32,
    pub height: u32,
    pub content_type: &'static str,
}

/// Parses a canonical query (as the edge forwards it); a non-canonical one is a 400.
pub fn parse_request(query: &str) -> Result<Canonical, TransformError> {
    Ok(Canonical::parse(query.strip_prefix('?').unwrap_or(query))?)
}

/// The output format when the request does not name one: the source's, except GIF, which
/// becomes PNG (we do not write GIF: only the first frame is kept, and PNG is lossless and
/// smaller for the flat images GIFs usually are).
pub fn default_format(source: SourceFormat) -> Format {
    match source {
        SourceFormat::Jpeg => Format::Jpeg,
        SourceFormat::Png | SourceFormat::Gif => Format::Png,
        SourceFormat::Webp => Format::Webp,
    }
}

/// Checks the claim's source limits against the probed header.
pub fn check_source(
    input_len: usize,
    info: &SourceInfo,
    limits: &Limits,
) -> Result<(), TransformError> {
    if input_len > limits.max_source_bytes {
        return Err(TransformError::SourceTooLarge {
            size: input_len,
            limit: limits.max_source_bytes,
        });
    }
    if info.pixels() > limits.max_source_pixels {
        return Err(TransformError::TooManyPixels {
            width: info.width,
            height: info.height,
            pixels: info.pixels(),
            limit: limits.max_source_pixels,
        });
    }
    Ok(())
}

/// The output size a request gives for a source, from its header alone (no pixel is
/// decoded): what a front end needs to decide whether it can afford the transform.
pub fn planned_output(info: &SourceInfo, request: &Canonical, limits: &Limits) -> (u32, u32) {
    let (dw, dh) = orient::display_size(info.width, info.height, info.orientation);
    let plan = resize::plan(
        dw,
        dh,
        request.w,
        request.h,
        request.effective_fit(),
        limits.max_width,
        limits.max_height,
    );
    (plan.canvas_w, plan.canvas_h)
}

/// The output format of a request for a source of `format`.
pub fn output_format(request: &Canonical, format: SourceFormat) -> Format {
    request.fm.unwrap_or_else(|| default_format(format))
}

/// Every check that needs no pixel: the claim's byte limit (before reading the file), the
/// header's format and size against the claim's limits, a JPEG's scan count.
fn open(input: &[u8], limits: &Limits) -> Result<SourceInfo, TransformError> {
    if input.len() > limits.max_source_bytes {
        return Err(TransformError::SourceTooLarge {
            size: input.len(),
            limit: limits.max_source_bytes,
        });
    }
    let info = probe(input)?;
    check_source(input.len(), &info, limits)?;
    if info.format == SourceFormat::Jpeg
        && decode::count_jpeg_scans(input, decode::MAX_JPEG_SCANS) > decode::MAX_JPEG_SCANS
    {
        return Err(TransformError::TooManyScans {
            limit: decode::MAX_JPEG_SCANS,
        });
    }
    Ok(info)
}

/// Budget for the decoders' own limits: 8 bytes per pixel (16-bit RGBA) plus slack.
fn decoder_alloc_budget(limits: &Limits) -> u64 {
    limits
        .max_source_pixels
        .saturating_mul(8)
        .saturating_add(64 << 20)
}

/// Checks and decodes a source as [`transform`] does before orienting and resizing: a
/// JPEG scaled in the IDCT to the smallest of 1/8, 1/4, 1/2 or 1 that keeps at least
/// `min_size` (stored orientation). What the edge's native-vs-wasm equality test compares
/// (`tests/edge/decode_equality.test.js`).
pub fn decode_source(
    input: &[u8],
    min_size: Option<(u32, u32)>,
    limits: &Limits,
) -> Result<decode::Decoded, TransformError> {
    let info = open(input, limits)?;
    decode::decode(input, &info, min_size, decoder_alloc_budget(limits))
}

/// Transforms one source image as the canonical `request` asks, within `limits`, with
/// the default [`Encoding`] (the renderer's).
pub fn transform(
    input: &[u8],
    request: &Canonical,
    limits: &Limits,
) -> Result<Output, TransformError> {
    transform_with(input, request, limits, &Encoding::default())
}

/// [`transform`] with the encoders' time/size choices given (the edge's are faster).
pub fn transform_with(
    input: &[u8],
    request: &Canonical,
    limits: &Limits,
    encoding: &Encoding,
) -> Result<Output, TransformError> {
    let info = open(input, limits)?;
    let format = output_format(request, info.format);
    let quality = request.q.unwrap_or(limits.default_quality).clamp(1, 100);
    let fit = request.effective_fit();
    let plan_for = |orientation: u8| {
        let (dw, dh) = orient::display_size(info.width, info.height, orientation);
        let plan = resize::plan(
            dw,
            dh,
            request.w,
            request.h,
            fit,
            limits.max_width,
            limits.max_height,
        );
        (plan, dw, dh)
    };

    // Shrink-on-load (JPEG only): the orientation is known from the header already.
    let min_size = (info.format == SourceFormat::Jpeg)
        .then(|| {
            let (plan, dw, dh) = plan_for(info.orientation);
            resize::min_decode_size(&plan, dw, dh)
        })
        .flatten()
        .map(|(w, h)| {
            if orient::swaps_axes(info.orientation) {
                (h, w)
            } else {
                (w, h)
            }
        });

    let decoded = decode::decode(input, &info, min_size, decoder_alloc_budget(limits))?;
    let orientation = decoded.orientation;
    let (plan, dw, dh) = plan_for(orientation);
    let img = orient::apply(decoded.pixels, orientation);
    let img = resize::resample(img, &plan, dw, dh)?;
    let img = color::to_srgb(img, decoded.icc.as_deref());
    let img = resize::place_on_canvas(img, &plan, encode::supports_alpha(format))?;
    let (width, height) = (img.width, img.height);
    let bytes = encode::encode_with(img, format, quality, encoding)?;
    Ok(Output {
        bytes,
        format,
        width,
        height,
        content_type: format.mime(),
    })
}
