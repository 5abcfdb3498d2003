//! A structural OpenAPI v3 schema (the Kubernetes subset), compiled once per kind/version:
//! regexes built, CEL rules compiled.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::Value as Json;

use crate::Problem;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ty {
    Object,
    Array,
    String,
    Integer,
    Number,
    Boolean,
}

impl Ty {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Ty::Object => "object",
            Ty::Array => "array",
            Ty::String => "string",
            Ty::Integer => "integer",
            Ty::Number => "number",
            Ty::Boolean => "boolean",
        }
    }
}

#[derive(Debug, Default)]
pub(crate) enum Additional {
    /// No `additionalProperties`.
    #[default]
    Absent,
    /// `additionalProperties: true|false`.
    Bool(bool),
    /// `additionalProperties: {schema}` (a map).
    Schema(Box<Node>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ListType {
    Atomic,
    Set,
    Map,
}

/// One `x-kubernetes-validations` entry.
#[derive(Debug)]
pub(crate) struct Rule {
    pub(crate) rule: String,
    pub(crate) message: Option<String>,
    pub(crate) message_expression: Option<Arc<cel::Program>>,
    pub(crate) field_path: Option<String>,
    /// `None` when the rule did not compile (the error is a schema problem).
    pub(crate) program: Option<Arc<cel::Program>>,
    /// Uses `oldSelf`: a transition rule, not evaluated (there is no old object).
    pub(crate) transition: bool,
}

#[derive(Debug, Default)]
pub(crate) struct Node {
    pub(crate) ty: Option<Ty>,
    pub(crate) nullable: bool,
    pub(crate) int_or_string: bool,
    pub(crate) preserve_unknown: bool,
    pub(crate) embedded: bool,
    /// The root `metadata` (validated as ObjectMeta, not by schema).
    pub(crate) is_metadata: bool,
    pub(crate) properties: Option<BTreeMap<String, Node>>,
    pub(crate) additional: Additional,
    pub(crate) items: Option<Box<Node>>,
    pub(crate) required: Vec<String>,
    pub(crate) enum_values: Option<Vec<Json>>,
    pub(crate) minimum: Option<f64>,
    pub(crate) exclusive_minimum: bool,
    pub(crate) maximum: Option<f64>,
    pub(crate) exclusive_maximum: bool,
    pub(crate) multiple_of: Option<f64>,
    pub(crate) min_length: Option<u64>,
    pub(crate) max_length: Option<u64>,
    pub(crate) pattern: Option<(String, regex::Regex)>,
    pub(crate) format: Option<String>,
    pub(crate) min_items: Option<u64>,
    pub(crate) max_items: Option<u64>,
    pub(crate) unique_items: bool,
    pub(crate) min_properties: Option<u64>,
    pub(crate) max_properties: Option<u64>,
    pub(crate) list_type: Option<ListType>,
    pub(crate) list_map_keys: Vec<String>,
    pub(crate) default: Option<Json>,
    pub(crate) rules: Vec<Rule>,
    pub(crate) all_of: Vec<Node>,
    pub(crate) any_of: Vec<Node>,
    pub(crate) one_of: Vec<Node>,
    pub(crate) not: Option<Box<Node>>,
}

impl Node {
    /// Whether unknown fields of an object value are rejected (strict field validation:
    /// the API server would prune them).
    pub(crate) fn rejects_unknown_fields(&self) -> bool {
        if self.preserve_unknown || self.embedded {
            return false;
        }
        match self.additional {
            Additional::Absent => self.ty == Some(Ty::Object) || self.properties.is_some(),
            Additional::Bool(allowed) => !allowed,
            Additional::Schema(_) => false,
        }
    }

    /// A node that accepts anything (`x-kubernetes-preserve-unknown-fields: true`, no type).
    pub(crate) fn any() -> Node {
        Node {
            preserve_unknown: true,
            ..Node::default()
        }
    }

    pub(crate) fn string() -> Node {
        Node {
            ty: Some(Ty::String),
            ..Node::default()
        }
    }
}

/// The compiled schema of one kind/version.
#[derive(Debug)]
pub(crate) struct Compiled {
    pub(crate) root: Node,
    /// Problems in the schema itself (rules that do not compile, bad patterns, ...):
    /// reported on every object of the kind, so that nothing silently passes.
    pub(crate) errors: Vec<Problem>,
}

pub(crate) struct Compiler<'a> {
    pub(crate) env: &'a cel::Env,
    pub(crate) errors: Vec<Problem>,
    /// Where the schema comes from, for error messages ("CRD buckets.s3.aws.upbound.io v1beta2").
    pub(crate) origin: String,
}

fn join(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_string()
    } else {
        format!("{path}.{name}")
    }
}

