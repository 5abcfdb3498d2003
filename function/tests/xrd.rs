//! The XRD is generated from the Rust spec types: the committed file must match, and
//! every field a portal shows must carry a description and a type.

mod common;

use common::{readme_block_is, repo_root};
use function_imagecdn::xrd;
use serde_json::Value;

#[test]
fn committed_xrds_match_the_rust_types() {
    for (path, generated, flag) in [
        (xrd::DEFINITION_PATH, xrd::definition_yaml(), ""),
        (
            xrd::NAMESPACED_DEFINITION_PATH,
            xrd::namespaced_definition_yaml(),
            " --namespaced",
        ),
    ] {
        let committed = std::fs::read_to_string(repo_root().join(path)).unwrap();
        assert!(
            committed == generated,
            "{path} is stale: run `function-imagecdn xrd{flag} > {path}`"
        );
    }
}

/// One set of types, two APIs: the schemas differ only in the fields one API cannot
/// use (a claim's provider-kubernetes settings; a namespaced ImageCDN's config kind).
#[test]
fn both_apis_share_one_spec_except_their_own_fields() {
    fn paths(node: &Value, path: &str, out: &mut Vec<String>) {
        if let Some(props) = node.get("properties").and_then(Value::as_object) {
            for (k, v) in props {
                let p = format!("{path}.{k}");
                out.push(p.clone());
                paths(v, &p, out);
            }
        }
        if let Some(items) = node.get("items") {
            paths(items, &format!("{path}[]"), out);
        }
    }
    let spec_paths = |def: &Value| {
        let mut out = Vec::new();
        paths(
            &def["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"],
            "spec",
            &mut out,
        );
        out
    };
    let claim = spec_paths(&xrd::definition());
    let namespaced = spec_paths(&xrd::namespaced_definition());
    let only_claim: Vec<&String> = claim.iter().filter(|p| !namespaced.contains(p)).collect();
    let only_namespaced: Vec<&String> = namespaced.iter().filter(|p| !claim.contains(p)).collect();
    assert_eq!(
        only_claim,
        [
            "spec.providerConfig.kubernetes",
            "spec.providerConfig.secretNamespace",
            "spec.tenants[].publicKeys[].secretRef.namespace",
        ]
    );
    assert_eq!(only_namespaced, ["spec.providerConfig.kind"]);
    let ns = xrd::namespaced_definition();
    assert_eq!(ns["apiVersion"], "apiextensions.crossplane.io/v2");
    assert_eq!(ns["spec"]["scope"], "Namespaced");
    assert_ne!(
        ns["metadata"]["name"],
        format!("imagecdns.{}", xrd::GROUP),
        "the namespaced XRD's CRD must not clash with the claim's CRD"
    );
}

fn walk(node: &Value, path: &str, problems: &mut Vec<String>) {
    let Some(map) = node.as_object() else {
        problems.push(format!("{path}: not a schema object"));
        return;
    };
    if !map.contains_key("type") {
        problems.push(format!("{path}: no type"));
    }
    for banned in [
        "$ref",
        "anyOf",
        "oneOf",
        "allOf",
        "nullable",
        "additionalProperties",
        "const",
        "$defs",
    ] {
        if map.contains_key(banned) {
            problems.push(format!("{path}: non-structural keyword {banned}"));
        }
    }
    if let Some(Value::Object(props)) = map.get("properties") {
        for (name, child) in props {
            let child_path = format!("{path}.{name}");
            let described = child
                .get("description")
                .and_then(Value::as_str)
                .is_some_and(|d| d.len() > 10);
            if !described {
                problems.push(format!("{child_path}: no description"));
            }
            walk(child, &child_path, problems);
        }
    }
    if let Some(items) = map.get("items") {
        walk(items, &format!("{path}[]"), problems);
    }
}

#[test]
fn every_field_is_structural_typed_and_described() {
    for def in [xrd::definition(), xrd::namespaced_definition()] {
        let schema = &def["spec"]["versions"][0]["schema"]["openAPIV3Schema"];
        let mut problems = Vec::new();
        walk(schema, "", &mut problems);
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }
}

/// Fields that a portal should render with a default or a bound do have them.
#[test]
fn defaults_and_bounds_are_present() {
    let def = xrd::definition();
    let spec = &def["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"];
    let cases: &[(&str, &str)] = &[
        ("/regions/properties/primary/default", "us-east-1"),
        ("/transform/properties/maxWidth/default", "4096"),
        ("/transform/properties/maxWidth/maximum", "16384"),
        ("/transform/properties/defaultQuality/default", "80"),
        ("/waf/properties/rateLimit/default", "2000"),
        ("/waf/properties/rateLimit/minimum", "10"),
        ("/audit/properties/retentionDays/default", "365"),
        ("/priceClass/default", "\"PriceClass_All\""),
        ("/originals/properties/deletionPolicy/default", "\"Orphan\""),
        ("/tenants/maxItems", "50"),
        ("/transform/properties/presets/maxItems", "16"),
    ];
    for (pointer, want) in cases {
        let got = spec.pointer(pointer).map(|v| v.to_string());
        let want = want.trim_matches('"');
        assert_eq!(
            got.as_deref().map(|g| g.trim_matches('"')),
            Some(want),
            "{pointer}"
        );
    }
}

/// The README's claim reference is the generated one (`UPDATE_GOLDEN=1` rewrites it).
#[test]
fn readme_claim_reference_is_generated() {
    readme_block_is("reference", &xrd::reference_markdown());
}

/// The API server estimates each CEL rule's worst-case cost from the bounds of what it
/// reads (`maxItems`, `maxLength`, `enum`; a `pattern` does not count) and refuses a CRD
/// over budget. Every list and string a rule can reach is bounded, so the estimate is
/// finite and small. (The estimator itself runs only in the API server.)
#[test]
fn cel_rules_read_only_bounded_values() {
    fn walk(node: &Value, path: &str, under_rule: bool, unbounded: &mut Vec<String>) {
        let under_rule = under_rule || node.get("x-kubernetes-validations").is_some();
        if under_rule {
            match node.get("type").and_then(Value::as_str) {
                Some("array") if node.get("maxItems").is_none() => {
                    unbounded.push(format!("{path}: list without maxItems"))
                }
                Some("string") if node.get("maxLength").is_none() && node.get("enum").is_none() => {
                    unbounded.push(format!("{path}: string without maxLength or enum"))
                }
                _ => {}
            }
        }
        if let Some(props) = node.get("properties").and_then(Value::as_object) {
            for (k, v) in props {
                walk(v, &format!("{path}.{k}"), under_rule, unbounded);
            }
        }
        if let Some(items) = node.get("items") {
            walk(items, &format!("{path}[]"), under_rule, unbounded);
        }
    }
    for def in [xrd::definition(), xrd::namespaced_definition()] {
        let spec = &def["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"];
        assert!(
            spec.get("x-kubernetes-validations").is_some(),
            "spec-level rules exist"
        );
        let mut unbounded = Vec::new();
        walk(spec, "spec", false, &mut unbounded);
        assert!(unbounded.is_empty(), "{}", unbounded.join("\n"));
    }
}
