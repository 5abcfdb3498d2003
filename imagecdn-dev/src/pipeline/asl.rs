//! An Amazon States Language interpreter for what the rendered state machine uses:
//! `Task` (with `Parameters`, `ResultSelector`, `ResultPath`, `Retry`, `Catch`,
//! `TimeoutSeconds`), `Choice`, `Pass`, `Succeed` and `Fail`, with reference paths
//! (`$`, `$.a.b`). Task resources are answered by a [`Resources`] implementation, so the
//! same definition runs against the in-process renderer and the emulated CloudFront.
//! Semantics follow the States Language specification (states-language.net).

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use serde_json::{Map, Value, json};

/// A task's failure: the error name `Retry` and `Catch` match, and its cause.
#[derive(Clone, Debug, PartialEq)]
pub struct TaskError {
    pub error: String,
    pub cause: String,
}

impl TaskError {
    pub fn new(error: impl Into<String>, cause: impl Into<String>) -> TaskError {
        TaskError {
            error: error.into(),
            cause: cause.into(),
        }
    }
}

pub type TaskFuture<'a> = Pin<Box<dyn Future<Output = Result<Value, TaskError>> + Send + 'a>>;

/// What a `Task` state's `Resource` does.
pub trait Resources: Send + Sync {
    fn call<'a>(&'a self, resource: &'a str, parameters: Value) -> TaskFuture<'a>;
}

/// How an execution ended.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    Succeeded(Value),
    Failed { error: String, cause: String },
}

/// One execution: the states it entered, in order, and how it ended.
#[derive(Clone, Debug, PartialEq)]
pub struct Execution {
    pub states: Vec<String>,
    pub outcome: Outcome,
}

/// Reads a reference path (`$`, `$.a.b-c`) from `doc`; `None` when absent.
pub fn read_path<'a>(doc: &'a Value, path: &str) -> Option<&'a Value> {
    let rest = path.strip_prefix('$')?;
    let mut cur = doc;
    for segment in rest.split('.').filter(|s| !s.is_empty()) {
        cur = cur.get(segment)?;
    }
    Some(cur)
}

/// Writes `value` at a reference path in `doc` (`ResultPath`), creating objects.
fn write_path(doc: Value, path: &str, value: Value) -> Result<Value, TaskError> {
    let segments: Vec<&str> = path
        .strip_prefix('$')
        .ok_or_else(|| TaskError::new("States.ResultPathMatchFailure", format!("bad path {path}")))?
        .split('.')
        .filter(|s| !s.is_empty())
        .collect();
    if segments.is_empty() {
        return Ok(value);
    }
    let mut doc = if doc.is_object() { doc } else { json!({}) };
    let mut cur = &mut doc;
    for (i, segment) in segments.iter().enumerate() {
        let obj = cur.as_object_mut().ok_or_else(|| {
            TaskError::new(
                "States.ResultPathMatchFailure",
                format!("{path}: not an object"),
            )
        })?;
        if i + 1 == segments.len() {
            obj.insert(segment.to_string(), value);
            break;
        }
        cur = obj.entry(segment.to_string()).or_insert_with(|| json!({}));
    }
    Ok(doc)
}

/// Evaluates a payload template: keys ending in `.$` take the value at their path.
pub fn template(tpl: &Value, input: &Value) -> Result<Value, TaskError> {
    Ok(match tpl {
        Value::Object(map) => {
            let mut out = Map::new();
            for (k, v) in map {
                match (k.strip_suffix(".$"), v) {
                    (Some(name), Value::String(path)) => {
                        let value = read_path(input, path).ok_or_else(|| {
                            TaskError::new(
                                "States.Runtime",
                                format!("the path {path} of field {name} is not in the input"),
                            )
                        })?;
                        out.insert(name.to_string(), value.clone());
                    }
                    _ => {
                        out.insert(k.clone(), template(v, input)?);
                    }
                }
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|v| template(v, input))
                .collect::<Result<_, _>>()?,
        ),
        other => other.clone(),
    })
}

fn matches_error(list: &Value, error: &str) -> bool {
    list.as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .any(|e| {
            e == error
                || e == "States.ALL"
                || (e == "States.TaskFailed" && error != "States.Timeout")
        })
}

/// One Choice rule against the input.
fn rule_holds(rule: &Value, input: &Value) -> bool {
    if let Some(all) = rule["And"].as_array() {
        return all.iter().all(|r| rule_holds(r, input));
    }
    if let Some(any) = rule["Or"].as_array() {
        return any.iter().any(|r| rule_holds(r, input));
    }
    if rule.get("Not").is_some() {
        return !rule_holds(&rule["Not"], input);
    }
    let value = rule["Variable"].as_str().and_then(|p| read_path(input, p));
    if let Some(present) = rule["IsPresent"].as_bool() {
        return value.is_some() == present;
    }
    let Some(value) = value else { return false };
    let num = |k: &str| rule[k].as_f64().zip(value.as_f64());
    if let Some(s) = rule.get("StringEquals") {
        return value == s;
    }
    if let Some(b) = rule.get("BooleanEquals") {
        return value == b;
    }
    if let Some((r, v)) = num("NumericEquals") {
        return v == r;
    }
    if let Some((r, v)) = num("NumericGreaterThan") {
        return v > r;
    }
    if let Some((r, v)) = num("NumericGreaterThanEquals") {
        return v >= r;
    }
    if let Some((r, v)) = num("NumericLessThan") {
        return v < r;
    }
    if let Some((r, v)) = num("NumericLessThanEquals") {
        return v <= r;
    }
    false
}

