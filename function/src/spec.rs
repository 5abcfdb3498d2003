//! The `ImageCDN` claim: its spec and status as typed Rust.
//!
//! These types are the single source of truth for the public API: the XRD in
//! `apis/definition.yaml` is generated from them (`function-imagecdn xrd`), and a
//! test fails when the committed file drifts. Doc comments become the field
//! descriptions a portal shows; `#[serde(default)]` values become schema defaults;
//! bounds live in [`limits`] so the schema and the Rust validation share them.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use imagecdn_urlapi::{Fit, Format, Preset};

/// Bounds shared by the schema (`#[schemars(range(..))]`) and [`crate::validate`].
pub mod limits {
    /// Largest output edge we allow; keeps one variant well inside Lambda memory.
    pub const MAX_EDGE: u32 = imagecdn_urlapi::definition::MAX_EDGE;
    /// Smallest `maxWidth`/`maxHeight` that still allows useful thumbnails.
    pub const MIN_EDGE: u32 = 16;
    /// Width ladder steps (each becomes at most one cache key per other params).
    pub const MAX_LADDER_STEPS: usize = 32;
    /// Presets are embedded in the 10 KB CloudFront Function; keep headroom.
    pub const MAX_PRESETS: usize = 16;
    /// 75 cache behaviors per distribution: one per tenant plus the default.
    pub const MAX_TENANTS: usize = 50;
    /// CloudFront allows 5 public keys per key group.
    pub const MAX_KEYS_PER_TENANT: usize = 5;
    /// Tenant prefixes are embedded in the CloudFront Function too.
    pub const MAX_PREFIX_LENGTH: usize = 48;
    /// Referer allowlist entries (each is one WAF byte-match statement).
    pub const MAX_REFERERS: usize = 20;
    /// Source megapixels: 200 MP RGBA is 800 MB, inside Lambda's 10 GB.
    pub const MAX_SOURCE_MEGAPIXELS: u32 = 200;
    /// Source object size in MiB the transform is willing to download.
    pub const MAX_SOURCE_MEGABYTES: u32 = 200;
    /// WAF rate-based rules: at least 10 requests per window.
    pub const MIN_RATE_LIMIT: u32 = 10;
    /// WAF rate-based rules accept up to 2e9 requests per window.
    pub const MAX_RATE_LIMIT: u32 = 2_000_000_000;
    /// CloudTrail/S3 log retention, up to ten years.
    pub const MAX_RETENTION_DAYS: u32 = 3653;
}

/// AWS commercial regions a bucket or Lambda function can live in.
pub const AWS_REGIONS: &[&str] = &[
    "af-south-1",
    "ap-east-1",
    "ap-east-2",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-south-1",
    "ap-south-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-southeast-5",
    "ap-southeast-7",
    "ca-central-1",
    "ca-west-1",
    "eu-central-1",
    "eu-central-2",
    "eu-north-1",
    "eu-south-1",
    "eu-south-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "il-central-1",
    "me-central-1",
    "me-south-1",
    "mx-central-1",
    "sa-east-1",
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
];

/// Regions that host a CloudFront regional edge cache and so can be an Origin Shield.
pub const ORIGIN_SHIELD_REGIONS: &[&str] = &[
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-south-1",
    "ap-southeast-1",
    "ap-southeast-2",
    "eu-central-1",
    "eu-west-1",
    "eu-west-2",
    "sa-east-1",
    "us-east-1",
    "us-east-2",
    "us-west-2",
];

