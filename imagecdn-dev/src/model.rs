//! What the emulator serves, read from the rendered managed resources (never from a
//! second reading of the claim): the Distribution's behaviors, origins and origin
//! groups, the cache and response-headers policies, the CloudFront Functions' code (from
//! the Secrets the function composes), key groups and public keys, and the buckets of
//! every region.
//!
//! Everything here is a pure function of the resource map that
//! [`function_imagecdn::simulate::observe_until_complete`] returns, so it is unit-tested
//! without servers.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::Value;
use thiserror::Error;

/// A rendered graph the emulator cannot serve, with the resource and field at fault.
#[derive(Debug, Error)]
#[error("{resource}: {message}")]
pub struct ModelError {
    pub resource: String,
    pub message: String,
}

fn err(resource: &str, message: impl Into<String>) -> ModelError {
    ModelError {
        resource: resource.to_string(),
        message: message.into(),
    }
}

/// One cache behavior, in CloudFront's terms.
#[derive(Clone, Debug, PartialEq)]
pub struct Behavior {
    /// `None` for the default behavior.
    pub path_pattern: Option<String>,
    /// An origin or origin group ID.
    pub target_origin_id: String,
    pub cache_policy_id: String,
    /// The viewer-request CloudFront Function's ARN.
    pub viewer_function: Option<String>,
    /// Whether the origin-request Lambda@Edge function runs on misses.
    pub origin_request_lambda: bool,
    /// Key group IDs whose keys may sign URLs for this behavior (empty: not signed).
    pub trusted_key_groups: Vec<String>,
    pub allowed_methods: Vec<String>,
    pub response_headers_policy_id: Option<String>,
}

/// An S3 origin and the settings CloudFront sends with it.
#[derive(Clone, Debug, PartialEq)]
pub struct Origin {
    pub id: String,
    pub domain_name: String,
    pub bucket: String,
    pub region: String,
    pub custom_headers: Vec<(String, String)>,
    pub connection_attempts: u32,
    pub connection_timeout: Duration,
    pub origin_shield_region: Option<String>,
}

/// An origin group: the primary, then the secondary on the failover criteria.
#[derive(Clone, Debug, PartialEq)]
pub struct OriginGroup {
    pub id: String,
    pub members: Vec<String>,
    pub failover_status_codes: Vec<u16>,
}

/// TTL bounds and the query strings in the cache key.
#[derive(Clone, Debug, PartialEq)]
pub struct CachePolicy {
    pub min_ttl: u64,
    pub default_ttl: u64,
    pub max_ttl: u64,
    /// `Some(names)`: only these query strings (CloudFront's `whitelist`); `None`: all.
    pub query_allowlist: Option<Vec<String>>,
}

/// Where a CloudFront public key's PEM lives (a Secret the claim names).
#[derive(Clone, Debug, PartialEq)]
pub struct SecretKeyRef {
    pub namespace: String,
    pub name: String,
    pub key: String,
}

/// A bucket of one region's originals.
#[derive(Clone, Debug, PartialEq)]
pub struct RegionBuckets {
    pub region: String,
    pub originals_bucket: String,
    /// The primary takes uploads and holds the variants bucket.
    pub primary: bool,
}

