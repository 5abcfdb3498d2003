//! `function-imagecdn render`: runs RunFunction on a claim file, without a cluster.
//!
//! The claim (or composite) and optional observed resources are turned into the
//! RunFunctionRequest Crossplane would send; the desired composed resources of the
//! response are printed as a YAML stream, keys sorted, so output is byte-stable.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use function_sdk_rust::proto::v1::{Resource, RunFunctionRequest, Severity, State};
use function_sdk_rust::resource::{json_to_struct, struct_to_json};
use serde_json::{Value, json};

use crate::function;
use crate::xrd::{API_VERSION, CLAIM_KIND, NAMESPACED_API_VERSION, NAMESPACED_KIND, XR_KIND};

/// Crossplane's annotation naming a composed resource within its composition.
pub const RESOURCE_NAME_ANNOTATION: &str = "crossplane.io/composition-resource-name";

/// The complete example, rendered when no claim file is given.
pub const EMBEDDED_EXAMPLE: &str = include_str!("../../examples/complete.yaml");

/// Why rendering failed.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: not valid YAML: {source}")]
    Yaml {
        path: PathBuf,
        source: serde_yaml_ng::Error,
    },
    #[error("{0}")]
    Input(String),
    #[error("the function returned a fatal result: {0}")]
    Fatal(String),
}

/// A composite resource built from a claim or taken as is.
pub fn composite_from(doc: &Value) -> Result<Value, RenderError> {
    let api_version = doc.get("apiVersion").and_then(Value::as_str);
    let kind = doc.get("kind").and_then(Value::as_str);
    if api_version == Some(NAMESPACED_API_VERSION) && kind == Some(NAMESPACED_KIND) {
        // As `kubectl apply` would: no namespace means `default`.
        let mut xr = doc.clone();
        if xr.pointer("/metadata/namespace").is_none() {
            xr["metadata"]["namespace"] = json!("default");
        }
        return Ok(xr);
    }
    if api_version != Some(API_VERSION) || !matches!(kind, Some(CLAIM_KIND) | Some(XR_KIND)) {
        return Err(RenderError::Input(format!(
            "expected apiVersion {API_VERSION} and kind {CLAIM_KIND} or {XR_KIND}, or {NAMESPACED_API_VERSION} {NAMESPACED_KIND}; found {} {}",
            api_version.unwrap_or("(none)"),
            kind.unwrap_or("(none)")
        )));
    }
    let name = doc
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
        .ok_or_else(|| RenderError::Input("metadata.name: required".into()))?;
    if kind == Some(XR_KIND) {
        return Ok(doc.clone());
    }
    let mut labels = json!({"crossplane.io/claim-name": name});
    if let Some(ns) = doc.pointer("/metadata/namespace").and_then(Value::as_str) {
        labels["crossplane.io/claim-namespace"] = json!(ns);
    }
    Ok(json!({
        "apiVersion": API_VERSION,
        "kind": XR_KIND,
        "metadata": {"name": name, "labels": labels},
        "spec": doc.get("spec").cloned().unwrap_or(Value::Null),
    }))
}

