//! AWS WAF, evaluating the rendered web ACL's rules (`ruleJson`) for each viewer request
//! before CloudFront does anything else, in priority order, the first terminating action
//! winning, else the default action. Statements: `And`, `Or`, `Not`, `ByteMatch`,
//! `SizeConstraint`, `RegexMatch` on the URI path, a single header or the query string
//! with their text transformations, and `RateBased` per IP over its evaluation window.
//!
//! Differences from AWS, by design: AWS managed rule groups are not evaluated (their
//! rules are AWS's and not published); the rate-based rule counts exactly over a sliding
//! window, where AWS evaluates rates about every 10 seconds and blocks with that delay.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use imagecdn_urlapi::path_matching::waf_transform;
use serde_json::Value;

use crate::cloudfront::ViewerRequest;

/// What WAF decided, and which rule decided it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    Allow,
    Block { rule: String },
}

/// A web ACL and the rate counters of its rate-based rules.
pub struct WebAcl {
    rules: Vec<Value>,
    default_block: bool,
    /// (rule name, IP) -> request times in the rule's window.
    rates: Mutex<HashMap<(String, IpAddr), VecDeque<Instant>>>,
}

fn transformed(value: &str, statement: &Value) -> Result<String, String> {
    let mut transforms: Vec<(i64, String)> = statement["TextTransformations"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| {
            (
                t["Priority"].as_i64().unwrap_or(0),
                t["Type"].as_str().unwrap_or("NONE").to_string(),
            )
        })
        .collect();
    transforms.sort();
    let mut out = value.to_string();
    for (_, t) in transforms {
        out = match t.as_str() {
            "LOWERCASE" => out.to_lowercase(),
            other => waf_transform(&out, &[other.to_string()])?,
        };
    }
    Ok(out)
}

/// The field a statement inspects; `None` when the request has no such field.
fn field(statement: &Value, req: &ViewerRequest) -> Option<String> {
    let f = &statement["FieldToMatch"];
    if f.get("UriPath").is_some() {
        return Some(req.raw_path.clone());
    }
    if f.get("QueryString").is_some() {
        return Some(req.raw_query.clone());
    }
    if let Some(name) = f.pointer("/SingleHeader/Name").and_then(Value::as_str) {
        return req.header(&name.to_ascii_lowercase()).map(String::from);
    }
    None
}

impl WebAcl {
    pub fn new(rules: &[Value], default_block: bool) -> WebAcl {
        let mut rules = rules.to_vec();
        rules.sort_by_key(|r| r["Priority"].as_i64().unwrap_or(0));
        WebAcl {
            rules,
            default_block,
            rates: Mutex::default(),
        }
    }

    /// The rules WAF would run that this emulation does not (managed rule groups).
    pub fn not_evaluated(&self) -> Vec<String> {
        self.rules
            .iter()
            .filter(|r| r.pointer("/Statement/ManagedRuleGroupStatement").is_some())
            .filter_map(|r| r["Name"].as_str().map(String::from))
            .collect()
    }

    pub fn evaluate(&self, req: &ViewerRequest, now: Instant) -> Verdict {
        for rule in &self.rules {
            let name = rule["Name"].as_str().unwrap_or("unnamed");
            let matched = match self.statement(name, &rule["Statement"], req, now) {
                Ok(m) => m,
                Err(e) => {
                    tracing::warn!("WAF rule {name}: {e}");
                    false
                }
            };
            if !matched {
                continue;
            }
            if rule.pointer("/Action/Block").is_some() {
                return Verdict::Block {
                    rule: name.to_string(),
                };
            }
            if rule.pointer("/Action/Allow").is_some() {
                return Verdict::Allow;
            }
            // Count (or a rule group's override): evaluation goes on.
        }
        if self.default_block {
            Verdict::Block {
                rule: "default action".into(),
            }
        } else {
            Verdict::Allow
        }
    }

