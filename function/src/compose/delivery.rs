//! Delivery: the CloudFront distribution and what it needs (origin access control,
//! the cache and response headers policies, the generated viewer-request functions), plus
//! the bucket policies that let exactly this distribution and the edge transform
//! read the buckets.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::compute::{EDGE_FUNCTION, EDGE_ROLE};
use super::dns;
use super::security::{self, WEB_ACL};
use super::storage::{LOGS, VARIANTS, originals};
use super::viewer_request::{self, Audience};
use super::{Build, Ctx, Inputs, managed, select, tags};
use crate::iam;
use imagecdn_urlapi::definition::canonical_names;

pub const DISTRIBUTION: &str = "distribution";
pub const OAC: &str = "origin-access-control";
pub const CACHE_POLICY: &str = "cache-policy";
pub const RESPONSE_HEADERS_POLICY: &str = "response-headers-policy";
/// The default behavior's viewer function (public tenants) and its code Secret.
pub const VIEWER_FUNCTION: &str = "viewer-function";
pub const VIEWER_FUNCTION_CODE: &str = "viewer-function-code";
/// The signed tenants' behaviors' viewer function and its code Secret.
pub const SIGNED_VIEWER_FUNCTION: &str = "viewer-function-signed";
pub const SIGNED_VIEWER_FUNCTION_CODE: &str = "viewer-function-signed-code";

/// A viewer function's component, code component and physical name role.
fn viewer_function_parts(audience: Audience) -> (&'static str, &'static str, &'static str) {
    match audience {
        Audience::Public => (VIEWER_FUNCTION, VIEWER_FUNCTION_CODE, "viewer-request"),
        Audience::Signed => (
            SIGNED_VIEWER_FUNCTION,
            SIGNED_VIEWER_FUNCTION_CODE,
            "viewer-request-signed",
        ),
    }
}

const CLOUDFRONT: &str = "cloudfront.aws.upbound.io";
const S3_V1BETA1: &str = "s3.aws.upbound.io/v1beta1";
/// The origin group CloudFront fails over within.
const ORIGIN_GROUP_ID: &str = "originals";
/// Statuses that make CloudFront retry the request on the replica origin.
const FAILOVER_STATUSES: [u16; 4] = [500, 502, 503, 504];
/// The Secret key holding the function code.
const CODE_KEY: &str = "code";

pub fn build(ctx: &Ctx) -> Vec<(String, Build)> {
    let mut out = vec![
        (OAC.to_string(), Build::Ready(origin_access_control(ctx))),
        (CACHE_POLICY.to_string(), Build::Ready(cache_policy(ctx))),
        (
            RESPONSE_HEADERS_POLICY.to_string(),
            Build::Ready(response_headers_policy(ctx)),
        ),
    ];
    for audience in [Audience::Public, Audience::Signed] {
        if !viewer_request::has_audience(ctx.spec, audience) {
            continue;
        }
        let code = viewer_request::code(ctx.spec, audience);
        let (function, code_component, _) = viewer_function_parts(audience);
        out.push((
            code_component.to_string(),
            Build::Ready(function_code_secret(ctx, audience, &code)),
        ));
        out.push((
            function.to_string(),
            Build::Ready(viewer_function(ctx, audience, &code)),
        ));
    }
    out.push((DISTRIBUTION.to_string(), distribution(ctx)));
    out.extend(bucket_policies(ctx));
    out
}

fn origin_access_control(ctx: &Ctx) -> Value {
    managed(
        ctx,
        OAC,
        &format!("{CLOUDFRONT}/v1beta1"),
        "OriginAccessControl",
        None,
        json!({
            "name": ctx.names.cloudfront("s3"),
            "description": "ImageCDN: CloudFront signs every S3 origin request (SigV4)",
            "originAccessControlOriginType": "s3",
            "signingBehavior": "always",
            "signingProtocol": "sigv4",
        }),
    )
}

