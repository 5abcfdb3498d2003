//! Three AWS regions on one machine: each region's S3 is its own `moto_server` process
//! (moto: the S3 implementation the whole test suite already verifies our code against,
//! with versioning, user metadata and ETags), reached through a *gate* that can fail the
//! region (`refuse`: the port stops accepting connections; `hang`: requests are read and
//! never answered). A *router* plays S3's global DNS for the Lambda@Edge handler: it
//! sends each path-style request to its bucket's region gate, so a failed region fails
//! for the handler as it would in AWS. The primary gate also plays S3 replication: an
//! object written to (or deleted from) the primary originals bucket is copied to the
//! replicas as the rendered replication rules say.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde::Serialize;
use tokio::net::TcpListener;
use tokio::process::{Child, Command};
use tokio::sync::watch;

use crate::model::{CdnModel, ReplicationRule};

/// How a region's gate treats connections.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Up,
    /// Connections are refused (nothing listens on the port).
    Refuse,
    /// Requests are accepted and never answered.
    Hang,
}

pub type HttpClient = Client<HttpConnector, Full<Bytes>>;

pub fn http_client() -> HttpClient {
    let mut connector = HttpConnector::new();
    connector.set_connect_timeout(Some(Duration::from_secs(5)));
    Client::builder(TokioExecutor::new())
        .pool_idle_timeout(Duration::from_secs(5))
        .build(connector)
}

/// What the emulator's own S3 requests carry (CloudFront's origin access control,
/// replication, uploads): a SigV4-shaped `Authorization` header. moto treats a request
/// without one as anonymous (403 on private buckets) and does not check signatures.
pub const SIGNED_BY_EMULATOR: &str = "AWS4-HMAC-SHA256 Credential=imagecdn-dev/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=0";

/// A free port on 127.0.0.1 (bound, then released for the child to take).
pub fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// One region: its moto server, its gate and what went through it.
pub struct Region {
    pub name: String,
    pub originals_bucket: String,
    pub primary: bool,
    /// The gate's address: this region's S3 endpoint.
    pub endpoint: SocketAddr,
    mode: watch::Sender<Mode>,
    pub requests: AtomicU64,
    moto: std::sync::Mutex<Option<Child>>,
}

impl Region {
    pub fn mode(&self) -> Mode {
        *self.mode.borrow()
    }
    pub fn set_mode(&self, mode: Mode) {
        self.mode.send_replace(mode);
    }
    pub fn url(&self) -> String {
        format!("http://{}", self.endpoint)
    }
    /// Stops the region's moto server (at shutdown).
    pub fn stop(&self) {
        if let Some(mut child) = self.moto.lock().expect("moto lock").take() {
            let _ = child.start_kill();
        }
    }
}

/// All regions, by name, and the router in front of them.
pub struct Regions {
    pub by_name: BTreeMap<String, Arc<Region>>,
    /// The router's address (`AWS_ENDPOINT_URL_S3` of the edge handler).
    pub router: SocketAddr,
    /// Bucket -> region.
    pub bucket_region: BTreeMap<String, String>,
    pub client: HttpClient,
    /// Who hears of successful object writes through the primary region's gate (S3's
    /// event notifications), besides replication.
    listeners: Arc<std::sync::RwLock<Vec<WriteHook>>>,
}

/// Finds `moto_server`: `IMAGECDN_MOTO_SERVER`, then PATH.
pub fn find_moto(explicit: Option<&Path>) -> Result<PathBuf> {
    if let Some(p) = explicit {
        return Ok(p.to_path_buf());
    }
    if let Ok(p) = std::env::var("IMAGECDN_MOTO_SERVER") {
        return Ok(p.into());
    }
    for dir in std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()) {
        let candidate = dir.join("moto_server");
        if candidate.is_file() {
            return Ok(candidate);
        }
    }
    bail!(
        "moto_server not found: `pip install 'moto[server]'`, or pass --moto-server / set IMAGECDN_MOTO_SERVER"
    )
}

