//! `cargo xtask bench`: every figure of BENCHMARKS.md, measured on the release Lambda binary against an
//! instant stand-in for AWS ([`crate::stub_aws`]), so the figures are the provisioner's own.
//!
//! - cold start of `provisioner serve`: process exec → first `status` answered;
//! - cold start of the Lambda binary under a minimal Runtime API: exec → first invocation answered;
//! - latency of a signed `start` through `serve` (p50/p99, every one a launch);
//! - AWS calls per start: the first, and in steady state;
//! - peak RSS of `serve` under a burst of concurrent starts;
//! - Lambda zip size, and signature checks per second (the provisioner's own bench binary).

use crate::invoke;
use crate::lambda_build::{self, BuildDirs, Libc};
use crate::lambda_runtime_stub::{RuntimeApi, api_gateway_event};
use crate::progress::{Step, step};
use crate::stub_aws::{self, StubAws, StubConfig};
use anyhow::{Context, Result, bail, ensure};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct Options {
    /// Cold starts measured per mode (at least 20 for the figures in BENCHMARKS.md).
    pub cold_starts: usize,
    /// Sequential signed starts for the latency percentiles.
    pub requests: usize,
    /// Concurrent starts of the memory burst.
    pub burst: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            cold_starts: 25,
            requests: 2000,
            burst: 500,
        }
    }
}

const SECRET: &str = "bench-shared-secret-0123456789abcdef";

/// The n-th percentile (0–100) of `samples` (sorted in place), nearest-rank.
pub fn percentile(samples: &mut [Duration], p: f64) -> Duration {
    assert!(!samples.is_empty(), "no samples");
    samples.sort();
    let rank = ((p / 100.0) * samples.len() as f64).ceil() as usize;
    samples[rank.clamp(1, samples.len()) - 1]
}

/// Ends a cold-start step and adds its row (median and p90 of `samples`) to the report.
fn cold_start_row(report: &mut String, s: Step, what: &str, samples: &mut [Duration]) {
    let (p50, p90) = (percentile(samples, 50.0), percentile(samples, 90.0));
    s.done_with(&format!("median {}, p90 {}", ms(p50), ms(p90)));
    let _ = writeln!(
        report,
        "| {what} ({} runs) | median {}, p90 {} |",
        samples.len(),
        ms(p50),
        ms(p90)
    );
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

fn provisioner_env(aws_url: &str) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = [
        (
            "PROVISIONER_SECRET_ID",
            "odw-bench/provisioner-shared-secret",
        ),
        (
            "PROVISIONER_CLUSTER_CONFIG_PARAMETER",
            "/odw-bench/cluster-config",
        ),
        (
            "PROVISIONER_WORKER_IMAGE",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/odw-bench-worker:0.1.0",
        ),
        ("PROVISIONER_LOG_FORMAT", "json"),
        ("PROVISIONER_DEPLOYMENT", "odw-bench"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    env.extend(crate::aws::emulator_env(aws_url, "us-east-1"));
    env
}

fn spawn(bin: &Path, args: &[&str], env: &[(String, String)], out: &Path) -> Result<Child> {
    Command::new(bin)
        .args(args)
        .env_clear()
        .envs(env.iter().cloned())
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(out)?)
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("starting {}", bin.display()))
}

/// Waits for `listening on URL` in `out`; returns the worker-request URL.
fn wait_listening(child: &mut Child, out: &Path) -> Result<String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(url) = std::fs::read_to_string(out)
            .unwrap_or_default()
            .lines()
            .find_map(|l| l.strip_prefix("listening on "))
        {
            return Ok(format!("{}/worker-request", url.trim()));
        }
        if let Some(status) = child.try_wait()? {
            bail!("provisioner exited during start-up: {status}");
        }
        ensure!(Instant::now() < deadline, "provisioner did not start");
        std::thread::sleep(Duration::from_micros(200));
    }
}

/// A keep-alive HTTP client, as Control Room would hold.
fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into()
}

fn post_signed(agent: &ureq::Agent, url: &str, body: &str) -> Result<u16> {
    let headers = invoke::signed_headers(url, SECRET, body.as_bytes(), invoke::now_epoch_s())?;
    let mut req = agent.post(url);
    for (k, v) in &headers {
        req = req.header(k, v);
    }
    let mut response = req.send(body.as_bytes())?;
    let _ = response.body_mut().read_to_string();
    Ok(response.status().as_u16())
}

