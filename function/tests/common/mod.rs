//! Helpers shared by the function's integration tests.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use function_imagecdn::function;
use function_imagecdn::render::{composite_from, read_observed, read_yaml_stream, request_for};
use function_sdk_rust::proto::v1::{Ready, RunFunctionResponse, Severity};
use function_sdk_rust::resource::struct_to_json;
use serde_json::Value;

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

pub fn example(name: &str) -> PathBuf {
    repo_root().join("examples").join(name)
}

/// The composite built from an example claim.
pub fn composite(name: &str) -> Value {
    let docs = read_yaml_stream(&example(name)).expect("example parses");
    composite_from(&docs[0]).expect("example is a claim")
}

/// The observed state of every resource of the complete example.
pub fn full_observed() -> BTreeMap<String, Value> {
    read_observed(&example("observed")).expect("observed fixtures parse")
}

/// The observed state of every resource of the namespaced complete example.
pub fn full_observed_v2() -> BTreeMap<String, Value> {
    read_observed(&example("v2/observed")).expect("observed fixtures parse")
}

pub fn run(composite: &Value, observed: &BTreeMap<String, Value>) -> RunFunctionResponse {
    function::run(&request_for(composite, observed))
}

pub fn fatal_messages(rsp: &RunFunctionResponse) -> Vec<String> {
    rsp.results
        .iter()
        .filter(|r| r.severity == Severity::Fatal as i32)
        .map(|r| r.message.clone())
        .collect()
}

/// Desired composed resources as JSON, by name.
pub fn desired(rsp: &RunFunctionResponse) -> BTreeMap<String, Value> {
    rsp.desired
        .as_ref()
        .map(|d| {
            d.resources
                .iter()
                .filter_map(|(k, r)| Some((k.clone(), struct_to_json(r.resource.as_ref()?))))
                .collect()
        })
        .unwrap_or_default()
}

pub fn readiness(rsp: &RunFunctionResponse, name: &str) -> Ready {
    let r = &rsp.desired.as_ref().expect("desired").resources[name];
    Ready::try_from(r.ready).expect("valid ready enum")
}

/// The desired XR status.
pub fn status(rsp: &RunFunctionResponse) -> Value {
    function_imagecdn::describe::desired_status(rsp)
}

/// Sets a JSON pointer in a value, creating objects on the way.
pub fn set(value: &mut Value, pointer: &str, new: Value) {
    let mut cur = value;
    for part in pointer.trim_start_matches('/').split('/') {
        let part = part.replace("~1", "/");
        cur = match cur {
            Value::Array(a) => &mut a[part.parse::<usize>().expect("index")],
            other => {
                if !other.is_object() {
                    *other = Value::Object(Default::default());
                }
                other
                    .as_object_mut()
                    .expect("object")
                    .entry(part)
                    .or_insert(Value::Null)
            }
        };
    }
    *cur = new;
}

/// Removes the key at a JSON pointer, if present.
pub fn remove(value: &mut Value, pointer: &str) {
    let (parent, key) = pointer.rsplit_once('/').expect("pointer with a parent");
    let target = if parent.is_empty() {
        Some(value)
    } else {
        value.pointer_mut(parent)
    };
    match target {
        Some(Value::Object(m)) => {
            m.remove(key);
        }
        Some(Value::Array(a)) => {
            let i: usize = key.parse().expect("index");
            if i < a.len() {
                a.remove(i);
            }
        }
        _ => {}
    }
}

/// Checks (or, with `UPDATE_GOLDEN=1`, rewrites) the README block between
/// `<!-- {marker}:start -->` and `<!-- {marker}:end -->` against generated `content`.
pub fn readme_block_is(marker: &str, content: &str) {
    let path = repo_root().join("README.md");
    let readme = std::fs::read_to_string(&path).unwrap();
    let start = format!("<!-- {marker}:start -->\n");
    let end = format!("<!-- {marker}:end -->");
    let (head, rest) = readme
        .split_once(&start)
        .unwrap_or_else(|| panic!("README has no {start:?}"));
    let (_, tail) = rest
        .split_once(&end)
        .unwrap_or_else(|| panic!("README has no {end:?}"));
    let want = format!("{head}{start}{content}{end}{tail}");
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, &want).unwrap();
    } else {
        assert!(
            readme == want,
            "README's {marker} block is stale: rerun with UPDATE_GOLDEN=1"
        );
    }
}
