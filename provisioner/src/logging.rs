//! Structured logs: JSON lines on Lambda (CloudWatch Logs Insights can query them), text locally.
//!
//! Every line inside a request carries the request id and, once known, the runtime id (span fields). AWS SDK
//! and HTTP-library events below WARN are dropped whatever `RUST_LOG` says: at debug and trace they print
//! request and response bodies, and one of those responses is the shared secret.

use tracing_subscriber::filter::{EnvFilter, FilterFn, LevelFilter};
use tracing_subscriber::prelude::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Json,
    Text,
}

impl LogFormat {
    /// `PROVISIONER_LOG_FORMAT` if set, else JSON on Lambda and text elsewhere.
    pub fn from_env() -> LogFormat {
        match std::env::var(crate::config::ENV_LOG_FORMAT).ok().as_deref() {
            Some("json") => LogFormat::Json,
            Some("text") => LogFormat::Text,
            _ if std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_some() => LogFormat::Json,
            _ => LogFormat::Text,
        }
    }
}

/// Whether an event may be logged at all (see the module docs).
fn allowed(target: &str, level: &tracing::Level) -> bool {
    let noisy = ["aws_", "hyper", "h2", "rustls", "lambda_runtime"]
        .iter()
        .any(|prefix| target.starts_with(prefix));
    !noisy || *level <= tracing::Level::WARN
}

/// Installs the global subscriber writing to stderr. Safe to call more than once (later calls do nothing).
pub fn init(format: LogFormat) {
    let env = EnvFilter::builder()
        .with_default_directive(LevelFilter::INFO.into())
        .from_env_lossy();
    crate::metrics::enable(format == LogFormat::Json);
    let guard = FilterFn::new(|meta| allowed(meta.target(), meta.level()));
    let registry = tracing_subscriber::registry().with(env);
    let result = match format {
        LogFormat::Json => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_current_span(true)
                    .with_span_list(false)
                    .with_writer(std::io::stderr)
                    .with_filter(guard),
            )
            .try_init(),
        LogFormat::Text => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .with_writer(std::io::stderr)
                    .with_filter(guard),
            )
            .try_init(),
    };
    let _ = result;
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing::Level;

    #[test]
    fn sdk_debug_events_are_never_allowed() {
        assert!(!allowed("aws_smithy_runtime::client", &Level::DEBUG));
        assert!(!allowed("aws_sdk_secretsmanager", &Level::TRACE));
        assert!(allowed("aws_smithy_runtime::client", &Level::WARN));
        assert!(allowed("provisioner::handler", &Level::DEBUG));
    }
}