/// The whole delivery path of one claim.
#[derive(Clone, Debug, PartialEq)]
pub struct CdnModel {
    pub claim_name: String,
    pub distribution_id: String,
    pub domain_name: String,
    pub aliases: Vec<String>,
    pub behaviors: Vec<Behavior>,
    pub default_behavior: Behavior,
    pub origins: BTreeMap<String, Origin>,
    pub origin_groups: BTreeMap<String, OriginGroup>,
    /// Error caching minimum TTL per status code (custom error responses).
    pub error_caching_min_ttl: BTreeMap<u16, u64>,
    pub cache_policies: BTreeMap<String, CachePolicy>,
    /// Response headers policies by ID: the headers they add or override.
    pub response_headers: BTreeMap<String, Vec<(String, String)>>,
    /// CloudFront Function code by ARN.
    pub functions: BTreeMap<String, String>,
    /// Key group ID -> public key IDs.
    pub key_groups: BTreeMap<String, Vec<String>>,
    /// Public key ID -> where its PEM is.
    pub public_keys: BTreeMap<String, SecretKeyRef>,
    /// Primary first, then the replicas in the claim's order.
    pub regions: Vec<RegionBuckets>,
    pub variants_bucket: String,
    /// How often queued takedowns are flushed (the flush rule's schedule).
    pub invalidation_window: Option<Duration>,
    /// The primary originals bucket's replication rules.
    pub replication: Vec<ReplicationRule>,
    /// Absent when the claim has no pipeline.
    pub pipeline: Option<Pipeline>,
    /// The web ACL attached to the distribution: its rules (`ruleJson`) and whether its
    /// default action blocks.
    pub web_acl: Option<(Vec<Value>, bool)>,
    /// Preset names, from the default behavior's viewer function settings.
    pub presets: Vec<String>,
}

/// The pre-compute and takedown pipeline: the state machine, the function its tasks
/// invoke, and the EventBridge rules that start it.
#[derive(Clone, Debug, PartialEq)]
pub struct Pipeline {
    pub state_machine_arn: String,
    /// The Amazon States Language definition.
    pub definition: Value,
    pub renderer_arn: String,
    /// The renderer Function's environment variables.
    pub renderer_env: BTreeMap<String, String>,
    pub rules: Vec<EventRule>,
    /// Buckets that send their events to EventBridge.
    pub eventbridge_buckets: Vec<String>,
}

/// An EventBridge rule and its target.
#[derive(Clone, Debug, PartialEq)]
pub struct EventRule {
    pub name: String,
    pub event_pattern: Option<Value>,
    pub schedule: Option<Duration>,
    pub target_arn: String,
    /// The target's constant input, replacing the event.
    pub input: Option<Value>,
}

/// One enabled replication rule of the primary originals bucket.
#[derive(Clone, Debug, PartialEq)]
pub struct ReplicationRule {
    pub destination_bucket: String,
    pub prefix: String,
    pub replicate_delete_markers: bool,
}

fn str_at<'a>(v: &'a Value, pointer: &str) -> Option<&'a str> {
    v.pointer(pointer).and_then(Value::as_str)
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

fn external_name(r: &Value) -> Option<&str> {
    str_at(r, "/metadata/annotations/crossplane.io~1external-name")
}

fn required<'a>(
    resources: &'a BTreeMap<String, Value>,
    name: &str,
) -> Result<&'a Value, ModelError> {
    resources
        .get(name)
        .ok_or_else(|| err(name, "not in the rendered graph"))
}

fn behavior(name: &str, b: &Value) -> Result<Behavior, ModelError> {
    let mut viewer_function = None;
    for a in b["functionAssociation"].as_array().into_iter().flatten() {
        if a["eventType"] == "viewer-request" {
            viewer_function = a["functionArn"].as_str().map(String::from);
        }
    }
    let origin_request_lambda = b["lambdaFunctionAssociation"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|a| a["eventType"] == "origin-request");
    Ok(Behavior {
        path_pattern: b["pathPattern"].as_str().map(String::from),
        target_origin_id: b["targetOriginId"]
            .as_str()
            .ok_or_else(|| err(name, "a cache behavior has no targetOriginId"))?
            .to_string(),
        cache_policy_id: b["cachePolicyId"]
            .as_str()
            .ok_or_else(|| {
                err(
                    name,
                    "a cache behavior has no cachePolicyId (not observed yet?)",
                )
            })?
            .to_string(),
        viewer_function,
        origin_request_lambda,
        trusted_key_groups: strings(b.get("trustedKeyGroups")),
        allowed_methods: strings(b.get("allowedMethods")),
        response_headers_policy_id: b["responseHeadersPolicyId"].as_str().map(String::from),
    })
}

