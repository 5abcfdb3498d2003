//! Defaulting, schema validation and CEL rule evaluation of one object.

use std::sync::Arc;

use serde_json::Value as Json;

use crate::Problem;
use crate::celsupport::to_cel;
use crate::meta::validate_metadata;
use crate::schema::{Additional, ListType, Node, Rule, Ty};

pub(crate) fn json_type(v: &Json) -> &'static str {
    match v {
        Json::Null => "null",
        Json::Bool(_) => "boolean",
        Json::Number(n) if n.is_f64() => "number",
        Json::Number(_) => "integer",
        Json::String(_) => "string",
        Json::Array(_) => "array",
        Json::Object(_) => "object",
    }
}

/// A short rendering of a value for messages.
pub(crate) fn short(v: &Json) -> String {
    let s = serde_json::to_string(v).unwrap_or_default();
    if s.chars().count() > 80 {
        let cut: String = s.chars().take(77).collect();
        format!("{cut}...")
    } else {
        s
    }
}

fn join(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_string()
    } else {
        format!("{path}.{name}")
    }
}

/// Applies schema defaults, like the API server: a missing property (or a `null` one that
/// is not nullable) with a `default` is set, only where its parent object exists; then
/// recursively into properties, map values and list items.
pub(crate) fn apply_defaults(value: &mut Json, node: &Node) {
    if node.is_metadata {
        return;
    }
    match value {
        Json::Object(obj) => {
            if let Some(props) = &node.properties {
                for (name, prop) in props {
                    if let Some(default) = &prop.default {
                        let missing = match obj.get(name) {
                            None => true,
                            Some(Json::Null) => !prop.nullable,
                            Some(_) => false,
                        };
                        if missing {
                            obj.insert(name.clone(), default.clone());
                        }
                    }
                }
            }
            for (name, child) in obj.iter_mut() {
                let child_node = node
                    .properties
                    .as_ref()
                    .and_then(|p| p.get(name))
                    .or(match &node.additional {
                        Additional::Schema(s) => Some(s.as_ref()),
                        _ => None,
                    });
                if let Some(child_node) = child_node {
                    apply_defaults(child, child_node);
                }
            }
        }
        Json::Array(items) => {
            if let Some(item_node) = &node.items {
                for item in items.iter_mut() {
                    if item.is_null() && !item_node.nullable {
                        if let Some(default) = &item_node.default {
                            *item = default.clone();
                        }
                    }
                    apply_defaults(item, item_node);
                }
            }
        }
        _ => {}
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Full validation: unknown fields, list types, CEL rules.
    Full,
    /// Inside allOf/anyOf/oneOf/not: value validations only.
    ValueOnly,
}

pub(crate) struct Walker<'a> {
    pub(crate) env: &'a Arc<cel::Env>,
    /// `Some(kind)` when the kind is cluster-scoped.
    pub(crate) cluster_scoped: Option<&'a str>,
    pub(crate) problems: Vec<Problem>,
}

fn numbers_equal(a: &Json, b: &Json) -> bool {
    match (a, b) {
        (Json::Number(x), Json::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(i), Some(j)) => i == j,
            _ => x.as_f64() == y.as_f64(),
        },
        (Json::Array(x), Json::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| numbers_equal(a, b))
        }
        (Json::Object(x), Json::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| numbers_equal(v, w)))
        }
        _ => a == b,
    }
}

fn is_date_time(s: &str) -> bool {
    // RFC 3339: 2006-01-02T15:04:05[.frac](Z|+07:00)
    let b = s.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| r.clone().all(|i| b.get(i).is_some_and(u8::is_ascii_digit));
    if b.len() < 20
        || !digits(0..4)
        || b[4] != b'-'
        || !digits(5..7)
        || b[7] != b'-'
        || !digits(8..10)
        || !matches!(b[10], b'T' | b't' | b' ')
        || !digits(11..13)
        || b[13] != b':'
        || !digits(14..16)
        || b[16] != b':'
        || !digits(17..19)
    {
        return false;
    }
    let mut i = 19;
    if b[i] == b'.' {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return false;
        }
    }
    match &b[i..] {
        [b'Z' | b'z'] => true,
        [b'+' | b'-', h1, h2, b':', m1, m2] => [h1, h2, m1, m2].iter().all(|c| c.is_ascii_digit()),
        _ => false,
    }
}

