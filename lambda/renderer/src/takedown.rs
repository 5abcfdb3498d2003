//! Takedowns and stale variants: `purge` deletes the variants of a deleted original
//! and queues it for invalidation; [`sweep`] does the same for an overwritten one (only
//! the variants of older versions); `flush` plans one CloudFront invalidation from the
//! queue within the in-progress quotas; `ack` records the invalidation CloudFront
//! created.
//!
//! The queue lives in the variants bucket under `_invalidations/`:
//!
//! - one pending entry per queued takedown, under a key of its own that nothing else
//!   ever writes (`pending/<time>-<unique>.json`): queueing is a single PUT, never a
//!   read-modify-write, so concurrent executions cannot lose each other's entries, and
//!   `flush` deletes exactly the entries it read;
//! - one in-flight marker per batch, written before the batch is handed to CloudFront,
//!   named by the batch's caller reference, which is derived from the entries it holds:
//!   a retried flush of the same entries reuses it (CloudFront then returns the first
//!   invalidation), a new takedown of the same original is a new entry and gets a new
//!   one. A batch whose invalidation never got an ID is queued again after
//!   [`ABANDONED_AFTER_SECS`].
//!
//! Races with the edge: a transform that was in flight when an original was deleted or
//! overwritten may still store a variant of the old bytes after the purge, and its
//! response may reach CloudFront's cache. So `flush` takes an entry only once it is
//! [`Config::settle_secs`] old (longer than Lambda@Edge's 30 s limit: every such
//! transform has finished), sweeps the original's variants again (deleting what such a
//! transform stored, adding its query to the paths) and only then invalidates.

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use imagecdn_urlapi::invalidation::{
    CLOUDFRONT_QUOTAS, InProgress, Takedown, batch_bytes, caller_reference, plan,
};
use imagecdn_urlapi::layout::{variant_prefix, variant_query};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::store::{Headers, Store};
use crate::{Config, HandlerError};

