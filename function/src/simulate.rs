//! What an AWS account would report for composed resources once they exist: the
//! observed state a real install converges to, synthesized without an account.
//!
//! [`observe_until_complete`] renders a composite, "creates" every desired resource by
//! adding the status the provider would report (IDs, ARNs, domain names in AWS's
//! formats, derived from the external name; account 123456789012; `Ready` and `Synced`
//! True), and renders again with that observed state until no new resource appears.
//! The result is input for tests, `render --observed` and local emulation, never a
//! result: the function under test never sees how it was made.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::render::{RenderError, render_resources};

/// The account every synthesized ARN names.
pub const ACCOUNT: &str = "123456789012";

/// The observed state of every resource a composite converges to (at most 20 rounds).
pub fn observe_until_complete(composite: &Value) -> Result<BTreeMap<String, Value>, RenderError> {
    let mut observed: BTreeMap<String, Value> = BTreeMap::new();
    // Until nothing changes: create what is newly desired, and apply the latest desired
    // spec to what exists (as the provider would), keeping its status.
    for _ in 0..20 {
        let desired = render_resources(composite, &observed)?;
        let mut changed = false;
        for (name, body) in desired {
            match observed.get_mut(&name) {
                Some(existing) if existing["spec"] != body["spec"] => {
                    existing["spec"] = body["spec"].clone();
                    changed = true;
                }
                Some(_) => {}
                None => {
                    observed.insert(name.clone(), observe(&name, body));
                    changed = true;
                }
            }
        }
        if !changed {
            break;
        }
    }
    Ok(observed)
}

/// The converged state rewound to the middle of an install, as AWS reports it then:
/// CloudFront still deploying the distribution (`InProgress`, not Ready) and ACM
/// waiting for the DNS validation record (`PENDING_VALIDATION`). Everything else exists.
pub fn in_flight(mut observed: BTreeMap<String, Value>) -> BTreeMap<String, Value> {
    fn set_ready(resource: &mut Value, reason: &str) {
        if let Some(conditions) = resource
            .pointer_mut("/status/conditions")
            .and_then(Value::as_array_mut)
        {
            for c in conditions.iter_mut().filter(|c| c["type"] == "Ready") {
                c["status"] = json!("False");
                c["reason"] = json!(reason);
            }
        }
    }
    if let Some(d) = observed.get_mut("distribution") {
        d["status"]["atProvider"]["status"] = json!("InProgress");
        set_ready(d, "Creating");
    }
    if let Some(c) = observed.get_mut("certificate") {
        c["status"]["atProvider"]["status"] = json!("PENDING_VALIDATION");
    }
    if let Some(v) = observed.get_mut("certificate-validation") {
        set_ready(v, "Creating");
    }
    observed
}

