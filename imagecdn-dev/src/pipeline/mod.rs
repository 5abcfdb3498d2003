//! Pre-compute and takedowns as in AWS: S3 events of the EventBridge-enabled buckets go
//! to the rendered EventBridge rules (their event patterns), scheduled rules fire on
//! their rate (or `--flush-every`), and each match starts an execution of the rendered
//! state machine ([`asl`]) whose Lambda tasks run the real renderer code in-process
//! (`imagecdn_renderer::handle`, configured from the rendered Function's environment)
//! and whose CloudFront task creates an invalidation in the emulated distribution.

pub mod asl;

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Result, anyhow};
use serde::Serialize;
use serde_json::{Value, json};

use crate::cloudfront::Cdn;
use crate::cloudfront::invalidations::InvalidationError;
use crate::model::{EventRule, Pipeline};
use crate::regions::Write;
use asl::{Outcome, Resources, TaskError, TaskFuture};

const LAMBDA_INVOKE: &str = "arn:aws:states:::lambda:invoke";
const CREATE_INVALIDATION: &str = "arn:aws:states:::aws-sdk:cloudfront:createInvalidation";
/// How many finished executions `/_imagecdn/executions` keeps.
const HISTORY: usize = 200;

/// An execution as the control surface reports it.
#[derive(Clone, Debug, Serialize)]
pub struct ExecutionRecord {
    pub id: u64,
    pub rule: String,
    pub input: Value,
    pub states: Vec<String>,
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
}

/// EventBridge's content filtering for the patterns ImageCDN renders: every field of the
/// pattern must be in the event; an array lists allowed values, an object nests.
pub fn pattern_matches(pattern: &Value, event: &Value) -> bool {
    let Some(fields) = pattern.as_object() else {
        return false;
    };
    fields.iter().all(|(k, expected)| {
        let Some(actual) = event.get(k) else {
            return false;
        };
        match expected {
            Value::Object(_) => pattern_matches(expected, actual),
            Value::Array(allowed) => match actual {
                Value::Array(values) => values.iter().any(|v| allowed.contains(v)),
                v => allowed.contains(v),
            },
            _ => false,
        }
    })
}

/// The EventBridge event S3 sends for a write (detail as documented in "Amazon S3 event
/// notifications with EventBridge").
pub fn s3_event(write: &Write, region: &str, sequence: u64) -> Value {
    let (bucket, key, detail_type, reason) = match write {
        Write::Put { bucket, key } => (bucket, key, "Object Created", "PutObject"),
        Write::Delete { bucket, key } => (bucket, key, "Object Deleted", "DeleteObject"),
    };
    let mut detail = json!({
        "version": "0",
        "bucket": {"name": bucket},
        "object": {"key": key, "sequencer": format!("{sequence:016X}")},
        "request-id": format!("IMAGECDNDEV{sequence:08}"),
        "requester": function_imagecdn::simulate::ACCOUNT,
        "reason": reason,
    });
    if matches!(write, Write::Delete { .. }) {
        detail["deletion-type"] = json!("Delete Marker Created");
    }
    json!({
        "version": "0",
        "id": format!("00000000-0000-0000-0000-{sequence:012}"),
        "detail-type": detail_type,
        "source": "aws.s3",
        "account": function_imagecdn::simulate::ACCOUNT,
        "region": region,
        "resources": [format!("arn:aws:s3:::{bucket}")],
        "detail": detail,
    })
}

/// The emulated pipeline of one claim.
pub struct PipelineRunner {
    pub model: Pipeline,
    deps: imagecdn_renderer::Deps,
    cdn: Arc<Cdn>,
    region: String,
    executions: Mutex<VecDeque<ExecutionRecord>>,
    next_id: AtomicU64,
    pub started: AtomicU64,
    /// Executions that ended (succeeded or failed): `started - finished` are running.
    pub finished: AtomicU64,
    pub failed: AtomicU64,
    /// Retry waits are multiplied by this (1.0: as AWS waits).
    pub delay_scale: f64,
    /// Executions run here, apart from the CDN's runtime: the renderer's transforms are
    /// CPU-bound (in Lambda, one invocation owns its process) and must not starve the
    /// servers.
    runtime: Option<tokio::runtime::Runtime>,
    /// Rendering invocations at once (sized to this machine: each holds decoded images);
    /// further ones wait, as throttled invocations are retried in AWS.
    invocations: tokio::sync::Semaphore,
}

