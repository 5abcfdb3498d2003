//! Deletion: the order in which a claim's resources go, and what it keeps working.
//!
//! Two passes over the composed resources, after every concern has built its own:
//!
//! - **What is kept keeps working.** A kept (`Orphan`) resource keeps everything it
//!   needs: what it selects (a replication configuration its role, a trail its bucket),
//!   the policies attached to a kept role, and the bucket policy that lets a kept trail
//!   write. Otherwise deleting the claim would leave a trail that can no longer write or
//!   a replication that no longer replicates.
//! - **Nothing goes while something still uses it.** Crossplane deletes a composite's
//!   resources all at once; a Usage (`apiextensions.crossplane.io`, Crossplane 1.x)
//!   holds a resource's deletion until its user is gone, then replays it. The
//!   distribution goes first: before the functions, policies, key groups, web ACL,
//!   origin access control, certificate and buckets it references and the bucket
//!   policies that let it read; public keys outlive their key groups; the DNS records
//!   pointing at the distribution go before it.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use super::COMPONENT_LABEL;
use super::delivery::DISTRIBUTION;
use crate::observed::Observed;

/// Crossplane 1.x's Usage (cluster-scoped, like our composite).
pub const USAGE_API_VERSION: &str = "apiextensions.crossplane.io/v1beta1";

/// The composed resources `resource` selects: for each `*Selector`, those whose labels
/// include all of its `matchLabels` (a component label, or another, such as the tenant
/// label a key group selects its public keys by).
pub fn selected(resources: &BTreeMap<String, Value>, resource: &Value) -> BTreeSet<String> {
    fn selectors<'a>(v: &'a Value, out: &mut Vec<&'a serde_json::Map<String, Value>>) {
        match v {
            Value::Object(m) => {
                for (k, x) in m {
                    if k.ends_with("Selector")
                        && let Some(labels) = x["matchLabels"].as_object()
                    {
                        out.push(labels);
                    }
                    selectors(x, out);
                }
            }
            Value::Array(a) => a.iter().for_each(|x| selectors(x, out)),
            _ => {}
        }
    }
    let mut found = Vec::new();
    selectors(&resource["spec"]["forProvider"], &mut found);
    resources
        .iter()
        .filter(|(_, r)| {
            found.iter().any(|labels| {
                labels
                    .iter()
                    .all(|(k, v)| r["metadata"]["labels"].get(k) == Some(v))
            })
        })
        .map(|(name, _)| name.clone())
        .collect()
}

fn kind(r: &Value) -> &str {
    r["kind"].as_str().unwrap_or_default()
}

/// Kept in either API's form (an observed namespaced resource carried forward says so
/// with its management policies).
fn is_kept(r: &Value) -> bool {
    super::namespaced::is_kept(r)
}

/// What a kept resource needs to keep working, beyond what it selects.
fn enablers(resources: &BTreeMap<String, Value>, name: &str) -> BTreeSet<String> {
    let r = &resources[name];
    let selecting = |kind_wanted: &str, field: &str, target: &str| -> Vec<String> {
        resources
            .iter()
            .filter(|(_, x)| kind(x) == kind_wanted && selected_by_field(x, field) == Some(target))
            .map(|(n, _)| n.clone())
            .collect()
    };
    match kind(r) {
        // A kept role keeps the policies attached to it.
        "Role" => selecting("RolePolicyAttachment", "roleSelector", name)
            .into_iter()
            .flat_map(|attachment| {
                let policy = selected_by_field(&resources[&attachment], "policyArnSelector")
                    .map(str::to_string);
                std::iter::once(attachment).chain(policy)
            })
            .collect(),
        // A kept trail keeps the bucket policy that lets CloudTrail write its logs.
        "Trail" => selected_by_field(r, "s3BucketNameSelector")
            .map(|bucket| selecting("BucketPolicy", "bucketSelector", bucket))
            .unwrap_or_default()
            .into_iter()
            .collect(),
        _ => BTreeSet::new(),
    }
}

fn selected_by_field<'a>(r: &'a Value, field: &str) -> Option<&'a str> {
    r["spec"]["forProvider"][field]["matchLabels"][COMPONENT_LABEL].as_str()
}

