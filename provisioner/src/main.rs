//! `provisioner`: the Lambda bootstrap, or a local HTTP server with the same handler.

use clap::{Parser, Subcommand};
use provisioner::Provisioner;
use provisioner::logging::{self, LogFormat};
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

/// Verifies Control Room's signed on-demand worker requests and launches one ECS task per robot run.
///
/// Configuration comes from the environment: PROVISIONER_SECRET_ID, PROVISIONER_CLUSTER_CONFIG_PARAMETER and
/// PROVISIONER_WORKER_IMAGE (required), PROVISIONER_CONFIG_TTL_SECONDS and PROVISIONER_LOG_FORMAT (optional),
/// plus the usual AWS SDK variables (AWS_REGION, AWS_ENDPOINT_URL, credentials).
#[derive(Parser)]
#[command(version, about, long_about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Mode>,
}

#[derive(Subcommand)]
enum Mode {
    /// Serve `POST /worker-request` over plain HTTP (local stack and tests). Prints `listening on URL`.
    Serve {
        /// Address to listen on; port 0 picks a free port.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
    },
    /// Run under the AWS Lambda runtime (the default when AWS_LAMBDA_RUNTIME_API is set).
    Lambda,
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("can install a SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let mode = match cli.command {
        Some(mode) => mode,
        None if std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_some() => Mode::Lambda,
        None => {
            eprintln!(
                "error: no mode given and AWS_LAMBDA_RUNTIME_API is not set\n\nRun `provisioner serve --listen 127.0.0.1:8080` locally, or see `provisioner --help`."
            );
            return ExitCode::from(2);
        }
    };
    logging::init(LogFormat::from_env());
    let provisioner = Arc::new(Provisioner::from_env().await);
    let result = match mode {
        Mode::Serve { listen } => {
            provisioner::transport::serve::serve(provisioner, listen, shutdown_signal())
                .await
                .map_err(|e| format!("cannot serve on {listen}: {e}"))
        }
        Mode::Lambda => provisioner::transport::lambda::run(provisioner)
            .await
            .map_err(|e| e.to_string()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