/// `bucket.s3.region.amazonaws.com` (or `bucket.s3.amazonaws.com`, us-east-1).
pub fn parse_s3_domain(domain: &str) -> Option<(String, String)> {
    let rest = domain.strip_suffix(".amazonaws.com")?;
    let (bucket, after) = rest.rsplit_once(".s3")?;
    let region = match after.strip_prefix('.').or_else(|| after.strip_prefix('-')) {
        Some(r) if !r.is_empty() => r.to_string(),
        _ if after.is_empty() => "us-east-1".to_string(),
        _ => return None,
    };
    Some((bucket.to_string(), region))
}

fn origin(name: &str, o: &Value) -> Result<Origin, ModelError> {
    let id = o["originId"]
        .as_str()
        .ok_or_else(|| err(name, "an origin has no originId"))?;
    let domain_name = o["domainName"]
        .as_str()
        .ok_or_else(|| err(name, format!("origin {id} has no domainName")))?;
    let (bucket, region) = parse_s3_domain(domain_name).ok_or_else(|| {
        err(
            name,
            format!("origin {id}: {domain_name} is not an S3 bucket domain"),
        )
    })?;
    let custom_headers = o["customHeader"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|h| {
            Some((
                h["name"].as_str()?.to_string(),
                h["value"].as_str()?.to_string(),
            ))
        })
        .collect();
    let shield = &o["originShield"];
    Ok(Origin {
        id: id.to_string(),
        domain_name: domain_name.to_string(),
        bucket,
        region,
        custom_headers,
        connection_attempts: o["connectionAttempts"].as_u64().unwrap_or(3) as u32,
        connection_timeout: Duration::from_secs(o["connectionTimeout"].as_u64().unwrap_or(10)),
        origin_shield_region: (shield["enabled"] == true)
            .then(|| shield["originShieldRegion"].as_str().map(String::from))
            .flatten(),
    })
}

/// `rate(1 minute)`, `rate(5 minutes)`, `rate(1 hour)`: EventBridge's rate expressions.
pub fn parse_rate(expr: &str) -> Option<Duration> {
    let inner = expr.strip_prefix("rate(")?.strip_suffix(')')?;
    let (n, unit) = inner.trim().split_once(' ')?;
    let n: u64 = n.parse().ok()?;
    let seconds = match unit.trim_end_matches('s') {
        "minute" => 60,
        "hour" => 3600,
        "day" => 86_400,
        _ => return None,
    };
    Some(Duration::from_secs(n * seconds))
}

/// The Secrets the function composes, by (namespace, name): wrapped in provider-kubernetes
/// Objects (claim API) or composed directly (namespaced API).
fn composed_secrets(resources: &BTreeMap<String, Value>) -> BTreeMap<(String, String), &Value> {
    resources
        .values()
        .filter_map(|r| match r["kind"].as_str() {
            Some("Object") => r.pointer("/spec/forProvider/manifest"),
            Some("Secret") => Some(r),
            _ => None,
        })
        .filter(|m| m["kind"] == "Secret")
        .filter_map(|m| {
            Some((
                (
                    str_at(m, "/metadata/namespace")?.to_string(),
                    str_at(m, "/metadata/name")?.to_string(),
                ),
                m,
            ))
        })
        .collect()
}

/// The namespace a managed resource's Secret reference points into: the reference's own
/// (cluster-scoped resources), else the resource's (namespaced resources read only
/// Secrets of their own namespace).
fn secret_namespace<'a>(resource: &'a Value, reference: &'a Value) -> &'a str {
    str_at(reference, "/namespace")
        .or_else(|| str_at(resource, "/metadata/namespace"))
        .unwrap_or_default()
}

