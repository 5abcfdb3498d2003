//! What `kubectl get` and `kubectl describe` show for an ImageCDN in a given observed
//! state, computed offline from the function's own response (the status it writes, the
//! conditions it sets, the events it records) and Crossplane's rules for `Synced` and
//! `Ready` (Ready when every composed resource is). The README's examples come from
//! here, so they cannot drift from what the function does.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use function_sdk_rust::proto::v1::{Ready, RunFunctionResponse, Severity, Status};
use function_sdk_rust::resource::struct_to_json;
use serde_json::Value;

use crate::function;
use crate::render::{RenderError, request_for};

/// Which moment of an install to describe.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum When {
    /// The observed state as given; events as if it were the first reconcile.
    AsObserved,
    /// Mid-install ([`crate::simulate::in_flight`]): CloudFront deploying, ACM waiting.
    InFlight,
    /// The observed state as given, reached from mid-install: the events are the
    /// transitions (deployed, issued, replicated).
    AfterInFlight,
}

/// A condition as `kubectl describe` lists it.
struct Row {
    kind: String,
    status: &'static str,
    reason: String,
    message: String,
}

fn status_text(status: i32) -> &'static str {
    if status == Status::ConditionTrue as i32 {
        "True"
    } else if status == Status::ConditionFalse as i32 {
        "False"
    } else {
        "Unknown"
    }
}

/// `kubectl get` and `kubectl describe` of `claim` (the claim or namespaced composite as
/// the user wrote it) composed as `composite` with `observed` resources. The events are
/// those of the reconcile that reached this state from `before` (the composite's
/// conditions after a reconcile of that state), or from nothing.
pub fn describe(
    claim: &Value,
    composite: &Value,
    observed: &BTreeMap<String, Value>,
    before: Option<&BTreeMap<String, Value>>,
) -> Result<String, RenderError> {
    let mut composite = composite.clone();
    if let Some(before) = before {
        let earlier = function::run(&request_for(&composite, before));
        let conditions: Vec<Value> = earlier
            .conditions
            .iter()
            .map(|c| {
                serde_json::json!({"type": c.r#type, "status": status_text(c.status), "reason": c.reason})
            })
            .collect();
        composite["status"] = serde_json::json!({"conditions": conditions});
    }
    let rsp = function::run(&request_for(&composite, observed));
    if let Some(fatal) = rsp
        .results
        .iter()
        .find(|r| r.severity == Severity::Fatal as i32)
    {
        return Err(RenderError::Fatal(fatal.message.clone()));
    }
    let status = desired_status(&rsp);
    let rows = rows(&rsp);
    let ready = rows.iter().find(|r| r.kind == "Ready").map(|r| r.status);
    let text = |v: &Value, key: &str| v[key].as_str().unwrap_or_default().to_string();

    let name = claim
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let namespace = claim
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or("default");
    let plural = "imagecdn";
    let mut out = String::new();
    let _ = writeln!(out, "$ kubectl get {plural} -n {namespace}");
    let get_rows = [
        ["NAME", "SYNCED", "READY", "URL", "DISTRIBUTION", "PRIMARY"].map(str::to_string),
        [
            name.to_string(),
            "True".to_string(),
            ready.unwrap_or("False").to_string(),
            text(&status, "cdnUrl"),
            text(&status, "distributionId"),
            claim
                .pointer("/spec/regions/primary")
                .and_then(Value::as_str)
                .unwrap_or("us-east-1")
                .to_string(),
        ],
    ];
    let widths: Vec<usize> = (0..6)
        .map(|i| get_rows.iter().map(|r| r[i].len()).max().unwrap_or(0))
        .collect();
    for row in &get_rows {
        let line: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, w)| format!("{cell:<w$}"))
            .collect();
        let _ = writeln!(out, "{}", line.join("   ").trim_end());
    }

    let _ = writeln!(out, "\n$ kubectl describe {plural} {name} -n {namespace}");
    let _ = writeln!(out, "Name:         {name}");
    let _ = writeln!(out, "Namespace:    {namespace}");
    let _ = writeln!(out, "API Version:  {}", text(claim, "apiVersion"));
    let _ = writeln!(out, "Kind:         {}", text(claim, "kind"));
    let _ = writeln!(out, "Status:");
    for (label, key) in [
        ("Cdn URL", "cdnUrl"),
        ("Distribution Id", "distributionId"),
        ("Distribution Domain Name", "distributionDomainName"),
    ] {
        if let Some(v) = status[key].as_str() {
            let _ = writeln!(out, "  {label}:  {v}");
        }
    }
    let _ = writeln!(out, "  Conditions:");
    for row in &rows {
        let _ = writeln!(out, "    Type:     {}", row.kind);
        let _ = writeln!(out, "    Status:   {}", row.status);
        let _ = writeln!(out, "    Reason:   {}", row.reason);
        if !row.message.is_empty() {
            let _ = writeln!(out, "    Message:  {}", row.message);
        }
    }
    let _ = writeln!(out, "Events:");
    let events: Vec<[String; 3]> = rsp
        .results
        .iter()
        .map(|r| {
            let kind = if r.severity == Severity::Warning as i32 {
                "Warning"
            } else {
                "Normal"
            };
            [
                kind.to_string(),
                r.reason.clone().unwrap_or_default(),
                r.message.clone(),
            ]
        })
        .collect();
    if events.is_empty() {
        let _ = writeln!(out, "  <none>");
    } else {
        let reason_width = events.iter().map(|e| e[1].len()).max().unwrap_or(6).max(6);
        let _ = writeln!(out, "  Type     {:<reason_width$}  Message", "Reason");
        let _ = writeln!(out, "  ----     {:<reason_width$}  -------", "------");
        for [kind, reason, message] in events {
            let _ = writeln!(out, "  {kind:<7}  {reason:<reason_width$}  {message}");
        }
    }
    Ok(out)
}

