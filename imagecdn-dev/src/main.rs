//! `imagecdn-dev serve [CLAIM.yaml] --originals DIR`: the claim's CDN on 127.0.0.1.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use function_imagecdn::sign::{HashAlgorithm, SignRequest, sign_url};
use imagecdn_dev::{EMBEDDED_PRIVATE_KEY, ServeOptions, crate_dir};

/// The AWS SDK for JavaScript the Lambda@Edge handler finds in Lambda's Node.js runtime:
/// installed here (pinned, as the tests pin it) when no --node-modules is given.
const CLIENT_S3: &str = "@aws-sdk/client-s3@3.1175.0";

#[derive(Parser)]
#[command(
    name = "imagecdn-dev",
    version,
    about = "ImageCDN on a laptop: a claim's CDN served locally with the code that ships"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Render the claim and serve its CDN (CloudFront, Lambda@Edge and three S3 regions,
    /// emulated) on 127.0.0.1.
    Serve {
        /// The claim (default: the embedded examples/complete.yaml).
        claim: Option<PathBuf>,
        /// Originals to upload, laid out as `<tenant prefix>/<key>` (default with the
        /// embedded claim: imagecdn-dev/sample).
        #[arg(long)]
        originals: Option<PathBuf>,
        /// Secret manifests the claim's secretRefs name (signing public keys). Default with
        /// the embedded claim: its throwaway example key.
        #[arg(long)]
        secrets: Option<PathBuf>,
        /// Where the CDN listens.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// The built Lambda@Edge package (lambda/edge/build.sh).
        #[arg(long)]
        edge_zip: Option<PathBuf>,
        /// node_modules with @aws-sdk/client-s3 (default: IMAGECDN_EDGE_NPM, the test
        /// peers' copy, or one installed into ~/.cache/imagecdn/dev-npm).
        #[arg(long)]
        node_modules: Option<PathBuf>,
        /// moto's server (default: IMAGECDN_MOTO_SERVER, then PATH).
        #[arg(long)]
        moto_server: Option<PathBuf>,
        /// Flush queued takedowns every SECONDS instead of the claim's invalidation window.
        #[arg(long, value_name = "SECONDS")]
        flush_every: Option<u64>,
        /// The renderer's takedown settle delay (default: the rendered Function's, 40 s,
        /// longer than Lambda@Edge's 30 s timeout). Shorter only for local experiments.
        #[arg(long, value_name = "SECONDS")]
        takedown_settle_seconds: Option<u64>,
        /// How long an invalidation reports InProgress (CloudFront: typically under a minute).
        #[arg(long, value_name = "SECONDS", default_value_t = 5)]
        invalidation_seconds: u64,
    },
}

fn repo_root() -> PathBuf {
    crate_dir().join("..")
}

