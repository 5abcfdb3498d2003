//! IAM policy documents. Every statement names its resources; documents are
//! serialized compactly with a stable key order so rendering is byte-identical.

use serde_json::{Value, json};

/// A policy document from statements.
pub fn document(statements: Vec<Value>) -> String {
    json!({"Version": "2012-10-17", "Statement": statements}).to_string()
}

/// An Allow statement.
pub fn allow(sid: &str, actions: &[&str], resources: Vec<String>) -> Value {
    json!({"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": resources})
}

/// A trust policy letting the given AWS services assume a role.
pub fn trust(services: &[&str]) -> String {
    document(vec![json!({
        "Effect": "Allow",
        "Principal": {"Service": services},
        "Action": "sts:AssumeRole",
    })])
}

/// The ARN of a bucket.
pub fn bucket_arn(bucket: &str) -> String {
    format!("arn:aws:s3:::{bucket}")
}

/// The ARN pattern of every object in a bucket (or under `prefix/` when given).
pub fn objects_arn(bucket: &str, prefix: Option<&str>) -> String {
    match prefix {
        Some(p) => format!("arn:aws:s3:::{bucket}/{p}/*"),
        None => format!("arn:aws:s3:::{bucket}/*"),
    }
}

/// Denies any request to the bucket that is not over TLS.
pub fn deny_insecure_transport(bucket: &str) -> Value {
    json!({
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [bucket_arn(bucket), objects_arn(bucket, None)],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    })
}

/// Lets the CloudFront distribution `distribution_arn` read objects through its
/// origin access control, and nothing else.
pub fn cloudfront_read(bucket: &str, distribution_arn: &str) -> Value {
    json!({
        "Sid": "CloudFrontReadThroughOAC",
        "Effect": "Allow",
        "Principal": {"Service": "cloudfront.amazonaws.com"},
        "Action": "s3:GetObject",
        "Resource": objects_arn(bucket, None),
        "Condition": {"StringEquals": {"AWS:SourceArn": distribution_arn}},
    })
}

/// Lets this distribution list the bucket, so that S3 answers 404 (not 403) for a key
/// that does not exist: a missing image is then told apart from a refused one, and
/// CloudFront caches it only for the 404's short error TTL.
pub fn cloudfront_list(bucket: &str, distribution_arn: &str) -> Value {
    json!({
        "Sid": "CloudFrontListThroughOAC",
        "Effect": "Allow",
        "Principal": {"Service": "cloudfront.amazonaws.com"},
        "Action": "s3:ListBucket",
        "Resource": bucket_arn(bucket),
        "Condition": {"StringEquals": {"AWS:SourceArn": distribution_arn}},
    })
}

/// Lets the role `role_arn` perform `actions` on the bucket's objects.
pub fn role_access(sid: &str, bucket: &str, role_arn: &str, actions: &[&str]) -> Value {
    json!({
        "Sid": sid,
        "Effect": "Allow",
        "Principal": {"AWS": role_arn},
        "Action": actions,
        "Resource": objects_arn(bucket, None),
    })
}

/// CloudWatch Logs permissions for a Lambda function's own log groups. Lambda@Edge
/// writes to `/aws/lambda/us-east-1.<name>` in whichever region served the request,
/// so the region (and the account, unknown at render time) stay wildcards.
pub fn lambda_logs(log_group_name: &str) -> Value {
    json!({
        "Sid": "WriteOwnLogs",
        "Effect": "Allow",
        "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
        "Resource": [
            format!("arn:aws:logs:*:*:log-group:{log_group_name}"),
            format!("arn:aws:logs:*:*:log-group:{log_group_name}:log-stream:*"),
        ],
    })
}
