//! Pre-compute and takedowns: S3 events from the primary originals bucket reach
//! EventBridge; rules start one Step Functions state machine that, on upload, renders
//! the claim's presets through the regional renderer and drops every variant of an
//! earlier version of the original; purges every variant of an original on deletion;
//! and (on a schedule) flushes pending takedowns to the edge as one CloudFront
//! invalidation per window within the in-progress quotas.
//!
//! The pipeline exists whether or not presets are pre-computed
//! (`spec.precompute.enabled` only decides that): takedowns and overwrites must reach
//! the edge either way.
//!
//! The renderer Lambda takes `{"action": ...}` events: `render` (`bucket`, `key`,
//! `presets`: `[{name, query}]`), `purge` (`key`: delete its variants, queue its
//! invalidation), `flush` (plan one invalidation batch from the queue), `ack`
//! (`markers`, `invalidationId`: record the batch as in flight) and `renders` (the
//! variants the edge asked for when it answered with a stand-in).

use imagecdn_urlapi::normalize::preset_canonical;
use serde_json::{Value, json};

use super::compute::RENDERER_FUNCTION;
use super::delivery::DISTRIBUTION;
use super::security::retention_days;
use super::storage::originals;
use super::viewer_request::url_settings;
use super::workflow::{self, Delivery, Machine, SFN};
use super::{Build, Ctx, Inputs, managed, role_with_policy, select, tags, waiting_unless};
use crate::iam;

pub const NOTIFICATION: &str = "originals-events";
pub const STATE_MACHINE: &str = "pipeline";
pub const STATE_MACHINE_ROLE: &str = "pipeline-role";
pub const EVENTS_ROLE: &str = "events-role";
const LOG_GROUP: &str = "pipeline-log-group";
const ALARM: &str = "pipeline-failures";

const LOGS: &str = "cloudwatchlogs.aws.upbound.io/v1beta1";
const S3_V1BETA1: &str = "s3.aws.upbound.io/v1beta1";

/// The rules that start the state machine: (component, description, pattern or schedule).
fn rules(ctx: &Ctx, bucket: &str) -> Vec<(&'static str, &'static str, Value)> {
    let s3_event = |detail_type: &str| {
        json!({"eventPattern": json!({
            "source": ["aws.s3"],
            "detail-type": [detail_type],
            "detail": {"bucket": {"name": [bucket]}},
        }).to_string()})
    };
    let minutes = ctx.spec.precompute.invalidation_window_minutes;
    let every = if minutes == 1 {
        "rate(1 minute)".to_string()
    } else {
        format!("rate({minutes} minutes)")
    };
    vec![
        (
            "upload-rule",
            "ImageCDN: render presets of new originals, drop variants of replaced ones",
            s3_event("Object Created"),
        ),
        (
            "takedown-rule",
            "ImageCDN: purge variants of deleted originals",
            s3_event("Object Deleted"),
        ),
        (
            "flush-rule",
            "ImageCDN: flush pending takedowns to the edge",
            json!({"scheduleExpression": every}),
        ),
    ]
}