/// The status the function wrote on the composite.
pub fn desired_status(rsp: &RunFunctionResponse) -> Value {
    rsp.desired
        .as_ref()
        .and_then(|d| d.composite.as_ref())
        .and_then(|c| c.resource.as_ref())
        .map(struct_to_json)
        .and_then(|v| v.get("status").cloned())
        .unwrap_or(Value::Null)
}

/// Crossplane's `Synced` and `Ready`, then the function's conditions in its order.
fn rows(rsp: &RunFunctionResponse) -> Vec<Row> {
    let mut unready: Vec<&str> = rsp
        .desired
        .iter()
        .flat_map(|d| d.resources.iter())
        .filter(|(_, r)| r.ready != Ready::True as i32)
        .map(|(name, _)| name.as_str())
        .collect();
    unready.sort_unstable();
    // Crossplane names the first three unready resources and counts the rest.
    let ready = if unready.is_empty() {
        Row {
            kind: "Ready".into(),
            status: "True",
            reason: "Available".into(),
            message: String::new(),
        }
    } else {
        let named = unready
            .iter()
            .take(3)
            .copied()
            .collect::<Vec<_>>()
            .join(", ");
        let more = unready.len().saturating_sub(3);
        let message = if more > 0 {
            format!("Unready resources: {named}, and {more} more")
        } else {
            format!("Unready resources: {named}")
        };
        Row {
            kind: "Ready".into(),
            status: "False",
            reason: "Creating".into(),
            message,
        }
    };
    let synced = Row {
        kind: "Synced".into(),
        status: "True",
        reason: "ReconcileSuccess".into(),
        message: String::new(),
    };
    [synced, ready]
        .into_iter()
        .chain(rsp.conditions.iter().map(|c| Row {
            kind: c.r#type.clone(),
            status: status_text(c.status),
            reason: c.reason.clone(),
            message: c.message.clone().unwrap_or_default(),
        }))
        .collect()
}
