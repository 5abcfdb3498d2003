//! ObjectMeta checks (the API server validates `metadata` itself, not by the CRD schema).

use serde_json::Value as Json;

use crate::Problem;

const KNOWN_METADATA_FIELDS: &[&str] = &[
    "name",
    "generateName",
    "namespace",
    "labels",
    "annotations",
    "ownerReferences",
    "finalizers",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "managedFields",
    "selfLink",
];

fn is_dns1123_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// RFC 1123 subdomain: lowercase alphanumerics, '-' and '.', at most 253 characters,
/// starting and ending with an alphanumeric.
pub(crate) fn is_dns1123_subdomain(s: &str) -> bool {
    s.len() <= 253 && !s.is_empty() && s.split('.').all(is_dns1123_label)
}

/// A label value or the name part of a qualified name: at most 63 characters,
/// `([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]`.
fn is_label_value(s: &str) -> bool {
    if s.is_empty() {
        return true;
    }
    let ok_char = |b: u8| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.';
    s.len() <= 63
        && s.bytes().all(ok_char)
        && s.as_bytes()[0].is_ascii_alphanumeric()
        && s.as_bytes()[s.len() - 1].is_ascii_alphanumeric()
}

/// A qualified name (label or annotation key): `[prefix/]name`.
fn is_qualified_name(s: &str) -> bool {
    let (prefix, name) = match s.split_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, s),
    };
    prefix.is_none_or(is_dns1123_subdomain) && !name.is_empty() && is_label_value(name)
}

fn join(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_string()
    } else {
        format!("{path}.{name}")
    }
}

fn push(problems: &mut Vec<Problem>, path: String, message: impl Into<String>) {
    problems.push(Problem {
        path,
        message: message.into(),
    });
}

/// Validates `metadata` at `path`. `require_name`: the top-level object needs `name` or
/// `generateName`. `cluster_scoped`: `namespace` is not allowed.
pub(crate) fn validate_metadata(
    meta: &Json,
    path: &str,
    require_name: bool,
    cluster_scoped: Option<&str>,
    problems: &mut Vec<Problem>,
) {
    let Some(obj) = meta.as_object() else {
        push(
            problems,
            path.to_string(),
            format!(
                "must be of type object, got {}",
                crate::validate::json_type(meta)
            ),
        );
        return;
    };
    for (key, value) in obj {
        let p = join(path, key);
        if !KNOWN_METADATA_FIELDS.contains(&key.as_str()) {
            push(problems, p, format!("unknown field {key:?}"));
            continue;
        }
        match key.as_str() {
            "name" => match value.as_str() {
                Some(name) if !is_dns1123_subdomain(name) => push(
                    problems,
                    p,
                    format!(
                        "invalid name {name:?}: must be a lowercase RFC 1123 subdomain \
                         ([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*, at most 253 characters)"
                    ),
                ),
                Some(_) => {}
                None => push(problems, p, "must be a string"),
            },
            "generateName" => match value.as_str() {
                Some(prefix) => {
                    // Validated like a name with a random suffix appended.
                    let trimmed = prefix.trim_end_matches('-');
                    if !trimmed.is_empty() && !is_dns1123_subdomain(&format!("{trimmed}a")) {
                        push(
                            problems,
                            p,
                            format!(
                                "invalid generateName {prefix:?}: must be a lowercase RFC 1123 subdomain prefix"
                            ),
                        );
                    }
                }
                None => push(problems, p, "must be a string"),
            },
            "namespace" => match value.as_str() {
                Some(ns) => {
                    if let Some(kind) = cluster_scoped {
                        push(
                            problems,
                            p,
                            format!(
                                "{kind} is cluster-scoped: metadata.namespace must not be set (got {ns:?})"
                            ),
                        );
                    } else if !is_dns1123_label(ns) {
                        push(
                            problems,
                            p,
                            format!("invalid namespace {ns:?}: must be an RFC 1123 label"),
                        );
                    }
                }
                None => push(problems, p, "must be a string"),
            },
            "labels" | "annotations" => match value.as_object() {
                Some(map) => {
                    for (k, v) in map {
                        let kp = format!("{p}[{k}]");
                        if !is_qualified_name(k) {
                            push(
                                problems,
                                kp.clone(),
                                format!(
                                    "invalid {} key {k:?}: must be [prefix/]name, name at most 63 characters of [-A-Za-z0-9_.] starting and ending alphanumeric, prefix a DNS subdomain",
                                    &key[..key.len() - 1]
                                ),
                            );
                        }
                        match v.as_str() {
                            Some(s) if key == "labels" && !is_label_value(s) => push(
                                problems,
                                kp,
                                format!(
                                    "invalid label value {s:?}: at most 63 characters of [-A-Za-z0-9_.], starting and ending alphanumeric"
                                ),
                            ),
                            Some(_) => {}
                            None => push(
                                problems,
                                kp,
                                format!("must be a string, got {}", crate::validate::json_type(v)),
                            ),
                        }
                    }
                    if key == "annotations" {
                        let size: usize = map
                            .iter()
                            .map(|(k, v)| k.len() + v.as_str().map_or(0, str::len))
                            .sum();
                        if size > 256 * 1024 {
                            push(
                                problems,
                                p,
                                format!("annotations total {size} bytes, more than 256 KiB"),
                            );
                        }
                    }
                }
                None => push(
                    problems,
                    p,
                    format!(
                        "must be a map of strings, got {}",
                        crate::validate::json_type(value)
                    ),
                ),
            },
            "finalizers" => match value.as_array() {
                Some(list) => {
                    for (i, f) in list.iter().enumerate() {
                        if !f.is_string() {
                            push(problems, format!("{p}[{i}]"), "must be a string");
                        }
                    }
                }
                None => push(problems, p, "must be a list of strings"),
            },
            "ownerReferences" => match value.as_array() {
                Some(list) => {
                    for (i, r) in list.iter().enumerate() {
                        for field in ["apiVersion", "kind", "name", "uid"] {
                            if !r.get(field).is_some_and(Json::is_string) {
                                push(
                                    problems,
                                    format!("{p}[{i}].{field}"),
                                    "required string field is missing",
                                );
                            }
                        }
                    }
                }
                None => push(problems, p, "must be a list"),
            },
            _ => {}
        }
    }
    if require_name {
        let has = |f: &str| {
            obj.get(f)
                .and_then(Json::as_str)
                .is_some_and(|s| !s.is_empty())
        };
        if !has("name") && !has("generateName") {
            push(
                problems,
                join(path, "name"),
                "name or generateName is required",
            );
        }
    }
}
