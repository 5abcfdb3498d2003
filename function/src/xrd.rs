//! Generates the XRD (`apis/definition.yaml`) from the typed spec in [`crate::spec`].
//!
//! schemars emits JSON Schema; Kubernetes wants a *structural* OpenAPI v3 subset. The
//! rewrite here inlines everything, turns `Option<T>` unions and `oneOf` enums back
//! into plain typed nodes, and drops keywords structural schemas reject.

use schemars::generate::SchemaSettings;
use serde_json::{Map, Value, json};

use crate::api::Api;
use crate::spec::{ImageCdnSpec, ImageCdnStatus};

pub const GROUP: &str = "imagecdn.io";
pub const VERSION: &str = "v1alpha1";
pub const XR_KIND: &str = "XImageCDN";
pub const CLAIM_KIND: &str = "ImageCDN";
pub const API_VERSION: &str = "imagecdn.io/v1alpha1";
/// The Composition the XRD selects by default.
pub const COMPOSITION_NAME: &str = "imagecdn-aws";

/// The namespaced API (Crossplane v2): the same spec, its own group so both XRDs can be
/// installed side by side (`imagecdns.imagecdn.io` is the claim's CRD), `.m.` as in
/// provider-aws's namespaced twins.
pub const NAMESPACED_GROUP: &str = "m.imagecdn.io";
pub const NAMESPACED_KIND: &str = "ImageCDN";
pub const NAMESPACED_API_VERSION: &str = "m.imagecdn.io/v1alpha1";
pub const NAMESPACED_COMPOSITION_NAME: &str = "imagecdn-aws-namespaced";

/// The structural OpenAPI schema of a Rust type.
pub fn structural_schema<T: schemars::JsonSchema>() -> Value {
    let generator = SchemaSettings::draft2020_12()
        .with(|s| {
            s.inline_subschemas = true;
            s.meta_schema = None;
        })
        .into_generator();
    let mut schema = generator.into_root_schema_for::<T>().to_value();
    make_structural(&mut schema);
    schema
}

/// Rewrites a JSON Schema node (recursively) into Kubernetes' structural subset.
fn make_structural(node: &mut Value) {
    let Value::Object(map) = node else { return };
    for key in [
        "$schema",
        "title",
        "format",
        "$defs",
        "additionalProperties",
    ] {
        if key == "additionalProperties" && !matches!(map.get(key), Some(Value::Bool(false))) {
            continue;
        }
        map.remove(key);
    }
    if map.get("default") == Some(&Value::Null) {
        map.remove("default");
    }
    collapse_nullable(map);
    collapse_const_one_of(map);
    if let Some(Value::Array(values)) = map.get_mut("enum") {
        values.retain(|v| !v.is_null());
    }
    if let Some(Value::String(d)) = map.get_mut("description") {
        *d = d.replace('\n', " ");
    }
    if let Some(Value::Array(types)) = map.get("type") {
        let non_null: Vec<Value> = types.iter().filter(|t| *t != "null").cloned().collect();
        if non_null.len() == 1 {
            map.insert("type".into(), non_null[0].clone());
        }
    }
    if map.remove("uniqueItems") == Some(Value::Bool(true))
        && !map.contains_key("x-kubernetes-list-type")
    {
        map.insert("x-kubernetes-list-type".into(), json!("set"));
    }
    // An object default only needs to exist: the API server fills nested defaults.
    if map.get("type") == Some(&json!("object")) && map.get("default").is_some_and(Value::is_object)
    {
        map.insert("default".into(), json!({}));
    }
    for key in ["properties"] {
        if let Some(Value::Object(props)) = map.get_mut(key) {
            for child in props.values_mut() {
                make_structural(child);
            }
        }
    }
    for key in ["items", "additionalProperties"] {
        if let Some(child) = map.get_mut(key) {
            make_structural(child);
        }
    }
}

/// `Option<Struct>` arrives as `anyOf: [{..}, {type: null}]`: keep the non-null branch,
/// with the outer description and default winning.
fn collapse_nullable(map: &mut Map<String, Value>) {
    let Some(Value::Array(branches)) = map.get("anyOf") else {
        return;
    };
    let non_null: Vec<&Value> = branches
        .iter()
        .filter(|b| b.get("type") != Some(&json!("null")))
        .collect();
    if non_null.len() != 1 {
        return;
    }
    let Value::Object(inner) = non_null[0].clone() else {
        return;
    };
    map.remove("anyOf");
    for (k, v) in inner {
        map.entry(k).or_insert(v);
    }
}

