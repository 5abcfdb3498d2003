//! The content of Crossplane packages: the `package.yaml` stream of the base layer and
//! the examples stream, checked the way `crossplane xpkg build` lints them.
//!
//! Like Crossplane's builder, `package.yaml` is re-encoded (one object per document,
//! keys sorted, comments dropped) as `---\n<meta>---\n<object>---\n...`, the package
//! metadata first. The examples layer keeps the files verbatim (comments are the
//! documentation), joined into one stream.

use std::fs;
use std::path::Path;

use anyhow::{Context, Result, bail};
use serde::Deserialize;
use serde_json::{Map, Value};

/// Crossplane's file names inside the layers.
pub const STREAM_FILE: &str = "package.yaml";
pub const EXAMPLES_FILE: &str = ".up/examples.yaml";
/// Crossplane's annotation values for those layers (`io.crossplane.xpkg`).
pub const BASE_ANNOTATION: &str = "base";
pub const EXAMPLES_ANNOTATION: &str = "upbound";

const META_GROUP: &str = "meta.pkg.crossplane.io/";
const REQUIRED_META_ANNOTATIONS: [&str; 5] = [
    "meta.crossplane.io/maintainer",
    "meta.crossplane.io/source",
    "meta.crossplane.io/license",
    "meta.crossplane.io/description",
    "meta.crossplane.io/readme",
];

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    Configuration,
    Function,
}

impl Kind {
    fn meta_kind(self) -> &'static str {
        match self {
            Kind::Configuration => "Configuration",
            Kind::Function => "Function",
        }
    }
}

/// Reads `path`, which must hold exactly one YAML document (a mapping).
pub fn read_one_object(path: &Path) -> Result<Value> {
    let text = fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut objects = Vec::new();
    for document in serde_yaml_ng::Deserializer::from_str(&text) {
        let value =
            Value::deserialize(document).with_context(|| format!("parsing {}", path.display()))?;
        if !value.is_null() {
            objects.push(value);
        }
    }
    match objects.len() {
        1 if objects[0].is_object() => Ok(objects.pop().expect("one object")),
        1 => bail!("{}: the document is not a mapping", path.display()),
        n => bail!(
            "{}: expected exactly one YAML document, found {n}",
            path.display()
        ),
    }
}

fn sorted(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            let mut out = Map::new();
            for (k, v) in entries {
                out.insert(k, sorted(v));
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sorted).collect()),
        other => other,
    }
}

fn str_at<'a>(value: &'a Value, pointer: &str) -> &'a str {
    value.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

/// `apiVersion`, `kind` and `metadata.name` of an object, for messages and listings.
pub fn identity(object: &Value) -> (String, String, String) {
    (
        str_at(object, "/apiVersion").to_string(),
        str_at(object, "/kind").to_string(),
        str_at(object, "/metadata/name").to_string(),
    )
}

fn lint_meta(kind: Kind, meta: &Value, path: &Path) -> Result<()> {
    let (api_version, meta_kind, name) = identity(meta);
    if !api_version.starts_with(META_GROUP) || meta_kind != kind.meta_kind() {
        bail!(
            "{}: expected a {}{} object first, found {api_version} {meta_kind}",
            path.display(),
            META_GROUP,
            kind.meta_kind()
        );
    }
    if name.is_empty() {
        bail!("{}: metadata.name is missing", path.display());
    }
    if kind == Kind::Function && !name.starts_with("function-") {
        bail!(
            "{}: a Function package's name must start with function- (is {name})",
            path.display()
        );
    }
    for key in REQUIRED_META_ANNOTATIONS {
        let value = meta
            .pointer("/metadata/annotations")
            .and_then(|a| a.get(key))
            .and_then(Value::as_str);
        if value.is_none_or(|v| v.trim().is_empty()) {
            bail!("{}: annotation {key} is missing", path.display());
        }
    }
    if kind == Kind::Function {
        let caps = meta.pointer("/spec/capabilities").and_then(Value::as_array);
        if !caps.is_some_and(|c| c.iter().any(|v| v == "composition")) {
            bail!(
                "{}: spec.capabilities must list composition",
                path.display()
            );
        }
    }
    Ok(())
}

fn lint_object(kind: Kind, object: &Value, path: &Path) -> Result<()> {
    let (api_version, object_kind, name) = identity(object);
    let group = api_version.split('/').next().unwrap_or("");
    let allowed = match kind {
        // What Crossplane 2's configuration linter accepts (crossplane-runtime v2
        // pkg/xpkg NewConfigurationLinter), less the operations we do not ship.
        Kind::Configuration => {
            group == "apiextensions.crossplane.io"
                && matches!(
                    object_kind.as_str(),
                    "CompositeResourceDefinition"
                        | "Composition"
                        | "ManagedResourceActivationPolicy"
                )
        }
        Kind::Function => {
            group == "apiextensions.k8s.io" && object_kind == "CustomResourceDefinition"
        }
    };
    if !allowed {
        bail!(
            "{}: a {:?} package cannot hold {api_version} {object_kind}",
            path.display(),
            kind
        );
    }
    if name.is_empty() {
        bail!("{}: metadata.name is missing", path.display());
    }
    Ok(())
}

