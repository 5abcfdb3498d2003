//! Where variants live and which CloudFront paths cover them.
//!
//! A variant of original `K` with canonical query `Q` is stored in the variants bucket
//! at `v/<K percent-encoded as one segment>/<Q>`. Encoding the whole key (slashes
//! included) makes the listing prefix `v/<encoded K>/` hold exactly that original's
//! variants: no other key encodes to a string with that prefix. The cache sees the
//! original as `/<K's segments, each encoded>` (see [`crate::normalize`]), and since an
//! encoded path never contains `?`, the invalidation wildcard `<uri>?*` covers exactly
//! the original's query variants, and the exact path `<uri>` the untransformed one.
//!
//! S3 keys are at most 1,024 bytes, and percent-encoding can triple a key's length (a
//! CJK character is 3 bytes, 9 encoded), so an original whose encoded key would not
//! leave room for the longest canonical query keeps its variants under
//! `d/<sha256 of K, hex>/<Q>` instead: fixed length, still one prefix per original
//! (`d/` and `v/` never meet), decided by the key alone so the edge and the renderer
//! always agree.

use serde::{Deserialize, Serialize};

use crate::canonical::Canonical;
use crate::digest::sha256_hex;
use crate::percent::encode_component;

/// S3's limit on an object key, in bytes of UTF-8.
pub const MAX_S3_KEY_BYTES: usize = 1024;

/// An upper bound on the length of a canonical query (all five parameters at their
/// widest: `fit=outside&fm=avif&h=999999999&q=100&w=999999999` is 49).
pub const MAX_CANONICAL_QUERY: usize = 64;

/// The key prefix under which every variant of `original_key` is stored.
pub fn variant_prefix(original_key: &str) -> String {
    let encoded = encode_component(original_key);
    if "v/".len() + encoded.len() + 1 + MAX_CANONICAL_QUERY <= MAX_S3_KEY_BYTES {
        format!("v/{encoded}/")
    } else {
        format!("d/{}/", sha256_hex(&[original_key.as_bytes()], 32))
    }
}

/// The variants-bucket key of one variant. `None` for the empty query: that is the
/// original itself, served from the originals bucket.
pub fn variant_key(original_key: &str, canonical: &Canonical) -> Option<String> {
    let query = canonical.to_string();
    (!query.is_empty()).then(|| format!("{}{query}", variant_prefix(original_key)))
}

/// Where the edge asks the regional renderer for a variant it answered with a stand-in
/// (too costly for the edge in its format): one object per variant, so repeated misses
/// rewrite the same request.
pub const RENDER_REQUEST_PREFIX: &str = "_render/";

/// The body of a render request: written by the edge (through the wasm module), read by
/// the renderer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RenderRequest {
    pub original_key: String,
    pub query: String,
}

/// The variants-bucket key of the render request for `variant_key`.
pub fn render_request_key(variant_key: &str) -> String {
    format!(
        "{RENDER_REQUEST_PREFIX}{}.json",
        sha256_hex(&[variant_key.as_bytes()], 32)
    )
}

/// The canonical query a variant key was made from (either layout).
pub fn variant_query(variant_key: &str) -> Option<&str> {
    let rest = variant_key
        .strip_prefix("v/")
        .or_else(|| variant_key.strip_prefix("d/"))?;
    rest.split_once('/').map(|(_, query)| query)
}

/// The path CloudFront caches the original under (each segment encoded, as the
/// viewer-request function forwards it).
pub fn cache_uri(original_key: &str) -> String {
    let segments: Vec<String> = original_key
        .split('/')
        .filter(|s| !s.is_empty())
        .map(encode_component)
        .collect();
    format!("/{}", segments.join("/"))
}

/// Invalidation paths for an original: the exact untransformed path plus either one
/// wildcard over its query variants, or every known variant's exact path.
pub fn invalidation_paths(
    original_key: &str,
    wildcard: bool,
    variant_queries: &[String],
) -> Vec<String> {
    let uri = cache_uri(original_key);
    let mut paths = vec![uri.clone()];
    if wildcard {
        paths.push(format!("{uri}?*"));
    } else {
        paths.extend(variant_queries.iter().map(|q| format!("{uri}?{q}")));
    }
    paths
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_never_overlap_between_originals() {
        let a = variant_prefix("shop/a");
        let b = variant_key("shop/a/b.jpg", &Canonical::parse("w=100").unwrap()).unwrap();
        assert!(!b.starts_with(&a), "{b} must not fall under {a}");
        assert_eq!(b, "v/shop%2Fa%2Fb.jpg/w=100");
        assert_eq!(variant_query(&b), Some("w=100"));
    }

    /// The widest canonical query the parser accepts.
    fn widest_query() -> Canonical {
        Canonical::parse("fit=outside&fm=avif&h=999999999&q=100&w=999999999").unwrap()
    }

    #[test]
    fn every_key_s3_accepts_has_storable_variants() {
        assert!(widest_query().to_string().len() <= MAX_CANONICAL_QUERY);
        let cjk = "\u{753b}"; // 3 bytes of UTF-8, 9 encoded
        for key in [
            format!("shop/{}", cjk.repeat(110)),
            format!("shop/{}", cjk.repeat(115)),
            format!("shop/{}", "a".repeat(MAX_S3_KEY_BYTES - 5)),
            format!("shop/{}", " ".repeat(300)),
        ] {
            assert!(key.len() <= MAX_S3_KEY_BYTES);
            let v = variant_key(&key, &widest_query()).unwrap();
            assert!(
                v.len() <= MAX_S3_KEY_BYTES,
                "{} bytes for a {}-byte key",
                v.len(),
                key.len()
            );
            assert!(v.starts_with(&variant_prefix(&key)));
            assert_eq!(variant_query(&v), Some(widest_query().to_string().as_str()));
        }
        // Short keys keep the readable layout; long ones switch, deterministically.
        assert!(variant_prefix("shop/a.jpg").starts_with("v/"));
        let long = format!("shop/{}", cjk.repeat(115));
        assert!(variant_prefix(&long).starts_with("d/"));
        assert_eq!(variant_prefix(&long), variant_prefix(&long.clone()));
        assert_ne!(variant_prefix(&long), variant_prefix(&format!("{long}x")));
    }

    #[test]
    fn empty_query_is_the_original() {
        assert_eq!(variant_key("shop/a.jpg", &Canonical::default()), None);
    }

    #[test]
    fn invalidation_paths_cover_exactly_one_original() {
        assert_eq!(
            invalidation_paths("shop/a b.jpg", true, &[]),
            vec![
                "/shop/a%20b.jpg".to_string(),
                "/shop/a%20b.jpg?*".to_string()
            ]
        );
        assert_eq!(
            invalidation_paths("shop/a.jpg", false, &["w=100".into()]),
            vec!["/shop/a.jpg".to_string(), "/shop/a.jpg?w=100".to_string()]
        );
    }
}
