//! Step Functions plumbing shared by the state machines a claim composes (the
//! pre-compute pipeline, the WAF logging reconciler): the EventBridge rules, role and
//! targets that start one, and the alarm that makes its failed executions visible.

use serde_json::{Value, json};

use super::{Build, Ctx, Inputs, managed, role_with_policy, select, tags, waiting_unless};
use crate::iam;

pub const SFN: &str = "sfn.aws.upbound.io/v1beta2";
const EVENTS: &str = "cloudwatchevents.aws.upbound.io";
const CLOUDWATCH: &str = "cloudwatch.aws.upbound.io/v1beta2";

/// A composed state machine as its starters and alarm see it.
pub struct Machine<'a> {
    pub region: &'a str,
    /// Its ARN once observed.
    pub arn: Option<String>,
    /// How a waiting resource names that missing ARN (e.g. "pipeline arn").
    pub waits_for: &'a str,
}

/// The role EventBridge assumes to start executions of `machine`, and nothing else.
pub fn events_role(
    ctx: &Ctx,
    machine: &Machine,
    component: &str,
    name: &str,
    purpose: &str,
) -> Vec<(String, Build)> {
    waiting_unless(
        machine.arn.is_some(),
        machine.waits_for,
        role_with_policy(
            ctx,
            component,
            name,
            &["events.amazonaws.com"],
            purpose,
            vec![iam::allow(
                "StartExecution",
                &["states:StartExecution"],
                vec![machine.arn.clone().unwrap_or_default()],
            )],
        ),
    )
}

/// An EventBridge rule; `trigger` holds its `eventPattern` or `scheduleExpression`.
pub fn rule(ctx: &Ctx, component: &str, region: &str, description: &str, trigger: Value) -> Build {
    let mut for_provider =
        json!({"region": region, "description": description, "tags": tags(ctx, component)});
    for (k, v) in trigger.as_object().into_iter().flatten() {
        for_provider[k] = v.clone();
    }
    Build::Ready(managed(
        ctx,
        component,
        &format!("{EVENTS}/v1beta1"),
        "Rule",
        Some(&ctx.names.iam(component)),
        for_provider,
    ))
}

/// How long EventBridge keeps retrying to start an execution.
pub struct Delivery {
    pub max_event_age_seconds: u32,
    pub max_attempts: u32,
}

/// The target `{rule}-target` starting `machine` (with `input` in place of the event
/// when given) as `events_role`.
pub fn target(
    ctx: &Ctx,
    machine: &Machine,
    rule: &str,
    events_role: &str,
    input: Option<Value>,
    delivery: Delivery,
) -> (String, Build) {
    let component = format!("{rule}-target");
    let mut inputs = Inputs::default();
    let arn = inputs.need(
        ctx,
        &component,
        "/spec/forProvider/arn",
        machine.arn.clone(),
        machine.waits_for,
    );
    let build = inputs.build(|| {
        let mut fp = json!({
            "region": machine.region,
            "ruleSelector": select(rule),
            "arn": arn,
            "roleArnSelector": select(events_role),
            "retryPolicy": {
                "maximumEventAgeInSeconds": delivery.max_event_age_seconds,
                "maximumRetryAttempts": delivery.max_attempts,
            },
        });
        if let Some(input) = input {
            fp["input"] = json!(input.to_string());
        }
        managed(
            ctx,
            &component,
            &format!("{EVENTS}/v1beta2"),
            "Target",
            None,
            fp,
        )
    });
    (component, build)
}

/// An alarm on any failed execution of `machine` within `period_seconds`: a state
/// machine that gave up after its retries is never silent.
pub fn failures_alarm(
    ctx: &Ctx,
    machine: &Machine,
    component: &str,
    description: &str,
    period_seconds: u32,
) -> Build {
    let mut inputs = Inputs::default();
    let arn = inputs.need(
        ctx,
        component,
        "/spec/forProvider/dimensions/StateMachineArn",
        machine.arn.clone(),
        machine.waits_for,
    );
    inputs.build(|| {
        managed(
            ctx,
            component,
            CLOUDWATCH,
            "MetricAlarm",
            Some(&ctx.names.iam(component)),
            json!({
                "region": machine.region,
                "alarmDescription": description,
                "namespace": "AWS/States",
                "metricName": "ExecutionsFailed",
                "dimensions": {"StateMachineArn": arn},
                "statistic": "Sum",
                "period": period_seconds,
                "evaluationPeriods": 1,
                "threshold": 1,
                "comparisonOperator": "GreaterThanOrEqualToThreshold",
                "treatMissingData": "notBreaching",
                "tags": tags(ctx, component),
            }),
        )
    })
}
