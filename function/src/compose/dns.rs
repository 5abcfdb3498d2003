//! The custom domain: an ACM certificate in us-east-1 validated through DNS records in
//! the claim's hosted zone, and Route 53 alias records (A and AAAA) to the distribution.
//! The distribution's aliases and viewer certificate are set in `delivery`.

use serde_json::{Value, json};

use super::delivery::DISTRIBUTION;
use super::{Build, Ctx, Inputs, managed, select};
use crate::spec::CustomDomain;

pub const CERTIFICATE: &str = "certificate";
pub const CERTIFICATE_VALIDATION: &str = "certificate-validation";
/// CloudFront serves certificates from us-east-1 only.
const ACM_REGION: &str = "us-east-1";
/// The hosted zone ID of every CloudFront distribution, for alias records.
pub const CLOUDFRONT_ZONE_ID: &str = "Z2FDTNDATAQYW2";
const ACM: &str = "acm.aws.upbound.io";
const ROUTE53: &str = "route53.aws.upbound.io/v1beta2";

pub fn build(ctx: &Ctx) -> Vec<(String, Build)> {
    let Some(domain) = &ctx.spec.custom_domain else {
        return Vec::new();
    };
    let mut out = vec![(
        CERTIFICATE.to_string(),
        Build::Ready(certificate(ctx, domain)),
    )];
    let records = validation_records(ctx, domain);
    let fqdns: Vec<String> = records.iter().map(|(_, fqdn, _)| fqdn.clone()).collect();
    let waiting_for_records = records.is_empty();
    for (name, _, record) in records {
        out.push((name, Build::Ready(record)));
    }
    let mut inputs = Inputs::default();
    inputs.require(!waiting_for_records, "certificate domainValidationOptions");
    out.push((
        CERTIFICATE_VALIDATION.to_string(),
        inputs.build(|| {
            managed(
                ctx,
                CERTIFICATE_VALIDATION,
                &format!("{ACM}/v1beta1"),
                "CertificateValidation",
                None,
                json!({
                    "region": ACM_REGION,
                    "certificateArnSelector": select(CERTIFICATE),
                    "validationRecordFqdns": fqdns,
                }),
            )
        }),
    ));
    for (component, kind) in [("alias-a", "A"), ("alias-aaaa", "AAAA")] {
        out.push((
            component.to_string(),
            alias_record(ctx, domain, component, kind),
        ));
    }
    out
}

fn certificate(ctx: &Ctx, domain: &CustomDomain) -> Value {
    managed(
        ctx,
        CERTIFICATE,
        &format!("{ACM}/v1beta2"),
        "Certificate",
        None,
        json!({
            "region": ACM_REGION,
            "domainName": domain.name,
            "validationMethod": "DNS",
            "keyAlgorithm": "EC_prime256v1",
            "tags": super::tags(ctx, CERTIFICATE),
        }),
    )
}

/// One CNAME per validation option ACM reports (composition name, FQDN, resource).
fn validation_records(ctx: &Ctx, domain: &CustomDomain) -> Vec<(String, String, Value)> {
    let options = ctx
        .observed
        .own(CERTIFICATE, "/status/atProvider/domainValidationOptions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    options
        .iter()
        .enumerate()
        .filter_map(|(i, o)| {
            let name = o.get("resourceRecordName")?.as_str()?.to_string();
            let kind = o.get("resourceRecordType")?.as_str()?;
            let value = o.get("resourceRecordValue")?.as_str()?;
            let component = format!("certificate-validation-record-{i}");
            let record = managed(
                ctx,
                &component,
                ROUTE53,
                "Record",
                None,
                json!({
                    "zoneId": domain.hosted_zone_id,
                    "name": name,
                    "type": kind,
                    "ttl": 300,
                    "records": [value],
                    "allowOverwrite": true,
                }),
            );
            Some((component, name.trim_end_matches('.').to_string(), record))
        })
        .collect()
}

fn alias_record(ctx: &Ctx, domain: &CustomDomain, component: &str, kind: &str) -> Build {
    let mut inputs = Inputs::default();
    let target = inputs.need(
        ctx,
        component,
        "/spec/forProvider/alias/name",
        ctx.observed.at_provider(DISTRIBUTION, "domainName"),
        "distribution domainName",
    );
    inputs.build(|| {
        managed(
            ctx,
            component,
            ROUTE53,
            "Record",
            None,
            json!({
                "zoneId": domain.hosted_zone_id,
                "name": domain.name,
                "type": kind,
                "alias": {"name": target, "zoneId": CLOUDFRONT_ZONE_ID, "evaluateTargetHealth": false},
            }),
        )
    })
}

/// The validated certificate's ARN, once validation succeeded.
pub fn validated_certificate_arn(ctx: &Ctx) -> Option<String> {
    if !ctx.observed.is_ready(CERTIFICATE_VALIDATION) {
        return None;
    }
    ctx.observed.at_provider(CERTIFICATE, "arn")
}
