//! Launching, finding and stopping worker tasks on ECS.
//!
//! One task per robot run. Every task carries tags naming the workspace, the runtime and its deadline, and a
//! `startedBy` derived from the ids, so `stop` and the duplicate check find a run's tasks with one `ListTasks`.

use crate::aws_error::describe;
use crate::config::{ClusterConfig, LifetimePolicy};
use crate::protocol::{Ids, StartRequest};
use aws_sdk_ecs::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_ecs::types::{
    CapacityProviderStrategyItem, ContainerDefinition, ContainerOverride, KeyValuePair,
    LogConfiguration, LogDriver, NetworkMode, Tag, TaskOverride,
};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, Mutex as StdMutex};
use std::time::{SystemTime, UNIX_EPOCH};
use tokio::sync::Mutex;

/// The container's name inside the task definition (overrides refer to it).
pub const CONTAINER_NAME: &str = "worker";
/// Environment the worker's start script reads.
pub const ENV_LINK_TOKEN: &str = "RC_WORKER_LINK_TOKEN";
pub const ENV_WORKER_NAME: &str = "RC_WORKER_NAME";

/// Tags on every task we launch. The reaper only ever touches tasks tagged [`TAG_MANAGED_BY`].
pub const TAG_MANAGED_BY: &str = "odw:managed-by";
pub const MANAGED_BY_VALUE: &str = "ecs-on-demand-worker";
pub const TAG_WORKSPACE_ID: &str = "odw:workspace-id";
pub const TAG_RUNTIME_ID: &str = "odw:runtime-id";
/// Unix time (seconds) after which the task is past its lifetime.
pub const TAG_DEADLINE: &str = "odw:deadline";
/// Unix time (seconds) of the RunTask call: how long a task has waited for capacity, whatever ECS reports.
pub const TAG_LAUNCHED_AT: &str = "odw:launched-at";

/// The worker task definition, derived from the cluster configuration and the image. Its family name ends in
/// a hash of its content, so every process (every Lambda instance) derives the same family for the same
/// definition, and a changed definition gets a new family instead of silently drifting.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TaskDefinitionSpec {
    #[serde(skip)]
    pub family: String,
    pub image: String,
    pub cpu: i32,
    pub memory_reservation: i32,
    pub task_role_arn: String,
    pub execution_role_arn: String,
    pub log_group: String,
    pub log_region: String,
}

impl TaskDefinitionSpec {
    pub fn new(cluster: &ClusterConfig, image: &str) -> TaskDefinitionSpec {
        let mut spec = TaskDefinitionSpec {
            family: String::new(),
            image: image.to_string(),
            cpu: cluster.worker_cpu,
            memory_reservation: cluster.worker_memory_reservation,
            task_role_arn: cluster.task_role_arn.clone(),
            execution_role_arn: cluster.execution_role_arn.clone(),
            log_group: cluster.log_group.clone(),
            log_region: cluster.log_region.clone(),
        };
        // Field order is fixed by the struct, so this serialisation is canonical.
        let canonical = serde_json::to_vec(&spec).expect("plain struct serialises");
        let hash = hex::encode(Sha256::digest(&canonical));
        spec.family = format!("{}-{}", cluster.task_family_prefix, &hash[..16]);
        spec
    }

    fn container(&self) -> ContainerDefinition {
        ContainerDefinition::builder()
            .name(CONTAINER_NAME)
            .image(&self.image)
            .essential(true)
            .cpu(self.cpu)
            .memory_reservation(self.memory_reservation)
            .log_configuration(
                LogConfiguration::builder()
                    .log_driver(LogDriver::Awslogs)
                    .options("awslogs-group", &self.log_group)
                    .options("awslogs-region", &self.log_region)
                    .options("awslogs-stream-prefix", "worker")
                    .build()
                    .expect("log driver is set"),
            )
            .build()
    }
}