/// The Origin Shield region for an origin in `region`: AWS's published recommendation
/// (CloudFront Developer Guide, "Choosing the AWS Region for Origin Shield", as encoded in
/// AWS's own `aws-samples/image-optimization`) for the 20 regions it lists; for the
/// regions it does not list, the geographically nearest region with a regional edge
/// cache (our choice, marked `*`).
pub fn recommended_origin_shield(region: &str) -> &'static str {
    match region {
        // Regions with a regional edge cache shield themselves.
        "us-east-1" => "us-east-1",
        "us-east-2" => "us-east-2",
        "us-west-2" => "us-west-2",
        "ap-south-1" => "ap-south-1",
        "ap-northeast-1" => "ap-northeast-1",
        "ap-northeast-2" => "ap-northeast-2",
        "ap-southeast-1" => "ap-southeast-1",
        "ap-southeast-2" => "ap-southeast-2",
        "eu-central-1" => "eu-central-1",
        "eu-west-1" => "eu-west-1",
        "eu-west-2" => "eu-west-2",
        "sa-east-1" => "sa-east-1",
        // AWS's table.
        "us-west-1" => "us-west-2",
        "af-south-1" => "eu-west-1",
        "ap-east-1" => "ap-southeast-1",
        "ca-central-1" => "us-east-1",
        "eu-south-1" => "eu-central-1",
        "eu-west-3" => "eu-west-2",
        "eu-north-1" => "eu-west-2",
        "me-south-1" => "ap-south-1",
        // * Not in AWS's table: the nearest region with a regional edge cache.
        "ap-east-2" | "ap-northeast-3" => "ap-northeast-1",
        "ap-south-2" | "me-central-1" => "ap-south-1",
        "ap-southeast-3" | "ap-southeast-5" | "ap-southeast-7" => "ap-southeast-1",
        "ap-southeast-4" => "ap-southeast-2",
        "ca-west-1" => "us-west-2",
        "eu-central-2" | "il-central-1" => "eu-central-1",
        "eu-south-2" => "eu-west-2",
        "mx-central-1" => "us-east-2",
        _ => "us-east-1",
    }
}

/// The claim's `spec`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(extend("x-kubernetes-validations" = [
    {
        "rule": "!has(self.precompute) || !has(self.precompute.presets) || self.precompute.presets.all(p, has(self.transform) && has(self.transform.presets) && self.transform.presets.exists(q, q.name == p))",
        "message": "spec.precompute.presets: every name must be one of spec.transform.presets[].name"
    },
    {
        "rule": "!has(self.transform) || !has(self.transform.presets) || self.transform.presets.all(p, !has(p.width) || p.width <= self.transform.maxWidth)",
        "message": "spec.transform.presets[].width: must not exceed spec.transform.maxWidth"
    },
    {
        "rule": "!has(self.transform) || !has(self.transform.presets) || !has(self.transform.widthLadder) || self.transform.widthLadder.size() == 0 || self.transform.presets.all(p, !has(p.width) || p.width in self.transform.widthLadder)",
        "message": "spec.transform.presets[].width: must be one of spec.transform.widthLadder when a ladder is set"
    },
    {
        "rule": "!has(self.transform) || !has(self.transform.presets) || self.transform.presets.all(p, !has(p.height) || p.height <= self.transform.maxHeight)",
        "message": "spec.transform.presets[].height: must not exceed spec.transform.maxHeight"
    }
]))]
pub struct ImageCdnSpec {
    /// Where the originals live: a primary region that takes uploads and two replica
    /// regions that receive them by S3 cross-region replication and serve as failover origins.
    #[serde(default)]
    pub regions: Regions,

    /// What clients may ask the transform for: size limits, quality bounds, formats and presets.
    #[serde(default)]
    pub transform: Transform,

    /// The tenants sharing this CDN. Each owns one key prefix in the originals bucket and the
    /// URL path of the same name (`https://<domain>/<prefix>/<key>`).
    #[schemars(length(min = 1, max = limits::MAX_TENANTS))]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["name"]))]
    pub tenants: Vec<Tenant>,

    /// AWS WAF in front of the distribution: per-IP rate limit, hotlink protection, managed rules.
    #[serde(default)]
    pub waf: Waf,

    /// Render presets ahead of time when an original is uploaded, so most requests are plain GETs.
    #[serde(default)]
    pub precompute: Precompute,

    /// CloudTrail audit of every change to the originals.
    #[serde(default)]
    pub audit: Audit,