/// Keys the cache on the canonical query parameters and nothing else: the viewer
/// function has already folded aliases, `dpr`, presets and `Accept` into them.
fn cache_policy(ctx: &Ctx) -> Value {
    managed(
        ctx,
        CACHE_POLICY,
        &format!("{CLOUDFRONT}/v1beta2"),
        "CachePolicy",
        None,
        json!({
            "name": ctx.names.cloudfront("canonical-query"),
            "comment": "ImageCDN: cache key = path + canonical transform parameters",
            "minTtl": 1,
            "defaultTtl": 86400,
            "maxTtl": 31536000,
            "parametersInCacheKeyAndForwardedToOrigin": {
                "cookiesConfig": {"cookieBehavior": "none"},
                "headersConfig": {"headerBehavior": "none"},
                "queryStringsConfig": {
                    "queryStringBehavior": "whitelist",
                    "queryStrings": {"items": canonical_names()},
                },
                // Images are already compressed; gzip variants would only split the cache.
                "enableAcceptEncodingBrotli": false,
                "enableAcceptEncodingGzip": false,
            },
        }),
    )
}

/// `Vary: Accept` on every response the viewer gets: `fm=auto` resolves the format from
/// the viewer's `Accept` header into the cache key (CloudFront's own cache is safe), but
/// a shared cache downstream (a corporate proxy, an ISP cache) sees only the URL the
/// viewer asked for and must not hand an AVIF answer to a browser that cannot decode it.
/// A response headers policy adds it to hits and misses alike, to variants the edge
/// answers and to those S3 serves, after CloudFront's cache.
fn response_headers_policy(ctx: &Ctx) -> Value {
    managed(
        ctx,
        RESPONSE_HEADERS_POLICY,
        &format!("{CLOUDFRONT}/v1beta2"),
        "ResponseHeadersPolicy",
        None,
        json!({
            "name": ctx.names.cloudfront("responses"),
            "comment": "ImageCDN: Vary: Accept for format negotiation (fm=auto)",
            "customHeadersConfig": {"items": [
                {"header": "Vary", "value": "Accept", "override": true},
            ]},
        }),
    )
}

/// The provider reads CloudFront Function code from a Secret, which a cluster-scoped
/// composite can only compose through provider-kubernetes.
fn function_code_secret(ctx: &Ctx, audience: Audience, code: &str) -> Value {
    let (_, component, role) = viewer_function_parts(audience);
    let secret_name = ctx.names.cloudfront(&format!("{role}-code"));
    json!({
        "apiVersion": "kubernetes.crossplane.io/v1alpha2",
        "kind": "Object",
        "metadata": {"labels": {super::COMPONENT_LABEL: component}},
        "spec": {
            "forProvider": {
                "manifest": {
                    "apiVersion": "v1",
                    "kind": "Secret",
                    "metadata": {
                        "name": secret_name,
                        "namespace": ctx.secret_namespace(),
                        "labels": {"app.kubernetes.io/managed-by": "function-imagecdn"},
                    },
                    "type": "Opaque",
                    "stringData": {CODE_KEY: code},
                },
            },
            "providerConfigRef": {"name": ctx.spec.provider_config.kubernetes},
        },
    })
}

fn viewer_function(ctx: &Ctx, audience: Audience, code: &str) -> Value {
    // The code's hash in the comment makes every code change a visible spec change,
    // so the provider republishes the function.
    let digest = Sha256::digest(code.as_bytes());
    let short: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
    let (component, _, role) = viewer_function_parts(audience);
    let serves = match audience {
        Audience::Public => "public tenants",
        Audience::Signed => "signed tenants",
    };
    managed(
        ctx,
        component,
        &format!("{CLOUDFRONT}/v1beta1"),
        "Function",
        Some(&ctx.names.cloudfront(role)),
        json!({
            "runtime": "cloudfront-js-2.0",
            "publish": true,
            "comment": format!("ImageCDN viewer-request normalizer ({serves}) sha256:{short}"),
            "codeSecretRef": {
                "name": ctx.names.cloudfront(&format!("{role}-code")),
                "namespace": ctx.secret_namespace(),
                "key": CODE_KEY,
            },
        }),
    )
}