/// The stable key of one robot run (64 hex characters): its `startedBy` and its in-process lock.
pub fn run_key(ids: &Ids) -> String {
    let mut h = Sha256::new();
    h.update(ids.workspace_id.as_bytes());
    h.update(b"\n");
    h.update(ids.runtime_id.as_bytes());
    hex::encode(h.finalize())
}

/// The `startedBy` of a run's tasks (ECS allows 36 characters, so ids cannot be used directly).
pub fn started_by(ids: &Ids) -> String {
    format!("odw-{}", &run_key(ids)[..32])
}

/// RunTask's `clientToken` for one start request (64 hex characters, ECS's limit): the run and its link
/// token. A retry or replay of the same request reuses it, so ECS launches at most one task for it; a new
/// start of the same run (Control Room issues a fresh link token) gets a new one and may launch again.
pub fn client_token(request: &StartRequest) -> String {
    let mut h = Sha256::new();
    h.update(run_key(&request.ids).as_bytes());
    h.update(b"\n");
    h.update(request.link_token.expose().as_bytes());
    hex::encode(h.finalize())
}

/// Why a launcher call failed. All are worth a retry by Control Room (answered 500).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LaunchError {
    #[error("ECS {operation} failed: {message}")]
    Aws {
        operation: &'static str,
        message: String,
    },
    #[error("ECS could not place the worker task: {0}")]
    NotPlaced(String),
}

