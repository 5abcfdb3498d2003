//! The claim settings the URL API depends on.

use serde::{Deserialize, Serialize};

/// An output image format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Jpeg,
    Png,
    Webp,
    Avif,
}

impl Format {
    pub const ALL: [Format; 4] = [Format::Jpeg, Format::Png, Format::Webp, Format::Avif];

    pub fn as_str(self) -> &'static str {
        match self {
            Format::Jpeg => "jpeg",
            Format::Png => "png",
            Format::Webp => "webp",
            Format::Avif => "avif",
        }
    }

    /// Parses a canonical format name (not aliases).
    pub fn parse(s: &str) -> Option<Format> {
        Format::ALL.into_iter().find(|f| f.as_str() == s)
    }

    /// The MIME type of encoded output.
    pub fn mime(self) -> &'static str {
        match self {
            Format::Jpeg => "image/jpeg",
            Format::Png => "image/png",
            Format::Webp => "image/webp",
            Format::Avif => "image/avif",
        }
    }
}

/// How an image is fitted into a `w` x `h` box (sharp's semantics).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum Fit {
    Cover,
    Contain,
    Fill,
    Inside,
    Outside,
}

impl Fit {
    pub const ALL: [Fit; 5] = [
        Fit::Cover,
        Fit::Contain,
        Fit::Fill,
        Fit::Inside,
        Fit::Outside,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Fit::Cover => "cover",
            Fit::Contain => "contain",
            Fit::Fill => "fill",
            Fit::Inside => "inside",
            Fit::Outside => "outside",
        }
    }

    pub fn parse(s: &str) -> Option<Fit> {
        Fit::ALL.into_iter().find(|f| f.as_str() == s)
    }
}

/// A named set of transform parameters (`?p=<name>`), as the claim declares it. With
/// the `schema` feature it also describes itself for the XRD, so the claim field and
/// the URL API share this one type.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(
    feature = "schema",
    schemars(description = "A named set of transform parameters.")
)]
#[cfg_attr(feature = "schema", schemars(extend("x-kubernetes-validations" = [
    {"rule": "has(self.width) || has(self.height) || has(self.format) || has(self.quality)", "message": "a preset must set at least one of width, height, format, quality"},
    {"rule": "!has(self.fit) || (has(self.width) && has(self.height))", "message": "fit needs both width and height"}
])))]
pub struct Preset {
    /// The name clients use in `?p=`; lowercase letters, digits and dashes.
    #[cfg_attr(
        feature = "schema",
        schemars(
            regex(pattern = r"^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$"),
            length(max = 32)
        )
    )]
    pub name: String,
    /// Output width in pixels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schema", schemars(range(min = 1, max = crate::definition::MAX_EDGE)))]
    pub width: Option<u32>,
    /// Output height in pixels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schema", schemars(range(min = 1, max = crate::definition::MAX_EDGE)))]
    pub height: Option<u32>,
    /// How the image fits the box; needs both width and height.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fit: Option<Fit>,
    /// Output format; must be one of `spec.transform.formats`. Omit to keep the source format.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<Format>,
    /// Output quality; must lie within the transform's minQuality..maxQuality.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schema", schemars(range(min = 1, max = 100)))]
    pub quality: Option<u32>,
}

/// Everything normalization needs from a claim.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Settings {
    pub max_width: u32,
    pub max_height: u32,
    #[serde(default)]
    pub width_ladder: Vec<u32>,
    pub min_quality: u32,
    pub max_quality: u32,
    pub default_quality: u32,
    pub formats: Vec<Format>,
    #[serde(default)]
    pub presets: Vec<Preset>,
    /// Tenant key prefixes (`shop`, `partners/media`): the first path segments a
    /// request may start with.
    pub prefixes: Vec<String>,
}

impl Settings {
    pub fn preset(&self, name: &str) -> Option<&Preset> {
        self.presets.iter().find(|p| p.name == name)
    }

    pub fn allows(&self, format: Format) -> bool {
        self.formats.contains(&format)
    }
}
