//! Deleting a claim: Usages order it (the distribution before what it uses), the
//! Lambda@Edge function never holds it hostage, and whatever is kept keeps working.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::*;
use function_imagecdn::compose::deletion::selected;
use function_imagecdn::render::render_resources;
use serde_json::{Value, json};

fn full(xr: &Value) -> BTreeMap<String, Value> {
    render_resources(xr, &full_observed()).unwrap()
}

fn component(reference: &Value) -> String {
    reference["resourceSelector"]["matchLabels"]["imagecdn.io/component"]
        .as_str()
        .unwrap()
        .to_string()
}

/// (by, of) of every Usage.
fn usages(r: &BTreeMap<String, Value>) -> BTreeSet<(String, String)> {
    r.values()
        .filter(|v| v["kind"] == "Usage")
        .map(|u| (component(&u["spec"]["by"]), component(&u["spec"]["of"])))
        .collect()
}

#[test]
fn the_distribution_goes_before_everything_it_uses() {
    let r = full(&composite("complete.yaml"));
    let u = usages(&r);
    for of in [
        "viewer-function",
        "viewer-function-signed",
        "edge-function",
        "cache-policy",
        "response-headers-policy",
        "origin-access-control",
        "web-acl",
        "tenant-partners-key-group",
        "certificate",
        "originals-primary",
        "originals-replica-1",
        "variants",
        "logs",
        "originals-primary-policy",
        "originals-replica-1-policy",
        "variants-policy",
    ] {
        assert!(
            u.contains(&("distribution".into(), of.into())),
            "no Usage of {of} by the distribution"
        );
    }
    assert!(u.contains(&(
        "tenant-partners-key-group".into(),
        "tenant-partners-key-key-2026".into()
    )));
    for alias in ["alias-a", "alias-aaaa"] {
        assert!(
            u.contains(&(alias.into(), "distribution".into())),
            "{alias} goes before the distribution"
        );
    }
    // Each Usage names the real kinds and asks for its deletion to be replayed.
    for usage in r.values().filter(|v| v["kind"] == "Usage") {
        for side in ["of", "by"] {
            let c = component(&usage["spec"][side]);
            assert_eq!(usage["spec"][side]["kind"], r[&c]["kind"], "{c}");
            assert_eq!(
                usage["spec"][side]["apiVersion"], r[&c]["apiVersion"],
                "{c}"
            );
            assert_eq!(
                usage["spec"][side]["resourceSelector"]["matchControllerRef"],
                true
            );
        }
        assert_eq!(usage["spec"]["replayDeletion"], true);
    }
}

#[test]
fn the_deletion_order_has_no_cycle() {
    let r = full(&composite("complete.yaml"));
    let mut edges = usages(&r);
    // Kahn: repeatedly delete what nothing still uses.
    let mut nodes: BTreeSet<String> = edges
        .iter()
        .flat_map(|(a, b)| [a.clone(), b.clone()])
        .collect();
    while !nodes.is_empty() {
        let free: Vec<String> = nodes
            .iter()
            .filter(|n| !edges.iter().any(|(_, of)| of == *n))
            .cloned()
            .collect();
        assert!(!free.is_empty(), "cycle among {nodes:?}");
        for n in free {
            nodes.remove(&n);
            edges.retain(|(by, _)| *by != n);
        }
    }
}

#[test]
fn the_edge_function_never_blocks_deletion() {
    let r = full(&composite("complete.yaml"));
    assert_eq!(
        r["edge-function"]["spec"]["forProvider"]["skipDestroy"],
        true
    );
}

