//! Every rendered kind sets `crossplane.io/external-name` only if the provider identifies
//! that kind by a name we choose, per `../shared/crds/EXTERNAL-NAMES.md` (taken from
//! provider-upjet-aws v2.6.0's `config/externalname.go`). For `IdentifierFromProvider`
//! kinds AWS assigns the ID: an annotation that is not that ID makes the provider look
//! up an object that does not exist and create another one, on every reconcile.
//! Kinds the table warns against (OriginRequestPolicy) are never rendered.

mod common;

use std::collections::BTreeMap;

use common::*;
use function_imagecdn::render::render_resources;
use serde_json::Value;

/// How the provider identifies a kind.
#[derive(Clone, Debug, PartialEq)]
enum Identity {
    /// The annotation is the AWS name (NameAsIdentifier, ParameterAsIdentifier, or a
    /// templated identifier built from a name parameter).
    OurName,
    /// AWS assigns the ID; never set the annotation.
    FromProvider,
    /// The table says not to use the kind.
    Avoid(String),
}

/// The table, keyed by (API group prefix, kind), e.g. ("s3", "Bucket"), ("", "Role").
fn table() -> BTreeMap<(String, String), Identity> {
    let path = repo_root().join("../shared/crds/EXTERNAL-NAMES.md");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut out = BTreeMap::new();
    for line in text.lines().filter(|l| l.starts_with("| aws_")) {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let (kinds, rule) = (cells[2], cells[3]);
        let identity = if rule.contains("Avoid this kind") {
            Identity::Avoid(rule.to_string())
        } else if rule.starts_with("IdentifierFromProvider")
            || rule.starts_with("TemplatedStringAsIdentifier(\"\"")
        {
            Identity::FromProvider
        } else if rule.starts_with("NameAsIdentifier")
            || rule.starts_with("ParameterAsIdentifier")
            || rule.starts_with("TemplatedStringAsIdentifier(\"name\"")
        {
            Identity::OurName
        } else {
            panic!("EXTERNAL-NAMES.md: cannot read the rule {rule:?}");
        };
        // "s3 Bucket*", "IPSet, RegexPatternSet", "cloudfront Function".
        let mut group = String::new();
        for item in kinds.split(", ") {
            let mut words = item.split_whitespace();
            let first = words.next().unwrap();
            let kind = match words.next() {
                Some(kind) => {
                    group = first.to_string();
                    kind
                }
                None => first,
            };
            out.insert((group.clone(), kind.to_string()), identity.clone());
        }
    }
    assert!(out.len() > 20, "the table was read: {out:?}");
    out
}

/// The table row for a rendered resource: exact kind, or a `Kind*` prefix row of its group.
fn identity_of(
    table: &BTreeMap<(String, String), Identity>,
    api_version: &str,
    kind: &str,
) -> Option<Identity> {
    let group = api_version.split('.').next().unwrap_or_default();
    for g in [group, ""] {
        if let Some(i) = table.get(&(g.to_string(), kind.to_string())) {
            return Some(i.clone());
        }
        for ((tg, tk), i) in table {
            if tg == g
                && tk.ends_with('*')
                && kind.starts_with(tk.trim_end_matches('*'))
                && kind != tk.trim_end_matches('*')
            {
                return Some(i.clone());
            }
        }
    }
    None
}

#[test]
fn external_names_are_set_exactly_where_the_provider_takes_them() {
    let table = table();
    let mut failures = Vec::new();
    // The namespaced twins are identified as their cluster-scoped kinds are.
    for example in [
        "complete.yaml",
        "minimal.yaml",
        "v2/complete.yaml",
        "v2/minimal.yaml",
    ] {
        let observed = match example {
            "complete.yaml" => full_observed(),
            "v2/complete.yaml" => full_observed_v2(),
            _ => Default::default(),
        };
        for (name, r) in render_resources(&composite(example), &observed).unwrap() {
            let api = r["apiVersion"].as_str().unwrap();
            if !api.contains(".aws.upbound.io") && !api.contains(".aws.m.upbound.io") {
                continue; // provider-kubernetes Objects, Secrets, Usages: not AWS
            }
            let kind = r["kind"].as_str().unwrap();
            let annotation = r
                .pointer("/metadata/annotations/crossplane.io~1external-name")
                .and_then(Value::as_str);
            match (identity_of(&table, api, kind), annotation) {
                (None, _) => failures.push(format!("{example} {name}: {api} {kind} is not in EXTERNAL-NAMES.md")),
                (Some(Identity::Avoid(why)), _) => failures.push(format!("{example} {name}: {kind} must not be used: {why}")),
                (Some(Identity::FromProvider), Some(a)) => {
                    failures.push(format!("{example} {name}: {kind} is IdentifierFromProvider but sets external-name {a:?}"))
                }
                (Some(Identity::OurName), None) => {
                    failures.push(format!("{example} {name}: {kind} is named by its external name, which is not set (the MR's generated name would become the AWS name)"))
                }
                _ => {}
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_table_reads_as_the_provider_documents() {
    let t = table();
    assert_eq!(
        identity_of(&t, "s3.aws.upbound.io/v1beta1", "Bucket"),
        Some(Identity::OurName)
    );
    assert_eq!(
        identity_of(&t, "s3.aws.upbound.io/v1beta1", "BucketPolicy"),
        Some(Identity::FromProvider)
    );
    assert_eq!(
        identity_of(&t, "cloudfront.aws.upbound.io/v1beta1", "Function"),
        Some(Identity::OurName)
    );
    assert_eq!(
        identity_of(&t, "lambda.aws.upbound.io/v1beta2", "Function"),
        Some(Identity::OurName)
    );
    assert_eq!(
        identity_of(&t, "cloudfront.aws.upbound.io/v1beta1", "KeyGroup"),
        Some(Identity::FromProvider)
    );
    assert!(matches!(
        identity_of(
            &t,
            "cloudfront.aws.upbound.io/v1beta2",
            "OriginRequestPolicy"
        ),
        Some(Identity::Avoid(_))
    ));
    assert_eq!(
        identity_of(&t, "iam.aws.upbound.io/v1beta1", "Role"),
        Some(Identity::OurName)
    );
}
