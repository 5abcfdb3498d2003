//! Security: the WAF web ACL in front of the distribution (its logs: [`waf_logging`]),
//! each tenant's signed-URL
//! keys (public keys and a key group per tenant) and each tenant's uploader policy,
//! confined to its own prefix of the originals.

use serde_json::{Value, json};

use super::storage::originals;
use super::{Build, Ctx, managed, tags, waf_logging};
use crate::iam;
use crate::spec::{ManagedRuleGroup, Tenant};

pub const WEB_ACL: &str = "web-acl";
/// WAF for CloudFront lives in us-east-1.
pub const WAF_REGION: &str = "us-east-1";
const WAFV2: &str = "wafv2.aws.upbound.io/v1beta1";
const CLOUDFRONT: &str = "cloudfront.aws.upbound.io/v1beta1";
const IAM: &str = "iam.aws.upbound.io/v1beta1";
/// The label that groups a tenant's public keys for its key group's selector.
const TENANT_LABEL: &str = "imagecdn.io/tenant";

pub fn build(ctx: &Ctx) -> Vec<(String, Build)> {
    let mut out = Vec::new();
    if ctx.spec.waf.enabled {
        out.push((WEB_ACL.to_string(), Build::Ready(web_acl(ctx))));
        out.extend(waf_logging::build(ctx));
    }
    for tenant in &ctx.spec.tenants {
        out.extend(signing_keys(ctx, tenant));
        out.push((
            uploader_policy_component(tenant),
            Build::Ready(uploader_policy(ctx, tenant)),
        ));
    }
    out
}

/// The composition name of a tenant's key group.
pub fn key_group_component(tenant: &Tenant) -> String {
    format!("tenant-{}-key-group", tenant.name)
}

fn public_key_component(tenant: &Tenant, key: &str) -> String {
    format!("tenant-{}-key-{key}", tenant.name)
}

fn uploader_policy_component(tenant: &Tenant) -> String {
    format!("tenant-{}-uploader-policy", tenant.name)
}

// ---------------------------------------------------------------------------------
// WAF

/// CloudWatch metrics and sampled requests for a rule (or the ACL).
fn visibility(metric: &str) -> Value {
    json!({"CloudWatchMetricsEnabled": true, "MetricName": metric, "SampledRequestsEnabled": true})
}

/// Several statements joined by `Or`/`And`; WAF refuses a one-member `Or`/`And`.
fn combine(op: &str, mut statements: Vec<Value>) -> Value {
    if statements.len() == 1 {
        statements.remove(0)
    } else {
        json!({ op: {"Statements": statements} })
    }
}

fn referer_field() -> Value {
    json!({"SingleHeader": {"Name": "referer"}})
}

/// WAF's limit on one regular expression's length.
const MAX_REGEX_LEN: usize = 512;

/// Statements matching a `Referer` from one of `hosts` (`shop.example.com`, or
/// `*.example.com` for any subdomain): scheme, host, optional port, then a path or
/// nothing. Hosts are joined into as few regular expressions as WAF's length limit
/// allows, since each regex costs web ACL capacity.
fn referer_from(hosts: &[String]) -> Vec<Value> {
    let alternatives: Vec<String> = hosts
        .iter()
        .map(|h| match h.strip_prefix("*.") {
            Some(base) => format!("([a-z0-9-]+\\.)+{}", base.replace('.', "\\.")),
            None => h.replace('.', "\\."),
        })
        .collect();
    let wrap = |alts: &[String]| format!("^https?://({})(:[0-9]+)?(/|$)", alts.join("|"));
    let mut chunks: Vec<Vec<String>> = vec![Vec::new()];
    for alt in alternatives {
        let current = chunks.last_mut().expect("one chunk exists");
        current.push(alt);
        if current.len() > 1 && wrap(current).len() > MAX_REGEX_LEN {
            let moved = current.pop().expect("just pushed");
            chunks.push(vec![moved]);
        }
    }
    chunks
        .iter()
        .map(|alts| {
            json!({"RegexMatchStatement": {
                "RegexString": wrap(alts),
                "FieldToMatch": referer_field(),
                "TextTransformations": [{"Priority": 0, "Type": "LOWERCASE"}],
            }})
        })
        .collect()
}

/// Requests for paths under `prefix`, however the path is spelled: WAF decodes it
/// (`%2F` included) and removes repeated slashes and dot segments before comparing, so
/// `/%2Fshop/a.jpg` or `/x/../shop//a.jpg` are matched like `/shop/a.jpg`.
fn path_under(prefix: &str) -> Value {
    json!({"ByteMatchStatement": {
        "SearchString": format!("/{prefix}/"),
        "FieldToMatch": {"UriPath": {}},
        "PositionalConstraint": "STARTS_WITH",
        "TextTransformations": PATH_TRANSFORMATIONS.iter().enumerate()
            .map(|(i, t)| json!({"Priority": i, "Type": t}))
            .collect::<Vec<_>>(),
    }})
}

