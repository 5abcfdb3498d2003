//! Signed tenants are reachable only through the cache behavior that trusts their key
//! group, whatever the spelling of the request.
//!
//! CloudFront picks the cache behavior from the path the viewer sent, normalized for
//! matching (unreserved escapes decoded, other escapes upper-cased, dot segments
//! removed, and by its guide's wording repeated slashes merged; an encoded `/` stays
//! `%2F`), then runs that behavior's viewer function on the raw path. This test renders
//! a claim's complete graph, emulates that selection over many spellings of every
//! tenant's paths under both readings of the repeated-slash rule, runs the selected
//! behavior's generated function in Node.js (the real viewer-request event shape), and
//! follows redirects. It fails if a key under a signed tenant's prefix is forwarded
//! through a behavior without that tenant's key group, if a redirect does not lead to a
//! canonical path that is then forwarded, or if the WAF hotlink rule of the tenant that
//! owns the key would not see the request as that tenant's.

mod common;

use std::collections::BTreeMap;
use std::process::Command;

use function_imagecdn::compose::security::PATH_TRANSFORMATIONS;
use function_imagecdn::render::render_resources;
use function_imagecdn::simulate::observe_until_complete;
use imagecdn_urlapi::path_matching::{cloudfront_matching_path, pattern_matches, waf_transform};
use imagecdn_urlapi::percent::{decode, encode_component};
use proptest::prelude::Rng as _;
use proptest::test_runner::{RngAlgorithm, TestRng};
use serde_json::{Value, json};

/// (name, prefix, signed): a signed and a public tenant whose prefixes share a start
/// (`vip` and `vipx` do not overlap: prefixes are whole segments), a multi-segment
/// signed prefix, and a public prefix with dots and dashes.
const TENANTS: [(&str, &str, bool); 5] = [
    ("shop", "shop", false),
    ("partners", "partners/media", true),
    ("vip", "vip", true),
    ("vipx", "vipx", false),
    ("docs", "a.b/c-d", false),
];

const KEYS: [&str; 7] = [
    "a.jpg",
    "dir/b c.png",
    "café.jpg",
    "x(1)+y!.webp",
    ".hidden.jpg",
    "a..b/c.jpg",
    "deep/er/est/%41.jpg",
];

/// A deterministic generator (proptest's, seeded): the cases are the same on every run.
struct Rng(TestRng);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0.random_range(0..n)
    }
    fn chance(&mut self, percent: u32) -> bool {
        self.0.random_range(0..100) < percent
    }
}

fn claim() -> Value {
    let mut composite = common::composite("complete.yaml");
    let key = json!([{"name": "key-2026", "secretRef": {"name": "k", "key": "public.pem"}}]);
    composite["spec"]["tenants"] = TENANTS
        .iter()
        .map(|(name, prefix, signed)| {
            let mut t = json!({"name": name, "prefix": prefix, "allowedReferers": [format!("{name}.example.com")]});
            if *signed {
                t["requireSignedUrls"] = json!(true);
                t["publicKeys"] = key.clone();
            }
            t
        })
        .collect();
    composite
}

/// One cache behavior as rendered: its pattern (`None` for the default), the viewer
/// function's code, and the key groups it trusts.
struct Behavior {
    pattern: Option<String>,
    code: String,
    key_groups: Vec<String>,
}

struct System {
    behaviors: Vec<Behavior>,
    /// Tenant name -> its key group ID (signed tenants only).
    key_group: BTreeMap<String, String>,
    /// Tenant name -> the search string of its WAF hotlink rule's path condition.
    hotlink_prefix: BTreeMap<String, (String, Vec<String>)>,
}

