//! The transform core as a WebAssembly module for the Lambda@Edge handler (`js/index.js`).
//!
//! Lambda@Edge runs only managed runtimes, so the Rust core runs as WebAssembly
//! (`wasm32-wasip1`, for libwebp's sake; no WASI capabilities are granted) under Node.js. The boundary is a raw C ABI rather than
//! wasm-bindgen: the handler needs four calls, and a raw ABI keeps the module free of
//! generated glue that would have to be shipped and kept in step with it.
//!
//! Protocol (all lengths in bytes, all pointers into this module's linear memory):
//!
//! - [`edge_alloc`] / [`edge_free`]: the caller copies its inputs in. `edge_alloc` returns
//!   0 instead of trapping when the memory cannot grow.
//! - [`edge_parse`]: request URI + canonical query + tenant prefixes -> the original's key,
//!   the canonical query and the variant key, or 400/403. The same Rust code as the
//!   viewer-request function and the renderer, so there is one implementation of the rules.
//! - [`edge_transform`]: source bytes + canonical query + limits -> the encoded variant,
//!   or the core's typed error as an HTTP status and message.
//! - [`edge_decode`]: source bytes + a minimum size -> the decoded pixels as the transform
//!   sees them before resizing. Not used by the handler: it lets a test compare this
//!   module's decoders with the native build's, pixel for pixel.
//! - Each returns a [`Reply`] handle; read it with [`reply_status`], [`reply_meta_ptr`] /
//!   [`reply_meta_len`] (JSON), [`reply_body_ptr`] / [`reply_body_len`] (bytes), and
//!   release it with [`reply_free`].
//!
//! Nothing here panics on any input (sizes are checked, allocations are fallible where
//! the size comes from outside). A panic or out-of-memory in wasm is a trap that loses
//! the message: the handler answers 500 and re-instantiates the module.

use imagecdn_transform::{
    Canonical, Encoding, Limits, TransformError, decode_source, transform_with,
};
use imagecdn_urlapi::definition::SIGNED_PARAMS;
use imagecdn_urlapi::layout::{RenderRequest, render_request_key, variant_key};
use imagecdn_urlapi::normalize::normalize_path;
use imagecdn_urlapi::percent::decode;
use imagecdn_urlapi::{Settings, settings::Format};
use serde_json::json;

/// Largest output edge: the claim schema's own bound (`maxWidth`/`maxHeight` <= 16384).
/// The viewer-request function has already clamped `w`/`h` to the claim's maxima, and the
/// transform clamps again to the maxima from the origin's `x-imagecdn-max-output` header;
/// this bounds path normalization and a missing or bad header.
pub const MAX_EDGE: u32 = 16_384;

/// Largest single buffer the caller may ask for (1 GiB): wasm32 memory is 4 GiB at most,
/// and a source is far below this after the claim's `maxSourceMegabytes` check.
pub const MAX_ALLOC: usize = 1 << 30;

/// One answer across the boundary: an HTTP-like status, JSON metadata and a body.
pub struct Reply {
    status: u32,
    meta: Vec<u8>,
    body: Vec<u8>,
}

impl Reply {
    fn ok(meta: serde_json::Value, body: Vec<u8>) -> Reply {
        Reply {
            status: 200,
            meta: meta.to_string().into_bytes(),
            body,
        }
    }

    fn error(status: u16, message: &str) -> Reply {
        Reply {
            status: u32::from(status),
            meta: json!({ "error": message }).to_string().into_bytes(),
            body: Vec::new(),
        }
    }

    fn into_handle(self) -> *mut Reply {
        Box::into_raw(Box::new(self))
    }

    /// The HTTP-like status.
    pub fn status(&self) -> u32 {
        self.status
    }

    /// The JSON metadata (`{"error"}` when the status is not 200).
    pub fn meta(&self) -> &[u8] {
        &self.meta
    }

    /// The body bytes.
    pub fn body(&self) -> &[u8] {
        &self.body
    }
}

/// What the handler needs to know about one request.
#[derive(Debug, PartialEq, Eq)]
pub struct Parsed {
    /// The original's S3 key (decoded, no leading slash).
    pub key: String,
    /// The canonical query, re-serialized (equal to the input when it was canonical).
    pub query: String,
    /// Where the variant lives in the variants bucket; `None` for the original itself.
    pub variant_key: Option<String>,
}

