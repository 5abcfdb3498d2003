//! Conditions people can act on: one per component that takes time or needs someone,
//! each with a reason a tool can match and a message that names the resource.
//!
//! Crossplane's own `Ready` says only "not yet". An app team waiting on a new CDN wants
//! to know whether storage exists, whether CloudFront is still deploying (minutes),
//! whether the certificate waits for a DNS record (someone may have to create it) and
//! whether the Lambda@Edge function is still replicating. Derived from observed state
//! only, so the same observed state always gives the same conditions.

use super::{Composition, Ctx, compute, delivery, dns, storage};

/// One component's condition on the composite (and claim).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ComponentCondition {
    /// The condition type, such as `DistributionReady`.
    pub kind: &'static str,
    pub ready: bool,
    /// CamelCase, stable for tools: `Deploying`, `WaitingForDNSValidation`, ...
    pub reason: &'static str,
    pub message: String,
}

pub const STORAGE: &str = "StorageReady";
pub const DISTRIBUTION: &str = "DistributionReady";
pub const CERTIFICATE: &str = "CertificateReady";
pub const EDGE_FUNCTION: &str = "EdgeFunctionReady";

fn condition(
    kind: &'static str,
    ready: bool,
    reason: &'static str,
    message: String,
) -> ComponentCondition {
    ComponentCondition {
        kind,
        ready,
        reason,
        message,
    }
}

/// The component conditions of a composition (the certificate's only with a custom
/// domain).
pub fn component_conditions(ctx: &Ctx, composition: &Composition) -> Vec<ComponentCondition> {
    let mut out = vec![
        storage_condition(ctx),
        distribution_condition(ctx, composition),
    ];
    if ctx.spec.custom_domain.is_some() {
        out.push(certificate_condition(ctx));
    }
    out.push(edge_function_condition(ctx));
    out
}

fn storage_condition(ctx: &Ctx) -> ComponentCondition {
    let o = ctx.observed;
    let primary = ctx.spec.regions.primary.as_str();
    let mut buckets: Vec<(String, String)> = storage::originals(ctx)
        .into_iter()
        .map(|b| (b.component, b.bucket))
        .collect();
    buckets.push((
        storage::VARIANTS.to_string(),
        ctx.names.bucket("variants", primary),
    ));
    let pending: Vec<String> = buckets
        .iter()
        .filter(|(component, _)| !o.is_ready(component))
        .map(|(component, bucket)| {
            let state = if o.get(component).is_some() {
                "not ready"
            } else {
                "not created yet"
            };
            format!("{component} (bucket {bucket}) {state}")
        })
        .collect();
    if pending.is_empty() {
        let regions = storage::originals(ctx)
            .iter()
            .map(|b| b.region.clone())
            .collect::<Vec<_>>()
            .join(", ");
        condition(
            STORAGE,
            true,
            "Available",
            format!("originals in {regions} and the variants bucket are ready"),
        )
    } else {
        condition(STORAGE, false, "Creating", pending.join("; "))
    }
}

/// CloudFront reports the distribution `Deployed` and the provider reports it Ready.
fn distribution_deployed(ctx: &Ctx) -> bool {
    let o = ctx.observed;
    o.at_provider(delivery::DISTRIBUTION, "status").as_deref() == Some("Deployed")
        && o.is_ready(delivery::DISTRIBUTION)
}

fn distribution_condition(ctx: &Ctx, composition: &Composition) -> ComponentCondition {
    let o = ctx.observed;
    if let Some(needs) = composition.waiting.get(delivery::DISTRIBUTION) {
        return condition(
            DISTRIBUTION,
            false,
            "WaitingForDependencies",
            format!("the CloudFront distribution waits for {}", needs.join(", ")),
        );
    }
    let Some(id) = o.at_provider(delivery::DISTRIBUTION, "id") else {
        return condition(
            DISTRIBUTION,
            false,
            "Creating",
            "creating the CloudFront distribution".into(),
        );
    };
    if distribution_deployed(ctx) {
        let domain = o
            .at_provider(delivery::DISTRIBUTION, "domainName")
            .unwrap_or_default();
        condition(
            DISTRIBUTION,
            true,
            "Deployed",
            format!("distribution {id} serves {domain}"),
        )
    } else {
        condition(
            DISTRIBUTION,
            false,
            "Deploying",
            format!(
                "CloudFront is deploying distribution {id} to its edge locations (usually 5 to 15 minutes)"
            ),
        )
    }
}

fn certificate_condition(ctx: &Ctx) -> ComponentCondition {
    let o = ctx.observed;
    let Some(arn) = o.at_provider(dns::CERTIFICATE, "arn") else {
        return condition(
            CERTIFICATE,
            false,
            "Creating",
            "requesting the ACM certificate in us-east-1".into(),
        );
    };
    let issued = o.at_provider(dns::CERTIFICATE, "status").as_deref() == Some("ISSUED");
    if issued && o.is_ready(dns::CERTIFICATE_VALIDATION) {
        return condition(
            CERTIFICATE,
            true,
            "Issued",
            format!("certificate {arn} is issued"),
        );
    }
    let record = o
        .get(dns::CERTIFICATE)
        .and_then(|c| c.pointer("/status/atProvider/domainValidationOptions/0/resourceRecordName"))
        .and_then(|v| v.as_str())
        .unwrap_or("(not known yet)");
    let zone = ctx
        .spec
        .custom_domain
        .as_ref()
        .map(|d| d.hosted_zone_id.as_str())
        .unwrap_or_default();
    condition(
        CERTIFICATE,
        false,
        "WaitingForDNSValidation",
        format!(
            "ACM waits for the DNS validation record {record} in hosted zone {zone} (certificate {arn}); ImageCDN writes it, and ACM usually validates within 30 minutes of it resolving"
        ),
    )
}

fn edge_function_condition(ctx: &Ctx) -> ComponentCondition {
    let o = ctx.observed;
    let name = ctx.names.iam("edge-transform");
    if o.get(compute::EDGE_FUNCTION).is_none() {
        return condition(
            EDGE_FUNCTION,
            false,
            "Creating",
            format!("creating the Lambda@Edge function {name} in us-east-1"),
        );
    }
    let Some(version) = o
        .at_provider(compute::EDGE_FUNCTION, "version")
        .filter(|_| o.is_ready(compute::EDGE_FUNCTION))
    else {
        return condition(
            EDGE_FUNCTION,
            false,
            "Publishing",
            format!("publishing a version of the Lambda@Edge function {name}"),
        );
    };
    if distribution_deployed(ctx) {
        condition(
            EDGE_FUNCTION,
            true,
            "Replicated",
            format!("{name}:{version} runs at CloudFront's edge locations"),
        )
    } else {
        condition(
            EDGE_FUNCTION,
            false,
            "Replicating",
            format!(
                "Lambda@Edge replicates {name}:{version} to CloudFront's edge locations with the distribution"
            ),
        )
    }
}
