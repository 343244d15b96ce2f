//! `cargo xtask local demo`: bring the local stack up, act as Control Room against it, tear it down.

use crate::invoke::{self, Answer};
use crate::local_stack::{self, Options, Stack};
use crate::progress::step;
use anyhow::{Context, Result, bail, ensure};
use provisioner::launcher::{ENV_LINK_TOKEN, ENV_WORKER_NAME, started_by};
use provisioner::protocol::Ids;

/// What the demo observed, for the end-to-end test to assert on.
#[derive(Debug)]
pub struct DemoReport {
    pub task_arn: String,
    pub link_token_in_overrides: bool,
    pub tasks_after_replay: usize,
    pub last_status_after_stop: String,
    pub token_absent_from_logs: bool,
}

fn random_hex(bytes: usize) -> Result<String> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).map_err(|e| anyhow::anyhow!("OS random generator failed: {e}"))?;
    Ok(hex::encode(buf))
}

fn show(answer: &Answer) -> String {
    format!("HTTP {} {}", answer.status, answer.body)
}

/// Runs the Control Room conversation against a running stack.
pub async fn converse(stack: &Stack) -> Result<DemoReport> {
    let info = &stack.info;
    let ids = Ids {
        workspace_id: "ws-demo".into(),
        runtime_id: random_hex(8)?,
    };
    let link_token = random_hex(24)?;
    let start = invoke::start_body(&ids.workspace_id, &ids.runtime_id, &link_token, Some(3600));

    let s = step("Control Room → start (signed)");
    // Sign once and send the very same bytes twice: the second is a replay.
    let headers = invoke::signed_headers(
        &info.provisioner_url,
        &info.secret,
        start.as_bytes(),
        invoke::now_epoch_s(),
    )?;
    let answer = invoke::post(&info.provisioner_url, &headers, start.as_bytes())?;
    ensure!(answer.status == 200, "start was refused: {}", show(&answer));
    let task_arn = answer.json()["taskArn"]
        .as_str()
        .context("start answer has no taskArn")?
        .to_string();
    s.done_with(&show(&answer).replace(&link_token, "<link token>"));

    let sdk = crate::aws::sdk_config(&stack.sdk_target()).await;
    let ecs = aws_sdk_ecs::Client::new(&sdk);
    let described = ecs
        .describe_tasks()
        .cluster(&info.cluster_arn)
        .tasks(&task_arn)
        .include(aws_sdk_ecs::types::TaskField::Tags)
        .send()
        .await
        .map_err(crate::aws::err("describing the task"))?;
    let task = described.tasks().first().context("task not found")?;
    let env: Vec<(String, String)> = task
        .overrides()
        .map(|o| o.container_overrides())
        .unwrap_or_default()
        .iter()
        .flat_map(|c| c.environment())
        .map(|kv| {
            (
                kv.name().unwrap_or_default().to_string(),
                kv.value().unwrap_or_default().to_string(),
            )
        })
        .collect();
    let value = |name: &str| env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let link_token_in_overrides = value(ENV_LINK_TOKEN).as_deref() == Some(link_token.as_str());
    println!("  task:        {task_arn}");
    println!("  status:      {}", task.last_status().unwrap_or("?"));
    println!(
        "  definition:  {}",
        task.task_definition_arn().unwrap_or("?")
    );
    println!("  started by:  {}", task.started_by().unwrap_or("?"));
    println!(
        "  worker name: {}",
        value(ENV_WORKER_NAME).unwrap_or_default()
    );
    println!(
        "  link token:  <redacted, {} characters; {} the one Control Room sent>",
        value(ENV_LINK_TOKEN).map(|v| v.len()).unwrap_or(0),
        if link_token_in_overrides {
            "matches"
        } else {
            "DOES NOT MATCH"
        }
    );
    for tag in task.tags() {
        println!(
            "  tag:         {} = {}",
            tag.key().unwrap_or_default(),
            tag.value().unwrap_or_default()
        );
    }

    let s = step("Control Room → the same start again (a replay)");
    let replay = invoke::post(&info.provisioner_url, &headers, start.as_bytes())?;
    ensure!(replay.status == 200, "replay answered {}", show(&replay));
    let running = ecs
        .list_tasks()
        .cluster(&info.cluster_arn)
        .started_by(started_by(&ids))
        .send()
        .await
        .map_err(crate::aws::err("listing tasks"))?;
    let tasks_after_replay = running.task_arns().len();
    ensure!(
        tasks_after_replay == 1 && replay.json()["taskArn"] == task_arn.as_str(),
        "the replay was not deduplicated: {} task(s) for this run; answer {}",
        tasks_after_replay,
        show(&replay)
    );
    s.done_with(&format!(
        "{}; tasks for this run: {tasks_after_replay}",
        show(&replay)
    ));

    let s = step("Control Room → status");
    let status = invoke::send_signed(&info.provisioner_url, &info.secret, &invoke::status_body())?;
    ensure!(status.status == 200, "status answered {}", show(&status));
    s.done_with(&show(&status));

    let s = step("Control Room → stop");
    let stop = invoke::send_signed(
        &info.provisioner_url,
        &info.secret,
        &invoke::stop_body(&ids.workspace_id, &ids.runtime_id),
    )?;
    ensure!(stop.status == 200, "stop answered {}", show(&stop));
    let after = ecs
        .describe_tasks()
        .cluster(&info.cluster_arn)
        .tasks(&task_arn)
        .send()
        .await
        .map_err(crate::aws::err("describing the task"))?;
    let last_status_after_stop = after
        .tasks()
        .first()
        .and_then(|t| t.last_status())
        .unwrap_or("?")
        .to_string();
    s.done_with(&format!(
        "{}; task is now {last_status_after_stop}",
        show(&stop)
    ));

    let s = step("check the provisioner's logs for the link token and secret");
    let logs = std::fs::read_to_string(stack.dir.join("provisioner.log")).unwrap_or_default();
    let token_absent_from_logs = !logs.contains(&link_token) && !logs.contains(&info.secret);
    if !token_absent_from_logs {
        bail!("the provisioner's log contains the link token or the shared secret");
    }
    s.done_with(&format!(
        "{} log lines, none with the token or the secret",
        logs.lines().count()
    ));

    Ok(DemoReport {
        task_arn,
        link_token_in_overrides,
        tasks_after_replay,
        last_status_after_stop,
        token_absent_from_logs,
    })
}

/// The whole demo: up, converse, down (also on failure).
pub async fn run(dir: std::path::PathBuf) -> Result<DemoReport> {
    let started = std::time::Instant::now();
    let stack = local_stack::up(Options {
        dir,
        provisioner_bin: None,
        detached: false,
    })
    .await?;
    let report = converse(&stack).await;
    let s = step("tear down");
    stack.down()?;
    s.done();
    let report = report?;
    eprintln!(
        "\nDemo complete in {:.1}s: a signed start launched {}, a replay launched nothing, stop left it {}.",
        started.elapsed().as_secs_f64(),
        report.task_arn,
        report.last_status_after_stop
    );
    Ok(report)
}
