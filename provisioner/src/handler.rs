//! The core request handler shared by every transport (Lambda, `provisioner serve`): size check, signature,
//! command, action. Transports only translate their request into a [`RawRequest`] and the [`Reply`] back.

use crate::config::{ClusterConfig, ConfigError, ConfigStore, Loaded, Settings};
use crate::launcher::{LaunchError, Launcher, StartOutcome};
use crate::metrics::{self, Metric};
use crate::protocol::{
    Command, MAX_BODY_BYTES, RawRequest, Refusal, SignatureError, StartRequest, admit, precheck,
};
use crate::reaper::{self, ReapReport};
use serde_json::json;
use std::sync::Arc;
use tracing::{Instrument, error, info, info_span, warn};

pub use crate::protocol::WORKER_REQUEST_PATH;

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

    /// 500 before the caller is authenticated: the details (resource ARNs, the account id in an AWS
    /// AccessDenied message) are logged, not told to whoever sent the request.
    pub fn retryable_unauthenticated(detail: impl std::fmt::Display) -> Reply {
        error!(error = %detail, "could not load configuration");
        Reply::retryable(
            "could not load configuration from AWS; the details are in the provisioner's logs under this request's id",
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

    pub fn too_large(size: usize) -> Reply {
        Reply::invalid(format!(
            "request body is {size} bytes; at most {MAX_BODY_BYTES} are accepted"
        ))
    }

    pub fn refused(refusal: Refusal) -> Reply {
        match refusal {
            Refusal::NotFound => Reply::not_found(),
            Refusal::MethodNotAllowed => Reply::method_not_allowed(),
            Refusal::TooLarge(size) => Reply::too_large(size),
            Refusal::Forbidden(e) => Reply::forbidden(e),
            Refusal::Invalid(e) => Reply::invalid(e),
        }
    }
}

/// The provisioner: configuration plus the ECS launcher. One per process, shared by all requests.
pub struct Provisioner {
    pub(crate) config: Result<ConfigStore, ConfigError>,
    pub(crate) launcher: Launcher,
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
    /// Launches the run's worker, or finds it: the one place a start is logged and counted, whichever
    /// transport (HTTP or EventBridge) carried it.
    pub(crate) async fn start_worker(
        &self,
        cluster: &ClusterConfig,
        settings: &Settings,
        start: &StartRequest,
    ) -> Result<StartOutcome, LaunchError> {
        let worker_name = start.ids.worker_name();
        let outcome = self
            .launcher
            .start(cluster, &settings.worker_image, &settings.lifetimes, start)
            .await;
        let metric = match &outcome {
            Ok(StartOutcome::Launched { task_arn }) => {
                info!(task_arn, worker_name, "worker launched");
                Metric::WorkersStarted
            }
            Ok(StartOutcome::AlreadyRunning { task_arn }) => {
                info!(
                    task_arn,
                    worker_name, "worker already running; nothing launched"
                );
                Metric::DuplicateStarts
            }
            Ok(StartOutcome::AlreadyHandled) => {
                info!(
                    worker_name,
                    "start already handled by ECS; its worker has ended"
                );
                Metric::DuplicateStarts
            }
            Err(_) => Metric::StartFailures,
        };
        metrics::record(&settings.deployment, metric, 1);
        outcome
    }

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
                let metric = match reply.status {
                    403 => Metric::RejectedSignatures,
                    _ => Metric::InvalidRequests,
                };
                metrics::record(self.deployment(), metric, 1);
            } else {
                info!(status = reply.status, "request done");
            }
            reply
        }
        .instrument(span)
        .await
    }

    /// The metrics' `Deployment` dimension.
    pub(crate) fn deployment(&self) -> &str {
        self.config
            .as_ref()
            .map(|store| store.settings().deployment.as_str())
            .unwrap_or_default()
    }

    /// One reaper pass (see [`crate::reaper`]) over the configured cluster at `now_s`, logging each stop.
    pub async fn reap(&self, now_s: u64) -> Result<ReapReport, String> {
        let store = self.config.as_ref().map_err(|e| e.to_string())?;
        let loaded = store.get().await.map_err(|e| e.to_string())?;
        let report = reaper::reap(
            self.launcher.ecs(),
            &loaded.cluster.cluster_arn,
            now_s,
            store.settings().pending_grace,
            false,
        )
        .await
        .map_err(|e| e.to_string())?;
        for (task_arn, runtime_id, reason) in &report.stopped {
            warn!(task_arn, runtime_id, reason, "reaped a worker");
        }
        for (task_arn, error) in &report.failed {
            error!(task_arn, error, "could not reap a worker");
        }
        info!(
            examined = report.examined,
            stopped = report.stopped.len(),
            failed = report.failed.len(),
            "reaper pass done"
        );
        metrics::record(
            self.deployment(),
            Metric::WorkersReaped,
            report.stopped.len() as u64,
        );
        Ok(report)
    }

    async fn handle_inner(&self, req: &RawRequest<'_>, now_epoch_ms: i64) -> Reply {
        // Route, method and size need no configuration: answer those even when it is broken.
        if let Err(refusal) = precheck(req) {
            return Reply::refused(refusal);
        }
        let store = match &self.config {
            Ok(store) => store,
            Err(e) => return Reply::retryable(e),
        };
        let (loaded, command) = match self.admit(store, req, now_epoch_ms).await {
            Ok(admitted) => admitted,
            Err(reply) => return reply,
        };
        if let Some(ids) = command.ids() {
            tracing::Span::current().record("runtime_id", ids.runtime_id.as_str());
        }
        info!(command = command.name(), "authenticated command");
        self.execute(store, &loaded, command).await
    }

    /// [`admit`]s the request with the cached secrets; on a signature mismatch, reloads them once
    /// (rate-limited) in case the secret was just rotated, and tries again.
    async fn admit(
        &self,
        store: &ConfigStore,
        req: &RawRequest<'_>,
        now_epoch_ms: i64,
    ) -> Result<(Arc<Loaded>, Command), Reply> {
        let loaded = store
            .get()
            .await
            .map_err(Reply::retryable_unauthenticated)?;
        match admit(req, loaded.secrets.as_slice(), now_epoch_ms) {
            Ok(command) => Ok((loaded, command)),
            Err(Refusal::Forbidden(SignatureError::Mismatch)) => {
                match store.reload_if_stale(&loaded).await {
                    Ok(Some(fresh)) => match admit(req, fresh.secrets.as_slice(), now_epoch_ms) {
                        Ok(command) => Ok((fresh, command)),
                        Err(refusal) => Err(Reply::refused(refusal)),
                    },
                    Ok(None) => Err(Reply::forbidden(SignatureError::Mismatch)),
                    Err(e) => Err(Reply::retryable_unauthenticated(e)),
                }
            }
            Err(refusal) => Err(Reply::refused(refusal)),
        }
    }

    async fn execute(&self, store: &ConfigStore, loaded: &Loaded, command: Command) -> Reply {
        let cluster = &loaded.cluster;
        let settings = store.settings();
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
            Command::Start(start) => match self.start_worker(cluster, settings, &start).await {
                Ok(outcome) => {
                    let mut answer = outcome.answer();
                    answer["workerName"] = start.ids.worker_name().into();
                    Reply::json(200, answer)
                }
                Err(e) => launch_failed(e),
            },
            Command::Stop(ids) => {
                match self
                    .launcher
                    .stop(cluster, &ids, "Stopped by Control Room request")
                    .await
                {
                    Ok(stopped) => {
                        info!(stopped = stopped.len(), "stop handled");
                        metrics::record(
                            &settings.deployment,
                            Metric::WorkersStopped,
                            stopped.len() as u64,
                        );
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