fn aws_err<E, R>(operation: &'static str) -> impl FnOnce(SdkError<E, R>) -> LaunchError
where
    E: std::error::Error + ProvideErrorMetadata + 'static,
    R: std::fmt::Debug,
{
    move |e| LaunchError::Aws {
        operation,
        message: describe(&e),
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartOutcome {
    Launched {
        task_arn: String,
    },
    /// The run already has a task (a retried or replayed start): nothing was launched.
    AlreadyRunning {
        task_arn: String,
    },
    /// ECS refused the RunTask as a repeat of a start it already handled (same `clientToken`), and the run
    /// has no task running now: its worker was launched by an earlier attempt and has ended. Nothing was
    /// launched, and a retry would change nothing.
    AlreadyHandled,
}

impl StartOutcome {
    /// What Control Room is told, whichever transport carried the start.
    pub fn message(&self) -> &'static str {
        match self {
            StartOutcome::Launched { .. } => "worker launched",
            StartOutcome::AlreadyRunning { .. } => "worker already running",
            StartOutcome::AlreadyHandled => "start already handled; the run's worker has ended",
        }
    }

    /// The run's task, when it has one.
    pub fn task_arn(&self) -> Option<&str> {
        match self {
            StartOutcome::Launched { task_arn } | StartOutcome::AlreadyRunning { task_arn } => {
                Some(task_arn)
            }
            StartOutcome::AlreadyHandled => None,
        }
    }

    /// The answer's JSON: status, message and, when there is one, the task.
    pub fn answer(&self) -> serde_json::Value {
        let mut answer = serde_json::json!({"status": "OK", "message": self.message()});
        if let Some(task_arn) = self.task_arn() {
            answer["taskArn"] = task_arn.into();
        }
        answer
    }
}

pub struct Launcher {
    ecs: aws_sdk_ecs::Client,
    /// family → task definition ARN, registered or found by this process.
    task_definitions: Mutex<HashMap<String, String>>,
    /// Serialises starts of the same run within this process, so concurrent duplicates cannot both pass
    /// the "already running?" check. Across processes, RunTask's `clientToken` does that on AWS.
    run_locks: StdMutex<HashMap<String, Arc<Mutex<()>>>>,
}

impl Launcher {
    pub fn new(sdk: &aws_config::SdkConfig) -> Launcher {
        Launcher {
            ecs: aws_sdk_ecs::Client::new(sdk),
            task_definitions: Mutex::new(HashMap::new()),
            run_locks: StdMutex::new(HashMap::new()),
        }
    }

    /// The ECS client (the reaper lists, describes and stops tasks with it).
    pub fn ecs(&self) -> &aws_sdk_ecs::Client {
        &self.ecs
    }

    /// The ARN of the task definition for `spec`: from this process's cache, else an existing registration
    /// of the family, else a new registration.
    async fn task_definition_arn(&self, spec: &TaskDefinitionSpec) -> Result<String, LaunchError> {
        let mut cache = self.task_definitions.lock().await;
        if let Some(arn) = cache.get(&spec.family) {
            return Ok(arn.clone());
        }
        let existing = self
            .ecs
            .describe_task_definition()
            .task_definition(&spec.family)
            .send()
            .await;
        let arn = match existing {
            Ok(out) => out
                .task_definition()
                .filter(|td| td.status().map(|s| s.as_str()) == Some("ACTIVE"))
                .and_then(|td| td.task_definition_arn())
                .map(str::to_owned),
            // ECS answers an unknown family with a ClientException; anything else (throttling, access
            // denied, transport) is a real failure, not a reason to register yet another revision.
            Err(SdkError::ServiceError(e)) if e.err().code() == Some("ClientException") => None,
            Err(e) => return Err(aws_err("DescribeTaskDefinition")(e)),
        };
        let arn = match arn {
            Some(arn) => arn,
            None => self
                .ecs
                .register_task_definition()
                .family(&spec.family)
                .network_mode(NetworkMode::Bridge)
                // No `requiresCompatibilities`: EC2 is the default, and declaring it would demand a hard
                // memory limit, while workers get a soft reservation so a hungry browser is not OOM-killed.
                .task_role_arn(&spec.task_role_arn)
                .execution_role_arn(&spec.execution_role_arn)
                .container_definitions(spec.container())
                .send()
                .await
                .map_err(aws_err("RegisterTaskDefinition"))?
                .task_definition()
                .and_then(|td| td.task_definition_arn())
                .map(str::to_owned)
                .ok_or_else(|| LaunchError::Aws {
                    operation: "RegisterTaskDefinition",
                    message: "response has no task definition ARN".into(),
                })?,
        };
        cache.insert(spec.family.clone(), arn.clone());
        Ok(arn)
    }

    /// The run's tasks that are meant to be running (pending, provisioning or running).
    ///
    /// `startedBy` must be ListTasks' only filter (ECS refuses it with others, `desiredStatus` included);
    /// ECS then lists the RUNNING desired status by default, but not every implementation does (the
    /// emulator lists stopped tasks too). So when the list is not empty, DescribeTasks confirms each one's
    /// desired status: one more call, made only when the run already has tasks (a duplicate, or a stop).
    pub async fn find_tasks(
        &self,
        cluster: &ClusterConfig,
        ids: &Ids,
    ) -> Result<Vec<String>, LaunchError> {
        let mut arns = Vec::new();
        let mut next = None;
        loop {
            let out = self
                .ecs
                .list_tasks()
                .cluster(&cluster.cluster_arn)
                .started_by(started_by(ids))
                .set_next_token(next)
                .send()
                .await
                .map_err(aws_err("ListTasks"))?;
            arns.extend(out.task_arns().iter().cloned());
            next = out.next_token().map(str::to_owned);
            if next.is_none() {
                break;
            }
        }
        let mut running = Vec::new();
        for chunk in arns.chunks(100) {
            let out = self
                .ecs
                .describe_tasks()
                .cluster(&cluster.cluster_arn)
                .set_tasks(Some(chunk.to_vec()))
                .send()
                .await
                .map_err(aws_err("DescribeTasks"))?;
            running.extend(
                out.tasks()
                    .iter()
                    .filter(|t| t.desired_status() == Some("RUNNING"))
                    .filter_map(|t| t.task_arn().map(str::to_owned)),
            );
        }
        // Keep ListTasks' order (DescribeTasks may answer in any).
        arns.retain(|arn| running.contains(arn));
        Ok(arns)
    }

    fn run_lock(&self, key: &str) -> Arc<Mutex<()>> {
        let mut locks = self.run_locks.lock().expect("run lock map poisoned");
        if locks.len() > 10_000 {
            locks.retain(|_, lock| Arc::strong_count(lock) > 1);
        }
        locks.entry(key.to_string()).or_default().clone()
    }

    /// Launches the run's worker unless it already has one.
    ///
    /// RunTask is sent once, never retried inside the request: an attempt that timed out may still have
    /// launched the task, and a blind retry would launch a second one wherever `clientToken` is not honoured
    /// (the emulator ignores it). The request fails with a 500 instead; Control Room's retry then finds the
    /// task with ListTasks and launches nothing.
    pub async fn start(
        &self,
        cluster: &ClusterConfig,
        image: &str,
        lifetimes: &LifetimePolicy,
        request: &StartRequest,
    ) -> Result<StartOutcome, LaunchError> {
        let key = run_key(&request.ids);
        let lock = self.run_lock(&key);
        let _guard = lock.lock().await;

        if let Some(task_arn) = self
            .find_tasks(cluster, &request.ids)
            .await?
            .into_iter()
            .next()
        {
            return Ok(StartOutcome::AlreadyRunning { task_arn });
        }
        let spec = TaskDefinitionSpec::new(cluster, image);
        let task_definition = self.task_definition_arn(&spec).await?;

        let lifetime = lifetimes.grant(request.max_lifetime_seconds);
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default();
        let env = |name: &str, value: &str| KeyValuePair::builder().name(name).value(value).build();
        let tag = |key: &str, value: &str| Tag::builder().key(key).value(value).build();
        let mut run = self
            .ecs
            .run_task()
            .cluster(&cluster.cluster_arn)
            .task_definition(task_definition)
            .count(1)
            .started_by(started_by(&request.ids))
            .client_token(client_token(request))
            .overrides(
                TaskOverride::builder()
                    .container_overrides(
                        ContainerOverride::builder()
                            .name(CONTAINER_NAME)
                            .environment(env(ENV_LINK_TOKEN, request.link_token.expose()))
                            .environment(env(ENV_WORKER_NAME, &request.ids.worker_name()))
                            .build(),
                    )
                    .build(),
            )
            .tags(tag(TAG_MANAGED_BY, MANAGED_BY_VALUE))
            .tags(tag(TAG_WORKSPACE_ID, &request.ids.workspace_id))
            .tags(tag(TAG_RUNTIME_ID, &request.ids.runtime_id))
            .tags(tag(TAG_DEADLINE, &(now + lifetime).to_string()))
            .tags(tag(TAG_LAUNCHED_AT, &now.to_string()));
        if let Some(provider) = &cluster.capacity_provider {
            run = run.capacity_provider_strategy(
                CapacityProviderStrategyItem::builder()
                    .capacity_provider(provider)
                    .weight(1)
                    .build()
                    .expect("capacity provider is set"),
            );
        }
        let sent = run
            .customize()
            .config_override(
                aws_sdk_ecs::config::Builder::default()
                    .retry_config(aws_sdk_ecs::config::retry::RetryConfig::disabled()),
            )
            .send()
            .await;
        let out = match sent {
            Ok(out) => out,
            // The same clientToken with other parameters (our tags carry the time of the call): an
            // earlier attempt of this very request reached ECS. If its task is there, it is this run's
            // worker; if not, that worker has already ended.
            Err(SdkError::ServiceError(e)) if e.err().code() == Some("ConflictException") => {
                return Ok(
                    match self.find_tasks(cluster, &request.ids).await?.first() {
                        Some(task_arn) => StartOutcome::AlreadyRunning {
                            task_arn: task_arn.clone(),
                        },
                        None => StartOutcome::AlreadyHandled,
                    },
                );
            }
            Err(e) => return Err(aws_err("RunTask")(e)),
        };
        if let Some(task_arn) = out.tasks().first().and_then(|t| t.task_arn()) {
            return Ok(StartOutcome::Launched {
                task_arn: task_arn.to_string(),
            });
        }
        let reasons: Vec<String> = out
            .failures()
            .iter()
            .map(|f| {
                format!(
                    "{} ({})",
                    f.reason().unwrap_or("unknown reason"),
                    f.detail().unwrap_or("no detail")
                )
            })
            .collect();
        Err(LaunchError::NotPlaced(if reasons.is_empty() {
            "RunTask returned neither a task nor a failure".into()
        } else {
            reasons.join("; ")
        }))
    }

    /// Stops every task of the run; returns the stopped task ARNs (none is fine: the run already ended).
    pub async fn stop(
        &self,
        cluster: &ClusterConfig,
        ids: &Ids,
        reason: &str,
    ) -> Result<Vec<String>, LaunchError> {
        let tasks = self.find_tasks(cluster, ids).await?;
        for task in &tasks {
            self.ecs
                .stop_task()
                .cluster(&cluster.cluster_arn)
                .task(task)
                .reason(reason)
                .send()
                .await
                .map_err(aws_err("StopTask"))?;
        }
        Ok(tasks)
    }

    /// The cluster's status as ECS reports it (`ACTIVE` when healthy).
    pub async fn cluster_status(&self, cluster: &ClusterConfig) -> Result<String, LaunchError> {
        let out = self
            .ecs
            .describe_clusters()
            .clusters(&cluster.cluster_arn)
            .send()
            .await
            .map_err(aws_err("DescribeClusters"))?;
        Ok(out
            .clusters()
            .first()
            .and_then(|c| c.status())
            .unwrap_or("MISSING")
            .to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cluster() -> ClusterConfig {
        ClusterConfig::parse(
            r#"{"cluster_arn":"arn:aws:ecs:us-east-1:123456789012:cluster/c","task_family_prefix":"odw-worker",
            "task_role_arn":"arn:t","execution_role_arn":"arn:e","log_group":"/g","log_region":"us-east-1"}"#,
        )
        .unwrap()
    }

    #[test]
    fn family_is_deterministic_and_tracks_content() {
        let a = TaskDefinitionSpec::new(&cluster(), "repo@sha256:aa");
        let b = TaskDefinitionSpec::new(&cluster(), "repo@sha256:aa");
        let c = TaskDefinitionSpec::new(&cluster(), "repo@sha256:bb");
        assert_eq!(a.family, b.family);
        assert_ne!(a.family, c.family);
        assert!(a.family.starts_with("odw-worker-"));
        assert_eq!(a.family.len(), "odw-worker-".len() + 16);
    }

    #[test]
    fn run_identity_fits_ecs_limits_and_separates_ids() {
        let ids = |w: &str, r: &str| Ids {
            workspace_id: w.into(),
            runtime_id: r.into(),
        };
        let long = "x".repeat(64);
        assert_eq!(started_by(&ids(&long, &long)).len(), 36);
        assert_eq!(run_key(&ids("a", "b")).len(), 64);
        assert_ne!(run_key(&ids("a", "bc")), run_key(&ids("ab", "c")));
        assert_eq!(run_key(&ids("a", "b")), run_key(&ids("a", "b")));
        let start = |token: &str| StartRequest {
            ids: ids("w", "r"),
            link_token: crate::protocol::LinkToken::new(token.into()).unwrap(),
            max_lifetime_seconds: None,
        };
        assert_eq!(client_token(&start("t1")), client_token(&start("t1")));
        assert_ne!(client_token(&start("t1")), client_token(&start("t2")));
        assert_eq!(client_token(&start("t1")).len(), 64);
        assert!(!client_token(&start("t1")).contains("t1"));
    }
}