pub fn build(ctx: &Ctx) -> Vec<(String, Build)> {
    let region = ctx.spec.regions.primary.as_str();
    let buckets = originals(ctx);
    let primary = &buckets[0];
    let o = ctx.observed;
    let machine_name = ctx.names.iam("pipeline");
    let log_group_name = format!("/aws/vendedlogs/states/{machine_name}");

    let mut out = vec![
        (
            NOTIFICATION.to_string(),
            Build::Ready(managed(
                ctx,
                NOTIFICATION,
                S3_V1BETA1,
                "BucketNotification",
                None,
                json!({"region": region, "bucketSelector": select(&primary.component), "eventbridge": true}),
            )),
        ),
        (
            LOG_GROUP.to_string(),
            Build::Ready(managed(
                ctx,
                LOG_GROUP,
                LOGS,
                "Group",
                Some(&log_group_name),
                json!({
                    "region": region,
                    "retentionInDays": retention_days(ctx.spec.audit.retention_days),
                    "tags": tags(ctx, LOG_GROUP),
                }),
            )),
        ),
    ];

    // The state machine's role: invoke the renderer, invalidate this distribution, log.
    let renderer = o.at_provider(RENDERER_FUNCTION, "arn");
    let distribution_arn = o.at_provider(DISTRIBUTION, "arn");
    let statements = vec![
        iam::allow(
            "InvokeRenderer",
            &["lambda:InvokeFunction"],
            vec![
                renderer.clone().unwrap_or_default(),
                format!("{}:*", renderer.clone().unwrap_or_default()),
            ],
        ),
        iam::allow(
            "InvalidateThisDistribution",
            &[
                "cloudfront:CreateInvalidation",
                "cloudfront:GetInvalidation",
            ],
            vec![distribution_arn.clone().unwrap_or_default()],
        ),
        // Step Functions' log delivery APIs take no resource ARNs: AWS documents `*`
        // as the only resource for them.
        json!({
            "Sid": "DeliverExecutionLogs",
            "Effect": "Allow",
            "Action": [
                "logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery",
                "logs:DeleteLogDelivery", "logs:ListLogDeliveries", "logs:PutResourcePolicy",
                "logs:DescribeResourcePolicies", "logs:DescribeLogGroups",
            ],
            "Resource": "*",
        }),
    ];
    out.extend(waiting_unless(
        renderer.is_some() && distribution_arn.is_some(),
        "renderer-function arn, distribution arn",
        role_with_policy(
            ctx,
            STATE_MACHINE_ROLE,
            &machine_name,
            &["states.amazonaws.com"],
            "ImageCDN pre-compute and takedown state machine",
            statements,
        ),
    ));

    out.push((STATE_MACHINE.to_string(), state_machine(ctx, &machine_name)));

    // EventBridge: the role that starts executions, the rules and their targets.
    let machine = Machine {
        region,
        arn: o.at_provider(STATE_MACHINE, "arn"),
        waits_for: "pipeline arn",
    };
    out.extend(workflow::events_role(
        ctx,
        &machine,
        EVENTS_ROLE,
        &ctx.names.iam("pipeline-events"),
        "ImageCDN EventBridge rules starting the pipeline",
    ));
    for (component, description, trigger) in rules(ctx, &primary.bucket) {
        out.push((
            component.to_string(),
            workflow::rule(ctx, component, region, description, trigger),
        ));
        let input = (component == "flush-rule").then(|| json!({"source": "imagecdn.flush"}));
        // An upload must not lose its renders to a brief outage: retry for an hour.
        let delivery = Delivery {
            max_event_age_seconds: 3600,
            max_attempts: 24,
        };
        out.push(workflow::target(
            ctx,
            &machine,
            component,
            EVENTS_ROLE,
            input,
            delivery,
        ));
    }

    out.push((
        ALARM.to_string(),
        workflow::failures_alarm(
            ctx,
            &machine,
            ALARM,
            "ImageCDN pipeline executions failed (render, purge or invalidation gave up after retries)",
            300,
        ),
    ));
    out
}

