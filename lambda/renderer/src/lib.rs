//! ImageCDN's regional renderer: a native Lambda (`provided.al2023`) that Step
//! Functions invokes to pre-compute presets (`render`), purge the variants of a
//! taken-down original (`purge`), and batch edge invalidations (`flush`, `ack`).
//!
//! It reads and writes only the claim's own buckets, named in its environment, by
//! keys checked against the tenant prefixes: no URL or host ever comes from an event.

pub mod config;
pub mod render;
pub mod store;
pub mod takedown;

pub use config::Config;
use serde::Deserialize;
use serde_json::Value;

use crate::render::PresetJob;
use crate::store::{Store, StoreError};

/// One invocation's input, as the state machine sends it.
#[derive(Clone, Debug, Deserialize)]
#[serde(tag = "action", rename_all = "lowercase")]
pub enum Event {
    Render {
        bucket: String,
        key: String,
        presets: Vec<PresetJob>,
    },
    Purge {
        key: String,
    },
    Flush {},
    Ack {
        markers: Vec<String>,
        #[serde(rename = "invalidationId")]
        invalidation_id: String,
    },
}

/// Why an invocation failed (the error type names the class Step Functions sees).
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    #[error("refused: {0}")]
    Refused(String),
    #[error("not found: {0}")]
    NotFound(String),
    #[error("corrupt queue entry: {0}")]
    Corrupt(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("upstream: {0}")]
    Upstream(String),
}

/// The clients an invocation uses.
pub struct Deps {
    pub config: Config,
    pub store: Store,
    pub cloudfront: aws_sdk_cloudfront::Client,
}

impl Deps {
    /// Clients from the standard AWS configuration (`AWS_ENDPOINT_URL` and friends
    /// included, which is how tests point them at a local S3 server).
    pub async fn from_env(config: Config) -> Deps {
        let shared = aws_config::load_from_env().await;
        let s3_config = aws_sdk_s3::config::Builder::from(&shared)
            .force_path_style(config.force_path_style)
            .build();
        Deps {
            store: Store::new(aws_sdk_s3::Client::from_conf(s3_config)),
            cloudfront: aws_sdk_cloudfront::Client::new(&shared),
            config,
        }
    }
}

/// Handles one event.
pub async fn handle(deps: &Deps, event: Event) -> Result<Value, HandlerError> {
    match event {
        Event::Render {
            bucket,
            key,
            presets,
        } => {
            let report = render::render(&deps.config, &deps.store, &bucket, &key, &presets).await?;
            serde_json::to_value(report).map_err(|e| HandlerError::Corrupt(e.to_string()))
        }
        Event::Purge { key } => takedown::purge(&deps.config, &deps.store, &key).await,
        Event::Flush {} => takedown::flush(&deps.config, &deps.store, &deps.cloudfront).await,
        Event::Ack {
            markers,
            invalidation_id,
        } => takedown::ack(&deps.config, &deps.store, &markers, &invalidation_id).await,
    }
}