fn stop(mut child: Child) {
    let _ = child.kill();
    let _ = child.wait();
}

/// Peak resident set size of a live process (`VmHWM`), in KiB.
fn peak_rss_kib(pid: u32) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .context("no VmHWM in /proc/PID/status")
}

pub async fn run(opts: &Options) -> Result<String> {
    let s = step("build the Lambda package (release)");
    let dirs = BuildDirs::default_for_this_checkout();
    let artifact = lambda_build::build(Libc::Gnu, lambda_build::Function::Http, &dirs)?;
    let bin: PathBuf = dirs
        .target_dir
        .join("x86_64-unknown-linux-gnu/release/provisioner");
    s.done_with(&format!("{} bytes", artifact.size));

    let cluster_config = serde_json::json!({
        "cluster_arn": stub_aws::CLUSTER_ARN,
        "task_family_prefix": "odw-bench-worker",
        "task_role_arn": "arn:aws:iam::123456789012:role/odw-bench-worker-robot",
        "execution_role_arn": "arn:aws:iam::123456789012:role/odw-bench-worker-execution",
        "log_group": "/ecs/odw-bench-worker",
        "log_region": "us-east-1",
        "capacity_provider": "odw-bench-ec2",
    })
    .to_string();
    let aws = StubAws::start(StubConfig {
        secret_document: provisioner::config::SharedSecrets::to_document(SECRET, None),
        cluster_config,
    })
    .await?;
    let env = provisioner_env(&aws.url);
    let scratch = crate::paths::target_dir().join("bench");
    std::fs::create_dir_all(&scratch)?;
    let out = scratch.join("serve.out");
    let mut report = String::new();
    let _ = writeln!(report, "| figure | value |\n| --- | --- |");

    // Cold start of `serve`.
    let s = step(format!(
        "cold start of `provisioner serve` ×{}",
        opts.cold_starts
    ));
    let mut samples = Vec::new();
    for _ in 0..opts.cold_starts {
        let started = Instant::now();
        let mut child = spawn(&bin, &["serve", "--listen", "127.0.0.1:0"], &env, &out)?;
        let url = wait_listening(&mut child, &out)?;
        let status = tokio::task::spawn_blocking(move || {
            post_signed(&agent(), &url, &invoke::status_body())
        })
        .await??;
        samples.push(started.elapsed());
        stop(child);
        ensure!(status == 200, "status answered {status}");
    }
    cold_start_row(
        &mut report,
        s,
        "cold start, `serve`: exec → first `status` answered",
        &mut samples,
    );

    // Cold start under the Lambda Runtime API.
    let s = step(format!(
        "cold start under a local Lambda Runtime API ×{}",
        opts.cold_starts
    ));
    let mut samples = Vec::new();
    for _ in 0..opts.cold_starts {
        let body = invoke::status_body();
        let headers = invoke::signed_headers(
            "https://abc123.execute-api.us-east-1.amazonaws.com/worker-request",
            SECRET,
            body.as_bytes(),
            invoke::now_epoch_s(),
        )?;
        let event = api_gateway_event(
            &headers,
            body.as_bytes(),
            false,
            invoke::now_epoch_s() * 1000,
        );
        let runtime = RuntimeApi::start(event).await?;
        let mut lambda_env = env.clone();
        lambda_env.extend(runtime.lambda_environment("odw-bench-provisioner"));
        let started = Instant::now();
        let child = spawn(&bin, &[], &lambda_env, &scratch.join("lambda.out"))?;
        let answer = tokio::time::timeout(Duration::from_secs(10), runtime.answer())
            .await
            .context("the Lambda binary did not answer within 10 s")?
            .context("the Runtime API stopped")?;
        samples.push(started.elapsed());
        stop(child);
        ensure!(
            answer["statusCode"] == 200,
            "the invocation was answered {answer}"
        );
    }
    cold_start_row(
        &mut report,
        s,
        "cold start, Lambda binary: exec → first invocation answered",
        &mut samples,
    );

    // Latency and AWS calls per start, on one warm `serve`.
    let mut child = spawn(&bin, &["serve", "--listen", "127.0.0.1:0"], &env, &out)?;
    let url = wait_listening(&mut child, &out)?;
    let s = step(format!(
        "{} sequential signed starts through `serve`",
        opts.requests
    ));
    let before_first = aws.calls();
    let u = url.clone();
    let first = tokio::task::spawn_blocking(move || {
        post_signed(
            &agent(),
            &u,
            &invoke::start_body("ws-bench", "first", "tok", None),
        )
    })
    .await??;
    ensure!(first == 200, "the first start answered {first}");
    let first_calls = stub_aws::delta(&before_first, &aws.calls());
    let before_steady = aws.calls();
    let (u, n) = (url.clone(), opts.requests);
    let mut latencies = tokio::task::spawn_blocking(move || -> Result<Vec<Duration>> {
        let agent = agent();
        let mut latencies = Vec::with_capacity(n);
        for i in 0..n {
            let body = invoke::start_body("ws-bench", &format!("run-{i}"), "tok", None);
            let started = Instant::now();
            let status = post_signed(&agent, &u, &body)?;
            latencies.push(started.elapsed());
            ensure!(status == 200, "start {i} answered {status}");
        }
        Ok(latencies)
    })
    .await??;
    let steady = stub_aws::delta(&before_steady, &aws.calls());
    let (p50, p99) = (
        percentile(&mut latencies, 50.0),
        percentile(&mut latencies, 99.0),
    );
    s.done_with(&format!("p50 {}, p99 {}", ms(p50), ms(p99)));
    let _ = writeln!(
        report,
        "| signed `start` through `serve`, client to answer ({} launches, keep-alive) | p50 {}, p99 {} |",
        opts.requests,
        ms(p50),
        ms(p99)
    );
    let per_start = |calls: &BTreeMap<String, u64>, starts: u64| -> String {
        let total: u64 = calls.values().sum();
        let list: Vec<String> = calls
            .iter()
            .map(|(op, n)| format!("{op} {}", *n as f64 / starts as f64))
            .collect();
        format!("{} ({})", total as f64 / starts as f64, list.join(", "))
    };
    let _ = writeln!(
        report,
        "| AWS calls, first start of a process | {} |",
        per_start(&first_calls, 1)
    );
    let _ = writeln!(
        report,
        "| AWS calls per start, steady state | {} |",
        per_start(&steady, opts.requests as u64)
    );
    stop(child);

    // Peak memory under a burst.
    let s = step(format!(
        "peak RSS of `serve` under {} concurrent starts",
        opts.burst
    ));
    let mut child = spawn(&bin, &["serve", "--listen", "127.0.0.1:0"], &env, &out)?;
    let url = wait_listening(&mut child, &out)?;
    let idle = peak_rss_kib(child.id())?;
    let burst = opts.burst;
    let failures = tokio::task::spawn_blocking(move || {
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(burst));
        let threads: Vec<_> = (0..burst)
            .map(|i| {
                let (url, barrier) = (url.clone(), barrier.clone());
                std::thread::spawn(move || {
                    let body = invoke::start_body("ws-burst", &format!("burst-{i}"), "tok", None);
                    barrier.wait();
                    post_signed(&agent(), &url, &body)
                        .map(|s| s == 200)
                        .unwrap_or(false)
                })
            })
            .collect();
        threads
            .into_iter()
            .map(|t| t.join().unwrap_or(false))
            .filter(|ok| !ok)
            .count()
    })
    .await?;
    let peak = peak_rss_kib(child.id())?;
    stop(child);
    ensure!(failures == 0, "{failures} burst starts failed");
    s.done_with(&format!(
        "{:.1} MiB (idle {:.1} MiB)",
        peak as f64 / 1024.0,
        idle as f64 / 1024.0
    ));
    let _ = writeln!(
        report,
        "| peak RSS of `serve`, burst of {} concurrent starts | {:.1} MiB (after start-up: {:.1} MiB) |",
        opts.burst,
        peak as f64 / 1024.0,
        idle as f64 / 1024.0
    );

    let _ = writeln!(
        report,
        "| Lambda zip (`cargo xtask lambda build`) | {} bytes ({:.2} MiB) |",
        artifact.size,
        artifact.size as f64 / (1024.0 * 1024.0)
    );

    let s = step("signature checks per second (cargo bench -p provisioner --bench signature)");
    let sh = crate::process::cargo_shell()?;
    let output = crate::process::cargo_cmd(xshell::cmd!(
        sh,
        "cargo bench --quiet -p provisioner --bench signature"
    ))
    .read()
    .context("running the signature bench")?;
    let line = output
        .lines()
        .find(|l| l.starts_with("signature verification"))
        .unwrap_or("no result")
        .to_string();
    s.done_with(&line);
    let _ = writeln!(
        report,
        "| signature checks, one core | {} |",
        line.trim_start_matches("signature verification: ")
    );
    Ok(report)
}
