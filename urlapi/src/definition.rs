//! The parameter language itself: names, aliases, value kinds and documentation.
//!
//! This table is the single definition of the URL API. The Rust normalizer looks
//! names up here, the CloudFront Function generator embeds it as data, and the
//! README's parameter reference is printed from it.

use serde::{Deserialize, Serialize};

/// How a parameter's value is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Kind {
    /// Pixels: digits only, 0 invalid, more than 9 digits means "huge", clamped to `maxWidth`.
    Width,
    /// Pixels, clamped to `maxHeight`.
    Height,
    /// Digits only, 0 invalid, clamped to `minQuality..=maxQuality`.
    Quality,
    /// A decimal `digits[.digits]`, clamped to `1..=4`, multiplied into `w` and `h`.
    Dpr,
    /// One of [`FITS`].
    Fit,
    /// One of the claim's enabled formats, `jpg` for `jpeg`, or `auto`.
    Format,
    /// A preset name from the claim.
    Preset,
}

/// One parameter of the URL API.
#[derive(Clone, Copy, Debug)]
pub struct Param {
    /// The canonical name, as it appears in the cache key.
    pub name: &'static str,
    /// Other accepted names (matched case-insensitively, like the canonical name).
    pub aliases: &'static [&'static str],
    pub kind: Kind,
    /// Whether the parameter survives into the canonical query (`dpr` and `p` are
    /// folded into the others and removed).
    pub canonical: bool,
    /// Accepted values, for the documentation.
    pub values: &'static str,
    /// Default when absent, for the documentation.
    pub default: &'static str,
    /// What it does, for the documentation.
    pub doc: &'static str,
}

/// Every parameter, in canonical (alphabetical) order of the kept ones first.
pub const PARAMS: &[Param] = &[
    Param {
        name: "fit",
        aliases: &[],
        kind: Kind::Fit,
        canonical: true,
        values: "`cover` `contain` `fill` `inside` `outside`",
        default: "`cover`",
        doc: "How the image fits a `w` x `h` box, with sharp's semantics. Kept only when both `w` and `h` are set; `cover` is the default and is dropped.",
    },
    Param {
        name: "fm",
        aliases: &["format"],
        kind: Kind::Format,
        canonical: true,
        values: "`jpeg` (`jpg`) `png` `webp` `avif` `auto`",
        default: "the source format",
        doc: "Output format; must be enabled in `spec.transform.formats`. `auto` becomes `avif`, else `webp`, when enabled and named in the `Accept` header with q > 0 (wildcards do not count); otherwise it is dropped and the source format is kept.",
    },
    Param {
        name: "h",
        aliases: &["height"],
        kind: Kind::Height,
        canonical: true,
        values: "integer >= 1",
        default: "keep the aspect ratio",
        doc: "Output height in pixels, clamped to `maxHeight` (after `dpr`).",
    },
    Param {
        name: "q",
        aliases: &["quality"],
        kind: Kind::Quality,
        canonical: true,
        values: "integer 1-100",
        default: "`defaultQuality`",
        doc: "Encoder quality, clamped to `minQuality`..`maxQuality`. Dropped when equal to `defaultQuality` or when the output is PNG (lossless).",
    },
    Param {
        name: "w",
        aliases: &["width"],
        kind: Kind::Width,
        canonical: true,
        values: "integer >= 1",
        default: "keep the aspect ratio",
        doc: "Output width in pixels, clamped to `maxWidth` (after `dpr`), then snapped up to the next step of the width ladder when the claim has one.",
    },
    Param {
        name: "dpr",
        aliases: &[],
        kind: Kind::Dpr,
        canonical: false,
        values: "decimal 1-4",
        default: "1",
        doc: "Device pixel ratio: multiplied into `w` and `h` (rounded half up, then clamped), then removed.",
    },
    Param {
        name: "p",
        aliases: &["preset"],
        kind: Kind::Preset,
        canonical: false,
        values: "a name from `spec.transform.presets`",
        default: "none",
        doc: "Replaced by the preset's own parameters, so `?p=thumb` and the same parameters spelled out share one cache key. Explicit parameters override the preset's.",
    },
];

/// The canonical parameters in cache-key order.
pub fn canonical_names() -> Vec<&'static str> {
    PARAMS
        .iter()
        .filter(|p| p.canonical)
        .map(|p| p.name)
        .collect()
}

/// CloudFront's signed-URL parameters: passed through untouched (exact, case-sensitive
/// names), after the canonical ones, and never part of the cache key.
pub const SIGNED_PARAMS: &[&str] = &[
    "Expires",
    "Signature",
    "Key-Pair-Id",
    "Policy",
    "Hash-Algorithm",
];

/// `fit` values (sharp's).
pub const FITS: &[&str] = &["cover", "contain", "fill", "inside", "outside"];

/// The fit used when `w` and `h` are both set and `fit` is not: dropped from the key.
pub const DEFAULT_FIT: &str = "cover";

/// Alternative spellings of format values.
pub const FORMAT_ALIASES: &[(&str, &str)] = &[("jpg", "jpeg")];

/// The largest output edge any claim may allow (pixels).
pub const MAX_EDGE: u32 = 16_384;

/// `dpr` bounds.
pub const DPR_MIN: f64 = 1.0;
pub const DPR_MAX: f64 = 4.0;

/// A run of more digits than this is "huge" and clamps to the maximum (no overflow).
pub const MAX_DIGITS: usize = 9;

/// Finds a parameter by its canonical name or an alias (already lower-cased).
pub fn lookup(name: &str) -> Option<&'static Param> {
    PARAMS
        .iter()
        .find(|p| p.name == name || p.aliases.contains(&name))
}

/// The parameter reference as a Markdown table, for the README.
pub fn reference_markdown() -> String {
    let mut out = String::from(
        "| param | aliases | values | default | rule |\n| --- | --- | --- | --- | --- |\n",
    );
    for p in PARAMS {
        let aliases: Vec<String> = p.aliases.iter().map(|a| format!("`{a}`")).collect();
        out.push_str(&format!(
            "| `{}` | {} | {} | {} | {} |\n",
            p.name,
            aliases.join(" "),
            p.values,
            p.default,
            p.doc
        ));
    }
    out
}