/// Validates the request: the path must lie under a tenant prefix without `.`/`..`
/// segments (403), and the query must be exactly canonical (400). CloudFront's
/// signed-URL parameters, if they reach the origin at all, are ignored.
pub fn parse(uri: &str, query: &str, prefixes: &str) -> Result<Parsed, (u16, String)> {
    let settings = Settings {
        max_width: MAX_EDGE,
        max_height: MAX_EDGE,
        width_ladder: Vec::new(),
        min_quality: 1,
        max_quality: 100,
        default_quality: 80,
        formats: vec![Format::Jpeg, Format::Png, Format::Webp, Format::Avif],
        presets: Vec::new(),
        prefixes: prefixes
            .split(',')
            .map(|p| p.trim().trim_matches('/'))
            .filter(|p| !p.is_empty())
            .map(str::to_string)
            .collect(),
    };
    let forbidden = || {
        (
            403,
            "path outside the tenant prefixes or not allowed".into(),
        )
    };
    let path = normalize_path(&settings, uri).ok_or_else(forbidden)?;
    if path != uri {
        // The viewer function forwards canonical paths only (it redirects every other
        // spelling, because CloudFront chose the cache behavior from the raw one).
        return Err((400, format!("path {uri:?} is not canonical ({path:?})")));
    }
    // normalize_path re-encodes each segment, so decoding once gives the S3 key.
    let key = decode(path.trim_start_matches('/')).ok_or_else(forbidden)?;

    let query = query.strip_prefix('?').unwrap_or(query);
    let kept: Vec<&str> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .filter(|p| {
            let name = p.split_once('=').map_or(*p, |(n, _)| n);
            !SIGNED_PARAMS.contains(&name)
        })
        .collect();
    let kept = kept.join("&");
    let canonical = Canonical::parse(&kept).map_err(|e| (400, e.to_string()))?;
    let query = canonical.to_string();
    if query != kept {
        // Parse accepts a few spellings (q above 100) that are not the canonical form;
        // one cache key must map to exactly one variant key.
        return Err((400, format!("query {kept:?} is not canonical ({query:?})")));
    }
    let variant_key = variant_key(&key, &canonical);
    Ok(Parsed {
        key,
        query,
        variant_key,
    })
}

/// The edge's encoder choices: rav1e speed 9 instead of the renderer's 8. Measured by
/// `bench/avif_speed.sh` on the corpus at q60, 1200 px: about 1.8x faster, files 0.1-3%
/// larger, SSIMULACRA2 within 0.5 of speed 8; speed 10 is 5x faster but 6-17% larger.
/// A viewer waits for the edge; the renderer, off the request path, keeps the smaller files.
pub const EDGE_ENCODING: Encoding = Encoding { avif_speed: 9 };

/// The largest output, in pixels, the edge encodes in each format within its time
/// budget (one Lambda@Edge vCPU, WebAssembly; `bench/transform.sh` measures the worst
/// case of each). Beyond its budget a format is answered with a stand-in (see [`run`]).
/// Measured on the development machine in wasm: AVIF about 1.35 s per megapixel at the
/// edge's speed 9 (1.9 s at the renderer's 8, when this budget was 2 MP), PNG 0.35 s,
/// WebP 0.17 s, JPEG 0.02 s. AVIF's 3 MP keep its worst case, a 200 MP source included,
/// inside the 9 s the handler keeps for a transform.
pub fn edge_budget(format: Format) -> u64 {
    match format {
        Format::Avif => 3_000_000,
        Format::Png => 16_000_000,
        Format::Webp => 32_000_000,
        Format::Jpeg => u64::MAX,
    }
}

/// WebP's largest side.
const WEBP_MAX_SIDE: u32 = 16_383;

/// What the edge encodes for a request: the requested format when it fits the edge's
/// budget, else the cheapest stand-in that does (WebP, which every AVIF-capable browser
/// decodes, then JPEG, which every browser decodes). The geometry never changes.
pub fn edge_format(requested: Format, width: u32, height: u32) -> Format {
    let pixels = u64::from(width) * u64::from(height);
    if pixels <= edge_budget(requested) {
        requested
    } else if pixels <= edge_budget(Format::Webp) && width.max(height) <= WEBP_MAX_SIDE {
        Format::Webp
    } else {
        Format::Jpeg
    }
}