/// The distribution's behaviors, functions, key groups and WAF rules of the rendered graph.
fn system() -> System {
    let composite = claim();
    let observed = observe_until_complete(&composite).expect("the graph converges");
    let desired = render_resources(&composite, &observed).expect("renders");
    let code_by_arn: BTreeMap<String, String> = desired
        .iter()
        .filter(|(_, r)| r["kind"] == "Function" && r["apiVersion"].as_str().unwrap_or("").starts_with("cloudfront."))
        .map(|(name, _)| {
            let arn = observed[name]["status"]["atProvider"]["arn"].as_str().unwrap().to_string();
            let code = desired[&format!("{name}-code")]["spec"]["forProvider"]["manifest"]["stringData"]["code"]
                .as_str()
                .unwrap()
                .to_string();
            (arn, code)
        })
        .collect();
    assert_eq!(
        code_by_arn.len(),
        2,
        "one function for public, one for signed tenants"
    );
    let fp = &desired["distribution"]["spec"]["forProvider"];
    let behavior = |b: &Value, pattern: Option<String>| Behavior {
        pattern,
        code: code_by_arn[b["functionAssociation"][0]["functionArn"].as_str().unwrap()].clone(),
        key_groups: b["trustedKeyGroups"]
            .as_array()
            .map(|a| a.iter().map(|k| k.as_str().unwrap().to_string()).collect())
            .unwrap_or_default(),
    };
    let mut behaviors: Vec<Behavior> = fp["orderedCacheBehavior"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| behavior(b, Some(b["pathPattern"].as_str().unwrap().to_string())))
        .collect();
    behaviors.push(behavior(&fp["defaultCacheBehavior"], None));
    let key_group = TENANTS
        .iter()
        .filter(|t| t.2)
        .map(|(name, ..)| {
            let id = observed[&format!("tenant-{name}-key-group")]["status"]["atProvider"]["id"]
                .as_str()
                .unwrap();
            (name.to_string(), id.to_string())
        })
        .collect();
    let rules: Value = serde_json::from_str(
        desired["web-acl"]["spec"]["forProvider"]["ruleJson"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    let hotlink_prefix = TENANTS
        .iter()
        .map(|(name, ..)| {
            let rule = rules
                .as_array()
                .unwrap()
                .iter()
                .find(|r| r["Name"] == format!("hotlink-{name}"))
                .unwrap_or_else(|| panic!("no hotlink rule for {name}"));
            let text = rule["Statement"].to_string();
            let byte_match: Value = find_key(&rule["Statement"], "ByteMatchStatement")
                .unwrap_or_else(|| panic!("{text}"));
            let transforms = byte_match["TextTransformations"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["Type"].as_str().unwrap().to_string())
                .collect();
            (
                name.to_string(),
                (
                    byte_match["SearchString"].as_str().unwrap().to_string(),
                    transforms,
                ),
            )
        })
        .collect();
    System {
        behaviors,
        key_group,
        hotlink_prefix,
    }
}

fn find_key(v: &Value, key: &str) -> Option<Value> {
    match v {
        Value::Object(m) => m
            .get(key)
            .cloned()
            .or_else(|| m.values().find_map(|x| find_key(x, key))),
        Value::Array(a) => a.iter().find_map(|x| find_key(x, key)),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------
// CloudFront's side, emulated from its documentation.

fn select<'a>(behaviors: &'a [Behavior], raw: &str, merge_slashes: bool) -> &'a Behavior {
    let path = cloudfront_matching_path(raw, merge_slashes);
    behaviors
        .iter()
        .find(|b| {
            b.pattern
                .as_deref()
                .is_some_and(|p| pattern_matches(p, &path))
        })
        .unwrap_or_else(|| behaviors.last().unwrap())
}

// ---------------------------------------------------------------------------------------
// Spellings.

/// One spelling of `segments`: each separator `/`, `//` or `%2F`/`%2f`, characters
/// percent-encoded at random (upper or lower hex), dot segments inserted, leading and
/// trailing slashes.
fn spell(rng: &mut Rng, segments: &[String]) -> String {
    let mut out = if rng.chance(10) {
        "//".to_string()
    } else if rng.chance(5) {
        "/%2F".to_string()
    } else {
        "/".to_string()
    };
    for (i, seg) in segments.iter().enumerate() {
        if i > 0 {
            out.push_str(match rng.below(10) {
                0 => "//",
                1 => "%2F",
                2 => "%2f",
                3 => "/./",
                4 => "/%2e/",
                _ => "/",
            });
        }
        for c in seg.chars() {
            let mut buf = [0; 4];
            let bytes = c.encode_utf8(&mut buf).as_bytes().to_vec();
            let canonical = encode_component(&c.to_string());
            if rng.chance(12) {
                for b in bytes {
                    out.push_str(&if rng.chance(50) {
                        format!("%{b:02X}")
                    } else {
                        format!("%{b:02x}")
                    });
                }
            } else {
                out.push_str(&canonical);
            }
        }
    }
    if rng.chance(5) {
        out.push('/');
    }
    out
}

/// Spellings that try to reach `target` (a tenant's key) from another tenant's prefix
/// with traversal, encoded or not.
fn traversal(rng: &mut Rng, from: &str, target: &str) -> String {
    let up = ["..", "%2e%2e", "%2E.", ".%2e"][rng.below(4)];
    let depth = from.split('/').count() + 1;
    let sep = ["/", "%2F"][rng.below(2)];
    let ups: Vec<&str> = (0..depth).map(|_| up).collect();
    format!(
        "/{from}/x{sep}{}{sep}{}",
        ups.join(sep),
        target
            .split('/')
            .map(encode_component)
            .collect::<Vec<_>>()
            .join(sep)
    )
}

struct Case {
    raw: String,
    merge_slashes: bool,
}

fn cases() -> Vec<Case> {
    let mut rng = Rng(TestRng::from_seed(RngAlgorithm::ChaCha, &[26; 32]));
    let mut raws = Vec::new();
    for (_, prefix, _) in TENANTS {
        for key in KEYS {
            let segments: Vec<String> = prefix
                .split('/')
                .chain(key.split('/'))
                .map(str::to_string)
                .collect();
            raws.push(format!(
                "/{}",
                segments
                    .iter()
                    .map(|s| encode_component(s))
                    .collect::<Vec<_>>()
                    .join("/")
            ));
            for _ in 0..40 {
                raws.push(spell(&mut rng, &segments));
            }
            for (_, from, _) in TENANTS {
                if from != prefix {
                    raws.push(traversal(&mut rng, from, &format!("{prefix}/{key}")));
                }
            }
        }
    }
    // The issue's own examples.
    for raw in [
        "/partners%2Fmedia/a.jpg",
        "/partners/media%2Fa.jpg",
        "/%2Fpartners/media/a.jpg",
        "//partners/media/a.jpg",
        "/vip%2Fa.jpg",
        "/vi%70/a.jpg",
        "/vipx/..%2Fvip/a.jpg",
    ] {
        raws.push(raw.to_string());
    }
    raws.into_iter()
        .flat_map(|raw| {
            [true, false].map(|merge_slashes| Case {
                raw: raw.clone(),
                merge_slashes,
            })
        })
        .collect()
}

// ---------------------------------------------------------------------------------------

#[derive(Debug)]
enum Answer {
    Forward(String),
    Status(u16, Option<String>),
}

/// Runs each (code, raw path) through the generated function in Node.js.
fn run_in_node(requests: &[(&str, &str)]) -> Vec<Answer> {
    if requests.is_empty() {
        return Vec::new();
    }
    let bundle = json!({"cases": requests.iter().map(|(code, raw)| json!({
        "code": code,
        "request": {"uri": raw, "query": "w=300&utm_source=x", "headers": {}},
    })).collect::<Vec<_>>()});
    let path = std::env::temp_dir().join(format!("imagecdn-behaviors-{}.json", std::process::id()));
    std::fs::write(&path, bundle.to_string()).unwrap();
    let out = Command::new("node")
        .arg(common::repo_root().join("tests/node/run_vectors.js"))
        .arg("--outcomes")
        .arg(&path)
        .output()
        .expect("node must be installed (tests/run.sh installs it)");
    std::fs::remove_file(&path).ok();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), requests.len());
    lines
        .into_iter()
        .map(|v| {
            if let Some(e) = v.get("error") {
                panic!("the function threw: {e}");
            }
            match v.get("status") {
                Some(s) => Answer::Status(
                    s.as_u64().unwrap() as u16,
                    v["location"].as_str().map(str::to_string),
                ),
                None => Answer::Forward(v["uri"].as_str().unwrap().to_string()),
            }
        })
        .collect()
}

