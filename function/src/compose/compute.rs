//! Compute: the Lambda@Edge origin-request transform (us-east-1, Node.js running
//! the WebAssembly core) and the regional renderer (`provided.al2023`) that
//! pre-computes presets, each with a least-privilege role.

use serde_json::json;

use super::storage::originals;
use super::{Build, Ctx, managed, role_with_policy, select, tags};
use crate::iam;

pub const EDGE_ROLE: &str = "edge-role";
pub const EDGE_FUNCTION: &str = "edge-function";
pub const RENDERER_ROLE: &str = "renderer-role";
pub const RENDERER_FUNCTION: &str = "renderer-function";

const LAMBDA: &str = "lambda.aws.upbound.io/v1beta2";
/// Lambda@Edge functions must live in us-east-1.
pub const EDGE_REGION: &str = "us-east-1";
/// The newest Node.js runtime Lambda@Edge supports.
const EDGE_RUNTIME: &str = "nodejs22.x";

pub fn build(ctx: &Ctx) -> Vec<(String, Build)> {
    let primary = ctx.spec.regions.primary.as_str();
    let variants = ctx.names.bucket("variants", primary);
    let all_originals = originals(ctx);
    let primary_originals = &all_originals[0].bucket;

    let edge_name = ctx.names.iam("edge-transform");
    // The edge reads originals from whichever region CloudFront or its own failover
    // picks, and reads and writes variants.
    let mut edge_statements = vec![
        iam::allow(
            "ReadOriginals",
            &["s3:GetObject"],
            all_originals
                .iter()
                .map(|b| iam::objects_arn(&b.bucket, None))
                .collect(),
        ),
        // Without ListBucket S3 answers 403 for a missing key; with it, a clean 404.
        iam::allow(
            "ListOriginals",
            &["s3:ListBucket"],
            all_originals
                .iter()
                .map(|b| iam::bucket_arn(&b.bucket))
                .collect(),
        ),
        iam::allow(
            "ReadWriteVariants",
            &["s3:GetObject", "s3:PutObject"],
            vec![iam::objects_arn(&variants, None)],
        ),
        iam::allow(
            "ListVariants",
            &["s3:ListBucket"],
            vec![iam::bucket_arn(&variants)],
        ),
    ];
    edge_statements.push(iam::lambda_logs(&format!(
        "/aws/lambda/{EDGE_REGION}.{edge_name}"
    )));

    let renderer_name = ctx.names.iam("renderer");
    let mut renderer_statements = vec![
        iam::allow(
            "ReadPrimaryOriginals",
            &["s3:GetObject"],
            vec![iam::objects_arn(primary_originals, None)],
        ),
        iam::allow(
            "ListPrimaryOriginals",
            &["s3:ListBucket"],
            vec![
                iam::bucket_arn(primary_originals),
                iam::bucket_arn(&variants),
            ],
        ),
        // Whether an upload replaced an earlier version (to invalidate the old one).
        iam::allow(
            "ListPrimaryOriginalVersions",
            &["s3:ListBucketVersions"],
            vec![iam::bucket_arn(primary_originals)],
        ),
        // Delete: purging a taken-down original's variants and the takedown queue.
        iam::allow(
            "ReadWriteVariants",
            &["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
            vec![iam::objects_arn(&variants, None)],
        ),
        iam::lambda_logs(&format!("/aws/lambda/{renderer_name}")),
    ];
    // Counting our invalidations still in progress needs the distribution, which is
    // created later; the statement appears once its ARN is known.
    let distribution = ctx
        .observed
        .at_provider(super::delivery::DISTRIBUTION, "arn")
        .or_else(|| observed_invalidation_resource(ctx));
    let distribution_id = ctx
        .observed
        .at_provider(super::delivery::DISTRIBUTION, "id");
    if let Some(arn) = &distribution {
        renderer_statements.push(iam::allow(
            "ReadOwnInvalidations",
            &["cloudfront:GetInvalidation"],
            vec![arn.clone()],
        ));
    }

    let mut out = role_with_policy(
        ctx,
        EDGE_ROLE,
        &edge_name,
        &["lambda.amazonaws.com", "edgelambda.amazonaws.com"],
        "ImageCDN Lambda@Edge transform",
        edge_statements,
    );
    let edge = &ctx.spec.artifacts.edge;
    out.push((
        EDGE_FUNCTION.into(),
        Build::Ready(managed(
            ctx,
            EDGE_FUNCTION,
            LAMBDA,
            "Function",
            Some(&edge_name),
            json!({
                "region": EDGE_REGION,
                "description": "ImageCDN origin-request transform (Lambda@Edge)",
                "runtime": EDGE_RUNTIME,
                "handler": "index.handler",
                // Lambda@Edge runs x86_64 functions only.
                "architectures": ["x86_64"],
                "s3Bucket": edge.bucket,
                "s3Key": edge.key,
                // CloudFront associates a numbered version, never $LATEST.
                "publish": true,
                // AWS refuses to delete a replicated function until CloudFront has
                // removed its replicas, hours after the distribution is gone: deleting
                // the claim forgets the function instead of waiting on it (README:
                // deletion).
                "skipDestroy": true,
                "memorySize": 2048,
                "timeout": 30,
                "roleSelector": select(EDGE_ROLE),
                "tags": tags(ctx, EDGE_FUNCTION),
            }),
        )),
    ));

    out.extend(role_with_policy(
        ctx,
        RENDERER_ROLE,
        &renderer_name,
        &["lambda.amazonaws.com"],
        "ImageCDN pre-compute renderer",
        renderer_statements,
    ));
    let renderer = &ctx.spec.artifacts.renderer;
    let t = &ctx.spec.transform;
    let mut renderer_function = managed(
        ctx,
        RENDERER_FUNCTION,
        LAMBDA,
        "Function",
        Some(&renderer_name),
        json!({
            "region": primary,
            "description": "ImageCDN regional renderer: pre-computes presets into the variants bucket",
            "runtime": "provided.al2023",
            "handler": "bootstrap",
            "architectures": [renderer.architecture.as_str()],
            "s3Bucket": renderer.bucket,
            "s3Key": renderer.key,
            "memorySize": 3008,
            "timeout": 300,
            "roleSelector": select(RENDERER_ROLE),
            "environment": {"variables": {
                "IMAGECDN_ORIGINALS_BUCKET": primary_originals,
                "IMAGECDN_VARIANTS_BUCKET": variants,
                "IMAGECDN_MAX_SOURCE_MEGAPIXELS": t.max_source_megapixels.to_string(),
                "IMAGECDN_MAX_SOURCE_MEGABYTES": t.max_source_megabytes.to_string(),
                "IMAGECDN_MAX_WIDTH": t.max_width.to_string(),
                "IMAGECDN_MAX_HEIGHT": t.max_height.to_string(),
                "IMAGECDN_DEFAULT_QUALITY": t.default_quality.to_string(),
                "IMAGECDN_TENANT_PREFIXES": super::viewer_request::url_settings(ctx.spec).prefixes.join(","),
            }},
            "tags": tags(ctx, RENDERER_FUNCTION),
        }),
    );
    // The distribution ID (for counting in-flight invalidations) is known only once the
    // distribution exists; once set it is kept.
    let id_pointer = "/spec/forProvider/environment/variables/IMAGECDN_DISTRIBUTION_ID";
    if let Some(id) = super::wired(ctx, RENDERER_FUNCTION, id_pointer, distribution_id) {
        renderer_function["spec"]["forProvider"]["environment"]["variables"]["IMAGECDN_DISTRIBUTION_ID"] =
            id;
    }
    out.push((RENDERER_FUNCTION.into(), Build::Ready(renderer_function)));

    // The log groups Lambda would otherwise create without a retention: the renderer's,
    // and the edge function's in each Origin Shield region, where CloudFront runs
    // origin-request functions when Origin Shield is on (their group is named after the
    // function's home region, us-east-1): the primary's shield and the failover origin's.
    let primary_shield = ctx.spec.regions.effective_origin_shield().to_string();
    let failover_shield =
        crate::spec::recommended_origin_shield(all_originals[1].region.as_str()).to_string();
    let mut groups = vec![
        (
            RENDERER_LOG_GROUP.to_string(),
            primary.to_string(),
            format!("/aws/lambda/{renderer_name}"),
        ),
        (
            EDGE_LOG_GROUP.to_string(),
            primary_shield.clone(),
            format!("/aws/lambda/{EDGE_REGION}.{edge_name}"),
        ),
    ];
    if failover_shield != primary_shield {
        groups.push((
            format!("{EDGE_LOG_GROUP}-failover"),
            failover_shield,
            format!("/aws/lambda/{EDGE_REGION}.{edge_name}"),
        ));
    }
    for (component, region, name) in groups {
        out.push((
            component.clone(),
            Build::Ready(managed(
                ctx,
                &component,
                "cloudwatchlogs.aws.upbound.io/v1beta1",
                "Group",
                Some(&name),
                json!({
                    "region": region,
                    "retentionInDays": super::security::retention_days(ctx.spec.audit.retention_days),
                    "tags": tags(ctx, &component),
                }),
            )),
        ));
    }
    out
}

pub const RENDERER_LOG_GROUP: &str = "renderer-log-group";
pub const EDGE_LOG_GROUP: &str = "edge-log-group";

/// The distribution ARN the renderer policy was last applied with, so the policy keeps
/// its statement while the distribution's status is momentarily unknown.
fn observed_invalidation_resource(ctx: &Ctx) -> Option<String> {
    let policy = ctx
        .observed
        .own("renderer-policy", "/spec/forProvider/policy")?
        .as_str()?;
    let doc: serde_json::Value = serde_json::from_str(policy).ok()?;
    doc["Statement"]
        .as_array()?
        .iter()
        .find(|st| st["Sid"] == "ReadOwnInvalidations")?["Resource"][0]
        .as_str()
        .map(str::to_string)
}