/// Per-claim settings the edge transform reads from its origin's custom headers
/// (Lambda@Edge has no environment variables).
fn edge_settings_headers(ctx: &Ctx) -> Vec<Value> {
    let primary = ctx.spec.regions.primary.as_str();
    let buckets = originals(ctx);
    let fallback = &buckets[buckets.len() - 1];
    let t = &ctx.spec.transform;
    let prefixes = viewer_request::url_settings(ctx.spec).prefixes;
    [
        (
            "x-imagecdn-variants-bucket",
            ctx.names.bucket("variants", primary),
        ),
        ("x-imagecdn-variants-region", primary.to_string()),
        ("x-imagecdn-fallback-bucket", fallback.bucket.clone()),
        ("x-imagecdn-fallback-region", fallback.region.clone()),
        (
            "x-imagecdn-max-source-megapixels",
            t.max_source_megapixels.to_string(),
        ),
        (
            "x-imagecdn-max-source-megabytes",
            t.max_source_megabytes.to_string(),
        ),
        ("x-imagecdn-default-quality", t.default_quality.to_string()),
        (
            "x-imagecdn-max-output",
            format!("{}x{}", t.max_width, t.max_height),
        ),
        ("x-imagecdn-tenant-prefixes", prefixes.join(",")),
    ]
    .into_iter()
    .map(|(name, value)| json!({"name": name, "value": value}))
    .collect()
}