/// The tenant whose prefix holds the key a forwarded URI names.
fn owner(uri: &str) -> Option<(&'static str, bool)> {
    let key = decode(uri.trim_start_matches('/'))?;
    TENANTS
        .iter()
        .find(|(_, prefix, _)| key.starts_with(&format!("{prefix}/")))
        .map(|(name, _, signed)| (*name, *signed))
}

#[test]
fn signed_prefixes_are_forwarded_only_through_their_key_groups_behavior() {
    let sys = system();
    let cases = cases();
    let first: Vec<(&str, &str)> = cases
        .iter()
        .map(|c| {
            (
                select(&sys.behaviors, &c.raw, c.merge_slashes)
                    .code
                    .as_str(),
                c.raw.as_str(),
            )
        })
        .collect();
    let answers = run_in_node(&first);

    let mut failures = Vec::new();
    let mut follow = Vec::new();
    let (mut forwarded, mut redirected, mut refused) = (0, 0, 0);
    for (case, answer) in cases.iter().zip(&answers) {
        let behavior = select(&sys.behaviors, &case.raw, case.merge_slashes);
        match answer {
            Answer::Forward(uri) => {
                forwarded += 1;
                check_forward(
                    &sys,
                    behavior,
                    &case.raw,
                    uri,
                    case.merge_slashes,
                    &mut failures,
                );
            }
            Answer::Status(301, Some(location)) => {
                redirected += 1;
                let path = location
                    .split_once('?')
                    .map_or(location.as_str(), |(p, _)| p)
                    .to_string();
                follow.push((case, path));
            }
            Answer::Status(403, None) => refused += 1,
            other => failures.push(format!("{}: unexpected answer {other:?}", case.raw)),
        }
    }

    // A redirect leads to a canonical path, which the behavior it selects forwards as is.
    let second: Vec<(&str, &str)> = follow
        .iter()
        .map(|(c, path)| {
            (
                select(&sys.behaviors, path, c.merge_slashes).code.as_str(),
                path.as_str(),
            )
        })
        .collect();
    for ((case, path), answer) in follow.iter().zip(run_in_node(&second)) {
        let behavior = select(&sys.behaviors, path, case.merge_slashes);
        match answer {
            Answer::Forward(uri) if &uri == path => {
                check_forward(
                    &sys,
                    behavior,
                    path,
                    &uri,
                    case.merge_slashes,
                    &mut failures,
                );
                check_waf(&sys, &case.raw, &uri, &mut failures);
            }
            other => failures.push(format!(
                "{} redirected to {path}, which answers {other:?}",
                case.raw
            )),
        }
    }
    eprintln!(
        "{} requests: {forwarded} forwarded, {redirected} redirected, {refused} refused",
        cases.len()
    );
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(
        forwarded > 50 && redirected > 500 && refused > 100,
        "the spellings exercise every answer"
    );
}

