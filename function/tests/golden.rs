//! Golden output of `render` for every example, first pass and full graph, plus
//! determinism. Regenerate after an intended change with
//! `UPDATE_GOLDEN=1 cargo test -p function-imagecdn --test golden` and review the diff.

mod common;

use std::path::PathBuf;

use common::*;
use function_imagecdn::render::render;

/// (golden file, claim, observed folder)
const CASES: &[(&str, &str, Option<&str>)] = &[
    ("minimal.first-pass.yaml", "minimal.yaml", None),
    ("complete.first-pass.yaml", "complete.yaml", None),
    ("complete.full.yaml", "complete.yaml", Some("observed")),
    ("v2-minimal.first-pass.yaml", "v2/minimal.yaml", None),
    (
        "v2-complete.full.yaml",
        "v2/complete.yaml",
        Some("v2/observed"),
    ),
];

fn golden_path(name: &str) -> PathBuf {
    repo_root().join("function/tests/golden").join(name)
}

#[test]
fn render_matches_golden_files() {
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let mut stale = Vec::new();
    for (golden, claim, observed) in CASES {
        let observed = observed.map(example);
        let got = render(Some(&example(claim)), observed.as_deref()).expect("example renders");
        let path = golden_path(golden);
        if update {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &got).unwrap();
            continue;
        }
        let want = std::fs::read_to_string(&path).unwrap_or_default();
        if got != want {
            stale.push(golden.to_string());
        }
    }
    assert!(
        stale.is_empty(),
        "render output differs from {stale:?}; if intended, rerun with UPDATE_GOLDEN=1 and review the diff"
    );
}

#[test]
fn rendering_is_byte_identical_across_runs() {
    for (_, claim, observed) in CASES {
        let observed = observed.map(example);
        let runs: Vec<String> = (0..3)
            .map(|_| render(Some(&example(claim)), observed.as_deref()).unwrap())
            .collect();
        assert!(
            runs.windows(2).all(|w| w[0] == w[1]),
            "{claim} renders differently between runs"
        );
    }
}

#[test]
fn embedded_default_is_the_complete_example() {
    assert_eq!(
        render(None, None).unwrap(),
        render(Some(&example("complete.yaml")), None).unwrap()
    );
}