/// An encoded variant, and the format the request asked for when the edge answered
/// with a stand-in instead (cache it briefly, never store it under the variant's key,
/// and queue the real one for the regional renderer).
pub struct EdgeOutput {
    pub output: imagecdn_transform::Output,
    pub stand_in_for: Option<Format>,
}

/// Runs the core with the claim's limits; errors carry the core's HTTP status. The
/// output size is planned from the header first, so a request too costly for the edge
/// in its format is encoded in a stand-in format (see [`edge_format`]).
pub fn run(input: &[u8], query: &str, limits: &Limits) -> Result<EdgeOutput, TransformError> {
    let mut request = imagecdn_transform::parse_request(query)?;
    let info = imagecdn_transform::probe(input)?;
    imagecdn_transform::check_source(input.len(), &info, limits)?;
    let requested = imagecdn_transform::output_format(&request, info.format);
    let (w, h) = imagecdn_transform::planned_output(&info, &request, limits);
    let format = edge_format(requested, w, h);
    let stand_in_for = (format != requested).then_some(requested);
    if stand_in_for.is_some() {
        request.fm = Some(format);
    }
    let output = transform_with(input, &request, limits, &EDGE_ENCODING)?;
    Ok(EdgeOutput {
        output,
        stand_in_for,
    })
}

/// The limits as the handler passes them (JavaScript numbers), clamped into range: a NaN
/// or negative source limit refuses everything rather than nothing (`as` saturates), an
/// output bound outside 1..=[`MAX_EDGE`] (0 when the origin header is absent) becomes
/// [`MAX_EDGE`], the schema's own bound.
pub fn limits_from_handler(
    max_source_pixels: f64,
    max_source_bytes: f64,
    max_width: u32,
    max_height: u32,
    default_quality: u32,
) -> Limits {
    let edge = |v: u32| {
        if (1..=MAX_EDGE).contains(&v) {
            v
        } else {
            MAX_EDGE
        }
    };
    Limits {
        max_source_pixels: max_source_pixels as u64,
        max_source_bytes: max_source_bytes as usize,
        max_width: edge(max_width),
        max_height: edge(max_height),
        default_quality: default_quality.clamp(1, 100),
    }
}

/// Borrows `len` bytes at `ptr` as text; `None` for invalid UTF-8.
///
/// # Safety
/// `ptr..ptr+len` must be readable (or `len` 0).
unsafe fn str_arg<'a>(ptr: *const u8, len: usize) -> Option<&'a str> {
    std::str::from_utf8(unsafe { bytes_arg(ptr, len) }).ok()
}

/// # Safety
/// `ptr..ptr+len` must be readable (or `len` 0).
unsafe fn bytes_arg<'a>(ptr: *const u8, len: usize) -> &'a [u8] {
    if len == 0 || ptr.is_null() {
        &[]
    } else {
        unsafe { std::slice::from_raw_parts(ptr, len) }
    }
}

/// Allocates `len` bytes for the caller to fill; 0 when `len` is 0, over [`MAX_ALLOC`] or
/// the memory cannot grow (never a trap).
#[unsafe(no_mangle)]
pub extern "C" fn edge_alloc(len: usize) -> *mut u8 {
    if len == 0 || len > MAX_ALLOC {
        return std::ptr::null_mut();
    }
    let mut v: Vec<u8> = Vec::new();
    if v.try_reserve_exact(len).is_err() {
        return std::ptr::null_mut();
    }
    v.resize(len, 0);
    let mut b = v.into_boxed_slice();
    let ptr = b.as_mut_ptr();
    std::mem::forget(b);
    ptr
}

/// Frees a buffer from [`edge_alloc`].
///
/// # Safety
/// `ptr` and `len` must come from one `edge_alloc` call, freed once.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn edge_free(ptr: *mut u8, len: usize) {
    if !ptr.is_null() && len != 0 {
        drop(unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(ptr, len)) });
    }
}

