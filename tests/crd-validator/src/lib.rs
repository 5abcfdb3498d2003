//! Strict validation of rendered Kubernetes objects against CRDs (and Crossplane XRDs), the
//! way a Kubernetes API server with strict field validation would do it:
//!
//! - `apiVersion`/`kind` must name a known kind and a served version;
//! - `metadata` is checked like ObjectMeta (name or generateName, label/annotation syntax,
//!   no `namespace` on a cluster-scoped kind, no unknown fields);
//! - the version's `openAPIV3Schema`, made strict: unknown fields are rejected wherever the
//!   API server would prune them; types, `required`, `enum`, bounds, `pattern`,
//!   `format: date-time`, `x-kubernetes-int-or-string`, `x-kubernetes-list-type`
//!   (`set`: unique items, `map`: unique by `x-kubernetes-list-map-keys`),
//!   `x-kubernetes-embedded-resource`, `allOf`/`anyOf`/`oneOf`/`not`;
//! - schema `default`s are applied, then every `x-kubernetes-validations` CEL rule is
//!   evaluated with `self` bound to its node (transition rules using `oldSelf` are compiled
//!   but not evaluated). A rule that fails to compile or evaluate is itself a problem.
//!
//! Stricter than the API server on purpose: a `null` for a non-nullable field without a
//! default is reported (the API server would silently drop it), and so is any field of an
//! object schema that declares neither `properties` nor `additionalProperties` nor
//! `x-kubernetes-preserve-unknown-fields` (the API server would prune it).
//!
//! # CEL
//! Rules are evaluated with the `cel` crate (standard library and macros `has`, `all`,
//! `exists`, `exists_one`, `map`, `filter`, `in`, `size`, `matches`, `startsWith`,
//! `endsWith`, `contains`, `duration`, `timestamp`, optionals `.?`/`orValue`, ...), its
//! strings/lists/math extensions (`lowerAscii`, `split`, `join`, `format`, `slice`,
//! `math.greatest`, ...) and, implemented here, the Kubernetes lists library (`isSorted`,
//! `sum`, `min`, `max`, `indexOf`, `lastIndexOf`), the regex library (`find`, `findAll`)
//! and the sets extension (`sets.contains`, `sets.equivalent`, `sets.intersects`).
//! Object property names are exposed with Kubernetes' escaping (`__namespace__`, `__dash__`,
//! ...); `number` fields are doubles, `integer` fields ints.
//!
//! Not supported (a rule using them is reported as "could not be evaluated", it never
//! passes): the Kubernetes URL (`url()`, `isURL()`), IP/CIDR (`ip()`, `cidr()`), quantity
//! (`quantity()`, `isQuantity()`), semver and authz libraries, two-variable comprehensions
//! (`all(k, v, ...)`, `transformList`, `transformMap`), `cel.bind` and `base64.*`. Rules
//! are not type-checked ahead of time (a typo in a field name shows only when the rule's
//! node is present), and no CEL cost budget is enforced.

mod celsupport;
mod meta;
mod schema;
mod validate;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use anyhow::{Context as _, bail};
use serde::Deserialize;
use serde_json::Value as Json;

use crate::schema::{Compiled, Compiler};
use crate::validate::{Walker, apply_defaults};

/// core/v1 Secret as a CRD (group ""), per the Kubernetes API reference.
const CORE_SECRET: &str = r#"
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: secrets.core}
spec:
  group: ""
  scope: Namespaced
  names: {kind: Secret, plural: secrets}
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            apiVersion: {type: string}
            kind: {type: string}
            metadata: {type: object}
            data:
              type: object
              additionalProperties: {type: string, format: byte}
            stringData:
              type: object
              additionalProperties: {type: string}
            type: {type: string}
            immutable: {type: boolean}
"#;

/// One validation problem: the JSON path (like `spec.forProvider.origin[0].domainName`) and a
/// message.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub path: String,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "(object): {}", self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// Where the shared CRDs live: `$IMAGECDN_CRDS_DIR` if set, else
/// `<workspace root>/../shared/crds`.
pub fn default_crds_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("IMAGECDN_CRDS_DIR") {
        if !dir.is_empty() {
            return PathBuf::from(dir);
        }
    }
    // CARGO_MANIFEST_DIR = <root>/tests/crd-validator
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let root = manifest.parent().and_then(Path::parent).unwrap_or(manifest);
    match root.parent() {
        Some(parent) => parent.join("shared").join("crds"),
        None => root.join("..").join("shared").join("crds"),
    }
}

