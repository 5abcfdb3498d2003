//! Upgrading from the previous release: the function of this tree, given what the
//! previous release created (its observed state, `tests/upgrade/<release>/`), must not
//! replace or drop a composed resource, must never put originals at risk, and every
//! change it makes must be listed in CHANGELOG.md's `Unreleased` section.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::*;
use function_imagecdn::render::{read_observed, render_resources};
use serde_json::{Value, json};

/// The previous release and the examples whose converged state it recorded.
const PREVIOUS: &str = "v0.1.0";
const EXAMPLES: [(&str, &str); 2] = [("complete.yaml", "complete"), ("minimal.yaml", "minimal")];

const ORIGINALS: [&str; 3] = [
    "originals-primary",
    "originals-replica-1",
    "originals-replica-2",
];

fn group(r: &Value) -> &str {
    r["apiVersion"]
        .as_str()
        .unwrap_or_default()
        .split('/')
        .next()
        .unwrap_or_default()
}

fn external_name(r: &Value) -> Option<&str> {
    r.pointer("/metadata/annotations/crossplane.io~1external-name")
        .and_then(Value::as_str)
}

/// Composition resource names named in backticks in the `## Unreleased` section.
fn changelog_names(changelog: &str) -> BTreeSet<String> {
    let section = changelog
        .split("\n## ")
        .find(|s| s.starts_with("Unreleased"))
        .unwrap_or_default();
    section
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

/// What an upgrade from `old` (observed) to `new` (desired) would break or leave
/// undocumented.
fn upgrade_problems(
    old: &BTreeMap<String, Value>,
    new: &BTreeMap<String, Value>,
    documented: &BTreeSet<String>,
) -> Vec<String> {
    let mut problems = Vec::new();
    for (name, before) in old {
        let Some(after) = new.get(name) else {
            problems.push(format!("{name}: dropped (Crossplane would delete it)"));
            continue;
        };
        if (group(before), &before["kind"]) != (group(after), &after["kind"]) {
            problems.push(format!(
                "{name}: {} {} becomes {} {} (a replacement)",
                group(before),
                before["kind"],
                group(after),
                after["kind"]
            ));
        }
        // Named kinds are renamed in AWS by a new external name: a replacement.
        if let (Some(a), Some(b)) = (external_name(before), external_name(after))
            && a != b
        {
            problems.push(format!("{name}: external name {a} becomes {b}"));
        }
        if before["spec"] != after["spec"] && !documented.contains(name) {
            problems.push(format!(
                "{name}: its spec changes, and CHANGELOG.md's Unreleased section does not name `{name}`"
            ));
        }
    }
    for name in new.keys().filter(|n| !old.contains_key(*n)) {
        if !documented.contains(name) {
            problems.push(format!(
                "{name}: new, and CHANGELOG.md's Unreleased section does not name `{name}`"
            ));
        }
    }
    problems.extend(originals_problems(old, new));
    problems
}

/// Originals are never replaced, never lose their deletion protection, versioning or
/// replication, and no lifecycle rule starts expiring current objects or shortens how
/// long old versions are kept.
fn originals_problems(old: &BTreeMap<String, Value>, new: &BTreeMap<String, Value>) -> Vec<String> {
    let mut problems = Vec::new();
    for bucket in ORIGINALS {
        let (Some(before), Some(after)) = (old.get(bucket), new.get(bucket)) else {
            continue;
        };
        for pointer in ["/spec/forProvider/region", "/spec/deletionPolicy"] {
            if before.pointer(pointer) != after.pointer(pointer) {
                problems.push(format!(
                    "{bucket}: {pointer} changes from {:?} to {:?}",
                    before.pointer(pointer),
                    after.pointer(pointer)
                ));
            }
        }
    }
    let selected_bucket = |r: &Value| {
        r.pointer("/spec/forProvider/bucketSelector/matchLabels/imagecdn.io~1component")
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    for (name, after) in new {
        let Some(bucket) = selected_bucket(after).filter(|b| ORIGINALS.contains(&b.as_str()))
        else {
            continue;
        };
        match after["kind"].as_str() {
            Some("BucketVersioning")
                if after["spec"]["forProvider"]["versioningConfiguration"]["status"]
                    != "Enabled" =>
            {
                problems.push(format!("{name}: versioning of {bucket} is not Enabled"));
            }
            Some("BucketLifecycleConfiguration") => {
                for rule in after["spec"]["forProvider"]["rule"]
                    .as_array()
                    .into_iter()
                    .flatten()
                {
                    // Removing expired delete markers is housekeeping; days or a date
                    // would expire current objects.
                    let expires_current = rule["expiration"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .any(|e| !e["days"].is_null() || !e["date"].is_null());
                    if expires_current {
                        problems.push(format!(
                            "{name}: a rule expires current originals of {bucket}: {rule}"
                        ));
                    }
                }
                let days = |r: &Value| -> Vec<u64> {
                    r["spec"]["forProvider"]["rule"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .flat_map(|rule| {
                            rule["noncurrentVersionExpiration"]
                                .as_array()
                                .cloned()
                                .unwrap_or_default()
                        })
                        .filter_map(|e| e["noncurrentDays"].as_u64())
                        .collect()
                };
                if let Some(before) = old.get(name)
                    && days(after).iter().min() < days(before).iter().min()
                {
                    problems.push(format!(
                        "{name}: old versions of {bucket} kept {:?} days instead of {:?}",
                        days(after),
                        days(before)
                    ));
                }
            }
            _ => {}
        }
    }
    problems
}

#[test]
fn upgrading_from_the_previous_release_replaces_nothing_and_documents_every_change() {
    let changelog = std::fs::read_to_string(repo_root().join("CHANGELOG.md")).unwrap();
    let documented = changelog_names(&changelog);
    let mut all = Vec::new();
    for (claim, fixtures) in EXAMPLES {
        let dir = repo_root()
            .join("tests/upgrade")
            .join(PREVIOUS)
            .join(fixtures);
        let old = read_observed(&dir).unwrap();
        assert!(
            old.len() > 80,
            "{}: only {} resources",
            dir.display(),
            old.len()
        );
        let new = render_resources(&composite(claim), &old).unwrap();
        all.extend(
            upgrade_problems(&old, &new, &documented)
                .into_iter()
                .map(|p| format!("{claim}: {p}")),
        );
    }
    assert!(all.is_empty(), "{}", all.join("\n"));
}

/// The checks catch what they are for (each mutation is one a careless change could
/// make).
#[test]
fn the_upgrade_checks_catch_replacements_and_undocumented_changes() {
    let dir = repo_root()
        .join("tests/upgrade")
        .join(PREVIOUS)
        .join("complete");
    let old = read_observed(&dir).unwrap();
    let new = render_resources(&composite("complete.yaml"), &old).unwrap();
    let none = BTreeSet::new();
    let check = |mutate: &dyn Fn(&mut BTreeMap<String, Value>), want: &str| {
        let mut changed = new.clone();
        mutate(&mut changed);
        let found = upgrade_problems(&old, &changed, &none);
        assert!(
            found.iter().any(|p| p.contains(want)),
            "expected a problem with {want:?}, got {found:?}"
        );
    };
    check(
        &|r| {
            r.remove("variants");
        },
        "variants: dropped",
    );
    check(
        &|r| r.get_mut("cache-policy").unwrap()["kind"] = json!("OriginRequestPolicy"),
        "a replacement",
    );
    check(
        &|r| {
            r.get_mut("originals-primary").unwrap()["metadata"]["annotations"]["crossplane.io/external-name"] =
                json!("media-originals-2")
        },
        "external name",
    );
    check(
        &|r| r.get_mut("originals-primary").unwrap()["spec"]["deletionPolicy"] = json!("Delete"),
        "/spec/deletionPolicy",
    );
    check(
        &|r| {
            r.get_mut("distribution").unwrap()["spec"]["forProvider"]["priceClass"] =
                json!("PriceClass_100")
        },
        "does not name `distribution`",
    );
    check(
        &|r| {
            let lifecycle = r
                .values_mut()
                .find(|v| {
                    v["kind"] == "BucketLifecycleConfiguration"
                        && v.pointer(
                            "/spec/forProvider/bucketSelector/matchLabels/imagecdn.io~1component",
                        ) == Some(&json!("originals-primary"))
                })
                .unwrap();
            lifecycle["spec"]["forProvider"]["rule"][0]["expiration"] = json!([{"days": 30}]);
        },
        "expires current originals",
    );
}
