//! JPEG decoding through libjpeg-turbo (as built by the `mozjpeg` crate), natively and in
//! the edge's WebAssembly build.
//!
//! Why: on a JPEG thumbnail the decoder is most of the work, and libjpeg-turbo's Huffman
//! decoder and scaled IDCT are what sharp and libvips decode with; the pure-Rust
//! `jpeg-decoder` (kept for CMYK/YCCK files, whose ink conventions it already handles) is
//! about a third slower natively on a 12 MP photo. Both builds run the same C code for
//! everything but the SIMD kernels (nasm natively; wasm32 has none in libjpeg-turbo),
//! which libjpeg-turbo keeps bit-exact with its C paths, so the edge decodes exactly what
//! the renderer decodes (`tests/edge/decode_equality.test.js`). Our copy of it
//! (`lambda/vendor/mozjpeg-sys`) adds multi-symbol skip tables to the Huffman decoder for
//! the coefficients a 1/8-scaled decode discards: a quarter off a thumbnail, the same
//! pixels as Debian's `djpeg`. In wasm libjpeg's C costs speed outside the thumbnail case:
//! it beat jpeg-decoder at 1/8 scale (1.4x before the skip tables) but is about 1.4x
//! slower at full scale and 1.2x on progressive files (README, Benchmark).
//!
//! libjpeg reports errors by calling `error_exit`, which must not return.
//! - Natively ours unwinds with a [`LibjpegError`] payload (`resume_unwind`, so no panic
//!   hook prints anything) and [`decode`] catches exactly that payload and turns it into a
//!   typed error. Any other panic is a bug and keeps unwinding.
//! - wasm32 has no unwinding on stable Rust (panics abort) and clang-14 no wasm setjmp, so
//!   ours calls the host's `imagecdn.transform_failed(status, ptr, len)` import with the
//!   error's HTTP status and text, and the host throws: a JavaScript exception leaves the
//!   module's frames like a longjmp. The instance is then abandoned (its heap and stack
//!   pointer are mid-call) and the host answers the request with that status and text,
//!   exactly the reply the native path's typed error gives (`lambda/edge/js/engine.js`).
//!
//! Warnings that mean the data is damaged (a truncated
//! file, a bad Huffman code) are fatal too, as with sharp's default `failOn: 'warning'`:
//! libjpeg would otherwise fill the rest of the image with grey and call it a success.
//! (Upstream's fast Huffman path read a bad code as 0 without that warning; ours gives
//! it wherever the code falls: `lambda/vendor/README.md`.)
//!
//! Memory: the probe has already bounded the pixel count from the header, so libjpeg's
//! own allocations (at most the full-size coefficient buffer of a progressive file) are
//! bounded by the claim's `maxSourceMegapixels` before this runs.

use std::os::raw::c_int;
#[cfg(not(target_family = "wasm"))]
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};

use mozjpeg::{ColorSpace, Decompress, Marker};
use mozjpeg_sys as ffi;

use crate::decode::{Decoded, SourceInfo};
use crate::error::TransformError;
use crate::pixels::{Layout, Pixels};

/// The unwinding payload of a libjpeg error: its formatted message.
#[cfg(not(target_family = "wasm"))]
struct LibjpegError(String);

#[cfg(target_family = "wasm")]
#[link(wasm_import_module = "imagecdn")]
unsafe extern "C" {
    /// Provided by the host: ends the call with this HTTP status and the UTF-8 error text
    /// at `ptr..ptr+len` (it throws), never returns.
    fn transform_failed(status: u32, ptr: *const u8, len: usize) -> !;
}

/// Warnings that mean the entropy-coded data is damaged. Others (extraneous bytes before a
/// marker, an unknown JFIF version, a bogus ICC chunk) do not change the pixels.
/// (Arithmetic coding is refused by the probe, so its warning cannot occur.)
const CORRUPTION_WARNINGS: [c_int; 4] = [
    ffi::JWRN_JPEG_EOF,
    ffi::JWRN_HIT_MARKER,
    ffi::JWRN_HUFF_BAD_CODE,
    ffi::JWRN_MUST_RESYNC,
];