/// The full graph holds every resource the storage, delivery, compute, security,
/// audit, dns and precompute concerns promise, of the expected kinds.
#[test]
fn full_graph_holds_every_resource() {
    let resources =
        function_imagecdn::render::render_resources(&composite("complete.yaml"), &full_observed())
            .unwrap();
    let mut expected: Vec<(String, &str)> = Vec::new();
    for b in [
        "originals-primary",
        "originals-replica-1",
        "originals-replica-2",
    ] {
        expected.push((b.into(), "Bucket"));
        expected.push((format!("{b}-versioning"), "BucketVersioning"));
        expected.push((format!("{b}-policy"), "BucketPolicy"));
    }
    for b in [
        "originals-primary",
        "originals-replica-1",
        "originals-replica-2",
        "variants",
        "logs",
    ] {
        expected.push((
            format!("{b}-encryption"),
            "BucketServerSideEncryptionConfiguration",
        ));
        expected.push((
            format!("{b}-public-access-block"),
            "BucketPublicAccessBlock",
        ));
        expected.push((format!("{b}-ownership"), "BucketOwnershipControls"));
        expected.push((format!("{b}-lifecycle"), "BucketLifecycleConfiguration"));
    }
    for (name, kind) in [
        ("variants", "Bucket"),
        ("variants-policy", "BucketPolicy"),
        ("logs", "Bucket"),
        ("replication-role", "Role"),
        ("replication-policy", "Policy"),
        ("replication-policy-attachment", "RolePolicyAttachment"),
        ("replication", "BucketReplicationConfiguration"),
        ("origin-access-control", "OriginAccessControl"),
        ("cache-policy", "CachePolicy"),
        ("response-headers-policy", "ResponseHeadersPolicy"),
        ("viewer-function-code", "Object"),
        ("viewer-function", "Function"),
        ("viewer-function-signed-code", "Object"),
        ("viewer-function-signed", "Function"),
        ("distribution", "Distribution"),
        ("edge-role", "Role"),
        ("edge-policy", "Policy"),
        ("edge-policy-attachment", "RolePolicyAttachment"),
        ("edge-function", "Function"),
        ("renderer-role", "Role"),
        ("renderer-policy", "Policy"),
        ("renderer-policy-attachment", "RolePolicyAttachment"),
        ("renderer-function", "Function"),
        ("renderer-log-group", "Group"),
        ("edge-log-group", "Group"),
        ("edge-log-group-failover", "Group"),
        ("web-acl", "WebACL"),
        ("waf-log-group", "Group"),
        ("waf-logging", "WebACLLoggingConfiguration"),
        ("tenant-partners-key-key-2026", "PublicKey"),
        ("tenant-partners-key-group", "KeyGroup"),
        ("tenant-shop-uploader-policy", "Policy"),
        ("tenant-partners-uploader-policy", "Policy"),
        ("logs-policy", "BucketPolicy"),
        ("audit-trail", "Trail"),
        ("certificate", "Certificate"),
        ("certificate-validation-record-0", "Record"),
        ("certificate-validation", "CertificateValidation"),
        ("alias-a", "Record"),
        ("alias-aaaa", "Record"),
        ("originals-events", "BucketNotification"),
        ("pipeline-log-group", "Group"),
        ("pipeline-role", "Role"),
        ("pipeline-policy", "Policy"),
        ("pipeline-policy-attachment", "RolePolicyAttachment"),
        ("pipeline", "StateMachine"),
        ("events-role", "Role"),
        ("events-policy", "Policy"),
        ("events-policy-attachment", "RolePolicyAttachment"),
        ("upload-rule", "Rule"),
        ("upload-rule-target", "Target"),
        ("takedown-rule", "Rule"),
        ("takedown-rule-target", "Target"),
        ("flush-rule", "Rule"),
        ("flush-rule-target", "Target"),
        ("pipeline-failures", "MetricAlarm"),
    ] {
        expected.push((name.into(), kind));
    }
    for (name, kind) in &expected {
        let got = resources
            .get(name)
            .unwrap_or_else(|| panic!("{name} missing from the full graph"));
        assert_eq!(got["kind"], *kind, "{name}");
    }
    // Usages (deletion order) are checked in deletion.rs.
    let managed: Vec<&String> = resources
        .iter()
        .filter(|(_, r)| r["kind"] != "Usage")
        .map(|(name, _)| name)
        .collect();
    assert_eq!(
        managed.len(),
        expected.len(),
        "unexpected extra resources: {managed:?}"
    );
}

/// `examples/render/xr.yaml` (for the crossplane CLI) is the minimal claim as an XR.
#[test]
fn crossplane_render_xr_matches_the_minimal_claim() {
    let xr = function_imagecdn::render::read_yaml_stream(&example("render/xr.yaml")).unwrap();
    assert_eq!(xr[0]["kind"], "XImageCDN");
    assert_eq!(xr[0]["spec"], composite("minimal.yaml")["spec"]);
}

/// The binary's `render`: YAML on stdout for a good claim; for a bad one, the fatal
/// message on stderr and a non-zero exit.
#[test]
fn render_command_exit_codes() {
    let bin = env!("CARGO_BIN_EXE_function-imagecdn");
    let ok = std::process::Command::new(bin)
        .args(["render", example("minimal.yaml").to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(String::from_utf8_lossy(&ok.stdout).starts_with("---\napiVersion:"));

    let dir = std::env::temp_dir().join(format!("imagecdn-render-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.yaml");
    let text = std::fs::read_to_string(example("minimal.yaml")).unwrap()
        + "  regions:\n    primary: us-east-1\n    replicas: [eu-west-1, us-east-1]\n";
    std::fs::write(&bad, text).unwrap();
    let out = std::process::Command::new(bin)
        .args(["render", bad.to_str().unwrap()])
        .output()
        .unwrap();
    std::fs::remove_dir_all(&dir).ok();
    assert!(!out.status.success());
    assert!(out.stdout.is_empty(), "nothing on stdout for a bad claim");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("spec.regions.replicas[1]: must differ from the primary region"),
        "{stderr}"
    );
}
