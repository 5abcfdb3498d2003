//! The S3 operations the renderer needs, each naming its bucket explicitly.

use aws_sdk_s3::Client;
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::SdkError;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{Delete, ObjectIdentifier};

/// An S3 failure with the operation and object it concerned.
#[derive(Debug, thiserror::Error)]
#[error("S3 {operation} s3://{bucket}/{key}: {message}")]
pub struct StoreError {
    pub operation: &'static str,
    pub bucket: String,
    pub key: String,
    pub message: String,
    /// Worth retrying: a timeout, a connection failure, throttling or a 5xx.
    pub transient: bool,
}

/// Whether an SDK error is worth retrying (S3's own retries already ran).
fn is_transient<E>(e: &SdkError<E, HttpResponse>) -> bool {
    match e {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            true
        }
        SdkError::ServiceError(ctx) => {
            let status = ctx.raw().status().as_u16();
            status >= 500 || status == 429 || status == 408
        }
        _ => false,
    }
}

fn fail<E: std::fmt::Debug>(
    operation: &'static str,
    bucket: &str,
    key: &str,
    e: SdkError<E, HttpResponse>,
) -> StoreError {
    StoreError {
        operation,
        bucket: bucket.into(),
        key: key.into(),
        transient: is_transient(&e),
        message: format!("{e:?}"),
    }
}

/// A failure that is not an SDK error (building a request, a partial DeleteObjects).
fn refused(operation: &'static str, bucket: &str, key: &str, message: String) -> StoreError {
    StoreError {
        operation,
        bucket: bucket.into(),
        key: key.into(),
        message,
        transient: false,
    }
}

/// What HEAD tells about an object.
pub struct Head {
    pub size: u64,
    pub etag: Option<String>,
    pub version_id: Option<String>,
    pub metadata: std::collections::HashMap<String, String>,
}

/// A stored object's HTTP headers as S3 serves them (not user metadata).
pub struct Headers<'a> {
    pub content_type: &'a str,
    pub cache_control: Option<&'a str>,
}

#[derive(Clone)]
pub struct Store {
    client: Client,
}

impl Store {
    pub fn new(client: Client) -> Store {
        Store { client }
    }

    /// HEAD; `None` when the object does not exist.
    pub async fn head(&self, bucket: &str, key: &str) -> Result<Option<Head>, StoreError> {
        match self
            .client
            .head_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
        {
            Ok(o) => Ok(Some(Head {
                size: o.content_length().unwrap_or_default().max(0) as u64,
                etag: o.e_tag().map(str::to_string),
                version_id: o.version_id().map(str::to_string),
                metadata: o.metadata().cloned().unwrap_or_default(),
            })),
            Err(SdkError::ServiceError(e)) if e.err().is_not_found() => Ok(None),
            Err(e) => Err(fail("HeadObject", bucket, key, e)),
        }
    }

    /// GET; `None` when the object does not exist.
    pub async fn get(&self, bucket: &str, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        match self
            .client
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
        {
            Ok(o) => {
                let bytes = o.body.collect().await.map_err(|e| StoreError {
                    transient: true,
                    ..refused("GetObject (body)", bucket, key, format!("{e:?}"))
                })?;
                Ok(Some(bytes.into_bytes().to_vec()))
            }
            Err(SdkError::ServiceError(e)) if e.err().is_no_such_key() => Ok(None),
            Err(e) => Err(fail("GetObject", bucket, key, e)),
        }
    }

    /// PUT with real HTTP headers (`Content-Type`, `Cache-Control`, which CloudFront and
    /// browsers see when the object is served) and `x-amz-meta-*` metadata.
    pub async fn put(
        &self,
        bucket: &str,
        key: &str,
        body: Vec<u8>,
        headers: Headers<'_>,
        metadata: &[(&str, &str)],
    ) -> Result<(), StoreError> {
        let mut req = self
            .client
            .put_object()
            .bucket(bucket)
            .key(key)
            .body(ByteStream::from(body))
            .content_type(headers.content_type)
            .set_cache_control(headers.cache_control.map(str::to_string));
        for (k, v) in metadata {
            req = req.metadata(*k, *v);
        }
        req.send()
            .await
            .map(|_| ())
            .map_err(|e| fail("PutObject", bucket, key, e))
    }

    /// Every key under `prefix`, following continuation tokens.
    pub async fn list(&self, bucket: &str, prefix: &str) -> Result<Vec<String>, StoreError> {
        let mut keys = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let out = self
                .client
                .list_objects_v2()
                .bucket(bucket)
                .prefix(prefix)
                .set_continuation_token(token.take())
                .send()
                .await
                .map_err(|e| fail("ListObjectsV2", bucket, prefix, e))?;
            keys.extend(
                out.contents()
                    .iter()
                    .filter_map(|o| o.key().map(str::to_string)),
            );
            match out.next_continuation_token() {
                Some(t) if out.is_truncated() == Some(true) => token = Some(t.to_string()),
                _ => return Ok(keys),
            }
        }
    }

    /// Whether `key` has versions other than `current` (older versions or delete
    /// markers): the original was overwritten, or re-uploaded after a deletion.
    pub async fn has_other_versions(
        &self,
        bucket: &str,
        key: &str,
        current: Option<&str>,
    ) -> Result<bool, StoreError> {
        let out = self
            .client
            .list_object_versions()
            .bucket(bucket)
            .prefix(key)
            .max_keys(100)
            .send()
            .await
            .map_err(|e| fail("ListObjectVersions", bucket, key, e))?;
        let other_version = out
            .versions()
            .iter()
            .any(|v| v.key() == Some(key) && v.version_id() != current);
        let marker = out.delete_markers().iter().any(|m| m.key() == Some(key));
        // Keys sharing the prefix (`a.jpg.bak`) may fill the page; then assume yes.
        let truncated = out.is_truncated() == Some(true);
        Ok(other_version || marker || truncated)
    }

    /// Deletes keys, 1,000 per request (S3's limit); fails if any key fails.
    pub async fn delete_all(&self, bucket: &str, keys: &[String]) -> Result<usize, StoreError> {
        for chunk in keys.chunks(1000) {
            let objects = chunk
                .iter()
                .map(|k| ObjectIdentifier::builder().key(k).build())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| refused("DeleteObjects", bucket, &chunk[0], e.to_string()))?;
            let delete = Delete::builder()
                .set_objects(Some(objects))
                .quiet(true)
                .build()
                .map_err(|e| refused("DeleteObjects", bucket, &chunk[0], e.to_string()))?;
            let out = self
                .client
                .delete_objects()
                .bucket(bucket)
                .delete(delete)
                .send()
                .await
                .map_err(|e| fail("DeleteObjects", bucket, &chunk[0], e))?;
            if let Some(err) = out.errors().first() {
                // Per-key failures carry S3 error codes; InternalError and SlowDown pass.
                let transient = matches!(err.code(), Some("InternalError" | "SlowDown"));
                return Err(StoreError {
                    transient,
                    ..refused(
                        "DeleteObjects",
                        bucket,
                        err.key().unwrap_or_default(),
                        format!("{:?}: {:?}", err.code(), err.message()),
                    )
                });
            }
        }
        Ok(keys.len())
    }

    pub async fn delete(&self, bucket: &str, key: &str) -> Result<(), StoreError> {
        self.client
            .delete_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| fail("DeleteObject", bucket, key, e))
    }
}
