//! The core request handler shared by every transport (Lambda, `provisioner serve`): size check, signature,
//! command, action. Transports only translate their request into a [`RawRequest`] and the [`Reply`] back.

use crate::config::{ConfigError, ConfigStore, Loaded, Settings};
use crate::launcher::{LaunchError, Launcher, StartOutcome};
use crate::protocol::{Command, MAX_BODY_BYTES, RawRequest, SignatureError, verify};
use serde_json::json;
use std::sync::Arc;
use tracing::{Instrument, error, info, info_span, warn};

/// The only route Control Room calls.
pub const WORKER_REQUEST_PATH: &str = "/worker-request";

/// An HTTP answer: a status and a JSON body. Identical whichever transport carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    pub body: String,
}

impl Reply {
    fn json(status: u16, body: serde_json::Value) -> Reply {
        Reply {
            status,
            body: body.to_string(),
        }
    }

    /// 400: the request is not something we understand. Control Room does not retry.
    pub fn invalid(message: impl std::fmt::Display) -> Reply {
        Reply::json(
            400,
            json!({"status": "INVALID", "message": message.to_string()}),
        )
    }

    /// 403: authentication failed. Control Room does not retry.
    pub fn forbidden(message: impl std::fmt::Display) -> Reply {
        Reply::json(
            403,
            json!({"status": "FORBIDDEN", "message": format!("signature check failed: {message}")}),
        )
    }

    /// 500: something on our side failed; Control Room retries.
    pub fn retryable(message: impl std::fmt::Display) -> Reply {
        Reply::json(
            500,
            json!({"status": "ERROR", "message": message.to_string()}),
        )
    }

    pub fn not_found() -> Reply {
        Reply::json(
            404,
            json!({"status": "NOT_FOUND", "message": format!("no such route: use POST {WORKER_REQUEST_PATH}")}),
        )
    }

    pub fn method_not_allowed() -> Reply {
        Reply::json(
            405,
            json!({"status": "METHOD_NOT_ALLOWED", "message": format!("{WORKER_REQUEST_PATH} accepts POST only")}),
        )
    }
}

/// The provisioner: configuration plus the ECS launcher. One per process, shared by all requests.
pub struct Provisioner {
    config: Result<ConfigStore, ConfigError>,
    launcher: Launcher,
}

/// Timeouts and retries for every AWS call: a request must get its answer well inside the Lambda timeout
/// (worst case: config load + describe/register + list + run, each bounded by the operation timeout).
pub async fn sdk_config() -> aws_config::SdkConfig {
    use aws_config::retry::RetryConfig;
    use aws_config::timeout::TimeoutConfig;
    use std::time::Duration;
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(1))
                .operation_attempt_timeout(Duration::from_millis(1500))
                .operation_timeout(Duration::from_secs(3))
                .build(),
        )
        .retry_config(RetryConfig::standard().with_max_attempts(3))
        .load()
        .await
}

impl Provisioner {
    pub fn new(
        settings: Result<Settings, ConfigError>,
        sdk: &aws_config::SdkConfig,
    ) -> Provisioner {
        Provisioner {
            config: settings.map(|s| ConfigStore::new(s, sdk)),
            launcher: Launcher::new(sdk),
        }
    }

    /// From the process environment (see [`crate::config`]). A missing variable does not stop the process:
    /// every request is answered 500 with the variable's name, which is what an operator needs to see.
    pub async fn from_env() -> Provisioner {
        let settings = Settings::from_env(|k| std::env::var(k).ok());
        if let Err(e) = &settings {
            error!(error = %e, "configuration incomplete");
        }
        Provisioner::new(settings, &sdk_config().await)
    }

    /// Handles one request. `request_id` tags every log line; `now_epoch_ms` is the server clock used for the
    /// timestamp check.
    pub async fn handle(&self, req: &RawRequest<'_>, request_id: &str, now_epoch_ms: i64) -> Reply {
        let span = info_span!("request", request_id, runtime_id = tracing::field::Empty);
        async {
            let reply = self.handle_inner(req, now_epoch_ms).await;
            if reply.status >= 500 {
                error!(status = reply.status, body = %reply.body, "request failed");
            } else if reply.status >= 400 {
                warn!(status = reply.status, body = %reply.body, "request refused");
            } else {
                info!(status = reply.status, "request done");
            }
            reply
        }
        .instrument(span)
        .await
    }

