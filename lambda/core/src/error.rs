//! Typed transform errors and their HTTP statuses.
//!
//! Every front end (the Lambda@Edge handler, the regional renderer, the CLI) answers with
//! the same status for the same failure, so the mapping lives here, next to the variants.

use imagecdn_urlapi::CanonicalError;

/// Why a transform failed. Each variant maps to one HTTP status ([`TransformError::http_status`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransformError {
    /// The request itself is wrong (a non-canonical query, a parameter the transform cannot
    /// honour). 400.
    #[error("bad request: {0}")]
    BadRequest(String),

    /// The source file is larger than the claim allows. 413.
    #[error("source is {size} bytes, over the limit of {limit} bytes")]
    SourceTooLarge { size: usize, limit: usize },

    /// The header declares more pixels than the claim allows (decompression bombs land
    /// here, before any pixel buffer exists). 413.
    #[error("source is {width}x{height} ({pixels} pixels), over the limit of {limit} pixels")]
    TooManyPixels {
        width: u32,
        height: u32,
        pixels: u64,
        limit: u64,
    },

    /// A decoder refused to allocate what the image needs (its own limit, set from ours:
    /// a second line of defence behind [`TransformError::TooManyPixels`]). 413.
    #[error("source needs too much memory to decode: {0}")]
    DecodeLimit(String),

    /// The output cannot be produced at the requested size (an encoder's dimension limit,
    /// or a size computation that would overflow). 413.
    #[error("output {width}x{height} is too large: {reason}")]
    OutputTooLarge {
        width: u32,
        height: u32,
        reason: String,
    },

    /// Not an image format we decode (unknown magic bytes, AVIF input, arithmetic-coded or
    /// 12-bit JPEG, ...), or an output the build cannot produce. 415.
    #[error("unsupported format: {0}")]
    Unsupported(String),

    /// A supported format whose data is corrupt or truncated. 422.
    #[error("cannot decode the image: {0}")]
    Corrupt(String),

    /// A progressive JPEG with more scans than any real encoder writes: each scan is a
    /// pass over the whole image, so thousands of tiny scans make a small file that takes
    /// minutes to decode. 422.
    #[error("progressive JPEG has more than {limit} scans (refused: decoding cost)")]
    TooManyScans { limit: usize },

    /// A failure that is our fault, not the request's (an encoder error). 500.
    #[error("internal error: {0}")]
    Internal(String),
}

impl TransformError {
    /// The HTTP status a front end answers with.
    pub fn http_status(&self) -> u16 {
        match self {
            TransformError::BadRequest(_) => 400,
            TransformError::SourceTooLarge { .. }
            | TransformError::TooManyPixels { .. }
            | TransformError::DecodeLimit(_)
            | TransformError::OutputTooLarge { .. } => 413,
            TransformError::Unsupported(_) => 415,
            TransformError::Corrupt(_) | TransformError::TooManyScans { .. } => 422,
            TransformError::Internal(_) => 500,
        }
    }
}

impl From<CanonicalError> for TransformError {
    fn from(e: CanonicalError) -> Self {
        TransformError::BadRequest(e.to_string())
    }
}

/// Maps an `image` crate error from a decoder: limits are 413, unsupported features 415,
/// everything else (bad data, unexpected end of file) 422.
pub(crate) fn from_image_decode(e: image::ImageError) -> TransformError {
    use image::ImageError;
    match e {
        ImageError::Limits(l) => TransformError::DecodeLimit(l.to_string()),
        ImageError::Unsupported(u) => TransformError::Unsupported(u.to_string()),
        other => TransformError::Corrupt(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses() {
        assert_eq!(TransformError::BadRequest("x".into()).http_status(), 400);
        assert_eq!(
            TransformError::SourceTooLarge { size: 2, limit: 1 }.http_status(),
            413
        );
        assert_eq!(
            TransformError::TooManyPixels {
                width: 1,
                height: 1,
                pixels: 1,
                limit: 0
            }
            .http_status(),
            413
        );
        assert_eq!(TransformError::Unsupported("x".into()).http_status(), 415);
        assert_eq!(TransformError::Corrupt("x".into()).http_status(), 422);
        assert_eq!(TransformError::Internal("x".into()).http_status(), 500);
        assert_eq!(TransformError::from(CanonicalError::Fit).http_status(), 400);
    }
}