    fn statement(
        &self,
        rule: &str,
        s: &Value,
        req: &ViewerRequest,
        now: Instant,
    ) -> Result<bool, String> {
        if let Some(all) = s
            .pointer("/AndStatement/Statements")
            .and_then(Value::as_array)
        {
            for st in all {
                if !self.statement(rule, st, req, now)? {
                    return Ok(false);
                }
            }
            return Ok(true);
        }
        if let Some(any) = s
            .pointer("/OrStatement/Statements")
            .and_then(Value::as_array)
        {
            for st in any {
                if self.statement(rule, st, req, now)? {
                    return Ok(true);
                }
            }
            return Ok(false);
        }
        if let Some(inner) = s.pointer("/NotStatement/Statement") {
            return Ok(!self.statement(rule, inner, req, now)?);
        }
        if let Some(b) = s.get("ByteMatchStatement") {
            let Some(value) = field(b, req) else {
                return Ok(false);
            };
            let value = transformed(&value, b)?;
            let needle = b["SearchString"].as_str().unwrap_or_default();
            return Ok(
                match b["PositionalConstraint"].as_str().unwrap_or("EXACTLY") {
                    "EXACTLY" => value == needle,
                    "STARTS_WITH" => value.starts_with(needle),
                    "ENDS_WITH" => value.ends_with(needle),
                    "CONTAINS" => value.contains(needle),
                    other => return Err(format!("positional constraint {other} is not emulated")),
                },
            );
        }
        if let Some(c) = s.get("SizeConstraintStatement") {
            let Some(value) = field(c, req) else {
                return Ok(false);
            };
            let size = transformed(&value, c)?.len() as u64;
            let limit = c["Size"].as_u64().unwrap_or(0);
            return Ok(match c["ComparisonOperator"].as_str().unwrap_or("EQ") {
                "EQ" => size == limit,
                "NE" => size != limit,
                "LE" => size <= limit,
                "LT" => size < limit,
                "GE" => size >= limit,
                "GT" => size > limit,
                other => return Err(format!("comparison {other} is not emulated")),
            });
        }
        if let Some(r) = s.get("RegexMatchStatement") {
            let Some(value) = field(r, req) else {
                return Ok(false);
            };
            let pattern = r["RegexString"].as_str().unwrap_or_default();
            let re = regex::Regex::new(pattern).map_err(|e| format!("regex {pattern}: {e}"))?;
            return Ok(re.is_match(&transformed(&value, r)?));
        }
        if let Some(rate) = s.get("RateBasedStatement") {
            if rate["AggregateKeyType"].as_str() != Some("IP") {
                return Err("only IP-aggregated rate-based rules are emulated".into());
            }
            let window = Duration::from_secs(rate["EvaluationWindowSec"].as_u64().unwrap_or(300));
            let limit = rate["Limit"].as_u64().unwrap_or(u64::MAX) as usize;
            let mut rates = self.rates.lock().expect("rates lock");
            let times = rates.entry((rule.to_string(), req.client_ip)).or_default();
            while times
                .front()
                .is_some_and(|t| now.duration_since(*t) > window)
            {
                times.pop_front();
            }
            times.push_back(now);
            return Ok(times.len() > limit);
        }
        if s.get("ManagedRuleGroupStatement").is_some() {
            return Ok(false);
        }
        Err(format!(
            "statement {} is not emulated",
            s.as_object()
                .and_then(|o| o.keys().next())
                .map_or("?", |k| k)
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn request(path: &str, referer: Option<&str>, ip: &str) -> ViewerRequest {
        ViewerRequest {
            method: "GET".into(),
            raw_path: path.into(),
            raw_query: String::new(),
            headers: referer
                .map(|r| vec![("referer".to_string(), r.to_string())])
                .unwrap_or_default(),
            client_ip: ip.parse().unwrap(),
        }
    }

    fn acl() -> WebAcl {
        WebAcl::new(
            &[
                json!({"Name": "rate", "Priority": 1, "Action": {"Block": {}},
                    "Statement": {"RateBasedStatement": {"AggregateKeyType": "IP", "EvaluationWindowSec": 60, "Limit": 3}}}),
                json!({"Name": "hotlink", "Priority": 2, "Action": {"Block": {}},
                "Statement": {"AndStatement": {"Statements": [
                    {"ByteMatchStatement": {"FieldToMatch": {"UriPath": {}}, "PositionalConstraint": "STARTS_WITH", "SearchString": "/shop/",
                        "TextTransformations": [{"Priority": 0, "Type": "URL_DECODE"}, {"Priority": 1, "Type": "NORMALIZE_PATH"}]}},
                    {"SizeConstraintStatement": {"FieldToMatch": {"SingleHeader": {"Name": "referer"}}, "ComparisonOperator": "GT", "Size": 0,
                        "TextTransformations": [{"Priority": 0, "Type": "NONE"}]}},
                    {"NotStatement": {"Statement": {"RegexMatchStatement": {"FieldToMatch": {"SingleHeader": {"Name": "referer"}},
                        "RegexString": "^https?://shop\\.example\\.com(/|$)", "TextTransformations": [{"Priority": 0, "Type": "LOWERCASE"}]}}}}
                ]}}}),
                json!({"Name": "managed", "Priority": 0, "OverrideAction": {"None": {}},
                    "Statement": {"ManagedRuleGroupStatement": {"Name": "AWSManagedRulesCommonRuleSet", "VendorName": "AWS"}}}),
            ],
            false,
        )
    }

    #[test]
    fn hotlink_rules_see_every_spelling() {
        let acl = acl();
        let now = Instant::now();
        let blocked = Verdict::Block {
            rule: "hotlink".into(),
        };
        assert_eq!(
            acl.evaluate(
                &request("/shop/a.jpg", Some("https://evil.test/"), "192.0.2.1"),
                now
            ),
            blocked
        );
        assert_eq!(
            acl.evaluate(
                &request(
                    "/x/..%2Fshop//a.jpg",
                    Some("https://evil.test/"),
                    "192.0.2.2"
                ),
                now
            ),
            blocked
        );
        assert_eq!(
            acl.evaluate(
                &request(
                    "/shop/a.jpg",
                    Some("HTTPS://SHOP.example.com/p"),
                    "192.0.2.3"
                ),
                now
            ),
            Verdict::Allow
        );
        assert_eq!(
            acl.evaluate(&request("/shop/a.jpg", None, "192.0.2.4"), now),
            Verdict::Allow
        );
        assert_eq!(
            acl.evaluate(
                &request("/blog/a.jpg", Some("https://evil.test/"), "192.0.2.5"),
                now
            ),
            Verdict::Allow
        );
        assert_eq!(acl.not_evaluated(), ["managed"]);
    }

    #[test]
    fn rates_are_per_ip_over_the_window() {
        let acl = acl();
        let t0 = Instant::now();
        let a = request("/blog/a.jpg", None, "198.51.100.1");
        for _ in 0..3 {
            assert_eq!(acl.evaluate(&a, t0), Verdict::Allow);
        }
        assert_eq!(
            acl.evaluate(&a, t0),
            Verdict::Block {
                rule: "rate".into()
            }
        );
        assert_eq!(
            acl.evaluate(&request("/blog/a.jpg", None, "198.51.100.2"), t0),
            Verdict::Allow
        );
        // Once the window has passed, the IP is allowed again.
        assert_eq!(
            acl.evaluate(&a, t0 + Duration::from_secs(61)),
            Verdict::Allow
        );
    }
}
