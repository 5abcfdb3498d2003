//! The portal artifacts are generated (a drift test), the form schema says the XRD's
//! cross-field rules that JSON Schema can, and each rule it cannot is refused by the
//! function with a fatal result naming the field.

mod common;

use common::*;
use function_imagecdn::api::Api;
use function_imagecdn::portal;
use serde_json::{Value, json};

#[test]
fn committed_portal_files_are_generated() {
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    for (path, content) in portal::files() {
        let full = repo_root().join(&path);
        if update {
            std::fs::create_dir_all(full.parent().unwrap()).unwrap();
            std::fs::write(&full, &content).unwrap();
        }
        let committed = std::fs::read_to_string(&full).unwrap_or_default();
        assert!(
            committed == content,
            "{path} is stale: run `function-imagecdn backstage-template` (or UPDATE_GOLDEN=1 cargo test)"
        );
    }
}

/// Both XRDs carry the hints TeraSky's kubernetes-ingestor reads.
#[test]
fn xrds_carry_the_portal_hints() {
    for def in [
        function_imagecdn::xrd::definition(),
        function_imagecdn::xrd::namespaced_definition(),
    ] {
        assert_eq!(
            def["metadata"]["annotations"]["terasky.backstage.io/add-to-catalog"],
            "true"
        );
        let spec = &def["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"];
        for (i, field) in portal::FIRST.iter().enumerate() {
            assert_eq!(spec[field]["x-ui-order"], json!(i + 1), "{field}");
        }
        for field in portal::ADVANCED {
            assert_eq!(spec[field]["x-ui-advanced"], true, "{field}");
        }
    }
}

/// Each rule the form cannot say comes back from the function as a fatal result that
/// names the field, in words.
#[test]
fn rules_the_form_cannot_check_are_refused_by_the_function_naming_the_field() {
    let xr = composite("complete.yaml");
    let cases: &[(&str, Value, &str)] = &[
        (
            "/spec/transform/presets/0/width",
            json!(8000),
            "spec.transform.presets[0].width",
        ),
        (
            "/spec/transform/widthLadder",
            json!([320, 640, 9000]),
            "spec.transform.widthLadder[2]",
        ),
        (
            "/spec/precompute/presets",
            json!(["banner"]),
            "spec.precompute.presets[0]",
        ),
        (
            "/spec/tenants/1/prefix",
            json!("shop/partners"),
            "spec.tenants[1].prefix",
        ),
    ];
    assert_eq!(cases.len(), portal::UNEXPRESSIBLE.len());
    for (pointer, value, field) in cases {
        let mut bad = xr.clone();
        set(&mut bad, pointer, value.clone());
        let fatal = fatal_messages(&run(&bad, &Default::default()));
        assert!(
            fatal.iter().any(|m| m.contains(field)),
            "{pointer} = {value}: expected a fatal result naming {field}, got {fatal:?}"
        );
    }
}

#[test]
fn both_templates_write_their_api() {
    for (api, kind_line) in [
        (
            Api::Claim,
            "apiVersion: imagecdn.io/v1alpha1\nkind: ImageCDN\n",
        ),
        (
            Api::Namespaced,
            "apiVersion: m.imagecdn.io/v1alpha1\nkind: ImageCDN\n",
        ),
    ] {
        assert!(portal::skeleton(api).starts_with(kind_line));
        let t = portal::template(api);
        assert_eq!(t["kind"], "Template");
        assert_eq!(
            t["spec"]["parameters"][0]["properties"]["spec"]["title"],
            "ImageCDN"
        );
    }
}

/// A Backstage form submits an untouched list as `[]` (rjsf's `populateAllDefaults`):
/// for every list without a default in the schema, `[]` must mean what leaving it out
/// means (the lists with defaults carry them in the form schema instead).
#[test]
fn empty_lists_mean_the_same_as_absent_ones() {
    fn empty_lists(schema: &Value, at: &str, out: &mut Vec<String>) {
        let Some(props) = schema["properties"].as_object() else {
            return;
        };
        for (name, child) in props {
            let path = format!("{at}/{name}");
            if child["type"] == "array"
                && child.get("default").is_none()
                && child.get("minItems").is_none()
            {
                out.push(path.clone());
            }
            empty_lists(child, &path, out);
            if child["type"] == "array" {
                empty_lists(&child["items"], &format!("{path}/0"), out);
            }
        }
    }
    let form = portal::form_schema(Api::Claim);
    let mut paths = Vec::new();
    empty_lists(&form, "/spec", &mut paths);
    assert!(paths.len() >= 5, "{paths:?}");
    let xr = composite("minimal.yaml");
    let want = function_imagecdn::render::render_resources(&xr, &Default::default()).unwrap();
    let mut with_empty = xr.clone();
    for path in &paths {
        // Lists inside the first tenant, or in objects the minimal claim leaves out.
        set(&mut with_empty, path, json!([]));
    }
    let got = function_imagecdn::render::render_resources(&with_empty, &Default::default())
        .unwrap_or_else(|e| panic!("{paths:?} set to []: {e}"));
    assert_eq!(got, want, "{paths:?} set to [] changed what is composed");
}
