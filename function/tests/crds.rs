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
    // The namespaced twins (the namespaced API composes them).
    v.add_dir(&dir.join("namespaced"))
        .unwrap_or_else(|e| panic!("cannot load the namespaced provider CRDs: {e}"));
    // Crossplane's own kinds we compose (Usages) and ship (XRDs, Compositions, the
    // activation policy).
    v.add_dir(&dir.join("crossplane"))
        .unwrap_or_else(|e| panic!("cannot load Crossplane's CRDs: {e}"));
    // Secrets, which the namespaced API composes directly.
    v.add_core_kinds().expect("core kinds register");
    v.add_xrd(&xrd::definition_yaml())
        .expect("our XRD registers");
    v.add_xrd(&xrd::namespaced_definition_yaml())
        .expect("our namespaced XRD registers");
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
        ("v2/minimal.yaml", BTreeMap::new()),
        ("v2/complete.yaml", BTreeMap::new()),
        ("v2/complete.yaml", full_observed_v2()),
        ("v2/minimal.yaml", full_observed_v2()),
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
    let mut all = problems(&full_observed());
    all.extend(problems(&full_observed_v2()));
    assert!(all.is_empty(), "{}", all.join("\n"));
}

/// The namespaced API composes only namespaced kinds, each in the composite's namespace:
/// no cluster-scoped provider kind, no provider-kubernetes Object, no cluster Usage.
#[test]
fn the_namespaced_api_composes_only_namespaced_kinds_in_its_namespace() {
    let resources = render_resources(&composite("v2/complete.yaml"), &full_observed_v2()).unwrap();
    let mut wrong = Vec::new();
    for (name, r) in &resources {
        let api_version = r["apiVersion"].as_str().unwrap_or_default();
        let allowed = api_version.contains(".aws.m.upbound.io/")
            || api_version == "protection.crossplane.io/v1beta1"
            || (api_version == "v1" && r["kind"] == "Secret");
        if !allowed {
            wrong.push(format!("{name}: {api_version} {}", r["kind"]));
        }
        if r["metadata"]["namespace"] != "team-media" {
            wrong.push(format!("{name}: namespace {}", r["metadata"]["namespace"]));
        }
        if r["spec"].get("deletionPolicy").is_some() {
            wrong.push(format!(
                "{name}: deletionPolicy (namespaced kinds have none)"
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    // Originals are still kept by default.
    for bucket in [
        "originals-primary",
        "originals-replica-1",
        "originals-replica-2",
    ] {
        let policies = &resources[bucket]["spec"]["managementPolicies"];
        assert!(
            policies
                .as_array()
                .is_some_and(|p| !p.iter().any(|x| x == "Delete" || x == "*")),
            "{bucket}: {policies}"
        );
    }
}

/// What we ship to Crossplane itself (both XRDs, both Compositions, the activation
/// policy) validates against
/// Crossplane's own CRDs: an XRD is an object with a schema too.
#[test]
fn our_crossplane_objects_validate_against_crossplanes_crds() {
    let mut all = Vec::new();
    for file in [
        "apis/definition.yaml",
        "apis/composition.yaml",
        "apis/namespaced/definition.yaml",
        "apis/namespaced/composition.yaml",
        "apis/activation-policy.yaml",
    ] {
        let docs = function_imagecdn::render::read_yaml_stream(&repo_root().join(file)).unwrap();
        for doc in docs {
            all.extend(
                VALIDATOR
                    .validate(&doc)
                    .into_iter()
                    .map(|p| format!("{file}: {p}")),
            );
        }
    }
    assert!(all.is_empty(), "{}", all.join("\n"));
    // And the check has teeth: Crossplane's schema refuses what it does not define.
    let mut bad = xrd::namespaced_definition();
    bad["spec"]["scope"] = json!("Regional");
    bad["spec"]["claimNames"] = json!({"kind": "Img"});
    assert!(
        VALIDATOR.validate(&bad).len() >= 2,
        "{:?}",
        VALIDATOR.validate(&bad)
    );
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
    for claim in [
        "minimal.yaml",
        "complete.yaml",
        "v2/minimal.yaml",
        "v2/complete.yaml",
    ] {
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
