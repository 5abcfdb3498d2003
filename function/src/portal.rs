//! Self-service portals: form hints in the XRD schemas, and a Backstage Software
//! Template generated from the same spec types.
//!
//! Backstage's scaffolder renders a template's parameters (JSON Schema plus inline
//! `ui:*` keys) with react-jsonschema-form and validates them with ajv. A portal does not
//! evaluate the XRD's CEL rules, so the template says them again in JSON Schema
//! (`if`/`then`) wherever JSON Schema can, and [`UNEXPRESSIBLE`] lists the rules only the
//! API server and the function enforce. TeraSky's kubernetes-ingestor, which builds
//! templates from XRDs itself, reads the `x-ui-order`, `x-ui-advanced` and `x-ui-hidden`
//! hints [`annotate_spec`] puts in both XRDs.

use serde_json::{Map, Value, json};

use crate::api::Api;
use crate::xrd;

/// Example values where a blank field leaves people guessing the shape (rjsf offers them
/// as suggestions).
const EXAMPLES: [(&str, &[&str]); 6] = [
    (
        "/properties/tenants/items/properties/prefix",
        &["shop", "partners/media"],
    ),
    (
        "/properties/tenants/items/properties/allowedReferers/items",
        &["shop.example.com", "*.shop.example.com"],
    ),
    (
        "/properties/artifacts/properties/edge/properties/bucket",
        &["acme-imagecdn-artifacts-us-east-1"],
    ),
    (
        "/properties/artifacts/properties/renderer/properties/bucket",
        &["acme-imagecdn-artifacts-us-east-1"],
    ),
    (
        "/properties/customDomain/properties/name",
        &["images.example.com"],
    ),
    (
        "/properties/customDomain/properties/hostedZoneId",
        &["Z0123456789EXAMPLE"],
    ),
];

/// The top-level fields a person fills in first, in this order.
pub const FIRST: [&str; 5] = [
    "tenants",
    "artifacts",
    "customDomain",
    "regions",
    "priceClass",
];
/// Tunables with good defaults: folded away under "advanced" by portals.
pub const ADVANCED: [&str; 6] = [
    "transform",
    "waf",
    "precompute",
    "audit",
    "originals",
    "providerConfig",
];

/// Cross-field rules a JSON Schema form cannot check (they compare a value with a list
/// or with a value of unbounded range): the XRD's CEL rules and the function refuse them,
/// naming the field, before anything is created.
pub const UNEXPRESSIBLE: [(&str, &str); 4] = [
    (
        "spec.transform.presets[].width / height",
        "at most spec.transform.maxWidth / maxHeight, and a width one of spec.transform.widthLadder",
    ),
    (
        "spec.transform.widthLadder",
        "every width at most spec.transform.maxWidth",
    ),
    ("spec.precompute.presets", "names of spec.transform.presets"),
    (
        "spec.tenants[].prefix",
        "no tenant's prefix inside another's (whole path segments)",
    ),
];

/// The portal hints of the XRD spec schema: `x-ui-order` on the fields people fill in
/// first, `x-ui-advanced` on the tunables.
pub fn annotate_spec(spec: &mut Value) {
    let Some(props) = spec.get_mut("properties").and_then(Value::as_object_mut) else {
        return;
    };
    for (i, field) in FIRST.iter().enumerate() {
        if let Some(p) = props.get_mut(*field) {
            p["x-ui-order"] = json!(i + 1);
        }
    }
    for field in ADVANCED {
        if let Some(p) = props.get_mut(field) {
            p["x-ui-advanced"] = json!(true);
        }
    }
}

/// `hostedZoneId` -> `Hosted zone ID`: a label for a field without a title.
fn label(key: &str) -> String {
    let mut words: Vec<String> = Vec::new();
    for c in key.chars() {
        if c.is_ascii_uppercase() || words.is_empty() {
            words.push(String::new());
        }
        if let Some(w) = words.last_mut() {
            w.push(c.to_ascii_lowercase());
        }
    }
    let words: Vec<String> = words
        .into_iter()
        .enumerate()
        .map(|(i, w)| match w.as_str() {
            "url" | "id" | "waf" | "ttl" | "aws" | "dns" => w.to_ascii_uppercase(),
            _ if i == 0 => w[..1].to_ascii_uppercase() + &w[1..],
            _ => w,
        })
        .collect();
    words.join(" ")
}

