//! Security properties of the rendered resources: tenant isolation in IAM, hotlink
//! rules that match exactly the allowed sites, and signed-URL wiring.

mod common;

use std::collections::BTreeMap;

use common::*;
use function_imagecdn::render::render_resources;
use serde_json::{Value, json};

fn full() -> BTreeMap<String, Value> {
    render_resources(&composite("complete.yaml"), &full_observed()).unwrap()
}

fn statements(policy: &Value) -> Vec<Value> {
    let doc: Value =
        serde_json::from_str(policy.as_str().expect("policy is a JSON string")).unwrap();
    doc["Statement"].as_array().cloned().unwrap_or_default()
}

fn resources_of(statement: &Value) -> Vec<String> {
    match &statement["Resource"] {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a
            .iter()
            .filter_map(|v| v.as_str().map(String::from))
            .collect(),
        _ => Vec::new(),
    }
}

/// A tenant's uploader policy names only its own prefix; no statement reaches another
/// tenant's objects, and no IAM policy of ours uses a bare `*` resource.
#[test]
fn tenant_policies_are_confined_to_their_prefix() {
    let r = full();
    let shop = &r["tenant-shop-uploader-policy"]["spec"]["forProvider"]["policy"];
    let partners = &r["tenant-partners-uploader-policy"]["spec"]["forProvider"]["policy"];
    for (policy, own, other) in [
        (shop, "shop/", "partners/media/"),
        (partners, "partners/media/", "shop/"),
    ] {
        for s in statements(policy) {
            for res in resources_of(&s) {
                assert!(!res.contains(other), "{res} reaches another tenant");
                assert!(
                    res.ends_with(&format!("/{own}*"))
                        || res == "arn:aws:s3:::media-originals-us-east-1",
                    "{res}"
                );
            }
            if let Some(prefixes) = s.pointer("/Condition/StringLike/s3:prefix") {
                assert_eq!(prefixes, &json!([format!("{own}*")]));
            }
        }
    }
    for (name, body) in &r {
        let policy = body
            .pointer("/spec/forProvider/policy")
            .filter(|_| body["kind"] == "Policy");
        for s in policy.map(statements).unwrap_or_default() {
            if resources_of(&s).iter().any(|res| res == "*") {
                // Only actions AWS defines without resource types may use `*`.
                let resourceless = [
                    "logs:CreateLogDelivery",
                    "logs:GetLogDelivery",
                    "logs:UpdateLogDelivery",
                    "logs:DeleteLogDelivery",
                    "logs:ListLogDeliveries",
                    "logs:PutResourcePolicy",
                    "logs:DescribeResourcePolicies",
                    "logs:DescribeLogGroups",
                ];
                let actions = s["Action"].as_array().cloned().unwrap_or_default();
                assert!(
                    actions
                        .iter()
                        .all(|a| resourceless.contains(&a.as_str().unwrap_or_default())),
                    "{name} uses Resource \"*\" for {actions:?}"
                );
            }
        }
    }
}

#[test]
fn overlapping_tenant_prefixes_are_a_bad_claim() {
    let mut xr = composite("complete.yaml");
    set(&mut xr, "/spec/tenants/0/prefix", json!("partners"));
    let fatal = fatal_messages(&run(&xr, &BTreeMap::new()));
    assert!(
        fatal
            .iter()
            .any(|m| m.contains("spec.tenants[1].prefix") && m.contains("overlaps")),
        "{fatal:?}"
    );
}

fn regexes(rule: &Value) -> Vec<regex::Regex> {
    let mut out = Vec::new();
    fn walk(v: &Value, out: &mut Vec<regex::Regex>) {
        match v {
            Value::Object(m) => {
                if let Some(Value::String(r)) = m.get("RegexString") {
                    out.push(regex::Regex::new(r).expect("valid regex"));
                }
                m.values().for_each(|c| walk(c, out));
            }
            Value::Array(a) => a.iter().for_each(|c| walk(c, out)),
            _ => {}
        }
    }
    walk(rule, &mut out);
    out
}