fn distribution(ctx: &Ctx) -> Build {
    let o = ctx.observed;
    let this = DISTRIBUTION;
    let mut inputs = Inputs::default();
    let buckets = originals(ctx);
    // The primary's shield as the claim says; every other origin the one recommended for
    // its own bucket's region, so failover does not depend on the primary's shield region.
    let shield_of = |component: &str, region: &str| -> String {
        if component == buckets[0].component || component == VARIANTS {
            ctx.spec.regions.effective_origin_shield().to_string()
        } else {
            crate::spec::recommended_origin_shield(region).to_string()
        }
    };
    let headers = edge_settings_headers(ctx);

    // Origins: the primary and first replica form the failover group; the variants
    // bucket is where the edge points CloudFront for variants too large to return inline.
    let primary = ctx.spec.regions.primary.as_str();
    let origin_components = [
        (buckets[0].component.as_str(), buckets[0].region.as_str()),
        (buckets[1].component.as_str(), buckets[1].region.as_str()),
        (VARIANTS, primary),
    ];
    let origins: Vec<Value> = origin_components
        .iter()
        .enumerate()
        .map(|(i, (component, region))| {
            let domain = inputs.need(
                ctx,
                this,
                &format!("/spec/forProvider/origin/{i}/domainName"),
                o.at_provider(component, "bucketRegionalDomainName"),
                &format!("{component} bucketRegionalDomainName"),
            );
            json!({
                "originId": component,
                "domainName": domain,
                "originAccessControlIdSelector": select(OAC),
                "originShield": {"enabled": true, "originShieldRegion": shield_of(component, region)},
                "connectionAttempts": 2,
                "connectionTimeout": 5,
                "customHeader": headers,
            })
        })
        .collect();

    // Policies and the viewer function, all known only once they exist.
    let [cache_policy_id, response_headers_policy_id, function_arn] = [
        ("cachePolicyId", CACHE_POLICY, "id"),
        ("responseHeadersPolicyId", RESPONSE_HEADERS_POLICY, "id"),
        ("functionAssociation/0/functionArn", VIEWER_FUNCTION, "arn"),
    ]
    .map(|(field, component, attribute)| {
        inputs.need(
            ctx,
            this,
            &format!("/spec/forProvider/defaultCacheBehavior/{field}"),
            o.at_provider(component, attribute),
            &format!("{component} {attribute}"),
        )
    });
    let signed_function_arn = if viewer_request::has_audience(ctx.spec, Audience::Signed) {
        inputs.need(
            ctx,
            this,
            "/spec/forProvider/orderedCacheBehavior/0/functionAssociation/0/functionArn",
            o.at_provider(SIGNED_VIEWER_FUNCTION, "arn"),
            "viewer-function-signed arn",
        )
    } else {
        Value::Null
    };
    let lambda_arn = inputs.need(
        ctx,
        this,
        "/spec/forProvider/defaultCacheBehavior/lambdaFunctionAssociation/0/lambdaArn",
        o.at_provider(EDGE_FUNCTION, "qualifiedArn"),
        "edge-function qualifiedArn (published version)",
    );
    let log_bucket = inputs.need(
        ctx,
        this,
        "/spec/forProvider/loggingConfig/bucket",
        o.at_provider(LOGS, "bucketDomainName"),
        "logs bucketDomainName",
    );

    // WAF's web ACL ARN (the field is named for the classic WAF ID).
    let web_acl_arn = if ctx.spec.waf.enabled {
        inputs.need(
            ctx,
            this,
            "/spec/forProvider/webAclId",
            o.at_provider(WEB_ACL, "arn"),
            "web-acl arn",
        )
    } else {
        Value::Null
    };
    let viewer_certificate = match &ctx.spec.custom_domain {
        None => json!({"cloudfrontDefaultCertificate": true}),
        Some(_) => json!({
            "acmCertificateArn": inputs.need(
                ctx,
                this,
                "/spec/forProvider/viewerCertificate/acmCertificateArn",
                dns::validated_certificate_arn(ctx),
                "certificate arn (validated)",
            ),
            "sslSupportMethod": "sni-only",
            "minimumProtocolVersion": "TLSv1.2_2021",
        }),
    };
    let behavior = json!({
        "targetOriginId": ORIGIN_GROUP_ID,
        "viewerProtocolPolicy": "redirect-to-https",
        // Origin groups fail over only for GET, HEAD and OPTIONS.
        "allowedMethods": ["GET", "HEAD", "OPTIONS"],
        "cachedMethods": ["GET", "HEAD"],
        "compress": false,
        "cachePolicyId": cache_policy_id,
        "responseHeadersPolicyId": response_headers_policy_id,
        "functionAssociation": [{"eventType": "viewer-request", "functionArn": function_arn}],
        "lambdaFunctionAssociation": [{
            "eventType": "origin-request",
            "lambdaArn": lambda_arn,
            "includeBody": false,
        }],
    });
    // A tenant that requires signed URLs gets its own behavior trusting only its own
    // key group, whose viewer function serves only signed prefixes; everyone else is
    // served by the default behavior, whose function refuses every signed prefix.
    let ordered: Vec<Value> = ctx
        .spec
        .tenants
        .iter()
        .filter(|t| t.require_signed_urls)
        .enumerate()
        .map(|(i, t)| {
            let key_group = inputs.need(
                ctx,
                this,
                &format!("/spec/forProvider/orderedCacheBehavior/{i}/trustedKeyGroups/0"),
                security::key_group_id(ctx, t),
                &format!("{} id", security::key_group_component(t)),
            );
            let mut b = behavior.clone();
            b["pathPattern"] = json!(format!("/{}/*", t.effective_prefix()));
            b["trustedKeyGroups"] = json!([key_group]);
            b["functionAssociation"][0]["functionArn"] = signed_function_arn.clone();
            b
        })
        .collect();
    let ordered_is_empty = ordered.is_empty();

    inputs.build(|| {
        let errors: Vec<Value> = FAILOVER_STATUSES
            .iter()
            .map(|code| json!({"errorCode": code, "errorCachingMinTtl": 0}))
            .chain([json!({"errorCode": 404, "errorCachingMinTtl": 60})])
            .collect();
        let mut v = managed(
            ctx,
            DISTRIBUTION,
            &format!("{CLOUDFRONT}/v1beta2"),
            "Distribution",
            None,
            json!({
                "enabled": true,
                "comment": format!("ImageCDN {}", ctx.names.base()),
                "isIpv6Enabled": true,
                "httpVersion": "http2and3",
                "priceClass": ctx.spec.price_class.as_str(),
                "origin": origins,
                "originGroup": [{
                    "originId": ORIGIN_GROUP_ID,
                    "failoverCriteria": {"statusCodes": FAILOVER_STATUSES},
                    "member": [
                        {"originId": buckets[0].component},
                        {"originId": buckets[1].component},
                    ],
                }],
                "defaultCacheBehavior": behavior.clone(),
                "orderedCacheBehavior": ordered,
                // Errors from a failing origin must not stick in the cache.
                "customErrorResponse": errors,
                "restrictions": {"geoRestriction": {"restrictionType": "none"}},
                "viewerCertificate": viewer_certificate,
                "loggingConfig": {"bucket": log_bucket, "prefix": "cloudfront/", "includeCookies": false},
                "tags": tags(ctx, DISTRIBUTION),
            }),
        );
        let fp = &mut v["spec"]["forProvider"];
        fp["waitForDeployment"] = json!(false);
        if let Some(domain) = &ctx.spec.custom_domain {
            fp["aliases"] = json!([domain.name]);
        }
        if !web_acl_arn.is_null() {
            fp["webAclId"] = web_acl_arn;
        }
        if ordered_is_empty {
            fp.as_object_mut().map(|m| m.remove("orderedCacheBehavior"));
        }
        v
    })
}