/// Reads YAML documents from a file, skipping empty ones.
pub fn read_yaml_stream(path: &Path) -> Result<Vec<Value>, RenderError> {
    let text = std::fs::read_to_string(path).map_err(|source| RenderError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse_yaml_stream(&text, path)
}

fn parse_yaml_stream(text: &str, path: &Path) -> Result<Vec<Value>, RenderError> {
    let mut docs = Vec::new();
    for de in serde_yaml_ng::Deserializer::from_str(text) {
        let value: Value =
            serde::Deserialize::deserialize(de).map_err(|source| RenderError::Yaml {
                path: path.to_path_buf(),
                source,
            })?;
        if !value.is_null() {
            docs.push(value);
        }
    }
    Ok(docs)
}

/// Observed resources from a YAML file or a folder of them, keyed by their
/// composition resource name annotation.
pub fn read_observed(path: &Path) -> Result<BTreeMap<String, Value>, RenderError> {
    let files = if path.is_dir() {
        let mut files: Vec<PathBuf> = std::fs::read_dir(path)
            .map_err(|source| RenderError::Read {
                path: path.to_path_buf(),
                source,
            })?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
            .collect();
        files.sort();
        files
    } else {
        vec![path.to_path_buf()]
    };
    let mut observed = BTreeMap::new();
    for file in files {
        for doc in read_yaml_stream(&file)? {
            let name = doc
                .pointer(&format!(
                    "/metadata/annotations/{}",
                    RESOURCE_NAME_ANNOTATION.replace('/', "~1")
                ))
                .and_then(Value::as_str)
                .ok_or_else(|| {
                    RenderError::Input(format!(
                        "{}: an observed resource lacks the {RESOURCE_NAME_ANNOTATION} annotation",
                        file.display()
                    ))
                })?
                .to_string();
            observed.insert(name, doc);
        }
    }
    Ok(observed)
}

/// The request Crossplane would send for this composite and observed state.
pub fn request_for(composite: &Value, observed: &BTreeMap<String, Value>) -> RunFunctionRequest {
    let as_resource = |v: &Value| Resource {
        resource: v.as_object().map(json_to_struct),
        ..Default::default()
    };
    RunFunctionRequest {
        observed: Some(State {
            composite: Some(as_resource(composite)),
            resources: observed
                .iter()
                .map(|(k, v)| (k.clone(), as_resource(v)))
                .collect(),
        }),
        ..Default::default()
    }
}

/// Runs the function and returns the desired composed resources, annotated the way
/// Crossplane labels what it creates.
pub fn render_resources(
    composite: &Value,
    observed: &BTreeMap<String, Value>,
) -> Result<BTreeMap<String, Value>, RenderError> {
    let rsp = function::run(&request_for(composite, observed));
    let fatal: Vec<&str> = rsp
        .results
        .iter()
        .filter(|r| r.severity == Severity::Fatal as i32)
        .map(|r| r.message.as_str())
        .collect();
    if !fatal.is_empty() {
        return Err(RenderError::Fatal(fatal.join("; ")));
    }
    let xr_name = composite
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let mut out = BTreeMap::new();
    for (name, r) in rsp.desired.map(|d| d.resources).unwrap_or_default() {
        let Some(s) = r.resource.as_ref() else {
            continue;
        };
        let mut body = struct_to_json(s);
        let metadata = body
            .as_object_mut()
            .map(|o| o.entry("metadata").or_insert_with(|| json!({})));
        if let Some(Value::Object(m)) = metadata {
            m.insert("generateName".into(), json!(format!("{xr_name}-")));
            let annotations = m.entry("annotations").or_insert_with(|| json!({}));
            annotations[RESOURCE_NAME_ANNOTATION] = json!(name);
            let labels = m.entry("labels").or_insert_with(|| json!({}));
            labels["crossplane.io/composite"] = json!(xr_name);
        }
        out.insert(name, body);
    }
    Ok(out)
}

/// Serializes resources as a YAML stream, one document each, in name order.
pub fn to_yaml_stream(resources: &BTreeMap<String, Value>) -> String {
    resources
        .values()
        .map(|r| {
            let text = serde_yaml_ng::to_string(r).unwrap_or_default();
            format!("---\n{text}")
        })
        .collect()
}

/// The claim document of a file (or the embedded example), and its observed state.
fn inputs(
    claim: Option<&Path>,
    observed: Option<&Path>,
) -> Result<(Value, BTreeMap<String, Value>), RenderError> {
    let docs = match claim {
        Some(path) => read_yaml_stream(path)?,
        None => parse_yaml_stream(EMBEDDED_EXAMPLE, Path::new("examples/complete.yaml"))?,
    };
    let [doc] = docs.as_slice() else {
        return Err(RenderError::Input(format!(
            "expected exactly one ImageCDN document, found {}",
            docs.len()
        )));
    };
    let observed = match observed {
        Some(p) => read_observed(p)?,
        None => BTreeMap::new(),
    };
    Ok((doc.clone(), observed))
}

/// The `render` command: claim file (or the embedded example) and optional observed
/// state in, YAML stream out.
pub fn render(claim: Option<&Path>, observed: Option<&Path>) -> Result<String, RenderError> {
    let (doc, observed) = inputs(claim, observed)?;
    let composite = composite_from(&doc)?;
    Ok(to_yaml_stream(&render_resources(&composite, &observed)?))
}

/// The `describe` command: what kubectl shows for the claim in that observed state
/// (rewound to mid-install with `in_flight`).
pub fn describe(
    claim: Option<&Path>,
    observed: Option<&Path>,
    when: crate::describe::When,
) -> Result<String, RenderError> {
    use crate::describe::When;
    let (doc, observed) = inputs(claim, observed)?;
    let composite = composite_from(&doc)?;
    match when {
        When::AsObserved => crate::describe::describe(&doc, &composite, &observed, None),
        When::InFlight => {
            let in_flight = crate::simulate::in_flight(observed);
            crate::describe::describe(&doc, &composite, &in_flight, None)
        }
        When::AfterInFlight => {
            let in_flight = crate::simulate::in_flight(observed.clone());
            crate::describe::describe(&doc, &composite, &observed, Some(&in_flight))
        }
    }
}
