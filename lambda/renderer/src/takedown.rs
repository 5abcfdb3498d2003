//! Takedowns: `purge` deletes every variant of an original and queues it for
//! invalidation; `flush` plans one CloudFront invalidation from the queue within the
//! in-progress quotas; `ack` records the invalidation CloudFront created.
//!
//! The queue lives in the variants bucket under `_invalidations/`: one pending marker
//! per original (so repeated takedowns merge), and one in-flight marker per batch,
//! written before the batch is handed to CloudFront. Nothing is dropped: a batch whose
//! invalidation never got an ID is put back in the queue after [`ABANDONED_AFTER_SECS`].

use std::time::{SystemTime, UNIX_EPOCH};

use imagecdn_urlapi::invalidation::{
    Batch, CLOUDFRONT_QUOTAS, InProgress, Takedown, caller_reference, plan,
};
use imagecdn_urlapi::layout::{parse_variant_key, variant_prefix};
use imagecdn_urlapi::percent::encode_component;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::store::Store;
use crate::{Config, HandlerError};

pub const PENDING_PREFIX: &str = "_invalidations/pending/";
pub const IN_FLIGHT_PREFIX: &str = "_invalidations/inflight/";
/// Longer than the state machine's timeout: a batch still without an invalidation ID
/// by then was never submitted.
pub const ABANDONED_AFTER_SECS: u64 = 2 * 3600;

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
struct Pending {
    original_key: String,
    variant_queries: Vec<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
struct InFlight {
    caller_reference: String,
    invalidation_id: Option<String>,
    paths: usize,
    wildcards: usize,
    created: u64,
    takedowns: Vec<Pending>,
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

fn pending_key(original_key: &str) -> String {
    format!("{PENDING_PREFIX}{}.json", encode_component(original_key))
}

async fn read_json<T: for<'de> Deserialize<'de>>(
    store: &Store,
    bucket: &str,
    key: &str,
) -> Result<Option<T>, HandlerError> {
    match store.get(bucket, key).await? {
        None => Ok(None),
        Some(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| HandlerError::Corrupt(format!("s3://{bucket}/{key}: {e}"))),
    }
}

async fn write_json<T: Serialize>(
    store: &Store,
    bucket: &str,
    key: &str,
    value: &T,
) -> Result<(), HandlerError> {
    let body = serde_json::to_vec(value).map_err(|e| HandlerError::Corrupt(e.to_string()))?;
    Ok(store
        .put(bucket, key, body, "application/json", &[])
        .await?)
}

/// Adds (or merges into) the original's pending marker.
pub async fn queue_takedown(
    config: &Config,
    store: &Store,
    original_key: &str,
    queries: Vec<String>,
) -> Result<(), HandlerError> {
    let key = pending_key(original_key);
    let mut pending: Pending = read_json(store, &config.variants_bucket, &key)
        .await?
        .unwrap_or(Pending {
            original_key: original_key.into(),
            variant_queries: Vec::new(),
        });
    for q in queries {
        if !pending.variant_queries.contains(&q) {
            pending.variant_queries.push(q);
        }
    }
    pending.variant_queries.sort();
    write_json(store, &config.variants_bucket, &key, &pending).await
}

/// Deletes every variant of `original_key`. The pending marker is written first, so a
/// failure half-way still leaves the edge purge queued; a retry finds the rest.
pub async fn purge(
    config: &Config,
    store: &Store,
    original_key: &str,
) -> Result<Value, HandlerError> {
    if !config.allows_key(original_key) {
        return Err(HandlerError::Refused(format!(
            "key {original_key:?} is outside every tenant prefix"
        )));
    }
    let variants = store
        .list(&config.variants_bucket, &variant_prefix(original_key))
        .await?;
    let queries: Vec<String> = variants
        .iter()
        .filter_map(|k| parse_variant_key(k).map(|(_, q)| q))
        .collect();
    queue_takedown(config, store, original_key, queries).await?;
    let deleted = store.delete_all(&config.variants_bucket, &variants).await?;
    Ok(json!({"original": original_key, "deleted": deleted}))
}

/// Counts our invalidations still in progress, forgetting completed ones and putting
/// abandoned batches back in the queue.
async fn in_progress(
    config: &Config,
    store: &Store,
    cloudfront: &aws_sdk_cloudfront::Client,
) -> Result<InProgress, HandlerError> {
    let mut total = InProgress::default();
    for key in store
        .list(&config.variants_bucket, IN_FLIGHT_PREFIX)
        .await?
    {
        let Some(batch): Option<InFlight> = read_json(store, &config.variants_bucket, &key).await?
        else {
            continue;
        };
        let done = match &batch.invalidation_id {
            Some(id) => {
                let distribution = config.distribution_id.as_deref().ok_or_else(|| {
                    HandlerError::Refused("IMAGECDN_DISTRIBUTION_ID is not set".into())
                })?;
                let out = cloudfront
                    .get_invalidation()
                    .distribution_id(distribution)
                    .id(id)
                    .send()
                    .await
                    .map_err(|e| {
                        HandlerError::Upstream(format!("CloudFront GetInvalidation {id}: {e:?}"))
                    })?;
                out.invalidation().map(|i| i.status()) == Some("Completed")
            }
            None if now().saturating_sub(batch.created) > ABANDONED_AFTER_SECS => {
                for t in &batch.takedowns {
                    queue_takedown(config, store, &t.original_key, t.variant_queries.clone())
                        .await?;
                }
                true
            }
            None => false,
        };
        if done {
            store.delete(&config.variants_bucket, &key).await?;
        } else {
            total.paths += batch.paths;
            total.wildcards += batch.wildcards;
        }
    }
    Ok(total)
}

/// Plans this window's invalidation. The batched originals move from the queue into an
/// in-flight marker before the batch is returned to the state machine.
pub async fn flush(
    config: &Config,
    store: &Store,
    cloudfront: &aws_sdk_cloudfront::Client,
) -> Result<Value, HandlerError> {
    let busy = in_progress(config, store, cloudfront).await?;
    let mut markers = Vec::new();
    let mut pending = Vec::new();
    for key in store.list(&config.variants_bucket, PENDING_PREFIX).await? {
        if let Some(p) = read_json::<Pending>(store, &config.variants_bucket, &key).await? {
            pending.push(Takedown {
                original_key: p.original_key,
                variant_queries: p.variant_queries,
            });
            markers.push(key);
        }
    }
    let the_plan = plan(&pending, busy, CLOUDFRONT_QUOTAS);
    let Some(batch) = the_plan.batch else {
        return Ok(
            json!({"empty": true, "batch": null, "markers": [], "deferred": the_plan.deferred.len()}),
        );
    };
    let reference = caller_reference(&batch);
    let in_flight_key = format!("{IN_FLIGHT_PREFIX}{reference}.json");
    let takedowns: Vec<Pending> = pending
        .iter()
        .filter(|t| batch.originals.contains(&t.original_key))
        .map(|t| Pending {
            original_key: t.original_key.clone(),
            variant_queries: t.variant_queries.clone(),
        })
        .collect();
    let Batch {
        paths,
        wildcards,
        originals,
    } = batch;
    write_json(
        store,
        &config.variants_bucket,
        &in_flight_key,
        &InFlight {
            caller_reference: reference.clone(),
            invalidation_id: None,
            paths: paths.len(),
            wildcards,
            created: now(),
            takedowns,
        },
    )
    .await?;
    let batched: Vec<String> = originals.iter().map(|o| pending_key(o)).collect();
    let done: Vec<String> = markers
        .into_iter()
        .filter(|m| batched.contains(m))
        .collect();
    store.delete_all(&config.variants_bucket, &done).await?;
    Ok(json!({
        "empty": false,
        "batch": {"Paths": {"Quantity": paths.len(), "Items": paths}, "CallerReference": reference},
        "markers": [in_flight_key],
        "deferred": the_plan.deferred.len(),
    }))
}

/// Records the invalidation ID CloudFront returned for a batch.
pub async fn ack(
    config: &Config,
    store: &Store,
    markers: &[String],
    invalidation_id: &str,
) -> Result<Value, HandlerError> {
    for key in markers {
        if !key.starts_with(IN_FLIGHT_PREFIX) {
            return Err(HandlerError::Refused(format!(
                "{key:?} is not an in-flight marker"
            )));
        }
        let Some(mut batch): Option<InFlight> =
            read_json(store, &config.variants_bucket, key).await?
        else {
            return Err(HandlerError::NotFound(format!("in-flight marker {key}")));
        };
        batch.invalidation_id = Some(invalidation_id.to_string());
        write_json(store, &config.variants_bucket, key, &batch).await?;
    }
    Ok(json!({"acknowledged": markers.len()}))
}
