//! `imagecdn-dev`: ImageCDN on a laptop. A claim is rendered by the function's own
//! library, its observed state synthesized until the graph is complete
//! ([`function_imagecdn::simulate`]), and the delivery path is built from the rendered
//! resources ([`model`]): CloudFront ([`cloudfront`]) in front of the shipped viewer
//! functions and Lambda@Edge handler ([`edge_host`]) and three S3 regions that can fail
//! ([`regions`]), served over HTTP with a control surface ([`server`]).

pub mod cloudfront;
pub mod edge_host;
pub mod model;
pub mod pipeline;
pub mod regions;
pub mod secrets;
pub mod server;
pub mod upload;
pub mod waf;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use function_imagecdn::render::{composite_from, read_yaml_stream};
use function_imagecdn::simulate::observe_until_complete;
use serde_json::Value;

use cloudfront::Cdn;
use cloudfront::signed::PublicKey;
use model::CdnModel;

/// The claim `serve` runs without one.
pub const EMBEDDED_CLAIM: &str = include_str!("../../examples/complete.yaml");
/// The throwaway Secret holding the embedded claim's signing public key.
pub const EMBEDDED_SECRETS: &str = include_str!("../example-keys/partners-cloudfront-key.yaml");
/// Its private half (throwaway, published), to print signed URLs that work.
pub const EMBEDDED_PRIVATE_KEY: &str = include_str!("../example-keys/partners-private-key.pem");

/// This crate's folder at build time (the repository's `imagecdn-dev/`).
pub fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// What `serve` needs.
pub struct ServeOptions {
    pub claim: Option<PathBuf>,
    pub originals: Option<PathBuf>,
    pub secrets: Option<PathBuf>,
    pub listen: SocketAddr,
    pub edge_zip: PathBuf,
    pub node_modules: PathBuf,
    pub moto_server: PathBuf,
    pub work_dir: PathBuf,
    /// Fires the scheduled flush this often instead of the claim's invalidation window.
    pub flush_every: Option<Duration>,
    /// Overrides the renderer's takedown settle delay (local use: tests).
    pub takedown_settle_seconds: Option<u64>,
    /// How long an invalidation reports InProgress.
    pub invalidation_time: Duration,
    /// Multiplies the state machine's retry waits (1.0 as in AWS).
    pub retry_delay_scale: f64,
}

/// The claim's complete observed graph.
pub fn render_graph(claim: Option<&Path>) -> Result<BTreeMap<String, Value>> {
    let doc: Value = match claim {
        Some(path) => {
            let docs = read_yaml_stream(path).map_err(|e| anyhow!("{e}"))?;
            let [doc] = docs.as_slice() else {
                bail!(
                    "{}: expected exactly one ImageCDN document, found {}",
                    path.display(),
                    docs.len()
                );
            };
            doc.clone()
        }
        None => serde_yaml_ng::from_str(EMBEDDED_CLAIM).context("the embedded example")?,
    };
    let composite = composite_from(&doc).map_err(|e| anyhow!("{e}"))?;
    observe_until_complete(&composite).map_err(|e| anyhow!("rendering the claim: {e}"))
}

/// The public keys the distribution's key groups use, from the Secrets given.
pub fn load_keys(
    model: &CdnModel,
    secrets: &secrets::Secrets,
) -> Result<BTreeMap<String, PublicKey>> {
    let mut keys = BTreeMap::new();
    for (id, r) in &model.public_keys {
        let pem = secrets.get(&r.namespace, &r.name, &r.key).ok_or_else(|| {
            anyhow!(
                "public key {id} reads Secret {}/{} key {:?}, which --secrets does not hold",
                r.namespace,
                r.name,
                r.key
            )
        })?;
        let key = PublicKey::from_pem(&pem)
            .map_err(|e| anyhow!("Secret {}/{} key {:?}: {e}", r.namespace, r.name, r.key))?;
        keys.insert(id.clone(), key);
    }
    Ok(keys)
}

