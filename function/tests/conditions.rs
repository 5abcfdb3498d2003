//! Per-component conditions on the composite and claim, table-driven from observed
//! states a real install goes through, and events only on transitions.

mod common;

use std::collections::BTreeMap;

use common::*;
use function_sdk_rust::proto::v1::{RunFunctionResponse, Severity, Status, Target};
use serde_json::{Value, json};

/// (type, status, reason, message) of every condition the function set.
fn conditions(rsp: &RunFunctionResponse) -> BTreeMap<String, (bool, String, String)> {
    rsp.conditions
        .iter()
        .map(|c| {
            assert_eq!(
                c.target,
                Some(Target::CompositeAndClaim as i32),
                "{}: app teams read the claim",
                c.r#type
            );
            (
                c.r#type.clone(),
                (
                    c.status == Status::ConditionTrue as i32,
                    c.reason.clone(),
                    c.message.clone().unwrap_or_default(),
                ),
            )
        })
        .collect()
}

/// The full graph while CloudFront still deploys the distribution and ACM waits for
/// validation.
fn deploying() -> BTreeMap<String, Value> {
    function_imagecdn::simulate::in_flight(full_observed())
}

#[test]
fn conditions_say_what_each_component_waits_for() {
    let xr = composite("complete.yaml");
    let mut half = full_observed();
    half.retain(|name, _| name.starts_with("originals-primary") || name == "variants");
    // (state, condition type, ready, reason, words the message must hold)
    type Case<'a> = (
        &'a str,
        BTreeMap<String, Value>,
        &'a str,
        bool,
        &'a str,
        &'a str,
    );
    let cases: Vec<Case> = vec![
        (
            "nothing yet",
            BTreeMap::new(),
            "StorageReady",
            false,
            "Creating",
            "originals-replica-1 (bucket media-originals-eu-west-1) not created yet",
        ),
        (
            "nothing yet",
            BTreeMap::new(),
            "DistributionReady",
            false,
            "WaitingForDependencies",
            "waits for",
        ),
        (
            "nothing yet",
            BTreeMap::new(),
            "CertificateReady",
            false,
            "Creating",
            "ACM certificate",
        ),
        (
            "nothing yet",
            BTreeMap::new(),
            "EdgeFunctionReady",
            false,
            "Creating",
            "media-edge-transform",
        ),
        (
            "some buckets",
            half,
            "StorageReady",
            false,
            "Creating",
            "originals-replica-2 (bucket media-originals-ap-northeast-1)",
        ),
        (
            "deploying",
            deploying(),
            "StorageReady",
            true,
            "Available",
            "us-east-1, eu-west-1, ap-northeast-1",
        ),
        (
            "deploying",
            deploying(),
            "DistributionReady",
            false,
            "Deploying",
            "is deploying distribution EB0380250D841B",
        ),
        (
            "deploying",
            deploying(),
            "CertificateReady",
            false,
            "WaitingForDNSValidation",
            "_f42f6c18badecf4344c9fbd626048fb9.images.example.com. in hosted zone Z0123456789EXAMPLE",
        ),
        (
            "deploying",
            deploying(),
            "EdgeFunctionReady",
            false,
            "Replicating",
            "media-edge-transform:1",
        ),
        (
            "converged",
            full_observed(),
            "DistributionReady",
            true,
            "Deployed",
            "EB0380250D841B serves db0380250d841b.cloudfront.net",
        ),
        (
            "converged",
            full_observed(),
            "CertificateReady",
            true,
            "Issued",
            "is issued",
        ),
        (
            "converged",
            full_observed(),
            "EdgeFunctionReady",
            true,
            "Replicated",
            "media-edge-transform:1",
        ),
        (
            "converged",
            full_observed(),
            "ResourcesComposed",
            true,
            "AllComposed",
            "resources are composed",
        ),
    ];
    let mut failures = Vec::new();
    for (state, observed, kind, ready, reason, words) in cases {
        let got = conditions(&run(&xr, &observed));
        match got.get(kind) {
            Some((r, why, message)) if *r == ready && why == reason && message.contains(words) => {}
            other => failures.push(format!(
                "{state}: {kind}: want ({ready}, {reason}, ..{words}..), got {other:?}"
            )),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn no_certificate_condition_without_a_custom_domain() {
    let got = conditions(&run(&composite("minimal.yaml"), &BTreeMap::new()));
    assert!(!got.contains_key("CertificateReady"), "{got:?}");
    assert!(got.contains_key("DistributionReady"));
}

/// Events (results) only when a condition changes: not on every reconcile.
#[test]
fn events_are_recorded_for_transitions_only() {
    let mut xr = composite("complete.yaml");
    let first = run(&xr, &deploying());
    let events: Vec<String> = first.results.iter().map(|r| r.message.clone()).collect();
    assert!(
        events
            .iter()
            .any(|e| e.starts_with("DistributionReady: CloudFront is deploying")),
        "{events:?}"
    );
    assert!(
        first
            .results
            .iter()
            .all(|r| r.target == Some(Target::CompositeAndClaim as i32))
    );

    // Crossplane wrote those conditions on the composite; the same state again is quiet.
    let written: Vec<Value> = first
        .conditions
        .iter()
        .map(|c| {
            json!({
                "type": c.r#type,
                "status": if c.status == Status::ConditionTrue as i32 { "True" } else { "False" },
                "reason": c.reason,
            })
        })
        .collect();
    xr["status"] = json!({"conditions": written});
    let again = run(&xr, &deploying());
    assert!(again.results.is_empty(), "{:?}", again.results);

    // Deployed: one Normal event per condition that changed.
    let done = run(&xr, &full_observed());
    let changed: Vec<&str> = done
        .results
        .iter()
        .map(|r| r.message.split(':').next().unwrap_or_default())
        .collect();
    assert_eq!(
        changed,
        ["DistributionReady", "CertificateReady", "EdgeFunctionReady"]
    );
    assert!(
        done.results
            .iter()
            .all(|r| r.severity == Severity::Normal as i32)
    );

    // A component that was ready and no longer is: a Warning.
    let mut was_ready = xr.clone();
    was_ready["status"]["conditions"] = json!([
        {"type": "DistributionReady", "status": "True", "reason": "Deployed"},
    ]);
    let regressed = run(&was_ready, &deploying());
    let warning = regressed
        .results
        .iter()
        .find(|r| r.message.starts_with("DistributionReady"))
        .unwrap();
    assert_eq!(warning.severity, Severity::Warning as i32);
    assert_eq!(warning.reason.as_deref(), Some("Deploying"));
}

/// The README's `kubectl get`/`describe` examples are the `describe` command's output
/// (`UPDATE_GOLDEN=1` rewrites them).
#[test]
fn readme_status_examples_are_generated() {
    use function_imagecdn::describe::When;
    for (marker, when) in [
        ("describe:in-flight", When::InFlight),
        ("describe:after-in-flight", When::AfterInFlight),
    ] {
        let text = function_imagecdn::render::describe(
            Some(&example("complete.yaml")),
            Some(&example("observed")),
            when,
        )
        .unwrap();
        readme_block_is(marker, &format!("```text\n{text}```\n"));
    }
}

/// A namespaced ImageCDN converges: its directly composed Secrets (which report no
/// conditions) count as ready once they exist, so the composite can become Ready.
#[test]
fn a_converged_namespaced_imagecdn_is_ready() {
    let rsp = run(&composite("v2/complete.yaml"), &full_observed_v2());
    let unready: Vec<&String> = rsp
        .desired
        .as_ref()
        .unwrap()
        .resources
        .iter()
        .filter(|(_, r)| r.ready != function_sdk_rust::proto::v1::Ready::True as i32)
        .map(|(name, _)| name)
        .collect();
    assert!(unready.is_empty(), "{unready:?}");
    let got = conditions(&rsp);
    assert!(got.values().all(|(ready, _, _)| *ready), "{got:?}");
}
