//! The Node.js process that runs the shipped JavaScript: the generated CloudFront
//! Functions (in a sandbox with the real viewer-request event) and the Lambda@Edge
//! origin-request handler from the built `dist/edge-transform.zip` (`js/host.js`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::{Mutex, oneshot};

/// The host's JavaScript, embedded so the binary runs from anywhere.
const HOST_JS: &str = include_str!("../js/host.js");
const CLOUDFRONT_FUNCTION_JS: &str = include_str!("../js/cloudfront_function.js");

type Pending = Arc<Mutex<HashMap<u64, oneshot::Sender<Result<Value, String>>>>>;

/// A running `node host.js`.
pub struct EdgeHost {
    stdin: Mutex<ChildStdin>,
    pending: Pending,
    next_id: AtomicU64,
    /// Function code -> the ID Node compiled it under (sent once, not with every request).
    functions: Mutex<HashMap<String, u64>>,
    _child: Child,
}

/// Unpacks the edge zip into `dir` (index.js, engine.js, presign.js, the wasm module).
pub fn unpack_edge_zip(zip_path: &Path, dir: &Path) -> Result<()> {
    let file = std::fs::File::open(zip_path).with_context(|| {
        format!(
            "reading {} (lambda/edge/build.sh builds it)",
            zip_path.display()
        )
    })?;
    let mut archive = zip::ZipArchive::new(file)
        .with_context(|| format!("{} is not a zip", zip_path.display()))?;
    archive
        .extract(dir)
        .with_context(|| format!("unpacking {}", zip_path.display()))?;
    if !dir.join("index.js").is_file() {
        bail!("{} has no index.js", zip_path.display());
    }
    Ok(())
}

impl EdgeHost {
    /// Starts Node with the unpacked edge package in `edge_dir`. `node_path` holds
    /// `@aws-sdk/client-s3` (provided by Lambda's runtime in AWS); `s3_endpoint` is where
    /// the handler's S3 clients connect.
    pub async fn start(
        edge_dir: &Path,
        node_path: &Path,
        s3_endpoint: &str,
        work: &Path,
    ) -> Result<EdgeHost> {
        let js_dir: PathBuf = work.join("host");
        std::fs::create_dir_all(&js_dir)?;
        std::fs::write(js_dir.join("host.js"), HOST_JS)?;
        std::fs::write(
            js_dir.join("cloudfront_function.js"),
            CLOUDFRONT_FUNCTION_JS,
        )?;
        let mut child =
            Command::new(std::env::var("IMAGECDN_NODE").unwrap_or_else(|_| "node".into()))
                .arg(js_dir.join("host.js"))
                .arg(edge_dir)
                .env("NODE_PATH", node_path)
                .env("AWS_ENDPOINT_URL_S3", s3_endpoint)
                .env("AWS_ACCESS_KEY_ID", "imagecdn-dev")
                .env("AWS_SECRET_ACCESS_KEY", "imagecdn-dev")
                .env("AWS_REGION", "us-east-1")
                .env(
                    "AWS_LAMBDA_FUNCTION_NAME",
                    "us-east-1.imagecdn-dev-edge-transform",
                )
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .kill_on_drop(true)
                .spawn()
                .context(
                    "starting node (Node.js 20 or later must be on PATH, or set IMAGECDN_NODE)",
                )?;
        let stdin = child.stdin.take().expect("piped");
        let mut lines = BufReader::new(child.stdout.take().expect("piped")).lines();
        let first = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
            .await
            .context("node host.js did not start within 30 s")??
            .ok_or_else(|| anyhow!("node host.js exited at start (see its output above)"))?;
        if serde_json::from_str::<Value>(&first)
            .ok()
            .and_then(|v| v["ready"].as_bool())
            != Some(true)
        {
            bail!("node host.js said {first:?} instead of ready");
        }
        let pending: Pending = Arc::default();
        let readers = pending.clone();
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                let Ok(v) = serde_json::from_str::<Value>(&line) else {
                    tracing::warn!("host.js wrote a non-JSON line: {line}");
                    continue;
                };
                let Some(id) = v["id"].as_u64() else { continue };
                if let Some(tx) = readers.lock().await.remove(&id) {
                    let answer = match v.get("error") {
                        Some(e) => Err(e.as_str().unwrap_or("error").to_string()),
                        None => Ok(v["result"].clone()),
                    };
                    let _ = tx.send(answer);
                }
            }
            // Node is gone: fail everything still waiting.
            for (_, tx) in readers.lock().await.drain() {
                let _ = tx.send(Err("the Node.js host exited".into()));
            }
        });
        Ok(EdgeHost {
            stdin: Mutex::new(stdin),
            pending,
            next_id: AtomicU64::new(1),
            functions: Mutex::default(),
            _child: child,
        })
    }

    async fn call(&self, mut msg: Value, timeout: Duration) -> Result<Value> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        msg["id"] = json!(id);
        let (tx, rx) = oneshot::channel();
        self.pending.lock().await.insert(id, tx);
        let mut line = serde_json::to_string(&msg)?;
        line.push('\n');
        self.stdin.lock().await.write_all(line.as_bytes()).await?;
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(Ok(v))) => Ok(v),
            Ok(Ok(Err(e))) => Err(anyhow!(e)),
            Ok(Err(_)) => Err(anyhow!("the Node.js host dropped the call")),
            Err(_) => {
                self.pending.lock().await.remove(&id);
                Err(anyhow!("no answer within {timeout:?}"))
            }
        }
    }

    /// Runs a viewer-request CloudFront Function on a request.
    pub async fn viewer_request(
        &self,
        code: &str,
        request: Value,
        context: Value,
    ) -> Result<Value> {
        let function = {
            let mut functions = self.functions.lock().await;
            match functions.get(code) {
                Some(id) => *id,
                None => {
                    let id = functions.len() as u64 + 1;
                    let define = json!({"op": "define", "function": id, "code": code});
                    self.call(define, Duration::from_secs(5)).await?;
                    functions.insert(code.to_string(), id);
                    id
                }
            }
        };
        self.call(
            json!({"op": "viewer", "function": function, "request": request, "context": context}),
            Duration::from_secs(5),
        )
        .await
    }

    /// Invokes the origin-request Lambda@Edge handler with a CloudFront event. The
    /// function's timeout is 30 s; Lambda@Edge answers 503 past it.
    pub async fn origin_request(&self, event: Value) -> Result<Value> {
        self.call(
            json!({"op": "origin-request", "event": event}),
            Duration::from_secs(30),
        )
        .await
    }
}
