//! The request normalizer: a raw viewer request in, the canonical request (or a
//! refusal) out. The generated CloudFront Function implements the same steps in
//! JavaScript; the shared vectors in `tests/vectors/` hold both to identical output.

use crate::canonical::Canonical;
use crate::definition::{
    DEFAULT_FIT, DPR_MAX, DPR_MIN, FORMAT_ALIASES, Kind, MAX_DIGITS, SIGNED_PARAMS, lookup,
};
use crate::percent::{decode, encode_component, trim_ascii_ws};
use crate::settings::{Fit, Format, Settings};

/// One query parameter as CloudFront Functions present it: a name (raw, as sent) and
/// its values in order (`value`, or every `multiValue` entry).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueryEntry {
    pub name: String,
    pub values: Vec<String>,
}

/// Groups a raw query string the way CloudFront builds `event.request.querystring`:
/// pairs split at the first `=`, raw (undecoded), grouped by exact name in order of
/// first appearance.
pub fn parse_raw_query(raw: &str) -> Vec<QueryEntry> {
    let mut entries: Vec<QueryEntry> = Vec::new();
    for piece in raw.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = piece.split_once('=').unwrap_or((piece, ""));
        match entries.iter_mut().find(|e| e.name == name) {
            Some(e) => e.values.push(value.to_string()),
            None => entries.push(QueryEntry {
                name: name.to_string(),
                values: vec![value.to_string()],
            }),
        }
    }
    entries
}

/// The result of normalizing one request.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// Forward to the cache with this path and canonical query.
    Forward {
        uri: String,
        canonical: Canonical,
        /// CloudFront's signed-URL parameters, untouched, in canonical order.
        signed: Vec<QueryEntry>,
    },
    /// Answer at the edge with this status.
    Refuse { status: u16, reason: &'static str },
    /// The path is under a tenant prefix but not spelled canonically (repeated
    /// slashes, `%2F`, needless or lower-case escapes): answer with a redirect to the
    /// canonical spelling. Never forwarded: CloudFront chose the cache behavior (and so
    /// whether a signed tenant's key group applies) from the spelling the viewer sent,
    /// so rewriting it here could serve one behavior's objects under another's rules.
    /// The redirected request is matched again from the start.
    Redirect { location: String },
}

impl Outcome {
    /// The full query string CloudFront forwards: canonical parameters, then the
    /// signed-URL ones.
    pub fn query_string(&self) -> Option<String> {
        let Outcome::Forward {
            canonical, signed, ..
        } = self
        else {
            return None;
        };
        let mut pairs = canonical.pairs();
        for e in signed {
            for v in &e.values {
                pairs.push((e.name.clone(), v.clone()));
            }
        }
        Some(
            pairs
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("&"),
        )
    }
}

/// A request's refusal reasons.
const BAD_PATH: &str = "path is malformed, escapes with . or .., or is outside every tenant prefix";

/// The status of the redirect to a path's canonical spelling.
pub const REDIRECT_STATUS: u16 = 301;

/// The query as CloudFront presents it, serialized again (`name=value` per value, in
/// the event's order): what a redirect carries along unchanged.
pub fn raw_query_string(query: &[QueryEntry]) -> String {
    let pairs: Vec<String> = query
        .iter()
        .flat_map(|e| e.values.iter().map(move |v| format!("{}={v}", e.name)))
        .collect();
    if pairs.is_empty() {
        String::new()
    } else {
        format!("?{}", pairs.join("&"))
    }
}

/// Normalizes a viewer request: path rules, then parameters.
pub fn normalize(
    settings: &Settings,
    uri: &str,
    query: &[QueryEntry],
    accept: Option<&str>,
) -> Outcome {
    let Some(canonical_uri) = normalize_path(settings, uri) else {
        return Outcome::Refuse {
            status: 403,
            reason: BAD_PATH,
        };
    };
    if canonical_uri != uri {
        return Outcome::Redirect {
            location: format!("{canonical_uri}{}", raw_query_string(query)),
        };
    }
    let uri = canonical_uri;
    let mut got = Parsed::default();
    let mut signed: Vec<QueryEntry> = Vec::new();
    for entry in query {
        if SIGNED_PARAMS.contains(&entry.name.as_str()) {
            signed.push(entry.clone());
            continue;
        }
        let Some(name) = decode(&entry.name) else {
            continue;
        };
        let Some(param) = lookup(&trim_ascii_ws(&name).to_ascii_lowercase()) else {
            continue;
        };
        if got.has(param.kind) {
            continue;
        }
        for raw in &entry.values {
            let Some(value) = decode(raw) else { continue };
            if got.set(param.kind, trim_ascii_ws(&value), settings) {
                break;
            }
        }
    }
    signed.sort_by_key(|e| SIGNED_PARAMS.iter().position(|s| *s == e.name));
    Outcome::Forward {
        uri,
        canonical: got.build(settings, accept),
        signed,
    }
}

