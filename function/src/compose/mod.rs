//! Expands a claim into its managed resources, one module per concern.
//!
//! Every builder is a small pure function of [`Ctx`] (typed spec, names, observed
//! state) returning a [`Build`]: the resource, or the facts it is still waiting for.
//! Later concerns (security, precompute, audit, dns) plug in beside these as
//! further modules called from [`compose`].

mod audit;
mod compute;
pub mod conditions;
pub mod deletion;
mod delivery;
mod dns;
pub mod namespaced;
pub mod precompute;
pub mod security;
mod storage;
pub mod viewer_request;
mod waf_logging;
mod workflow;

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::api::{Api, Composite};
use crate::iam;
use crate::names::Names;
use crate::observed::Observed;
use crate::spec::{ImageCdnSpec, ImageCdnStatus};

/// The label every composed resource carries so selectors can find it.
pub const COMPONENT_LABEL: &str = "imagecdn.io/component";
const EXTERNAL_NAME: &str = "crossplane.io/external-name";

/// What builders read.
pub struct Ctx<'a> {
    pub spec: &'a ImageCdnSpec,
    pub names: Names,
    pub observed: &'a Observed,
    /// The claim's namespace (`crossplane.io/claim-namespace`), when there is a claim;
    /// a namespaced composite's own namespace.
    pub claim_namespace: Option<&'a str>,
    /// Which API is composed: builders write the claim API's shapes, and
    /// [`namespaced::convert`] turns them into the namespaced API's at the end.
    pub api: Api,
}

impl Ctx<'_> {
    /// Where the composed Secrets (function code) go: the claim's namespace unless the
    /// spec names one (validated to be the same), `crossplane-system` without a claim.
    pub fn secret_namespace(&self) -> String {
        self.spec
            .provider_config
            .secret_namespace
            .clone()
            .or(self.claim_namespace.map(str::to_string))
            .unwrap_or_else(|| crate::spec::NO_CLAIM_SECRET_NAMESPACE.to_string())
    }

    /// The namespace of a key Secret: as given, else the claim's.
    pub fn key_namespace(&self, secret: &crate::spec::SecretKeyRef) -> String {
        secret
            .namespace
            .clone()
            .or(self.claim_namespace.map(str::to_string))
            .unwrap_or_else(|| crate::spec::NO_CLAIM_SECRET_NAMESPACE.to_string())
    }
}

/// The outcome of one builder.
pub enum Build {
    Ready(Value),
    /// The resource needs values that do not exist yet; the strings say which.
    Waiting(Vec<String>),
}

/// The output of [`compose`].
#[derive(Debug, Default)]
pub struct Composition {
    /// Desired composed resources by composition resource name.
    pub resources: BTreeMap<String, Value>,
    /// Resources not yet desired, with what each waits for.
    pub waiting: BTreeMap<String, Vec<String>>,
    /// The XR status derived from observed resources.
    pub status: ImageCdnStatus,
    /// Per-component conditions for the XR and claim.
    pub conditions: Vec<conditions::ComponentCondition>,
}

impl Composition {
    fn add(&mut self, ctx: &Ctx, name: &str, build: Build) {
        match build {
            Build::Ready(body) => {
                self.resources.insert(name.to_string(), body);
            }
            Build::Waiting(missing) => {
                // Crossplane deletes whatever desired state omits: a resource that exists
                // keeps its last applied shape until its inputs are known again.
                if let Some(observed) = ctx.observed.get(name) {
                    self.resources
                        .insert(name.to_string(), carry_forward(observed));
                } else {
                    self.waiting.insert(name.to_string(), missing);
                }
            }
        }
    }
}