/// Enums whose variants carry doc comments arrive as `oneOf` of `const`s; structural
/// schemas want a plain `enum`, with the variants' docs folded into the description.
fn collapse_const_one_of(map: &mut Map<String, Value>) {
    let Some(Value::Array(branches)) = map.get("oneOf") else {
        return;
    };
    let mut values = Vec::new();
    let mut docs = Vec::new();
    for b in branches {
        let value = b
            .get("const")
            .cloned()
            .or_else(|| b.get("enum").and_then(|e| e.get(0)).cloned());
        let Some(value) = value else { return };
        if let Some(d) = b.get("description").and_then(Value::as_str) {
            docs.push(format!(
                "`{}`: {}",
                value.as_str().unwrap_or_default(),
                d.trim_end_matches('.')
            ));
        }
        values.push(value);
    }
    map.remove("oneOf");
    map.insert("type".into(), json!("string"));
    map.insert("enum".into(), Value::Array(values));
    if !docs.is_empty() {
        let base = map
            .get("description")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let joined = docs.join("; ");
        let description = if base.is_empty() {
            joined
        } else {
            format!("{base} {joined}")
        };
        map.insert("description".into(), json!(description));
    }
}

/// The spec schema as one API shows it: the fields that only mean something for the
/// other API are left out (the API server would prune them anyway).
fn spec_schema(api: Api) -> Value {
    let mut spec = structural_schema::<ImageCdnSpec>();
    spec["description"] = json!(
        "The desired image CDN: regions, transform limits, tenants, edge security, pre-compute, audit and domain."
    );
    crate::portal::annotate_spec(&mut spec);
    let provider_config = &mut spec["properties"]["providerConfig"]["properties"];
    let drop = |node: &mut Value, field: &str| {
        if let Some(props) = node.as_object_mut() {
            props.remove(field);
        }
    };
    match api {
        // Cluster-scoped managed resources only reference cluster-scoped ProviderConfigs.
        Api::Claim => drop(provider_config, "kind"),
        // Secrets are composed directly in the composite's namespace, and namespaced
        // managed resources only read Secrets of their own namespace.
        Api::Namespaced => {
            drop(provider_config, "kubernetes");
            drop(provider_config, "secretNamespace");
            drop(
                &mut spec["properties"]["tenants"]["items"]["properties"]["publicKeys"]["items"]["properties"]
                    ["secretRef"]["properties"],
                "namespace",
            );
        }
    }
    spec
}

fn version(api: Api) -> Value {
    let mut status = structural_schema::<ImageCdnStatus>();
    status["description"] =
        json!("What the CDN looks like in AWS, filled in as its resources become ready.");
    json!({
        "name": VERSION,
        "served": true,
        "referenceable": true,
        "additionalPrinterColumns": [
            {"name": "URL", "type": "string", "jsonPath": ".status.cdnUrl"},
            {"name": "DISTRIBUTION", "type": "string", "jsonPath": ".status.distributionId"},
            {"name": "PRIMARY", "type": "string", "jsonPath": ".spec.regions.primary"},
        ],
        "schema": {
            "openAPIV3Schema": {
                "type": "object",
                "description": "An image-derivative CDN on AWS: S3 originals in three regions, CloudFront with a generated key normalizer, a Lambda@Edge transform, WAF, signed URLs per tenant, pre-compute on upload and audit.",
                "required": ["spec"],
                "properties": {"spec": spec_schema(api), "status": status},
            }
        },
    })
}

/// Portals that build forms from XRDs (TeraSky's kubernetes-ingestor for Backstage)
/// list an XRD when it says so.
fn portal_annotations() -> Value {
    json!({"terasky.backstage.io/add-to-catalog": "true"})
}

/// The claim API's CompositeResourceDefinition (a `LegacyCluster` composite with an
/// `ImageCDN` claim), as a JSON value.
pub fn definition() -> Value {
    json!({
        "apiVersion": "apiextensions.crossplane.io/v1",
        "kind": "CompositeResourceDefinition",
        "metadata": {
            "name": format!("ximagecdns.{GROUP}"),
            "annotations": portal_annotations(),
        },
        "spec": {
            "scope": "LegacyCluster",
            "group": GROUP,
            "names": {"kind": XR_KIND, "plural": "ximagecdns", "categories": ["crossplane", "imagecdn"]},
            "claimNames": {"kind": CLAIM_KIND, "plural": "imagecdns", "categories": ["imagecdn"]},
            "defaultCompositionRef": {"name": COMPOSITION_NAME},
            "versions": [version(Api::Claim)],
        },
    })
}

