//! The `bootstrap` binary Lambda runs for the regional renderer.

use imagecdn_renderer::{Config, Deps, Event, handle};
use lambda_runtime::{Diagnostic, Error, LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .without_time()
        .init();
    let config = Config::from_env()?;
    let deps = Deps::from_env(config).await;
    let deps = &deps;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        // The error type is what the state machine's Retry and Catch rules match.
        let parsed: Event = serde_json::from_value(event.payload).map_err(|e| Diagnostic {
            error_type: "ImageCDN.BadEvent".into(),
            error_message: e.to_string(),
        })?;
        handle(deps, parsed).await.map_err(|e| {
            tracing::error!(error = %e, error_type = e.error_type(), "invocation failed");
            Diagnostic {
                error_type: e.error_type().into(),
                error_message: e.to_string(),
            }
        })
    }))
    .await
}