/// Bucket policies: CloudFront (only this distribution) reads the origins it serves,
/// the edge role reads every originals bucket and writes variants, and all requests
/// must use TLS.
fn bucket_policies(ctx: &Ctx) -> Vec<(String, Build)> {
    let o = ctx.observed;
    let buckets = originals(ctx);
    let primary = ctx.spec.regions.primary.as_str();
    let variants = ctx.names.bucket("variants", primary);
    // (bucket component, bucket name, region, served by CloudFront, edge actions)
    let mut targets: Vec<(String, String, String, bool, &[&str])> = buckets
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let read: &[&str] = &["s3:GetObject"];
            (
                b.component.clone(),
                b.bucket.clone(),
                b.region.clone(),
                i < 2,
                read,
            )
        })
        .collect();
    let read_write: &[&str] = &["s3:GetObject", "s3:PutObject"];
    targets.push((VARIANTS.into(), variants, primary.into(), true, read_write));

    targets
        .into_iter()
        .map(|(component, bucket, region, served, edge_actions)| {
            let name = format!("{component}-policy");
            let mut inputs = Inputs::default();
            let distribution_arn = o.at_provider(DISTRIBUTION, "arn");
            let role_arn = o.at_provider(EDGE_ROLE, "arn");
            if served {
                inputs.require(distribution_arn.is_some(), "distribution arn");
            }
            inputs.require(role_arn.is_some(), "edge-role arn");
            let build = inputs.build(|| {
                let mut statements = Vec::new();
                if let Some(arn) = &distribution_arn
                    && served
                {
                    statements.push(iam::cloudfront_read(&bucket, arn));
                    statements.push(iam::cloudfront_list(&bucket, arn));
                }
                if let Some(arn) = &role_arn {
                    statements.push(iam::role_access(
                        "EdgeTransformAccess",
                        &bucket,
                        arn,
                        edge_actions,
                    ));
                }
                statements.push(iam::deny_insecure_transport(&bucket));
                managed(
                    ctx,
                    &name,
                    S3_V1BETA1,
                    "BucketPolicy",
                    None,
                    json!({
                        "region": region,
                        "bucketSelector": select(&component),
                        "policy": iam::document(statements),
                    }),
                )
            });
            (name, build)
        })
        .collect()
}
