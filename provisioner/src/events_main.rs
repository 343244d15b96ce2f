//! `provisioner-events`: the Lambda function behind the EventBridge rule for Control Room's
//! "On-Demand Worker Request" events. It decrypts each event's link token and launches the worker exactly as
//! an HTTP `start` would (see `provisioner::eventbridge`).
//!
//! Configuration: the same environment as `provisioner`, plus PROVISIONER_DEAD_LETTER_QUEUE_URL and
//! (development only) PROVISIONER_ALLOW_PLAINTEXT_LINK_TOKENS=true.

#![recursion_limit = "256"]

use clap::Parser;
use lambda_http::lambda_runtime::{self, LambdaEvent};
use provisioner::Provisioner;
use provisioner::config::Settings;
use provisioner::eventbridge::EventHandler;
use provisioner::logging::{self, LogFormat};
use serde_json::Value;
use std::process::ExitCode;
use std::sync::Arc;

/// Handles Control Room's EventBridge worker requests under the AWS Lambda runtime: decrypts the link token
/// with the shared secret (AWS Encryption SDK, key commitment required), launches one ECS task per run, and
/// sends events it cannot act on to the dead-letter queue.
#[derive(Parser)]
#[command(version, about, long_about = None)]
struct Cli {}

#[tokio::main]
async fn main() -> ExitCode {
    Cli::parse();
    if std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_none() {
        eprintln!(
            "error: AWS_LAMBDA_RUNTIME_API is not set: provisioner-events runs only as a Lambda function (or under a local Lambda Runtime API)"
        );
        return ExitCode::from(2);
    }
    logging::init(LogFormat::from_env());
    let settings = Settings::from_env(|k| std::env::var(k).ok());
    if let Err(e) = &settings {
        tracing::error!(error = %e, "configuration incomplete");
    }
    let sdk = provisioner::handler::sdk_config().await;
    let provisioner = Arc::new(Provisioner::new(settings, &sdk));
    let handler = match EventHandler::new(provisioner, &sdk) {
        Ok(handler) => Arc::new(handler),
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = lambda_runtime::run(lambda_runtime::service_fn(
        move |event: LambdaEvent<Value>| {
            let handler = handler.clone();
            async move {
                handler
                    .handle(&event.payload, &event.context.request_id)
                    .await
                    .map_err(lambda_runtime::Error::from)
            }
        },
    ))
    .await;
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