/// Runs a Task state's resource with its retriers; the error of the last attempt when
/// every retrier gave up.
async fn run_task(
    state: &Value,
    parameters: Value,
    resources: &dyn Resources,
    delay_scale: f64,
) -> Result<Value, TaskError> {
    let resource = state["Resource"].as_str().unwrap_or_default();
    let timeout = state["TimeoutSeconds"].as_u64().map(Duration::from_secs);
    let retriers = state["Retry"].as_array().cloned().unwrap_or_default();
    let mut attempts = vec![0u32; retriers.len()];
    loop {
        let call = resources.call(resource, parameters.clone());
        let result = match timeout {
            Some(t) => tokio::time::timeout(t, call).await.unwrap_or_else(|_| {
                Err(TaskError::new(
                    "States.Timeout",
                    format!("no result within {}s", t.as_secs()),
                ))
            }),
            None => call.await,
        };
        let error = match result {
            Ok(v) => return Ok(v),
            Err(e) => e,
        };
        let Some(i) = retriers
            .iter()
            .position(|r| matches_error(&r["ErrorEquals"], &error.error))
        else {
            return Err(error);
        };
        let r = &retriers[i];
        let max = r["MaxAttempts"].as_u64().unwrap_or(3) as u32;
        if attempts[i] >= max {
            return Err(error);
        }
        let interval = r["IntervalSeconds"].as_f64().unwrap_or(1.0);
        let rate = r["BackoffRate"].as_f64().unwrap_or(2.0);
        let delay = interval * rate.powi(attempts[i] as i32) * delay_scale;
        attempts[i] += 1;
        tracing::debug!("retrying {resource} after {} ({delay:.1}s)", error.error);
        tokio::time::sleep(Duration::from_secs_f64(delay.min(300.0))).await;
    }
}