/// [`parse`] across the boundary. Meta on success: `{"key", "query", "variantKey",
/// "renderRequest"}` (`renderRequest`: `{key, body}` of the request the edge leaves for
/// the renderer when it answers with a stand-in; null for the original itself).
///
/// # Safety
/// Each `(ptr, len)` pair must be readable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn edge_parse(
    uri_ptr: *const u8,
    uri_len: usize,
    query_ptr: *const u8,
    query_len: usize,
    prefixes_ptr: *const u8,
    prefixes_len: usize,
) -> *mut Reply {
    let args = unsafe {
        (
            str_arg(uri_ptr, uri_len),
            str_arg(query_ptr, query_len),
            str_arg(prefixes_ptr, prefixes_len),
        )
    };
    let (Some(uri), Some(query), Some(prefixes)) = args else {
        return Reply::error(400, "arguments are not UTF-8").into_handle();
    };
    match parse(uri, query, prefixes) {
        Ok(p) => {
            // What to leave for the regional renderer if this variant is answered with a
            // stand-in (the renderer reads the same type).
            let render_request = p.variant_key.as_deref().map(|vk| {
                let body = RenderRequest {
                    original_key: p.key.clone(),
                    query: p.query.clone(),
                };
                json!({"key": render_request_key(vk), "body": serde_json::to_string(&body).unwrap_or_default()})
            });
            Reply::ok(
                json!({ "key": p.key, "query": p.query, "variantKey": p.variant_key, "renderRequest": render_request }),
                Vec::new(),
            )
        }
        Err((status, message)) => Reply::error(status, &message),
    }
    .into_handle()
}

/// [`run`] across the boundary. Meta on success: `{"contentType", "format", "width",
/// "height", "standInFor"}` (`standInFor` the requested format when the body is a
/// stand-in, else null); the body is the encoded image. Source limits arrive as f64 so that
/// JavaScript numbers pass without BigInt; see [`limits_from_handler`] for the clamping.
///
/// # Safety
/// Each `(ptr, len)` pair must be readable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn edge_transform(
    input_ptr: *const u8,
    input_len: usize,
    query_ptr: *const u8,
    query_len: usize,
    max_source_pixels: f64,
    max_source_bytes: f64,
    max_width: u32,
    max_height: u32,
    default_quality: u32,
) -> *mut Reply {
    let input = unsafe { bytes_arg(input_ptr, input_len) };
    let Some(query) = (unsafe { str_arg(query_ptr, query_len) }) else {
        return Reply::error(400, "query is not UTF-8").into_handle();
    };
    let limits = limits_from_handler(
        max_source_pixels,
        max_source_bytes,
        max_width,
        max_height,
        default_quality,
    );
    match run(input, query, &limits) {
        Ok(EdgeOutput {
            output: out,
            stand_in_for,
        }) => Reply::ok(
            json!({
                "contentType": out.content_type,
                "format": out.format.as_str(),
                "width": out.width,
                "height": out.height,
                "standInFor": stand_in_for.map(Format::as_str),
            }),
            out.bytes,
        ),
        Err(e) => Reply::error(e.http_status(), &e.to_string()),
    }
    .into_handle()
}

/// Decodes `input` as the transform does before resizing (JPEG scaled in the IDCT to at
/// least `min_w` x `min_h` in stored orientation; 0 x 0: full size), within the default
/// [`Limits`]. Meta: `{"width", "height", "channels", "alpha", "orientation", "iccBytes"}`; body:
/// the pixels, row-major, `channels` bytes each. Built natively too
/// (`examples/decode_native.rs`), so both builds answer through this one function.
pub fn decode_reply(input: &[u8], min_w: u32, min_h: u32) -> Reply {
    let min_size = (min_w > 0 && min_h > 0).then_some((min_w, min_h));
    match decode_source(input, min_size, &Limits::default()) {
        Ok(d) => Reply::ok(
            json!({
                "width": d.pixels.width,
                "height": d.pixels.height,
                "channels": d.pixels.layout.channels(),
                "alpha": d.pixels.layout.has_alpha(),
                "orientation": d.orientation,
                "iccBytes": d.icc.as_ref().map_or(0, Vec::len),
            }),
            d.pixels.data,
        ),
        Err(e) => Reply::error(e.http_status(), &e.to_string()),
    }
}

