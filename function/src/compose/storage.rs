//! Storage: originals in three regions with cross-region replication, the variants
//! bucket and the log bucket, each encrypted, private and owner-enforced.

use serde_json::{Value, json};

use super::{Build, Ctx, Inputs, managed, role_with_policy, select, tags};
use crate::iam;

pub const VARIANTS: &str = "variants";
pub const LOGS: &str = "logs";
pub const REPLICATION_ROLE: &str = "replication-role";

const S3: &str = "s3.aws.upbound.io/v1beta2";
const S3_V1BETA1: &str = "s3.aws.upbound.io/v1beta1";

/// One originals bucket: its composition name, region and bucket name.
pub struct OriginalsBucket {
    pub component: String,
    pub region: String,
    pub bucket: String,
}

/// The originals buckets, primary first. Components are named by role, not region,
/// because regions are immutable and wiring refers to "the primary".
pub fn originals(ctx: &Ctx) -> Vec<OriginalsBucket> {
    let regions = &ctx.spec.regions;
    std::iter::once(("originals-primary".to_string(), regions.primary.as_str()))
        .chain(
            regions
                .replicas
                .iter()
                .enumerate()
                .map(|(i, r)| (format!("originals-replica-{}", i + 1), r.as_str())),
        )
        .map(|(component, region)| OriginalsBucket {
            bucket: ctx.names.bucket("originals", region),
            component,
            region: region.to_string(),
        })
        .collect()
}

pub fn build(ctx: &Ctx) -> Vec<(String, Build)> {
    let keep = ctx.spec.originals.deletion_policy.as_str();
    let mut out = Vec::new();
    for b in originals(ctx) {
        out.extend(bucket_with_guards(
            ctx,
            &b.component,
            &b.region,
            &b.bucket,
            keep,
            false,
        ));
        out.push(versioning(ctx, &b.component, &b.region, keep));
        out.push(lifecycle(
            ctx,
            &b.component,
            &b.region,
            keep,
            vec![abort_multipart_rule(), noncurrent_versions_rule(ctx)],
        ));
    }
    out.extend(replication(ctx, keep));

    let primary = ctx.spec.regions.primary.as_str();
    let variants = ctx.names.bucket("variants", primary);
    // Variants are derived data: deleting the claim deletes them, even when not empty.
    out.extend(bucket_with_guards(
        ctx, VARIANTS, primary, &variants, "Delete", true,
    ));
    out.push(lifecycle(
        ctx,
        VARIANTS,
        primary,
        "Delete",
        vec![abort_multipart_rule()],
    ));

    let logs = ctx.names.bucket("logs", primary);
    // Logs are evidence: kept on deletion like originals are by default.
    out.extend(bucket_with_guards(
        ctx, LOGS, primary, &logs, "Orphan", false,
    ));
    let retention = ctx.spec.audit.retention_days;
    out.push(lifecycle(
        ctx,
        LOGS,
        primary,
        "Orphan",
        vec![
            abort_multipart_rule(),
            json!({
                "id": "expire-logs",
                "status": "Enabled",
                "filter": [{"prefix": ""}],
                "expiration": [{"days": retention}],
            }),
        ],
    ));
    out
}

/// A bucket plus the settings every bucket of ours has: default encryption, a public
/// access block and an ownership rule. `deletion` applies to all four, since deleting
/// a guard (say the public access block) of a kept bucket would weaken it.
fn bucket_with_guards(
    ctx: &Ctx,
    component: &str,
    region: &str,
    bucket: &str,
    deletion: &str,
    force_destroy: bool,
) -> Vec<(String, Build)> {
    let with_policy = |mut v: Value| {
        v["spec"]["deletionPolicy"] = json!(deletion);
        Build::Ready(v)
    };
    // CloudFront standard logging writes with ACLs, so only the log bucket keeps
    // ACL support (the bucket owner still owns every object).
    let ownership = if component == LOGS {
        "BucketOwnerPreferred"
    } else {
        "BucketOwnerEnforced"
    };
    vec![
        (
            component.to_string(),
            with_policy(managed(
                ctx,
                component,
                S3,
                "Bucket",
                Some(bucket),
                json!({"region": region, "forceDestroy": force_destroy, "tags": tags(ctx, component)}),
            )),
        ),
        (
            format!("{component}-encryption"),
            with_policy(managed(
                ctx,
                &format!("{component}-encryption"),
                S3,
                "BucketServerSideEncryptionConfiguration",
                None,
                json!({
                    "region": region,
                    "bucketSelector": select(component),
                    "rule": [{
                        "applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"},
                        "bucketKeyEnabled": true,
                    }],
                }),
            )),
        ),
        (
            format!("{component}-public-access-block"),
            with_policy(managed(
                ctx,
                &format!("{component}-public-access-block"),
                S3_V1BETA1,
                "BucketPublicAccessBlock",
                None,
                json!({
                    "region": region,
                    "bucketSelector": select(component),
                    "blockPublicAcls": true,
                    "blockPublicPolicy": true,
                    "ignorePublicAcls": true,
                    "restrictPublicBuckets": true,
                }),
            )),
        ),
        (
            format!("{component}-ownership"),
            with_policy(managed(
                ctx,
                &format!("{component}-ownership"),
                S3,
                "BucketOwnershipControls",
                None,
                json!({
                    "region": region,
                    "bucketSelector": select(component),
                    "rule": {"objectOwnership": ownership},
                }),
            )),
        ),
    ]
}