/// Normalizes a request given as a raw query string.
pub fn normalize_raw(
    settings: &Settings,
    uri: &str,
    raw_query: &str,
    accept: Option<&str>,
) -> Outcome {
    normalize(settings, uri, &parse_raw_query(raw_query), accept)
}

/// The canonical form of a preset, as `?p=<name>` normalizes (no `Accept` needed:
/// presets name concrete formats). `None` for an unknown preset.
pub fn preset_canonical(settings: &Settings, name: &str) -> Option<Canonical> {
    let preset = settings.preset(name)?;
    let parsed = Parsed {
        preset: Some(preset.name.clone()),
        ..Parsed::default()
    };
    Some(parsed.build(settings, None))
}

/// The canonical spelling of a path: decodes it once, refuses control characters,
/// backslashes, `.`/`..` segments and anything outside a tenant prefix, drops empty
/// segments and re-encodes each segment. A request is served only when its path
/// already equals this ([`is_canonical_path`]).
pub fn normalize_path(settings: &Settings, uri: &str) -> Option<String> {
    let decoded = decode(uri)?;
    if decoded.chars().any(|c| c == '\\' || c.is_ascii_control()) {
        return None;
    }
    let segments: Vec<&str> = decoded.split('/').filter(|s| !s.is_empty()).collect();
    if segments.iter().any(|s| *s == "." || *s == "..") {
        return None;
    }
    let joined = segments.join("/");
    let under_prefix = settings.prefixes.iter().any(|p| {
        joined.len() > p.len() + 1
            && joined.starts_with(p.as_str())
            && joined.as_bytes()[p.len()] == b'/'
    });
    if !under_prefix {
        return None;
    }
    let encoded: Vec<String> = segments.iter().map(|s| encode_component(s)).collect();
    Some(format!("/{}", encoded.join("/")))
}

/// Whether `uri` is exactly its own canonical spelling (and so under a tenant prefix).
pub fn is_canonical_path(settings: &Settings, uri: &str) -> bool {
    normalize_path(settings, uri).is_some_and(|c| c == uri)
}

/// `fm` before negotiation.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Fm {
    Auto,
    Is(Format),
}

/// The first valid value of each parameter.
#[derive(Default)]
struct Parsed {
    w: Option<u32>,
    h: Option<u32>,
    q: Option<u32>,
    dpr: Option<f64>,
    fit: Option<Fit>,
    fm: Option<Fm>,
    preset: Option<String>,
}

/// Digits only; 0 is invalid; a huge run clamps to `hi`.
fn clamp_int(v: &str, lo: u32, hi: u32) -> Option<u32> {
    if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if v.len() > MAX_DIGITS {
        return Some(hi);
    }
    let n: u32 = v.parse().ok()?;
    (n != 0).then(|| n.clamp(lo, hi))
}

fn parse_dpr(v: &str) -> Option<f64> {
    let (int, frac) = v.split_once('.').unwrap_or((v, "0"));
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(int) || !digits(frac) {
        return None;
    }
    let d: f64 = v.parse().ok()?;
    Some(d.clamp(DPR_MIN, DPR_MAX))
}

impl Parsed {
    fn has(&self, kind: Kind) -> bool {
        match kind {
            Kind::Width => self.w.is_some(),
            Kind::Height => self.h.is_some(),
            Kind::Quality => self.q.is_some(),
            Kind::Dpr => self.dpr.is_some(),
            Kind::Fit => self.fit.is_some(),
            Kind::Format => self.fm.is_some(),
            Kind::Preset => self.preset.is_some(),
        }
    }

