//! WAF logging: the `aws-waf-logs-*` log group and the web ACL's logging configuration
//! pointing at it (provider-aws' `WebACLLoggingConfiguration`, one per web ACL), with a
//! filter from `spec.waf.logRequests`.

use serde_json::{Value, json};

use super::security::{WAF_REGION, WEB_ACL, retention_days};
use super::{Build, Ctx, Inputs, managed, select, tags};
use crate::spec::WafLogRequests;

pub const WAF_LOG_GROUP: &str = "waf-log-group";
pub const LOGGING: &str = "waf-logging";

const LOGS: &str = "cloudwatchlogs.aws.upbound.io/v1beta1";
const WAFV2: &str = "wafv2.aws.upbound.io/v1beta1";

/// The log group and the ACL's logging configuration, or nothing when the claim turns
/// WAF logging off.
pub fn build(ctx: &Ctx) -> Vec<(String, Build)> {
    if ctx.spec.waf.log_requests == WafLogRequests::Off {
        return Vec::new();
    }
    let mut inputs = Inputs::default();
    let destination = inputs.need(
        ctx,
        LOGGING,
        "/spec/forProvider/logDestinationConfigs/0",
        ctx.observed
            .at_provider(WAF_LOG_GROUP, "arn")
            .map(|a| log_group_arn(&a)),
        "waf-log-group arn",
    );
    let logging = inputs.build(|| {
        let mut for_provider = json!({
            "region": WAF_REGION,
            "resourceArnSelector": select(WEB_ACL),
            "logDestinationConfigs": [destination],
        });
        if let Some(filter) = logging_filter(ctx.spec.waf.log_requests) {
            for_provider["loggingFilter"] = filter;
        }
        // Identified by the ACL's ARN: no external name of ours.
        managed(
            ctx,
            LOGGING,
            WAFV2,
            "WebACLLoggingConfiguration",
            None,
            for_provider,
        )
    });
    vec![
        (WAF_LOG_GROUP.to_string(), Build::Ready(waf_log_group(ctx))),
        (LOGGING.to_string(), logging),
    ]
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

/// The logging filter for `mode`; `None` logs every request. `Blocked` keeps what a
/// rule blocked or counted and drops the rest.
pub fn logging_filter(mode: WafLogRequests) -> Option<Value> {
    match mode {
        WafLogRequests::Blocked => Some(json!({
            "defaultBehavior": "DROP",
            "filter": [{
                "behavior": "KEEP",
                "requirement": "MEETS_ANY",
                "condition": [
                    {"actionCondition": {"action": "BLOCK"}},
                    {"actionCondition": {"action": "COUNT"}},
                ],
            }],
        })),
        WafLogRequests::All | WafLogRequests::Off => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destination_drops_the_wildcard_suffix() {
        assert_eq!(
            log_group_arn("arn:aws:logs:us-east-1:1:log-group:aws-waf-logs-x:*"),
            "arn:aws:logs:us-east-1:1:log-group:aws-waf-logs-x"
        );
    }

    #[test]
    fn only_blocked_mode_filters() {
        let f = logging_filter(WafLogRequests::Blocked).unwrap();
        assert_eq!(f["defaultBehavior"], "DROP");
        assert_eq!(f["filter"][0]["behavior"], "KEEP");
        assert!(logging_filter(WafLogRequests::All).is_none());
    }
}
