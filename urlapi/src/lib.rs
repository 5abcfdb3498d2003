//! ImageCDN's public URL API, defined once.
//!
//! Clients ask for `https://<domain>/<tenant prefix>/<key>?<params>`. The viewer-request
//! CloudFront Function rewrites every request into one canonical form so that junk,
//! aliases, reordering and out-of-range values never mint a new cache object; the
//! transform then reads that canonical query. Three things come from this crate:
//!
//! - [`definition`]: the parameter table (names, aliases, kinds, docs);
//! - [`normalize`]: the normalizer in Rust, and [`canonical`]: the strict parser the
//!   transform uses;
//! - [`cloudfront`]: the generated `cloudfront-js-2.0` function, the same rules in
//!   JavaScript, with the definition and the claim's settings embedded as data.
//!
//! Shared vectors (`tests/vectors/`) run through both and must agree exactly.

pub mod canonical;
pub mod cloudfront;
pub mod definition;
pub mod digest;
pub mod invalidation;
pub mod layout;
pub mod normalize;
pub mod path_matching;
pub mod percent;
pub mod settings;

pub use canonical::{Canonical, CanonicalError};
pub use normalize::{Outcome, QueryEntry, normalize, normalize_raw, parse_raw_query};
pub use settings::{Fit, Format, Preset, Settings};