/// Builds every resource of the claim (or namespaced composite).
pub fn compose(spec: &ImageCdnSpec, composite: &Composite, observed: &Observed) -> Composition {
    let ctx = Ctx {
        spec,
        names: composite.names(),
        observed,
        claim_namespace: composite.namespace.as_deref(),
        api: composite.api,
    };
    let mut out = Composition::default();
    for (name, build) in storage::build(&ctx)
        .into_iter()
        .chain(compute::build(&ctx))
        .chain(delivery::build(&ctx))
        .chain(security::build(&ctx))
        .chain(audit::build(&ctx))
        .chain(dns::build(&ctx))
        .chain(precompute::build(&ctx))
    {
        out.add(&ctx, &name, build);
    }
    deletion::keep_what_kept_resources_need(&mut out.resources);
    for (by, of) in deletion::deletion_order(&out.resources, observed) {
        let (name, usage) = deletion::usage(&out.resources, &by, &of);
        out.resources.insert(name, usage);
    }
    // A Usage derived from a value momentarily missing from observed status is kept
    // while both its resources still exist (never dropped, like every resource).
    for name in observed.names() {
        if let Some(usage) = observed.get(name).filter(|u| u["kind"] == "Usage")
            && !out.resources.contains_key(name)
            && deletion::both_sides_desired(&out.resources, usage)
        {
            out.resources.insert(name.to_string(), carry_forward(usage));
        }
    }
    if let (Api::Namespaced, Some(namespace)) = (ctx.api, ctx.claim_namespace) {
        let provider_config = namespaced::ProviderConfigRef {
            kind: spec.provider_config.kind.as_str(),
            name: &spec.provider_config.aws,
        };
        for resource in out.resources.values_mut() {
            namespaced::convert(resource, namespace, &provider_config);
        }
    }
    out.status = status(&ctx);
    out.conditions = conditions::component_conditions(&ctx, &out);
    out
}

/// The desired copy of an observed resource: identity, labels, annotations and spec.
fn carry_forward(observed: &Value) -> Value {
    let mut metadata = serde_json::Map::new();
    for key in ["labels", "annotations"] {
        if let Some(v) = observed.pointer(&format!("/metadata/{key}")) {
            metadata.insert(key.into(), v.clone());
        }
    }
    json!({
        "apiVersion": observed.get("apiVersion"),
        "kind": observed.get("kind"),
        "metadata": metadata,
        "spec": observed.get("spec"),
    })
}

/// The XR status from observed state.
fn status(ctx: &Ctx) -> ImageCdnStatus {
    let o = ctx.observed;
    let domain = o.at_provider(delivery::DISTRIBUTION, "domainName");
    let cdn_url = match (&ctx.spec.custom_domain, &domain) {
        (Some(custom), Some(_)) => Some(format!("https://{}", custom.name)),
        (None, Some(d)) => Some(format!("https://{d}")),
        _ => None,
    };
    let originals = storage::originals(ctx)
        .into_iter()
        .filter(|b| o.get(&b.component).is_some())
        .map(|b| crate::spec::RegionalBucket {
            region: b.region,
            name: b.bucket,
        })
        .collect::<Vec<_>>();
    let observed_name = |component: &str, bucket: String| o.get(component).map(|_| bucket);
    let primary = ctx.spec.regions.primary.as_str();
    let buckets = crate::spec::BucketStatus {
        originals,
        variants: observed_name(storage::VARIANTS, ctx.names.bucket("variants", primary)),
        logs: observed_name(storage::LOGS, ctx.names.bucket("logs", primary)),
    };
    ImageCdnStatus {
        cdn_url,
        distribution_id: o.at_provider(delivery::DISTRIBUTION, "id"),
        distribution_domain_name: domain,
        buckets: (buckets != Default::default()).then_some(buckets),
        tenants: ctx
            .spec
            .tenants
            .iter()
            .filter(|t| !t.public_keys.is_empty())
            .map(|t| crate::spec::TenantStatus {
                name: t.name.clone(),
                key_group_id: security::key_group_id(ctx, t),
            })
            .collect(),
    }
}

/// A provider-aws managed resource with our labels, provider config and external name.
pub fn managed(
    ctx: &Ctx,
    component: &str,
    api_version: &str,
    kind: &str,
    external_name: Option<&str>,
    for_provider: Value,
) -> Value {
    let mut metadata = json!({"labels": {COMPONENT_LABEL: component}});
    if let Some(name) = external_name {
        metadata["annotations"] = json!({EXTERNAL_NAME: name});
    }
    json!({
        "apiVersion": api_version,
        "kind": kind,
        "metadata": metadata,
        "spec": {
            "forProvider": for_provider,
            "providerConfigRef": {"name": ctx.spec.provider_config.aws},
        },
    })
}