    /// Serve from your own domain instead of `*.cloudfront.net`. Omit for the CloudFront domain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_domain: Option<CustomDomain>,

    /// CloudFront price class: which edge locations serve the content.
    #[serde(default)]
    pub price_class: PriceClass,

    /// What happens to the originals when the ImageCDN is deleted.
    #[serde(default)]
    pub originals: Originals,

    /// The provider configs the composed resources use.
    #[serde(default)]
    pub provider_config: ProviderConfig,

    /// Where the built Lambda packages live. Upload the release zips there first; changing a key
    /// deploys new code.
    pub artifacts: Artifacts,
}

/// A primary region and two replicas. Changing regions later would move every bucket,
/// so the whole block is immutable once set.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(extend("x-kubernetes-validations" = [
    {"rule": "self.replicas.all(r, r != self.primary)", "message": "spec.regions.replicas: must differ from the primary region"},
    {"rule": "self.replicas.size() != 2 || self.replicas[0] != self.replicas[1]", "message": "spec.regions.replicas: the two replicas must differ"},
    {"rule": "self == oldSelf", "message": "spec.regions is immutable: create a new ImageCDN to move regions"}
]))]
pub struct Regions {
    /// The region that takes uploads, holds the variants bucket and runs the pre-compute renderer.
    #[serde(default = "default_primary")]
    pub primary: AwsRegion,

    /// Two more regions that receive every original by cross-region replication. The first is
    /// CloudFront's failover origin; the second is read by the transform when both fail.
    #[serde(default = "default_replicas")]
    #[schemars(length(min = 2, max = 2))]
    pub replicas: Vec<AwsRegion>,

    /// The primary's Origin Shield region: concurrent misses for one cache key collapse
    /// here. Defaults to AWS's recommendation for the primary region. (The failover
    /// origin always uses the recommendation for its own region, so that an outage of the
    /// primary's shield region does not take the failover path down with it.)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin_shield: Option<OriginShieldRegion>,
}

fn default_primary() -> AwsRegion {
    AwsRegion("us-east-1".into())
}

fn default_replicas() -> Vec<AwsRegion> {
    vec![
        AwsRegion("eu-west-1".into()),
        AwsRegion("ap-northeast-1".into()),
    ]
}

impl Default for Regions {
    fn default() -> Self {
        Regions {
            primary: default_primary(),
            replicas: default_replicas(),
            origin_shield: None,
        }
    }
}

impl Regions {
    /// The primary's Origin Shield region: the explicit one, else the recommendation.
    pub fn effective_origin_shield(&self) -> &str {
        match &self.origin_shield {
            Some(r) => r.0.as_str(),
            None => recommended_origin_shield(self.primary.0.as_str()),
        }
    }
}

/// Declares a string newtype whose schema is an enum of `$list` and whose deserializer
/// rejects anything else with a message listing what is allowed.
macro_rules! region_type {
    ($name:ident, $list:expr, $what:literal) => {
        #[doc = concat!("One of the ", $what, ".")]
        #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
        #[serde(transparent)]
        pub struct $name(pub String);

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                if $list.contains(&s.as_str()) {
                    Ok($name(s))
                } else {
                    Err(serde::de::Error::custom(format!(
                        "{s:?} is not one of the {}: {}",
                        $what,
                        $list.join(", ")
                    )))
                }
            }
        }

        impl JsonSchema for $name {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                stringify!($name).into()
            }
            fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                schemars::json_schema!({"type": "string", "enum": $list})
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

region_type!(AwsRegion, AWS_REGIONS, "AWS commercial regions");
region_type!(
    OriginShieldRegion,
    ORIGIN_SHIELD_REGIONS,
    "regions that can host CloudFront Origin Shield"
);

