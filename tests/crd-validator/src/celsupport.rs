//! CEL environment for `x-kubernetes-validations`: the `cel` crate's standard library plus
//! its strings/lists/math extensions, and the cheap Kubernetes extension functions
//! (lists: `isSorted`, `sum`, `min`, `max`, `indexOf`, `lastIndexOf`; regex: `find`, `findAll`;
//! sets: `sets.contains`, `sets.equivalent`, `sets.intersects`).
//! Values are converted from JSON the way the API server does it: by schema
//! (`number` is a double, `integer` an int, object property names escaped).

use std::collections::HashMap;
use std::sync::Arc;

use cel::common::types::{DYN_TYPE, INT_TYPE, LIST_TYPE, STRING_TYPE};
use cel::common::value::{CowVal, Val};
use cel::objects::{Key, Map};
use cel::{Env, ExecutionError, Value};
use serde_json::Value as Json;

use crate::schema::{Additional, Node, Ty};

pub(crate) fn new_env() -> Env {
    let mut env = Env::stdlib();
    // The extension libraries the Kubernetes CEL environment also enables.
    env.add_extension(cel::extensions::strings)
        .expect("strings extension");
    env.add_extension(cel::extensions::lists)
        .expect("lists extension");
    env.add_extension(cel::extensions::math)
        .expect("math extension");
    add_k8s_extensions(&mut env).expect("kubernetes CEL extensions");
    env
}

fn add_k8s_extensions(env: &mut Env) -> Result<(), cel::DeclarationError> {
    // Kubernetes lists library.
    env.add_member_overload("isSorted", "list_is_sorted", LIST_TYPE, vec![], is_sorted)?;
    env.add_member_overload("sum", "list_sum", LIST_TYPE, vec![], sum)?;
    env.add_member_overload("min", "list_min", LIST_TYPE, vec![], list_min)?;
    env.add_member_overload("max", "list_max", LIST_TYPE, vec![], list_max)?;
    env.add_member_overload(
        "indexOf",
        "list_index_of",
        LIST_TYPE,
        vec![DYN_TYPE],
        index_of,
    )?;
    env.add_member_overload(
        "lastIndexOf",
        "list_last_index_of",
        LIST_TYPE,
        vec![DYN_TYPE],
        last_index_of,
    )?;
    // cel-go sets extension (enabled in Kubernetes).
    env.add_overload(
        "sets.contains",
        "sets_contains",
        vec![LIST_TYPE, LIST_TYPE],
        sets_contains,
    )?;
    env.add_overload(
        "sets.equivalent",
        "sets_equivalent",
        vec![LIST_TYPE, LIST_TYPE],
        sets_equivalent,
    )?;
    env.add_overload(
        "sets.intersects",
        "sets_intersects",
        vec![LIST_TYPE, LIST_TYPE],
        sets_intersects,
    )?;
    // Kubernetes regex library.
    env.add_member_overload(
        "find",
        "string_find",
        STRING_TYPE,
        vec![STRING_TYPE],
        regex_find,
    )?;
    env.add_member_overload(
        "findAll",
        "string_find_all",
        STRING_TYPE,
        vec![STRING_TYPE],
        regex_find_all,
    )?;
    env.add_member_overload(
        "findAll",
        "string_find_all_n",
        STRING_TYPE,
        vec![STRING_TYPE, INT_TYPE],
        regex_find_all,
    )?;
    Ok(())
}

fn values<'b, 'v>(args: &[CowVal<'b, 'v>]) -> Result<Vec<Value>, ExecutionError> {
    args.iter().map(|a| Value::try_from(a.as_ref())).collect()
}

fn owned<'b, 'v>(value: Value) -> Result<CowVal<'b, 'v>, ExecutionError> {
    let boxed: Box<dyn Val> = value.try_into()?;
    Ok(CowVal::Owned(boxed))
}

fn list_arg(value: &Value, function: &str) -> Result<Arc<Vec<Value>>, ExecutionError> {
    match value {
        Value::List(l) => Ok(l.clone()),
        other => Err(ExecutionError::function_error(
            function,
            format!("expected a list, got {other:?}"),
        )),
    }
}

fn compare(a: &Value, b: &Value, function: &str) -> Result<std::cmp::Ordering, ExecutionError> {
    a.partial_cmp(b).ok_or_else(|| {
        ExecutionError::function_error(function, format!("{a:?} and {b:?} are not comparable"))
    })
}