fn state_machine(ctx: &Ctx, name: &str) -> Build {
    let o = ctx.observed;
    let mut inputs = Inputs::default();
    let renderer = o.at_provider(RENDERER_FUNCTION, "arn");
    let distribution = o.at_provider(DISTRIBUTION, "id");
    let log_group = o.at_provider(LOG_GROUP, "arn");
    inputs.require(renderer.is_some(), "renderer-function arn");
    inputs.require(distribution.is_some(), "distribution id");
    inputs.require(log_group.is_some(), "pipeline-log-group arn");
    inputs.require(
        o.is_ready("pipeline-policy-attachment") || o.get(STATE_MACHINE).is_some(),
        "pipeline role ready",
    );
    inputs.build(|| {
        let definition = definition(ctx, &renderer.unwrap_or_default(), &distribution.unwrap_or_default());
        managed(
            ctx,
            STATE_MACHINE,
            SFN,
            "StateMachine",
            Some(name),
            json!({
                "region": ctx.spec.regions.primary.as_str(),
                "type": "STANDARD",
                "definition": definition.to_string(),
                "roleArnSelector": select(STATE_MACHINE_ROLE),
                "loggingConfiguration": {
                    "level": "ERROR",
                    "includeExecutionData": false,
                    "logDestination": format!("{}:*", log_group.unwrap_or_default().trim_end_matches(":*")),
                },
                "tracingConfiguration": {"enabled": false},
                "tags": tags(ctx, STATE_MACHINE),
            }),
        )
    })
}

/// Retries for Lambda's transient failures (throttling included) and the renderer's own
/// (S3 or CloudFront timeouts, throttling, 5xx: its error type `ImageCDN.Transient`),
/// with exponential backoff and jitter. Everything the renderer does is idempotent.
fn lambda_retry() -> Value {
    json!([{
        "ErrorEquals": [
            "Lambda.TooManyRequestsException", "Lambda.ServiceException",
            "Lambda.AWSLambdaException", "Lambda.SdkClientException",
            "Lambda.ClientExecutionTimeoutException", TRANSIENT_ERROR,
        ],
        "IntervalSeconds": 2,
        "MaxAttempts": 6,
        "BackoffRate": 2.0,
        "JitterStrategy": "FULL",
    }])
}

/// The renderer's error name for failures worth retrying (`imagecdn_renderer`'s
/// `TRANSIENT_ERROR`; a test keeps the two equal).
pub const TRANSIENT_ERROR: &str = "ImageCDN.Transient";

fn invoke(renderer: &str, payload: Value, result: Value, next: &str, on_error: &str) -> Value {
    json!({
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": renderer, "Payload": payload},
        "ResultSelector": result,
        "TimeoutSeconds": 330,
        "Retry": lambda_retry(),
        "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": on_error}],
        "Next": next,
    })
}