/// Decodes a gray, YCbCr or RGB JPEG, scaled in the IDCT by 1/2, 1/4 or 1/8 when
/// `min_size` allows. `Ok(None)` for CMYK/YCCK files: the caller decodes those itself.
#[cfg(not(target_family = "wasm"))]
pub(crate) fn decode(
    input: &[u8],
    info: &SourceInfo,
    min_size: Option<(u32, u32)>,
) -> Result<Option<Decoded>, TransformError> {
    match catch_unwind(AssertUnwindSafe(|| decode_unguarded(input, info, min_size))) {
        Ok(result) => result,
        Err(payload) => match payload.downcast::<LibjpegError>() {
            Ok(e) => Err(TransformError::Corrupt(e.0)),
            Err(other) => resume_unwind(other),
        },
    }
}

/// As natively, but a libjpeg error never returns here: the host ends the call (see above).
#[cfg(target_family = "wasm")]
pub(crate) fn decode(
    input: &[u8],
    info: &SourceInfo,
    min_size: Option<(u32, u32)>,
) -> Result<Option<Decoded>, TransformError> {
    decode_unguarded(input, info, min_size)
}

fn decode_unguarded(
    input: &[u8],
    info: &SourceInfo,
    min_size: Option<(u32, u32)>,
) -> Result<Option<Decoded>, TransformError> {
    let io_err = |e: std::io::Error| TransformError::Corrupt(format!("JPEG: {e}"));
    let mut d = Decompress::builder()
        .with_err(error_manager())
        .with_markers(&[Marker::APP(2)])
        .from_mem(input)
        .map_err(io_err)?;
    let gray = match d.color_space() {
        ColorSpace::JCS_GRAYSCALE => true,
        ColorSpace::JCS_YCbCr | ColorSpace::JCS_RGB => false,
        _ => return Ok(None),
    };
    if let Some((min_w, min_h)) = min_size {
        d.scale(scale_numerator(info.width, info.height, min_w, min_h));
    }
    let icc = icc_profile(d.markers().map(|m| m.data));
    let mut started = if gray { d.grayscale() } else { d.rgb() }.map_err(io_err)?;
    let (width, height) = (started.width(), started.height());
    let data: Vec<u8> = started.read_scanlines().map_err(io_err)?;
    started.finish().map_err(io_err)?;
    let width = u32::try_from(width).map_err(|_| TransformError::Corrupt("JPEG width".into()))?;
    let height =
        u32::try_from(height).map_err(|_| TransformError::Corrupt("JPEG height".into()))?;
    let layout = if gray { Layout::Gray } else { Layout::Rgb };
    Ok(Some(Decoded {
        pixels: Pixels::new(width, height, layout, data)?,
        orientation: info.orientation,
        icc,
    }))
}

/// The smallest of 1, 2, 4 (eighths) that keeps the output at or above the minimum size
/// (libjpeg rounds scaled sizes up); 8, no scaling, otherwise.
fn scale_numerator(width: u32, height: u32, min_w: u32, min_h: u32) -> u8 {
    let scaled = |v: u32, n: u8| (u64::from(v) * u64::from(n)).div_ceil(8);
    [1, 2, 4]
        .into_iter()
        .find(|&n| scaled(width, n) >= u64::from(min_w) && scaled(height, n) >= u64::from(min_h))
        .unwrap_or(8)
}

/// Reassembles an ICC profile from its APP2 chunks (`ICC_PROFILE\0`, sequence number,
/// count, data). `None` when absent or when chunks are missing or inconsistent: a broken
/// profile is ignored, as the other decoders do.
fn icc_profile<'a>(app2: impl Iterator<Item = &'a [u8]>) -> Option<Vec<u8>> {
    let mut chunks: Vec<(u8, u8, &[u8])> = app2
        .filter_map(|data| {
            let rest = data.strip_prefix(b"ICC_PROFILE\0")?;
            Some((*rest.first()?, *rest.get(1)?, rest.get(2..)?))
        })
        .collect();
    let count = chunks.first()?.1;
    chunks.sort_by_key(|c| c.0);
    let complete = usize::from(count) == chunks.len()
        && chunks
            .iter()
            .enumerate()
            .all(|(i, c)| c.1 == count && usize::from(c.0) == i + 1);
    complete.then(|| chunks.iter().flat_map(|c| c.2.iter().copied()).collect())
}