/// Transform limits and the vocabulary clients may use.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(extend("x-kubernetes-validations" = [
    {"rule": "self.minQuality <= self.defaultQuality && self.defaultQuality <= self.maxQuality", "message": "spec.transform: minQuality <= defaultQuality <= maxQuality must hold"},
    {"rule": "!has(self.widthLadder) || self.widthLadder.all(w, w <= self.maxWidth)", "message": "spec.transform.widthLadder: every step must be <= maxWidth"}
]))]
pub struct Transform {
    /// Widest output in pixels; larger `w` values (after `dpr`) are clamped to it.
    #[serde(default = "default_max_edge")]
    #[schemars(range(min = limits::MIN_EDGE, max = limits::MAX_EDGE))]
    pub max_width: u32,

    /// Tallest output in pixels; larger `h` values (after `dpr`) are clamped to it.
    #[serde(default = "default_max_edge")]
    #[schemars(range(min = limits::MIN_EDGE, max = limits::MAX_EDGE))]
    pub max_height: u32,

    /// Optional ascending list of allowed widths. When set, every requested width snaps up to
    /// the next step (or the largest), so one original has at most this many widths in cache.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = limits::MAX_LADDER_STEPS), inner(range(min = 1, max = limits::MAX_EDGE)))]
    pub width_ladder: Vec<u32>,

    /// Lowest quality a client may ask for; lower `q` values are raised to it.
    #[serde(default = "default_min_quality")]
    #[schemars(range(min = 1, max = 100))]
    pub min_quality: u32,

    /// Highest quality a client may ask for; higher `q` values are lowered to it.
    #[serde(default = "default_max_quality")]
    #[schemars(range(min = 1, max = 100))]
    pub max_quality: u32,

    /// Quality used when the request names none.
    #[serde(default = "default_quality")]
    #[schemars(range(min = 1, max = 100))]
    pub default_quality: u32,

    /// Output formats clients may request with `fm`. `fm=auto` picks AVIF, then WebP, among
    /// these when the browser's `Accept` header allows.
    #[serde(default = "default_formats")]
    #[schemars(length(min = 1, max = 4))]
    #[schemars(extend("x-kubernetes-list-type" = "set"))]
    pub formats: Vec<Format>,

    /// Named parameter sets (`?p=<name>`), replaced at the edge by their own parameters so a
    /// preset and the same parameters spelled out share one cache key.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = limits::MAX_PRESETS))]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["name"]))]
    pub presets: Vec<Preset>,

    /// Largest source image in megapixels; bigger sources are refused (413) from their header,
    /// before any pixel is decoded, which also stops decompression bombs.
    #[serde(default = "default_max_source_megapixels")]
    #[schemars(range(min = 1, max = limits::MAX_SOURCE_MEGAPIXELS))]
    pub max_source_megapixels: u32,

    /// Largest source object in MiB the transform downloads; bigger ones are refused (413).
    #[serde(default = "default_max_source_megabytes")]
    #[schemars(range(min = 1, max = limits::MAX_SOURCE_MEGABYTES))]
    pub max_source_megabytes: u32,
}

fn default_max_edge() -> u32 {
    4096
}
fn default_min_quality() -> u32 {
    30
}
fn default_max_quality() -> u32 {
    90
}
fn default_quality() -> u32 {
    80
}
fn default_formats() -> Vec<Format> {
    vec![Format::Jpeg, Format::Png, Format::Webp, Format::Avif]
}
fn default_max_source_megapixels() -> u32 {
    50
}
fn default_max_source_megabytes() -> u32 {
    40
}

impl Default for Transform {
    fn default() -> Self {
        Transform {
            max_width: default_max_edge(),
            max_height: default_max_edge(),
            width_ladder: Vec::new(),
            min_quality: default_min_quality(),
            max_quality: default_max_quality(),
            default_quality: default_quality(),
            formats: default_formats(),
            presets: Vec::new(),
            max_source_megapixels: default_max_source_megapixels(),
            max_source_megabytes: default_max_source_megabytes(),
        }
    }
}

