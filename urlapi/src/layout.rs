//! Where variants live and which CloudFront paths cover them.
//!
//! A variant of original `K` with canonical query `Q` is stored in the variants bucket
//! at `v/<K percent-encoded as one segment>/<Q>`. Encoding the whole key (slashes
//! included) makes the listing prefix `v/<encoded K>/` hold exactly that original's
//! variants: no other key encodes to a string with that prefix. The cache sees the
//! original as `/<K's segments, each encoded>` (see [`crate::normalize`]), and since an
//! encoded path never contains `?`, the invalidation wildcard `<uri>?*` covers exactly
//! the original's query variants, and the exact path `<uri>` the untransformed one.

use crate::canonical::Canonical;
use crate::percent::encode_component;

/// The key prefix under which every variant of `original_key` is stored.
pub fn variant_prefix(original_key: &str) -> String {
    format!("v/{}/", encode_component(original_key))
}

/// The variants-bucket key of one variant. `None` for the empty query: that is the
/// original itself, served from the originals bucket.
pub fn variant_key(original_key: &str, canonical: &Canonical) -> Option<String> {
    let query = canonical.to_string();
    (!query.is_empty()).then(|| format!("{}{query}", variant_prefix(original_key)))
}

/// The original key and canonical query a variant key was made from.
pub fn parse_variant_key(variant_key: &str) -> Option<(String, String)> {
    let rest = variant_key.strip_prefix("v/")?;
    let (encoded, query) = rest.split_once('/')?;
    Some((crate::percent::decode(encoded)?, query.to_string()))
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
        assert_eq!(
            parse_variant_key(&b),
            Some(("shop/a/b.jpg".into(), "w=100".into()))
        );
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
