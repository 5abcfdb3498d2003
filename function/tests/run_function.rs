//! Table-driven RunFunction tests: bad claims, wiring, readiness, status and the
//! rule that an observed resource is never dropped from desired state.

mod common;

use std::collections::BTreeMap;

use common::*;
use function_sdk_rust::proto::v1::Ready;
use serde_json::{Value, json};

/// Each class of bad claim: a change to the complete example and the field the fatal
/// result must name.
#[test]
fn bad_claims_get_a_fatal_result_naming_the_field() {
    let cases: &[(&str, &str, Value, &str)] = &[
        (
            "replica equals primary",
            "/spec/regions/replicas/1",
            json!("us-east-1"),
            "spec.regions.replicas[1]: must differ from the primary region",
        ),
        (
            "replicas equal",
            "/spec/regions/replicas/1",
            json!("eu-west-1"),
            "spec.regions.replicas[1]: must differ from the other replica",
        ),
        (
            "one replica",
            "/spec/regions/replicas",
            json!(["eu-west-1"]),
            "spec.regions.replicas: must list exactly 2 regions",
        ),
        (
            "unknown region",
            "/spec/regions/primary",
            json!("mars-north-1"),
            "spec.regions.primary",
        ),
        (
            "shield region without edge cache",
            "/spec/regions/originShield",
            json!("eu-north-1"),
            "spec.regions.originShield",
        ),
        (
            "a claim choosing a namespaced provider config kind",
            "/spec/providerConfig/kind",
            json!("ProviderConfig"),
            "spec.providerConfig.kind: only namespaced ImageCDNs",
        ),
        (
            "no tenants",
            "/spec/tenants",
            json!([]),
            "spec.tenants: must list at least one tenant",
        ),
        (
            "tenants missing",
            "/spec/tenants",
            Value::Null,
            "spec.tenants",
        ),
        (
            "overlapping prefixes",
            "/spec/tenants/1/prefix",
            json!("shop/partners"),
            "spec.tenants[1].prefix",
        ),
        (
            "duplicate tenant",
            "/spec/tenants/1/name",
            json!("shop"),
            "spec.tenants[1].name: duplicate tenant",
        ),
        (
            "dot segment prefix",
            "/spec/tenants/0/prefix",
            json!("shop/../x"),
            "spec.tenants[0].prefix",
        ),
        (
            "signing without keys",
            "/spec/tenants/1/publicKeys",
            json!([]),
            "spec.tenants[1].publicKeys",
        ),
        (
            "unknown field",
            "/spec/transform/maxWidht",
            json!(100),
            "spec.transform.maxWidht: unknown field",
        ),
        (
            "wrong type",
            "/spec/transform/maxWidth",
            json!("big"),
            "spec.transform.maxWidth",
        ),
        (
            "negative size",
            "/spec/transform/maxWidth",
            json!(-5),
            "spec.transform.maxWidth",
        ),
        (
            "size too large",
            "/spec/transform/maxHeight",
            json!(100000),
            "spec.transform.maxHeight: must be between",
        ),
        (
            "quality bounds inverted",
            "/spec/transform/minQuality",
            json!(95),
            "spec.transform.defaultQuality",
        ),
        (
            "ladder not ascending",
            "/spec/transform/widthLadder",
            json!([640, 320]),
            "spec.transform.widthLadder[1]: steps must be strictly ascending",
        ),
        (
            "ladder beyond max",
            "/spec/transform/widthLadder",
            json!([320, 5000]),
            "spec.transform.widthLadder[1]",
        ),
        (
            "preset wider than max",
            "/spec/transform/presets/0/width",
            json!(5000),
            "spec.transform.presets[0].width",
        ),
        (
            "preset width off the ladder",
            "/spec/transform/presets/0/width",
            json!(250),
            "spec.transform.presets[0].width: must be one of spec.transform.widthLadder",
        ),
        (
            "preset format disabled",
            "/spec/transform/formats",
            json!(["jpeg", "png"]),
            "spec.transform.presets[0].format: webp is not enabled",
        ),
        (
            "preset fit without height",
            "/spec/transform/presets/2/fit",
            json!("cover"),
            "spec.transform.presets[2].fit",
        ),
        (
            "unknown fit",
            "/spec/transform/presets/0/fit",
            json!("stretch"),
            "spec.transform.presets[0].fit",
        ),
        (
            "precompute unknown preset",
            "/spec/precompute/presets/0",
            json!("banner"),
            "spec.precompute.presets[0]",
        ),
        (
            "bad referer",
            "/spec/waf/allowedReferers/0",
            json!("https://example.com/"),
            "spec.waf.allowedReferers[0]",
        ),
        (
            "rate limit too low",
            "/spec/waf/rateLimit",
            json!(5),
            "spec.waf.rateLimit",
        ),
        (
            "bad rate window",
            "/spec/waf/rateLimitWindowSeconds",
            json!(90),
            "spec.waf.rateLimitWindowSeconds",
        ),
        (
            "unknown WAF log mode",
            "/spec/waf/logRequests",
            json!("Sometimes"),
            "spec.waf.logRequests",
        ),
        (
            "bad custom domain",
            "/spec/customDomain/name",
            json!("Images.Example.com"),
            "spec.customDomain.name",
        ),
        (
            "bad hosted zone",
            "/spec/customDomain/hostedZoneId",
            json!("zone-1"),
            "spec.customDomain.hostedZoneId",
        ),
        (
            "a key Secret of another namespace",
            "/spec/tenants/1/publicKeys/0/secretRef/namespace",
            json!("team-payments"),
            "spec.tenants[1].publicKeys[0].secretRef.namespace: must be the ImageCDN's own namespace \"team-media\"",
        ),
        (
            "an empty Secret namespace",
            "/spec/providerConfig/secretNamespace",
            json!(""),
            "spec.providerConfig.secretNamespace: must not be empty",
        ),
        (
            "Secrets written into another namespace",
            "/spec/providerConfig/secretNamespace",
            json!("kube-system"),
            "spec.providerConfig.secretNamespace: must be the ImageCDN's own namespace",
        ),
        (
            "existing trail that is not a CloudTrail ARN",
            "/spec/audit/existingTrail",
            json!("arn:aws:s3:::audit-bucket"),
            "spec.audit.existingTrail",
        ),
        (
            "bad artifact bucket",
            "/spec/artifacts/edge/bucket",
            json!("My_Bucket"),
            "spec.artifacts.edge.bucket",
        ),
        (
            "artifacts missing",
            "/spec/artifacts",
            Value::Null,
            "spec.artifacts: required",
        ),
        (
            "retention too long",
            "/spec/audit/retentionDays",
            json!(99999),
            "spec.audit.retentionDays",
        ),
        (
            "unknown price class",
            "/spec/priceClass",
            json!("PriceClass_50"),
            "spec.priceClass",
        ),
        (
            "unknown deletion policy",
            "/spec/originals/deletionPolicy",
            json!("Keep"),
            "spec.originals.deletionPolicy",
        ),
        ("spec not an object", "/spec", json!("nope"), "spec"),
    ];
    let base = composite("complete.yaml");
    let mut failures = Vec::new();
    for (name, pointer, value, expected) in cases {
        let mut xr = base.clone();
        if value.is_null() {
            remove(&mut xr, pointer);
        } else {
            set(&mut xr, pointer, value.clone());
        }
        let rsp = run(&xr, &BTreeMap::new());
        let fatal = fatal_messages(&rsp);
        if !fatal.iter().any(|m| m.contains(expected)) {
            failures.push(format!(
                "{name}: expected a fatal result containing {expected:?}, got {fatal:?}"
            ));
        }
        if !desired(&rsp).is_empty() {
            failures.push(format!("{name}: a bad claim must add no desired resources"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Any value at any field of the claim: the function answers, never panics, and a
/// refusal always names a field under `spec`.
#[test]
fn arbitrary_values_never_panic() {
    let base = composite("complete.yaml");
    let mut pointers = Vec::new();
    collect_pointers(&base["spec"], "/spec", &mut pointers);
    let junk = [
        Value::Null,
        json!(-1),
        json!(0),
        json!(1e300),
        json!(4294967296u64),
        json!(""),
        json!("../../etc/passwd"),
        json!("\u{0000}\u{FFFF}"),
        json!([]),
        json!({}),
        json!(true),
    ];
    for pointer in &pointers {
        for value in &junk {
            let mut xr = base.clone();
            set(&mut xr, pointer, value.clone());
            let rsp = run(&xr, &BTreeMap::new());
            for m in fatal_messages(&rsp) {
                assert!(
                    m.contains("spec"),
                    "{pointer} = {value}: fatal without a field: {m}"
                );
            }
        }
    }
    assert!(pointers.len() > 40, "walked only {} fields", pointers.len());
}

fn collect_pointers(v: &Value, at: &str, out: &mut Vec<String>) {
    out.push(at.to_string());
    match v {
        Value::Object(m) => m
            .iter()
            .for_each(|(k, c)| collect_pointers(c, &format!("{at}/{k}"), out)),
        Value::Array(a) => a
            .iter()
            .enumerate()
            .for_each(|(i, c)| collect_pointers(c, &format!("{at}/{i}"), out)),
        _ => {}
    }
}

#[test]
fn composite_fields_added_by_crossplane_are_accepted() {
    let mut xr = composite("minimal.yaml");
    set(
        &mut xr,
        "/spec/compositionRef",
        json!({"name": "imagecdn-aws"}),
    );
    set(
        &mut xr,
        "/spec/claimRef",
        json!({"apiVersion": "imagecdn.io/v1alpha1", "kind": "ImageCDN", "name": "photos", "namespace": "team-photos"}),
    );
    set(&mut xr, "/spec/resourceRefs", json!([]));
    set(&mut xr, "/spec/compositionUpdatePolicy", json!("Automatic"));
    let rsp = run(&xr, &BTreeMap::new());
    assert!(
        fatal_messages(&rsp).is_empty(),
        "{:?}",
        fatal_messages(&rsp)
    );
}

#[test]
fn first_pass_creates_what_it_can_and_says_what_waits() {
    let rsp = run(&composite("complete.yaml"), &BTreeMap::new());
    let d = desired(&rsp);
    for name in [
        "originals-primary",
        "originals-replica-1",
        "originals-replica-2",
        "variants",
        "logs",
        "edge-function",
        "renderer-function",
        "viewer-function",
        "viewer-function-code",
        "cache-policy",
    ] {
        assert!(d.contains_key(name), "{name} missing from first pass");
    }
    for waiting in [
        "distribution",
        "replication",
        "originals-primary-policy",
        "variants-policy",
    ] {
        assert!(
            !d.contains_key(waiting),
            "{waiting} must wait for observed values"
        );
    }
    let message = &rsp
        .conditions
        .iter()
        .find(|c| c.r#type == "ResourcesComposed")
        .expect("condition")
        .message;
    assert!(
        message
            .as_deref()
            .unwrap_or_default()
            .contains("distribution (needs originals-primary bucketRegionalDomainName"),
        "{message:?}"
    );
}

/// Wiring: values that exist only after creation flow into the resources that need them.
#[test]
fn observed_values_are_wired_into_dependents() {
    let xr = composite("complete.yaml");
    let mut observed = full_observed();
    let new_lambda = "arn:aws:lambda:us-east-1:123456789012:function:media-edge-transform:7";
    set(
        observed.get_mut("edge-function").unwrap(),
        "/status/atProvider/qualifiedArn",
        json!(new_lambda),
    );
    let new_distribution = "arn:aws:cloudfront::123456789012:distribution/ENEWDISTRIBUTION";
    set(
        observed.get_mut("distribution").unwrap(),
        "/status/atProvider/arn",
        json!(new_distribution),
    );
    let new_domain = "media-originals-eu-west-1.s3.eu-west-1.amazonaws.com";
    set(
        observed.get_mut("originals-replica-1").unwrap(),
        "/status/atProvider/bucketRegionalDomainName",
        json!(new_domain),
    );

    let rsp = run(&xr, &observed);
    let d = desired(&rsp);
    let dist = &d["distribution"]["spec"]["forProvider"];
    let cases: &[(&str, Value, Value)] = &[
        (
            "lambda version ARN -> distribution association",
            dist["defaultCacheBehavior"]["lambdaFunctionAssociation"][0]["lambdaArn"].clone(),
            json!(new_lambda),
        ),
        (
            "cache policy id",
            dist["defaultCacheBehavior"]["cachePolicyId"].clone(),
            observed["cache-policy"]["status"]["atProvider"]["id"].clone(),
        ),
        (
            "viewer function ARN",
            dist["defaultCacheBehavior"]["functionAssociation"][0]["functionArn"].clone(),
            observed["viewer-function"]["status"]["atProvider"]["arn"].clone(),
        ),
        (
            "replica bucket domain -> origin",
            dist["origin"][1]["domainName"].clone(),
            json!(new_domain),
        ),
        (
            "log bucket domain",
            dist["loggingConfig"]["bucket"].clone(),
            observed["logs"]["status"]["atProvider"]["bucketDomainName"].clone(),
        ),
    ];
    for (what, got, want) in cases {
        assert_eq!(got, want, "{what}");
    }
    for policy in [
        "originals-primary-policy",
        "originals-replica-1-policy",
        "variants-policy",
    ] {
        let doc = d[policy]["spec"]["forProvider"]["policy"].as_str().unwrap();
        assert!(
            doc.contains(new_distribution),
            "{policy} must name the distribution ARN: {doc}"
        );
    }
    // The third region is not a CloudFront origin: only the edge role reads it.
    let doc = d["originals-replica-2-policy"]["spec"]["forProvider"]["policy"]
        .as_str()
        .unwrap();
    assert!(!doc.contains("cloudfront.amazonaws.com"), "{doc}");
    assert!(doc.contains("role/media-edge-transform"), "{doc}");
}

#[test]
fn readiness_follows_the_observed_ready_condition() {
    let xr = composite("complete.yaml");
    let mut observed = full_observed();
    set(
        observed.get_mut("variants").unwrap(),
        "/status/conditions/0/status",
        json!("False"),
    );
    observed.remove("logs");
    let rsp = run(&xr, &observed);
    let cases = [
        ("originals-primary", Ready::True),
        ("distribution", Ready::True),
        ("variants", Ready::False),
        ("logs", Ready::False),
    ];
    for (name, want) in cases {
        assert_eq!(readiness(&rsp, name), want, "{name}");
    }
}

#[test]
fn status_is_filled_from_observed_state() {
    let observed = full_observed();
    let rsp = run(&composite("complete.yaml"), &observed);
    let s = status(&rsp);
    let dist = &observed["distribution"]["status"]["atProvider"];
    assert_eq!(s["cdnUrl"], json!("https://images.example.com"));
    assert_eq!(s["distributionId"], dist["id"]);
    assert_eq!(s["distributionDomainName"], dist["domainName"]);
    assert_eq!(
        s["buckets"]["originals"][0],
        json!({"region": "us-east-1", "name": "media-originals-us-east-1"})
    );
    assert_eq!(s["buckets"]["variants"], json!("media-variants-us-east-1"));

    let empty = status(&run(&composite("complete.yaml"), &BTreeMap::new()));
    assert!(
        empty.get("cdnUrl").is_none(),
        "no URL before the distribution exists: {empty}"
    );
}

/// Crossplane deletes what desired state omits: once observed, a resource stays
/// desired with every field, even when an input it was wired from disappears.
#[test]
fn observed_resources_are_never_dropped_and_keep_their_fields() {
    let xr = composite("complete.yaml");
    let full = run(&xr, &full_observed());
    let full_desired = desired(&full);

    let losses: &[(&str, &str)] = &[
        ("cache-policy", "/status/atProvider/id"),
        ("edge-function", "/status/atProvider/qualifiedArn"),
        ("distribution", "/status/atProvider/arn"),
        ("edge-role", "/status/atProvider/arn"),
        (
            "originals-primary",
            "/status/atProvider/bucketRegionalDomainName",
        ),
        ("originals-replica-1-versioning", "/status/conditions"),
    ];
    for (resource, pointer) in losses {
        let mut observed = full_observed();
        remove(observed.get_mut(*resource).unwrap(), pointer);
        let d = desired(&run(&xr, &observed));
        for (name, body) in &full_desired {
            let got = d.get(name);
            assert!(got.is_some(), "losing {resource}{pointer} dropped {name}");
            assert_eq!(
                got.unwrap()["spec"],
                body["spec"],
                "losing {resource}{pointer} changed {name}"
            );
        }
    }
}

#[test]
fn originals_are_kept_on_deletion_unless_asked() {
    let xr = composite("complete.yaml");
    let d = desired(&run(&xr, &full_observed()));
    for name in [
        "originals-primary",
        "originals-replica-1",
        "originals-replica-2",
        "originals-primary-versioning",
        "replication",
        "logs",
    ] {
        assert_eq!(d[name]["spec"]["deletionPolicy"], json!("Orphan"), "{name}");
    }
    assert_eq!(d["variants"]["spec"]["deletionPolicy"], json!("Delete"));

    let mut deleting = xr.clone();
    set(
        &mut deleting,
        "/spec/originals/deletionPolicy",
        json!("Delete"),
    );
    let d = desired(&run(&deleting, &full_observed()));
    assert_eq!(
        d["originals-primary"]["spec"]["deletionPolicy"],
        json!("Delete")
    );
    assert_eq!(
        d["originals-primary"]["spec"]["forProvider"]["forceDestroy"],
        json!(false),
        "never force-delete originals"
    );
}

/// Secrets default to the claim's namespace; a composite created without a claim puts
/// the function code in `crossplane-system` and must name each key Secret's namespace.
#[test]
fn secrets_stay_in_the_claims_namespace() {
    // (function code Secret, key Secret) namespaces of a successful render.
    let namespaces = |xr: &Value| {
        let rsp = run(xr, &full_observed());
        assert!(
            fatal_messages(&rsp).is_empty(),
            "{:?}",
            fatal_messages(&rsp)
        );
        let d = desired(&rsp);
        let code =
            &d["viewer-function-code"]["spec"]["forProvider"]["manifest"]["metadata"]["namespace"];
        assert_eq!(
            &d["viewer-function"]["spec"]["forProvider"]["codeSecretRef"]["namespace"], code,
            "the function reads its code where it was written"
        );
        let key = &d["tenant-partners-key-key-2026"]["spec"]["forProvider"]["encodedKeySecretRef"]
            ["namespace"];
        (code.clone(), key.clone())
    };
    assert_eq!(
        namespaces(&composite("complete.yaml")),
        (json!("team-media"), json!("team-media"))
    );

    let mut xr = composite("complete.yaml");
    xr["metadata"]["labels"]
        .as_object_mut()
        .unwrap()
        .remove("crossplane.io/claim-namespace");
    let rsp = run(&xr, &full_observed());
    assert_eq!(
        fatal_messages(&rsp),
        vec!["invalid ImageCDN: spec.tenants[1].publicKeys[0].secretRef.namespace: required when the composite has no claim (there is no claim namespace to default to)".to_string()]
    );
    set(
        &mut xr,
        "/spec/tenants/1/publicKeys/0/secretRef/namespace",
        json!("security"),
    );
    assert_eq!(
        namespaces(&xr),
        (json!("crossplane-system"), json!("security"))
    );
}