/// One schema node as a form field: Kubernetes-only keywords dropped, scalar `default`s
/// shown as placeholders (the form submits only what a person entered, and the API
/// server applies the defaults), sets of enums as checkboxes, and labels.
///
/// Lists keep their defaults: Backstage's form (rjsf, `emptyObjectFields:
/// populateAllDefaults`) submits an untouched list as `[]`, which would mean "no replicas",
/// "no formats" or "no managed rule groups" rather than the default; with the default in
/// the schema it submits the default instead.
fn form_node(node: &Value, key: Option<&str>) -> Value {
    let Value::Object(map) = node else {
        return node.clone();
    };
    let mut out = Map::new();
    for (k, v) in map {
        match k.as_str() {
            k if k.starts_with("x-kubernetes-") || k.starts_with("x-ui-") => {}
            "default" if v.is_array() => {
                out.insert(k.clone(), v.clone());
            }
            "default" => {
                if !v.is_object() && !v.is_boolean() {
                    let text = v
                        .as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| v.to_string());
                    out.insert("ui:placeholder".into(), json!(text));
                }
            }
            "properties" => {
                let props: Map<String, Value> = v
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(name, child)| (name.clone(), form_node(child, Some(name))))
                    .collect();
                out.insert(k.clone(), Value::Object(props));
            }
            "items" => {
                out.insert(k.clone(), form_node(v, None));
            }
            _ => {
                out.insert(k.clone(), v.clone());
            }
        }
    }
    defer_min_items(&mut out);
    if map.get("x-kubernetes-list-type") == Some(&json!("set")) {
        out.insert("uniqueItems".into(), json!(true));
        if map.get("items").is_some_and(|i| i.get("enum").is_some()) {
            out.insert("ui:widget".into(), json!("checkboxes"));
        }
    }
    if let Some(key) = key {
        out.entry("title").or_insert_with(|| json!(label(key)));
    }
    Value::Object(out)
}

/// rjsf fills every array with `minItems` empty items as soon as the form opens, even
/// inside an optional object a person never touches (`regions.replicas`,
/// `transform.formats`), and those empty items then fail validation. The bound moves into
/// an `if`/`then` of the parent object: checked as soon as the field is present, never
/// pre-filled. Required arrays (`tenants`) keep it, so their first item is shown.
fn defer_min_items(object: &mut Map<String, Value>) {
    let required: Vec<Value> = object
        .get("required")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let Some(Value::Object(props)) = object.get_mut("properties") else {
        return;
    };
    let mut rules = Vec::new();
    for (name, child) in props.iter_mut() {
        if required.contains(&json!(name)) {
            continue;
        }
        if let Some(min) = child.as_object_mut().and_then(|c| c.remove("minItems")) {
            rules.push(json!({
                "if": {"required": [name]},
                "then": {"properties": {name: {"minItems": min}}},
            }));
        }
    }
    if !rules.is_empty() {
        let all = object.entry("allOf").or_insert_with(|| json!([]));
        if let Some(list) = all.as_array_mut() {
            list.extend(rules);
        }
    }
}

fn enum_values(node: &Value) -> Vec<Value> {
    node["enum"].as_array().cloned().unwrap_or_default()
}

/// `field` equals `value`, or is absent and `value` is its default.
fn is(field: &str, value: &Value, default: Option<&Value>) -> Value {
    let equal = json!({"properties": {field: {"const": value}}, "required": [field]});
    if default == Some(value) {
        json!({"anyOf": [equal, {"not": {"required": [field]}}]})
    } else {
        equal
    }
}

