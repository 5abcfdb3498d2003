//! The generated CloudFront Function fits CloudFront's 10 KB code limit for the
//! largest claim the XRD allows.

use function_imagecdn::compose::viewer_request::code;
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
    let spec = worst_case_spec();
    let js = code(&spec);
    assert!(
        js.len() <= MAX_CODE_BYTES,
        "worst-case CloudFront Function is {} bytes, limit {MAX_CODE_BYTES}",
        js.len()
    );
    // The bounds really are at their maxima: this is the worst case.
    assert_eq!(spec.tenants.len(), limits::MAX_TENANTS);
    assert!(js.contains(&format!("{:0>48}", limits::MAX_TENANTS - 1)));
    eprintln!(
        "worst-case function: {} bytes of {MAX_CODE_BYTES}",
        js.len()
    );
}