/// Runs a state machine definition on an input. `delay_scale` multiplies retry waits
/// (1.0 as AWS runs them).
pub async fn execute(
    definition: &Value,
    input: Value,
    resources: &dyn Resources,
    delay_scale: f64,
) -> Execution {
    let mut states = Vec::new();
    let mut current = definition["StartAt"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let mut data = input;
    for _ in 0..1000 {
        states.push(current.clone());
        let state = &definition["States"][&current];
        let fail = |states: Vec<String>, error: &str, cause: String| Execution {
            states,
            outcome: Outcome::Failed {
                error: error.to_string(),
                cause,
            },
        };
        let next = match state["Type"].as_str() {
            Some("Succeed") => {
                return Execution {
                    states,
                    outcome: Outcome::Succeeded(data),
                };
            }
            Some("Fail") => {
                let error = state["Error"].as_str().unwrap_or("States.Failed");
                return fail(
                    states,
                    error,
                    state["Cause"].as_str().unwrap_or_default().to_string(),
                );
            }
            Some("Pass") => {
                let result = state.get("Result").cloned().unwrap_or_else(|| data.clone());
                data = match state["ResultPath"].as_str() {
                    Some(p) => match write_path(data, p, result) {
                        Ok(d) => d,
                        Err(e) => return fail(states, &e.error, e.cause),
                    },
                    None => result,
                };
                state["Next"].as_str()
            }
            Some("Choice") => state["Choices"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|r| rule_holds(r, &data))
                .and_then(|r| r["Next"].as_str())
                .or(state["Default"].as_str()),
            Some("Task") => {
                let parameters = match state.get("Parameters") {
                    Some(tpl) => template(tpl, &data),
                    None => Ok(data.clone()),
                };
                let result = match parameters {
                    Ok(p) => run_task(state, p, resources, delay_scale).await,
                    Err(e) => Err(e),
                };
                let result = result.and_then(|raw| match state.get("ResultSelector") {
                    Some(sel) => template(sel, &raw),
                    None => Ok(raw),
                });
                match result {
                    Ok(result) => {
                        data = match &state["ResultPath"] {
                            Value::Null if state.get("ResultPath").is_some() => data,
                            Value::String(p) => match write_path(data, p, result) {
                                Ok(d) => d,
                                Err(e) => return fail(states, &e.error, e.cause),
                            },
                            _ => result,
                        };
                        state["Next"].as_str()
                    }
                    Err(e) => {
                        let catcher = state["Catch"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .find(|c| matches_error(&c["ErrorEquals"], &e.error));
                        let Some(catcher) = catcher else {
                            return fail(states, &e.error, e.cause);
                        };
                        let info = json!({"Error": e.error, "Cause": e.cause});
                        data = match catcher["ResultPath"].as_str() {
                            Some(p) => match write_path(data, p, info) {
                                Ok(d) => d,
                                Err(e) => return fail(states, &e.error, e.cause),
                            },
                            None => info,
                        };
                        catcher["Next"].as_str()
                    }
                }
            }
            other => {
                return fail(
                    states,
                    "States.Runtime",
                    format!("unsupported state type {other:?} in {current}"),
                );
            }
        };
        match next {
            Some(n) => current = n.to_string(),
            None => {
                return fail(
                    states,
                    "States.Runtime",
                    format!("{current} has no next state"),
                );
            }
        }
    }
    Execution {
        states,
        outcome: Outcome::Failed {
            error: "States.Runtime".into(),
            cause: "more than 1000 transitions".into(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// Answers from a script: per resource, a queue of results.
    struct Script(
        Mutex<Vec<(String, Result<Value, TaskError>)>>,
        Mutex<Vec<Value>>,
    );

    impl Resources for Script {
        fn call<'a>(&'a self, resource: &'a str, parameters: Value) -> TaskFuture<'a> {
            self.1.lock().unwrap().push(parameters);
            let mut script = self.0.lock().unwrap();
            let i = script
                .iter()
                .position(|(r, _)| r == resource)
                .expect("scripted");
            let (_, result) = script.remove(i);
            Box::pin(async move { result })
        }
    }

    fn definition() -> Value {
        json!({
            "StartAt": "Route",
            "States": {
                "Route": {"Type": "Choice", "Choices": [
                    {"Variable": "$.detail-type", "StringEquals": "Object Created", "Next": "Work"}
                ], "Default": "Ignored"},
                "Work": {"Type": "Task", "Resource": "r",
                    "Parameters": {"Payload": {"key.$": "$.detail.object.key", "fixed": [1, {"a": 2}]}},
                    "ResultSelector": {"n.$": "$.Payload.n"},
                    "ResultPath": "$.out",
                    "Retry": [{"ErrorEquals": ["Transient"], "IntervalSeconds": 1, "MaxAttempts": 2}],
                    "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Failed"}],
                    "Next": "Check"},
                "Check": {"Type": "Choice", "Choices": [
                    {"Variable": "$.out.n", "NumericGreaterThan": 0, "Next": "Done"}
                ], "Default": "Ignored"},
                "Done": {"Type": "Succeed"},
                "Ignored": {"Type": "Succeed"},
                "Failed": {"Type": "Fail", "Error": "X.Failed", "Cause": "c"}
            }
        })
    }

    fn event() -> Value {
        json!({"detail-type": "Object Created", "detail": {"object": {"key": "shop/a.jpg"}}})
    }

    #[tokio::test]
    async fn tasks_retry_then_succeed_with_paths_applied() {
        let script = Script(
            Mutex::new(vec![
                ("r".into(), Err(TaskError::new("Transient", "x"))),
                ("r".into(), Ok(json!({"Payload": {"n": 2, "other": 1}}))),
            ]),
            Mutex::default(),
        );
        let run = execute(&definition(), event(), &script, 0.0).await;
        assert_eq!(run.states, ["Route", "Work", "Check", "Done"]);
        let Outcome::Succeeded(out) = run.outcome else {
            panic!("{run:?}")
        };
        assert_eq!(out["out"], json!({"n": 2}));
        assert_eq!(
            out["detail"]["object"]["key"], "shop/a.jpg",
            "ResultPath keeps the input"
        );
        let params = script.1.lock().unwrap();
        assert_eq!(
            params[0],
            json!({"Payload": {"key": "shop/a.jpg", "fixed": [1, {"a": 2}]}})
        );
    }

    #[tokio::test]
    async fn exhausted_retries_and_other_errors_are_caught() {
        for errors in [vec!["Transient", "Transient", "Transient"], vec!["Other"]] {
            let script = Script(
                Mutex::new(
                    errors
                        .iter()
                        .map(|e| ("r".to_string(), Err(TaskError::new(*e, "boom"))))
                        .collect(),
                ),
                Mutex::default(),
            );
            let run = execute(&definition(), event(), &script, 0.0).await;
            assert_eq!(run.states.last().unwrap(), "Failed");
            assert_eq!(
                run.outcome,
                Outcome::Failed {
                    error: "X.Failed".into(),
                    cause: "c".into()
                }
            );
        }
    }

    #[tokio::test]
    async fn other_events_take_the_default() {
        let script = Script(Mutex::default(), Mutex::default());
        let run = execute(&definition(), json!({"source": "x"}), &script, 0.0).await;
        assert_eq!(run.states, ["Route", "Ignored"]);
    }
}
