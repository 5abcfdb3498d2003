//! Kubernetes Secret manifests (`--secrets DIR`): what a cluster would hold for the
//! claim's `secretRef`s, read from YAML files (`stringData` or base64 `data`).

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result};
use base64::Engine;
use serde::Deserialize;
use serde_json::Value;

/// Secrets by (namespace, name): key -> value.
#[derive(Default, Debug)]
pub struct Secrets(BTreeMap<(String, String), BTreeMap<String, String>>);

impl Secrets {
    pub fn get(&self, namespace: &str, name: &str, key: &str) -> Option<String> {
        self.0
            .get(&(namespace.to_string(), name.to_string()))?
            .get(key)
            .cloned()
    }

    /// Every `kind: Secret` document of a YAML stream.
    pub fn from_yaml(text: &str) -> Result<Secrets> {
        let mut out = Secrets::default();
        out.add_yaml(text)?;
        Ok(out)
    }

    fn add_yaml(&mut self, text: &str) -> Result<()> {
        for doc in serde_yaml_ng::Deserializer::from_str(text) {
            let v = Value::deserialize(doc)?;
            if v["kind"] != "Secret" {
                continue;
            }
            let namespace = v
                .pointer("/metadata/namespace")
                .and_then(Value::as_str)
                .unwrap_or("default");
            let name = v
                .pointer("/metadata/name")
                .and_then(Value::as_str)
                .context("a Secret without metadata.name")?;
            let mut data = BTreeMap::new();
            for (k, val) in v["data"].as_object().into_iter().flatten() {
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(val.as_str().unwrap_or_default())
                    .with_context(|| {
                        format!("Secret {namespace}/{name}: data.{k} is not base64")
                    })?;
                data.insert(k.clone(), String::from_utf8_lossy(&bytes).into_owned());
            }
            for (k, val) in v["stringData"].as_object().into_iter().flatten() {
                data.insert(k.clone(), val.as_str().unwrap_or_default().to_string());
            }
            self.0
                .insert((namespace.to_string(), name.to_string()), data);
        }
        Ok(())
    }

    /// Every `*.yaml`/`*.yml` file of a folder.
    pub fn from_dir(dir: &Path) -> Result<Secrets> {
        let mut out = Secrets::default();
        for entry in std::fs::read_dir(dir)
            .with_context(|| format!("reading --secrets {}", dir.display()))?
        {
            let path = entry?.path();
            if matches!(
                path.extension().and_then(|e| e.to_str()),
                Some("yaml" | "yml")
            ) {
                let text = std::fs::read_to_string(&path)?;
                out.add_yaml(&text)
                    .with_context(|| format!("{}", path.display()))?;
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_data_and_data_are_read() {
        let s = Secrets::from_yaml(
            "apiVersion: v1\nkind: Secret\nmetadata: {name: a, namespace: n}\nstringData: {k: v}\ndata: {b: aGk=}\n---\nkind: ConfigMap\nmetadata: {name: c}\n",
        )
        .unwrap();
        assert_eq!(s.get("n", "a", "k").as_deref(), Some("v"));
        assert_eq!(s.get("n", "a", "b").as_deref(), Some("hi"));
        assert_eq!(s.get("n", "c", "k"), None);
        assert!(
            Secrets::from_yaml("kind: Secret\nmetadata: {name: a}\ndata: {k: '!!'}\n").is_err()
        );
    }
}