/// The state machine's Amazon States Language definition, generated from the claim.
pub fn definition(ctx: &Ctx, renderer: &str, distribution_id: &str) -> Value {
    let settings = url_settings(ctx.spec);
    let wanted = &ctx.spec.precompute.presets;
    let enabled = ctx.spec.precompute.enabled;
    let presets: Vec<Value> = ctx
        .spec
        .transform
        .presets
        .iter()
        .filter(|_| enabled)
        .filter(|p| wanted.is_empty() || wanted.contains(&p.name))
        .filter_map(|p| {
            let canonical = preset_canonical(&settings, &p.name)?;
            Some(json!({"name": p.name, "query": canonical.to_string()}))
        })
        .collect();
    let fail = |error: &str, cause: &str| json!({"Type": "Fail", "Error": error, "Cause": cause});
    let mut states = json!({
        "Route": {
            "Type": "Choice",
            "Choices": [
                {"Variable": "$.detail-type", "IsPresent": true, "Next": "RouteObjectEvent"},
                {"Variable": "$.source", "StringEquals": "imagecdn.flush", "Next": "PlanInvalidation"},
            ],
            "Default": "Ignored",
        },
        "RouteObjectEvent": {
            "Type": "Choice",
            "Choices": [
                {"Variable": "$.detail-type", "StringEquals": "Object Created", "Next": "RenderPresets"},
                {"Variable": "$.detail-type", "StringEquals": "Object Deleted", "Next": "PurgeVariants"},
            ],
            "Default": "Ignored",
        },
        "PurgeVariants": invoke(
            renderer,
            json!({"action": "purge", "key.$": "$.detail.object.key"}),
            json!({"deleted.$": "$.Payload.deleted"}),
            "Done",
            "PurgeFailed",
        ),
        "PlanInvalidation": invoke(
            renderer,
            json!({"action": "flush"}),
            json!({"empty.$": "$.Payload.empty", "batch.$": "$.Payload.batch", "markers.$": "$.Payload.markers"}),
            "AnythingToInvalidate",
            "InvalidationFailed",
        ),
        "AnythingToInvalidate": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.empty", "BooleanEquals": true, "Next": "RenderRequested"}],
            "Default": "CreateInvalidation",
        },
        "CreateInvalidation": {
            "Type": "Task",
            "Resource": "arn:aws:states:::aws-sdk:cloudfront:createInvalidation",
            "Parameters": {"DistributionId": distribution_id, "InvalidationBatch.$": "$.batch"},
            "ResultSelector": {"id.$": "$.Invalidation.Id"},
            "ResultPath": "$.invalidation",
            // Someone else's invalidations may fill the quota: back off and retry.
            "Retry": [
                {"ErrorEquals": ["CloudFront.TooManyInvalidationsInProgressException"], "IntervalSeconds": 30, "MaxAttempts": 8, "BackoffRate": 2.0, "JitterStrategy": "FULL"},
                {"ErrorEquals": ["CloudFront.ThrottlingException", "CloudFront.ServiceUnavailableException"], "IntervalSeconds": 2, "MaxAttempts": 6, "BackoffRate": 2.0},
            ],
            "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "InvalidationFailed"}],
            "Next": "AcknowledgeInvalidation",
        },
        "AcknowledgeInvalidation": invoke(
            renderer,
            json!({"action": "ack", "markers.$": "$.markers", "invalidationId.$": "$.invalidation.id"}),
            json!({"acknowledged.$": "$.Payload.acknowledged"}),
            "RenderRequested",
            "InvalidationFailed",
        ),
        // After the takedowns (which must not wait): variants the edge answered with a
        // stand-in because they were too costly for it, rendered natively.
        "RenderRequested": invoke(
            renderer,
            json!({"action": "renders"}),
            json!({"rendered.$": "$.Payload.rendered", "failed.$": "$.Payload.failed", "left.$": "$.Payload.left"}),
            "Done",
            "RenderRequestsFailed",
        ),
        "Ignored": {"Type": "Succeed", "Comment": "Not an event of ours"},
        "Done": {"Type": "Succeed"},
        "PurgeFailed": fail("ImageCDN.PurgeFailed", "Variants could not be deleted; the takedown must be retried"),
        "InvalidationFailed": fail("ImageCDN.InvalidationFailed", "Pending takedowns stay queued and are retried in the next window"),
        "RenderRequestsFailed": fail("ImageCDN.RenderRequestsFailed", "Requested variants stay queued and are retried in the next window; the edge answers with stand-ins meanwhile"),
    });
    // Every upload: presets (possibly none) and the sweep of an earlier version's variants.
    states["RenderPresets"] = invoke(
        renderer,
        json!({"action": "render", "bucket.$": "$.detail.bucket.name", "key.$": "$.detail.object.key", "presets": presets}),
        json!({"rendered.$": "$.Payload.rendered", "failed.$": "$.Payload.failed", "staleDeleted.$": "$.Payload.staleDeleted"}),
        "CheckRendered",
        "RenderFailed",
    );
    states["CheckRendered"] = json!({
        "Type": "Choice",
        "Choices": [{"Variable": "$.failed", "NumericGreaterThan": 0, "Next": "RenderFailed"}],
        "Default": "Done",
    });
    states["RenderFailed"] = fail(
        "ImageCDN.RenderFailed",
        "A preset could not be rendered, or variants of an earlier version could not be dropped; the original is served and rendered on demand at the edge",
    );
    json!({
        "Comment": "ImageCDN: render presets on upload, purge variants on takedown, flush invalidations in batches",
        "StartAt": "Route",
        "TimeoutSeconds": 3600,
        "States": states,
    })
}