/// [`decode_reply`] across the boundary.
///
/// # Safety
/// `(input_ptr, input_len)` must be readable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn edge_decode(
    input_ptr: *const u8,
    input_len: usize,
    min_w: u32,
    min_h: u32,
) -> *mut Reply {
    decode_reply(unsafe { bytes_arg(input_ptr, input_len) }, min_w, min_h).into_handle()
}

/// Reads a reply through its handle.
///
/// # Safety
/// `r` must be a live handle from `edge_parse`/`edge_transform`.
unsafe fn reply<'a>(r: *const Reply) -> &'a Reply {
    unsafe { &*r }
}

/// # Safety
/// `r` must be a live reply handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn reply_status(r: *const Reply) -> u32 {
    unsafe { reply(r) }.status
}

/// # Safety
/// `r` must be a live reply handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn reply_meta_ptr(r: *const Reply) -> *const u8 {
    unsafe { reply(r) }.meta.as_ptr()
}

/// # Safety
/// `r` must be a live reply handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn reply_meta_len(r: *const Reply) -> usize {
    unsafe { reply(r) }.meta.len()
}

/// # Safety
/// `r` must be a live reply handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn reply_body_ptr(r: *const Reply) -> *const u8 {
    unsafe { reply(r) }.body.as_ptr()
}

/// # Safety
/// `r` must be a live reply handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn reply_body_len(r: *const Reply) -> usize {
    unsafe { reply(r) }.body.len()
}