/// One tenant of the CDN.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(extend("x-kubernetes-validations" = [
    {"rule": "!self.requireSignedUrls || (has(self.publicKeys) && self.publicKeys.size() > 0)", "message": "publicKeys: a tenant that requires signed URLs needs at least one public key"}
]))]
pub struct Tenant {
    /// The tenant's name; lowercase letters, digits and dashes.
    #[schemars(
        regex(pattern = r"^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$"),
        length(max = 32)
    )]
    pub name: String,
    /// The tenant's key prefix in the originals bucket and first path segment(s) of its URLs,
    /// without leading or trailing slash, at most 48 characters (prefixes are embedded in the
    /// CloudFront Function). Defaults to the name. Prefixes of two tenants must not overlap
    /// (`a` and `a/b` do).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        length(max = 128),
        regex(pattern = r"^[a-z0-9][a-z0-9._-]*(/[a-z0-9][a-z0-9._-]*)*$")
    )]
    pub prefix: Option<String>,
    /// Serve this tenant's images only to URLs signed with one of its keys (CloudFront
    /// trusted key group).
    #[serde(default)]
    pub require_signed_urls: bool,
    /// Public keys whose private halves sign this tenant's URLs. One CloudFront key group per
    /// tenant holds them (at most 5, CloudFront's limit per key group).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = limits::MAX_KEYS_PER_TENANT))]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["name"]))]
    pub public_keys: Vec<PublicKey>,
    /// Sites allowed to embed this tenant's images (hostnames such as `shop.example.com`).
    /// Empty means the WAF-wide allowlist applies.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = limits::MAX_REFERERS))]
    #[schemars(inner(
        regex(pattern = r"^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$"),
        length(max = 253)
    ))]
    #[schemars(extend("x-kubernetes-list-type" = "set"))]
    pub allowed_referers: Vec<String>,
}

impl Tenant {
    /// The key prefix actually used.
    pub fn effective_prefix(&self) -> &str {
        self.prefix.as_deref().unwrap_or(&self.name)
    }
}

/// A public key for signed URLs, read from a Kubernetes Secret.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PublicKey {
    /// A name for the key, unique within the tenant (it names the CloudFront public key).
    #[schemars(
        regex(pattern = r"^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$"),
        length(max = 32)
    )]
    pub name: String,
    /// The Secret holding the PEM-encoded public key.
    pub secret_ref: SecretKeyRef,
}

/// A key of a Kubernetes Secret.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SecretKeyRef {
    /// The Secret's name.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
    /// The Secret's namespace: the claim's own (the default). A claim may not read
    /// another namespace's Secrets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 63))]
    pub namespace: Option<String>,
    /// The key within the Secret.
    #[serde(default = "default_pem_key")]
    #[schemars(length(min = 1, max = 253))]
    pub key: String,
}

fn default_pem_key() -> String {
    "public.pem".into()
}

/// WAF settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Waf {
    /// Attach a WAF web ACL to the distribution.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Requests one client IP may make per window before WAF blocks it.
    #[serde(default = "default_rate_limit")]
    #[schemars(range(min = limits::MIN_RATE_LIMIT, max = limits::MAX_RATE_LIMIT))]
    pub rate_limit: u32,
    /// The rate limit's evaluation window in seconds.
    #[serde(default = "default_rate_window")]
    #[schemars(extend("enum" = [60, 120, 300, 600]))]
    pub rate_limit_window_seconds: u32,
    /// Sites allowed to embed images of every tenant (hostnames; `*.example.com` matches
    /// subdomains). Empty disables hotlink protection.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = limits::MAX_REFERERS))]
    #[schemars(inner(
        regex(pattern = r"^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$"),
        length(max = 253)
    ))]
    #[schemars(extend("x-kubernetes-list-type" = "set"))]
    pub allowed_referers: Vec<String>,
    /// Let requests without a `Referer` header through the hotlink rule (direct visits, apps,
    /// privacy-minded browsers).
    #[serde(default = "yes")]
    pub allow_empty_referer: bool,
    /// AWS managed rule groups to run.
    #[serde(default = "default_managed_rules")]
    #[schemars(length(max = 3))]
    #[schemars(extend("x-kubernetes-list-type" = "set"))]
    pub managed_rule_groups: Vec<ManagedRuleGroup>,
    /// Which requests WAF logs to the `aws-waf-logs-*` log group. WAF sees every viewer
    /// request, cache hits included, and CloudWatch Logs bills ingestion per GB, so
    /// `Blocked` costs a fraction of `All`.
    #[serde(default)]
    pub log_requests: WafLogRequests,
}

