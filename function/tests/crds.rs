//! Every rendered resource validates strictly against the real provider CRDs in
//! `../shared/crds` (unknown fields, types, required fields and the
//! `x-kubernetes-validations` CEL rules), and every example claim validates against
//! our own XRD, CEL rules included.

mod common;

use std::collections::BTreeMap;
use std::sync::LazyLock;

use common::*;
use crd_validator::{Validator, default_crds_dir};
use function_imagecdn::render::render_resources;
use function_imagecdn::xrd;
use serde_json::{Value, json};

static VALIDATOR: LazyLock<Validator> = LazyLock::new(|| {
    let dir = default_crds_dir();
    let mut v = Validator::from_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot load the provider CRDs from {}: {e}", dir.display()));
    // Crossplane's own kinds we compose (Usages).
    v.add_dir(&dir.join("crossplane"))
        .unwrap_or_else(|e| panic!("cannot load Crossplane's CRDs: {e}"));
    v.add_xrd(&xrd::definition_yaml())
        .expect("our XRD registers");
    v
});

fn problems(resources: &BTreeMap<String, Value>) -> Vec<String> {
    resources
        .iter()
        .flat_map(|(name, r)| {
            VALIDATOR
                .validate(r)
                .into_iter()
                .map(move |p| format!("{name} ({}): {p}", r["kind"]))
        })
        .collect()
}

#[test]
fn every_rendered_resource_validates_against_the_provider_crds() {
    let cases = [
        ("minimal.yaml", BTreeMap::new()),
        ("complete.yaml", BTreeMap::new()),
        ("complete.yaml", full_observed()),
        ("minimal.yaml", full_observed()),
    ];
    let mut all = Vec::new();
    for (claim, observed) in cases {
        let resources = render_resources(&composite(claim), &observed).expect("renders");
        assert!(
            resources.len() > 30,
            "{claim}: only {} resources",
            resources.len()
        );
        all.extend(problems(&resources));
    }
    assert!(
        all.is_empty(),
        "{} problems:\n{}",
        all.len(),
        all.join("\n")
    );
}

#[test]
fn observed_fixtures_validate_including_status() {
    let all = problems(&full_observed());
    assert!(all.is_empty(), "{}", all.join("\n"));
}

#[test]
fn the_validator_catches_what_the_api_server_would_refuse() {
    let resources = render_resources(&composite("complete.yaml"), &full_observed()).unwrap();
    let mut dist = resources["distribution"].clone();
    set(&mut dist, "/spec/forProvider/region", json!("us-east-1"));
    assert!(
        !VALIDATOR.validate(&dist).is_empty(),
        "a global kind must not take a region"
    );
    let mut function = resources["viewer-function"].clone();
    remove(&mut function, "/spec/forProvider/codeSecretRef");
    assert!(
        !VALIDATOR.validate(&function).is_empty(),
        "codeSecretRef is required"
    );
}

#[test]
fn example_claims_validate_against_our_xrd() {
    for claim in ["minimal.yaml", "complete.yaml"] {
        let docs = function_imagecdn::render::read_yaml_stream(&example(claim)).unwrap();
        let found = VALIDATOR.validate(&docs[0]);
        assert!(found.is_empty(), "{claim}: {found:?}");
    }
    let xr = function_imagecdn::render::read_yaml_stream(&example("render/xr.yaml")).unwrap();
    assert!(VALIDATOR.validate(&xr[0]).is_empty());
}

/// The XRD's CEL rules refuse the same bad claims as the function, with a message
/// naming the field, before the function ever runs.
#[test]
fn xrd_cel_rules_refuse_bad_claims() {
    let docs = function_imagecdn::render::read_yaml_stream(&example("complete.yaml")).unwrap();
    let claim = docs[0].clone();
    let cases: &[(&str, Value, &str)] = &[
        (
            "/spec/regions/replicas/1",
            json!("us-east-1"),
            "spec.regions.replicas: must differ from the primary region",
        ),
        (
            "/spec/regions/replicas/1",
            json!("eu-west-1"),
            "the two replicas must differ",
        ),
        ("/spec/regions/primary", json!("mars-north-1"), "primary"),
        (
            "/spec/transform/minQuality",
            json!(95),
            "minQuality <= defaultQuality <= maxQuality",
        ),
        (
            "/spec/transform/widthLadder",
            json!([320, 5000]),
            "spec.transform.widthLadder",
        ),
        (
            "/spec/transform/presets/0/width",
            json!(5000),
            "spec.transform.presets[].width",
        ),
        (
            "/spec/transform/presets/0/width",
            json!(250),
            "must be one of spec.transform.widthLadder",
        ),
        (
            "/spec/transform/presets/2/fit",
            json!("cover"),
            "fit needs both width and height",
        ),
        (
            "/spec/precompute/presets/0",
            json!("banner"),
            "spec.precompute.presets",
        ),
        (
            "/spec/tenants/1/publicKeys",
            json!([]),
            "needs at least one public key",
        ),
        ("/spec/tenants", json!([]), "tenants"),
        (
            "/spec/waf/rateLimitWindowSeconds",
            json!(90),
            "rateLimitWindowSeconds",
        ),
        ("/spec/waf/logRequests", json!("Sometimes"), "logRequests"),
        ("/spec/transform/maxWidht", json!(1), "maxWidht"),
    ];
    let mut failures = Vec::new();
    for (pointer, value, expected) in cases {
        let mut bad = claim.clone();
        set(&mut bad, pointer, value.clone());
        let found: Vec<String> = VALIDATOR
            .validate(&bad)
            .iter()
            .map(ToString::to_string)
            .collect();
        if !found.iter().any(|p| p.contains(expected)) {
            failures.push(format!(
                "{pointer} = {value}: expected {expected:?}, got {found:?}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
