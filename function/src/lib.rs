//! `function-imagecdn`: the Crossplane composition function behind the `ImageCDN` claim.
//!
//! [`function::run`] is the whole function: a pure map from a RunFunctionRequest
//! (the claim's spec and the observed resources) to desired resources, XR status and
//! results. The gRPC server ([`function::ImageCdnFunction`]) and the `render`
//! command ([`render`]) both call it, so a preview is exactly what Crossplane gets.

pub mod api;
pub mod compose;
pub mod describe;
pub mod function;
pub mod iam;
pub mod names;
pub mod observed;
pub mod portal;
pub mod render;
pub mod sign;
pub mod simulate;
pub mod spec;
pub mod validate;
pub mod xrd;
