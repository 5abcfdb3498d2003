//! Reads and checks a claim's spec, naming the offending field in every error.
//!
//! The API server enforces the XRD's schema and CEL rules, but `render` and a
//! RunFunction call from anywhere else do not pass through it, so the function
//! checks everything again. Bounds come from [`crate::spec::limits`], the same
//! constants the schema is generated from.

use std::collections::BTreeSet;
use std::fmt;

use serde_json::Value;

use crate::api::{Api, Composite};
use crate::spec::{ImageCdnSpec, ProviderConfigKind, limits};

/// A claim error: the field path (as a user writes it) and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    pub path: String,
    pub message: String,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// Fields Crossplane adds to a composite's spec; they are not part of our API.
const CROSSPLANE_SPEC_FIELDS: &[&str] = &[
    "claimRef",
    "compositionRef",
    "compositionRevisionRef",
    "compositionRevisionSelector",
    "compositionSelector",
    "compositionUpdatePolicy",
    "crossplane",
    "environmentConfigRefs",
    "publishConnectionDetailsTo",
    "resourceRef",
    "resourceRefs",
    "writeConnectionSecretToRef",
];

/// Parses the composite's `spec` into [`ImageCdnSpec`] and checks it.
pub fn parse_spec(spec: Option<&Value>) -> Result<ImageCdnSpec, Vec<FieldError>> {
    let Some(Value::Object(map)) = spec else {
        return Err(vec![FieldError {
            path: "spec".into(),
            message: "required: the claim has no spec object".into(),
        }]);
    };
    let mut ours = map.clone();
    for f in CROSSPLANE_SPEC_FIELDS {
        ours.remove(*f);
    }
    let parsed: ImageCdnSpec =
        serde_path_to_error::deserialize(Value::Object(ours)).map_err(|e| {
            let mut message = e.inner().to_string();
            let mut path = match e.path().to_string() {
                p if p == "." => "spec".to_string(),
                p => format!("spec.{p}"),
            };
            // serde reports a missing or unknown field at its parent; name the field itself.
            for (marker, what) in [
                ("missing field `", "required"),
                ("unknown field `", "unknown field"),
            ] {
                if let Some(rest) = message.strip_prefix(marker)
                    && let Some((field, tail)) = rest.split_once('`')
                {
                    if !path.ends_with(&format!(".{field}")) {
                        path = format!("{path}.{field}");
                    }
                    message = format!("{what}{tail}");
                    break;
                }
            }
            vec![FieldError { path, message }]
        })?;
    let errors = check(&parsed);
    if errors.is_empty() {
        Ok(parsed)
    } else {
        Err(errors)
    }
}

/// Cross-field and bound checks that types alone cannot express.
pub fn check(spec: &ImageCdnSpec) -> Vec<FieldError> {
    let mut errs = Errors::default();
    check_regions(spec, &mut errs);
    check_transform(spec, &mut errs);
    check_tenants(spec, &mut errs);
    check_waf(spec, &mut errs);
    check_precompute(spec, &mut errs);
    if !(1..=limits::MAX_RETENTION_DAYS).contains(&spec.audit.retention_days) {
        errs.push(
            "spec.audit.retentionDays",
            format!("must be between 1 and {}", limits::MAX_RETENTION_DAYS),
        );
    }
    if let Some(arn) = &spec.audit.existing_trail
        && !is_cloudtrail_arn(arn)
    {
        errs.push(
            "spec.audit.existingTrail",
            "must be the ARN of a CloudTrail trail or event data store, such as arn:aws:cloudtrail:us-east-1:123456789012:trail/org-audit",
        );
    }
    if let Some(domain) = &spec.custom_domain {
        if !is_hostname(&domain.name, false) {
            errs.push(
                "spec.customDomain.name",
                "must be a lowercase fully qualified domain name such as images.example.com",
            );
        }
        if !domain.hosted_zone_id.starts_with('Z')
            || domain.hosted_zone_id.len() > 32
            || !domain
                .hosted_zone_id
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        {
            errs.push(
                "spec.customDomain.hostedZoneId",
                "must be a Route 53 hosted zone ID such as Z0123456789ABCDEFGHIJ",
            );
        }
    }
    for (path, bucket) in [
        ("spec.artifacts.edge.bucket", &spec.artifacts.edge.bucket),
        (
            "spec.artifacts.renderer.bucket",
            &spec.artifacts.renderer.bucket,
        ),
    ] {
        if !is_bucket_name(bucket) {
            errs.push(
                path,
                "must be an S3 bucket name: 3-63 lowercase letters, digits, dots and dashes",
            );
        }
    }
    for (path, key) in [
        ("spec.artifacts.edge.key", &spec.artifacts.edge.key),
        ("spec.artifacts.renderer.key", &spec.artifacts.renderer.key),
    ] {
        if key.is_empty() || key.len() > 1024 {
            errs.push(path, "must be an S3 object key of 1-1024 characters");
        }
    }
    for (path, value) in [
        ("spec.providerConfig.aws", &spec.provider_config.aws),
        (
            "spec.providerConfig.kubernetes",
            &spec.provider_config.kubernetes,
        ),
    ] {
        if value.is_empty() {
            errs.push(path, "must not be empty");
        }
    }
    errs.0
}