/// Resources selected by `<field>Selector.matchLabels` (component label = resource name).
fn selected<'a>(
    resources: &'a BTreeMap<String, Value>,
    fp: &Value,
    field: &str,
) -> Option<&'a Value> {
    let component = str_at(
        fp,
        &format!("/{field}Selector/matchLabels/imagecdn.io~1component"),
    )?;
    resources.get(component)
}

fn pipeline(resources: &BTreeMap<String, Value>) -> Result<Option<Pipeline>, ModelError> {
    let Some(machine) = resources.get("pipeline") else {
        return Ok(None);
    };
    let state_machine_arn = str_at(machine, "/status/atProvider/arn")
        .ok_or_else(|| err("pipeline", "no status.atProvider.arn"))?
        .to_string();
    let definition: Value =
        serde_json::from_str(str_at(machine, "/spec/forProvider/definition").unwrap_or("{}"))
            .map_err(|e| err("pipeline", format!("definition is not JSON: {e}")))?;
    let renderer = required(resources, "renderer-function")?;
    let renderer_env = renderer
        .pointer("/spec/forProvider/environment/variables")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default();
    let mut rules = Vec::new();
    for (name, target) in resources.iter().filter(|(_, r)| r["kind"] == "Target") {
        let fp = &target["spec"]["forProvider"];
        let rule = selected(resources, fp, "rule").ok_or_else(|| err(name, "selects no rule"))?;
        let rfp = &rule["spec"]["forProvider"];
        let event_pattern = match rfp["eventPattern"].as_str() {
            Some(p) => Some(
                serde_json::from_str(p)
                    .map_err(|e| err(name, format!("eventPattern is not JSON: {e}")))?,
            ),
            None => None,
        };
        let input = match fp["input"].as_str() {
            Some(i) => Some(
                serde_json::from_str(i)
                    .map_err(|e| err(name, format!("input is not JSON: {e}")))?,
            ),
            None => None,
        };
        rules.push(EventRule {
            name: external_name(rule).unwrap_or(name).to_string(),
            event_pattern,
            schedule: rfp["scheduleExpression"].as_str().and_then(parse_rate),
            target_arn: fp["arn"].as_str().unwrap_or_default().to_string(),
            input,
        });
    }
    let eventbridge_buckets = resources
        .iter()
        .filter(|(_, r)| {
            r["kind"] == "BucketNotification" && r["spec"]["forProvider"]["eventbridge"] == true
        })
        .filter_map(|(_, r)| selected(resources, &r["spec"]["forProvider"], "bucket"))
        .filter_map(|b| external_name(b).map(String::from))
        .collect();
    Ok(Some(Pipeline {
        state_machine_arn,
        definition,
        renderer_arn: str_at(renderer, "/status/atProvider/arn")
            .ok_or_else(|| err("renderer-function", "no status.atProvider.arn"))?
            .to_string(),
        renderer_env,
        rules,
        eventbridge_buckets,
    }))
}

/// The rules of the web ACL the distribution names (`webAclId`).
fn web_acl(
    resources: &BTreeMap<String, Value>,
    distribution: &Value,
) -> Result<Option<(Vec<Value>, bool)>, ModelError> {
    let Some(arn) = distribution["webAclId"].as_str() else {
        return Ok(None);
    };
    let acl = resources
        .iter()
        .find(|(_, r)| r["kind"] == "WebACL" && str_at(r, "/status/atProvider/arn") == Some(arn))
        .ok_or_else(|| {
            err(
                "distribution",
                format!("webAclId {arn} names no rendered WebACL"),
            )
        })?;
    let fp = &acl.1["spec"]["forProvider"];
    let rules: Vec<Value> = serde_json::from_str(fp["ruleJson"].as_str().unwrap_or("[]"))
        .map_err(|e| err(acl.0, format!("ruleJson is not JSON: {e}")))?;
    Ok(Some((rules, fp.pointer("/defaultAction/block").is_some())))
}

