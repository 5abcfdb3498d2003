//! The canonical query: what the cache keys on and what the transform reads.

use std::fmt;

use crate::definition::{DEFAULT_FIT, canonical_names};
use crate::settings::{Fit, Format};

/// A canonical transform request. `None` means "not set": keep the source's size,
/// format, the default fit or the default quality.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Canonical {
    pub fit: Option<Fit>,
    pub fm: Option<Format>,
    pub h: Option<u32>,
    pub q: Option<u32>,
    pub w: Option<u32>,
}

/// Why a query is not canonical (the transform answers 400).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CanonicalError {
    #[error("parameter {0:?} is not part of the canonical query")]
    UnknownParam(String),
    #[error("parameter {0:?} is out of canonical order or repeated")]
    Order(String),
    #[error("parameter {name}: {value:?} is not a canonical value")]
    Value { name: String, value: String },
    #[error("fit needs both w and h, and cover is implied")]
    Fit,
}

impl Canonical {
    /// `name=value` pairs in canonical order.
    pub fn pairs(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        if let Some(f) = self.fit {
            out.push(("fit".into(), f.as_str().into()));
        }
        if let Some(f) = self.fm {
            out.push(("fm".into(), f.as_str().into()));
        }
        if let Some(h) = self.h {
            out.push(("h".into(), h.to_string()));
        }
        if let Some(q) = self.q {
            out.push(("q".into(), q.to_string()));
        }
        if let Some(w) = self.w {
            out.push(("w".into(), w.to_string()));
        }
        out
    }

    /// Parses a query that must already be canonical, as the transform receives it.
    /// Only the form is checked; the transform applies its own limits.
    pub fn parse(query: &str) -> Result<Canonical, CanonicalError> {
        let order = canonical_names();
        let mut next = 0;
        let mut c = Canonical::default();
        for piece in query.split('&').filter(|p| !p.is_empty()) {
            let (name, value) = piece.split_once('=').unwrap_or((piece, ""));
            let Some(pos) = order.iter().position(|n| *n == name) else {
                return Err(CanonicalError::UnknownParam(name.into()));
            };
            if pos < next {
                return Err(CanonicalError::Order(name.into()));
            }
            next = pos + 1;
            let bad = || CanonicalError::Value {
                name: name.into(),
                value: value.into(),
            };
            let int = || -> Result<u32, CanonicalError> {
                let canonical_digits = !value.is_empty()
                    && value.len() <= 9
                    && value.bytes().all(|b| b.is_ascii_digit())
                    && !value.starts_with('0');
                canonical_digits
                    .then(|| value.parse().ok())
                    .flatten()
                    .ok_or_else(bad)
            };
            match name {
                "fit" => {
                    c.fit = Some(
                        Fit::parse(value)
                            .filter(|f| f.as_str() != DEFAULT_FIT)
                            .ok_or_else(bad)?,
                    )
                }
                "fm" => c.fm = Some(Format::parse(value).ok_or_else(bad)?),
                "h" => c.h = Some(int()?),
                "q" => c.q = Some(int()?.min(100)),
                "w" => c.w = Some(int()?),
                _ => return Err(CanonicalError::UnknownParam(name.into())),
            }
        }
        if c.fit.is_some() && (c.w.is_none() || c.h.is_none()) {
            return Err(CanonicalError::Fit);
        }
        Ok(c)
    }

    /// The fit actually applied.
    pub fn effective_fit(&self) -> Fit {
        self.fit.unwrap_or(Fit::Cover)
    }
}

impl fmt::Display for Canonical {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s: Vec<String> = self
            .pairs()
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        f.write_str(&s.join("&"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_round_trip() {
        let c = Canonical::parse("fit=contain&fm=webp&h=200&q=70&w=300").unwrap();
        assert_eq!(c.to_string(), "fit=contain&fm=webp&h=200&q=70&w=300");
        assert_eq!(Canonical::parse("").unwrap(), Canonical::default());
    }

    #[test]
    fn non_canonical_queries_are_refused() {
        for q in [
            "w=300&h=200",
            "w=0300",
            "w=abc",
            "fit=cover&w=1&h=1",
            "fit=fill&w=1",
            "utm=1",
            "w=1&w=2",
            "fm=jpg",
            "q=",
            "w=1234567890",
        ] {
            assert!(Canonical::parse(q).is_err(), "{q}");
        }
    }
}
