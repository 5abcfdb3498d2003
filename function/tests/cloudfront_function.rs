//! The generated CloudFront Functions fit CloudFront's 10 KB code limit for the
//! largest claim the XRD allows.

use function_imagecdn::compose::viewer_request::{Audience, audience_settings, code};
use function_imagecdn::spec::{Fit, Format, ImageCdnSpec, Preset, Tenant, limits};
use imagecdn_urlapi::cloudfront::MAX_CODE_BYTES;

/// Every list at its maximum length and every string and number at its widest.
fn worst_case_spec() -> ImageCdnSpec {
    let mut spec: ImageCdnSpec = serde_json::from_value(serde_json::json!({
        "tenants": [{"name": "a"}],
        "artifacts": {"edge": {"bucket": "abc"}, "renderer": {"bucket": "abc"}},
    }))
    .unwrap();
    let t = &mut spec.transform;
    t.max_width = limits::MAX_EDGE;
    t.max_height = limits::MAX_EDGE;
    t.width_ladder = (0..limits::MAX_LADDER_STEPS as u32)
        .map(|i| 10_000 + i)
        .collect();
    t.presets = (0..limits::MAX_PRESETS)
        .map(|i| Preset {
            name: format!("{i:0>32}"),
            width: Some(limits::MAX_EDGE),
            height: Some(limits::MAX_EDGE),
            fit: Some(Fit::Outside),
            format: Some(Format::Avif),
            quality: Some(100),
        })
        .collect();
    spec.tenants = (0..limits::MAX_TENANTS)
        .map(|i| Tenant {
            name: format!("{i:0>32}"),
            prefix: Some(format!("{i:0>48}")),
            require_signed_urls: false,
            public_keys: Vec::new(),
            allowed_referers: Vec::new(),
        })
        .collect();
    spec
}

#[test]
fn worst_case_function_fits_cloudfronts_limit() {
    // Each audience at its worst: every tenant public, or every tenant signed.
    for audience in [Audience::Public, Audience::Signed] {
        let mut spec = worst_case_spec();
        for t in &mut spec.tenants {
            t.require_signed_urls = audience == Audience::Signed;
        }
        let js = code(&spec, audience);
        assert!(
            js.len() <= MAX_CODE_BYTES,
            "worst-case {audience:?} CloudFront Function is {} bytes, limit {MAX_CODE_BYTES}",
            js.len()
        );
        // The bounds really are at their maxima: this is the worst case.
        assert_eq!(spec.tenants.len(), limits::MAX_TENANTS);
        assert!(js.contains(&format!("{:0>48}", limits::MAX_TENANTS - 1)));
        eprintln!(
            "worst-case {audience:?} function: {} bytes of {MAX_CODE_BYTES}",
            js.len()
        );
    }
}

/// The README's URL API examples hold for the complete example claim.
#[test]
fn readme_url_examples_hold() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let claim: serde_json::Value = serde_yaml_ng::from_str(
        &std::fs::read_to_string(root.join("examples/complete.yaml")).unwrap(),
    )
    .unwrap();
    let spec = function_imagecdn::validate::parse_spec(claim.get("spec")).unwrap();
    // The examples are requests to the default behavior (public tenants).
    let settings = audience_settings(&spec, Audience::Public);
    let chrome = "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8";
    let table = readme
        .split_once("Examples (claim `examples/complete.yaml`):")
        .expect("README has the URL examples")
        .1;
    let rows: Vec<&str> = table
        .lines()
        .skip_while(|l| !l.starts_with("| `"))
        .take_while(|l| l.starts_with('|'))
        .collect();
    assert!(rows.len() >= 5, "{rows:?}");
    for row in rows {
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        let request = cells[1].split('`').nth(1).unwrap();
        let want = cells[2].trim_matches('`');
        let (uri, query) = request.split_once('?').unwrap_or((request, ""));
        let accept = cells[1].contains("Chrome").then_some(chrome);
        let outcome = imagecdn_urlapi::normalize_raw(&settings, uri, query, accept);
        let got = match &outcome {
            imagecdn_urlapi::Outcome::Forward { uri, .. } => {
                let q = outcome.query_string().unwrap();
                if q.is_empty() {
                    uri.clone()
                } else {
                    format!("{uri}?{q}")
                }
            }
            imagecdn_urlapi::Outcome::Refuse { status, .. } => status.to_string(),
            imagecdn_urlapi::Outcome::Redirect { location } => format!("301 {location}"),
        };
        assert_eq!(got, want, "README example {request}");
    }
}