fn node_modules(explicit: Option<PathBuf>) -> Result<PathBuf> {
    if let Some(p) = explicit.or_else(|| std::env::var_os("IMAGECDN_EDGE_NPM").map(PathBuf::from)) {
        return Ok(p);
    }
    let peers = repo_root().join(".peers/npm-edge/node_modules");
    if peers.join("@aws-sdk/client-s3").is_dir() {
        return Ok(peers);
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let prefix = home.join(".cache/imagecdn/dev-npm");
    if !prefix.join("node_modules/@aws-sdk/client-s3").is_dir() {
        eprintln!("installing {CLIENT_S3} into {}", prefix.display());
        std::fs::create_dir_all(&prefix)?;
        let status = std::process::Command::new("npm")
            .args([
                "install",
                "--no-save",
                "--no-audit",
                "--no-fund",
                "--loglevel=error",
                "--prefix",
            ])
            .arg(&prefix)
            .arg(CLIENT_S3)
            .status()
            .context("running npm (Node.js and npm must be on PATH)")?;
        if !status.success() {
            bail!("npm install {CLIENT_S3} failed");
        }
    }
    Ok(prefix.join("node_modules"))
}

/// URLs worth trying for the uploaded keys: the original size, widths, formats and a
/// preset for public tenants; a signed URL (the throwaway example key) for signed ones.
fn example_urls(
    base: &str,
    keys: &[String],
    signed_prefixes: &[String],
    signing_key_id: Option<&str>,
) -> Vec<String> {
    let mut out = Vec::new();
    let expires = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
        + 3600;
    for key in keys.iter().take(4) {
        let path = imagecdn_urlapi::percent::encode_component(key).replace("%2F", "/");
        if signed_prefixes
            .iter()
            .any(|p| key.starts_with(&format!("{p}/")))
        {
            let Some(key_pair_id) = signing_key_id else {
                out.push(format!(
                    "{base}/{path}?w=400  (signed tenant: sign with `function-imagecdn sign`)"
                ));
                continue;
            };
            let req = SignRequest {
                url: format!("{base}/{path}?w=400"),
                expires,
                not_before: None,
                ip_address: None,
                custom_policy: false,
                resource: None,
                key_pair_id: key_pair_id.to_string(),
                hash: HashAlgorithm::Sha1,
            };
            if let Ok(url) = sign_url(&req, EMBEDDED_PRIVATE_KEY) {
                out.push(url);
            }
        } else {
            out.push(format!("{base}/{path}?w=400"));
            out.push(format!("{base}/{path}?width=640&format=webp"));
            out.push(format!("{base}/{path}?preset=thumb"));
        }
    }
    out
}

async fn serve(cli: Command) -> Result<()> {
    let Command::Serve {
        claim,
        originals,
        secrets,
        listen,
        edge_zip,
        node_modules: modules,
        moto_server,
        flush_every,
        takedown_settle_seconds,
        invalidation_seconds,
    } = cli;
    let embedded = claim.is_none();
    let originals = originals.or_else(|| embedded.then(|| crate_dir().join("sample")));
    let work_dir = std::env::temp_dir().join(format!("imagecdn-dev-{}", std::process::id()));
    let opts = ServeOptions {
        claim,
        originals,
        secrets,
        listen,
        edge_zip: edge_zip.unwrap_or_else(|| repo_root().join("dist/edge-transform.zip")),
        node_modules: node_modules(modules)?,
        moto_server: imagecdn_dev::regions::find_moto(moto_server.as_deref())?,
        work_dir: work_dir.clone(),
        flush_every: flush_every.map(Duration::from_secs),
        takedown_settle_seconds,
        invalidation_time: Duration::from_secs(invalidation_seconds),
        retry_delay_scale: 1.0,
    };
    let started = std::time::Instant::now();
    let running = imagecdn_dev::start(&opts, &|line| eprintln!("imagecdn-dev: {line}")).await?;
    let base = format!("http://{}", running.addr);
    let model = &running.cdn.model;
    let signed_prefixes: Vec<String> = model
        .behaviors
        .iter()
        .filter(|b| !b.trusted_key_groups.is_empty())
        .filter_map(|b| b.path_pattern.as_deref())
        .map(|p| p.trim_start_matches('/').trim_end_matches("/*").to_string())
        .collect();
    let keys = &running.uploaded;
    println!(
        "ImageCDN {} serves on {base} (ready in {:.1} s)",
        model.claim_name,
        started.elapsed().as_secs_f64()
    );
    // The embedded claim's throwaway key signs; other claims' private keys are not here.
    let signing_key_id = model
        .behaviors
        .iter()
        .flat_map(|b| &b.trusted_key_groups)
        .flat_map(|g| model.key_groups.get(g).into_iter().flatten())
        .next()
        .filter(|_| embedded);
    for url in example_urls(
        &base,
        keys,
        &signed_prefixes,
        signing_key_id.map(String::as_str),
    ) {
        println!("  {url}");
    }
    println!(
        "stats: {base}/_imagecdn/stats   config: {base}/_imagecdn/config   CloudFront API: http://{}",
        running.cloudfront_api
    );
    // Until SIGINT or SIGTERM; dropping everything stops moto and Node (kill on drop).
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        r = tokio::signal::ctrl_c() => r?,
        _ = term.recv() => {}
    }
    running.stop();
    drop(running);
    let _ = std::fs::remove_dir_all(&work_dir);
    // Give child processes a moment to see their pipes close.
    tokio::time::sleep(Duration::from_millis(100)).await;
    Ok(())
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("IMAGECDN_DEV_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("imagecdn-dev: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(serve(cli.command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("imagecdn-dev: {e:#}");
            ExitCode::FAILURE
        }
    }
}
