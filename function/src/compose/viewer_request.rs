//! The viewer-request CloudFront Functions for a claim: the claim's URL settings handed
//! to the URL API crate, which generates the code from its one definition.
//!
//! CloudFront picks a cache behavior (and with it whether a tenant's trusted key group
//! applies) before any function runs, so each behavior gets a function that only
//! serves the tenants that behavior is for: the default behavior's function knows only
//! the public tenants' prefixes and refuses every signed prefix, the signed behaviors'
//! function knows only the signed prefixes. Both redirect a path that is not spelled
//! canonically instead of rewriting it (see `imagecdn_urlapi::normalize`).

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

/// Which cache behaviors a viewer function serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Audience {
    /// The default behavior: tenants that do not require signed URLs.
    Public,
    /// The behaviors that trust a tenant's key group: tenants that require signed URLs.
    Signed,
}

/// The URL settings of one audience: the claim's, with only that audience's prefixes.
pub fn audience_settings(spec: &ImageCdnSpec, audience: Audience) -> Settings {
    let mut settings = url_settings(spec);
    settings.prefixes = spec
        .tenants
        .iter()
        .filter(|t| t.require_signed_urls == (audience == Audience::Signed))
        .map(|t| t.effective_prefix().to_string())
        .collect();
    settings.prefixes.sort_unstable();
    settings
}

/// Whether the claim has tenants of this audience (the signed function exists only then).
pub fn has_audience(spec: &ImageCdnSpec, audience: Audience) -> bool {
    audience == Audience::Public
        || spec
            .tenants
            .iter()
            .any(|t| t.require_signed_urls == (audience == Audience::Signed))
}

/// The JavaScript source of one audience's function.
pub fn code(spec: &ImageCdnSpec, audience: Audience) -> String {
    cloudfront::function_code(&audience_settings(spec, audience))
}