async fn wait_for_port(port: u16, child: &mut Child, what: &str) -> Result<()> {
    for _ in 0..300 {
        if let Some(status) = child.try_wait()? {
            bail!("{what} exited at start with {status}");
        }
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bail!("{what} did not accept connections on port {port} within 30 s")
}

/// Starts moto's server without its model-instance registry.
///
/// moto (5.2.x) records every model object it ever constructs in `instances_tracked`
/// (for its dashboard, which we do not use), and `ListObjectVersions` deep-copies every
/// version of every key in the bucket on each call: the renderer's overwrite check
/// (one such call per pre-compute) kept a full copy of the originals bucket alive per
/// call, 60 MB a call with 1,000 small originals, until the machine ran out of memory.
/// S3 semantics are untouched: only the registry is switched off.
const MOTO_LAUNCHER: &str = "\
import sys
from moto.core import common_models
common_models.BaseModel.__new__ = lambda cls, *args, **kwargs: object.__new__(cls)
from moto.server import main
sys.argv[0] = 'moto_server'
sys.exit(main())
";

/// The Python interpreter of a `moto_server` console script (its `#!` line), so the
/// launcher runs with the same installation; `None` for anything else (a wrapper
/// script), which is started as it is.
fn python_of(moto: &Path) -> Option<PathBuf> {
    let head = std::fs::read(moto).ok()?;
    let first = head.split(|b| *b == b'\n').next()?;
    let line = std::str::from_utf8(first).ok()?.strip_prefix("#!")?.trim();
    let interpreter = line.split_whitespace().next()?;
    let name = Path::new(interpreter).file_name()?.to_str()?;
    name.starts_with("python")
        .then(|| PathBuf::from(interpreter))
}

async fn start_moto(moto: &Path, region: &str) -> Result<(Child, u16)> {
    let port = free_port()?;
    let mut command = match python_of(moto) {
        Some(python) => {
            let mut c = Command::new(python);
            c.args(["-c", MOTO_LAUNCHER]);
            c
        }
        None => Command::new(moto),
    };
    let mut child = command
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("starting {} for {region}", moto.display()))?;
    wait_for_port(port, &mut child, &format!("moto_server for {region}")).await?;
    Ok((child, port))
}