fn error_manager() -> ffi::jpeg_error_mgr {
    // SAFETY: jpeg_std_error initialises every field of the zeroed struct.
    let mut err: ffi::jpeg_error_mgr = unsafe { std::mem::zeroed() };
    unsafe { ffi::jpeg_std_error(&mut err) };
    err.error_exit = Some(error_exit);
    err.emit_message = Some(emit_message);
    err
}

extern "C-unwind" fn error_exit(cinfo: &mut ffi::jpeg_common_struct) {
    let message = format!("JPEG: {}", message(cinfo));
    #[cfg(not(target_family = "wasm"))]
    resume_unwind(Box::new(LibjpegError(message)));
    #[cfg(target_family = "wasm")]
    {
        let error = TransformError::Corrupt(message);
        let text = error.to_string();
        // SAFETY: the host copies the text before throwing; nothing here runs afterwards.
        unsafe { transform_failed(u32::from(error.http_status()), text.as_ptr(), text.len()) }
    }
}

/// Trace messages (level >= 0) are dropped; corruption warnings (level -1) are fatal.
extern "C-unwind" fn emit_message(cinfo: &mut ffi::jpeg_common_struct, level: c_int) {
    // SAFETY: libjpeg calls this with the cinfo whose `err` is our manager.
    let code = unsafe { cinfo.err.as_ref() }.map(|e| e.msg_code);
    if level < 0 && code.is_some_and(|c| CORRUPTION_WARNINGS.contains(&c)) {
        error_exit(cinfo);
    }
}

/// libjpeg's own text for the current message.
fn message(cinfo: &mut ffi::jpeg_common_struct) -> String {
    // SAFETY: as above; format_message writes at most JMSG_LENGTH_MAX (80) bytes,
    // NUL-terminated, into the buffer. The binding declares the buffer `&[u8; 80]`; the C
    // side writes through it, so it is called through a pointer-typed signature.
    unsafe {
        let Some(err) = cinfo.err.as_ref() else {
            return "unknown libjpeg error".into();
        };
        let code = err.msg_code;
        let Some(format) = err.format_message else {
            return format!("libjpeg error {code}");
        };
        type FormatMessage = unsafe extern "C-unwind" fn(&mut ffi::jpeg_common_struct, *mut u8);
        let format: FormatMessage = std::mem::transmute(format);
        let mut buffer = [0u8; 80];
        format(cinfo, buffer.as_mut_ptr());
        let text = buffer.split(|&b| b == 0).next().unwrap_or_default();
        String::from_utf8_lossy(text).into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scale_keeps_the_minimum_size() {
        assert_eq!(scale_numerator(4000, 3000, 400, 300), 1);
        assert_eq!(scale_numerator(4000, 3000, 501, 300), 2);
        assert_eq!(scale_numerator(4000, 3000, 1200, 900), 4);
        assert_eq!(scale_numerator(4000, 3000, 2001, 10), 8);
        // Rounded up: 4001/8 = 500.125 -> 501.
        assert_eq!(scale_numerator(4001, 3000, 501, 1), 1);
    }

    #[test]
    fn icc_chunks_are_reassembled_in_order() {
        let chunk = |seq: u8, count: u8, data: &[u8]| {
            let mut c = b"ICC_PROFILE\0".to_vec();
            c.extend([seq, count]);
            c.extend_from_slice(data);
            c
        };
        let (a, b) = (chunk(1, 2, b"abc"), chunk(2, 2, b"de"));
        assert_eq!(
            icc_profile([b.as_slice(), a.as_slice()].into_iter()),
            Some(b"abcde".to_vec())
        );
        // A missing chunk, or no ICC chunk at all: no profile.
        assert_eq!(icc_profile([a.as_slice()].into_iter()), None);
        assert_eq!(icc_profile([b"Other\0".as_slice()].into_iter()), None);
    }
}
