//! Read-only view of the composed resources Crossplane has observed.
//!
//! Values that only exist after creation (ARNs, IDs, domain names) are read here;
//! a builder that needs one and cannot find it waits, unless its own resource was
//! already observed with the value, which it then keeps (desired state must never
//! lose a field once applied).

use std::collections::BTreeMap;

use serde_json::Value;

/// Observed composed resources by composition resource name.
#[derive(Clone, Debug, Default)]
pub struct Observed {
    resources: BTreeMap<String, Value>,
}

impl Observed {
    pub fn new(resources: BTreeMap<String, Value>) -> Observed {
        Observed { resources }
    }

    pub fn get(&self, name: &str) -> Option<&Value> {
        self.resources.get(name)
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.resources.keys().map(String::as_str)
    }

    /// A non-empty string at `status.atProvider.<field>`.
    pub fn at_provider(&self, name: &str, field: &str) -> Option<String> {
        self.get(name)?
            .pointer(&format!("/status/atProvider/{field}"))?
            .as_str()
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    }

    /// Whether the resource reports `Ready=True`. A plain Kubernetes object without
    /// conditions of its own (a `v1` Secret, composed directly by the namespaced API) is
    /// ready once it exists.
    pub fn is_ready(&self, name: &str) -> bool {
        match self.get(name) {
            Some(r) if r["apiVersion"] == "v1" && r["kind"] == "Secret" => true,
            _ => self.condition(name, "Ready") == Some("True"),
        }
    }

    /// The status of condition `type` of resource `name`, if reported.
    pub fn condition(&self, name: &str, kind: &str) -> Option<&str> {
        self.get(name)?
            .pointer("/status/conditions")?
            .as_array()?
            .iter()
            .find(|c| c.get("type").and_then(Value::as_str) == Some(kind))?
            .get("status")?
            .as_str()
    }

    /// The value the resource itself was observed with at a JSON pointer
    /// (such as `/spec/forProvider/webAclId`).
    pub fn own(&self, name: &str, pointer: &str) -> Option<&Value> {
        self.get(name)?.pointer(pointer).filter(|v| !v.is_null())
    }
}