/// The XRD's cross-field CEL rules that JSON Schema can say, as `if`/`then` rules on the
/// spec: each error lands on the field a person must change.
fn cross_field_rules(spec: &Value) -> Vec<Value> {
    let mut rules = Vec::new();
    // Replicas differ from the primary and from each other.
    let regions = &spec["properties"]["regions"];
    let primary = &regions["properties"]["primary"];
    let mut region_rules = Vec::new();
    for region in enum_values(primary) {
        region_rules.push(json!({
            "if": is("primary", &region, primary.get("default")),
            "then": {"properties": {"replicas": {"items": {"not": {"const": region}}}}},
        }));
    }
    rules.push(json!({"properties": {"regions": {
        "properties": {"replicas": {"uniqueItems": true}},
        "allOf": region_rules,
    }}}));

    // minQuality <= defaultQuality <= maxQuality (the XRD's chain; minQuality <=
    // maxQuality follows). JSON Schema cannot compare two fields, so: one rule per value
    // of defaultQuality (absent: its default) bounding the two others where present,
    // the error landing on minQuality or maxQuality; and one rule per absent bound (rjsf
    // leaves scalar defaults out of the form data) bounding defaultQuality by that
    // bound's default. One pivot, not one per bound: rjsf's ajv8 validator deep-compares
    // the whole form schema for every `if` it evaluates, on every change, so each rule
    // costs in proportion to the schema's size (200 rules made each change in a large
    // form take ~0.4 s on this machine's Node; these take a third of it).
    let transform = &spec["properties"]["transform"]["properties"];
    let bound = |key: &str| transform["defaultQuality"][key].as_u64().unwrap_or(0);
    let default = transform["defaultQuality"].get("default");
    let mut quality_rules: Vec<Value> = (bound("minimum")..=bound("maximum"))
        .map(|q| {
            json!({
                "if": is("defaultQuality", &json!(q), default),
                "then": {"properties": {
                    "minQuality": {"maximum": q},
                    "maxQuality": {"minimum": q},
                }},
            })
        })
        .collect();
    for (field, limit) in [("minQuality", "minimum"), ("maxQuality", "maximum")] {
        if let Some(value) = transform[field].get("default") {
            quality_rules.push(json!({
                "if": {"not": {"required": [field]}},
                "then": {"properties": {"defaultQuality": {limit: value}}},
            }));
        }
    }
    rules.push(json!({"properties": {"transform": {"allOf": quality_rules}}}));

    // A tenant that requires signed URLs has at least one public key.
    rules.push(json!({"properties": {"tenants": {"items": {
        "if": {"properties": {"requireSignedUrls": {"const": true}}, "required": ["requireSignedUrls"]},
        "then": {"required": ["publicKeys"], "properties": {"publicKeys": {"minItems": 1}}},
    }}}}));
    rules
}

/// The form schema of one API's spec: the XRD's schema as form fields, in the order
/// people fill them in, with the cross-field rules.
pub fn form_schema(api: Api) -> Value {
    let definition = match api {
        Api::Claim => xrd::definition(),
        Api::Namespaced => xrd::namespaced_definition(),
    };
    let spec =
        &definition["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"];
    let mut form = form_node(spec, None);
    form["title"] = json!("ImageCDN");
    let mut order: Vec<Value> = FIRST.iter().map(|f| json!(f)).collect();
    order.extend(ADVANCED.iter().map(|f| json!(f)));
    order.push(json!("*"));
    form["ui:order"] = Value::Array(order);
    for (pointer, examples) in EXAMPLES {
        if let Some(field) = form.pointer_mut(pointer) {
            field["examples"] = json!(examples);
        }
    }
    let mut rules = form["allOf"].as_array().cloned().unwrap_or_default();
    rules.extend(cross_field_rules(spec));
    form["allOf"] = Value::Array(rules);
    form
}

