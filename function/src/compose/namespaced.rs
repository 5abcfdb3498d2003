//! The namespaced API's form of a composed resource (Crossplane v2, provider-aws's
//! `*.aws.m.upbound.io` kinds).
//!
//! Builders write every resource once, in the claim API's form; for a namespaced
//! composite [`convert`] then rewrites each one. What changes, and nothing else:
//!
//! - `<group>.aws.upbound.io/<version>` becomes `<group>.aws.m.upbound.io/v1beta1`
//!   (provider-upjet-aws v2.6.0 serves each namespaced kind at `v1beta1`, with the
//!   fields of the cluster version we use: `../shared/crds/namespaced/`);
//! - the resource lives in the composite's namespace;
//! - `providerConfigRef` names its kind (`ClusterProviderConfig` or `ProviderConfig`);
//! - `deletionPolicy: Orphan` becomes `managementPolicies` without `Delete` (namespaced
//!   managed resources have no deletion policy); `Delete` is the default `["*"]`;
//! - Secret references lose their `namespace` (a namespaced managed resource reads
//!   Secrets of its own namespace only);
//! - a provider-kubernetes `Object` becomes the Secret it wraps (Crossplane v2 composes
//!   any kind directly);
//! - Usages become `protection.crossplane.io/v1beta1` Usages (namespaced), naming the
//!   namespaced kinds.
//!
//! Converting twice changes nothing: observed resources carried forward in this form
//! pass through unchanged.

use serde_json::{Map, Value, json};

use super::COMPONENT_LABEL;

/// Where a namespaced managed resource gets its AWS credentials.
pub struct ProviderConfigRef<'a> {
    pub kind: &'a str,
    pub name: &'a str,
}

/// The management policies of a resource kept when its composite is deleted: all but
/// `Delete` (Crossplane's equivalent of `deletionPolicy: Orphan`).
pub const KEEP: [&str; 4] = ["Observe", "Create", "Update", "LateInitialize"];

/// The Usage kind of the namespaced API.
pub const USAGE_API_VERSION: &str = "protection.crossplane.io/v1beta1";

const CLUSTER_SUFFIX: &str = ".aws.upbound.io";
const NAMESPACED_SUFFIX: &str = ".aws.m.upbound.io";

/// `s3.aws.upbound.io/v1beta2` -> `s3.aws.m.upbound.io/v1beta1`; already namespaced
/// and non-AWS versions are returned as they are.
pub fn namespaced_api_version(api_version: &str) -> String {
    match api_version.split_once('/') {
        Some((group, _)) if group.ends_with(CLUSTER_SUFFIX) => {
            let service = group.trim_end_matches(CLUSTER_SUFFIX);
            format!("{service}{NAMESPACED_SUFFIX}/v1beta1")
        }
        _ => api_version.to_string(),
    }
}

/// Whether a resource is kept when its composite is deleted, in either form.
pub fn is_kept(resource: &Value) -> bool {
    let spec = &resource["spec"];
    if spec["deletionPolicy"] == "Orphan" {
        return true;
    }
    spec["managementPolicies"]
        .as_array()
        .is_some_and(|p| !p.is_empty() && !p.iter().any(|x| x == "Delete" || x == "*"))
}