pub const PENDING_PREFIX: &str = "_invalidations/pending/";
pub const IN_FLIGHT_PREFIX: &str = "_invalidations/inflight/";
/// Longer than the state machine's timeout: a batch still without an invalidation ID
/// by then was never submitted.
pub const ABANDONED_AFTER_SECS: u64 = 2 * 3600;
/// The metadata key holding the ETag of the original a variant was rendered from.
pub const SOURCE_ETAG: &str = "source-etag";

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
struct Pending {
    original_key: String,
    variant_queries: Vec<String>,
    /// Seconds since the epoch when the entry was queued.
    #[serde(default)]
    queued_at: u64,
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
    /// The queue entries this batch consumed (what its caller reference names).
    #[serde(default)]
    entries: Vec<String>,
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

/// A key no other entry has: the time (so listing is oldest first) and a digest of the
/// original, the nanoseconds and this process's sequence number.
fn new_pending_key(original_key: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static SEQUENCE: AtomicU64 = AtomicU64::new(0);
    let t = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let unique = imagecdn_urlapi::digest::sha256_hex(
        &[
            original_key.as_bytes(),
            &t.as_nanos().to_le_bytes(),
            &SEQUENCE.fetch_add(1, Ordering::Relaxed).to_le_bytes(),
            &std::process::id().to_le_bytes(),
        ],
        10,
    );
    format!("{PENDING_PREFIX}{:010}-{unique}.json", t.as_secs())
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
    let headers = Headers {
        content_type: "application/json",
        cache_control: None,
    };
    Ok(store.put(bucket, key, body, headers, &[]).await?)
}

/// Queues `original_key` for invalidation (with the queries of its variants known to
/// be cached): one new entry, never a rewrite of another.
pub async fn queue_invalidation(
    config: &Config,
    store: &Store,
    original_key: &str,
    variant_queries: Vec<String>,
) -> Result<String, HandlerError> {
    let key = new_pending_key(original_key);
    let mut variant_queries = variant_queries;
    variant_queries.sort();
    variant_queries.dedup();
    let entry = Pending {
        original_key: original_key.into(),
        variant_queries,
        queued_at: now(),
    };
    write_json(store, &config.variants_bucket, &key, &entry).await?;
    Ok(key)
}

/// The current ETag of an original in the primary originals bucket; `None` when it is
/// gone.
pub async fn current_etag(
    config: &Config,
    store: &Store,
    original_key: &str,
) -> Result<Option<String>, HandlerError> {
    Ok(store
        .head(&config.originals_bucket, original_key)
        .await?
        .and_then(|h| h.etag))
}

/// The stored variants of `original_key` (key and canonical query) not rendered from
/// its version `current`: all of them when it is gone, else those whose `source-etag`
/// differs.
pub async fn stale_variants(
    config: &Config,
    store: &Store,
    original_key: &str,
    current: Option<&str>,
) -> Result<Vec<(String, String)>, HandlerError> {
    let mut stale = Vec::new();
    for key in store
        .list(&config.variants_bucket, &variant_prefix(original_key))
        .await?
    {
        let Some(query) = variant_query(&key).map(str::to_string) else {
            continue;
        };
        let is_stale = match current {
            None => true,
            Some(etag) => match store.head(&config.variants_bucket, &key).await? {
                Some(v) => v.metadata.get(SOURCE_ETAG).map(String::as_str) != Some(etag),
                None => false,
            },
        };
        if is_stale {
            stale.push((key, query));
        }
    }
    Ok(stale)
}

/// Deletes the variants of a deleted (or overwritten) original that no longer match it,
/// and queues its invalidation first, so a failure half-way still leaves the edge purge
/// queued; a retry finds the rest.
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
    let current = current_etag(config, store, original_key).await?;
    let stale = stale_variants(config, store, original_key, current.as_deref()).await?;
    let queries: Vec<String> = stale.iter().map(|(_, q)| q.clone()).collect();
    // A deleted original may be cached itself (`/<key>`) even with no variants.
    let exists = current.is_some();
    let queued = if !exists || !queries.is_empty() {
        Some(queue_invalidation(config, store, original_key, queries).await?)
    } else {
        None
    };
    let keys: Vec<String> = stale.into_iter().map(|(k, _)| k).collect();
    let deleted = store.delete_all(&config.variants_bucket, &keys).await?;
    Ok(
        json!({"original": original_key, "deleted": deleted, "originalExists": exists, "queued": queued}),
    )
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
                    queue_invalidation(config, store, &t.original_key, t.variant_queries.clone())
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

/// Plans this window's invalidation from the settled entries. The batched entries move
/// from the queue into an in-flight marker before the batch is returned to the state
/// machine.
pub async fn flush(
    config: &Config,
    store: &Store,
    cloudfront: &aws_sdk_cloudfront::Client,
) -> Result<Value, HandlerError> {
    let busy = in_progress(config, store, cloudfront).await?;
    let settled_before = now().saturating_sub(config.settle_secs);
    // Entries by original, oldest original first (keys sort by queue time).
    let mut by_original: BTreeMap<String, (Vec<String>, Pending)> = BTreeMap::new();
    let mut order: Vec<String> = Vec::new();
    let mut waiting = 0;
    for key in store.list(&config.variants_bucket, PENDING_PREFIX).await? {
        let Some(p) = read_json::<Pending>(store, &config.variants_bucket, &key).await? else {
            continue;
        };
        if p.queued_at > settled_before {
            waiting += 1;
            continue;
        }
        match by_original.get_mut(&p.original_key) {
            Some((entries, merged)) => {
                entries.push(key);
                merged.variant_queries.extend(p.variant_queries);
            }
            None => {
                order.push(p.original_key.clone());
                by_original.insert(p.original_key.clone(), (vec![key], p));
            }
        }
    }
    // Whatever an edge transform stored after the purge goes too, and its query joins
    // the paths (its response may be cached).
    for original in &order {
        let current = current_etag(config, store, original).await?;
        let stale = stale_variants(config, store, original, current.as_deref()).await?;
        let (_, merged) = by_original.get_mut(original).expect("grouped above");
        let keys: Vec<String> = stale.iter().map(|(k, _)| k.clone()).collect();
        merged
            .variant_queries
            .extend(stale.into_iter().map(|(_, q)| q));
        merged.variant_queries.sort();
        merged.variant_queries.dedup();
        store.delete_all(&config.variants_bucket, &keys).await?;
    }
    let pending: Vec<Takedown> = order
        .iter()
        .map(|o| {
            let p = &by_original[o].1;
            Takedown {
                original_key: p.original_key.clone(),
                variant_queries: p.variant_queries.clone(),
            }
        })
        .collect();
    let the_plan = plan(&pending, busy, CLOUDFRONT_QUOTAS);
    let Some(batch) = the_plan.batch else {
        return Ok(json!({
            "empty": true, "batch": null, "markers": [],
            "deferred": the_plan.deferred.len(), "waiting": waiting,
        }));
    };
    let entries: Vec<String> = batch
        .originals
        .iter()
        .flat_map(|o| by_original[o].0.clone())
        .collect();
    let reference = caller_reference(&entries);
    let in_flight_key = format!("{IN_FLIGHT_PREFIX}{reference}.json");
    let takedowns: Vec<Pending> = batch
        .originals
        .iter()
        .map(|o| by_original[o].1.clone())
        .collect();
    write_json(
        store,
        &config.variants_bucket,
        &in_flight_key,
        &InFlight {
            caller_reference: reference.clone(),
            invalidation_id: None,
            paths: batch.paths.len(),
            wildcards: batch.wildcards,
            created: now(),
            takedowns,
            entries: entries.clone(),
        },
    )
    .await?;
    store.delete_all(&config.variants_bucket, &entries).await?;
    debug_assert!(batch_bytes(&batch.paths) <= CLOUDFRONT_QUOTAS.max_batch_bytes);
    Ok(json!({
        "empty": false,
        "batch": {"Paths": {"Quantity": batch.paths.len(), "Items": batch.paths}, "CallerReference": reference},
        "markers": [in_flight_key],
        "entries": entries.len(),
        "deferred": the_plan.deferred.len(),
        "waiting": waiting,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pending_keys_are_unique_and_sort_by_time() {
        let a = new_pending_key("shop/a.jpg");
        let b = new_pending_key("shop/a.jpg");
        assert_ne!(a, b, "two takedowns of one original are two entries");
        assert!(a.starts_with(PENDING_PREFIX) && a.ends_with(".json"));
        let time = |k: &str| k[PENDING_PREFIX.len()..PENDING_PREFIX.len() + 10].to_string();
        assert!(time(&a) <= time(&b));
    }
}