/// Marks `Orphan` everything a kept resource needs, until nothing changes.
pub fn keep_what_kept_resources_need(resources: &mut BTreeMap<String, Value>) {
    loop {
        let mut needed = BTreeSet::new();
        for (name, r) in resources.iter().filter(|(_, r)| is_kept(r)) {
            needed.extend(selected(resources, r));
            needed.extend(enablers(resources, name));
        }
        let mut changed = false;
        for name in needed {
            if let Some(r) = resources.get_mut(&name)
                && !is_kept(r)
            {
                r["spec"]["deletionPolicy"] = json!("Orphan");
                changed = true;
            }
        }
        if !changed {
            return;
        }
    }
}

/// The components whose observed IDs, ARNs or domains are wired into `resource`'s spec
/// (the values a builder read from observed status: policy IDs, function ARNs, key
/// group IDs, the web ACL's ARN, bucket domains, the certificate ARN).
pub fn wired_into(resource: &Value, observed: &Observed) -> BTreeSet<String> {
    fn leaves<'a>(v: &'a Value, out: &mut BTreeSet<&'a str>) {
        match v {
            Value::String(s) => {
                out.insert(s);
            }
            Value::Object(m) => m.values().for_each(|x| leaves(x, out)),
            Value::Array(a) => a.iter().for_each(|x| leaves(x, out)),
            _ => {}
        }
    }
    let mut strings = BTreeSet::new();
    leaves(&resource["spec"]["forProvider"], &mut strings);
    observed
        .names()
        .filter(|name| {
            [
                "id",
                "arn",
                "qualifiedArn",
                "bucketRegionalDomainName",
                "bucketDomainName",
            ]
            .iter()
            .filter_map(|field| observed.at_provider(name, field))
            .any(|value| strings.contains(value.as_str()))
        })
        .map(str::to_string)
        .collect()
}

/// (user, used): the user must be deleted before what it uses.
pub fn deletion_order(
    resources: &BTreeMap<String, Value>,
    observed: &Observed,
) -> Vec<(String, String)> {
    let mut pairs = Vec::new();
    let Some(distribution) = resources.get(DISTRIBUTION) else {
        return pairs;
    };
    // What a resource references: selected, or wired in from observed status.
    let uses = |r: &Value| {
        let mut used = selected(resources, r);
        used.extend(wired_into(r, observed));
        used
    };
    let mut used = uses(distribution);
    // The bucket policies that let it read the buckets it serves.
    for (name, r) in resources {
        if kind(r) == "BucketPolicy"
            && selected_by_field(r, "bucketSelector").is_some_and(|b| used.contains(b))
        {
            used.insert(name.clone());
        }
    }
    for u in used
        .into_iter()
        .filter(|u| u != DISTRIBUTION && resources.contains_key(u))
    {
        pairs.push((DISTRIBUTION.to_string(), u));
    }
    for (name, r) in resources {
        match kind(r) {
            // Public keys outlive the key group that holds them.
            "KeyGroup" => {
                let keys = uses(r)
                    .into_iter()
                    .filter(|k| resources.get(k).is_some_and(|x| kind(x) == "PublicKey"));
                for key in keys {
                    pairs.push((name.clone(), key));
                }
            }
            // DNS records pointing at the distribution go first.
            "Record" if !r["spec"]["forProvider"]["alias"].is_null() => {
                pairs.push((name.clone(), DISTRIBUTION.to_string()));
            }
            _ => {}
        }
    }
    pairs
}

/// The Usage object saying `by` uses `of`.
pub fn usage(resources: &BTreeMap<String, Value>, by: &str, of: &str) -> (String, Value) {
    let reference = |component: &str| {
        let r = &resources[component];
        json!({
            "apiVersion": r["apiVersion"],
            "kind": r["kind"],
            "resourceSelector": {"matchControllerRef": true, "matchLabels": {COMPONENT_LABEL: component}},
        })
    };
    let name = format!("usage-{of}-by-{by}");
    let v = json!({
        "apiVersion": USAGE_API_VERSION,
        "kind": "Usage",
        // Label values are at most 63 characters.
        "metadata": {"labels": {COMPONENT_LABEL: crate::names::fit(&[&name], 63)}},
        "spec": {
            "of": reference(of),
            "by": reference(by),
            // Deletion of `of` is retried as soon as `by` is gone, not after a backoff.
            "replayDeletion": true,
        },
    });
    (name, v)
}

/// Whether the resources a Usage names are both still desired.
pub fn both_sides_desired(resources: &BTreeMap<String, Value>, usage: &Value) -> bool {
    ["of", "by"].iter().all(|side| {
        usage["spec"][side]["resourceSelector"]["matchLabels"][COMPONENT_LABEL]
            .as_str()
            .is_some_and(|c| resources.contains_key(c))
    })
}