fn versioning(ctx: &Ctx, component: &str, region: &str, deletion: &str) -> (String, Build) {
    let name = format!("{component}-versioning");
    let mut v = managed(
        ctx,
        &name,
        S3,
        "BucketVersioning",
        None,
        json!({
            "region": region,
            "bucketSelector": select(component),
            "versioningConfiguration": {"status": "Enabled"},
        }),
    );
    v["spec"]["deletionPolicy"] = json!(deletion);
    (name, Build::Ready(v))
}

fn abort_multipart_rule() -> Value {
    json!({
        "id": "abort-incomplete-multipart-uploads",
        "status": "Enabled",
        "filter": [{"prefix": ""}],
        "abortIncompleteMultipartUpload": [{"daysAfterInitiation": 1}],
    })
}

/// Old versions of originals (deleted or overwritten ones) expire after the claim's
/// recovery window; the delete markers left with no version behind them go too. Each
/// bucket has its own rule: lifecycle configurations do not replicate.
fn noncurrent_versions_rule(ctx: &Ctx) -> Value {
    json!({
        "id": "expire-old-versions",
        "status": "Enabled",
        "filter": [{"prefix": ""}],
        "noncurrentVersionExpiration": [{"noncurrentDays": ctx.spec.originals.noncurrent_version_days}],
        "expiration": [{"expiredObjectDeleteMarker": true}],
    })
}

fn lifecycle(
    ctx: &Ctx,
    component: &str,
    region: &str,
    deletion: &str,
    rules: Vec<Value>,
) -> (String, Build) {
    let name = format!("{component}-lifecycle");
    let mut v = managed(
        ctx,
        &name,
        S3_V1BETA1,
        "BucketLifecycleConfiguration",
        None,
        json!({"region": region, "bucketSelector": select(component), "rule": rules}),
    );
    v["spec"]["deletionPolicy"] = json!(deletion);
    (name, Build::Ready(v))
}

/// Cross-region replication from the primary to both replicas: a role S3 assumes, its
/// policy, and the replication configuration. Delete markers replicate so a takedown
/// hides the original everywhere, while every version stays recoverable.
fn replication(ctx: &Ctx, deletion: &str) -> Vec<(String, Build)> {
    let buckets = originals(ctx);
    let Some((source, replicas)) = buckets.split_first() else {
        return Vec::new();
    };
    let role_name = ctx.names.iam("replication");

    let mut statements = vec![
        iam::allow(
            "ReadReplicationConfiguration",
            &["s3:GetReplicationConfiguration", "s3:ListBucket"],
            vec![iam::bucket_arn(&source.bucket)],
        ),
        iam::allow(
            "ReadSourceVersions",
            &[
                "s3:GetObjectVersionForReplication",
                "s3:GetObjectVersionAcl",
                "s3:GetObjectVersionTagging",
            ],
            vec![iam::objects_arn(&source.bucket, None)],
        ),
    ];
    statements.push(iam::allow(
        "WriteReplicas",
        &[
            "s3:ReplicateObject",
            "s3:ReplicateDelete",
            "s3:ReplicateTags",
        ],
        replicas
            .iter()
            .map(|r| iam::objects_arn(&r.bucket, None))
            .collect(),
    ));
    let mut out = role_with_policy(
        ctx,
        REPLICATION_ROLE,
        &role_name,
        &["s3.amazonaws.com"],
        "S3 cross-region replication of ImageCDN originals",
        statements,
    );

    // S3 refuses a replication configuration until versioning is on at both ends.
    let mut inputs = Inputs::default();
    for b in &buckets {
        let versioning = format!("{}-versioning", b.component);
        inputs.require(
            ctx.observed.is_ready(&versioning) || ctx.observed.get("replication").is_some(),
            &format!("{versioning} ready"),
        );
    }
    let config = inputs.build(|| {
        let rules: Vec<Value> = replicas
            .iter()
            .enumerate()
            .map(|(i, r)| {
                json!({
                    "id": format!("to-{}", r.region),
                    "priority": i + 1,
                    "status": "Enabled",
                    "filter": {"prefix": ""},
                    "deleteMarkerReplication": {"status": "Enabled"},
                    "destination": {
                        "bucketSelector": select(&r.component),
                        "storageClass": "STANDARD",
                    },
                })
            })
            .collect();
        let mut v = managed(
            ctx,
            "replication",
            S3,
            "BucketReplicationConfiguration",
            None,
            json!({
                "region": source.region,
                "bucketSelector": select(&source.component),
                "roleSelector": select(REPLICATION_ROLE),
                "rule": rules,
            }),
        );
        v["spec"]["deletionPolicy"] = json!(deletion);
        v
    });

    out.push(("replication".into(), config));
    out
}
