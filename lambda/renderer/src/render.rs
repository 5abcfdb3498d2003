//! `render`: runs on every upload of an original. It pre-computes the claim's presets
//! into the variants bucket and, when the upload replaced an earlier version, makes sure
//! no old pixels survive: every variant rendered from another version (on-demand ones
//! included) is deleted, and the original is queued for invalidation.
//!
//! Idempotent: a variant already rendered from the same version of the original (its
//! `source-etag` metadata matches) is kept. A variant of an older version is rendered
//! again (presets) or deleted (the edge renders it again from the new bytes on its next
//! request), and the original is queued for invalidation so the CDN drops the old image.

use imagecdn_transform::transform;
use imagecdn_urlapi::Canonical;
use imagecdn_urlapi::layout::{RENDER_REQUEST_PREFIX, RenderRequest, variant_key};
use serde::{Deserialize, Serialize};

use crate::store::{Headers, Store};
use crate::takedown::{SOURCE_ETAG, queue_invalidation, stale_variants};
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
#[serde(rename_all = "camelCase")]
pub struct RenderReport {
    pub original: String,
    pub rendered: usize,
    pub existing: usize,
    pub failed: usize,
    /// The original was gone by the time the event was handled (a delete event follows).
    pub missing: bool,
    /// Variants of another version of the original, deleted.
    pub stale_deleted: usize,
    /// The original replaced an earlier version (or stale variants existed): queued for
    /// invalidation.
    pub invalidation_queued: bool,
    pub results: Vec<PresetResult>,
}

/// Variants change only through takedowns and overwrites, which invalidate them.
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
        return Ok(RenderReport {
            original: key.into(),
            rendered: 0,
            existing: 0,
            failed: 0,
            missing: true,
            stale_deleted: 0,
            invalidation_queued: false,
            results: Vec::new(),
        });
    };
    // Old pixels first: queue the invalidation, then delete every variant of another
    // version (a retry after a failure half-way finds the rest).
    let stale = stale_variants(config, store, key, head.etag.as_deref()).await?;
    let overwritten = store
        .has_other_versions(bucket, key, head.version_id.as_deref())
        .await?;
    let invalidation_queued = overwritten || !stale.is_empty();
    if invalidation_queued {
        let queries = stale.iter().map(|(_, q)| q.clone()).collect();
        queue_invalidation(config, store, key, queries).await?;
    }
    let stale_keys: Vec<String> = stale.into_iter().map(|(k, _)| k).collect();
    let stale_deleted = store
        .delete_all(&config.variants_bucket, &stale_keys)
        .await?;

    let results = render_jobs(config, store, bucket, key, &head, presets).await?;
    let count = |s: &str| results.iter().filter(|r| r.status == s).count();
    Ok(RenderReport {
        original: key.into(),
        rendered: count("rendered"),
        existing: count("exists"),
        failed: count("failed"),
        missing: false,
        stale_deleted,
        invalidation_queued,
        results,
    })
}

/// Renders each job's variant of the original `head` describes, unless it is already
/// stored from this version; the source is downloaded once, when first needed.
async fn render_jobs(
    config: &Config,
    store: &Store,
    bucket: &str,
    key: &str,
    head: &crate::store::Head,
    presets: &[PresetJob],
) -> Result<Vec<PresetResult>, HandlerError> {
    let source_etag = head.etag.clone().unwrap_or_default();
    let mut results = Vec::new();
    let mut source: Option<Vec<u8>> = None;
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
        if let Some(existing) = store.head(&config.variants_bucket, &vkey).await?
            && existing.metadata.get(SOURCE_ETAG) == Some(&source_etag)
        {
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
                let headers = Headers {
                    content_type: out.content_type,
                    cache_control: Some(VARIANT_CACHE_CONTROL),
                };
                store
                    .put(
                        &config.variants_bucket,
                        &vkey,
                        out.bytes,
                        headers,
                        &[(SOURCE_ETAG, source_etag.as_str())],
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
    Ok(results)
}

/// Renders the variants the edge asked for (oldest first), each from the original's
/// current version, and removes each request once handled (rendered, already there,
/// refused or failed for good); stops after `budget` so the invocation ends well within
/// its timeout, leaving the rest to the next window.
pub async fn render_requested(
    config: &Config,
    store: &Store,
    budget: std::time::Duration,
) -> Result<serde_json::Value, HandlerError> {
    let started = std::time::Instant::now();
    let keys = store
        .list(&config.variants_bucket, RENDER_REQUEST_PREFIX)
        .await?;
    let (mut rendered, mut failed, mut dropped, mut handled) = (0, 0, 0, 0);
    for request_key in &keys {
        if started.elapsed() > budget {
            break;
        }
        handled += 1;
        let Some(bytes) = store.get(&config.variants_bucket, request_key).await? else {
            continue;
        };
        let request: Option<RenderRequest> = serde_json::from_slice(&bytes).ok();
        let valid = request
            .filter(|r| config.allows_key(&r.original_key) && Canonical::parse(&r.query).is_ok());
        match valid {
            None => dropped += 1,
            Some(r) => match store
                .head(&config.originals_bucket, &r.original_key)
                .await?
            {
                None => dropped += 1,
                Some(head) => {
                    let job = PresetJob {
                        name: "requested".into(),
                        query: r.query,
                    };
                    let results = render_jobs(
                        config,
                        store,
                        &config.originals_bucket,
                        &r.original_key,
                        &head,
                        std::slice::from_ref(&job),
                    )
                    .await?;
                    match results.first().map(|r| r.status) {
                        Some("rendered") => rendered += 1,
                        Some("failed") => failed += 1,
                        _ => {}
                    }
                }
            },
        }
        store.delete(&config.variants_bucket, request_key).await?;
    }
    Ok(serde_json::json!({
        "rendered": rendered,
        "failed": failed,
        "dropped": dropped,
        "left": keys.len() - handled,
    }))
}