/// A forwarded request: raw and forwarded spelling agree, and a signed tenant's key
/// passes only through the behavior trusting exactly its key group.
fn check_forward(
    sys: &System,
    behavior: &Behavior,
    raw: &str,
    uri: &str,
    merge: bool,
    failures: &mut Vec<String>,
) {
    let reading = if merge {
        "merged slashes"
    } else {
        "kept slashes"
    };
    if uri != raw {
        failures.push(format!("{raw} ({reading}): forwarded rewritten as {uri}"));
    }
    match owner(uri) {
        Some((tenant, true)) => {
            let want = vec![sys.key_group[tenant].clone()];
            if behavior.key_groups != want {
                failures.push(format!(
                    "{raw} ({reading}): key of signed tenant {tenant} forwarded through behavior {:?} trusting {:?}",
                    behavior.pattern, behavior.key_groups
                ));
            }
        }
        Some((_, false)) => {}
        None => failures.push(format!(
            "{raw} ({reading}): forwarded {uri}, outside every tenant"
        )),
    }
}

/// The WAF hotlink rule of the tenant owning the key sees every spelling as that
/// tenant's path.
fn check_waf(sys: &System, raw: &str, uri: &str, failures: &mut Vec<String>) {
    let Some((tenant, _)) = owner(uri) else {
        return;
    };
    let (prefix, transforms) = &sys.hotlink_prefix[tenant];
    let seen = match waf_transform(raw, transforms) {
        Ok(seen) => seen,
        Err(e) => return failures.push(format!("{raw}: {e}")),
    };
    if !seen.starts_with(prefix.as_str()) {
        failures.push(format!(
            "{raw}: WAF sees {seen:?}, which the hotlink rule of {tenant} ({prefix}) misses"
        ));
    }
}

#[test]
fn the_hotlink_rules_transform_paths_as_the_emulation_reads_them() {
    assert_eq!(PATH_TRANSFORMATIONS, ["URL_DECODE", "NORMALIZE_PATH"]);
}