/// The rules that depend on which API the composite comes from: the namespace rules
/// ([`check_namespaces`]), and the fields only one API has (the API server prunes the
/// other API's fields; `render` and the gRPC function are told plainly).
pub fn check_api_fields(spec: &ImageCdnSpec, composite: &Composite) -> Vec<FieldError> {
    let mut errs = Errors(check_namespaces(spec, composite.namespace.as_deref()));
    let pc = &spec.provider_config;
    match composite.api {
        Api::Claim if pc.kind != ProviderConfigKind::default() => errs.push(
            "spec.providerConfig.kind",
            "only namespaced ImageCDNs (m.imagecdn.io) choose a provider config kind: cluster-scoped managed resources always use a cluster-scoped ProviderConfig",
        ),
        Api::Namespaced if pc.secret_namespace.is_some() => errs.push(
            "spec.providerConfig.secretNamespace",
            "a namespaced ImageCDN composes its Secrets in its own namespace: leave it out",
        ),
        _ => {}
    }
    errs.0
}

/// The namespace rules, which need to know the claim (`crossplane.io/claim-namespace`
/// on the composite): a claim reads and writes Secrets in its own namespace only, so one
/// team's claim can neither load another namespace's Secret into a CloudFront public key
/// nor have provider-kubernetes write into another namespace. A composite created
/// without a claim (by a platform team) may name any namespace, and must name the
/// namespace of each key Secret.
pub fn check_namespaces(spec: &ImageCdnSpec, claim_namespace: Option<&str>) -> Vec<FieldError> {
    let mut errs = Errors::default();
    let mut check = |path: String, value: Option<&String>, required_without_claim: bool| {
        if let Some(message) = namespace_problem(claim_namespace, value, required_without_claim) {
            errs.push(path, message);
        }
    };
    check(
        "spec.providerConfig.secretNamespace".into(),
        spec.provider_config.secret_namespace.as_ref(),
        false,
    );
    for (i, t) in spec.tenants.iter().enumerate() {
        for (k, key) in t.public_keys.iter().enumerate() {
            check(
                format!("spec.tenants[{i}].publicKeys[{k}].secretRef.namespace"),
                key.secret_ref.namespace.as_ref(),
                true,
            );
        }
    }
    errs.0
}

#[derive(Default)]
struct Errors(Vec<FieldError>);

impl Errors {
    fn push(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldError {
            path: path.into(),
            message: message.into(),
        });
    }
}

fn check_regions(spec: &ImageCdnSpec, errs: &mut Errors) {
    let r = &spec.regions;
    if r.replicas.len() != 2 {
        errs.push(
            "spec.regions.replicas",
            format!("must list exactly 2 regions, found {}", r.replicas.len()),
        );
    }
    for (i, replica) in r.replicas.iter().enumerate() {
        if replica == &r.primary {
            errs.push(
                format!("spec.regions.replicas[{i}]"),
                "must differ from the primary region",
            );
        }
        if r.replicas[..i].contains(replica) {
            errs.push(
                format!("spec.regions.replicas[{i}]"),
                "must differ from the other replica",
            );
        }
    }
}

