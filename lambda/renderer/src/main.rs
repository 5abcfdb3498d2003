//! The `bootstrap` binary Lambda runs for the regional renderer.

use imagecdn_renderer::{Config, Deps, Event, handle};
use lambda_runtime::{Error, LambdaEvent, service_fn};
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
        let parsed: Event = serde_json::from_value(event.payload)?;
        let result = handle(deps, parsed).await;
        if let Err(e) = &result {
            tracing::error!(error = %e, "invocation failed");
        }
        Ok::<Value, Error>(result?)
    }))
    .await
}
