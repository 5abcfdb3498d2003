//! The viewer-request CloudFront Function for a claim: the claim's URL settings handed
//! to the URL API crate, which generates the code from its one definition.

use imagecdn_urlapi::{Settings, cloudfront};

use crate::spec::ImageCdnSpec;

/// The URL API settings a claim implies.
pub fn url_settings(spec: &ImageCdnSpec) -> Settings {
    let t = &spec.transform;
    let mut prefixes: Vec<String> = spec
        .tenants
        .iter()
        .map(|t| t.effective_prefix().to_string())
        .collect();
    prefixes.sort_unstable();
    Settings {
        max_width: t.max_width,
        max_height: t.max_height,
        width_ladder: t.width_ladder.clone(),
        min_quality: t.min_quality,
        max_quality: t.max_quality,
        default_quality: t.default_quality,
        formats: t.formats.clone(),
        presets: t.presets.clone(),
        prefixes,
    }
}

/// The function's JavaScript source.
pub fn code(spec: &ImageCdnSpec) -> String {
    cloudfront::function_code(&url_settings(spec))
}
