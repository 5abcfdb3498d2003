//! One CloudFront cache layer (a regional edge cache or Origin Shield): objects by cache
//! key with an expiry from the TTL rules, and invalidation by CloudFront's path syntax.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::model::CachePolicy;

/// A response as CloudFront keeps it.
#[derive(Clone, Debug)]
pub struct Cached {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
    /// The viewer path (invalidations match it, not the cache key's query).
    pub path: String,
    pub expires: Instant,
}

/// A cache layer.
#[derive(Default)]
pub struct CacheLayer {
    objects: Mutex<HashMap<String, Cached>>,
}

impl CacheLayer {
    /// A fresh object for `key`.
    pub fn get(&self, key: &str) -> Option<Cached> {
        let mut objects = self.objects.lock().expect("cache lock");
        match objects.get(key) {
            Some(c) if c.expires > Instant::now() => Some(c.clone()),
            Some(_) => {
                objects.remove(key);
                None
            }
            None => None,
        }
    }

    pub fn put(&self, key: String, object: Cached) {
        self.objects.lock().expect("cache lock").insert(key, object);
    }

    /// Distinct fresh keys held.
    pub fn len(&self) -> usize {
        let now = Instant::now();
        self.objects
            .lock()
            .expect("cache lock")
            .values()
            .filter(|c| c.expires > now)
            .count()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Removes every object whose path matches one of `paths` (CloudFront's invalidation
    /// paths: exact, or ending in `*` for a prefix); returns how many were removed.
    pub fn invalidate(&self, paths: &[String]) -> usize {
        let mut objects = self.objects.lock().expect("cache lock");
        let before = objects.len();
        objects.retain(|_, c| !paths.iter().any(|p| invalidation_matches(p, &c.path)));
        before - objects.len()
    }
}

/// CloudFront invalidation paths: case-sensitive, `*` only as the last character
/// (a prefix); a path without `*` names one object (all its query variants).
pub fn invalidation_matches(pattern: &str, path: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => path.starts_with(prefix),
        None => pattern == path,
    }
}

/// `max-age` (or `s-maxage`, which wins for shared caches) of a Cache-Control value;
/// `no-store`/`no-cache`/`private` read as 0.
pub fn cache_control_seconds(value: Option<&str>) -> Option<u64> {
    let value = value?;
    let mut max_age = None;
    let mut s_maxage = None;
    for directive in value.split(',').map(str::trim) {
        let lower = directive.to_ascii_lowercase();
        if matches!(lower.as_str(), "no-store" | "no-cache" | "private") {
            return Some(0);
        }
        if let Some(v) = lower.strip_prefix("s-maxage=") {
            s_maxage = v.parse().ok();
        } else if let Some(v) = lower.strip_prefix("max-age=") {
            max_age = v.parse().ok();
        }
    }
    s_maxage.or(max_age)
}

/// How long CloudFront keeps a response: for 2xx/3xx the origin's max-age clamped to
/// the policy's [min, max] (default TTL without one); for errors, the custom error
/// response's minimum TTL (10 s when there is none), as documented in "Managing how
/// long content stays in the cache" and "Error caching minimum TTL".
pub fn ttl(
    policy: &CachePolicy,
    status: u16,
    cache_control: Option<&str>,
    error_min_ttl: Option<u64>,
) -> Duration {
    if status >= 400 {
        return Duration::from_secs(error_min_ttl.unwrap_or(10));
    }
    let seconds = match cache_control_seconds(cache_control) {
        Some(s) => s.clamp(policy.min_ttl, policy.max_ttl),
        None => policy.default_ttl,
    };
    Duration::from_secs(seconds)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> CachePolicy {
        CachePolicy {
            min_ttl: 1,
            default_ttl: 86_400,
            max_ttl: 31_536_000,
            query_allowlist: None,
        }
    }

    #[test]
    fn ttls_follow_the_policy_and_the_origin() {
        let p = policy();
        assert_eq!(
            ttl(&p, 200, Some("public, max-age=60"), None),
            Duration::from_secs(60)
        );
        assert_eq!(
            ttl(&p, 200, Some("max-age=0"), None),
            Duration::from_secs(1),
            "min TTL"
        );
        assert_eq!(ttl(&p, 200, Some("no-store"), None), Duration::from_secs(1));
        assert_eq!(
            ttl(&p, 200, Some("max-age=99999999999"), None),
            Duration::from_secs(31_536_000)
        );
        assert_eq!(ttl(&p, 200, None, None), Duration::from_secs(86_400));
        assert_eq!(
            ttl(&p, 200, Some("max-age=5, s-maxage=50"), None),
            Duration::from_secs(50)
        );
        assert_eq!(
            ttl(&p, 404, Some("max-age=600"), Some(60)),
            Duration::from_secs(60)
        );
        assert_eq!(ttl(&p, 503, None, Some(0)), Duration::ZERO);
        assert_eq!(ttl(&p, 400, None, None), Duration::from_secs(10));
    }

    #[test]
    fn invalidation_paths() {
        assert!(invalidation_matches("/shop/a.jpg", "/shop/a.jpg"));
        assert!(!invalidation_matches("/shop/a.jpg", "/shop/a.jpgx"));
        assert!(invalidation_matches("/shop/*", "/shop/x/y.png"));
        assert!(invalidation_matches("/*", "/anything"));
        assert!(!invalidation_matches("/Shop/*", "/shop/a.jpg"));
    }

    #[test]
    fn layers_expire_and_invalidate() {
        let layer = CacheLayer::default();
        let object = |path: &str, ttl: u64| Cached {
            status: 200,
            headers: vec![],
            body: Bytes::new(),
            path: path.into(),
            expires: Instant::now() + Duration::from_secs(ttl),
        };
        layer.put("/a?w=1".into(), object("/a", 60));
        layer.put("/a?w=2".into(), object("/a", 60));
        layer.put("/b".into(), object("/b", 0));
        assert_eq!(layer.len(), 2);
        assert!(layer.get("/b").is_none(), "expired");
        assert_eq!(layer.invalidate(&["/a".into()]), 2);
        assert!(layer.is_empty());
    }
}
