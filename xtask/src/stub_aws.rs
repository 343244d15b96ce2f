//! An instant, counting stand-in for the AWS APIs the provisioner calls, for benchmarks: it answers every
//! call at once from memory, so what is measured is the provisioner's own time, and it counts calls by
//! operation, so "AWS calls per start" is read off it.
//!
//! Never used to test behaviour (the tests use moto); it only knows the happy path.

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::net::TcpListener;

pub const CLUSTER_ARN: &str = "arn:aws:ecs:us-east-1:123456789012:cluster/odw-bench";

/// What the stub serves as configuration.
pub struct StubConfig {
    pub secret_document: String,
    pub cluster_config: String,
}

#[derive(Default)]
struct State {
    calls: Mutex<BTreeMap<String, u64>>,
    tasks: AtomicU64,
}

pub struct StubAws {
    pub url: String,
    state: Arc<State>,
}

fn answer(op: &str, config: &StubConfig, state: &State) -> Value {
    match op {
        "GetSecretValue" => json!({
            "ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:odw-bench-AbCdEf",
            "Name": "odw-bench/provisioner-shared-secret",
            "SecretString": config.secret_document,
            "VersionId": "v1",
        }),
        "GetParameter" => json!({"Parameter": {
            "Name": "/odw-bench/cluster-config", "Type": "String", "Value": config.cluster_config, "Version": 1,
        }}),
        "DescribeClusters" => {
            json!({"clusters": [{"clusterArn": CLUSTER_ARN, "clusterName": "odw-bench", "status": "ACTIVE"}], "failures": []})
        }
        "ListTasks" => json!({"taskArns": []}),
        "DescribeTaskDefinition" | "RegisterTaskDefinition" => json!({"taskDefinition": {
            "taskDefinitionArn": "arn:aws:ecs:us-east-1:123456789012:task-definition/odw-bench-worker-0123456789abcdef:1",
            "status": "ACTIVE",
        }}),
        "RunTask" => {
            let n = state.tasks.fetch_add(1, Ordering::Relaxed);
            json!({"tasks": [{"taskArn": format!("arn:aws:ecs:us-east-1:123456789012:task/odw-bench/{n:032x}")}], "failures": []})
        }
        "StopTask" => json!({"task": {}}),
        _ => json!({}),
    }
}

impl StubAws {
    /// Starts the stub on a free loopback port (it lives as long as the Tokio runtime).
    pub async fn start(config: StubConfig) -> std::io::Result<StubAws> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        let state = Arc::new(State::default());
        let config = Arc::new(config);
        let shared = state.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (state, config) = (shared.clone(), config.clone());
                tokio::spawn(async move {
                    let service = service_fn(move |req: Request<Incoming>| {
                        let (state, config) = (state.clone(), config.clone());
                        async move {
                            let op = req
                                .headers()
                                .get("x-amz-target")
                                .and_then(|v| v.to_str().ok())
                                .and_then(|t| t.rsplit('.').next())
                                .unwrap_or("(unknown)")
                                .to_string();
                            let _ = req.into_body().collect().await;
                            *state.calls.lock().unwrap().entry(op.clone()).or_default() += 1;
                            let body = answer(&op, &config, &state).to_string();
                            Ok::<_, std::convert::Infallible>(
                                Response::builder()
                                    .header("content-type", "application/x-amz-json-1.1")
                                    .header("x-amzn-requestid", "stub")
                                    .body(Full::new(Bytes::from(body)))
                                    .unwrap(),
                            )
                        }
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(StubAws { url, state })
    }

    /// Calls received so far, by operation.
    pub fn calls(&self) -> BTreeMap<String, u64> {
        self.state.calls.lock().unwrap().clone()
    }

    pub fn total_calls(&self) -> u64 {
        self.calls().values().sum()
    }
}

/// Calls in `after` that were not in `before`, by operation.
pub fn delta(
    before: &BTreeMap<String, u64>,
    after: &BTreeMap<String, u64>,
) -> BTreeMap<String, u64> {
    after
        .iter()
        .filter_map(|(op, n)| {
            let d = n - before.get(op).copied().unwrap_or(0);
            (d > 0).then(|| (op.clone(), d))
        })
        .collect()
}