impl Compiler<'_> {
    fn err(&mut self, path: &str, message: String) {
        self.errors.push(Problem {
            path: path.to_string(),
            message: format!("invalid schema ({}): {message}", self.origin),
        });
    }

    /// Compiles the `openAPIV3Schema` of a kind: the root object, with `apiVersion`,
    /// `kind` and `metadata` handled like the API server does.
    pub(crate) fn compile_root(&mut self, schema: &Json) -> Node {
        let mut root = self.compile(schema, "");
        if root.ty.is_none() {
            root.ty = Some(Ty::Object);
        }
        let props = root.properties.get_or_insert_with(BTreeMap::new);
        props.insert("apiVersion".into(), Node::string());
        props.insert("kind".into(), Node::string());
        props.insert(
            "metadata".into(),
            Node {
                ty: Some(Ty::Object),
                is_metadata: true,
                ..Node::default()
            },
        );
        root
    }

    pub(crate) fn compile(&mut self, schema: &Json, path: &str) -> Node {
        let mut node = Node::default();
        let Some(obj) = schema.as_object() else {
            self.err(path, format!("schema is not an object: {schema}"));
            return Node::any();
        };
        for (key, value) in obj {
            match key.as_str() {
                "type" => match value.as_str() {
                    Some("object") => node.ty = Some(Ty::Object),
                    Some("array") => node.ty = Some(Ty::Array),
                    Some("string") => node.ty = Some(Ty::String),
                    Some("integer") => node.ty = Some(Ty::Integer),
                    Some("number") => node.ty = Some(Ty::Number),
                    Some("boolean") => node.ty = Some(Ty::Boolean),
                    Some("") => {}
                    _ => self.err(path, format!("unsupported type {value}")),
                },
                "nullable" => node.nullable = value.as_bool().unwrap_or(false),
                "x-kubernetes-int-or-string" => {
                    node.int_or_string = value.as_bool().unwrap_or(false)
                }
                "x-kubernetes-preserve-unknown-fields" => {
                    node.preserve_unknown = value.as_bool().unwrap_or(false)
                }
                "x-kubernetes-embedded-resource" => {
                    node.embedded = value.as_bool().unwrap_or(false)
                }
                "properties" => match value.as_object() {
                    Some(props) => {
                        let mut map = BTreeMap::new();
                        for (name, prop) in props {
                            let child = self.compile(prop, &join(path, name));
                            map.insert(name.clone(), child);
                        }
                        node.properties = Some(map);
                    }
                    None => self.err(path, "properties is not an object".into()),
                },
                "additionalProperties" => match value {
                    Json::Bool(b) => node.additional = Additional::Bool(*b),
                    Json::Object(_) => {
                        node.additional =
                            Additional::Schema(Box::new(self.compile(value, &format!("{path}[*]"))))
                    }
                    _ => self.err(
                        path,
                        "additionalProperties is not a bool or a schema".into(),
                    ),
                },
                "items" => {
                    if value.is_object() {
                        node.items = Some(Box::new(self.compile(value, &format!("{path}[*]"))));
                    } else {
                        self.err(path, "items is not a single schema".into());
                    }
                }
                "required" => match value.as_array() {
                    Some(list) => {
                        node.required = list
                            .iter()
                            .filter_map(|v| v.as_str().map(str::to_string))
                            .collect()
                    }
                    None => self.err(path, "required is not a list".into()),
                },
                "enum" => match value.as_array() {
                    Some(list) => node.enum_values = Some(list.clone()),
                    None => self.err(path, "enum is not a list".into()),
                },
                "minimum" => node.minimum = value.as_f64(),
                "maximum" => node.maximum = value.as_f64(),
                "exclusiveMinimum" => node.exclusive_minimum = value.as_bool().unwrap_or(false),
                "exclusiveMaximum" => node.exclusive_maximum = value.as_bool().unwrap_or(false),
                "multipleOf" => node.multiple_of = value.as_f64(),
                "minLength" => node.min_length = value.as_u64(),
                "maxLength" => node.max_length = value.as_u64(),
                "minItems" => node.min_items = value.as_u64(),
                "maxItems" => node.max_items = value.as_u64(),
                "minProperties" => node.min_properties = value.as_u64(),
                "maxProperties" => node.max_properties = value.as_u64(),
                "uniqueItems" => node.unique_items = value.as_bool().unwrap_or(false),
                "pattern" => match value.as_str().map(|p| (p, regex::Regex::new(p))) {
                    Some((p, Ok(re))) => node.pattern = Some((p.to_string(), re)),
                    Some((p, Err(e))) => {
                        self.err(path, format!("pattern {p:?} does not compile: {e}"))
                    }
                    None => self.err(path, "pattern is not a string".into()),
                },
                "format" => node.format = value.as_str().map(str::to_string),
                "default" => node.default = Some(value.clone()),
                "x-kubernetes-list-type" => match value.as_str() {
                    Some("atomic") => node.list_type = Some(ListType::Atomic),
                    Some("set") => node.list_type = Some(ListType::Set),
                    Some("map") => node.list_type = Some(ListType::Map),
                    _ => self.err(path, format!("unsupported x-kubernetes-list-type {value}")),
                },
                "x-kubernetes-list-map-keys" => {
                    node.list_map_keys = value
                        .as_array()
                        .map(|l| {
                            l.iter()
                                .filter_map(|k| k.as_str().map(str::to_string))
                                .collect()
                        })
                        .unwrap_or_default()
                }
                "x-kubernetes-validations" => match value.as_array() {
                    Some(rules) => {
                        for rule in rules {
                            if let Some(rule) = self.compile_rule(rule, path) {
                                node.rules.push(rule);
                            }
                        }
                    }
                    None => self.err(path, "x-kubernetes-validations is not a list".into()),
                },
                "allOf" | "anyOf" | "oneOf" => {
                    let branches: Vec<Node> = value
                        .as_array()
                        .map(|l| l.iter().map(|b| self.compile(b, path)).collect())
                        .unwrap_or_default();
                    match key.as_str() {
                        "allOf" => node.all_of = branches,
                        "anyOf" => node.any_of = branches,
                        _ => node.one_of = branches,
                    }
                }
                "not" => node.not = Some(Box::new(self.compile(value, path))),
                "$ref" => self.err(path, "$ref is not allowed in a structural schema".into()),
                // Annotations without validation effect.
                "description" | "title" | "example" | "externalDocs" | "x-kubernetes-map-type" => {}
                _ => {}
            }
        }
        if node.list_type == Some(ListType::Map) && node.list_map_keys.is_empty() {
            self.err(
                path,
                "x-kubernetes-list-type: map without x-kubernetes-list-map-keys".into(),
            );
        }
        node
    }

    fn compile_rule(&mut self, rule: &Json, path: &str) -> Option<Rule> {
        let Some(text) = rule.get("rule").and_then(Json::as_str) else {
            self.err(
                path,
                format!("x-kubernetes-validations entry without a rule: {rule}"),
            );
            return None;
        };
        let program = match self.env.compile(text) {
            Ok(p) => Some(Arc::new(p)),
            Err(e) => {
                self.err(
                    path,
                    format!("x-kubernetes-validations rule {text:?} does not compile: {e}"),
                );
                None
            }
        };
        let transition = program
            .as_ref()
            .is_some_and(|p| p.references().has_variable("oldSelf"));
        let message_expression = match rule.get("messageExpression").and_then(Json::as_str) {
            Some(expr) => match self.env.compile(expr) {
                Ok(p) => Some(Arc::new(p)),
                Err(e) => {
                    self.err(
                        path,
                        format!("messageExpression {expr:?} does not compile: {e}"),
                    );
                    None
                }
            },
            None => None,
        };
        Some(Rule {
            rule: text.to_string(),
            message: rule
                .get("message")
                .and_then(Json::as_str)
                .filter(|m| !m.is_empty())
                .map(str::to_string),
            message_expression,
            field_path: rule
                .get("fieldPath")
                .and_then(Json::as_str)
                .map(str::to_string),
            program,
            transition,
        })
    }
}