/// WAF text transformations applied, in order, to a URI path before prefix matching.
pub const PATH_TRANSFORMATIONS: [&str; 2] = ["URL_DECODE", "NORMALIZE_PATH"];

/// Conditions (to be joined with `And`) matching requests that hotlink: a `Referer`
/// that is not on `allowed`, or also no `Referer` at all when empty ones are refused.
fn hotlink(allowed: &[String], allow_empty: bool) -> Vec<Value> {
    let not_allowed =
        json!({"NotStatement": {"Statement": combine("OrStatement", referer_from(allowed))}});
    if !allow_empty {
        return vec![not_allowed];
    }
    let present = json!({"SizeConstraintStatement": {
        "FieldToMatch": referer_field(),
        "ComparisonOperator": "GT",
        "Size": 0,
        "TextTransformations": [{"Priority": 0, "Type": "NONE"}],
    }});
    vec![present, not_allowed]
}

fn managed_group_name(g: ManagedRuleGroup) -> &'static str {
    match g {
        ManagedRuleGroup::CommonRuleSet => "AWSManagedRulesCommonRuleSet",
        ManagedRuleGroup::KnownBadInputs => "AWSManagedRulesKnownBadInputsRuleSet",
        ManagedRuleGroup::IpReputation => "AWSManagedRulesAmazonIpReputationList",
    }
}

/// The rules in AWS API shape (`ruleJson`): IP reputation first, then the per-IP
/// rate limit, hotlink rules, and the other managed groups.
pub fn waf_rules(ctx: &Ctx) -> Vec<Value> {
    let w = &ctx.spec.waf;
    let mut rules = Vec::new();
    let mut add = |name: String, statement: Value, action: Option<Value>| {
        let priority = rules.len();
        let mut rule = json!({
            "Name": name,
            "Priority": priority,
            "Statement": statement,
            "VisibilityConfig": visibility(&name),
        });
        match action {
            Some(a) => rule["Action"] = a,
            // Managed groups carry their own actions.
            None => rule["OverrideAction"] = json!({"None": {}}),
        }
        rules.push(rule);
    };
    let group = |g: ManagedRuleGroup| json!({"ManagedRuleGroupStatement": {"VendorName": "AWS", "Name": managed_group_name(g)}});
    if w.managed_rule_groups
        .contains(&ManagedRuleGroup::IpReputation)
    {
        add(
            "aws-ip-reputation".into(),
            group(ManagedRuleGroup::IpReputation),
            None,
        );
    }
    add(
        "rate-limit-per-ip".into(),
        json!({"RateBasedStatement": {
            "Limit": w.rate_limit,
            "EvaluationWindowSec": w.rate_limit_window_seconds,
            "AggregateKeyType": "IP",
        }}),
        Some(json!({"Block": {}})),
    );
    // Tenants with their own allowlist get their own rule; the WAF-wide list covers
    // every other path.
    let own: Vec<&Tenant> = ctx
        .spec
        .tenants
        .iter()
        .filter(|t| !t.allowed_referers.is_empty())
        .collect();
    for t in &own {
        add(
            format!("hotlink-{}", t.name),
            combine(
                "AndStatement",
                std::iter::once(path_under(t.effective_prefix()))
                    .chain(hotlink(&t.allowed_referers, w.allow_empty_referer))
                    .collect(),
            ),
            Some(json!({"Block": {}})),
        );
    }
    if !w.allowed_referers.is_empty() {
        let mut parts = hotlink(&w.allowed_referers, w.allow_empty_referer);
        if !own.is_empty() {
            parts.push(json!({"NotStatement": {"Statement": combine(
                "OrStatement",
                own.iter().map(|t| path_under(t.effective_prefix())).collect(),
            )}}));
        }
        add(
            "hotlink".into(),
            combine("AndStatement", parts),
            Some(json!({"Block": {}})),
        );
    }
    for g in [
        ManagedRuleGroup::CommonRuleSet,
        ManagedRuleGroup::KnownBadInputs,
    ] {
        if w.managed_rule_groups.contains(&g) {
            let name = match g {
                ManagedRuleGroup::CommonRuleSet => "aws-common",
                _ => "aws-known-bad-inputs",
            };
            add(name.into(), group(g), None);
        }
    }
    rules
}

