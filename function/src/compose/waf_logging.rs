//! WAF logging: the `aws-waf-logs-*` log group and the web ACL's logging configuration
//! pointing at it (filter: `spec.waf.logRequests`).
//!
//! provider-aws models this as `WebACLLoggingConfiguration`, a kind the provider CRDs we
//! build against do not include. So the configuration is kept in place by a small
//! reconciler made of kinds that are there: an Express state machine that reads the
//! ACL's logging configuration (`wafv2:GetLoggingConfiguration`), compares it with the
//! desired one and writes it (`wafv2:PutLoggingConfiguration`) when it is missing or
//! drifted, started every [`SCHEDULE`] by an EventBridge rule. A logging configuration
//! removed by hand comes back within one period; a failed attach raises an alarm.
//! At one Express execution per 5 minutes it costs about one cent a month.

use serde_json::{Value, json};

use super::security::{WAF_REGION, WEB_ACL, retention_days};
use super::workflow::{self, Delivery, Machine, SFN};
use super::{Build, Ctx, Inputs, managed, role_with_policy, select, tags, waiting_unless};
use crate::iam;
use crate::spec::WafLogRequests;

pub const WAF_LOG_GROUP: &str = "waf-log-group";
pub const STATE_MACHINE: &str = "waf-logging";
const ROLE: &str = "waf-logging-role";
const EVENTS_ROLE: &str = "waf-logging-events-role";
const RULE: &str = "waf-logging-rule";
const ALARM: &str = "waf-logging-failures";
/// How often the configuration is checked (and restored when it drifted).
const SCHEDULE: &str = "rate(5 minutes)";

const LOGS: &str = "cloudwatchlogs.aws.upbound.io/v1beta1";

/// The log group and the reconciler of the claim's web ACL, or nothing when the claim
/// turns WAF logging off.
pub fn build(ctx: &Ctx) -> Vec<(String, Build)> {
    if ctx.spec.waf.log_requests == WafLogRequests::Off {
        return Vec::new();
    }
    let o = ctx.observed;
    let acl = o.at_provider(WEB_ACL, "arn");
    let log_group = o
        .at_provider(WAF_LOG_GROUP, "arn")
        .map(|a| log_group_arn(&a));
    let machine_name = ctx.names.iam("waf-logging");

    let mut out = vec![(WAF_LOG_GROUP.to_string(), Build::Ready(waf_log_group(ctx)))];
    out.extend(waiting_unless(
        acl.is_some() && log_group.is_some(),
        "web-acl arn, waf-log-group arn",
        role_with_policy(
            ctx,
            ROLE,
            &machine_name,
            &["states.amazonaws.com"],
            "ImageCDN WAF logging reconciler",
            role_statements(acl.as_deref().unwrap_or_default()),
        ),
    ));

    let mut inputs = Inputs::default();
    inputs.require(acl.is_some(), "web-acl arn");
    inputs.require(log_group.is_some(), "waf-log-group arn");
    inputs.require(
        o.is_ready("waf-logging-policy-attachment") || o.get(STATE_MACHINE).is_some(),
        "waf-logging role ready",
    );
    out.push((
        STATE_MACHINE.to_string(),
        inputs.build(|| {
            let definition = definition(
                acl.as_deref().unwrap_or_default(),
                log_group.as_deref().unwrap_or_default(),
                ctx.spec.waf.log_requests,
            );
            managed(
                ctx,
                STATE_MACHINE,
                SFN,
                "StateMachine",
                Some(&machine_name),
                json!({
                    "region": WAF_REGION,
                    "type": "EXPRESS",
                    "definition": definition.to_string(),
                    "roleArnSelector": select(ROLE),
                    "tracingConfiguration": {"enabled": false},
                    "tags": tags(ctx, STATE_MACHINE),
                }),
            )
        }),
    ));

    let machine = Machine {
        region: WAF_REGION,
        arn: o.at_provider(STATE_MACHINE, "arn"),
        waits_for: "waf-logging arn",
    };
    out.extend(workflow::events_role(
        ctx,
        &machine,
        EVENTS_ROLE,
        &ctx.names.iam("waf-logging-events"),
        "ImageCDN EventBridge schedule of the WAF logging reconciler",
    ));
    out.push((
        RULE.to_string(),
        workflow::rule(
            ctx,
            RULE,
            WAF_REGION,
            "ImageCDN: keep the web ACL's logging configuration attached",
            json!({"scheduleExpression": SCHEDULE}),
        ),
    ));
    // A missed check is covered by the next one.
    let delivery = Delivery {
        max_event_age_seconds: 300,
        max_attempts: 3,
    };
    out.push(workflow::target(
        ctx,
        &machine,
        RULE,
        EVENTS_ROLE,
        None,
        delivery,
    ));
    out.push((
        ALARM.to_string(),
        workflow::failures_alarm(
            ctx,
            &machine,
            ALARM,
            "ImageCDN could not attach WAF logging to the web ACL: WAF requests are not being logged",
            900,
        ),
    ));
    out
}

