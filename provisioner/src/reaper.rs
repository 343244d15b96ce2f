//! The orphan reaper: stops our tasks that outlived their deadline, and those stuck waiting for capacity.
//!
//! A worker normally ends itself (it runs one step and exits). The reaper is the safety net for the rest: a
//! worker that never linked, a robot that hangs, a run Control Room forgot, a task that no instance will ever
//! take. It runs on a schedule (EventBridge → the provisioner) and as `cargo xtask reap`. It only ever stops
//! tasks carrying our `managed-by` tag: anything else on the cluster is not ours to judge.
//!
//! [`judge`] is the whole policy, pure; [`reap`] is the I/O around it.

use crate::aws_error::describe;
use crate::launcher::{
    LaunchError, MANAGED_BY_VALUE, TAG_DEADLINE, TAG_LAUNCHED_AT, TAG_MANAGED_BY, TAG_RUNTIME_ID,
};
use aws_sdk_ecs::types::{DesiredStatus, TaskField};
use std::time::Duration;

/// What the reaper knows of a task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedTask {
    pub arn: String,
    pub last_status: String,
    pub tags: Vec<(String, String)>,
}

impl ObservedTask {
    fn tag(&self, key: &str) -> Option<&str> {
        self.tags
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Keep,
    /// Stop, with the reason recorded on the task (ECS shows it as the stopped reason).
    Stop(String),
}

/// Statuses of a task that has not started yet (ECS task lifecycle).
const WAITING: [&str; 3] = ["PROVISIONING", "PENDING", "ACTIVATING"];

/// Decides one task's fate at `now_s` (Unix seconds).
pub fn judge(task: &ObservedTask, now_s: u64, pending_grace: Duration) -> Verdict {
    if task.tag(TAG_MANAGED_BY) != Some(MANAGED_BY_VALUE) {
        return Verdict::Keep;
    }
    let seconds = |key: &str| task.tag(key).and_then(|v| v.parse::<u64>().ok());
    if let Some(deadline) = seconds(TAG_DEADLINE)
        && now_s >= deadline
    {
        return Verdict::Stop(format!(
            "Reaped: past its lifetime (deadline {deadline}, {} s ago)",
            now_s - deadline
        ));
    }
    if WAITING.contains(&task.last_status.as_str())
        && let Some(launched) = seconds(TAG_LAUNCHED_AT)
    {
        let waited = now_s.saturating_sub(launched);
        if waited > pending_grace.as_secs() {
            return Verdict::Stop(format!(
                "Reaped: still {} after {waited} s (grace {} s): no capacity to place it",
                task.last_status,
                pending_grace.as_secs()
            ));
        }
    }
    Verdict::Keep
}

/// What one reaper pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReapReport {
    /// Tasks looked at (every task of the cluster meant to be running).
    pub examined: usize,
    /// (task ARN, runtime id, reason) of each task stopped (or, in a dry run, that would be).
    pub stopped: Vec<(String, String, String)>,
    /// (task ARN, error) of each task that should have been stopped but could not be.
    pub failed: Vec<(String, String)>,
}

fn aws_err(operation: &'static str) -> impl Fn(String) -> LaunchError {
    move |message| LaunchError::Aws { operation, message }
}

/// Every task of `cluster_arn` whose desired status is RUNNING, with its tags.
pub async fn observe(
    ecs: &aws_sdk_ecs::Client,
    cluster_arn: &str,
) -> Result<Vec<ObservedTask>, LaunchError> {
    let mut arns = Vec::new();
    let mut next = None;
    loop {
        let out = ecs
            .list_tasks()
            .cluster(cluster_arn)
            .desired_status(DesiredStatus::Running)
            .set_next_token(next)
            .send()
            .await
            .map_err(|e| aws_err("ListTasks")(describe(&e)))?;
        arns.extend(out.task_arns().iter().cloned());
        next = out.next_token().map(str::to_owned);
        if next.is_none() {
            break;
        }
    }
    let mut tasks = Vec::with_capacity(arns.len());
    // DescribeTasks takes at most 100 tasks per call.
    for chunk in arns.chunks(100) {
        let out = ecs
            .describe_tasks()
            .cluster(cluster_arn)
            .set_tasks(Some(chunk.to_vec()))
            .include(TaskField::Tags)
            .send()
            .await
            .map_err(|e| aws_err("DescribeTasks")(describe(&e)))?;
        tasks.extend(out.tasks().iter().map(|t| {
            ObservedTask {
                arn: t.task_arn().unwrap_or_default().to_string(),
                last_status: t.last_status().unwrap_or_default().to_string(),
                tags: t
                    .tags()
                    .iter()
                    .map(|tag| {
                        (
                            tag.key().unwrap_or_default().to_string(),
                            tag.value().unwrap_or_default().to_string(),
                        )
                    })
                    .collect(),
            }
        }));
    }
    Ok(tasks)
}