/// The namespaced API's CompositeResourceDefinition (`apiextensions.crossplane.io/v2`,
/// no claim).
pub fn namespaced_definition() -> Value {
    json!({
        "apiVersion": "apiextensions.crossplane.io/v2",
        "kind": "CompositeResourceDefinition",
        "metadata": {
            "name": format!("imagecdns.{NAMESPACED_GROUP}"),
            "annotations": portal_annotations(),
        },
        "spec": {
            "scope": "Namespaced",
            "group": NAMESPACED_GROUP,
            "names": {"kind": NAMESPACED_KIND, "plural": "imagecdns", "categories": ["crossplane", "imagecdn"]},
            "defaultCompositionRef": {"name": NAMESPACED_COMPOSITION_NAME},
            "versions": [version(Api::Namespaced)],
        },
    })
}

/// An XRD as the YAML committed in `apis/`.
fn yaml_of(definition: &Value, path: &str, flag: &str) -> String {
    let header = format!(
        "# Generated by `function-imagecdn xrd{flag}` from function/src/spec.rs. Do not edit by hand:\n# change the Rust types and run `function-imagecdn xrd{flag} > {path}`.\n"
    );
    let body = serde_yaml_ng::to_string(definition).expect("a JSON value always serializes");
    format!("{header}{body}")
}

/// Where each XRD is committed.
pub const DEFINITION_PATH: &str = "apis/definition.yaml";
pub const NAMESPACED_DEFINITION_PATH: &str = "apis/namespaced/definition.yaml";

/// The claim XRD as committed in `apis/definition.yaml`.
pub fn definition_yaml() -> String {
    yaml_of(&definition(), DEFINITION_PATH, "")
}

/// The namespaced XRD as committed in `apis/namespaced/definition.yaml`.
pub fn namespaced_definition_yaml() -> String {
    yaml_of(
        &namespaced_definition(),
        NAMESPACED_DEFINITION_PATH,
        " --namespaced",
    )
}

/// The claim reference as a Markdown table (field, type, default, bounds,
/// description), generated from the same schema as the XRD for the README.
pub fn reference_markdown() -> String {
    let def = definition();
    let spec = &def["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"];
    let mut rows = Vec::new();
    reference_rows(spec, "spec", &mut rows);
    let mut out = String::from(
        "| field | type | default | bounds | description |\n| --- | --- | --- | --- | --- |\n",
    );
    for row in rows {
        out.push_str(&row);
        out.push('\n');
    }
    out
}

fn reference_rows(node: &Value, path: &str, rows: &mut Vec<String>) {
    let Some(props) = node.get("properties").and_then(Value::as_object) else {
        return;
    };
    let required: Vec<&str> = node
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    for (name, child) in props {
        let field = format!("{path}.{name}");
        let is_list = child.get("type") == Some(&json!("array"));
        let element = if is_list { &child["items"] } else { child };
        let mut kind = element
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("object")
            .to_string();
        if is_list {
            kind = format!("list of {kind}");
        }
        let mut bounds = Vec::new();
        if required.contains(&name.as_str()) {
            bounds.push("required".to_string());
        }
        for (key, label) in [
            ("minimum", "min"),
            ("maximum", "max"),
            ("minItems", "min items"),
            ("maxItems", "max items"),
            ("minLength", "min length"),
            ("maxLength", "max length"),
        ] {
            for n in [child, element] {
                if let Some(v) = n.get(key) {
                    let b = format!("{label} {v}");
                    if !bounds.contains(&b) {
                        bounds.push(b);
                    }
                }
            }
        }
        if let Some(values) = element.get("enum").and_then(Value::as_array) {
            let values: Vec<String> = values
                .iter()
                .map(|v| match v.as_str() {
                    Some(s) => format!("`{s}`"),
                    None => format!("`{v}`"),
                })
                .collect();
            bounds.push(if values.len() > 12 {
                format!("one of {} values (see the XRD)", values.len())
            } else {
                format!("one of {}", values.join(" "))
            });
        }
        if let Some(p) = element.get("pattern").and_then(Value::as_str) {
            bounds.push(format!("pattern `{}`", p.replace('|', "\\|")));
        }
        let default = child
            .get("default")
            .filter(|d| !d.is_object())
            .map(|d| format!("`{}`", d.to_string().trim_matches('"')))
            .unwrap_or_default();
        let description = child
            .get("description")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .replace('|', "\\|");
        rows.push(format!(
            "| `{field}` | {kind} | {default} | {} | {description} |",
            bounds.join(", ")
        ));
        let child_path = if is_list { format!("{field}[]") } else { field };
        reference_rows(element, &child_path, rows);
    }
}