fn is_sorted<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<CowVal<'b, 'v>, ExecutionError> {
    let args = values(&args)?;
    let list = list_arg(&args[0], "isSorted")?;
    for pair in list.windows(2) {
        if compare(&pair[0], &pair[1], "isSorted")? == std::cmp::Ordering::Greater {
            return owned(Value::Bool(false));
        }
    }
    owned(Value::Bool(true))
}

fn sum<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<CowVal<'b, 'v>, ExecutionError> {
    let args = values(&args)?;
    let list = list_arg(&args[0], "sum")?;
    let Some(first) = list.first() else {
        return owned(Value::Int(0));
    };
    if !matches!(
        first,
        Value::Int(_) | Value::UInt(_) | Value::Float(_) | Value::Duration(_)
    ) {
        return Err(ExecutionError::function_error(
            "sum",
            format!("cannot sum {first:?}"),
        ));
    }
    let mut acc = first.clone();
    for item in list.iter().skip(1) {
        acc = match (&acc, item) {
            (Value::Int(a), Value::Int(b)) => Value::Int(
                a.checked_add(*b)
                    .ok_or_else(|| ExecutionError::function_error("sum", "integer overflow"))?,
            ),
            (Value::UInt(a), Value::UInt(b)) => Value::UInt(
                a.checked_add(*b)
                    .ok_or_else(|| ExecutionError::function_error("sum", "integer overflow"))?,
            ),
            (Value::Float(a), Value::Float(b)) => Value::Float(a + b),
            (Value::Duration(a), Value::Duration(b)) => Value::Duration(*a + *b),
            (_, other) => {
                return Err(ExecutionError::function_error(
                    "sum",
                    format!("list elements must have the same numeric type, got {other:?}"),
                ));
            }
        };
    }
    owned(acc)
}

fn extreme<'b, 'v>(
    args: Vec<CowVal<'b, 'v>>,
    function: &str,
    want: std::cmp::Ordering,
) -> Result<CowVal<'b, 'v>, ExecutionError> {
    let args = values(&args)?;
    let list = list_arg(&args[0], function)?;
    let mut best: Option<&Value> = None;
    for item in list.iter() {
        best = match best {
            Some(b) if compare(item, b, function)? != want => Some(b),
            _ => Some(item),
        };
    }
    match best {
        Some(v) => owned(v.clone()),
        None => Err(ExecutionError::function_error(
            function,
            "called on an empty list",
        )),
    }
}

fn list_min<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<CowVal<'b, 'v>, ExecutionError> {
    extreme(args, "min", std::cmp::Ordering::Less)
}

fn list_max<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<CowVal<'b, 'v>, ExecutionError> {
    extreme(args, "max", std::cmp::Ordering::Greater)
}

fn index_of<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<CowVal<'b, 'v>, ExecutionError> {
    let v = values(&args)?;
    let list = list_arg(&v[0], "indexOf")?;
    let pos = list.iter().position(|x| *x == v[1]);
    owned(Value::Int(pos.map_or(-1, |p| p as i64)))
}

fn last_index_of<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<CowVal<'b, 'v>, ExecutionError> {
    let v = values(&args)?;
    let list = list_arg(&v[0], "lastIndexOf")?;
    let pos = list.iter().rposition(|x| *x == v[1]);
    owned(Value::Int(pos.map_or(-1, |p| p as i64)))
}

type ListPair = (Arc<Vec<Value>>, Arc<Vec<Value>>);

fn two_lists(args: &[CowVal<'_, '_>], function: &str) -> Result<ListPair, ExecutionError> {
    let v = values(args)?;
    Ok((list_arg(&v[0], function)?, list_arg(&v[1], function)?))
}

/// Whether every element of `b` is in `a`.
fn contains_all(a: &[Value], b: &[Value]) -> bool {
    b.iter().all(|x| a.contains(x))
}

fn sets_contains<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<CowVal<'b, 'v>, ExecutionError> {
    let (a, b) = two_lists(&args, "sets.contains")?;
    owned(Value::Bool(contains_all(&a, &b)))
}

fn sets_equivalent<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<CowVal<'b, 'v>, ExecutionError> {
    let (a, b) = two_lists(&args, "sets.equivalent")?;
    owned(Value::Bool(contains_all(&a, &b) && contains_all(&b, &a)))
}

fn sets_intersects<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<CowVal<'b, 'v>, ExecutionError> {
    let (a, b) = two_lists(&args, "sets.intersects")?;
    owned(Value::Bool(b.iter().any(|x| a.contains(x))))
}