/// Forwards a request to `upstream` (host:port), path and query unchanged.
pub async fn forward(
    client: &HttpClient,
    upstream: &str,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>> {
    let (parts, body) = req.into_parts();
    let body = body.collect().await?.to_bytes();
    let path = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    let mut out = Request::builder()
        .method(parts.method)
        .uri(format!("http://{upstream}{path}"));
    for (name, value) in parts.headers.iter() {
        if name != hyper::header::HOST {
            out = out.header(name, value);
        }
    }
    out = out
        .header(hyper::header::HOST, upstream)
        .header(hyper::header::AUTHORIZATION, SIGNED_BY_EMULATOR);
    let rsp = client.request(out.body(Full::new(body))?).await?;
    let (parts, body) = rsp.into_parts();
    let body = body.collect().await?.to_bytes();
    Ok(Response::from_parts(parts, Full::new(body)))
}

/// What a successful write through the primary gate did to an originals object.
#[derive(Clone, Debug, PartialEq)]
pub enum Write {
    Put { bucket: String, key: String },
    Delete { bucket: String, key: String },
}

/// Path-style `/<bucket>/<key>` of a request, key percent-decoded.
pub fn bucket_and_key(path: &str) -> Option<(String, String)> {
    let rest = path.strip_prefix('/')?;
    let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
    Some((bucket.to_string(), imagecdn_urlapi::percent::decode(key)?))
}

/// The object write a request made, if it was one (multi-object deletes aside).
fn write_of(method: &hyper::Method, path: &str, query: Option<&str>) -> Option<Write> {
    let (bucket, key) = bucket_and_key(path)?;
    if key.is_empty() {
        return None;
    }
    let sub = query.unwrap_or("");
    match *method {
        hyper::Method::PUT
            if !sub.contains("partNumber") && !sub.contains("tagging") && !sub.contains("acl") =>
        {
            Some(Write::Put { bucket, key })
        }
        hyper::Method::POST if sub.contains("uploadId") => Some(Write::Put { bucket, key }),
        hyper::Method::DELETE if !sub.contains("versionId") && !sub.contains("uploadId") => {
            Some(Write::Delete { bucket, key })
        }
        _ => None,
    }
}

pub type WriteHook = Arc<dyn Fn(Write) + Send + Sync>;

async fn serve_gate(
    region: Arc<Region>,
    mut listener: Option<TcpListener>,
    upstream: String,
    client: HttpClient,
    hook: Option<WriteHook>,
) {
    let port = region.endpoint.port();
    let mut mode_rx = region.mode.subscribe();
    loop {
        let mode = *mode_rx.borrow_and_update();
        if mode == Mode::Refuse {
            listener = None;
            let _ = mode_rx.changed().await;
            continue;
        }
        let l = match &listener {
            Some(l) => l,
            None => {
                match TcpListener::bind(("127.0.0.1", port)).await {
                    Ok(l) => listener = Some(l),
                    Err(e) => {
                        tracing::warn!("gate {}: rebinding {port}: {e}", region.name);
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                }
                continue;
            }
        };
        tokio::select! {
            _ = mode_rx.changed() => continue,
            accepted = l.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let region = region.clone();
                let upstream = upstream.clone();
                let client = client.clone();
                let hook = hook.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                        let region = region.clone();
                        let upstream = upstream.clone();
                        let client = client.clone();
                        let hook = hook.clone();
                        async move { gate_request(region, &upstream, &client, hook, req).await }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        }
    }
}

async fn gate_request(
    region: Arc<Region>,
    upstream: &str,
    client: &HttpClient,
    hook: Option<WriteHook>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, std::io::Error> {
    region.requests.fetch_add(1, Ordering::Relaxed);
    match region.mode() {
        Mode::Up => {}
        // A connection that was open when the region failed: it dies too.
        Mode::Refuse => return Err(std::io::Error::other("region refused")),
        Mode::Hang => std::future::pending::<()>().await,
    }
    let write = write_of(req.method(), req.uri().path(), req.uri().query());
    let rsp = forward(client, upstream, req)
        .await
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    if let (Some(write), Some(hook)) = (write, hook)
        && rsp.status().is_success()
    {
        hook(write);
    }
    Ok(rsp)
}

async fn router_request(
    regions: Arc<RouterTable>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let bucket = bucket_and_key(req.uri().path())
        .map(|(b, _)| b)
        .unwrap_or_default();
    let Some(gate) = regions.gates.get(&bucket) else {
        let body =
            format!("<Error><Code>NoSuchBucket</Code><BucketName>{bucket}</BucketName></Error>");
        return Ok(Response::builder()
            .status(StatusCode::NOT_FOUND)
            .body(Full::new(Bytes::from(body)))
            .expect("static response"));
    };
    match forward(&regions.client, &gate.to_string(), req).await {
        Ok(rsp) => Ok(rsp),
        // The region's gate refused: as a client of S3 in that region would see it.
        Err(e) => Ok(Response::builder()
            .status(StatusCode::BAD_GATEWAY)
            .header("x-imagecdn-dev", format!("region unreachable: {e}"))
            .body(Full::new(Bytes::new()))
            .expect("static response")),
    }
}

struct RouterTable {
    gates: BTreeMap<String, SocketAddr>,
    client: HttpClient,
}

impl Regions {
    /// Starts a moto server and a gate per region, creates the buckets as the claim
    /// does (originals versioned), and the router.
    pub async fn start(model: &CdnModel, moto: &Path) -> Result<Arc<Regions>> {
        let client = http_client();
        let mut by_name = BTreeMap::new();
        let mut upstreams = BTreeMap::new();
        let mut bucket_region = BTreeMap::new();
        for r in &model.regions {
            let (child, moto_port) = start_moto(moto, &r.region).await?;
            let listener = TcpListener::bind("127.0.0.1:0").await?;
            let endpoint = listener.local_addr()?;
            let region = Arc::new(Region {
                name: r.region.clone(),
                originals_bucket: r.originals_bucket.clone(),
                primary: r.primary,
                endpoint,
                mode: watch::Sender::new(Mode::Up),
                requests: AtomicU64::new(0),
                moto: std::sync::Mutex::new(Some(child)),
            });
            let upstream = format!("127.0.0.1:{moto_port}");
            create_bucket(&client, &upstream, &r.originals_bucket, true).await?;
            bucket_region.insert(r.originals_bucket.clone(), r.region.clone());
            if r.primary {
                create_bucket(&client, &upstream, &model.variants_bucket, false).await?;
                bucket_region.insert(model.variants_bucket.clone(), r.region.clone());
            }
            upstreams.insert(r.region.clone(), (upstream, listener));
            by_name.insert(r.region.clone(), region);
        }
        // Replication: from the primary's moto to each destination's, after the write.
        let replicator = Arc::new(Replicator {
            client: client.clone(),
            source_bucket: model.regions[0].originals_bucket.clone(),
            source: upstreams[&model.regions[0].region].0.clone(),
            rules: model
                .replication
                .iter()
                .filter_map(|rule| {
                    let region = bucket_region.get(&rule.destination_bucket)?;
                    Some((rule.clone(), upstreams[region].0.clone()))
                })
                .collect(),
        });
        let listeners: Arc<std::sync::RwLock<Vec<WriteHook>>> = Arc::default();
        for (name, (upstream, listener)) in upstreams {
            let region = by_name[&name].clone();
            let hook: Option<WriteHook> = region.primary.then(|| {
                let replicator = replicator.clone();
                let listeners = listeners.clone();
                Arc::new(move |w: Write| {
                    for listener in listeners.read().expect("listeners lock").iter() {
                        listener(w.clone());
                    }
                    let replicator = replicator.clone();
                    tokio::spawn(async move { replicator.replicate(w).await });
                }) as WriteHook
            });
            tokio::spawn(serve_gate(
                region,
                Some(listener),
                upstream,
                client.clone(),
                hook,
            ));
        }
        let table = Arc::new(RouterTable {
            gates: bucket_region
                .iter()
                .map(|(b, r)| (b.clone(), by_name[r].endpoint))
                .collect(),
            client: client.clone(),
        });
        let router_listener = TcpListener::bind("127.0.0.1:0").await?;
        let router = router_listener.local_addr()?;
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = router_listener.accept().await else {
                    continue;
                };
                let table = table.clone();
                tokio::spawn(async move {
                    let service =
                        hyper::service::service_fn(move |req| router_request(table.clone(), req));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(Arc::new(Regions {
            by_name,
            router,
            bucket_region,
            client,
            listeners,
        }))
    }

    /// Hears every successful object write through the primary region.
    pub fn on_primary_write(&self, hook: WriteHook) {
        self.listeners.write().expect("listeners lock").push(hook);
    }

    /// Every key of `bucket` (ListObjectsV2, all pages), through its region's gate.
    pub async fn list_keys(&self, bucket: &str) -> Result<Vec<String>> {
        let region = self
            .gate_for_bucket(bucket)
            .ok_or_else(|| anyhow::anyhow!("no region holds {bucket}"))?;
        let mut keys = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut url = format!("{}/{bucket}?list-type=2", region.url());
            if let Some(t) = &token {
                url.push_str(&format!(
                    "&continuation-token={}",
                    imagecdn_urlapi::percent::encode_component(t)
                ));
            }
            let req = Request::get(url)
                .header(hyper::header::AUTHORIZATION, SIGNED_BY_EMULATOR)
                .body(Full::new(Bytes::new()))?;
            let rsp = self.client.request(req).await?;
            if !rsp.status().is_success() {
                bail!("listing {bucket}: {}", rsp.status());
            }
            let body = rsp.into_body().collect().await?.to_bytes();
            let (page, next) = parse_list(&body)?;
            keys.extend(page);
            match next {
                Some(t) => token = Some(t),
                None => return Ok(keys),
            }
        }
    }

    /// Stops every moto server.
    pub fn stop(&self) {
        for region in self.by_name.values() {
            region.stop();
        }
    }

    pub fn primary(&self) -> &Arc<Region> {
        self.by_name
            .values()
            .find(|r| r.primary)
            .expect("a primary region")
    }

    /// The gate of the region holding `bucket`.
    pub fn gate_for_bucket(&self, bucket: &str) -> Option<&Arc<Region>> {
        self.by_name.get(self.bucket_region.get(bucket)?)
    }
}

/// Keys and the continuation token of a ListObjectsV2 page.
fn parse_list(body: &[u8]) -> Result<(Vec<String>, Option<String>)> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_reader(body);
    let (mut keys, mut next, mut current, mut text) =
        (Vec::new(), None, String::new(), String::new());
    loop {
        match reader.read_event()? {
            Event::Start(e) => {
                current = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                text.clear();
            }
            Event::Text(t) => text.push_str(&t.decode()?),
            Event::GeneralRef(r) => {
                let name = r.decode()?;
                match r.resolve_char_ref()? {
                    Some(c) => text.push(c),
                    None => text
                        .push_str(quick_xml::escape::resolve_xml_entity(&name).unwrap_or_default()),
                }
            }
            Event::End(_) => {
                match current.as_str() {
                    "Key" => keys.push(std::mem::take(&mut text)),
                    "NextContinuationToken" => next = Some(std::mem::take(&mut text)),
                    _ => {}
                }
                current.clear();
            }
            Event::Eof => return Ok((keys, next)),
            _ => {}
        }
    }
}

async fn create_bucket(
    client: &HttpClient,
    upstream: &str,
    bucket: &str,
    versioned: bool,
) -> Result<()> {
    let send = |method: hyper::Method, path: String, body: &'static str| {
        let req = Request::builder()
            .method(method)
            .uri(format!("http://{upstream}{path}"))
            .header(hyper::header::HOST, upstream)
            .header(hyper::header::AUTHORIZATION, SIGNED_BY_EMULATOR)
            .body(Full::new(Bytes::from_static(body.as_bytes())))
            .expect("valid request");
        client.request(req)
    };
    let rsp = send(hyper::Method::PUT, format!("/{bucket}"), "").await?;
    if !rsp.status().is_success() {
        bail!("creating bucket {bucket}: {}", rsp.status());
    }
    if versioned {
        let body = "<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>";
        let rsp = send(hyper::Method::PUT, format!("/{bucket}?versioning"), body).await?;
        if !rsp.status().is_success() {
            bail!("enabling versioning on {bucket}: {}", rsp.status());
        }
    }
    Ok(())
}

struct Replicator {
    client: HttpClient,
    source_bucket: String,
    source: String,
    rules: Vec<(ReplicationRule, String)>,
}

impl Replicator {
    /// Copies one write to every matching destination, as S3 replication does
    /// (asynchronously, after the write succeeded; delete markers when the rule says).
    async fn replicate(&self, write: Write) {
        let (bucket, key, delete) = match &write {
            Write::Put { bucket, key } => (bucket, key, false),
            Write::Delete { bucket, key } => (bucket, key, true),
        };
        tracing::debug!("replicating {write:?} to {} destinations", self.rules.len());
        if *bucket != self.source_bucket {
            return;
        }
        let path = format!(
            "/{bucket}/{}",
            imagecdn_urlapi::percent::encode_component(key).replace("%2F", "/")
        );
        let object = if delete {
            None
        } else {
            let req = Request::get(format!("http://{}{path}", self.source))
                .header(hyper::header::HOST, &self.source)
                .header(hyper::header::AUTHORIZATION, SIGNED_BY_EMULATOR)
                .body(Full::new(Bytes::new()))
                .expect("valid request");
            match self.client.request(req).await {
                Ok(rsp) if rsp.status().is_success() => {
                    let headers = rsp.headers().clone();
                    match rsp.into_body().collect().await {
                        Ok(b) => Some((headers, b.to_bytes())),
                        Err(_) => return,
                    }
                }
                other => {
                    tracing::warn!("replicating {key}: reading it back failed: {other:?}");
                    return;
                }
            }
        };
        for (rule, upstream) in &self.rules {
            if !key.starts_with(&rule.prefix) || (delete && !rule.replicate_delete_markers) {
                continue;
            }
            let dest = format!(
                "/{}/{}",
                rule.destination_bucket,
                imagecdn_urlapi::percent::encode_component(key).replace("%2F", "/")
            );
            let mut req = Request::builder()
                .method(if delete {
                    hyper::Method::DELETE
                } else {
                    hyper::Method::PUT
                })
                .uri(format!("http://{upstream}{dest}"))
                .header(hyper::header::HOST, upstream)
                .header(hyper::header::AUTHORIZATION, SIGNED_BY_EMULATOR);
            let body = match &object {
                Some((headers, bytes)) => {
                    for (name, value) in headers {
                        let n = name.as_str();
                        if n == "content-type"
                            || n == "cache-control"
                            || n.starts_with("x-amz-meta-")
                        {
                            req = req.header(name, value);
                        }
                    }
                    bytes.clone()
                }
                None => Bytes::new(),
            };
            if let Err(e) = self
                .client
                .request(req.body(Full::new(body)).expect("valid request"))
                .await
            {
                tracing::warn!("replicating {key} to {}: {e}", rule.destination_bucket);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moto_console_scripts_are_started_by_their_interpreter() {
        let dir =
            std::env::temp_dir().join(format!("imagecdn-dev-python-of-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let script = dir.join("moto_server");
        std::fs::write(&script, "#!/opt/venv/bin/python3.11\nimport moto\n").unwrap();
        assert_eq!(
            python_of(&script),
            Some(PathBuf::from("/opt/venv/bin/python3.11"))
        );
        std::fs::write(&script, "#!/bin/bash\nexec moto_server \"$@\"\n").unwrap();
        assert_eq!(python_of(&script), None, "a wrapper script runs as it is");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn object_writes_are_recognized() {
        let put = hyper::Method::PUT;
        assert_eq!(
            write_of(&put, "/b/shop/a%20b.jpg", None),
            Some(Write::Put {
                bucket: "b".into(),
                key: "shop/a b.jpg".into()
            })
        );
        assert_eq!(write_of(&put, "/b", None), None, "bucket creation");
        assert_eq!(
            write_of(&put, "/b/k", Some("partNumber=1&uploadId=x")),
            None
        );
        assert_eq!(
            write_of(&hyper::Method::POST, "/b/k", Some("uploadId=x")),
            Some(Write::Put {
                bucket: "b".into(),
                key: "k".into()
            })
        );
        assert_eq!(
            write_of(&hyper::Method::DELETE, "/b/k", None),
            Some(Write::Delete {
                bucket: "b".into(),
                key: "k".into()
            })
        );
        assert_eq!(
            write_of(&hyper::Method::DELETE, "/b/k", Some("versionId=1")),
            None
        );
        assert_eq!(write_of(&hyper::Method::GET, "/b/k", None), None);
    }
}