fn check_transform(spec: &ImageCdnSpec, errs: &mut Errors) {
    let t = &spec.transform;
    let edge = limits::MIN_EDGE..=limits::MAX_EDGE;
    if !edge.contains(&t.max_width) {
        errs.push(
            "spec.transform.maxWidth",
            format!("must be between {} and {}", edge.start(), edge.end()),
        );
    }
    if !edge.contains(&t.max_height) {
        errs.push(
            "spec.transform.maxHeight",
            format!("must be between {} and {}", edge.start(), edge.end()),
        );
    }
    if t.width_ladder.len() > limits::MAX_LADDER_STEPS {
        errs.push(
            "spec.transform.widthLadder",
            format!("at most {} steps", limits::MAX_LADDER_STEPS),
        );
    }
    for (i, w) in t.width_ladder.iter().enumerate() {
        if *w == 0 || *w > t.max_width {
            errs.push(
                format!("spec.transform.widthLadder[{i}]"),
                format!("must be between 1 and maxWidth ({})", t.max_width),
            );
        }
        if i > 0 && *w <= t.width_ladder[i - 1] {
            errs.push(
                format!("spec.transform.widthLadder[{i}]"),
                "steps must be strictly ascending",
            );
        }
    }
    for (field, q) in [
        ("minQuality", t.min_quality),
        ("maxQuality", t.max_quality),
        ("defaultQuality", t.default_quality),
    ] {
        if !(1..=100).contains(&q) {
            errs.push(
                format!("spec.transform.{field}"),
                "must be between 1 and 100",
            );
        }
    }
    if !(t.min_quality <= t.default_quality && t.default_quality <= t.max_quality) {
        errs.push(
            "spec.transform.defaultQuality",
            format!(
                "must lie within minQuality..maxQuality ({}..{})",
                t.min_quality, t.max_quality
            ),
        );
    }
    if t.formats.is_empty() {
        errs.push("spec.transform.formats", "must enable at least one format");
    }
    let mut seen = BTreeSet::new();
    for (i, f) in t.formats.iter().enumerate() {
        if !seen.insert(f) {
            errs.push(
                format!("spec.transform.formats[{i}]"),
                format!("{} is listed twice", f.as_str()),
            );
        }
    }
    if t.presets.len() > limits::MAX_PRESETS {
        errs.push(
            "spec.transform.presets",
            format!(
                "at most {} presets (they are embedded in the 10 KB CloudFront Function)",
                limits::MAX_PRESETS
            ),
        );
    }
    let mut names = BTreeSet::new();
    for (i, p) in t.presets.iter().enumerate() {
        let at = |f: &str| format!("spec.transform.presets[{i}].{f}");
        if !is_dns_label(&p.name, 32) {
            errs.push(
                at("name"),
                "must be 1-32 lowercase letters, digits or dashes, starting and ending with a letter or digit",
            );
        }
        if !names.insert(p.name.as_str()) {
            errs.push(at("name"), format!("duplicate preset {:?}", p.name));
        }
        if p.width.is_none() && p.height.is_none() && p.format.is_none() && p.quality.is_none() {
            errs.push(
                format!("spec.transform.presets[{i}]"),
                "must set at least one of width, height, format, quality",
            );
        }
        if let Some(w) = p.width
            && (w == 0 || w > t.max_width)
        {
            errs.push(
                at("width"),
                format!(
                    "must be between 1 and spec.transform.maxWidth ({})",
                    t.max_width
                ),
            );
        }
        if let Some(w) = p.width
            && !t.width_ladder.is_empty()
            && !t.width_ladder.contains(&w)
        {
            errs.push(
                at("width"),
                "must be one of spec.transform.widthLadder: the ladder applies to every width, so a preset off the ladder would be rendered at another width",
            );
        }
        if let Some(h) = p.height
            && (h == 0 || h > t.max_height)
        {
            errs.push(
                at("height"),
                format!(
                    "must be between 1 and spec.transform.maxHeight ({})",
                    t.max_height
                ),
            );
        }
        if p.fit.is_some() && (p.width.is_none() || p.height.is_none()) {
            errs.push(at("fit"), "needs both width and height");
        }
        if let Some(f) = p.format
            && !t.formats.contains(&f)
        {
            errs.push(
                at("format"),
                format!("{} is not enabled in spec.transform.formats", f.as_str()),
            );
        }
        if let Some(q) = p.quality
            && !(t.min_quality..=t.max_quality).contains(&q)
        {
            errs.push(
                at("quality"),
                format!(
                    "must lie within minQuality..maxQuality ({}..{})",
                    t.min_quality, t.max_quality
                ),
            );
        }
    }
    if !(1..=limits::MAX_SOURCE_MEGAPIXELS).contains(&t.max_source_megapixels) {
        errs.push(
            "spec.transform.maxSourceMegapixels",
            format!("must be between 1 and {}", limits::MAX_SOURCE_MEGAPIXELS),
        );
    }
    if !(1..=limits::MAX_SOURCE_MEGABYTES).contains(&t.max_source_megabytes) {
        errs.push(
            "spec.transform.maxSourceMegabytes",
            format!("must be between 1 and {}", limits::MAX_SOURCE_MEGABYTES),
        );
    }
}

