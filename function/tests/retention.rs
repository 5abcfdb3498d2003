//! Nothing grows without bound: old versions of originals expire after the claim's
//! recovery window in every originals bucket, and every log group our functions write
//! to exists with a retention (Lambda would otherwise create it without one).

mod common;

use common::*;
use function_imagecdn::render::render_resources;
use serde_json::{Value, json};

fn noncurrent_days(r: &Value) -> Option<u64> {
    r["spec"]["forProvider"]["rule"]
        .as_array()?
        .iter()
        .find_map(|rule| rule["noncurrentVersionExpiration"][0]["noncurrentDays"].as_u64())
}

#[test]
fn old_versions_of_originals_expire_in_every_region() {
    let mut xr = composite("complete.yaml");
    for (days, expected) in [(None, 30), (Some(90), 90)] {
        if let Some(d) = days {
            xr["spec"]["originals"]["noncurrentVersionDays"] = json!(d);
        }
        let r = render_resources(&xr, &full_observed()).unwrap();
        for b in [
            "originals-primary",
            "originals-replica-1",
            "originals-replica-2",
        ] {
            let lifecycle = &r[&format!("{b}-lifecycle")];
            assert_eq!(noncurrent_days(lifecycle), Some(expected), "{b}");
            assert_eq!(
                lifecycle["spec"]["forProvider"]["region"],
                r[b]["spec"]["forProvider"]["region"]
            );
            // Kept with the bucket it guards.
            assert_eq!(
                lifecycle["spec"]["deletionPolicy"], r[b]["spec"]["deletionPolicy"],
                "{b}"
            );
        }
    }
}

#[test]
fn every_function_log_group_exists_with_a_retention() {
    let r = render_resources(&composite("complete.yaml"), &full_observed()).unwrap();
    let groups: Vec<(&str, &str)> = r
        .values()
        .filter(|v| v["kind"] == "Group")
        .map(|v| {
            assert!(
                v["spec"]["forProvider"]["retentionInDays"]
                    .as_u64()
                    .is_some(),
                "{v}"
            );
            (
                v["metadata"]["annotations"]["crossplane.io/external-name"]
                    .as_str()
                    .unwrap(),
                v["spec"]["forProvider"]["region"].as_str().unwrap(),
            )
        })
        .collect();
    let renderer = &r["renderer-function"];
    let renderer_name = renderer["metadata"]["annotations"]["crossplane.io/external-name"]
        .as_str()
        .unwrap();
    let primary = renderer["spec"]["forProvider"]["region"].as_str().unwrap();
    assert!(
        groups.contains(&(&format!("/aws/lambda/{renderer_name}"), primary)),
        "{groups:?}"
    );
    let edge_name = r["edge-function"]["metadata"]["annotations"]["crossplane.io/external-name"]
        .as_str()
        .unwrap();
    let shield =
        r["distribution"]["spec"]["forProvider"]["origin"][0]["originShield"]["originShieldRegion"]
            .as_str()
            .unwrap();
    assert!(
        groups.contains(&(&format!("/aws/lambda/us-east-1.{edge_name}"), shield)),
        "{groups:?}"
    );
}