struct VersionDef {
    name: String,
    served: bool,
    /// The version's `openAPIV3Schema` (None: no schema, anything goes).
    schema: Option<Json>,
    compiled: OnceLock<Arc<Compiled>>,
}

struct KindDef {
    group: String,
    kind: String,
    cluster_scoped: bool,
    /// Where it was defined, for messages ("CRD buckets.s3.aws.upbound.io").
    origin: String,
    versions: Vec<VersionDef>,
}

/// Validates objects against the registered CRDs and XRDs. Schemas are compiled lazily,
/// once per kind and version. `Validator` is `Send + Sync`, so it can live in a static.
pub struct Validator {
    env: Arc<cel::Env>,
    /// Kinds by (group, kind); each holds its versions.
    kinds: BTreeMap<(String, String), KindDef>,
}

impl Default for Validator {
    fn default() -> Self {
        Validator::new()
    }
}

impl fmt::Debug for Validator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Validator")
            .field("kinds", &self.kinds.keys().collect::<Vec<_>>())
            .finish()
    }
}

fn str_at<'a>(v: &'a Json, path: &[&str]) -> Option<&'a str> {
    let mut cur = v;
    for p in path {
        cur = cur.get(p)?;
    }
    cur.as_str()
}

/// Parses a YAML stream into its documents (empty documents are kept as `null`, so that
/// indices match the stream).
pub fn parse_yaml_stream(text: &str) -> anyhow::Result<Vec<Json>> {
    let mut docs = Vec::new();
    for (i, de) in serde_yaml_ng::Deserializer::from_str(text).enumerate() {
        let doc = Json::deserialize(de).with_context(|| format!("YAML document #{i}"))?;
        docs.push(doc);
    }
    Ok(docs)
}

/// `Kind/name` of an object, for reports.
pub fn describe(obj: &Json) -> String {
    let kind = str_at(obj, &["kind"]).unwrap_or("<no kind>");
    let name = match (
        str_at(obj, &["metadata", "name"]),
        str_at(obj, &["metadata", "generateName"]),
    ) {
        (Some(n), _) => n.to_string(),
        (None, Some(g)) => format!("{g}*"),
        (None, None) => "<no name>".to_string(),
    };
    format!("{kind}/{name}")
}

impl Validator {
    /// An empty validator (no kinds): add CRDs with [`Validator::add_crd`] and XRDs with
    /// [`Validator::add_xrd`].
    pub fn new() -> Validator {
        Validator {
            env: Arc::new(celsupport::new_env()),
            kinds: BTreeMap::new(),
        }
    }

    /// Loads every CRD (*.yaml, apiextensions.k8s.io/v1 CustomResourceDefinition) in the
    /// folder. Crossplane XRDs found there are registered too; other documents are ignored.
    pub fn from_dir(dir: &Path) -> anyhow::Result<Validator> {
        let mut validator = Validator::new();
        validator.add_dir(dir)?;
        Ok(validator)
    }