impl Drop for PipelineRunner {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// The renderer's clients, pointed at the emulated S3 (the router) and CloudFront API.
pub async fn renderer_deps(
    pipeline: &Pipeline,
    s3_endpoint: &str,
    cloudfront_endpoint: &str,
    region: &str,
    settle_seconds: Option<u64>,
) -> Result<imagecdn_renderer::Deps> {
    let lookup = |name: &str| match name {
        "IMAGECDN_S3_FORCE_PATH_STYLE" => Some("true".to_string()),
        "IMAGECDN_TAKEDOWN_SETTLE_SECONDS" if settle_seconds.is_some() => {
            settle_seconds.map(|s| s.to_string())
        }
        _ => pipeline.renderer_env.get(name).cloned(),
    };
    let config = imagecdn_renderer::Config::from_lookup(lookup)
        .map_err(|e| anyhow!("the rendered renderer Function: {e}"))?;
    let credentials = aws_sdk_s3::config::Credentials::new(
        "imagecdn-dev",
        "imagecdn-dev",
        None,
        None,
        "imagecdn-dev",
    );
    let timeouts = aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(3))
        .operation_attempt_timeout(Duration::from_secs(config.s3_attempt_timeout_secs))
        .build();
    let shared = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(region.to_string()))
        .credentials_provider(credentials)
        .timeout_config(timeouts)
        .load()
        .await;
    let s3 = aws_sdk_s3::config::Builder::from(&shared)
        .endpoint_url(s3_endpoint)
        .force_path_style(true)
        .build();
    let cloudfront = aws_sdk_cloudfront::config::Builder::from(&shared)
        .endpoint_url(cloudfront_endpoint)
        .build();
    Ok(imagecdn_renderer::Deps {
        config,
        store: imagecdn_renderer::store::Store::new(aws_sdk_s3::Client::from_conf(s3)),
        cloudfront: aws_sdk_cloudfront::Client::from_conf(cloudfront),
    })
}

impl PipelineRunner {
    pub fn new(
        model: Pipeline,
        deps: imagecdn_renderer::Deps,
        cdn: Arc<Cdn>,
        region: String,
    ) -> Result<PipelineRunner> {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(cores)
            .thread_name("imagecdn-dev-pipeline")
            .enable_all()
            .build()?;
        Ok(PipelineRunner {
            model,
            deps,
            cdn,
            region,
            executions: Mutex::default(),
            next_id: AtomicU64::new(1),
            started: AtomicU64::new(0),
            finished: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            delay_scale: 1.0,
            runtime: Some(runtime),
            invocations: tokio::sync::Semaphore::new(2 * cores),
        })
    }

    pub fn executions(&self) -> Vec<ExecutionRecord> {
        self.executions
            .lock()
            .expect("executions lock")
            .iter()
            .cloned()
            .collect()
    }

    /// An S3 write: the event goes to every rule whose pattern matches.
    pub fn on_write(self: &Arc<Self>, write: &Write) {
        let bucket = match write {
            Write::Put { bucket, .. } | Write::Delete { bucket, .. } => bucket,
        };
        if !self.model.eventbridge_buckets.contains(bucket) {
            return;
        }
        let event = s3_event(write, &self.region, self.next_id.load(Ordering::Relaxed));
        for rule in &self.model.rules {
            if rule
                .event_pattern
                .as_ref()
                .is_some_and(|p| pattern_matches(p, &event))
            {
                self.start(rule, rule.input.clone().unwrap_or_else(|| event.clone()));
            }
        }
    }

