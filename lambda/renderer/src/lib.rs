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
/// Unknown fields are refused: an event can name an action, an object key and presets,
/// never a URL, host or endpoint (SSRF is impossible by construction).
#[derive(Clone, Debug, Deserialize)]
#[serde(tag = "action", rename_all = "lowercase", deny_unknown_fields)]
pub enum Event {
    Render {
        bucket: String,
        key: String,
        presets: Vec<PresetJob>,
    },
    Purge {
        key: String,
    },
    /// Render the variants the edge answered with a stand-in (`_render/` requests).
    Renders {},
    Flush {},
    Ack {
        markers: Vec<String>,
        #[serde(rename = "invalidationId")]
        invalidation_id: String,
    },
}

/// Why an invocation failed; [`HandlerError::error_type`] is the error name Step
/// Functions matches its `Retry` and `Catch` rules against.
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

/// How long one `renders` invocation keeps starting renders (the function's timeout is
/// 300 s; one render of the largest output takes well under a minute natively).
pub const RENDER_REQUESTS_BUDGET: std::time::Duration = std::time::Duration::from_secs(180);

/// The error name of a failure worth retrying (S3 or CloudFront timeouts, throttling,
/// 5xx): the state machine retries it with backoff.
pub const TRANSIENT_ERROR: &str = "ImageCDN.Transient";

impl HandlerError {
    /// The error name Step Functions sees (`errorType` of the Lambda error).
    pub fn error_type(&self) -> &'static str {
        match self {
            HandlerError::Store(e) if e.transient => TRANSIENT_ERROR,
            HandlerError::Upstream(_) => TRANSIENT_ERROR,
            HandlerError::Store(_) => "ImageCDN.StorageFailed",
            HandlerError::Refused(_) => "ImageCDN.Refused",
            HandlerError::NotFound(_) => "ImageCDN.NotFound",
            HandlerError::Corrupt(_) => "ImageCDN.Corrupt",
        }
    }
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
        // A hanging endpoint must fail an attempt (retried by the SDK, then by the
        // state machine as `ImageCDN.Transient`), never hold the invocation until the
        // Lambda timeout.
        let attempt = std::time::Duration::from_secs(config.s3_attempt_timeout_secs);
        let timeouts = aws_config::timeout::TimeoutConfig::builder()
            .connect_timeout(std::time::Duration::from_secs(3))
            .operation_attempt_timeout(attempt)
            .operation_timeout(attempt * 3)
            .build();
        let shared = aws_config::from_env().timeout_config(timeouts).load().await;
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
        Event::Renders {} => {
            render::render_requested(&deps.config, &deps.store, RENDER_REQUESTS_BUDGET).await
        }
        Event::Flush {} => takedown::flush(&deps.config, &deps.store, &deps.cloudfront).await,
        Event::Ack {
            markers,
            invalidation_id,
        } => takedown::ack(&deps.config, &deps.store, &markers, &invalidation_id).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_cannot_carry_urls_or_hosts() {
        let ok = serde_json::json!({"action": "purge", "key": "shop/a.jpg"});
        assert!(serde_json::from_value::<Event>(ok).is_ok());
        for extra in ["url", "host", "endpoint", "sourceUrl"] {
            let mut e = serde_json::json!({"action": "render", "bucket": "b", "key": "shop/a.jpg", "presets": []});
            e[extra] = serde_json::json!("http://169.254.169.254/latest/meta-data/");
            assert!(
                serde_json::from_value::<Event>(e).is_err(),
                "{extra} must be refused"
            );
        }
    }

    #[test]
    fn keys_outside_the_tenant_prefixes_are_refused() {
        let config = Config {
            originals_bucket: "o".into(),
            variants_bucket: "v".into(),
            distribution_id: None,
            tenant_prefixes: vec!["shop".into(), "partners/media".into()],
            limits: imagecdn_transform::Limits::default(),
            force_path_style: false,
            settle_secs: 0,
            s3_attempt_timeout_secs: 60,
        };
        for ok in ["shop/a.jpg", "partners/media/x/y.png"] {
            assert!(config.allows_key(ok), "{ok}");
        }
        for bad in [
            "shop",
            "shop/",
            "shopping/a.jpg",
            "partners/a.jpg",
            "shop/../blog/a.jpg",
            "shop//a.jpg",
            "/shop/a.jpg",
            "http://evil/shop/a.jpg",
        ] {
            assert!(!config.allows_key(bad), "{bad}");
        }
    }
}
