//! The two Crossplane APIs one function serves, and how a composite says which it is.
//!
//! - **Claims** (`imagecdn.io/v1alpha1`): an `ImageCDN` claim in a namespace binds a
//!   `XImageCDN` composite of scope `LegacyCluster`, which composes cluster-scoped
//!   managed resources (`*.aws.upbound.io`) and writes its Secrets through
//!   provider-kubernetes. Works on Crossplane 2 clusters that still use claims.
//! - **Namespaced** (`m.imagecdn.io/v1alpha1`): an `ImageCDN` composite of scope
//!   `Namespaced` (Crossplane 2's native form, no claim) composes namespaced managed
//!   resources (`*.aws.m.upbound.io`) and plain Secrets in its own namespace.
//!
//! Both are generated from the same spec types and mean the same: only the shape of
//! the composed resources differs (see [`crate::compose::namespaced`]).

use serde_json::Value;

use crate::names::Names;
use crate::xrd;

/// Which API a composite belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Api {
    /// `imagecdn.io` `XImageCDN` (usually behind an `ImageCDN` claim).
    Claim,
    /// `m.imagecdn.io` `ImageCDN`, namespaced.
    Namespaced,
}

/// Who is being composed: the API, the composite's name and the namespace its
/// Secrets live in (the claim's, or the namespaced composite's own).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Composite {
    pub api: Api,
    pub name: String,
    /// The claim's namespace (claim API, when there is a claim) or the composite's own
    /// (namespaced API, always set).
    pub namespace: Option<String>,
}

impl Composite {
    /// Reads the API, name and namespace of an observed composite; the error names the
    /// field that is wrong.
    pub fn of(composite: &Value) -> Result<Composite, String> {
        let api_version = composite
            .get("apiVersion")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let kind = composite
            .get("kind")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let api = match (api_version, kind) {
            (xrd::API_VERSION, xrd::XR_KIND) => Api::Claim,
            (xrd::NAMESPACED_API_VERSION, xrd::NAMESPACED_KIND) => Api::Namespaced,
            _ => {
                return Err(format!(
                    "apiVersion/kind: expected {} {} or {} {}, found {api_version:?} {kind:?}",
                    xrd::API_VERSION,
                    xrd::XR_KIND,
                    xrd::NAMESPACED_API_VERSION,
                    xrd::NAMESPACED_KIND
                ));
            }
        };
        let text = |pointer: &str| {
            composite
                .pointer(pointer)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        let name =
            text("/metadata/name").ok_or("metadata.name: the composite resource has no name")?;
        let namespace = match api {
            Api::Claim => text("/metadata/labels/crossplane.io~1claim-namespace"),
            Api::Namespaced => Some(
                text("/metadata/namespace")
                    .ok_or("metadata.namespace: a namespaced ImageCDN has no namespace")?,
            ),
        };
        Ok(Composite {
            api,
            name,
            namespace,
        })
    }

    /// The physical AWS names. A claim's composite name is already unique in the
    /// cluster (Crossplane adds a random suffix); a namespaced composite's name is only
    /// unique in its namespace, so its names also carry the namespace and a hash of
    /// both (`media` in `shop` and `media-shop` in `default` must never share buckets).
    pub fn names(&self) -> Names {
        match (self.api, &self.namespace) {
            (Api::Namespaced, Some(namespace)) => Names::namespaced(namespace, &self.name),
            _ => Names::new(&self.name),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn composites_say_their_api() {
        let claim = json!({"apiVersion": "imagecdn.io/v1alpha1", "kind": "XImageCDN",
            "metadata": {"name": "media-x7k2p", "labels": {"crossplane.io/claim-namespace": "shop"}}});
        let c = Composite::of(&claim).unwrap();
        assert_eq!(c.api, Api::Claim);
        assert_eq!(c.namespace.as_deref(), Some("shop"));
        let namespaced = json!({"apiVersion": "m.imagecdn.io/v1alpha1", "kind": "ImageCDN",
            "metadata": {"name": "media", "namespace": "shop"}});
        assert_eq!(Composite::of(&namespaced).unwrap().api, Api::Namespaced);
        let no_ns = json!({"apiVersion": "m.imagecdn.io/v1alpha1", "kind": "ImageCDN",
            "metadata": {"name": "media"}});
        assert!(
            Composite::of(&no_ns)
                .unwrap_err()
                .starts_with("metadata.namespace")
        );
        let other = json!({"apiVersion": "imagecdn.io/v1alpha1", "kind": "ImageCDN",
            "metadata": {"name": "media"}});
        assert!(
            Composite::of(&other)
                .unwrap_err()
                .starts_with("apiVersion/kind")
        );
    }

    #[test]
    fn namespaced_names_never_collide_across_namespaces() {
        let a = Composite {
            api: Api::Namespaced,
            name: "media".into(),
            namespace: Some("shop".into()),
        };
        let b = Composite {
            api: Api::Namespaced,
            name: "media-shop".into(),
            namespace: Some("default".into()),
        };
        let c = Composite {
            api: Api::Namespaced,
            name: "shop-media".into(),
            namespace: Some("default".into()),
        };
        let buckets: Vec<String> = [a, b, c]
            .iter()
            .map(|x| x.names().bucket("originals", "us-east-1"))
            .collect();
        assert_ne!(buckets[0], buckets[1]);
        assert_ne!(buckets[0], buckets[2]);
        assert!(buckets[0].starts_with("media-shop-"), "{}", buckets[0]);
    }
}