/// The Backstage Software Template of one API: a person fills in the ImageCDN, the
/// template writes it as a file and opens a pull request for review.
pub fn template(api: Api) -> Value {
    let (name, title, api_version, kind, skeleton) = match api {
        Api::Claim => (
            "imagecdn-claim",
            "Image CDN (claim)",
            xrd::API_VERSION,
            xrd::CLAIM_KIND,
            "./skeleton/claim",
        ),
        Api::Namespaced => (
            "imagecdn",
            "Image CDN (namespaced, Crossplane v2)",
            xrd::NAMESPACED_API_VERSION,
            xrd::NAMESPACED_KIND,
            "./skeleton/namespaced",
        ),
    };
    let dns_label = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$";
    json!({
        "apiVersion": "scaffolder.backstage.io/v1beta3",
        "kind": "Template",
        "metadata": {
            "name": name,
            "title": title,
            "description": format!("An image-derivative CDN on AWS ({api_version} {kind}): S3 originals in three regions, CloudFront with on-the-fly resizing, WAF, signed URLs and pre-compute. Opens a pull request with the ImageCDN for review."),
            "tags": ["crossplane", "aws", "cdn", "images"],
            "annotations": {"imagecdn.io/generated-by": "function-imagecdn backstage-template"},
        },
        "spec": {
            "owner": "group:platform-team",
            "type": "infrastructure",
            "parameters": [
                {
                    "title": "ImageCDN",
                    "required": ["name", "namespace", "spec"],
                    "properties": {
                        "name": {
                            "title": "Name",
                            "type": "string",
                            "description": "The ImageCDN's name: lowercase letters, digits and dashes (it starts the AWS names of its buckets and functions).",
                            "pattern": dns_label,
                            "maxLength": 40,
                        },
                        "namespace": {
                            "title": "Namespace",
                            "type": "string",
                            "description": "Your team's namespace: the ImageCDN, its Secrets and (namespaced API) its managed resources live there.",
                            "pattern": dns_label,
                            "maxLength": 63,
                        },
                        "spec": form_schema(api),
                    },
                },
                {
                    "title": "Review",
                    "required": ["repoUrl"],
                    "properties": {
                        "repoUrl": {
                            "title": "Repository",
                            "type": "string",
                            "description": "The GitOps repository the pull request goes to.",
                            "ui:field": "RepoUrlPicker",
                            "ui:options": {"allowedHosts": ["github.com"]},
                        },
                        "path": {
                            "title": "Folder",
                            "type": "string",
                            "description": "Where in the repository the ImageCDN file goes.",
                            "ui:placeholder": "imagecdn",
                        },
                    },
                },
            ],
            "steps": [
                {
                    "id": "write",
                    "name": "Write the ImageCDN",
                    "action": "fetch:template",
                    "input": {
                        "url": skeleton,
                        "targetPath": "${{ parameters.path or 'imagecdn' }}",
                        "values": {
                            "name": "${{ parameters.name }}",
                            "namespace": "${{ parameters.namespace }}",
                            "spec": "${{ parameters.spec }}",
                        },
                    },
                },
                {
                    "id": "publish",
                    "name": "Open a pull request",
                    "action": "publish:github:pull-request",
                    "input": {
                        "repoUrl": "${{ parameters.repoUrl }}",
                        "branchName": "imagecdn-${{ parameters.namespace }}-${{ parameters.name }}",
                        "title": "ImageCDN ${{ parameters.namespace }}/${{ parameters.name }}",
                        "description": "A new ImageCDN from the Backstage template. Once merged and applied, `kubectl describe` shows its progress (conditions StorageReady, DistributionReady, CertificateReady, EdgeFunctionReady).",
                    },
                },
            ],
            "output": {
                "links": [{"title": "Pull request", "url": "${{ steps.publish.output.remoteUrl }}"}],
            },
        },
    })
}

/// The skeleton file `fetch:template` renders: the ImageCDN, its spec as JSON (valid
/// YAML) exactly as the form produced it.
pub fn skeleton(api: Api) -> String {
    let (api_version, kind) = match api {
        Api::Claim => (xrd::API_VERSION, xrd::CLAIM_KIND),
        Api::Namespaced => (xrd::NAMESPACED_API_VERSION, xrd::NAMESPACED_KIND),
    };
    format!(
        "apiVersion: {api_version}\nkind: {kind}\nmetadata:\n  name: ${{{{ values.name }}}}\n  namespace: ${{{{ values.namespace }}}}\nspec: ${{{{ values.spec | dump }}}}\n"
    )
}

/// Where the generated files are committed, relative to the repository root.
pub fn files() -> Vec<(String, String)> {
    let yaml = |v: &Value| {
        format!(
            "# Generated by `function-imagecdn backstage-template` from function/src/spec.rs and\n# function/src/portal.rs. Do not edit by hand.\n{}",
            serde_yaml_ng::to_string(v).expect("a JSON value always serializes")
        )
    };
    vec![
        (
            "package/backstage/imagecdn-claim.yaml".into(),
            yaml(&template(Api::Claim)),
        ),
        (
            "package/backstage/imagecdn-namespaced.yaml".into(),
            yaml(&template(Api::Namespaced)),
        ),
        (
            "package/backstage/skeleton/claim/${{ values.name }}.yaml".into(),
            skeleton(Api::Claim),
        ),
        (
            "package/backstage/skeleton/namespaced/${{ values.name }}.yaml".into(),
            skeleton(Api::Namespaced),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_read_as_words() {
        assert_eq!(label("customDomain"), "Custom domain");
        assert_eq!(label("cdnUrl"), "Cdn URL");
        assert_eq!(label("hostedZoneId"), "Hosted zone ID");
    }

    #[test]
    fn defaults_become_placeholders_and_sets_of_enums_checkboxes() {
        let form = form_schema(Api::Claim);
        let max = &form["properties"]["transform"]["properties"]["maxWidth"];
        assert!(max.get("default").is_none());
        assert_eq!(max["ui:placeholder"], "4096");
        for (pointer, _) in EXAMPLES {
            assert!(form.pointer(pointer).is_some(), "{pointer} names no field");
        }
        let groups = &form["properties"]["waf"]["properties"]["managedRuleGroups"];
        assert_eq!(groups["ui:widget"], "checkboxes");
        assert_eq!(groups["uniqueItems"], true);
    }
}