fn yes() -> bool {
    true
}
fn default_rate_limit() -> u32 {
    2000
}
fn default_rate_window() -> u32 {
    300
}
fn default_managed_rules() -> Vec<ManagedRuleGroup> {
    vec![
        ManagedRuleGroup::CommonRuleSet,
        ManagedRuleGroup::KnownBadInputs,
        ManagedRuleGroup::IpReputation,
    ]
}

impl Default for Waf {
    fn default() -> Self {
        Waf {
            enabled: true,
            rate_limit: default_rate_limit(),
            rate_limit_window_seconds: default_rate_window(),
            allowed_referers: Vec::new(),
            allow_empty_referer: true,
            managed_rule_groups: default_managed_rules(),
            log_requests: WafLogRequests::default(),
        }
    }
}

/// Which requests the web ACL logs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum WafLogRequests {
    /// Every request WAF evaluated.
    All,
    /// Requests a rule blocked or counted.
    #[default]
    Blocked,
    /// ImageCDN manages no WAF logging (no log group, no logging configuration): for teams that
    /// attach their own destination, such as Firehose or S3.
    Off,
}

/// An AWS managed WAF rule group.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum ManagedRuleGroup {
    /// `AWSManagedRulesCommonRuleSet`.
    CommonRuleSet,
    /// `AWSManagedRulesKnownBadInputsRuleSet`.
    KnownBadInputs,
    /// `AWSManagedRulesAmazonIpReputationList`.
    IpReputation,
}

/// Pre-compute settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Precompute {
    /// Render presets when an original is uploaded. Takedowns (deleted originals) and
    /// overwrites (replaced originals) reach every cache layer whether or not this is on.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Names of `spec.transform.presets` to render on upload. Empty renders every preset.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = limits::MAX_PRESETS))]
    #[schemars(inner(length(min = 1, max = 32)))]
    #[schemars(extend("x-kubernetes-list-type" = "set"))]
    pub presets: Vec<String>,
    /// How often pending takedowns are flushed to the edge as one CloudFront
    /// invalidation: a longer window batches more originals per request.
    #[serde(default = "default_flush_minutes")]
    #[schemars(range(min = 1, max = 60))]
    pub invalidation_window_minutes: u32,
}

fn default_flush_minutes() -> u32 {
    1
}

impl Default for Precompute {
    fn default() -> Self {
        Precompute {
            enabled: true,
            presets: Vec::new(),
            invalidation_window_minutes: default_flush_minutes(),
        }
    }
}

/// Audit settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Audit {
    /// Record every write to the originals (S3 data events only, no management events)
    /// with a multi-region CloudTrail trail of this ImageCDN. An account has at most 5
    /// trails per region, multi-region ones counting in every region: past a few
    /// audited ImageCDNs, set `existingTrail` instead.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// The ARN of a trail or CloudTrail Lake event data store that already records
    /// these originals' writes: ImageCDN then creates no trail of its own. Add data
    /// events (`WriteOnly`) for the three buckets in `status.buckets.originals` to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(
        pattern = r"^arn:aws[a-z-]*:cloudtrail:[a-z0-9-]+:[0-9]{12}:(trail|eventdatastore)/[A-Za-z0-9._/-]+$"
    ))]
    #[schemars(length(max = 2048))]
    pub existing_trail: Option<String>,
    /// Days to keep audit and access logs in the log bucket.
    #[serde(default = "default_retention")]
    #[schemars(range(min = 1, max = limits::MAX_RETENTION_DAYS))]
    pub retention_days: u32,
}

fn default_retention() -> u32 {
    365
}

impl Default for Audit {
    fn default() -> Self {
        Audit {
            enabled: true,
            existing_trail: None,
            retention_days: default_retention(),
        }
    }
}

