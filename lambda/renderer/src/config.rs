//! The renderer's settings, from the environment the composition function sets.

use std::env;

use imagecdn_transform::Limits;

/// What the renderer may touch and how much work it accepts.
#[derive(Clone, Debug)]
pub struct Config {
    pub originals_bucket: String,
    pub variants_bucket: String,
    /// Needed only to check which of our invalidations are still in progress.
    pub distribution_id: Option<String>,
    /// Tenant key prefixes: keys outside them are refused.
    pub tenant_prefixes: Vec<String>,
    pub limits: Limits,
    /// Path-style S3 addressing (S3-compatible endpoints such as the test server).
    pub force_path_style: bool,
    /// How old a queued takedown must be before it is invalidated: longer than any edge
    /// transform that was in flight when it was queued can still run.
    pub settle_secs: u64,
    /// Longest single S3 attempt (an original of the largest allowed size included).
    pub s3_attempt_timeout_secs: u64,
}

/// Lambda@Edge's origin-request timeout (30 s) plus a margin for clock skew.
pub const DEFAULT_SETTLE_SECS: u64 = 40;

/// A missing or malformed setting.
#[derive(Debug, thiserror::Error)]
#[error("environment variable {name}: {problem}")]
pub struct ConfigError {
    pub name: &'static str,
    pub problem: String,
}

impl Config {
    /// From the function's environment variables (what Lambda sets from the composed
    /// Function's `environment.variables`).
    pub fn from_env() -> Result<Config, ConfigError> {
        Config::from_lookup(|name| env::var(name).ok())
    }

    /// From any variable lookup: the environment, or the variables of a rendered
    /// Function (the local CDN runs the renderer in-process with those).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let required = |name: &'static str| {
            lookup(name).filter(|v| !v.is_empty()).ok_or(ConfigError {
                name,
                problem: "required".into(),
            })
        };
        let number = |name: &'static str, default: u64| match lookup(name) {
            None => Ok(default),
            Some(v) => v.parse().map_err(|_| ConfigError {
                name,
                problem: format!("{v:?} is not a whole number"),
            }),
        };
        let megapixels = number("IMAGECDN_MAX_SOURCE_MEGAPIXELS", 50)?;
        let megabytes = number("IMAGECDN_MAX_SOURCE_MEGABYTES", 40)?;
        Ok(Config {
            originals_bucket: required("IMAGECDN_ORIGINALS_BUCKET")?,
            variants_bucket: required("IMAGECDN_VARIANTS_BUCKET")?,
            distribution_id: lookup("IMAGECDN_DISTRIBUTION_ID").filter(|v| !v.is_empty()),
            tenant_prefixes: required("IMAGECDN_TENANT_PREFIXES")?
                .split(',')
                .map(str::to_string)
                .filter(|p| !p.is_empty())
                .collect(),
            limits: Limits {
                max_source_pixels: megapixels * 1_000_000,
                max_source_bytes: (megabytes * 1024 * 1024) as usize,
                max_width: number("IMAGECDN_MAX_WIDTH", 4096)? as u32,
                max_height: number("IMAGECDN_MAX_HEIGHT", 4096)? as u32,
                default_quality: number("IMAGECDN_DEFAULT_QUALITY", 80)? as u32,
            },
            force_path_style: lookup("IMAGECDN_S3_FORCE_PATH_STYLE")
                .is_some_and(|v| v == "true" || v == "1"),
            settle_secs: number("IMAGECDN_TAKEDOWN_SETTLE_SECONDS", DEFAULT_SETTLE_SECS)?,
            s3_attempt_timeout_secs: number("IMAGECDN_S3_ATTEMPT_TIMEOUT_SECONDS", 60)?.max(1),
        })
    }

    /// Whether `key` is an original this renderer may read: under a tenant prefix, no
    /// empty, `.` or `..` segments. Keys come from events, never URLs or hosts.
    pub fn allows_key(&self, key: &str) -> bool {
        !key.is_empty()
            && key.len() <= 1024
            && !key
                .split('/')
                .any(|s| s.is_empty() || s == "." || s == "..")
            && self.tenant_prefixes.iter().any(|p| {
                key.len() > p.len() + 1
                    && key.starts_with(p.as_str())
                    && key.as_bytes()[p.len()] == b'/'
            })
    }
}