fn regex_args(args: &[Value], function: &str) -> Result<(String, regex::Regex), ExecutionError> {
    match (&args[0], &args[1]) {
        (Value::String(s), Value::String(re)) => {
            let re = regex::Regex::new(re)
                .map_err(|e| ExecutionError::function_error(function, e.to_string()))?;
            Ok((s.to_string(), re))
        }
        _ => Err(ExecutionError::function_error(
            function,
            "expected string arguments",
        )),
    }
}

fn regex_find<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<CowVal<'b, 'v>, ExecutionError> {
    let v = values(&args)?;
    let (s, re) = regex_args(&v, "find")?;
    let found = re
        .find(&s)
        .map(|m| m.as_str().to_string())
        .unwrap_or_default();
    owned(Value::String(Arc::new(found)))
}

fn regex_find_all<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<CowVal<'b, 'v>, ExecutionError> {
    let v = values(&args)?;
    let (s, re) = regex_args(&v, "findAll")?;
    let limit = match v.get(2) {
        Some(Value::Int(n)) if *n >= 0 => Some(*n as usize),
        _ => None,
    };
    let found: Vec<Value> = re
        .find_iter(&s)
        .take(limit.unwrap_or(usize::MAX))
        .map(|m| Value::String(Arc::new(m.as_str().to_string())))
        .collect();
    owned(Value::List(Arc::new(found)))
}

const CEL_RESERVED: &[&str] = &[
    "true",
    "false",
    "null",
    "in",
    "as",
    "break",
    "const",
    "continue",
    "else",
    "for",
    "function",
    "if",
    "import",
    "let",
    "loop",
    "package",
    "namespace",
    "return",
    "var",
    "void",
    "while",
];

/// The name under which Kubernetes exposes an object property to CEL, or `None` when the
/// property is not accessible (see k8s.io/apiserver/pkg/cel escaping).
pub(crate) fn escape_property(name: &str) -> Option<String> {
    if CEL_RESERVED.contains(&name) {
        return Some(format!("__{name}__"));
    }
    let escaped = name
        .replace("__", "__underscores__")
        .replace('.', "__dot__")
        .replace('-', "__dash__")
        .replace('/', "__slash__");
    let mut chars = escaped.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    if first_ok && chars.all(|c| c.is_ascii_alphanumeric() || c == '_') {
        Some(escaped)
    } else {
        None
    }
}

/// Converts a JSON value to a CEL value, typed by its schema node (when known).
pub(crate) fn to_cel(value: &Json, node: Option<&Node>) -> Value {
    match value {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Bool(*b),
        Json::Number(n) => {
            let ty = node.and_then(|n| n.ty);
            if ty == Some(Ty::Number) {
                Value::Float(n.as_f64().unwrap_or(f64::NAN))
            } else if let Some(i) = n.as_i64() {
                Value::Int(i)
            } else if let Some(u) = n.as_u64() {
                Value::UInt(u)
            } else {
                Value::Float(n.as_f64().unwrap_or(f64::NAN))
            }
        }
        Json::String(s) => Value::String(Arc::new(s.clone())),
        Json::Array(items) => {
            let item_node = node.and_then(|n| n.items.as_deref());
            Value::List(Arc::new(
                items.iter().map(|i| to_cel(i, item_node)).collect(),
            ))
        }
        Json::Object(obj) => {
            let mut map: HashMap<Key, Value> = HashMap::with_capacity(obj.len());
            match node {
                Some(n) if n.properties.is_some() && !n.embedded => {
                    let props = n.properties.as_ref().expect("checked");
                    let additional = match &n.additional {
                        Additional::Schema(s) => Some(s.as_ref()),
                        _ => None,
                    };
                    for (k, v) in obj {
                        if let Some(p) = props.get(k) {
                            if let Some(name) = escape_property(k) {
                                map.insert(Key::String(Arc::new(name)), to_cel(v, Some(p)));
                            }
                        } else {
                            // Unknown (preserved) field or map entry.
                            map.insert(Key::String(Arc::new(k.clone())), to_cel(v, additional));
                        }
                    }
                }
                Some(n) => {
                    let additional = match &n.additional {
                        Additional::Schema(s) => Some(s.as_ref()),
                        _ => None,
                    };
                    for (k, v) in obj {
                        map.insert(Key::String(Arc::new(k.clone())), to_cel(v, additional));
                    }
                }
                None => {
                    for (k, v) in obj {
                        map.insert(Key::String(Arc::new(k.clone())), to_cel(v, None));
                    }
                }
            }
            Value::Map(Map { map: Arc::new(map) })
        }
    }
}