/// A custom domain for the CDN.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CustomDomain {
    /// The fully qualified domain name clients use, such as `images.example.com`.
    #[schemars(
        length(max = 253),
        regex(pattern = r"^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
    )]
    pub name: String,
    /// The Route 53 hosted zone that holds the name (certificate validation and alias records).
    #[schemars(regex(pattern = r"^Z[A-Z0-9]{1,31}$"), length(max = 32))]
    pub hosted_zone_id: String,
}

/// CloudFront price class.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum PriceClass {
    /// North America, Europe and Israel only: cheapest.
    #[serde(rename = "PriceClass_100")]
    PriceClass100,
    /// Adds Asia, Africa and the Middle East.
    #[serde(rename = "PriceClass_200")]
    PriceClass200,
    /// Every edge location: fastest worldwide.
    #[default]
    #[serde(rename = "PriceClass_All")]
    PriceClassAll,
}

impl PriceClass {
    pub fn as_str(self) -> &'static str {
        match self {
            PriceClass::PriceClass100 => "PriceClass_100",
            PriceClass::PriceClass200 => "PriceClass_200",
            PriceClass::PriceClassAll => "PriceClass_All",
        }
    }
}

/// Originals settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Originals {
    /// `Orphan` keeps the originals buckets (and every image in them) in AWS when the
    /// ImageCDN is deleted; `Delete` removes the buckets too, and only succeeds once they are empty.
    #[serde(default)]
    pub deletion_policy: DeletionPolicy,
    /// Days a deleted or overwritten original stays recoverable (as a noncurrent version
    /// in all three buckets) before S3 expires it. Storage of old versions grows with
    /// this; a takedown can be undone within it.
    #[serde(default = "default_noncurrent_days")]
    #[schemars(range(min = 1, max = 3650))]
    pub noncurrent_version_days: u32,
}

fn default_noncurrent_days() -> u32 {
    30
}

impl Default for Originals {
    fn default() -> Self {
        Originals {
            deletion_policy: DeletionPolicy::default(),
            noncurrent_version_days: default_noncurrent_days(),
        }
    }
}

/// Crossplane deletion policy for the originals buckets.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum DeletionPolicy {
    #[default]
    Orphan,
    Delete,
}

impl DeletionPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            DeletionPolicy::Orphan => "Orphan",
            DeletionPolicy::Delete => "Delete",
        }
    }
}

/// Provider configs used by the composed resources.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProviderConfig {
    /// The provider-aws config every AWS resource uses.
    #[serde(default = "default_config_name")]
    #[schemars(length(min = 1, max = 253))]
    pub aws: String,
    /// The kind of that config (namespaced ImageCDNs only): `ClusterProviderConfig` (the
    /// default, shared by the cluster) or `ProviderConfig` (in the ImageCDN's own
    /// namespace, for teams with their own AWS account).
    #[serde(default)]
    pub kind: ProviderConfigKind,
    /// The provider-kubernetes `ProviderConfig` used to write the Secrets the AWS provider
    /// reads (the CloudFront Function code).
    #[serde(default = "default_config_name")]
    #[schemars(length(min = 1, max = 253))]
    pub kubernetes: String,
    /// Namespace for those Secrets: the claim's own (the default; a claim may not write
    /// into another namespace), or `crossplane-system` for a composite created without a
    /// claim. provider-kubernetes must be allowed to write Secrets there and provider-aws
    /// to read them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 63))]
    pub secret_namespace: Option<String>,
}

/// What a namespaced managed resource's `providerConfigRef` points at.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum ProviderConfigKind {
    /// A cluster-scoped provider config, shared by every namespace.
    #[default]
    ClusterProviderConfig,
    /// A provider config in the ImageCDN's own namespace.
    ProviderConfig,
}

impl ProviderConfigKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ProviderConfigKind::ClusterProviderConfig => "ClusterProviderConfig",
            ProviderConfigKind::ProviderConfig => "ProviderConfig",
        }
    }
}