/// WAF logs go to a log group whose name must start with `aws-waf-logs-`.
fn waf_log_group(ctx: &Ctx) -> Value {
    managed(
        ctx,
        WAF_LOG_GROUP,
        LOGS,
        "Group",
        Some(&format!("aws-waf-logs-{}", ctx.names.base())),
        json!({
            "region": WAF_REGION,
            "retentionInDays": retention_days(ctx.spec.audit.retention_days),
            "tags": tags(ctx, WAF_LOG_GROUP),
        }),
    )
}

/// WAF logging destinations are log group ARNs without the `:*` suffix.
fn log_group_arn(observed: &str) -> String {
    observed.trim_end_matches(":*").to_string()
}

/// Least privilege for the reconciler: read and write this ACL's logging configuration.
/// Writing it makes WAF check the log group and create its resource policy and a log
/// delivery as the caller; AWS defines those CloudWatch Logs actions without resource
/// types, so they take `*`.
fn role_statements(acl: &str) -> Vec<Value> {
    vec![
        iam::allow(
            "ManageThisWebAclLogging",
            &[
                "wafv2:GetLoggingConfiguration",
                "wafv2:PutLoggingConfiguration",
            ],
            vec![acl.to_string()],
        ),
        json!({
            "Sid": "DeliverWafLogs",
            "Effect": "Allow",
            "Action": [
                "logs:CreateLogDelivery", "logs:DeleteLogDelivery",
                "logs:PutResourcePolicy", "logs:DescribeResourcePolicies",
                "logs:DescribeLogGroups",
            ],
            "Resource": "*",
        }),
    ]
}

/// The logging filter for `mode`; `None` logs every request.
pub fn logging_filter(mode: WafLogRequests) -> Option<Value> {
    match mode {
        WafLogRequests::Blocked => Some(json!({
            "DefaultBehavior": "DROP",
            "Filters": [{
                "Behavior": "KEEP",
                "Requirement": "MEETS_ANY",
                "Conditions": [
                    {"ActionCondition": {"Action": "BLOCK"}},
                    {"ActionCondition": {"Action": "COUNT"}},
                ],
            }],
        })),
        WafLogRequests::All | WafLogRequests::Off => None,
    }
}