/// The hotlink rules' regular expressions accept exactly the allowed sites.
#[test]
fn hotlink_rules_match_exactly_the_allowed_referers() {
    let r = full();
    let rules: Vec<Value> = serde_json::from_str(
        r["web-acl"]["spec"]["forProvider"]["ruleJson"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    let rule = |name: &str| {
        rules
            .iter()
            .find(|x| x["Name"] == name)
            .unwrap_or_else(|| panic!("no rule {name}"))
            .clone()
    };
    let allowed = |rule: &Value, referer: &str| {
        regexes(rule)
            .iter()
            .any(|re| re.is_match(&referer.to_lowercase()))
    };
    let shop = rule("hotlink-shop");
    for ok in [
        "https://shop.example.com/",
        "http://shop.example.com",
        "https://a.b.shop.example.com:8443/x",
        "https://SHOP.example.com/p?q=1",
    ] {
        assert!(allowed(&shop, ok), "{ok} must be allowed for shop");
    }
    for bad in [
        "https://evil.com/?shop.example.com",
        "https://shop.example.com.evil.com/",
        "https://xshop.example.com/",
        "https://example.com/",
        "ftp://shop.example.com/",
    ] {
        assert!(!allowed(&shop, bad), "{bad} must be refused for shop");
    }
    let global = rule("hotlink");
    assert!(allowed(&global, "https://www.example.com/page"));
    assert!(allowed(&global, "https://example.com/"));
    assert!(!allowed(&global, "https://example.com.attacker.net/"));
    // The WAF-wide rule leaves the shop tenant (which has its own list) to its own rule.
    assert!(global.to_string().contains("\"SearchString\":\"/shop/\""));
    let rate = rule("rate-limit-per-ip");
    assert_eq!(
        rate["Statement"]["RateBasedStatement"]["Limit"],
        json!(3000)
    );
    assert_eq!(
        rate["Statement"]["RateBasedStatement"]["EvaluationWindowSec"],
        json!(300)
    );
}

#[test]
fn signing_tenants_get_a_behavior_trusting_only_their_key_group() {
    let observed = full_observed();
    let r = render_resources(&composite("complete.yaml"), &observed).unwrap();
    let key_group_id = &observed["tenant-partners-key-group"]["status"]["atProvider"]["id"];
    let behaviors = r["distribution"]["spec"]["forProvider"]["orderedCacheBehavior"]
        .as_array()
        .unwrap();
    assert_eq!(
        behaviors.len(),
        1,
        "only the signing tenant gets a behavior"
    );
    assert_eq!(behaviors[0]["pathPattern"], json!("/partners/media/*"));
    assert_eq!(behaviors[0]["trustedKeyGroups"], json!([key_group_id]));
    assert!(
        r["distribution"]["spec"]["forProvider"]["defaultCacheBehavior"]
            .get("trustedKeyGroups")
            .is_none()
    );
    let key = &r["tenant-partners-key-key-2026"]["spec"]["forProvider"]["encodedKeySecretRef"];
    assert_eq!(
        key,
        &json!({"name": "partners-cloudfront-key", "namespace": "team-media", "key": "public.pem"})
    );
    let status = status(&run(&composite("complete.yaml"), &observed));
    assert_eq!(
        status["tenants"],
        json!([{"name": "partners", "keyGroupId": key_group_id}])
    );
}

#[test]
fn custom_domain_and_waf_are_wired_into_the_distribution() {
    let observed = full_observed();
    let r = render_resources(&composite("complete.yaml"), &observed).unwrap();
    let d = &r["distribution"]["spec"]["forProvider"];
    assert_eq!(
        d["webAclId"],
        observed["web-acl"]["status"]["atProvider"]["arn"]
    );
    assert_eq!(d["aliases"], json!(["images.example.com"]));
    assert_eq!(
        d["viewerCertificate"]["acmCertificateArn"],
        observed["certificate"]["status"]["atProvider"]["arn"]
    );
    assert_eq!(
        d["viewerCertificate"]["minimumProtocolVersion"],
        json!("TLSv1.2_2021")
    );
    for alias in ["alias-a", "alias-aaaa"] {
        assert_eq!(
            r[alias]["spec"]["forProvider"]["alias"]["name"],
            observed["distribution"]["status"]["atProvider"]["domainName"]
        );
    }
    let option = &observed["certificate"]["status"]["atProvider"]["domainValidationOptions"][0];
    let record = &r["certificate-validation-record-0"]["spec"]["forProvider"];
    assert_eq!(record["name"], option["resourceRecordName"]);
    assert_eq!(record["records"], json!([option["resourceRecordValue"]]));
    assert_eq!(record["zoneId"], json!("Z0123456789EXAMPLE"));

    // Without a validated certificate the distribution waits rather than serving the
    // custom domain with the wrong certificate.
    let mut pending = observed.clone();
    pending.remove("certificate-validation");
    pending.remove("distribution");
    let r = render_resources(&composite("complete.yaml"), &pending).unwrap();
    assert!(!r.contains_key("distribution"));
}

#[test]
fn audit_trail_records_writes_to_every_originals_bucket() {
    let r = full();
    let t = &r["audit-trail"]["spec"]["forProvider"];
    assert_eq!(t["isMultiRegionTrail"], json!(true));
    assert_eq!(t["enableLogFileValidation"], json!(true));
    let values = t["advancedEventSelector"][0]["fieldSelector"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["field"] == "resources.ARN")
        .map(|f| f["startsWith"].clone())
        .unwrap();
    for region in ["us-east-1", "eu-west-1", "ap-northeast-1"] {
        assert!(
            values
                .as_array()
                .unwrap()
                .contains(&json!(format!("arn:aws:s3:::media-originals-{region}/")))
        );
    }
    let policy = r["logs-policy"]["spec"]["forProvider"]["policy"]
        .as_str()
        .unwrap();
    assert!(
        policy.contains("arn:aws:cloudtrail:us-east-1:123456789012:trail/media-audit"),
        "{policy}"
    );
}

/// The web ACL's logging configuration (provider-aws' `WebACLLoggingConfiguration`)
/// selects this claim's ACL and writes to this claim's `aws-waf-logs-*` group, with the
/// filter `logRequests` asks for; it waits for the group's ARN.
#[test]
fn waf_logging_targets_this_acl_and_log_group() {
    let observed = full_observed();
    let r = render_resources(&composite("complete.yaml"), &observed).unwrap();
    let logging = &r["waf-logging"];
    assert_eq!(logging["kind"], "WebACLLoggingConfiguration");
    let fp = &logging["spec"]["forProvider"];
    assert_eq!(fp["region"], "us-east-1");
    assert_eq!(
        fp["resourceArnSelector"]["matchLabels"]["imagecdn.io/component"],
        "web-acl"
    );
    let group = observed["waf-log-group"]["status"]["atProvider"]["arn"]
        .as_str()
        .unwrap()
        .trim_end_matches(":*");
    assert!(group.contains(":log-group:aws-waf-logs-"), "{group}");
    assert_eq!(fp["logDestinationConfigs"], json!([group]));
    assert_eq!(
        fp["loggingFilter"]["defaultBehavior"], "DROP",
        "Blocked by default"
    );
    assert!(logging["metadata"]["annotations"]["crossplane.io/external-name"].is_null());

    let mut all = composite("complete.yaml");
    set(&mut all, "/spec/waf/logRequests", json!("All"));
    let r = render_resources(&all, &observed).unwrap();
    assert!(r["waf-logging"]["spec"]["forProvider"]["loggingFilter"].is_null());

    // Until the log group exists there is nothing to point at.
    let mut pending = observed.clone();
    pending.remove("waf-log-group");
    pending.remove("waf-logging");
    let r = render_resources(&composite("complete.yaml"), &pending).unwrap();
    assert!(!r.contains_key("waf-logging"));
}

/// `logRequests: Off` leaves the ACL without a log group or logging configuration.
#[test]
fn waf_logging_off_renders_no_log_resources() {
    let mut claim = composite("complete.yaml");
    set(&mut claim, "/spec/waf/logRequests", json!("Off"));
    let r = render_resources(&claim, &full_observed()).unwrap();
    assert!(r.contains_key("web-acl"));
    let log_resources: Vec<_> = r.keys().filter(|k| k.starts_with("waf-log")).collect();
    assert!(log_resources.is_empty(), "{log_resources:?}");
}

/// `fm=auto` answers depend on `Accept`: every behavior (default and signed) sends
/// `Vary: Accept` to viewers, so a shared cache downstream never hands an AVIF to a
/// browser that did not ask for it.
#[test]
fn every_behavior_sends_vary_accept() {
    let observed = full_observed();
    let r = full();
    let policy = &r["response-headers-policy"]["spec"]["forProvider"];
    let items = policy["customHeadersConfig"]["items"].as_array().unwrap();
    assert!(
        items
            .iter()
            .any(|h| h["header"] == "Vary" && h["value"] == "Accept" && h["override"] == true),
        "{items:?}"
    );
    let id = &observed["response-headers-policy"]["status"]["atProvider"]["id"];
    assert!(id.is_string());
    let fp = &r["distribution"]["spec"]["forProvider"];
    let mut behaviors = vec![&fp["defaultCacheBehavior"]];
    behaviors.extend(fp["orderedCacheBehavior"].as_array().unwrap());
    assert!(
        behaviors.len() >= 2,
        "the complete example has a signed tenant"
    );
    for b in behaviors {
        assert_eq!(&b["responseHeadersPolicyId"], id, "{}", b["pathPattern"]);
    }
}

/// A missing original is a 404 at CloudFront (not S3's 403 for an unlistable bucket):
/// every bucket CloudFront reads lets this distribution, and only it, list the bucket.
#[test]
fn cloudfront_may_list_the_buckets_it_serves() {
    let observed = full_observed();
    let r = full();
    let distribution = observed["distribution"]["status"]["atProvider"]["arn"]
        .as_str()
        .unwrap();
    for policy in [
        "originals-primary-policy",
        "originals-replica-1-policy",
        "variants-policy",
    ] {
        let list: Vec<Value> = statements(&r[policy]["spec"]["forProvider"]["policy"])
            .into_iter()
            .filter(|s| s["Action"] == "s3:ListBucket")
            .collect();
        assert_eq!(list.len(), 1, "{policy}");
        assert_eq!(list[0]["Principal"]["Service"], "cloudfront.amazonaws.com");
        assert_eq!(
            list[0]["Condition"]["StringEquals"]["AWS:SourceArn"],
            distribution
        );
        assert!(
            resources_of(&list[0])[0].starts_with("arn:aws:s3:::"),
            "{policy}"
        );
        assert!(
            !resources_of(&list[0])[0].contains('/'),
            "the bucket, not its objects"
        );
    }
    // The third region's bucket is read by the edge only, never by CloudFront.
    let third = statements(&r["originals-replica-2-policy"]["spec"]["forProvider"]["policy"]);
    assert!(
        third
            .iter()
            .all(|s| s["Principal"]["Service"] != "cloudfront.amazonaws.com")
    );
}

/// The trail records writes to our three originals buckets and nothing else: no
/// management events (an account pays for every copy after the first), no reads, no
/// other bucket.
#[test]
fn the_trail_records_only_writes_to_our_originals() {
    let r = full();
    let fp = &r["audit-trail"]["spec"]["forProvider"];
    assert!(
        fp["eventSelector"].is_null(),
        "basic selectors would log management events"
    );
    assert_eq!(fp["includeGlobalServiceEvents"], false);
    let selectors = fp["advancedEventSelector"].as_array().unwrap();
    assert_eq!(selectors.len(), 1);
    let fields: BTreeMap<&str, &Value> = selectors[0]["fieldSelector"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["field"].as_str().unwrap(), f))
        .collect();
    assert_eq!(fields["eventCategory"]["equals"], json!(["Data"]));
    assert_eq!(
        fields["resources.type"]["equals"],
        json!(["AWS::S3::Object"])
    );
    assert_eq!(fields["readOnly"]["equals"], json!(["false"]));
    let buckets: Vec<String> = [
        "originals-primary",
        "originals-replica-1",
        "originals-replica-2",
    ]
    .iter()
    .map(|b| {
        format!(
            "arn:aws:s3:::{}/",
            r[*b]["metadata"]["annotations"]["crossplane.io/external-name"]
                .as_str()
                .unwrap()
        )
    })
    .collect();
    assert_eq!(fields["resources.ARN"]["startsWith"], json!(buckets));
}

/// With an existing trail, the claim creates none and the log bucket admits no trail.
#[test]
fn an_existing_trail_replaces_ours() {
    let mut xr = composite("complete.yaml");
    set(
        &mut xr,
        "/spec/audit/existingTrail",
        json!("arn:aws:cloudtrail:us-east-1:123456789012:trail/org-audit"),
    );
    let r = render_resources(&xr, &full_observed()).unwrap();
    assert!(!r.contains_key("audit-trail"));
    let policy = r["logs-policy"]["spec"]["forProvider"]["policy"]
        .as_str()
        .unwrap();
    assert!(!policy.contains("cloudtrail.amazonaws.com"), "{policy}");
}

/// Each origin goes through the Origin Shield region recommended for its own bucket's
/// region (the primary's as the claim says), so an outage of the primary's shield region
/// does not take the failover path with it.
#[test]
fn each_origin_has_its_own_origin_shield() {
    use function_imagecdn::spec::{AWS_REGIONS, ORIGIN_SHIELD_REGIONS, recommended_origin_shield};
    for region in AWS_REGIONS {
        assert!(
            ORIGIN_SHIELD_REGIONS.contains(&recommended_origin_shield(region)),
            "{region}"
        );
    }
    // AWS's published pairs.
    for (origin, shield) in [
        ("us-west-1", "us-west-2"),
        ("af-south-1", "eu-west-1"),
        ("ap-east-1", "ap-southeast-1"),
        ("ca-central-1", "us-east-1"),
        ("eu-south-1", "eu-central-1"),
        ("eu-west-3", "eu-west-2"),
        ("eu-north-1", "eu-west-2"),
        ("me-south-1", "ap-south-1"),
        ("eu-west-1", "eu-west-1"),
    ] {
        assert_eq!(recommended_origin_shield(origin), shield, "{origin}");
    }
    let r = full();
    let origins = r["distribution"]["spec"]["forProvider"]["origin"]
        .as_array()
        .unwrap();
    let shield = |id: &str| {
        origins.iter().find(|o| o["originId"] == id).unwrap()["originShield"]["originShieldRegion"]
            .clone()
    };
    // complete.yaml: primary us-east-1 (explicit shield us-east-1), failover replica eu-west-1.
    assert_eq!(shield("originals-primary"), json!("us-east-1"));
    assert_eq!(shield("originals-replica-1"), json!("eu-west-1"));
    assert_eq!(shield("variants"), json!("us-east-1"));
    let mut xr = composite("complete.yaml");
    set(
        &mut xr,
        "/spec/regions/replicas",
        json!(["eu-north-1", "ap-northeast-1"]),
    );
    let r = render_resources(&xr, &full_observed()).unwrap();
    let origin = r["distribution"]["spec"]["forProvider"]["origin"][1].clone();
    assert_eq!(
        origin["originShield"]["originShieldRegion"],
        json!("eu-west-2")
    );
}