/// Where Secrets go for a composite created without a claim.
pub const NO_CLAIM_SECRET_NAMESPACE: &str = "crossplane-system";

fn default_config_name() -> String {
    "default".into()
}

impl Default for ProviderConfig {
    fn default() -> Self {
        ProviderConfig {
            aws: default_config_name(),
            kind: ProviderConfigKind::default(),
            kubernetes: default_config_name(),
            secret_namespace: None,
        }
    }
}

/// The built Lambda packages.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Artifacts {
    /// The Lambda@Edge transform zip. Its bucket must be in us-east-1, where Lambda@Edge lives.
    pub edge: EdgeArtifact,
    /// The regional renderer zip. Its bucket must be in the primary region.
    pub renderer: RendererArtifact,
}

/// Declares an S3 object holding a Lambda deployment package, with its default key.
macro_rules! artifact_type {
    ($name:ident, $default_fn:ident, $default_fn_name:literal, $default_key:literal $(, { $($extra:tt)* })?) => {
        /// An S3 object holding a Lambda deployment package.
        #[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
        #[serde(rename_all = "camelCase", deny_unknown_fields)]
        pub struct $name {
            /// The bucket name.
            #[schemars(
                length(min = 3, max = 63),
                regex(pattern = r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
            )]
            pub bucket: String,
            /// The object key of the zip.
            #[serde(default = $default_fn_name)]
            #[schemars(length(min = 1, max = 1024))]
            pub key: String,
            $($($extra)*)?
        }

        fn $default_fn() -> String {
            $default_key.into()
        }
    };
}

artifact_type!(
    EdgeArtifact,
    default_edge_key,
    "default_edge_key",
    "imagecdn/edge-transform.zip"
);
artifact_type!(
    RendererArtifact,
    default_renderer_key,
    "default_renderer_key",
    "imagecdn/renderer.zip",
    {
        /// The instruction set of the renderer zip's `bootstrap`: `arm64` (Graviton, the
        /// package's `renderer.zip`; about 20% cheaper per GB-second) or `x86_64` (the
        /// package's `renderer-x86_64.zip`). The zip at `key` must be built for it.
        #[serde(default)]
        pub architecture: LambdaArchitecture,
    }
);

/// A Lambda instruction set, spelled as Lambda's `Architectures` spells it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum LambdaArchitecture {
    /// AWS Graviton (64-bit Arm).
    #[default]
    #[serde(rename = "arm64")]
    Arm64,
    /// 64-bit x86.
    #[serde(rename = "x86_64")]
    X86_64,
}

impl LambdaArchitecture {
    /// Lambda's name for it.
    pub fn as_str(self) -> &'static str {
        match self {
            LambdaArchitecture::Arm64 => "arm64",
            LambdaArchitecture::X86_64 => "x86_64",
        }
    }
}

/// The claim's `status`, filled from observed resources.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImageCdnStatus {
    /// The base URL clients use: `https://<custom domain or distribution domain>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cdn_url: Option<String>,
    /// The CloudFront distribution ID (for invalidations and dashboards).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distribution_id: Option<String>,
    /// The distribution's `*.cloudfront.net` domain name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distribution_domain_name: Option<String>,
    /// Bucket names: originals per region, variants and logs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buckets: Option<BucketStatus>,
    /// Per-tenant signing details.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tenants: Vec<TenantStatus>,
}

/// Bucket names.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BucketStatus {
    /// Originals buckets, primary first: upload to the primary one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub originals: Vec<RegionalBucket>,
    /// The variants bucket (primary region).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variants: Option<String>,
    /// The log bucket (primary region).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logs: Option<String>,
}

/// A bucket in one region.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RegionalBucket {
    /// The region.
    pub region: String,
    /// The bucket name.
    pub name: String,
}

/// A tenant's observed signing setup.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TenantStatus {
    /// The tenant's name.
    pub name: String,
    /// The CloudFront key group ID that validates the tenant's signed URLs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_group_id: Option<String>,
}