    async fn handle_inner(&self, req: &RawRequest<'_>, now_epoch_ms: i64) -> Reply {
        if req.raw_path != WORKER_REQUEST_PATH {
            return Reply::not_found();
        }
        if req.method != "POST" {
            return Reply::method_not_allowed();
        }
        if req.body.len() > MAX_BODY_BYTES {
            return Reply::invalid(format!(
                "request body is {} bytes; at most {MAX_BODY_BYTES} are accepted",
                req.body.len()
            ));
        }
        let store = match &self.config {
            Ok(store) => store,
            Err(e) => return Reply::retryable(e),
        };
        let loaded = match self.authenticate(store, req, now_epoch_ms).await {
            Ok(loaded) => loaded,
            Err(reply) => return reply,
        };
        let command = match Command::parse(req.body) {
            Ok(command) => command,
            Err(e) => return Reply::invalid(e),
        };
        if let Some(ids) = command.ids() {
            tracing::Span::current().record("runtime_id", ids.runtime_id.as_str());
        }
        info!(command = command.name(), "authenticated command");
        self.execute(store, &loaded, command).await
    }

    /// Verifies the signature; on a mismatch, reloads the secret once (rate-limited) in case it was just
    /// rotated.
    async fn authenticate(
        &self,
        store: &ConfigStore,
        req: &RawRequest<'_>,
        now_epoch_ms: i64,
    ) -> Result<Arc<Loaded>, Reply> {
        let loaded = store.get().await.map_err(Reply::retryable)?;
        match verify(req, loaded.secrets.as_slice(), now_epoch_ms) {
            Ok(_) => Ok(loaded),
            Err(SignatureError::Mismatch) => match store.reload_if_stale().await {
                Ok(Some(fresh)) if verify(req, fresh.secrets.as_slice(), now_epoch_ms).is_ok() => {
                    Ok(fresh)
                }
                Ok(_) => Err(Reply::forbidden(SignatureError::Mismatch)),
                Err(e) => Err(Reply::retryable(e)),
            },
            Err(e) => Err(Reply::forbidden(e)),
        }
    }

    async fn execute(&self, store: &ConfigStore, loaded: &Loaded, command: Command) -> Reply {
        let cluster = &loaded.cluster;
        let launch_failed = |e: LaunchError| Reply::retryable(e);
        match command {
            Command::Status => match self.launcher.cluster_status(cluster).await {
                Ok(status) if status == "ACTIVE" => {
                    Reply::json(200, json!({"version": 1, "status": "OK"}))
                }
                Ok(status) => Reply::json(
                    500,
                    json!({"version": 1, "status": "UNHEALTHY",
                           "message": format!("cluster {} is {status}, not ACTIVE", cluster.cluster_arn)}),
                ),
                Err(e) => Reply::json(
                    500,
                    json!({"version": 1, "status": "UNHEALTHY", "message": e.to_string()}),
                ),
            },
            Command::Start(start) => {
                let worker_name = start.ids.worker_name();
                match self
                    .launcher
                    .start(cluster, &store.settings().worker_image, &start)
                    .await
                {
                    Ok(StartOutcome::Launched { task_arn }) => {
                        info!(task_arn, worker_name, "worker launched");
                        Reply::json(
                            200,
                            json!({"status": "OK", "message": "worker launched",
                                   "taskArn": task_arn, "workerName": worker_name}),
                        )
                    }
                    Ok(StartOutcome::AlreadyRunning { task_arn }) => {
                        info!(
                            task_arn,
                            worker_name, "worker already running; nothing launched"
                        );
                        Reply::json(
                            200,
                            json!({"status": "OK", "message": "worker already running",
                                   "taskArn": task_arn, "workerName": worker_name}),
                        )
                    }
                    Err(e) => launch_failed(e),
                }
            }
            Command::Stop(ids) => {
                match self
                    .launcher
                    .stop(cluster, &ids, "Stopped by Control Room request")
                    .await
                {
                    Ok(stopped) => {
                        info!(stopped = stopped.len(), "stop handled");
                        Reply::json(
                            200,
                            json!({"status": "OK",
                                   "message": if stopped.is_empty() { "no running worker for this runtime" } else { "worker stopped" },
                                   "stoppedTasks": stopped}),
                        )
                    }
                    Err(e) => launch_failed(e),
                }
            }
        }
    }
}