/// Releases a reply (its metadata and body).
///
/// # Safety
/// `r` must be a live reply handle, freed once.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn reply_free(r: *mut Reply) {
    if !r.is_null() {
        drop(unsafe { Box::from_raw(r) });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PREFIXES: &str = "shop, partners/media";

    #[test]
    fn parses_key_query_and_variant_key() {
        let p = parse("/shop/a%20b.jpg", "fm=webp&w=400", PREFIXES).unwrap();
        assert_eq!(p.key, "shop/a b.jpg");
        assert_eq!(
            p.variant_key.as_deref(),
            Some("v/shop%2Fa%20b.jpg/fm=webp&w=400")
        );
        let p = parse("/partners/media/x/y.png", "", PREFIXES).unwrap();
        assert_eq!(
            (p.key.as_str(), p.variant_key),
            ("partners/media/x/y.png", None)
        );
    }

    #[test]
    fn refuses_paths_outside_prefixes() {
        for uri in [
            "/shop/../partners/media/a.jpg",
            "/shop/%2e%2e/a.jpg",
            "/shop/./a.jpg",
            "/other/a.jpg",
            "/shopping/a.jpg",
            "/shop/",
            "/partners/a.jpg",
            "/shop/a%ZZ.jpg",
            "/shop/a%5Cb.jpg",
        ] {
            assert_eq!(parse(uri, "", PREFIXES).unwrap_err().0, 403, "{uri}");
        }
        assert_eq!(parse("/shop/a.jpg", "", "").unwrap_err().0, 403);
    }

    #[test]
    fn refuses_non_canonical_paths() {
        for uri in [
            "/shop//a.jpg",
            "//shop/a.jpg",
            "/shop%2Fa.jpg",
            "/partners%2Fmedia/a.jpg",
            "/shop/caf%c3%a9.jpg",
            "/sh%6Fp/a.jpg",
            "/shop/a.jpg/",
        ] {
            assert_eq!(parse(uri, "", PREFIXES).unwrap_err().0, 400, "{uri}");
        }
    }

    #[test]
    fn refuses_non_canonical_queries() {
        for q in [
            "w=400&fm=webp",
            "q=150",
            "w=0400",
            "utm_source=x",
            "fit=cover&h=1&w=1",
        ] {
            assert_eq!(parse("/shop/a.jpg", q, PREFIXES).unwrap_err().0, 400, "{q}");
        }
        let p = parse(
            "/shop/a.jpg",
            "w=400&Expires=1&Signature=x&Key-Pair-Id=K",
            PREFIXES,
        );
        assert_eq!(p.unwrap().query, "w=400");
    }

    #[test]
    fn handler_limits_are_clamped() {
        let l = limits_from_handler(12e6, 1e6, 2048, 1024, 75);
        assert_eq!(
            (
                l.max_source_pixels,
                l.max_source_bytes,
                l.max_width,
                l.max_height
            ),
            (12_000_000, 1_000_000, 2048, 1024)
        );
        assert_eq!(l.default_quality, 75);
        // Absent header (0), out of range, NaN, negative, quality out of range.
        let l = limits_from_handler(f64::NAN, -5.0, 0, 20_000, 0);
        assert_eq!(
            (
                l.max_source_pixels,
                l.max_source_bytes,
                l.max_width,
                l.max_height
            ),
            (0, 0, MAX_EDGE, MAX_EDGE)
        );
        assert_eq!(l.default_quality, 1);
    }

    #[test]
    fn formats_over_the_edge_budget_get_a_stand_in() {
        assert_eq!(edge_format(Format::Avif, 1200, 800), Format::Avif);
        // The AVIF budget's edge: 3 MP is encoded, one column more is not.
        assert_eq!(edge_format(Format::Avif, 2000, 1500), Format::Avif);
        assert_eq!(edge_format(Format::Avif, 2001, 1500), Format::Webp);
        assert_eq!(edge_format(Format::Avif, 4096, 2304), Format::Webp);
        assert_eq!(edge_format(Format::Png, 4096, 4096), Format::Webp);
        assert_eq!(edge_format(Format::Webp, 9000, 5600), Format::Jpeg);
        assert_eq!(edge_format(Format::Avif, 16384, 200), Format::Jpeg);
        assert_eq!(edge_format(Format::Jpeg, 16384, 16384), Format::Jpeg);
        let src = {
            let mut out = Vec::new();
            // 3.6 MP: over the AVIF budget, within WebP's.
            let img = image::RgbImage::from_pixel(2400, 1500, image::Rgb([200, 10, 10]));
            img.write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
                .unwrap();
            out
        };
        let limits = limits_from_handler(50e6, 50e6, 4096, 4096, 80);
        let small = run(&src, "fm=avif&w=1000", &limits).unwrap();
        assert_eq!(
            (small.output.format, small.stand_in_for),
            (Format::Avif, None)
        );
        let big = run(&src, "fm=avif", &limits).unwrap();
        assert_eq!(
            (big.output.format, big.stand_in_for),
            (Format::Webp, Some(Format::Avif))
        );
        assert_eq!(
            (big.output.width, big.output.height),
            (2400, 1500),
            "same geometry"
        );
    }

    #[test]
    fn output_is_clamped_to_the_claims_maxima() {
        let src = {
            let mut out = Vec::new();
            let img = image::RgbImage::from_pixel(64, 48, image::Rgb([200, 10, 10]));
            img.write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
                .unwrap();
            out
        };
        let limits = limits_from_handler(1e6, 1e6, 32, 32, 80);
        let out = run(&src, "fit=fill&h=48&w=64", &limits).unwrap().output;
        assert!(
            out.width <= 32 && out.height <= 32,
            "{}x{}",
            out.width,
            out.height
        );
    }

    #[test]
    fn abi_round_trip_and_errors() {
        let reply_of = |h: *mut Reply| unsafe {
            let status = reply_status(h);
            let meta = bytes_arg(reply_meta_ptr(h), reply_meta_len(h)).to_vec();
            let body_len = reply_body_len(h);
            reply_free(h);
            (status, String::from_utf8(meta).unwrap(), body_len)
        };
        let (uri, q) = ("/shop/a.jpg", "w=4");
        let h = unsafe {
            edge_parse(
                uri.as_ptr(),
                uri.len(),
                q.as_ptr(),
                q.len(),
                "shop".as_ptr(),
                4,
            )
        };
        let (status, meta, _) = reply_of(h);
        assert_eq!(status, 200);
        assert!(
            meta.contains(r#""variantKey":"v/shop%2Fa.jpg/w=4""#),
            "{meta}"
        );

        let junk = b"not an image";
        let h = unsafe {
            edge_transform(
                junk.as_ptr(),
                junk.len(),
                q.as_ptr(),
                q.len(),
                1e6,
                1e6,
                400,
                300,
                80,
            )
        };
        let (status, meta, len) = reply_of(h);
        assert_eq!((status, len), (415, 0), "{meta}");

        assert!(edge_alloc(0).is_null());
        assert!(edge_alloc(MAX_ALLOC + 1).is_null());
        let p = edge_alloc(16);
        assert!(!p.is_null());
        unsafe { edge_free(p, 16) };
    }
}
