//! The RunFunction handler.

use std::collections::BTreeMap;

use function_sdk_rust::proto::v1::function_runner_service_server::FunctionRunnerService;
use function_sdk_rust::proto::v1::{Ready, RunFunctionRequest, RunFunctionResponse, Target};
use function_sdk_rust::resource::{self, struct_to_json};
use function_sdk_rust::{request, response};
use serde_json::Value;
use tonic::{Request, Response, Status};

use crate::api::Composite;
use crate::compose;
use crate::compose::conditions::ComponentCondition;
use crate::observed::Observed;
use crate::validate;

/// The condition this function sets on the XR (and claim) to say what it waits for.
pub const CONDITION: &str = "ResourcesComposed";

/// The gRPC service.
#[derive(Clone, Copy, Debug, Default)]
pub struct ImageCdnFunction;

#[tonic::async_trait]
impl FunctionRunnerService for ImageCdnFunction {
    async fn run_function(
        &self,
        request: Request<RunFunctionRequest>,
    ) -> Result<Response<RunFunctionResponse>, Status> {
        Ok(Response::new(run(&request.into_inner())))
    }
}

/// The fatal message for a bad claim: every field error, each naming its field.
fn invalid(errors: &[validate::FieldError]) -> String {
    let message = errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ");
    format!("invalid ImageCDN: {message}")
}

/// Runs the function: never panics, and reports a bad claim as a fatal result that
/// names the field, leaving the desired state as the request had it.
pub fn run(req: &RunFunctionRequest) -> RunFunctionResponse {
    let mut rsp = response::to(req, response::DEFAULT_TTL);
    let Some(composite) = request::observed_composite(req)
        .and_then(|r| r.resource.as_ref())
        .map(struct_to_json)
    else {
        fatal(&mut rsp, "the request has no observed composite resource");
        return rsp;
    };
    let spec = match validate::parse_spec(composite.get("spec")) {
        Ok(spec) => spec,
        Err(errors) => {
            fatal(&mut rsp, invalid(&errors));
            return rsp;
        }
    };
    let target = match Composite::of(&composite) {
        Ok(target) => target,
        Err(message) => {
            fatal(&mut rsp, message);
            return rsp;
        }
    };
    let errors = validate::check_api_fields(&spec, &target);
    if !errors.is_empty() {
        fatal(&mut rsp, invalid(&errors));
        return rsp;
    }

    let observed = observed_resources(req);
    let composition = compose::compose(&spec, &target, &observed);

    for (name, body) in &composition.resources {
        let desired = response::desired_composed(&mut rsp, name.clone());
        if let Err(e) = resource::update(desired, body) {
            fatal(&mut rsp, format!("internal error building {name}: {e}"));
            return rsp;
        }
        let ready = if observed.is_ready(name) {
            Ready::True
        } else {
            Ready::False
        };
        resource::set_ready(desired, ready);
    }
    if let Err(e) =
        resource::update_status(response::desired_composite(&mut rsp), &composition.status)
    {
        fatal(&mut rsp, format!("internal error writing status: {e}"));
        return rsp;
    }

    let previous = previous_conditions(&composite);
    for c in conditions(&composition) {
        set_condition(&mut rsp, &c, &previous);
    }
    rsp
}

/// The function's own condition (everything composed, or what waits for what), then
/// one per component.
fn conditions(composition: &compose::Composition) -> Vec<ComponentCondition> {
    let composed = if composition.waiting.is_empty() {
        ComponentCondition {
            kind: CONDITION,
            ready: true,
            reason: "AllComposed",
            message: format!("all {} resources are composed", composition.resources.len()),
        }
    } else {
        let waiting = composition
            .waiting
            .iter()
            .map(|(name, missing)| format!("{name} (needs {})", missing.join(", ")))
            .collect::<Vec<_>>()
            .join("; ");
        ComponentCondition {
            kind: CONDITION,
            ready: false,
            reason: "WaitingForDependencies",
            message: format!(
                "{} resources composed, {} waiting for values from others: {waiting}",
                composition.resources.len(),
                composition.waiting.len()
            ),
        }
    };
    std::iter::once(composed)
        .chain(composition.conditions.iter().cloned())
        .collect()
}

/// (status, reason) of each condition type the composite had before this run.
fn previous_conditions(composite: &Value) -> BTreeMap<String, (String, String)> {
    composite
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|c| {
            let text = |k: &str| c.get(k).and_then(Value::as_str).map(str::to_string);
            Some((
                text("type")?,
                (text("status")?, text("reason").unwrap_or_default()),
            ))
        })
        .collect()
}

/// Sets the condition on the composite and claim, and records an event (a Normal
/// result, a Warning when something became unready) when its status or reason changed
/// since the last run: events for transitions, not for every reconcile.
fn set_condition(
    rsp: &mut RunFunctionResponse,
    c: &ComponentCondition,
    previous: &BTreeMap<String, (String, String)>,
) {
    let condition = if c.ready {
        response::condition_true(rsp, c.kind, c.reason)
    } else {
        response::condition_false(rsp, c.kind, c.reason)
    };
    condition.message = Some(c.message.clone());
    condition.target = Some(Target::CompositeAndClaim as i32);
    let status = if c.ready { "True" } else { "False" };
    let was = previous.get(c.kind);
    if was.is_some_and(|(s, r)| s == status && r == c.reason) {
        return;
    }
    let became_unready = was.is_some_and(|(s, _)| s == "True") && !c.ready;
    let message = format!("{}: {}", c.kind, c.message);
    let event = if became_unready {
        response::warning(rsp, message)
    } else {
        response::normal(rsp, message)
    };
    event.reason = Some(c.reason.to_string());
    event.target = Some(Target::CompositeAndClaim as i32);
}

fn fatal(rsp: &mut RunFunctionResponse, message: impl Into<String>) {
    response::fatal(rsp, message).target = Some(Target::CompositeAndClaim as i32);
}

/// Observed composed resources as JSON, by composition resource name.
fn observed_resources(req: &RunFunctionRequest) -> Observed {
    let resources: BTreeMap<String, Value> = req
        .observed
        .as_ref()
        .map(|o| {
            o.resources
                .iter()
                .filter_map(|(name, r)| Some((name.clone(), struct_to_json(r.resource.as_ref()?))))
                .collect()
        })
        .unwrap_or_default();
    Observed::new(resources)
}
