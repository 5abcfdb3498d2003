//! The HTTP side: the CDN on every path, and the control surface under `/_imagecdn/`
//! (stats, region outages, configuration) for people and tests.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::json;

use crate::cloudfront::{Cdn, ViewerRequest};
use crate::pipeline::PipelineRunner;
use crate::regions::Mode;

/// What the handlers share.
#[derive(Clone)]
pub struct AppState {
    pub cdn: Arc<Cdn>,
    pub pipeline: Option<Arc<PipelineRunner>>,
    pub cloudfront_api: SocketAddr,
    pub flush_every: Option<Duration>,
}

/// Lets tests and load generators speak for many viewers from one socket.
pub const VIEWER_IP_HEADER: &str = "x-imagecdn-dev-viewer-ip";

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/_imagecdn/stats", get(stats))
        .route("/_imagecdn/config", get(config))
        .route("/_imagecdn/executions", get(executions))
        .route("/_imagecdn/", get(page))
        .route("/_imagecdn/originals", get(originals))
        .route("/_imagecdn/regions/{region}/outage", post(outage))
        .route("/_imagecdn/regions/{region}/restore", post(restore))
        .fallback(cdn_request)
        .with_state(state)
}

async fn stats(State(state): State<AppState>) -> Response {
    let mut report = serde_json::to_value(state.cdn.report()).unwrap_or_default();
    report["invalidations"] = json!(state.cdn.invalidations.list().len());
    if let Some(p) = &state.pipeline {
        let load = |n: &std::sync::atomic::AtomicU64| n.load(std::sync::atomic::Ordering::Relaxed);
        report["executions_started"] = json!(load(&p.started));
        report["executions_running"] = json!(load(&p.started).saturating_sub(load(&p.finished)));
        report["executions_failed"] = json!(load(&p.failed));
    }
    Json(report).into_response()
}

/// The page that lists the originals and builds variant URLs with a live preview.
const PAGE: &str = include_str!("../js/page.html");

async fn page() -> Response {
    (
        [(axum::http::header::CONTENT_TYPE, "text/html; charset=utf-8")],
        PAGE,
    )
        .into_response()
}

async fn originals(State(state): State<AppState>) -> Response {
    let primary = state.cdn.regions.primary();
    match state.cdn.regions.list_keys(&primary.originals_bucket).await {
        Ok(keys) => Json(keys).into_response(),
        Err(e) => (
            StatusCode::BAD_GATEWAY,
            format!("listing the originals: {e:#}\n"),
        )
            .into_response(),
    }
}

async fn executions(State(state): State<AppState>) -> Response {
    Json(state.pipeline.map(|p| p.executions()).unwrap_or_default()).into_response()
}

async fn config(State(state): State<AppState>) -> Response {
    let cdn = &state.cdn;
    let m = &cdn.model;
    let regions: Vec<_> = cdn
        .regions
        .by_name
        .values()
        .map(|r| {
            json!({
                "region": r.name,
                "primary": r.primary,
                "s3_endpoint": r.url(),
                "originals_bucket": r.originals_bucket,
                "mode": r.mode(),
            })
        })
        .collect();
    let signed: Vec<_> = m
        .behaviors
        .iter()
        .filter(|b| !b.trusted_key_groups.is_empty())
        .map(|b| {
            let key_ids: Vec<&String> = b
                .trusted_key_groups
                .iter()
                .flat_map(|g| m.key_groups.get(g).into_iter().flatten())
                .collect();
            json!({"path_pattern": b.path_pattern, "key_ids": key_ids})
        })
        .collect();
    Json(json!({
        "cdn_url": format!("http://{}", cdn.public_host),
        "signed_behaviors": signed,
        "presets": m.presets,
        "distribution_id": m.distribution_id,
        "variants_bucket": m.variants_bucket,
        "tenant_prefixes": m.tenant_prefixes(),
        "regions": regions,
        "cloudfront_api": format!("http://{}", state.cloudfront_api),
        "invalidation_window_seconds": state.flush_every.or(m.invalidation_window).map(|d| d.as_secs()),
        "claim_invalidation_window_seconds": m.invalidation_window.map(|d| d.as_secs()),
    }))
    .into_response()
}

#[derive(Deserialize)]
struct OutageQuery {
    mode: Option<String>,
}

async fn outage(
    State(state): State<AppState>,
    Path(region): Path<String>,
    Query(q): Query<OutageQuery>,
) -> Response {
    let mode = match q.mode.as_deref().unwrap_or("refuse") {
        "refuse" => Mode::Refuse,
        "hang" => Mode::Hang,
        other => {
            return (
                StatusCode::BAD_REQUEST,
                format!("mode must be refuse or hang, not {other:?}\n"),
            )
                .into_response();
        }
    };
    set_mode(&state.cdn, &region, mode)
}

async fn restore(State(state): State<AppState>, Path(region): Path<String>) -> Response {
    set_mode(&state.cdn, &region, Mode::Up)
}

fn set_mode(cdn: &Cdn, region: &str, mode: Mode) -> Response {
    match cdn.regions.by_name.get(region) {
        Some(r) => {
            r.set_mode(mode);
            Json(json!({"region": region, "mode": mode})).into_response()
        }
        None => (
            StatusCode::NOT_FOUND,
            format!(
                "no region {region:?}: the claim's regions are {}\n",
                cdn.regions
                    .by_name
                    .keys()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )
            .into_response(),
    }
}

async fn cdn_request(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let client_ip = headers
        .get(VIEWER_IP_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(peer.ip());
    let request = ViewerRequest {
        method: method.as_str().to_string(),
        raw_path: uri.path().to_string(),
        raw_query: uri.query().unwrap_or("").to_string(),
        headers: headers
            .iter()
            .filter(|(n, _)| n.as_str() != VIEWER_IP_HEADER)
            .filter_map(|(n, v)| Some((n.as_str().to_string(), v.to_str().ok()?.to_string())))
            .collect(),
        client_ip,
    };
    let rsp = state.cdn.handle(request).await;
    let mut builder = Response::builder().status(rsp.status);
    for (name, value) in &rsp.headers {
        builder = builder.header(name, value);
    }
    builder
        .body(Body::from(rsp.body))
        .unwrap_or_else(|e| (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response())
}
