//! `render`: pre-computes presets of one original into the variants bucket.
//!
//! Idempotent: a variant already rendered from the same version of the original (its
//! `source-etag` metadata matches) is kept. A variant of an older version is rendered
//! again, and its original is queued for invalidation so the edge drops the old image.

use imagecdn_transform::transform;
use imagecdn_urlapi::Canonical;
use imagecdn_urlapi::layout::variant_key;
use serde::{Deserialize, Serialize};

use crate::store::Store;
use crate::takedown::queue_takedown;
use crate::{Config, HandlerError};

/// A preset to render: its name and canonical query (from the state machine definition).
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct PresetJob {
    pub name: String,
    pub query: String,
}

/// The outcome for one preset.
#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PresetResult {
    pub preset: String,
    pub variant_key: Option<String>,
    /// `rendered`, `exists` (same source version) or `failed`.
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bytes: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_status: Option<u16>,
}

/// The `render` result the state machine reads (`rendered`, `failed`).
#[derive(Clone, Debug, Serialize)]
pub struct RenderReport {
    pub original: String,
    pub rendered: usize,
    pub existing: usize,
    pub failed: usize,
    pub results: Vec<PresetResult>,
}

const SOURCE_ETAG: &str = "source-etag";
/// Variants change only through takedowns, which invalidate them.
pub const VARIANT_CACHE_CONTROL: &str = "public, max-age=31536000";

fn failed(preset: &str, key: Option<String>, error: String, status: u16) -> PresetResult {
    PresetResult {
        preset: preset.into(),
        variant_key: key,
        status: "failed",
        width: None,
        height: None,
        bytes: None,
        error: Some(error),
        http_status: Some(status),
    }
}

pub async fn render(
    config: &Config,
    store: &Store,
    bucket: &str,
    key: &str,
    presets: &[PresetJob],
) -> Result<RenderReport, HandlerError> {
    if bucket != config.originals_bucket {
        return Err(HandlerError::Refused(format!(
            "bucket {bucket:?} is not this CDN's originals bucket"
        )));
    }
    if !config.allows_key(key) {
        return Err(HandlerError::Refused(format!(
            "key {key:?} is outside every tenant prefix"
        )));
    }
    let Some(head) = store.head(bucket, key).await? else {
        return Err(HandlerError::NotFound(format!("s3://{bucket}/{key}")));
    };
    let source_etag = head.etag.unwrap_or_default();
    let mut results = Vec::new();
    let mut source: Option<Vec<u8>> = None;
    let mut stale_queries = Vec::new();
    for job in presets {
        let canonical = match Canonical::parse(&job.query) {
            Ok(c) => c,
            Err(e) => {
                results.push(failed(&job.name, None, e.to_string(), 400));
                continue;
            }
        };
        let Some(vkey) = variant_key(key, &canonical) else {
            // The empty query is the original itself: nothing to pre-compute.
            results.push(PresetResult {
                preset: job.name.clone(),
                variant_key: None,
                status: "exists",
                width: None,
                height: None,
                bytes: None,
                error: None,
                http_status: None,
            });
            continue;
        };
        if let Some(existing) = store.head(&config.variants_bucket, &vkey).await? {
            if existing.metadata.get(SOURCE_ETAG) == Some(&source_etag) {
                results.push(PresetResult {
                    preset: job.name.clone(),
                    variant_key: Some(vkey),
                    status: "exists",
                    width: None,
                    height: None,
                    bytes: Some(existing.size as usize),
                    error: None,
                    http_status: None,
                });
                continue;
            }
            stale_queries.push(canonical.to_string());
        }
        if head.size > config.limits.max_source_bytes as u64 {
            results.push(failed(
                &job.name,
                Some(vkey),
                format!(
                    "source is {} bytes, over the limit of {}",
                    head.size, config.limits.max_source_bytes
                ),
                413,
            ));
            continue;
        }
        if source.is_none() {
            source = store.get(bucket, key).await?;
        }
        let Some(input) = source.as_deref() else {
            return Err(HandlerError::NotFound(format!("s3://{bucket}/{key}")));
        };
        match transform(input, &canonical, &config.limits) {
            Ok(out) => {
                let (width, height, size) = (out.width, out.height, out.bytes.len());
                store
                    .put(
                        &config.variants_bucket,
                        &vkey,
                        out.bytes,
                        out.content_type,
                        &[
                            (SOURCE_ETAG, source_etag.as_str()),
                            ("cache-control", VARIANT_CACHE_CONTROL),
                        ],
                    )
                    .await?;
                results.push(PresetResult {
                    preset: job.name.clone(),
                    variant_key: Some(vkey),
                    status: "rendered",
                    width: Some(width),
                    height: Some(height),
                    bytes: Some(size),
                    error: None,
                    http_status: None,
                });
            }
            Err(e) => results.push(failed(
                &job.name,
                Some(vkey),
                e.to_string(),
                e.http_status(),
            )),
        }
    }
    if !stale_queries.is_empty() {
        queue_takedown(config, store, key, stale_queries).await?;
    }
    let count = |s: &str| results.iter().filter(|r| r.status == s).count();
    Ok(RenderReport {
        original: key.into(),
        rendered: count("rendered"),
        existing: count("exists"),
        failed: count("failed"),
        results,
    })
}