fn check_tenants(spec: &ImageCdnSpec, errs: &mut Errors) {
    let tenants = &spec.tenants;
    if tenants.is_empty() {
        errs.push("spec.tenants", "must list at least one tenant");
    }
    if tenants.len() > limits::MAX_TENANTS {
        errs.push(
            "spec.tenants",
            format!(
                "at most {} tenants (one CloudFront cache behavior each, 75 per distribution)",
                limits::MAX_TENANTS
            ),
        );
    }
    let mut names = BTreeSet::new();
    for (i, t) in tenants.iter().enumerate() {
        let at = |f: &str| format!("spec.tenants[{i}].{f}");
        if !is_dns_label(&t.name, 32) {
            errs.push(
                at("name"),
                "must be 1-32 lowercase letters, digits or dashes, starting and ending with a letter or digit",
            );
        }
        if !names.insert(t.name.as_str()) {
            errs.push(at("name"), format!("duplicate tenant {:?}", t.name));
        }
        let prefix = t.effective_prefix();
        if !is_key_prefix(prefix) {
            errs.push(
                at("prefix"),
                "must be at most 48 characters of lowercase path segments (letters, digits, '.', '_', '-') joined by '/', without leading or trailing slash, '.' or '..' segments",
            );
        }
        for (j, other) in tenants[..i].iter().enumerate() {
            if prefixes_overlap(prefix, other.effective_prefix()) {
                errs.push(
                    at("prefix"),
                    format!(
                        "{prefix:?} overlaps the prefix {:?} of spec.tenants[{j}]; tenant prefixes must be disjoint",
                        other.effective_prefix()
                    ),
                );
            }
        }
        if t.require_signed_urls && t.public_keys.is_empty() {
            errs.push(
                at("publicKeys"),
                "a tenant that requires signed URLs needs at least one public key",
            );
        }
        if t.public_keys.len() > limits::MAX_KEYS_PER_TENANT {
            errs.push(
                at("publicKeys"),
                format!(
                    "at most {} keys (CloudFront's limit per key group)",
                    limits::MAX_KEYS_PER_TENANT
                ),
            );
        }
        let mut key_names = BTreeSet::new();
        for (k, key) in t.public_keys.iter().enumerate() {
            if !is_dns_label(&key.name, 32) {
                errs.push(
                    format!("spec.tenants[{i}].publicKeys[{k}].name"),
                    "must be 1-32 lowercase letters, digits or dashes",
                );
            }
            if !key_names.insert(key.name.as_str()) {
                errs.push(
                    format!("spec.tenants[{i}].publicKeys[{k}].name"),
                    format!("duplicate key name {:?}", key.name),
                );
            }
            for (field, value) in [("name", &key.secret_ref.name), ("key", &key.secret_ref.key)] {
                if value.is_empty() {
                    errs.push(
                        format!("spec.tenants[{i}].publicKeys[{k}].secretRef.{field}"),
                        "must not be empty",
                    );
                }
            }
        }
        check_referers(&t.allowed_referers, &at("allowedReferers"), errs);
    }
}

fn check_waf(spec: &ImageCdnSpec, errs: &mut Errors) {
    let w = &spec.waf;
    if !(limits::MIN_RATE_LIMIT..=limits::MAX_RATE_LIMIT).contains(&w.rate_limit) {
        errs.push(
            "spec.waf.rateLimit",
            format!(
                "must be between {} and {} requests per window",
                limits::MIN_RATE_LIMIT,
                limits::MAX_RATE_LIMIT
            ),
        );
    }
    if ![60, 120, 300, 600].contains(&w.rate_limit_window_seconds) {
        errs.push(
            "spec.waf.rateLimitWindowSeconds",
            "must be one of 60, 120, 300, 600",
        );
    }
    check_referers(&w.allowed_referers, "spec.waf.allowedReferers", errs);
    let mut seen = BTreeSet::new();
    for (i, g) in w.managed_rule_groups.iter().enumerate() {
        if !seen.insert(format!("{g:?}")) {
            errs.push(
                format!("spec.waf.managedRuleGroups[{i}]"),
                format!("{g:?} is listed twice"),
            );
        }
    }
}

fn check_referers(referers: &[String], path: &str, errs: &mut Errors) {
    if referers.len() > limits::MAX_REFERERS {
        errs.push(path, format!("at most {} entries", limits::MAX_REFERERS));
    }
    let mut seen = BTreeSet::new();
    for (i, r) in referers.iter().enumerate() {
        if !is_hostname(r, true) {
            errs.push(
                format!("{path}[{i}]"),
                format!(
                    "{r:?} must be a lowercase hostname such as shop.example.com or *.example.com"
                ),
            );
        }
        if !seen.insert(r) {
            errs.push(format!("{path}[{i}]"), format!("{r:?} is listed twice"));
        }
    }
}