    /// Fires the scheduled rules every `every` (their own rate when `None`).
    pub fn start_schedules(self: &Arc<Self>, every: Option<Duration>) {
        for rule in self
            .model
            .rules
            .iter()
            .filter(|r| r.schedule.is_some())
            .cloned()
        {
            let period = every.or(rule.schedule).unwrap_or(Duration::from_secs(60));
            let me = self.clone();
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(period);
                tick.tick().await;
                loop {
                    tick.tick().await;
                    let input = rule.input.clone().unwrap_or_else(
                        || json!({"detail-type": "Scheduled Event", "source": "aws.events"}),
                    );
                    me.start(&rule, input);
                }
            });
        }
    }

    fn start(self: &Arc<Self>, rule: &EventRule, input: Value) {
        if rule.target_arn != self.model.state_machine_arn {
            return;
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        self.started.fetch_add(1, Ordering::Relaxed);
        let me = self.clone();
        let rule_name = rule.name.clone();
        let Some(runtime) = self.runtime.as_ref() else {
            return;
        };
        runtime.spawn(async move {
            let run = asl::execute(
                &me.model.definition,
                input.clone(),
                me.as_ref(),
                me.delay_scale,
            )
            .await;
            let (status, error, cause) = match run.outcome {
                Outcome::Succeeded(_) => ("SUCCEEDED", None, None),
                Outcome::Failed { error, cause } => {
                    me.failed.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!("execution {id} ({rule_name}) failed: {error}: {cause}");
                    ("FAILED", Some(error), Some(cause))
                }
            };
            me.finished.fetch_add(1, Ordering::Relaxed);
            let mut log = me.executions.lock().expect("executions lock");
            log.push_back(ExecutionRecord {
                id,
                rule: rule_name,
                input,
                states: run.states,
                status,
                error,
                cause,
            });
            while log.len() > HISTORY {
                log.pop_front();
            }
        });
    }

    async fn invoke_renderer(&self, parameters: Value) -> Result<Value, TaskError> {
        let function = parameters["FunctionName"].as_str().unwrap_or_default();
        if function != self.model.renderer_arn
            && !function.starts_with(&format!("{}:", self.model.renderer_arn))
        {
            return Err(TaskError::new(
                "Lambda.ResourceNotFoundException",
                format!("no function {function}"),
            ));
        }
        let event: imagecdn_renderer::Event = serde_json::from_value(parameters["Payload"].clone())
            .map_err(|e| TaskError::new("ImageCDN.BadEvent", e.to_string()))?;
        // Only the CPU- and memory-heavy actions wait for a slot: takedowns (purge, flush,
        // ack) never queue behind renders.
        let heavy = matches!(
            event,
            imagecdn_renderer::Event::Render { .. } | imagecdn_renderer::Event::Renders {}
        );
        let _slot = match heavy {
            true => Some(self.invocations.acquire().await.map_err(|_| {
                TaskError::new("Lambda.ServiceException", "the pipeline is stopping")
            })?),
            false => None,
        };
        match imagecdn_renderer::handle(&self.deps, event).await {
            Ok(payload) => {
                Ok(json!({"ExecutedVersion": "$LATEST", "Payload": payload, "StatusCode": 200}))
            }
            Err(e) => Err(TaskError::new(e.error_type(), e.to_string())),
        }
    }

    fn create_invalidation(&self, parameters: &Value) -> Result<Value, TaskError> {
        let distribution = parameters["DistributionId"].as_str().unwrap_or_default();
        if distribution != self.cdn.model.distribution_id {
            return Err(TaskError::new(
                "CloudFront.NoSuchDistributionException",
                format!("no distribution {distribution}"),
            ));
        }
        let batch = &parameters["InvalidationBatch"];
        let paths: Vec<String> = batch
            .pointer("/Paths/Items")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|p| p.as_str().map(String::from))
            .collect();
        let caller_reference = batch["CallerReference"].as_str().unwrap_or_default();
        match self.cdn.create_invalidation(caller_reference, &paths) {
            Ok(i) => Ok(json!({
                "Location": format!("https://cloudfront.amazonaws.com/2020-05-31/distribution/{distribution}/invalidation/{}", i.id),
                "Invalidation": {
                    "Id": i.id,
                    "Status": i.status(self.cdn.invalidations.in_progress_for),
                    "CreateTime": i.create_time,
                    "InvalidationBatch": batch,
                },
            })),
            Err(e) => {
                let name = match e {
                    InvalidationError::TooManyInProgress(_) => {
                        "CloudFront.TooManyInvalidationsInProgressException"
                    }
                    InvalidationError::BatchAlreadyExists(_) => {
                        "CloudFront.InvalidationBatchAlreadyExistsException"
                    }
                    InvalidationError::InvalidArgument(_) => "CloudFront.InvalidArgumentException",
                };
                Err(TaskError::new(name, e.to_string()))
            }
        }
    }
}

impl Resources for PipelineRunner {
    fn call<'a>(&'a self, resource: &'a str, parameters: Value) -> TaskFuture<'a> {
        Box::pin(async move {
            match resource {
                LAMBDA_INVOKE => self.invoke_renderer(parameters).await,
                CREATE_INVALIDATION => self.create_invalidation(&parameters),
                other => Err(TaskError::new(
                    "States.Runtime",
                    format!("the emulator does not run {other}"),
                )),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rendered_patterns_match_only_their_events() {
        let created: Value =
            serde_json::from_str(r#"{"detail":{"bucket":{"name":["o"]}},"detail-type":["Object Created"],"source":["aws.s3"]}"#).unwrap();
        let put = s3_event(
            &Write::Put {
                bucket: "o".into(),
                key: "shop/a.jpg".into(),
            },
            "us-east-1",
            1,
        );
        let delete = s3_event(
            &Write::Delete {
                bucket: "o".into(),
                key: "shop/a.jpg".into(),
            },
            "us-east-1",
            2,
        );
        let other = s3_event(
            &Write::Put {
                bucket: "v".into(),
                key: "x".into(),
            },
            "us-east-1",
            3,
        );
        assert!(pattern_matches(&created, &put));
        assert!(!pattern_matches(&created, &delete));
        assert!(!pattern_matches(&created, &other));
        assert_eq!(delete["detail"]["deletion-type"], "Delete Marker Created");
        assert_eq!(put["detail"]["object"]["key"], "shop/a.jpg");
    }
}