    /// Registers every CRD and XRD in one more folder (such as Crossplane's own CRDs);
    /// fails if it holds none.
    pub fn add_dir(&mut self, dir: &Path) -> anyhow::Result<usize> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .with_context(|| format!("reading CRD folder {}", dir.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
            .collect();
        files.sort();
        let mut crds = 0;
        for file in &files {
            let text = std::fs::read_to_string(file)
                .with_context(|| format!("reading {}", file.display()))?;
            let docs =
                parse_yaml_stream(&text).with_context(|| format!("parsing {}", file.display()))?;
            for doc in docs {
                let api_version = str_at(&doc, &["apiVersion"]).unwrap_or_default();
                let kind = str_at(&doc, &["kind"]).unwrap_or_default();
                if api_version.starts_with("apiextensions.k8s.io/")
                    && kind == "CustomResourceDefinition"
                {
                    self.add_crd_value(&doc)
                        .with_context(|| format!("loading CRD from {}", file.display()))?;
                    crds += 1;
                } else if api_version.starts_with("apiextensions.crossplane.io/")
                    && kind == "CompositeResourceDefinition"
                {
                    self.add_xrd_value(&doc)
                        .with_context(|| format!("loading XRD from {}", file.display()))?;
                    crds += 1;
                }
            }
        }
        if crds == 0 {
            bail!("no CustomResourceDefinition found in {}", dir.display());
        }
        Ok(crds)
    }

    /// Registers the built-in Kubernetes kinds a composition may compose directly (today
    /// `v1` `Secret`), as CRD-shaped schemas transcribed from the Kubernetes API reference
    /// (core/v1 Secret: `data` base64 strings, `stringData`, `type`, `immutable`).
    pub fn add_core_kinds(&mut self) -> anyhow::Result<()> {
        self.add_crd(CORE_SECRET)
    }

    /// Registers one CRD (apiextensions.k8s.io/v1 CustomResourceDefinition, YAML text).
    pub fn add_crd(&mut self, crd_yaml: &str) -> anyhow::Result<()> {
        let doc: Json = serde_yaml_ng::from_str(crd_yaml).context("parsing CRD YAML")?;
        self.add_crd_value(&doc)
    }

    fn add_crd_value(&mut self, crd: &Json) -> anyhow::Result<()> {
        let spec = crd.get("spec").context("CRD without spec")?;
        let group = str_at(spec, &["group"]).context("CRD without spec.group")?;
        let kind = str_at(spec, &["names", "kind"]).context("CRD without spec.names.kind")?;
        let scope = str_at(spec, &["scope"]).unwrap_or("Namespaced");
        let name = str_at(crd, &["metadata", "name"]).unwrap_or(kind);
        let versions = spec
            .get("versions")
            .and_then(Json::as_array)
            .context("CRD without spec.versions")?;
        let mut defs = Vec::new();
        for v in versions {
            let vname = str_at(v, &["name"]).context("CRD version without a name")?;
            defs.push(VersionDef {
                name: vname.to_string(),
                served: v.get("served").and_then(Json::as_bool).unwrap_or(false),
                schema: v
                    .get("schema")
                    .and_then(|s| s.get("openAPIV3Schema"))
                    .cloned(),
                compiled: OnceLock::new(),
            });
        }
        self.kinds.insert(
            (group.to_string(), kind.to_string()),
            KindDef {
                group: group.to_string(),
                kind: kind.to_string(),
                cluster_scoped: scope == "Cluster",
                origin: format!("CRD {name}"),
                versions: defs,
            },
        );
        Ok(())
    }

    /// Registers a Crossplane CompositeResourceDefinition (apiextensions.crossplane.io/v1,
    /// kind CompositeResourceDefinition, YAML text): its composite kind (spec.names) and, when
    /// spec.claimNames is set, its claim kind, for every served version, using
    /// spec.versions[].schema.openAPIV3Schema. The standard fields Crossplane adds to the
    /// generated CRDs (spec.compositionRef, spec.writeConnectionSecretToRef, status.conditions,
    /// ...) are accepted without deep validation.
    pub fn add_xrd(&mut self, xrd_yaml: &str) -> anyhow::Result<()> {
        let doc: Json = serde_yaml_ng::from_str(xrd_yaml).context("parsing XRD YAML")?;
        self.add_xrd_value(&doc)
    }

    fn add_xrd_value(&mut self, xrd: &Json) -> anyhow::Result<()> {
        let api_version = str_at(xrd, &["apiVersion"]).unwrap_or_default();
        let kind = str_at(xrd, &["kind"]).unwrap_or_default();
        if !api_version.starts_with("apiextensions.crossplane.io/")
            || kind != "CompositeResourceDefinition"
        {
            bail!(
                "not a Crossplane CompositeResourceDefinition: apiVersion {api_version:?}, kind {kind:?}"
            );
        }
        let v2 = api_version == "apiextensions.crossplane.io/v2";
        let spec = xrd.get("spec").context("XRD without spec")?;
        let group = str_at(spec, &["group"]).context("XRD without spec.group")?;
        let xr_kind = str_at(spec, &["names", "kind"]).context("XRD without spec.names.kind")?;
        let claim_kind = str_at(spec, &["claimNames", "kind"]);
        let name = str_at(xrd, &["metadata", "name"]).unwrap_or(xr_kind);
        // v1: composites are cluster-scoped, claims namespaced. v2: spec.scope.
        let xr_cluster_scoped = if v2 {
            matches!(str_at(spec, &["scope"]), Some("Cluster" | "LegacyCluster"))
        } else {
            true
        };
        let versions = spec
            .get("versions")
            .and_then(Json::as_array)
            .context("XRD without spec.versions")?;
        let build = |claim: bool| -> anyhow::Result<Vec<VersionDef>> {
            let mut defs = Vec::new();
            for v in versions {
                let vname = str_at(v, &["name"]).context("XRD version without a name")?;
                let schema = v
                    .get("schema")
                    .and_then(|s| s.get("openAPIV3Schema"))
                    .cloned()
                    .unwrap_or_else(|| serde_json::json!({"type": "object"}));
                defs.push(VersionDef {
                    name: vname.to_string(),
                    served: v.get("served").and_then(Json::as_bool).unwrap_or(false),
                    schema: Some(crossplane_schema(schema, claim, v2)),
                    compiled: OnceLock::new(),
                });
            }
            Ok(defs)
        };
        let xr_versions = build(false)?;
        self.kinds.insert(
            (group.to_string(), xr_kind.to_string()),
            KindDef {
                group: group.to_string(),
                kind: xr_kind.to_string(),
                cluster_scoped: xr_cluster_scoped,
                origin: format!("XRD {name}"),
                versions: xr_versions,
            },
        );
        if let Some(claim_kind) = claim_kind {
            let claim_versions = build(true)?;
            self.kinds.insert(
                (group.to_string(), claim_kind.to_string()),
                KindDef {
                    group: group.to_string(),
                    kind: claim_kind.to_string(),
                    cluster_scoped: false,
                    origin: format!("XRD {name} (claim)"),
                    versions: claim_versions,
                },
            );
        }
        Ok(())
    }

    /// Validates one object (already parsed). Returns every problem found, empty = valid.
    /// A `v1` `List` is validated item by item (paths prefixed with `items[i].`).
    pub fn validate(&self, obj: &Json) -> Vec<Problem> {
        let problem = |path: &str, message: String| {
            vec![Problem {
                path: path.to_string(),
                message,
            }]
        };
        if !obj.is_object() {
            return problem(
                "",
                format!("must be an object, got {}", validate::json_type(obj)),
            );
        }
        let api_version = match obj.get("apiVersion") {
            Some(Json::String(s)) if !s.is_empty() => s.as_str(),
            Some(other) if !other.is_string() => {
                return problem(
                    "apiVersion",
                    format!("must be a string, got {}", validate::short(other)),
                );
            }
            _ => return problem("apiVersion", "required field is missing".into()),
        };
        let kind = match obj.get("kind") {
            Some(Json::String(s)) if !s.is_empty() => s.as_str(),
            Some(other) if !other.is_string() => {
                return problem(
                    "kind",
                    format!("must be a string, got {}", validate::short(other)),
                );
            }
            _ => return problem("kind", "required field is missing".into()),
        };
        if api_version == "v1" && kind == "List" {
            let mut out = Vec::new();
            match obj.get("items").and_then(Json::as_array) {
                Some(items) => {
                    for (i, item) in items.iter().enumerate() {
                        out.extend(self.validate(item).into_iter().map(|p| Problem {
                            path: if p.path.is_empty() {
                                format!("items[{i}]")
                            } else {
                                format!("items[{i}].{}", p.path)
                            },
                            message: p.message,
                        }));
                    }
                }
                None => out.push(Problem {
                    path: "items".into(),
                    message: "a List needs an items array".into(),
                }),
            }
            return out;
        }
        let (group, version) = match api_version.split_once('/') {
            Some((g, v)) => (g, v),
            None => ("", api_version),
        };
        let Some(def) = self.kinds.get(&(group.to_string(), kind.to_string())) else {
            let known: Vec<&str> = self
                .kinds
                .values()
                .filter(|k| k.group == group)
                .map(|k| k.kind.as_str())
                .collect();
            let hint = if known.is_empty() {
                format!("no CRD is loaded for API group {group:?}")
            } else {
                format!("known kinds in {group:?}: {}", known.join(", "))
            };
            return problem(
                "kind",
                format!("unknown kind {kind:?} in {api_version:?} ({hint})"),
            );
        };
        let served: Vec<&str> = def
            .versions
            .iter()
            .filter(|v| v.served)
            .map(|v| v.name.as_str())
            .collect();
        let Some(ver) = def.versions.iter().find(|v| v.name == version) else {
            return problem(
                "apiVersion",
                format!(
                    "version {version:?} of {kind}.{group} does not exist (served versions: {})",
                    served.join(", ")
                ),
            );
        };
        if !ver.served {
            return problem(
                "apiVersion",
                format!(
                    "version {version:?} of {kind}.{group} is not served (served versions: {})",
                    served.join(", ")
                ),
            );
        }
        let compiled = ver.compiled.get_or_init(|| {
            let mut compiler = Compiler {
                env: &self.env,
                errors: Vec::new(),
                origin: format!("{} {}", def.origin, ver.name),
            };
            let root = match &ver.schema {
                Some(schema) => compiler.compile_root(schema),
                None => compiler.compile_root(&serde_json::json!({
                    "type": "object",
                    "x-kubernetes-preserve-unknown-fields": true
                })),
            };
            Arc::new(Compiled {
                root,
                errors: compiler.errors,
            })
        });
        let mut defaulted = obj.clone();
        apply_defaults(&mut defaulted, &compiled.root);
        let mut walker = Walker {
            env: &self.env,
            cluster_scoped: def.cluster_scoped.then_some(def.kind.as_str()),
            problems: compiled.errors.clone(),
        };
        walker.validate_root(&defaulted, &compiled.root);
        walker.problems
    }

    /// Validates every object of a YAML stream. Returns (document index, `Kind/name`,
    /// problem) for each problem; empty documents are skipped; a `v1` `List` document is
    /// validated item by item.
    pub fn validate_yaml_stream(
        &self,
        text: &str,
    ) -> anyhow::Result<Vec<(usize, String, Problem)>> {
        let mut out = Vec::new();
        for (i, doc) in parse_yaml_stream(text)?.iter().enumerate() {
            for (name, problem) in self.validate_document(doc) {
                out.push((i, name, problem));
            }
        }
        Ok(out)
    }

    /// Validates one parsed document: (`Kind/name`, problem) pairs. `null` (an empty
    /// document) is fine; a `v1` `List` is validated item by item.
    pub fn validate_document(&self, doc: &Json) -> Vec<(String, Problem)> {
        if doc.is_null() {
            return Vec::new();
        }
        if str_at(doc, &["apiVersion"]) == Some("v1") && str_at(doc, &["kind"]) == Some("List") {
            if let Some(items) = doc.get("items").and_then(Json::as_array) {
                return items
                    .iter()
                    .flat_map(|item| {
                        let name = describe(item);
                        self.validate(item)
                            .into_iter()
                            .map(move |p| (name.clone(), p))
                    })
                    .collect();
            }
        }
        let name = describe(doc);
        self.validate(doc)
            .into_iter()
            .map(|p| (name.clone(), p))
            .collect()
    }

    /// The registered kinds as `group/version Kind` strings (served versions only).
    pub fn kinds(&self) -> Vec<String> {
        self.kinds
            .values()
            .flat_map(|k| {
                k.versions
                    .iter()
                    .filter(|v| v.served)
                    .map(move |v| format!("{}/{} {}", k.group, v.name, k.kind))
            })
            .collect()
    }
}

/// The schema of the CRD Crossplane generates for an XRD version: the XRD's schema plus the
/// standard Crossplane fields (accepted without deep validation).
fn crossplane_schema(mut schema: Json, claim: bool, v2: bool) -> Json {
    let any = || serde_json::json!({"x-kubernetes-preserve-unknown-fields": true});
    let spec_fields: &[&str] = if v2 {
        &["crossplane", "writeConnectionSecretToRef"]
    } else if claim {
        &[
            "compositionRef",
            "compositionSelector",
            "compositionRevisionRef",
            "compositionRevisionSelector",
            "compositionUpdatePolicy",
            "compositeDeletePolicy",
            "resourceRef",
            "publishConnectionDetailsTo",
            "writeConnectionSecretToRef",
        ]
    } else {
        &[
            "compositionRef",
            "compositionSelector",
            "compositionRevisionRef",
            "compositionRevisionSelector",
            "compositionUpdatePolicy",
            "claimRef",
            "environmentConfigRefs",
            "resourceRefs",
            "publishConnectionDetailsTo",
            "writeConnectionSecretToRef",
        ]
    };
    let status_fields: &[&str] = &[
        "conditions",
        "connectionDetails",
        "claimConditionTypes",
        "crossplane",
    ];
    let Some(root) = schema.as_object_mut() else {
        return schema;
    };
    root.entry("type").or_insert_with(|| Json::from("object"));
    let props = root
        .entry("properties")
        .or_insert_with(|| serde_json::json!({}));
    let Some(props) = props.as_object_mut() else {
        return schema;
    };
    for (section, fields) in [("spec", spec_fields), ("status", status_fields)] {
        let sec = props
            .entry(section)
            .or_insert_with(|| serde_json::json!({"type": "object"}));
        if let Some(sec) = sec.as_object_mut() {
            let sec_props = sec
                .entry("properties")
                .or_insert_with(|| serde_json::json!({}));
            if let Some(sec_props) = sec_props.as_object_mut() {
                for f in fields {
                    sec_props.entry(*f).or_insert_with(any);
                }
            }
        }
    }
    schema
}

#[cfg(test)]
mod tests;