/// One reaper pass over `cluster_arn` at `now_s`. With `dry_run`, reports without stopping anything.
pub async fn reap(
    ecs: &aws_sdk_ecs::Client,
    cluster_arn: &str,
    now_s: u64,
    pending_grace: Duration,
    dry_run: bool,
) -> Result<ReapReport, LaunchError> {
    let tasks = observe(ecs, cluster_arn).await?;
    let mut report = ReapReport {
        examined: tasks.len(),
        ..ReapReport::default()
    };
    for task in &tasks {
        let Verdict::Stop(reason) = judge(task, now_s, pending_grace) else {
            continue;
        };
        let runtime_id = task.tag(TAG_RUNTIME_ID).unwrap_or_default().to_string();
        if !dry_run
            && let Err(e) = ecs
                .stop_task()
                .cluster(cluster_arn)
                .task(&task.arn)
                .reason(&reason)
                .send()
                .await
        {
            report.failed.push((task.arn.clone(), describe(&e)));
            continue;
        }
        report.stopped.push((task.arn.clone(), runtime_id, reason));
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_788_000_000;
    const GRACE: Duration = Duration::from_secs(900);

    fn task(status: &str, tags: &[(&str, String)]) -> ObservedTask {
        ObservedTask {
            arn: "arn:aws:ecs:us-east-1:123456789012:task/c/1".into(),
            last_status: status.into(),
            tags: tags
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
        }
    }

    fn ours(status: &str, deadline: u64, launched: u64) -> ObservedTask {
        task(
            status,
            &[
                (TAG_MANAGED_BY, MANAGED_BY_VALUE.to_string()),
                (TAG_DEADLINE, deadline.to_string()),
                (TAG_LAUNCHED_AT, launched.to_string()),
            ],
        )
    }

    #[test]
    fn a_task_past_its_deadline_is_stopped_whatever_its_status() {
        for status in ["RUNNING", "PENDING"] {
            let v = judge(&ours(status, NOW - 5, NOW - 3600), NOW, GRACE);
            assert!(
                matches!(&v, Verdict::Stop(r) if r.contains("past its lifetime") && r.contains("5 s ago")),
                "{v:?}"
            );
        }
        // At the deadline itself, too.
        assert!(matches!(
            judge(&ours("RUNNING", NOW, NOW - 10), NOW, GRACE),
            Verdict::Stop(_)
        ));
    }

    #[test]
    fn a_running_task_before_its_deadline_is_kept() {
        assert_eq!(
            judge(&ours("RUNNING", NOW + 1, NOW - 86_000), NOW, GRACE),
            Verdict::Keep
        );
    }

    #[test]
    fn a_task_waiting_for_capacity_beyond_the_grace_is_stopped() {
        for status in WAITING {
            let v = judge(&ours(status, NOW + 3600, NOW - 901), NOW, GRACE);
            assert!(
                matches!(&v, Verdict::Stop(r) if r.contains(status) && r.contains("901 s")),
                "{status}: {v:?}"
            );
            // Within the grace it may still be placed.
            assert_eq!(
                judge(&ours(status, NOW + 3600, NOW - 900), NOW, GRACE),
                Verdict::Keep
            );
        }
    }

    #[test]
    fn tasks_without_our_tag_are_never_stopped() {
        let foreign = |managed_by: Option<&str>| {
            let mut tags = vec![
                (TAG_DEADLINE, (NOW - 100).to_string()),
                (TAG_LAUNCHED_AT, (NOW - 100_000).to_string()),
            ];
            if let Some(m) = managed_by {
                tags.push((TAG_MANAGED_BY, m.to_string()));
            }
            task("PENDING", &tags)
        };
        assert_eq!(judge(&foreign(None), NOW, GRACE), Verdict::Keep);
        assert_eq!(
            judge(&foreign(Some("someone-else")), NOW, GRACE),
            Verdict::Keep
        );
    }

    #[test]
    fn unreadable_tags_keep_the_task() {
        let t = task(
            "PENDING",
            &[
                (TAG_MANAGED_BY, MANAGED_BY_VALUE.to_string()),
                (TAG_DEADLINE, "soon".to_string()),
                (TAG_LAUNCHED_AT, "".to_string()),
            ],
        );
        assert_eq!(judge(&t, NOW, GRACE), Verdict::Keep);
    }

    #[test]
    fn stop_reasons_fit_ecs_limit() {
        let Verdict::Stop(r) = judge(&ours("PROVISIONING", u64::MAX, 0), NOW, GRACE) else {
            panic!()
        };
        assert!(r.len() <= 255, "{r}");
    }
}