/// The settings object a generated viewer function carries (`var S={...};`, see
/// urlapi::cloudfront).
pub fn function_settings(code: &str) -> Option<Value> {
    let line = code.lines().find_map(|l| l.strip_prefix("var S="))?;
    serde_json::from_str(line.trim_end().strip_suffix(';')?).ok()
}

impl CdnModel {
    /// Reads the model from a complete observed graph (every resource with its status).
    pub fn from_resources(resources: &BTreeMap<String, Value>) -> Result<CdnModel, ModelError> {
        let dist = required(resources, "distribution")?;
        let fp = &dist["spec"]["forProvider"];
        let behaviors = fp["orderedCacheBehavior"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|b| behavior("distribution", b))
            .collect::<Result<Vec<_>, _>>()?;
        let default_behavior = behavior("distribution", &fp["defaultCacheBehavior"])?;
        let origins = fp["origin"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|o| origin("distribution", o).map(|o| (o.id.clone(), o)))
            .collect::<Result<BTreeMap<_, _>, _>>()?;
        let origin_groups = fp["originGroup"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|g| {
                Some(OriginGroup {
                    id: g["originId"].as_str()?.to_string(),
                    members: g["member"]
                        .as_array()?
                        .iter()
                        .filter_map(|m| m["originId"].as_str().map(String::from))
                        .collect(),
                    failover_status_codes: g
                        .pointer("/failoverCriteria/statusCodes")
                        .and_then(Value::as_array)
                        .map(|a| {
                            a.iter()
                                .filter_map(|c| c.as_u64().map(|c| c as u16))
                                .collect()
                        })
                        .unwrap_or_default(),
                })
            })
            .map(|g| (g.id.clone(), g))
            .collect();
        let error_caching_min_ttl = fp["customErrorResponse"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| {
                Some((
                    e["errorCode"].as_u64()? as u16,
                    e["errorCachingMinTtl"].as_u64().unwrap_or(10),
                ))
            })
            .collect();

        let mut cache_policies = BTreeMap::new();
        let mut response_headers = BTreeMap::new();
        let mut functions = BTreeMap::new();
        let mut key_groups = BTreeMap::new();
        let mut public_keys = BTreeMap::new();
        let secrets = composed_secrets(resources);
        for (name, r) in resources {
            let fp = &r["spec"]["forProvider"];
            let id = str_at(r, "/status/atProvider/id").map(String::from);
            match (
                r["apiVersion"].as_str().unwrap_or_default(),
                r["kind"].as_str().unwrap_or_default(),
            ) {
                (api, "CachePolicy") if api.starts_with("cloudfront.") => {
                    let qs = &fp["parametersInCacheKeyAndForwardedToOrigin"]["queryStringsConfig"];
                    let query_allowlist = match qs["queryStringBehavior"].as_str() {
                        Some("whitelist") => Some(strings(qs.pointer("/queryStrings/items"))),
                        Some("none") => Some(Vec::new()),
                        _ => None,
                    };
                    let id = id.ok_or_else(|| err(name, "no status.atProvider.id"))?;
                    cache_policies.insert(
                        id,
                        CachePolicy {
                            min_ttl: fp["minTtl"].as_u64().unwrap_or(0),
                            default_ttl: fp["defaultTtl"].as_u64().unwrap_or(86_400),
                            max_ttl: fp["maxTtl"].as_u64().unwrap_or(31_536_000),
                            query_allowlist,
                        },
                    );
                }
                (api, "ResponseHeadersPolicy") if api.starts_with("cloudfront.") => {
                    let headers = fp
                        .pointer("/customHeadersConfig/items")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .filter_map(|h| {
                            Some((
                                h["header"].as_str()?.to_string(),
                                h["value"].as_str()?.to_string(),
                            ))
                        })
                        .collect();
                    let id = id.ok_or_else(|| err(name, "no status.atProvider.id"))?;
                    response_headers.insert(id, headers);
                }
                (api, "Function") if api.starts_with("cloudfront.") => {
                    let arn = str_at(r, "/status/atProvider/arn")
                        .ok_or_else(|| err(name, "no status.atProvider.arn"))?;
                    let code = match fp["code"].as_str() {
                        Some(code) => code.to_string(),
                        None => {
                            let ns = secret_namespace(r, &fp["codeSecretRef"]);
                            let secret = str_at(fp, "/codeSecretRef/name").unwrap_or_default();
                            let key = str_at(fp, "/codeSecretRef/key").unwrap_or("code");
                            secrets
                                .get(&(ns.to_string(), secret.to_string()))
                                .and_then(|m| str_at(m, &format!("/stringData/{key}")))
                                .ok_or_else(|| {
                                    err(
                                        name,
                                        format!("its code Secret {ns}/{secret} is not composed"),
                                    )
                                })?
                                .to_string()
                        }
                    };
                    functions.insert(arn.to_string(), code);
                }
                (api, "PublicKey") if api.starts_with("cloudfront.") => {
                    let id = id.ok_or_else(|| err(name, "no status.atProvider.id"))?;
                    let r#ref = &fp["encodedKeySecretRef"];
                    public_keys.insert(
                        id,
                        SecretKeyRef {
                            namespace: secret_namespace(r, r#ref).to_string(),
                            name: r#ref["name"].as_str().unwrap_or_default().to_string(),
                            key: r#ref["key"].as_str().unwrap_or_default().to_string(),
                        },
                    );
                }
                _ => {}
            }
        }
        // Key groups select their public keys by label, as the provider resolves them.
        for (name, r) in resources {
            if r["kind"] != "KeyGroup" {
                continue;
            }
            let id = str_at(r, "/status/atProvider/id")
                .ok_or_else(|| err(name, "no status.atProvider.id"))?;
            let fp = &r["spec"]["forProvider"];
            let mut items = strings(fp.get("items"));
            if let Some(labels) = fp
                .pointer("/itemSelector/matchLabels")
                .and_then(Value::as_object)
            {
                for key in resources.values().filter(|k| k["kind"] == "PublicKey") {
                    let matches = labels.iter().all(|(l, v)| {
                        key.pointer(&format!("/metadata/labels/{}", l.replace('/', "~1")))
                            == Some(v)
                    });
                    if let (true, Some(kid)) = (matches, str_at(key, "/status/atProvider/id")) {
                        items.push(kid.to_string());
                    }
                }
            }
            key_groups.insert(id.to_string(), items);
        }

        let bucket = |name: &str| -> Result<RegionBuckets, ModelError> {
            let r = required(resources, name)?;
            Ok(RegionBuckets {
                region: str_at(r, "/spec/forProvider/region")
                    .ok_or_else(|| err(name, "no spec.forProvider.region"))?
                    .to_string(),
                originals_bucket: external_name(r)
                    .ok_or_else(|| err(name, "no external name"))?
                    .to_string(),
                primary: name == "originals-primary",
            })
        };
        let mut regions = vec![bucket("originals-primary")?];
        for i in 1.. {
            let name = format!("originals-replica-{i}");
            if !resources.contains_key(&name) {
                break;
            }
            regions.push(bucket(&name)?);
        }
        let variants = required(resources, "variants")?;
        let invalidation_window = resources
            .get("flush-rule")
            .and_then(|r| str_at(r, "/spec/forProvider/scheduleExpression"))
            .and_then(parse_rate);
        let replication = resources
            .get("replication")
            .and_then(|r| r.pointer("/spec/forProvider/rule"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter(|rule| rule["status"] == "Enabled")
            .map(|rule| {
                // Destinations select their bucket by component label, which is the
                // composed resource's name.
                let component = str_at(
                    rule,
                    "/destination/bucketSelector/matchLabels/imagecdn.io~1component",
                )
                .ok_or_else(|| err("replication", "a rule's destination selects no component"))?;
                Ok(ReplicationRule {
                    destination_bucket: external_name(required(resources, component)?)
                        .ok_or_else(|| err(component, "no external name"))?
                        .to_string(),
                    prefix: str_at(rule, "/filter/prefix")
                        .unwrap_or_default()
                        .to_string(),
                    replicate_delete_markers: str_at(rule, "/deleteMarkerReplication/status")
                        == Some("Enabled"),
                })
            })
            .collect::<Result<Vec<_>, ModelError>>()?;
        let presets = default_behavior
            .viewer_function
            .as_ref()
            .and_then(|arn| functions.get(arn))
            .and_then(|code| function_settings(code))
            .and_then(|s| {
                s["presets"]
                    .as_object()
                    .map(|p| p.keys().cloned().collect())
            })
            .unwrap_or_default();
        let claim_name = str_at(dist, "/metadata/labels/crossplane.io~1composite")
            .unwrap_or("imagecdn")
            .to_string();
        Ok(CdnModel {
            claim_name,
            distribution_id: str_at(dist, "/status/atProvider/id")
                .ok_or_else(|| err("distribution", "no status.atProvider.id"))?
                .to_string(),
            domain_name: str_at(dist, "/status/atProvider/domainName")
                .ok_or_else(|| err("distribution", "no status.atProvider.domainName"))?
                .to_string(),
            aliases: strings(fp.get("aliases")),
            behaviors,
            default_behavior,
            origins,
            origin_groups,
            error_caching_min_ttl,
            cache_policies,
            response_headers,
            functions,
            key_groups,
            public_keys,
            regions,
            variants_bucket: external_name(variants)
                .ok_or_else(|| err("variants", "no external name"))?
                .to_string(),
            invalidation_window,
            replication,
            pipeline: pipeline(resources)?,
            web_acl: web_acl(resources, fp)?,
            presets,
        })
    }

    /// The region whose S3 holds `bucket`.
    pub fn region_of_bucket(&self, bucket: &str) -> Option<&str> {
        if bucket == self.variants_bucket {
            return Some(&self.regions[0].region);
        }
        self.regions
            .iter()
            .find(|r| r.originals_bucket == bucket)
            .map(|r| r.region.as_str())
    }

    /// Tenant prefixes as the origin headers name them (for the page and the upload).
    pub fn tenant_prefixes(&self) -> Vec<String> {
        self.origins
            .values()
            .flat_map(|o| &o.custom_headers)
            .find(|(n, _)| n == "x-imagecdn-tenant-prefixes")
            .map(|(_, v)| {
                v.split(',')
                    .filter(|p| !p.is_empty())
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use function_imagecdn::render::{composite_from, read_yaml_stream};
    use function_imagecdn::simulate::observe_until_complete;
    use std::path::Path;

    fn complete() -> CdnModel {
        model_of("complete.yaml")
    }

    fn model_of(example: &str) -> CdnModel {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../examples")
            .join(example);
        let claim = &read_yaml_stream(&path).unwrap()[0];
        let graph = observe_until_complete(&composite_from(claim).unwrap()).unwrap();
        CdnModel::from_resources(&graph).unwrap()
    }

    #[test]
    fn the_complete_example_reads_as_rendered() {
        let m = complete();
        assert_eq!(m.regions.len(), 3);
        assert!(m.regions[0].primary);
        assert_eq!(m.regions[1].region, "eu-west-1");
        assert_eq!(
            m.behaviors.len(),
            1,
            "one signed tenant, one ordered behavior"
        );
        let signed = &m.behaviors[0];
        assert_eq!(signed.path_pattern.as_deref(), Some("/partners/media/*"));
        assert_eq!(signed.trusted_key_groups.len(), 1);
        let keys = &m.key_groups[&signed.trusted_key_groups[0]];
        assert_eq!(keys.len(), 1);
        assert_eq!(m.public_keys[&keys[0]].name, "partners-cloudfront-key");
        for b in m.behaviors.iter().chain([&m.default_behavior]) {
            assert!(
                m.functions
                    .contains_key(b.viewer_function.as_ref().unwrap())
            );
            assert!(m.cache_policies.contains_key(&b.cache_policy_id));
            assert!(b.origin_request_lambda);
        }
        let group = &m.origin_groups[&m.default_behavior.target_origin_id];
        assert_eq!(group.members, ["originals-primary", "originals-replica-1"]);
        assert!(group.failover_status_codes.contains(&503));
        assert_eq!(m.origins["originals-replica-1"].region, "eu-west-1");
        assert_eq!(m.error_caching_min_ttl[&404], 60);
        assert_eq!(m.invalidation_window, Some(Duration::from_secs(60)));
        assert_eq!(m.tenant_prefixes(), ["partners/media", "shop"]);
        assert_eq!(m.region_of_bucket(&m.variants_bucket), Some("us-east-1"));
        assert_eq!(m.replication.len(), 2);
        assert_eq!(
            m.replication[1].destination_bucket,
            m.regions[2].originals_bucket
        );
        assert!(m.replication.iter().all(|r| r.replicate_delete_markers));
        let p = m.pipeline.as_ref().unwrap();
        assert_eq!(
            p.eventbridge_buckets,
            [m.regions[0].originals_bucket.clone()]
        );
        assert_eq!(p.rules.len(), 3);
        let flush = p.rules.iter().find(|r| r.schedule.is_some()).unwrap();
        assert_eq!(
            flush.input,
            Some(serde_json::json!({"source": "imagecdn.flush"}))
        );
        assert!(p.rules.iter().all(|r| r.target_arn == p.state_machine_arn));
        assert_eq!(
            p.renderer_env["IMAGECDN_VARIANTS_BUCKET"],
            m.variants_bucket
        );
        assert_eq!(p.definition["StartAt"], "Route");
        let (rules, default_block) = m.web_acl.as_ref().unwrap();
        assert!(!default_block);
        assert!(rules.iter().any(|r| r["Name"] == "rate-limit-per-ip"));
        assert_eq!(m.presets, ["card", "hero", "thumb"]);
    }

    /// The namespaced API's graph (Secrets composed directly, secret references local to
    /// the namespace) reads as the same CDN as the claim's.
    #[test]
    fn the_namespaced_example_reads_as_the_same_cdn() {
        let claim = complete();
        let namespaced = model_of("v2/complete.yaml");
        let codes = |m: &CdnModel| m.functions.values().cloned().collect::<Vec<_>>();
        assert_eq!(codes(&namespaced).len(), 2);
        assert_eq!(codes(&namespaced), codes(&claim));
        let keys = |m: &CdnModel| {
            m.public_keys
                .values()
                .map(|k| (k.namespace.clone(), k.name.clone(), k.key.clone()))
                .collect::<Vec<_>>()
        };
        assert_eq!(keys(&namespaced), keys(&claim));
        assert_eq!(keys(&namespaced)[0].0, "team-media");
        assert_eq!(namespaced.behaviors.len(), claim.behaviors.len());
        assert_eq!(namespaced.tenant_prefixes(), claim.tenant_prefixes());
        assert_eq!(namespaced.presets, claim.presets);
    }

    #[test]
    fn s3_domains_and_rates_parse() {
        assert_eq!(
            parse_s3_domain("a.b-c.s3.eu-west-1.amazonaws.com"),
            Some(("a.b-c".into(), "eu-west-1".into()))
        );
        assert_eq!(
            parse_s3_domain("a.s3.amazonaws.com"),
            Some(("a".into(), "us-east-1".into()))
        );
        assert_eq!(parse_s3_domain("example.com"), None);
        assert_eq!(
            parse_rate("rate(5 minutes)"),
            Some(Duration::from_secs(300))
        );
        assert_eq!(parse_rate("cron(0 * * * ? *)"), None);
    }
}