fn hash(input: &str, len: usize) -> String {
    let digest = Sha256::digest(input.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    hex[..len].to_string()
}

/// The desired resource as the provider would report it after creation.
pub fn observe(name: &str, mut body: Value) -> Value {
    let kind = body["kind"].as_str().unwrap_or_default().to_string();
    let generate_name = body["metadata"]["generateName"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    // A composed object that names itself (a Secret) keeps its name.
    let object_name = body["metadata"]["name"]
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| format!("{generate_name}{}", hash(name, 5)));
    if kind == "Secret" {
        // A plain Kubernetes object (namespaced API): no external name, no status.
        body["metadata"]["name"] = json!(object_name);
        return body;
    }
    let external = body
        .pointer("/metadata/annotations/crossplane.io~1external-name")
        .and_then(Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| object_name.clone());
    let region = body
        .pointer("/spec/forProvider/region")
        .and_then(Value::as_str)
        .unwrap_or("us-east-1")
        .to_string();
    let uuid = {
        let h = hash(&external, 32);
        format!(
            "{}-{}-{}-{}-{}",
            &h[..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..]
        )
    };
    let at_provider = match kind.as_str() {
        "Bucket" => json!({
            "id": external,
            "arn": format!("arn:aws:s3:::{external}"),
            "bucketDomainName": format!("{external}.s3.amazonaws.com"),
            "bucketRegionalDomainName": format!("{external}.s3.{region}.amazonaws.com"),
            "hostedZoneId": "Z3AQBSTGFYJSTF",
            "region": region,
        }),
        "Role" => json!({
            "id": external,
            "arn": format!("arn:aws:iam::{ACCOUNT}:role/{external}"),
            "uniqueId": format!("AROA{}", hash(&external, 17).to_uppercase()),
        }),
        "Policy" => json!({
            "id": format!("arn:aws:iam::{ACCOUNT}:policy/{external}"),
            "arn": format!("arn:aws:iam::{ACCOUNT}:policy/{external}"),
        }),
        "Function"
            if body["apiVersion"]
                .as_str()
                .unwrap_or("")
                .starts_with("lambda.") =>
        {
            json!({
                "id": external,
                "arn": format!("arn:aws:lambda:{region}:{ACCOUNT}:function:{external}"),
                "qualifiedArn": format!("arn:aws:lambda:{region}:{ACCOUNT}:function:{external}:1"),
                "version": "1",
            })
        }
        "Function" => json!({
            "id": external,
            "arn": format!("arn:aws:cloudfront::{ACCOUNT}:function/{external}"),
            "etag": format!("E{}", hash(&external, 13).to_uppercase()),
            "status": "UNASSOCIATED",
        }),
        "Distribution" => {
            let id = format!("E{}", hash(&external, 13).to_uppercase());
            json!({
                "id": id,
                "arn": format!("arn:aws:cloudfront::{ACCOUNT}:distribution/{id}"),
                "domainName": format!("d{}.cloudfront.net", hash(&external, 13)),
                "hostedZoneId": "Z2FDTNDATAQYW2",
                "status": "Deployed",
            })
        }
        "WebACL" => json!({
            "id": uuid,
            "arn": format!("arn:aws:wafv2:us-east-1:{ACCOUNT}:global/webacl/{}/{uuid}", body.pointer("/spec/forProvider/name").and_then(Value::as_str).unwrap_or_default()),
            "capacity": 1032,
        }),
        "Group" => json!({
            "id": external,
            "arn": format!("arn:aws:logs:{region}:{ACCOUNT}:log-group:{external}"),
        }),
        "Trail" => json!({
            "id": external,
            "arn": format!("arn:aws:cloudtrail:{region}:{ACCOUNT}:trail/{external}"),
            "homeRegion": region,
        }),
        "KeyGroup" | "PublicKey" => {
            json!({"id": format!("K{}", hash(&external, 13).to_uppercase())})
        }
        "Certificate" => {
            let domain = body
                .pointer("/spec/forProvider/domainName")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            json!({
                "id": format!("arn:aws:acm:{region}:{ACCOUNT}:certificate/{uuid}"),
                "arn": format!("arn:aws:acm:{region}:{ACCOUNT}:certificate/{uuid}"),
                "status": "ISSUED",
                "domainValidationOptions": [{
                    "domainName": domain,
                    "resourceRecordName": format!("_{}.{domain}.", hash(&domain, 32)),
                    "resourceRecordType": "CNAME",
                    "resourceRecordValue": format!("_{}.jkddzztszm.acm-validations.aws.", hash(&uuid, 32)),
                }],
            })
        }
        "Record" => json!({
            "id": format!("{}_{}", body.pointer("/spec/forProvider/zoneId").and_then(Value::as_str).unwrap_or_default(), body.pointer("/spec/forProvider/name").and_then(Value::as_str).unwrap_or_default()),
            "fqdn": body.pointer("/spec/forProvider/name").and_then(Value::as_str).unwrap_or_default().trim_end_matches('.'),
        }),
        "StateMachine" => json!({
            "id": format!("arn:aws:states:{region}:{ACCOUNT}:stateMachine:{external}"),
            "arn": format!("arn:aws:states:{region}:{ACCOUNT}:stateMachine:{external}"),
            "status": "ACTIVE",
        }),
        "Rule" => {
            json!({"id": external, "arn": format!("arn:aws:events:{region}:{ACCOUNT}:rule/{external}")})
        }
        "MetricAlarm" => {
            json!({"id": external, "arn": format!("arn:aws:cloudwatch:{region}:{ACCOUNT}:alarm:{external}")})
        }
        "Object" | "Usage" => json!({}),
        _ => json!({"id": uuid}),
    };
    let metadata = body["metadata"].as_object_mut().expect("rendered metadata");
    metadata.insert("name".into(), json!(object_name));
    if kind == "Usage" {
        // Not an AWS resource: no external name.
        return finish(body, &kind, at_provider);
    }
    metadata
        .entry("annotations")
        .or_insert_with(|| json!({}))
        .as_object_mut()
        .expect("annotations object")
        .entry("crossplane.io/external-name")
        // Kinds without a name of their own take the ID AWS assigned as external name.
        .or_insert_with(|| at_provider.get("id").cloned().unwrap_or(json!(external)));
    finish(body, &kind, at_provider)
}

/// Adds the status: conditions Ready and Synced, and `atProvider` for AWS kinds.
fn finish(mut body: Value, kind: &str, at_provider: Value) -> Value {
    let conditions = json!([
        {"type": "Ready", "status": "True", "reason": "Available", "lastTransitionTime": "2026-11-25T10:00:00Z"},
        {"type": "Synced", "status": "True", "reason": "ReconcileSuccess", "lastTransitionTime": "2026-11-25T10:00:00Z"},
    ]);
    body["status"] = if kind == "Object" || kind == "Usage" {
        json!({"conditions": conditions})
    } else {
        json!({"atProvider": at_provider, "conditions": conditions})
    };
    body
}