/// A running local CDN.
pub struct Running {
    pub cdn: Arc<Cdn>,
    pub pipeline: Option<Arc<pipeline::PipelineRunner>>,
    pub addr: SocketAddr,
    /// The emulated CloudFront API (invalidations).
    pub cloudfront_api: SocketAddr,
    /// The originals uploaded at start.
    pub uploaded: Vec<String>,
}

impl Running {
    /// Stops the servers this process started.
    pub fn stop(&self) {
        self.cdn.regions.stop();
    }
}

/// Starts everything and serves until the process ends.
pub async fn start(opts: &ServeOptions, progress: &dyn Fn(&str)) -> Result<Running> {
    progress("rendering the claim and synthesizing its observed state");
    let graph = render_graph(opts.claim.as_deref())?;
    let model = CdnModel::from_resources(&graph)?;
    let secrets = match &opts.secrets {
        Some(dir) => secrets::Secrets::from_dir(dir)?,
        None if opts.claim.is_none() => secrets::Secrets::from_yaml(EMBEDDED_SECRETS)?,
        None => secrets::Secrets::default(),
    };
    let keys = load_keys(&model, &secrets)?;

    progress(&format!(
        "starting S3 in {}",
        model
            .regions
            .iter()
            .map(|r| r.region.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    ));
    let regions = regions::Regions::start(&model, &opts.moto_server).await?;

    progress("loading the Lambda@Edge package and the viewer functions in Node.js");
    let edge_dir = opts.work_dir.join("edge");
    std::fs::create_dir_all(&edge_dir)?;
    edge_host::unpack_edge_zip(&opts.edge_zip, &edge_dir)?;
    let host = edge_host::EdgeHost::start(
        &edge_dir,
        &opts.node_modules,
        &format!("http://{}", regions.router),
        &opts.work_dir,
    )
    .await?;

    let listener = tokio::net::TcpListener::bind(opts.listen)
        .await
        .with_context(|| format!("listening on {}", opts.listen))?;
    let addr = listener.local_addr()?;
    let cdn = Arc::new(Cdn::new(
        model,
        regions.clone(),
        host,
        keys,
        addr.to_string(),
        opts.invalidation_time,
    ));

    let api_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let cloudfront_api = api_listener.local_addr()?;
    let api = cloudfront::api::router(cdn.clone());
    tokio::spawn(async move {
        if let Err(e) = axum::serve(api_listener, api).await {
            tracing::error!("the CloudFront API server stopped: {e}");
        }
    });

    let pipeline = match &cdn.model.pipeline {
        Some(model) => {
            progress(
                "starting the pre-compute and takedown pipeline (EventBridge, Step Functions, renderer)",
            );
            let primary = cdn.model.regions[0].region.clone();
            let deps = pipeline::renderer_deps(
                model,
                &format!("http://{}", regions.router),
                &format!("http://{cloudfront_api}"),
                &primary,
                opts.takedown_settle_seconds,
            )
            .await?;
            let mut runner =
                pipeline::PipelineRunner::new(model.clone(), deps, cdn.clone(), primary)?;
            runner.delay_scale = opts.retry_delay_scale;
            let runner = Arc::new(runner);
            let weak = Arc::downgrade(&runner);
            regions.on_primary_write(Arc::new(move |w| {
                if let Some(r) = weak.upgrade() {
                    r.on_write(&w);
                }
            }));
            runner.start_schedules(opts.flush_every);
            Some(runner)
        }
        None => None,
    };

    let uploaded = match &opts.originals {
        Some(dir) => upload::upload_dir(&cdn, dir, progress).await?,
        None => Vec::new(),
    };
    let app = server::router(server::AppState {
        cdn: cdn.clone(),
        pipeline: pipeline.clone(),
        cloudfront_api,
        flush_every: opts.flush_every,
    });
    tokio::spawn(async move {
        if let Err(e) = axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        {
            tracing::error!("the CDN server stopped: {e}");
        }
    });
    Ok(Running {
        cdn,
        pipeline,
        addr,
        cloudfront_api,
        uploaded,
    })
}