/// The `package.yaml` stream: the metadata object of `meta_path`, then one object per
/// file of `objects`, in that order. Returns the stream and the metadata object.
pub fn package_stream(kind: Kind, meta_path: &Path, objects: &[&Path]) -> Result<(String, Value)> {
    let meta = read_one_object(meta_path)?;
    lint_meta(kind, &meta, meta_path)?;
    let mut stream = String::from("---\n");
    stream.push_str(&serde_yaml_ng::to_string(&sorted(meta.clone()))?);
    stream.push_str("---\n");
    for path in objects {
        let object = read_one_object(path)?;
        lint_object(kind, &object, path)?;
        stream.push_str(&serde_yaml_ng::to_string(&sorted(object))?);
        stream.push_str("---\n");
    }
    Ok((stream, meta))
}

/// The examples stream: each file verbatim (every document must have apiVersion and
/// kind), in the order given, separated by `---`.
pub fn examples_stream(files: &[&Path]) -> Result<String> {
    let mut stream = String::new();
    for path in files {
        let text =
            fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let mut count = 0;
        for document in serde_yaml_ng::Deserializer::from_str(&text) {
            let value = Value::deserialize(document)
                .with_context(|| format!("parsing {}", path.display()))?;
            if value.is_null() {
                continue;
            }
            let (api_version, object_kind, _) = identity(&value);
            if api_version.is_empty() || object_kind.is_empty() {
                bail!(
                    "{}: every example needs apiVersion and kind",
                    path.display()
                );
            }
            count += 1;
        }
        if count == 0 {
            bail!("{}: no example objects", path.display());
        }
        if !text.trim_start().starts_with("---") {
            stream.push_str("---\n");
        }
        stream.push_str(text.trim_end_matches('\n'));
        stream.push('\n');
    }
    Ok(stream)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
        let path = dir.join(name);
        fs::write(&path, text).unwrap();
        path
    }

    fn tempdir(tag: &str) -> std::path::PathBuf {
        let dir =
            std::env::temp_dir().join(format!("imagecdn-package-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    const META: &str = "# comment\napiVersion: meta.pkg.crossplane.io/v1\nkind: Configuration\nmetadata:\n  name: c\n  annotations:\n    meta.crossplane.io/maintainer: m\n    meta.crossplane.io/source: s\n    meta.crossplane.io/license: l\n    meta.crossplane.io/description: d\n    meta.crossplane.io/readme: r\n";

    #[test]
    fn stream_puts_meta_first_and_sorts_keys() {
        let dir = tempdir("stream");
        let meta = write(&dir, "crossplane.yaml", META);
        let comp = write(
            &dir,
            "comp.yaml",
            "kind: Composition\napiVersion: apiextensions.crossplane.io/v1\nmetadata: {name: x}\nspec: {b: 1, a: '80'}\n",
        );
        let (stream, _) = package_stream(Kind::Configuration, &meta, &[&comp]).unwrap();
        assert!(
            stream.starts_with("---\napiVersion: meta.pkg.crossplane.io/v1\nkind: Configuration\n"),
            "{stream}"
        );
        assert!(stream.ends_with("---\n"));
        assert!(!stream.contains("# comment"));
        let docs: Vec<Value> = serde_yaml_ng::Deserializer::from_str(&stream)
            .map(|d| Value::deserialize(d).unwrap())
            .filter(|v| !v.is_null())
            .collect();
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[1]["spec"]["a"], "80");
    }

    #[test]
    fn wrong_objects_are_refused() {
        let dir = tempdir("lint");
        let meta = write(&dir, "crossplane.yaml", META);
        let secret = write(
            &dir,
            "s.yaml",
            "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\n",
        );
        assert!(package_stream(Kind::Configuration, &meta, &[&secret]).is_err());
        let two = write(&dir, "two.yaml", &format!("{META}---\n{META}"));
        assert!(package_stream(Kind::Configuration, &two, &[]).is_err());
        assert!(package_stream(Kind::Function, &meta, &[]).is_err());
        let bare = write(
            &dir,
            "bare.yaml",
            "apiVersion: meta.pkg.crossplane.io/v1\nkind: Configuration\nmetadata: {name: c}\n",
        );
        assert!(package_stream(Kind::Configuration, &bare, &[]).is_err());
    }
}