fn web_acl(ctx: &Ctx) -> Value {
    let name = ctx.names.cloudfront("waf");
    managed(
        ctx,
        WEB_ACL,
        WAFV2,
        "WebACL",
        None,
        json!({
            "region": WAF_REGION,
            "name": name,
            "description": "ImageCDN: per-IP rate limit, hotlink protection, AWS managed rules",
            "scope": "CLOUDFRONT",
            "defaultAction": {"allow": {}},
            "visibilityConfig": {
                "cloudwatchMetricsEnabled": true,
                "metricName": name,
                "sampledRequestsEnabled": true,
            },
            "ruleJson": Value::Array(waf_rules(ctx)).to_string(),
            "tags": tags(ctx, WEB_ACL),
        }),
    )
}

/// CloudWatch Logs accepts only these retention periods; round up to the next one.
pub fn retention_days(days: u32) -> u32 {
    const ALLOWED: [u32; 22] = [
        1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557,
        2922, 3288, 3653,
    ];
    ALLOWED.into_iter().find(|d| *d >= days).unwrap_or(3653)
}

// ---------------------------------------------------------------------------------
// Signed URLs

/// A CloudFront public key per key the tenant lists (PEM read by the provider from the
/// tenant's Secret) and one key group holding them.
fn signing_keys(ctx: &Ctx, tenant: &Tenant) -> Vec<(String, Build)> {
    if tenant.public_keys.is_empty() {
        return Vec::new();
    }
    let mut out: Vec<(String, Build)> = tenant
        .public_keys
        .iter()
        .map(|k| {
            let component = public_key_component(tenant, &k.name);
            let mut v = managed(
                ctx,
                &component,
                CLOUDFRONT,
                "PublicKey",
                None,
                json!({
                    "name": ctx.names.cloudfront(&format!("{}-{}", tenant.name, k.name)),
                    "comment": format!("ImageCDN signing key {} of tenant {}", k.name, tenant.name),
                    "encodedKeySecretRef": {
                        "name": k.secret_ref.name,
                        "namespace": ctx.key_namespace(&k.secret_ref),
                        "key": k.secret_ref.key,
                    },
                }),
            );
            v["metadata"]["labels"][TENANT_LABEL] = json!(tenant.name);
            (component, Build::Ready(v))
        })
        .collect();
    let group = key_group_component(tenant);
    out.push((
        group.clone(),
        Build::Ready(managed(
            ctx,
            &group,
            CLOUDFRONT,
            "KeyGroup",
            None,
            json!({
                "name": ctx.names.cloudfront(&format!("{}-signers", tenant.name)),
                "comment": format!("ImageCDN: keys that sign tenant {}'s URLs", tenant.name),
                "itemSelector": {"matchControllerRef": true, "matchLabels": {TENANT_LABEL: tenant.name}},
            }),
        )),
    ));
    out
}

// ---------------------------------------------------------------------------------
// Tenant IAM

/// What a tenant's uploader may do: write, read and delete originals under its own
/// prefix of the primary bucket (replication carries them on), and list that prefix.
pub fn uploader_statements(bucket: &str, prefix: &str) -> Vec<Value> {
    vec![
        iam::allow(
            "ManageOwnOriginals",
            &["s3:PutObject", "s3:GetObject", "s3:DeleteObject"],
            vec![iam::objects_arn(bucket, Some(prefix))],
        ),
        json!({
            "Sid": "ListOwnPrefix",
            "Effect": "Allow",
            "Action": ["s3:ListBucket"],
            "Resource": [iam::bucket_arn(bucket)],
            "Condition": {"StringLike": {"s3:prefix": [format!("{prefix}/*")]}},
        }),
    ]
}

fn uploader_policy(ctx: &Ctx, tenant: &Tenant) -> Value {
    let component = uploader_policy_component(tenant);
    let bucket = &originals(ctx)[0].bucket;
    let mut v = managed(
        ctx,
        &component,
        IAM,
        "Policy",
        Some(&ctx.names.iam(&format!("upload-{}", tenant.name))),
        json!({
            "description": format!("Uploads originals of ImageCDN tenant {} (prefix {}/)", tenant.name, tenant.effective_prefix()),
            "policy": iam::document(uploader_statements(bucket, tenant.effective_prefix())),
            "tags": tags(ctx, &component),
        }),
    );
    v["metadata"]["labels"][TENANT_LABEL] = json!(tenant.name);
    v
}

/// The tenant's observed key group ID, for the distribution and the status.
pub fn key_group_id(ctx: &Ctx, tenant: &Tenant) -> Option<String> {
    ctx.observed.at_provider(&key_group_component(tenant), "id")
}
