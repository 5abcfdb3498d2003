//! Deterministic AWS names for one claim.
//!
//! Every physical name derives from the composite's name (which Crossplane makes
//! unique per claim) plus a role, and fits the tightest AWS limit of its kind. A name
//! that would be too long keeps a readable prefix and ends in a hash of the full name,
//! so two long claims never collide after truncation.

use sha2::{Digest, Sha256};

/// S3 bucket names: 3-63 lowercase letters, digits and dashes.
pub const S3_MAX: usize = 63;
/// IAM role names and Lambda function names.
pub const ROLE_MAX: usize = 64;
/// CloudFront Function, OAC and cache/origin-request policy names.
pub const CLOUDFRONT_MAX: usize = 64;

/// Joins `parts` with dashes; when longer than `max`, truncates and appends an
/// 8-character hash of the untruncated name.
pub fn fit(parts: &[&str], max: usize) -> String {
    let full = parts.join("-");
    if full.len() <= max {
        return full;
    }
    let digest = Sha256::digest(full.as_bytes());
    let hash: String = digest.iter().take(4).map(|b| format!("{b:02x}")).collect();
    let keep = max - hash.len() - 1;
    let prefix = full[..keep].trim_end_matches(['-', '.']);
    format!("{prefix}-{hash}")
}

/// Lowercases and replaces anything but letters, digits and dashes, so a Kubernetes
/// name (which may hold dots) is safe in every AWS name.
pub fn sanitize(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    while out.contains("--") {
        out = out.replace("--", "-");
    }
    out.trim_matches('-').to_string()
}

/// The physical names of one claim's resources.
#[derive(Clone, Debug, PartialEq)]
pub struct Names {
    base: String,
}

impl Names {
    pub fn new(composite_name: &str) -> Names {
        let base = sanitize(composite_name);
        Names {
            base: if base.is_empty() {
                "imagecdn".into()
            } else {
                base
            },
        }
    }

    /// The names of a namespaced composite: its name, its namespace and a short hash of
    /// `namespace/name`, so that no two (namespace, name) pairs share a base even when
    /// their dashes line up (`media`+`shop` and `media-shop`+`default`).
    pub fn namespaced(namespace: &str, name: &str) -> Names {
        let digest = Sha256::digest(format!("{namespace}/{name}").as_bytes());
        let hash: String = digest.iter().take(3).map(|b| format!("{b:02x}")).collect();
        Names::new(&format!("{name}-{namespace}-{hash}"))
    }

    /// The sanitized composite name every other name starts with.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// A bucket holding `role` data in `region`, e.g. `photos-originals-eu-west-1`.
    pub fn bucket(&self, role: &str, region: &str) -> String {
        fit(&[&self.base, role, region], S3_MAX)
    }

    /// An IAM role, IAM policy or Lambda function name.
    pub fn iam(&self, role: &str) -> String {
        fit(&[&self.base, role], ROLE_MAX)
    }

    /// A CloudFront-level name (function, OAC, policies).
    pub fn cloudfront(&self, role: &str) -> String {
        fit(&[&self.base, role], CLOUDFRONT_MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_names_are_kept_verbatim() {
        assert_eq!(
            Names::new("photos").bucket("originals", "eu-west-1"),
            "photos-originals-eu-west-1"
        );
    }

    #[test]
    fn long_names_fit_and_stay_distinct() {
        let a = Names::new(&"a".repeat(80)).bucket("originals", "ap-southeast-1");
        let b = Names::new(&format!("{}b", "a".repeat(79))).bucket("originals", "ap-southeast-1");
        assert!(a.len() <= S3_MAX && b.len() <= S3_MAX, "{a} {b}");
        assert_ne!(a, b);
        assert_eq!(
            a,
            Names::new(&"a".repeat(80)).bucket("originals", "ap-southeast-1")
        );
    }

    #[test]
    fn kubernetes_names_become_aws_safe() {
        assert_eq!(sanitize("Team.Photos--x7k"), "team-photos-x7k");
        assert_eq!(Names::new("...").base(), "imagecdn");
    }
}
