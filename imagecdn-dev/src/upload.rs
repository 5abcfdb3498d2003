//! Uploads a folder of originals (`<tenant prefix>/<key>`) into the primary region's
//! originals bucket through its S3 endpoint, as an uploader would; replication copies
//! them to the other regions.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use bytes::Bytes;
use http_body_util::Full;
use hyper::Request;

use crate::cloudfront::Cdn;

/// The Content-Type an uploader would set, from the extension.
pub fn content_type(path: &Path) -> &'static str {
    match path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("png") => "image/png",
        Some("webp") => "image/webp",
        Some("gif") => "image/gif",
        Some("avif") => "image/avif",
        _ => "application/octet-stream",
    }
}

fn files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).with_context(|| format!("reading {}", d.display()))? {
            let path = entry?.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.is_file()
                && !path
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with('.'))
            {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// The S3 key of `file` under `dir`: its relative path with `/` separators.
pub fn key_of(dir: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(dir).ok()?;
    let parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_str().map(String::from))
        .collect::<Option<_>>()?;
    Some(parts.join("/"))
}

/// Puts one object into the primary originals bucket.
pub async fn put_original(cdn: &Cdn, key: &str, body: Vec<u8>, content_type: &str) -> Result<()> {
    let primary = cdn.regions.primary();
    let path = imagecdn_urlapi::percent::encode_component(key).replace("%2F", "/");
    let req = Request::put(format!(
        "{}/{}/{path}",
        primary.url(),
        primary.originals_bucket
    ))
    .header("content-type", content_type)
    .header(
        hyper::header::AUTHORIZATION,
        crate::regions::SIGNED_BY_EMULATOR,
    )
    .body(Full::new(Bytes::from(body)))?;
    let rsp = cdn
        .regions
        .client
        .request(req)
        .await
        .with_context(|| format!("uploading {key}"))?;
    if !rsp.status().is_success() {
        bail!("uploading {key}: S3 answered {}", rsp.status());
    }
    Ok(())
}

/// Uploads every file of `dir`, warning about files outside every tenant's prefix
/// (the CDN will refuse them).
pub async fn upload_dir(cdn: &Cdn, dir: &Path, progress: &dyn Fn(&str)) -> Result<Vec<String>> {
    let files = files(dir)?;
    let prefixes = cdn.model.tenant_prefixes();
    let mut keys = Vec::new();
    for (i, file) in files.iter().enumerate() {
        let key =
            key_of(dir, file).with_context(|| format!("{} is not a UTF-8 path", file.display()))?;
        if !prefixes.iter().any(|p| key.starts_with(&format!("{p}/"))) {
            progress(&format!(
                "skipping {key}: not under a tenant prefix ({})",
                prefixes.join(", ")
            ));
            continue;
        }
        let body = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
        put_original(cdn, &key, body, content_type(file)).await?;
        progress(&format!("uploaded {}/{}: {key}", i + 1, files.len()));
        keys.push(key);
    }
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_types() {
        let dir = Path::new("/o");
        assert_eq!(
            key_of(dir, Path::new("/o/shop/a b.JPG")).as_deref(),
            Some("shop/a b.JPG")
        );
        assert_eq!(content_type(Path::new("a b.JPG")), "image/jpeg");
        assert_eq!(content_type(Path::new("x")), "application/octet-stream");
    }
}
