//! Audit: a multi-region CloudTrail trail recording every write to the originals (S3
//! data events only, selected by advanced event selectors: no management events, so no
//! paid copy of them) with log file validation, delivered to the log bucket, whose
//! policy lets only this trail (and CloudFront's standard logging) write there. A claim
//! may point at an existing trail or event data store instead (accounts have at most 5
//! trails per region).

use serde_json::{Value, json};

use super::compute::EDGE_ROLE;
use super::storage::{LOGS, originals};
use super::{Build, Ctx, Inputs, managed, select, tags};
use crate::iam;

pub const TRAIL: &str = "audit-trail";
pub const LOGS_POLICY: &str = "logs-policy";
const CLOUDTRAIL: &str = "cloudtrail.aws.upbound.io/v1beta1";
const S3_V1BETA1: &str = "s3.aws.upbound.io/v1beta1";
/// Where CloudTrail writes in the log bucket.
const TRAIL_PREFIX: &str = "cloudtrail";

pub fn build(ctx: &Ctx) -> Vec<(String, Build)> {
    let mut out = vec![(LOGS_POLICY.to_string(), logs_bucket_policy(ctx))];
    if own_trail(ctx) {
        out.push((TRAIL.to_string(), trail(ctx)));
    }
    out
}

/// Whether this claim creates its own trail.
fn own_trail(ctx: &Ctx) -> bool {
    ctx.spec.audit.enabled && ctx.spec.audit.existing_trail.is_none()
}

/// The AWS account, read from an observed ARN (an IAM role's: `arn:aws:iam::<id>:role/..`).
pub fn account_id(ctx: &Ctx) -> Option<String> {
    let arn = ctx.observed.at_provider(EDGE_ROLE, "arn")?;
    let id = arn.split(':').nth(4)?;
    (id.len() == 12 && id.bytes().all(|b| b.is_ascii_digit())).then(|| id.to_string())
}

fn trail_name(ctx: &Ctx) -> String {
    ctx.names.iam("audit")
}

/// CloudTrail checks the bucket policy when the trail is created, so the policy names
/// the trail's ARN, built from the account ID once any ARN of ours is observed.
fn logs_bucket_policy(ctx: &Ctx) -> Build {
    let primary = ctx.spec.regions.primary.as_str();
    let bucket = ctx.names.bucket("logs", primary);
    let mut inputs = Inputs::default();
    let account = account_id(ctx);
    inputs.require(account.is_some(), "account ID (edge-role arn)");
    inputs.build(|| {
        let account = account.unwrap_or_default();
        let trail_arn = format!(
            "arn:aws:cloudtrail:{primary}:{account}:trail/{}",
            trail_name(ctx)
        );
        let mut statements = Vec::new();
        if own_trail(ctx) {
            let condition = json!({"StringEquals": {"AWS:SourceArn": trail_arn}});
            statements.push(json!({
                "Sid": "CloudTrailAclCheck",
                "Effect": "Allow",
                "Principal": {"Service": "cloudtrail.amazonaws.com"},
                "Action": "s3:GetBucketAcl",
                "Resource": iam::bucket_arn(&bucket),
                "Condition": condition,
            }));
            statements.push(json!({
                "Sid": "CloudTrailWrite",
                "Effect": "Allow",
                "Principal": {"Service": "cloudtrail.amazonaws.com"},
                "Action": "s3:PutObject",
                "Resource": format!("arn:aws:s3:::{bucket}/{TRAIL_PREFIX}/AWSLogs/{account}/*"),
                "Condition": {"StringEquals": {
                    "AWS:SourceArn": trail_arn,
                    "s3:x-amz-acl": "bucket-owner-full-control",
                }},
            }));
        }
        statements.push(iam::deny_insecure_transport(&bucket));
        managed(
            ctx,
            LOGS_POLICY,
            S3_V1BETA1,
            "BucketPolicy",
            None,
            json!({
                "region": primary,
                "bucketSelector": select(LOGS),
                "policy": iam::document(statements),
            }),
        )
    })
}

fn trail(ctx: &Ctx) -> Build {
    let mut inputs = Inputs::default();
    inputs.require(
        ctx.observed.is_ready(LOGS_POLICY) || ctx.observed.get(TRAIL).is_some(),
        "logs-policy ready (CloudTrail checks it on create)",
    );
    inputs.build(|| {
        // Writes to objects of our three originals buckets, nothing else.
        let objects: Vec<Value> = originals(ctx)
            .iter()
            .map(|b| json!(format!("{}/", iam::bucket_arn(&b.bucket))))
            .collect();
        let mut v = managed(
            ctx,
            TRAIL,
            CLOUDTRAIL,
            "Trail",
            Some(&trail_name(ctx)),
            json!({
                "region": ctx.spec.regions.primary.as_str(),
                "s3BucketNameSelector": select(LOGS),
                "s3KeyPrefix": TRAIL_PREFIX,
                // The buckets are in three regions.
                "isMultiRegionTrail": true,
                "includeGlobalServiceEvents": false,
                "enableLogFileValidation": true,
                "enableLogging": true,
                "advancedEventSelector": [{
                    "name": "Writes to ImageCDN originals",
                    "fieldSelector": [
                        {"field": "eventCategory", "equals": ["Data"]},
                        {"field": "resources.type", "equals": ["AWS::S3::Object"]},
                        {"field": "readOnly", "equals": ["false"]},
                        {"field": "resources.ARN", "startsWith": objects},
                    ],
                }],
                "tags": tags(ctx, TRAIL),
            }),
        );
        // The audit trail outlives the claim, like the logs it writes.
        v["spec"]["deletionPolicy"] = json!("Orphan");
        v
    })
}