impl Walker<'_> {
    fn push(&mut self, path: &str, message: impl Into<String>) {
        self.problems.push(Problem {
            path: path.to_string(),
            message: message.into(),
        });
    }

    /// Validates the (defaulted) root object.
    pub(crate) fn validate_root(&mut self, value: &Json, root: &Node) {
        self.check(value, root, "", Mode::Full);
    }

    /// Validates `value` against `node`. Returns false when the subtree has type errors
    /// (then the CEL rules of this node are not evaluated, as in the API server).
    fn check(&mut self, value: &Json, node: &Node, path: &str, mode: Mode) -> bool {
        if node.is_metadata {
            validate_metadata(value, path, true, self.cluster_scoped, &mut self.problems);
            return true;
        }
        if value.is_null() {
            if node.nullable || (node.ty.is_none() && !node.int_or_string && node.preserve_unknown)
            {
                return true;
            }
            if mode == Mode::ValueOnly && node.ty.is_none() {
                return true;
            }
            self.push(
                path,
                "must not be null (the field is not nullable; the API server would drop it)",
            );
            return false;
        }

        // Type.
        if node.int_or_string {
            let ok = value.is_string() || value.as_i64().is_some() || value.as_u64().is_some();
            if !ok {
                self.push(
                    path,
                    format!(
                        "must be an integer or a string, got {} {}",
                        json_type(value),
                        short(value)
                    ),
                );
                return false;
            }
        } else if let Some(ty) = node.ty {
            let ok = match ty {
                Ty::Object => value.is_object(),
                Ty::Array => value.is_array(),
                Ty::String => value.is_string(),
                Ty::Integer => value.as_i64().is_some() || value.as_u64().is_some(),
                Ty::Number => value.is_number(),
                Ty::Boolean => value.is_boolean(),
            };
            if !ok {
                self.push(
                    path,
                    format!(
                        "must be of type {}, got {} {}",
                        ty.name(),
                        json_type(value),
                        short(value)
                    ),
                );
                return false;
            }
        }

        let mut type_ok = true;

        if let Some(values) = &node.enum_values {
            if !values.iter().any(|e| numbers_equal(e, value)) {
                let allowed: Vec<String> = values.iter().map(short).collect();
                self.push(
                    path,
                    format!(
                        "unsupported value {}: must be one of {}",
                        short(value),
                        allowed.join(", ")
                    ),
                );
            }
        }

        match value {
            Json::String(s) => self.check_string(s, node, path),
            Json::Number(n) => self.check_number(n, node, path),
            Json::Array(items) => type_ok &= self.check_array(items, node, path, mode),
            Json::Object(obj) => type_ok &= self.check_object(obj, node, path, mode),
            _ => {}
        }

        // allOf / anyOf / oneOf / not: value validations.
        for branch in &node.all_of {
            type_ok &= self.check(value, branch, path, Mode::ValueOnly);
        }
        if !node.any_of.is_empty() {
            let matched = node
                .any_of
                .iter()
                .any(|b| self.sub_check(value, b, path).is_empty());
            if !matched {
                let first = self.sub_check(value, &node.any_of[0], path);
                self.push(
                    path,
                    format!(
                        "must match at least one of the anyOf schemas ({})",
                        summarize(&first)
                    ),
                );
            }
        }
        if !node.one_of.is_empty() {
            let matching = node
                .one_of
                .iter()
                .filter(|b| self.sub_check(value, b, path).is_empty())
                .count();
            if matching != 1 {
                self.push(
                    path,
                    format!("must match exactly one of the oneOf schemas, matches {matching}"),
                );
            }
        }
        if let Some(not) = &node.not {
            if self.sub_check(value, not, path).is_empty() {
                self.push(path, "must not match the schema in \"not\"");
            }
        }

        if mode == Mode::Full && type_ok && !node.rules.is_empty() {
            self.eval_rules(value, node, path);
        }
        type_ok
    }

    fn sub_check(&self, value: &Json, node: &Node, path: &str) -> Vec<Problem> {
        let mut sub = Walker {
            env: self.env,
            cluster_scoped: self.cluster_scoped,
            problems: Vec::new(),
        };
        sub.check(value, node, path, Mode::ValueOnly);
        sub.problems
    }

    fn check_string(&mut self, s: &str, node: &Node, path: &str) {
        let len = s.chars().count() as u64;
        if let Some(min) = node.min_length {
            if len < min {
                self.push(
                    path,
                    format!("must be at least {min} characters long, got {len}"),
                );
            }
        }
        if let Some(max) = node.max_length {
            if len > max {
                self.push(
                    path,
                    format!("may be at most {max} characters long, got {len}"),
                );
            }
        }
        if let Some((source, re)) = &node.pattern {
            if !re.is_match(s) {
                self.push(path, format!("{s:?} does not match the pattern {source:?}"));
            }
        }
        if node.format.as_deref() == Some("date-time") && !is_date_time(s) {
            self.push(path, format!("{s:?} is not an RFC 3339 date-time"));
        }
    }

    fn check_number(&mut self, n: &serde_json::Number, node: &Node, path: &str) {
        let Some(x) = n.as_f64() else { return };
        if let Some(min) = node.minimum {
            if x < min || (node.exclusive_minimum && x == min) {
                let op = if node.exclusive_minimum { ">" } else { ">=" };
                self.push(path, format!("must be {op} {min}, got {n}"));
            }
        }
        if let Some(max) = node.maximum {
            if x > max || (node.exclusive_maximum && x == max) {
                let op = if node.exclusive_maximum { "<" } else { "<=" };
                self.push(path, format!("must be {op} {max}, got {n}"));
            }
        }
        if let Some(m) = node.multiple_of {
            if m != 0.0 && (x / m).fract() != 0.0 {
                self.push(path, format!("must be a multiple of {m}, got {n}"));
            }
        }
    }

    fn check_array(&mut self, items: &[Json], node: &Node, path: &str, mode: Mode) -> bool {
        let mut type_ok = true;
        let len = items.len() as u64;
        if let Some(min) = node.min_items {
            if len < min {
                self.push(path, format!("must have at least {min} items, got {len}"));
            }
        }
        if let Some(max) = node.max_items {
            if len > max {
                self.push(path, format!("may have at most {max} items, got {len}"));
            }
        }
        if let Some(item_node) = &node.items {
            for (i, item) in items.iter().enumerate() {
                type_ok &= self.check(item, item_node, &format!("{path}[{i}]"), mode);
            }
        }
        let set = node.list_type == Some(ListType::Set) || node.unique_items;
        if mode == Mode::Full && set {
            for (j, item) in items.iter().enumerate() {
                if let Some(i) = items[..j].iter().position(|x| numbers_equal(x, item)) {
                    self.push(
                        &format!("{path}[{j}]"),
                        format!(
                            "duplicate value {} (list-type set, also at index {i})",
                            short(item)
                        ),
                    );
                }
            }
        }
        if mode == Mode::Full && node.list_type == Some(ListType::Map) {
            let mut seen: Vec<(usize, Vec<Json>)> = Vec::new();
            for (j, item) in items.iter().enumerate() {
                let Some(obj) = item.as_object() else {
                    continue;
                };
                let mut key = Vec::new();
                let mut complete = true;
                for k in &node.list_map_keys {
                    match obj.get(k) {
                        Some(v) => key.push(v.clone()),
                        None => {
                            // A key with a default was filled in by defaulting already.
                            self.push(
                                &format!("{path}[{j}].{k}"),
                                format!("required field is missing (list-map key {k:?})"),
                            );
                            complete = false;
                        }
                    }
                }
                if !complete {
                    continue;
                }
                if let Some((i, _)) = seen.iter().find(|(_, k)| {
                    k.len() == key.len() && k.iter().zip(&key).all(|(a, b)| numbers_equal(a, b))
                }) {
                    let shown: Vec<String> = node
                        .list_map_keys
                        .iter()
                        .zip(&key)
                        .map(|(k, v)| format!("{k}: {}", short(v)))
                        .collect();
                    self.push(
                        &format!("{path}[{j}]"),
                        format!(
                            "duplicate entry with key {{{}}} (list-type map, also at index {i})",
                            shown.join(", ")
                        ),
                    );
                } else {
                    seen.push((j, key));
                }
            }
        }
        type_ok
    }

    fn check_object(
        &mut self,
        obj: &serde_json::Map<String, Json>,
        node: &Node,
        path: &str,
        mode: Mode,
    ) -> bool {
        let mut type_ok = true;
        if node.embedded {
            for field in ["apiVersion", "kind"] {
                match obj.get(field) {
                    Some(Json::String(s)) if !s.is_empty() => {}
                    Some(other) if !other.is_string() => {
                        self.push(
                            &join(path, field),
                            format!("must be of type string, got {}", json_type(other)),
                        );
                        type_ok = false;
                    }
                    _ => self.push(
                        &join(path, field),
                        "required field is missing (embedded resource)",
                    ),
                }
            }
            if let Some(meta) = obj.get("metadata") {
                validate_metadata(
                    meta,
                    &join(path, "metadata"),
                    false,
                    None,
                    &mut self.problems,
                );
            }
        }
        for name in &node.required {
            if !obj.contains_key(name) {
                self.push(&join(path, name), "required field is missing");
            }
        }
        let count = obj.len() as u64;
        if let Some(min) = node.min_properties {
            if count < min {
                self.push(
                    path,
                    format!("must have at least {min} properties, got {count}"),
                );
            }
        }
        if let Some(max) = node.max_properties {
            if count > max {
                self.push(
                    path,
                    format!("may have at most {max} properties, got {count}"),
                );
            }
        }
        let strict = mode == Mode::Full && node.rejects_unknown_fields();
        for (name, child) in obj {
            if node.embedded && matches!(name.as_str(), "apiVersion" | "kind" | "metadata") {
                continue;
            }
            if let Some(prop) = node.properties.as_ref().and_then(|p| p.get(name)) {
                type_ok &= self.check(child, prop, &join(path, name), mode);
            } else if let Additional::Schema(schema) = &node.additional {
                type_ok &= self.check(child, schema, &format!("{path}[{name}]"), mode);
            } else if strict {
                self.push(&join(path, name), format!("unknown field {name:?}"));
            }
        }
        type_ok
    }

    fn eval_rules(&mut self, value: &Json, node: &Node, path: &str) {
        let this = to_cel(value, Some(node));
        for rule in &node.rules {
            if rule.transition {
                continue;
            }
            let Some(program) = &rule.program else {
                // Compile error: reported as a schema problem already.
                continue;
            };
            let mut ctx = cel::Context::with_env(Arc::clone(self.env));
            ctx.add_variable_from_value("self", this.clone());
            let at = rule_path(path, rule);
            match program.execute(&ctx) {
                Ok(cel::Value::Bool(true)) => {}
                Ok(cel::Value::Bool(false)) => {
                    let message = rule_message(rule, &ctx);
                    self.push(&at, message);
                }
                Ok(other) => self.push(
                    &at,
                    format!("rule {:?} evaluated to {other:?}, not a bool", rule.rule),
                ),
                Err(e) => self.push(
                    &at,
                    format!("rule {:?} could not be evaluated: {e}", rule.rule),
                ),
            }
        }
    }
}

fn rule_path(path: &str, rule: &Rule) -> String {
    match rule.field_path.as_deref() {
        Some(fp) if !fp.is_empty() => {
            let fp = fp.trim_start_matches('.');
            if fp.starts_with('[') {
                format!("{path}{fp}")
            } else {
                join(path, fp)
            }
        }
        _ => path.to_string(),
    }
}

fn rule_message(rule: &Rule, ctx: &cel::Context) -> String {
    if let Some(expr) = &rule.message_expression {
        if let Ok(cel::Value::String(s)) = expr.execute(ctx) {
            if !s.trim().is_empty() {
                return s.to_string();
            }
        }
    }
    match &rule.message {
        Some(m) => m.clone(),
        None => format!("failed rule: {}", rule.rule),
    }
}

fn summarize(problems: &[Problem]) -> String {
    problems
        .iter()
        .take(3)
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}
