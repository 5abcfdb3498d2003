//! The S3 operations the renderer needs, each naming its bucket explicitly.

use aws_sdk_s3::Client;
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
}

fn fail<E: std::fmt::Debug>(operation: &'static str, bucket: &str, key: &str, e: E) -> StoreError {
    StoreError {
        operation,
        bucket: bucket.into(),
        key: key.into(),
        message: format!("{e:?}"),
    }
}

/// What HEAD tells about an object.
pub struct Head {
    pub size: u64,
    pub etag: Option<String>,
    pub metadata: std::collections::HashMap<String, String>,
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
                let bytes = o
                    .body
                    .collect()
                    .await
                    .map_err(|e| fail("GetObject (body)", bucket, key, e))?;
                Ok(Some(bytes.into_bytes().to_vec()))
            }
            Err(SdkError::ServiceError(e)) if e.err().is_no_such_key() => Ok(None),
            Err(e) => Err(fail("GetObject", bucket, key, e)),
        }
    }

    pub async fn put(
        &self,
        bucket: &str,
        key: &str,
        body: Vec<u8>,
        content_type: &str,
        metadata: &[(&str, &str)],
    ) -> Result<(), StoreError> {
        let mut req = self
            .client
            .put_object()
            .bucket(bucket)
            .key(key)
            .body(ByteStream::from(body))
            .content_type(content_type);
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

    /// Deletes keys, 1,000 per request (S3's limit); fails if any key fails.
    pub async fn delete_all(&self, bucket: &str, keys: &[String]) -> Result<usize, StoreError> {
        for chunk in keys.chunks(1000) {
            let objects = chunk
                .iter()
                .map(|k| ObjectIdentifier::builder().key(k).build())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| fail("DeleteObjects", bucket, &chunk[0], e))?;
            let delete = Delete::builder()
                .set_objects(Some(objects))
                .quiet(true)
                .build()
                .map_err(|e| fail("DeleteObjects", bucket, &chunk[0], e))?;
            let out = self
                .client
                .delete_objects()
                .bucket(bucket)
                .delete(delete)
                .send()
                .await
                .map_err(|e| fail("DeleteObjects", bucket, &chunk[0], e))?;
            if let Some(err) = out.errors().first() {
                return Err(fail(
                    "DeleteObjects",
                    bucket,
                    err.key().unwrap_or_default(),
                    err.message(),
                ));
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