    /// Sets the parameter from `v` when valid; returns whether it was.
    fn set(&mut self, kind: Kind, v: &str, s: &Settings) -> bool {
        match kind {
            Kind::Width => self.w = clamp_int(v, 1, s.max_width),
            Kind::Height => self.h = clamp_int(v, 1, s.max_height),
            Kind::Quality => self.q = clamp_int(v, s.min_quality, s.max_quality),
            Kind::Dpr => self.dpr = parse_dpr(v),
            Kind::Fit => self.fit = Fit::parse(&v.to_ascii_lowercase()),
            Kind::Format => {
                let v = v.to_ascii_lowercase();
                let v = FORMAT_ALIASES
                    .iter()
                    .find(|(alias, _)| *alias == v)
                    .map_or(v.as_str(), |(_, canonical)| canonical);
                self.fm = if v == "auto" {
                    Some(Fm::Auto)
                } else {
                    Format::parse(v).filter(|f| s.allows(*f)).map(Fm::Is)
                };
            }
            Kind::Preset => {
                let v = v.to_ascii_lowercase();
                self.preset = s.preset(&v).map(|p| p.name.clone());
            }
        }
        self.has(kind)
    }

    /// Merges the preset, applies `dpr`, the ladder, defaults and negotiation.
    fn build(self, s: &Settings, accept: Option<&str>) -> Canonical {
        let preset = self.preset.as_deref().and_then(|p| s.preset(p));
        let mut w = self.w.or(preset.and_then(|p| p.width));
        let mut h = self.h.or(preset.and_then(|p| p.height));
        let fit = self.fit.or(preset.and_then(|p| p.fit));
        let fm = self.fm.or(preset.and_then(|p| p.format).map(Fm::Is));
        let q = self
            .q
            .or(preset.and_then(|p| p.quality))
            .map(|q| q.clamp(s.min_quality, s.max_quality));

        let dpr = self.dpr.unwrap_or(1.0);
        let scale = |v: u32, max: u32| ((v as f64 * dpr).round() as u32).min(max);
        w = w.map(|v| scale(v, s.max_width));
        h = h.map(|v| scale(v, s.max_height));
        if let (Some(v), Some(largest)) = (w, s.width_ladder.last()) {
            w = Some(
                s.width_ladder
                    .iter()
                    .copied()
                    .find(|step| *step >= v)
                    .unwrap_or(*largest),
            );
        }
        let fit = fit.filter(|f| w.is_some() && h.is_some() && f.as_str() != DEFAULT_FIT);
        let fm = match fm {
            Some(Fm::Is(f)) => Some(f),
            Some(Fm::Auto) => negotiate(s, accept.unwrap_or_default()),
            None => None,
        };
        let q = q.filter(|q| fm != Some(Format::Png) && *q != s.default_quality);
        Canonical { fit, fm, h, q, w }
    }
}

/// `fm=auto`: AVIF, then WebP, when enabled and accepted.
fn negotiate(s: &Settings, accept: &str) -> Option<Format> {
    [Format::Avif, Format::Webp]
        .into_iter()
        .find(|f| s.allows(*f) && accepts(accept, f.mime()))
}

/// Whether an `Accept` header names `mime` exactly with q > 0 (wildcards do not
/// count: a browser that sends only `image/*` may not decode AVIF).
pub fn accepts(accept: &str, mime: &str) -> bool {
    accept.split(',').any(|item| {
        let mut parts = item.split(';');
        let media = trim_ascii_ws(parts.next().unwrap_or_default()).to_ascii_lowercase();
        media == mime
            && parts.all(|param| {
                let (name, value) = param.split_once('=').unwrap_or((param, ""));
                !trim_ascii_ws(name).eq_ignore_ascii_case("q")
                    || quality_positive(trim_ascii_ws(value))
            })
    })
}

/// An Accept `q` value: `digits[.digits]` or `.digits`, positive. Malformed means 0.
fn quality_positive(v: &str) -> bool {
    let (int, frac) = v.split_once('.').unwrap_or((v, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let well_formed =
        !(int.is_empty() && frac.is_empty()) && digits(int) && digits(frac) && !v.ends_with('.');
    well_formed && v.parse::<f64>().is_ok_and(|q| q > 0.0)
}