/// Rewrites one composed resource into the namespaced API's form, in place.
pub fn convert(resource: &mut Value, namespace: &str, provider_config: &ProviderConfigRef) {
    let api_version = resource["apiVersion"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let kind = resource["kind"].as_str().unwrap_or_default().to_string();
    if api_version.starts_with("kubernetes.crossplane.io/") && kind == "Object" {
        *resource = unwrapped_manifest(resource);
    } else if kind == "Usage" {
        resource["apiVersion"] = json!(USAGE_API_VERSION);
        for side in ["of", "by"] {
            if let Some(v) = resource["spec"][side]["apiVersion"].as_str() {
                resource["spec"][side]["apiVersion"] = json!(namespaced_api_version(v));
            }
        }
    } else if is_managed(&api_version) {
        resource["apiVersion"] = json!(namespaced_api_version(&api_version));
        let spec = resource["spec"].as_object_mut();
        if let Some(spec) = spec {
            managed_spec(spec, provider_config);
        }
    }
    resource["metadata"]["namespace"] = json!(namespace);
}

fn is_managed(api_version: &str) -> bool {
    api_version
        .split_once('/')
        .is_some_and(|(g, _)| g.ends_with(CLUSTER_SUFFIX) || g.ends_with(NAMESPACED_SUFFIX))
}

fn managed_spec(spec: &mut Map<String, Value>, provider_config: &ProviderConfigRef) {
    if let Some(policy) = spec.remove("deletionPolicy")
        && policy == "Orphan"
    {
        spec.insert("managementPolicies".into(), json!(KEEP));
    }
    spec.insert(
        "providerConfigRef".into(),
        json!({"kind": provider_config.kind, "name": provider_config.name}),
    );
    for parameters in ["forProvider", "initProvider"] {
        if let Some(p) = spec.get_mut(parameters) {
            local_secret_refs(p);
        }
    }
}

/// Drops `namespace` from every `*SecretRef` (the namespaced schemas have none).
fn local_secret_refs(node: &mut Value) {
    match node {
        Value::Object(map) => {
            for (key, child) in map.iter_mut() {
                if key.ends_with("SecretRef")
                    && let Some(r) = child.as_object_mut()
                {
                    r.remove("namespace");
                }
                local_secret_refs(child);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(local_secret_refs),
        _ => {}
    }
}

/// The manifest a provider-kubernetes Object wraps, carrying the Object's component
/// label (selectors and the deletion order find composed resources by it).
fn unwrapped_manifest(object: &Value) -> Value {
    let mut manifest = object["spec"]["forProvider"]["manifest"].clone();
    if let Some(component) = object["metadata"]["labels"][COMPONENT_LABEL].as_str() {
        manifest["metadata"]["labels"][COMPONENT_LABEL] = json!(component);
    }
    manifest
}

#[cfg(test)]
mod tests {
    use super::*;

    const PC: ProviderConfigRef = ProviderConfigRef {
        kind: "ClusterProviderConfig",
        name: "aws",
    };

    #[test]
    fn api_versions_map_to_the_namespaced_twins() {
        assert_eq!(
            namespaced_api_version("s3.aws.upbound.io/v1beta2"),
            "s3.aws.m.upbound.io/v1beta1"
        );
        assert_eq!(
            namespaced_api_version("cloudfront.aws.m.upbound.io/v1beta1"),
            "cloudfront.aws.m.upbound.io/v1beta1"
        );
        assert_eq!(namespaced_api_version("v1"), "v1");
    }

    #[test]
    fn kept_resources_keep_everything_but_delete() {
        let mut bucket = json!({
            "apiVersion": "s3.aws.upbound.io/v1beta2", "kind": "Bucket",
            "metadata": {"labels": {COMPONENT_LABEL: "originals"}},
            "spec": {"deletionPolicy": "Orphan", "providerConfigRef": {"name": "aws"},
                     "forProvider": {"region": "us-east-1"}},
        });
        convert(&mut bucket, "shop", &PC);
        assert_eq!(bucket["apiVersion"], "s3.aws.m.upbound.io/v1beta1");
        assert_eq!(bucket["metadata"]["namespace"], "shop");
        assert_eq!(bucket["spec"]["managementPolicies"], json!(KEEP));
        assert!(bucket["spec"].get("deletionPolicy").is_none());
        assert_eq!(
            bucket["spec"]["providerConfigRef"],
            json!({"kind": "ClusterProviderConfig", "name": "aws"})
        );
        assert!(is_kept(&bucket));
        let again = {
            let mut b = bucket.clone();
            convert(&mut b, "shop", &PC);
            b
        };
        assert_eq!(again, bucket, "converting twice changes nothing");

        let mut deleted = json!({"apiVersion": "s3.aws.upbound.io/v1beta2", "kind": "Bucket",
            "metadata": {}, "spec": {"deletionPolicy": "Delete", "forProvider": {}}});
        convert(&mut deleted, "shop", &PC);
        assert!(deleted["spec"].get("managementPolicies").is_none());
        assert!(!is_kept(&deleted));
    }

    #[test]
    fn secrets_are_composed_directly_and_read_locally() {
        let object = json!({
            "apiVersion": "kubernetes.crossplane.io/v1alpha2", "kind": "Object",
            "metadata": {"labels": {COMPONENT_LABEL: "viewer-function-code"}},
            "spec": {"forProvider": {"manifest": {
                "apiVersion": "v1", "kind": "Secret",
                "metadata": {"name": "media-viewer-code", "namespace": "shop"},
                "type": "Opaque", "stringData": {"code": "function handler(){}"},
            }}, "providerConfigRef": {"name": "default"}},
        });
        let mut secret = object.clone();
        convert(&mut secret, "shop", &PC);
        assert_eq!(secret["kind"], "Secret");
        assert_eq!(
            secret["metadata"]["labels"][COMPONENT_LABEL],
            "viewer-function-code"
        );
        assert_eq!(secret["metadata"]["namespace"], "shop");

        let mut function = json!({
            "apiVersion": "cloudfront.aws.upbound.io/v1beta1", "kind": "Function",
            "metadata": {}, "spec": {"forProvider": {"codeSecretRef":
                {"name": "media-viewer-code", "namespace": "shop", "key": "code"}}},
        });
        convert(&mut function, "shop", &PC);
        assert_eq!(
            function["spec"]["forProvider"]["codeSecretRef"],
            json!({"name": "media-viewer-code", "key": "code"})
        );
    }

    #[test]
    fn usages_name_namespaced_kinds() {
        let mut usage = json!({
            "apiVersion": "apiextensions.crossplane.io/v1beta1", "kind": "Usage",
            "metadata": {},
            "spec": {"of": {"apiVersion": "s3.aws.upbound.io/v1beta2", "kind": "Bucket"},
                     "by": {"apiVersion": "cloudfront.aws.upbound.io/v1beta2", "kind": "Distribution"}},
        });
        convert(&mut usage, "shop", &PC);
        assert_eq!(usage["apiVersion"], USAGE_API_VERSION);
        assert_eq!(
            usage["spec"]["of"]["apiVersion"],
            "s3.aws.m.upbound.io/v1beta1"
        );
        assert_eq!(
            usage["spec"]["by"]["apiVersion"],
            "cloudfront.aws.m.upbound.io/v1beta1"
        );
    }
}