/// Every kept resource keeps what it selects; a kept role keeps its attachments and
/// policies; a kept trail keeps the bucket policy that lets it write.
fn kept_closure_problems(r: &BTreeMap<String, Value>) -> Vec<String> {
    let kept = |name: &str| is_kept(&r[name]);
    let selects = |v: &Value, field: &str| {
        v["spec"]["forProvider"][field]["matchLabels"]["imagecdn.io/component"]
            .as_str()
            .map(str::to_string)
    };
    let mut problems = Vec::new();
    for (name, v) in r.iter().filter(|(n, _)| kept(n)) {
        for dep in selected(r, v) {
            if r.contains_key(&dep) && !kept(&dep) {
                problems.push(format!("kept {name} selects {dep}, which is deleted"));
            }
        }
        if v["kind"] == "Role" {
            for (a, att) in r.iter().filter(|(_, x)| {
                x["kind"] == "RolePolicyAttachment"
                    && selects(x, "roleSelector").as_deref() == Some(name)
            }) {
                let policy = selects(att, "policyArnSelector").unwrap();
                if !kept(a) || !kept(&policy) {
                    problems.push(format!("kept role {name} loses {a} or {policy}"));
                }
            }
        }
        if v["kind"] == "Trail" {
            let bucket = selects(v, "s3BucketNameSelector").unwrap();
            for (p, _) in r.iter().filter(|(_, x)| {
                x["kind"] == "BucketPolicy" && selects(x, "bucketSelector") == Some(bucket.clone())
            }) {
                if !kept(p) {
                    problems.push(format!(
                        "kept trail {name} loses {p}: it could no longer write"
                    ));
                }
            }
        }
    }
    problems
}

/// Kept in either API: `deletionPolicy: Orphan`, or management policies without
/// `Delete` (namespaced managed resources).
fn is_kept(r: &Value) -> bool {
    r["spec"]["deletionPolicy"] == "Orphan"
        || r["spec"]["managementPolicies"]
            .as_array()
            .is_some_and(|p| !p.iter().any(|x| x == "Delete" || x == "*"))
}

/// The namespaced API keeps the same resources, with management policies; its
/// deletion order is the claim's, with protection.crossplane.io Usages.
#[test]
fn the_namespaced_api_keeps_and_orders_the_same() {
    let claim = full(&composite("complete.yaml"));
    let namespaced = render_resources(&composite("v2/complete.yaml"), &full_observed_v2()).unwrap();
    assert!(
        kept_closure_problems(&namespaced).is_empty(),
        "{:#?}",
        kept_closure_problems(&namespaced)
    );
    let kept = |r: &BTreeMap<String, Value>| -> BTreeSet<String> {
        r.iter()
            .filter(|(_, v)| is_kept(v))
            .map(|(n, _)| n.clone())
            .collect()
    };
    assert_eq!(kept(&claim), kept(&namespaced));
    assert_eq!(usages(&claim), usages(&namespaced));
    assert!(
        namespaced
            .values()
            .filter(|v| v["kind"] == "Usage")
            .all(|v| v["apiVersion"] == "protection.crossplane.io/v1beta1")
    );
}

#[test]
fn what_deletion_keeps_keeps_working() {
    let default = full(&composite("complete.yaml"));
    assert!(
        kept_closure_problems(&default).is_empty(),
        "{:#?}",
        kept_closure_problems(&default)
    );
    for name in [
        "logs-policy",
        "replication",
        "replication-role",
        "replication-policy",
        "replication-policy-attachment",
    ] {
        assert_eq!(default[name]["spec"]["deletionPolicy"], "Orphan", "{name}");
    }
    // Originals deleted with the claim: replication goes too, the trail's logs stay.
    let mut xr = composite("complete.yaml");
    xr["spec"]["originals"]["deletionPolicy"] = json!("Delete");
    let deleting = full(&xr);
    assert!(
        kept_closure_problems(&deleting).is_empty(),
        "{:#?}",
        kept_closure_problems(&deleting)
    );
    assert_ne!(
        deleting["replication-role"]["spec"]["deletionPolicy"],
        "Orphan"
    );
    assert_eq!(deleting["logs-policy"]["spec"]["deletionPolicy"], "Orphan");
}