fn check_precompute(spec: &ImageCdnSpec, errs: &mut Errors) {
    if !(1..=60).contains(&spec.precompute.invalidation_window_minutes) {
        errs.push(
            "spec.precompute.invalidationWindowMinutes",
            "must be between 1 and 60",
        );
    }
    for (i, name) in spec.precompute.presets.iter().enumerate() {
        if !spec.transform.presets.iter().any(|p| &p.name == name) {
            errs.push(
                format!("spec.precompute.presets[{i}]"),
                format!("{name:?} is not one of spec.transform.presets[].name"),
            );
        }
    }
}

fn is_dns_label(s: &str, max: usize) -> bool {
    !s.is_empty()
        && s.len() <= max
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

fn is_hostname(s: &str, allow_wildcard: bool) -> bool {
    let s = match s.strip_prefix("*.") {
        Some(rest) if allow_wildcard => rest,
        _ => s,
    };
    let labels: Vec<&str> = s.split('.').collect();
    s.len() <= 253
        && labels.len() >= 2
        && labels.iter().all(|l| is_dns_label(l, 63))
        && labels
            .last()
            .is_some_and(|tld| tld.len() >= 2 && tld.chars().all(|c| c.is_ascii_lowercase()))
}

fn is_bucket_name(s: &str) -> bool {
    (3..=63).contains(&s.len())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-')
        && s.starts_with(|c: char| c.is_ascii_alphanumeric())
        && s.ends_with(|c: char| c.is_ascii_alphanumeric())
        && !s.contains("..")
}

fn is_key_prefix(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= limits::MAX_PREFIX_LENGTH
        && s.split('/').all(|seg| {
            !seg.is_empty()
                && seg != "."
                && seg != ".."
                && seg.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
                && seg.chars().all(|c| {
                    c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-')
                })
        })
}

/// Two prefixes overlap when one is a whole-segment prefix of the other.
pub fn prefixes_overlap(a: &str, b: &str) -> bool {
    let under = |long: &str, short: &str| {
        long == short || long.strip_prefix(short).is_some_and(|r| r.starts_with('/'))
    };
    under(a, b) || under(b, a)
}

/// `arn:<partition>:cloudtrail:<region>:<12 digits>:trail/<name>` or `...:eventdatastore/<id>`.
fn is_cloudtrail_arn(arn: &str) -> bool {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let [prefix, partition, service, region, account, resource] = parts[..] else {
        return false;
    };
    let name = resource
        .strip_prefix("trail/")
        .or_else(|| resource.strip_prefix("eventdatastore/"));
    prefix == "arn"
        && partition.starts_with("aws")
        && service == "cloudtrail"
        && !region.is_empty()
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && account.len() == 12
        && account.bytes().all(|b| b.is_ascii_digit())
        && name.is_some_and(|n| {
            !n.is_empty()
                && n.len() <= 2000
                && n.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._/-".contains(&b))
        })
}

/// What is wrong with a namespace field, given the claim's namespace (if any).
fn namespace_problem(
    claim: Option<&str>,
    value: Option<&String>,
    required_without_claim: bool,
) -> Option<String> {
    match (claim, value) {
        (_, Some(v)) if v.is_empty() => {
            Some("must not be empty (leave it out for the claim's namespace)".into())
        }
        (Some(claim), Some(v)) if v != claim => Some(format!(
            "must be the ImageCDN's own namespace {claim:?} (or left out): an ImageCDN may not use Secrets of namespace {v:?}"
        )),
        (None, None) if required_without_claim => Some(
            "required when the composite has no claim (there is no claim namespace to default to)"
                .into(),
        ),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_overlap_is_by_whole_segments() {
        assert!(prefixes_overlap("a", "a/b"));
        assert!(prefixes_overlap("a/b", "a/b"));
        assert!(!prefixes_overlap("a", "ab"));
        assert!(!prefixes_overlap("shop", "blog"));
    }

    #[test]
    fn hostnames() {
        assert!(is_hostname("shop.example.com", false));
        assert!(is_hostname("*.example.com", true));
        assert!(!is_hostname("*.example.com", false));
        assert!(!is_hostname("localhost", false));
        assert!(!is_hostname("Shop.example.com", false));
    }
}