/// A selector for the composed resource `component` of this same composite.
pub fn select(component: &str) -> Value {
    json!({"matchControllerRef": true, "matchLabels": {COMPONENT_LABEL: component}})
}

/// Tags every taggable AWS resource carries, for cost allocation and ownership.
pub fn tags(ctx: &Ctx, component: &str) -> Value {
    json!({
        "imagecdn.io/cdn": ctx.names.base(),
        "imagecdn.io/component": component,
        "managed-by": "crossplane-imagecdn",
    })
}

/// A value produced by another resource, or (once applied) the value this resource was
/// observed with. `None` means the builder must wait.
pub fn wired(
    ctx: &Ctx,
    this: &str,
    pointer: &str,
    from_dependency: Option<String>,
) -> Option<Value> {
    from_dependency
        .map(Value::String)
        .or_else(|| ctx.observed.own(this, pointer).cloned())
}

/// Collects wired values and what is missing, for builders with several inputs.
#[derive(Default)]
pub struct Inputs {
    missing: Vec<String>,
}

impl Inputs {
    /// Returns the wired value (or `Value::Null` after recording `what` as missing).
    pub fn need(
        &mut self,
        ctx: &Ctx,
        this: &str,
        pointer: &str,
        from_dependency: Option<String>,
        what: &str,
    ) -> Value {
        wired(ctx, this, pointer, from_dependency).unwrap_or_else(|| {
            self.missing.push(what.to_string());
            Value::Null
        })
    }

    /// Records a precondition (such as "versioning ready") that is not met.
    pub fn require(&mut self, met: bool, what: &str) {
        if !met {
            self.missing.push(what.to_string());
        }
    }

    /// `Ready(body())` when nothing is missing, else `Waiting`.
    pub fn build(self, body: impl FnOnce() -> Value) -> Build {
        if self.missing.is_empty() {
            Build::Ready(body())
        } else {
            Build::Waiting(self.missing)
        }
    }
}

const IAM_API: &str = "iam.aws.upbound.io/v1beta1";

/// A role trusted by `services`, a managed policy with `statements`, and the attachment.
pub fn role_with_policy(
    ctx: &Ctx,
    role_component: &str,
    name: &str,
    services: &[&str],
    purpose: &str,
    statements: Vec<Value>,
) -> Vec<(String, Build)> {
    let policy_component = role_component.replace("-role", "-policy");
    let attachment_component = format!("{policy_component}-attachment");
    vec![
        (
            role_component.to_string(),
            Build::Ready(managed(
                ctx,
                role_component,
                IAM_API,
                "Role",
                Some(name),
                json!({
                    "assumeRolePolicy": iam::trust(services),
                    "description": purpose,
                    "tags": tags(ctx, role_component),
                }),
            )),
        ),
        (
            policy_component.clone(),
            Build::Ready(managed(
                ctx,
                &policy_component,
                IAM_API,
                "Policy",
                Some(name),
                json!({
                    "policy": iam::document(statements),
                    "description": format!("Least privilege for the {purpose}"),
                    "tags": tags(ctx, &policy_component),
                }),
            )),
        ),
        (
            attachment_component.clone(),
            Build::Ready(managed(
                ctx,
                &attachment_component,
                IAM_API,
                "RolePolicyAttachment",
                None,
                json!({
                    "roleSelector": select(role_component),
                    "policyArnSelector": select(&policy_component),
                }),
            )),
        ),
    ]
}

/// Builds that need values not known yet: each waits (and is carried forward when it
/// already exists) unless `ready`.
pub fn waiting_unless(
    ready: bool,
    what: &str,
    builds: Vec<(String, Build)>,
) -> Vec<(String, Build)> {
    builds
        .into_iter()
        .map(|(name, build)| {
            if ready {
                (name, build)
            } else {
                (name, Build::Waiting(vec![what.to_string()]))
            }
        })
        .collect()
}