/// The reconciler's Amazon States Language definition.
///
/// `Observe` reads the current configuration; any failure there (none attached yet,
/// throttling) goes straight to `Attach`, which is idempotent. `Compare` checks the
/// destination and the filter's presence and default behaviour (what `logRequests`
/// changes), guarding each path with `IsPresent` because a missing path in a comparison
/// is a runtime error.
pub fn definition(acl: &str, log_group: &str, mode: WafLogRequests) -> Value {
    const CONFIG: &str = "$.LoggingConfiguration";
    let path = |p: &str| format!("{CONFIG}.{p}");
    let attach_when = |mut rule: Value| {
        rule["Next"] = json!("Attach");
        rule
    };
    let destination = path("LogDestinationConfigs[0]");
    let default_behavior = path("LoggingFilter.DefaultBehavior");
    let mut choices = vec![
        attach_when(json!({"Not": {"Variable": destination, "IsPresent": true}})),
        attach_when(json!({"Not": {"Variable": destination, "StringEquals": log_group}})),
    ];
    let filter = logging_filter(mode);
    match &filter {
        Some(f) => {
            choices.push(attach_when(
                json!({"Not": {"Variable": default_behavior, "IsPresent": true}}),
            ));
            choices.push(attach_when(json!({"Not": {
                "Variable": default_behavior,
                "StringEquals": f["DefaultBehavior"],
            }})));
        }
        None => choices.push(attach_when(
            json!({"Variable": path("LoggingFilter"), "IsPresent": true}),
        )),
    }

    let mut configuration = json!({"ResourceArn": acl, "LogDestinationConfigs": [log_group]});
    if let Some(f) = filter {
        configuration["LoggingFilter"] = f;
    }
    json!({
        "Comment": "ImageCDN: keep the WAF web ACL's logging configuration attached",
        "StartAt": "Observe",
        "TimeoutSeconds": 240,
        "States": {
            "Observe": {
                "Type": "Task",
                "Resource": "arn:aws:states:::aws-sdk:wafv2:getLoggingConfiguration",
                "Parameters": {"ResourceArn": acl},
                "TimeoutSeconds": 30,
                "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.observeError", "Next": "Attach"}],
                "Next": "Compare",
            },
            "Compare": {"Type": "Choice", "Choices": choices, "Default": "InSync"},
            "InSync": {"Type": "Succeed"},
            "Attach": {
                "Type": "Task",
                "Resource": "arn:aws:states:::aws-sdk:wafv2:putLoggingConfiguration",
                "Parameters": {"LoggingConfiguration": configuration},
                "TimeoutSeconds": 30,
                "Retry": [{
                    "ErrorEquals": ["States.ALL"],
                    "IntervalSeconds": 5,
                    "MaxAttempts": 4,
                    "BackoffRate": 2.0,
                    "JitterStrategy": "FULL",
                }],
                "End": true,
            },
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ACL: &str = "arn:aws:wafv2:us-east-1:123456789012:global/webacl/cdn-waf/1";
    const GROUP: &str = "arn:aws:logs:us-east-1:123456789012:log-group:aws-waf-logs-cdn";

    #[test]
    fn destination_drops_the_wildcard_suffix() {
        assert_eq!(log_group_arn(&format!("{GROUP}:*")), GROUP);
        assert_eq!(log_group_arn(GROUP), GROUP);
    }

    #[test]
    fn blocked_mode_attaches_a_keep_blocked_filter() {
        let d = definition(ACL, GROUP, WafLogRequests::Blocked);
        let c = &d["States"]["Attach"]["Parameters"]["LoggingConfiguration"];
        assert_eq!(c["ResourceArn"], ACL);
        assert_eq!(c["LogDestinationConfigs"], json!([GROUP]));
        assert_eq!(c["LoggingFilter"]["DefaultBehavior"], "DROP");
        // Every comparison comes after a rule that sends a missing path to Attach: on
        // AWS, comparing a missing path is a runtime error, not a mismatch.
        let choices = d["States"]["Compare"]["Choices"].as_array().unwrap();
        let guarded: Vec<&Value> = choices
            .iter()
            .filter(|c| c["Not"]["IsPresent"] == json!(true))
            .map(|c| &c["Not"]["Variable"])
            .collect();
        let compared: Vec<(usize, &Value)> = choices
            .iter()
            .enumerate()
            .filter(|(_, c)| c["Not"].get("StringEquals").is_some())
            .map(|(i, c)| (i, &c["Not"]["Variable"]))
            .collect();
        assert_eq!(compared.len(), 2);
        for (i, variable) in compared {
            let guard = choices[..i].iter().position(|c| {
                c["Not"]["IsPresent"] == json!(true) && &c["Not"]["Variable"] == variable
            });
            assert!(
                guard.is_some(),
                "{variable} compared without a presence guard"
            );
        }
        assert_eq!(guarded.len(), 2);
        assert!(choices.iter().all(|c| c["Next"] == "Attach"));
        assert_eq!(d["States"]["Compare"]["Default"], "InSync");
    }

    #[test]
    fn all_mode_attaches_no_filter_and_treats_one_as_drift() {
        let d = definition(ACL, GROUP, WafLogRequests::All);
        let c = &d["States"]["Attach"]["Parameters"]["LoggingConfiguration"];
        assert!(c.get("LoggingFilter").is_none());
        let choices = d["States"]["Compare"]["Choices"].as_array().unwrap();
        assert_eq!(
            choices.last().unwrap()["Variable"],
            "$.LoggingConfiguration.LoggingFilter"
        );
    }
}
