//! Generates the viewer-request CloudFront Function (`cloudfront-js-2.0`) for a claim.
//!
//! The code is `viewer_request.js` (the fixed JavaScript twin of [`crate::normalize`])
//! preceded by two data objects: `L`, the URL API definition from
//! [`crate::definition`], and `S`, the claim's settings. Comments and indentation are
//! stripped to stay well inside CloudFront's 10 KB limit.

use serde_json::{Map, Value, json};

use crate::definition::{
    DEFAULT_FIT, DPR_MAX, DPR_MIN, FITS, FORMAT_ALIASES, MAX_DIGITS, PARAMS, SIGNED_PARAMS,
    canonical_names,
};
use crate::settings::{Format, Settings};

/// CloudFront Functions' maximum code size.
pub const MAX_CODE_BYTES: usize = 10 * 1024;

const RUNTIME: &str = include_str!("viewer_request.js");

/// The URL API definition as the JavaScript reads it.
fn language() -> Value {
    let mut aliases = Map::new();
    let mut kinds = Map::new();
    for p in PARAMS {
        aliases.insert(p.name.into(), json!(p.name));
        for a in p.aliases {
            aliases.insert((*a).into(), json!(p.name));
        }
        kinds.insert(
            p.name.into(),
            serde_json::to_value(p.kind).unwrap_or(Value::Null),
        );
    }
    json!({
        "aliases": aliases,
        "kinds": kinds,
        "order": canonical_names(),
        "signed": SIGNED_PARAMS,
        "fits": FITS,
        "defaultFit": DEFAULT_FIT,
        "formatAliases": FORMAT_ALIASES.iter().map(|(a, c)| (a.to_string(), json!(c))).collect::<Map<_, _>>(),
        "maxDigits": MAX_DIGITS,
        "dprMin": DPR_MIN,
        "dprMax": DPR_MAX,
        "negotiate": [[Format::Avif.as_str(), Format::Avif.mime()], [Format::Webp.as_str(), Format::Webp.mime()]],
    })
}

/// The claim's settings as the JavaScript reads them (short keys: they count
/// against the size limit).
fn settings(s: &Settings) -> Value {
    let presets: Map<String, Value> = s
        .presets
        .iter()
        .map(|p| {
            let mut m = Map::new();
            if let Some(v) = p.fit {
                m.insert("fit".into(), json!(v.as_str()));
            }
            if let Some(v) = p.format {
                m.insert("fm".into(), json!(v.as_str()));
            }
            if let Some(v) = p.height {
                m.insert("h".into(), json!(v));
            }
            if let Some(v) = p.quality {
                m.insert("q".into(), json!(v));
            }
            if let Some(v) = p.width {
                m.insert("w".into(), json!(v));
            }
            (p.name.clone(), Value::Object(m))
        })
        .collect();
    json!({
        "maxW": s.max_width,
        "maxH": s.max_height,
        "ladder": s.width_ladder,
        "minQ": s.min_quality,
        "maxQ": s.max_quality,
        "defQ": s.default_quality,
        "formats": s.formats.iter().map(|f| f.as_str()).collect::<Vec<_>>(),
        "presets": presets,
        "prefixes": s.prefixes,
    })
}

/// Drops comment lines and indentation; the runtime is written to survive this
/// (statements end in semicolons, no block comments, no multi-line strings).
fn compact(js: &str) -> String {
    js.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The function's complete source code for a claim.
pub fn function_code(s: &Settings) -> String {
    format!(
        "var L={};\nvar S={};\n{}\n",
        language(),
        settings(s),
        compact(RUNTIME)
    )
}
