//! A fault-injecting HTTP proxy between the provisioner and moto: it forwards every AWS call unchanged, or
//! answers it with the fault the test asks for (throttling, 503, a dropped connection, a late answer).
//!
//! Calls are told apart by their `X-Amz-Target` header (ECS, Secrets Manager and SSM all speak AWS JSON), so a
//! fault can hit one operation only, e.g. `RunTask`.

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Forward unchanged.
    None,
    /// Answer `400 ThrottlingException` (what AWS sends when a rate limit is hit); nothing is forwarded.
    Throttle,
    /// Answer `503 ServiceUnavailableException`; nothing is forwarded.
    Unavailable,
    /// Close the connection without answering; nothing is forwarded.
    DropConnection,
    /// Forward (AWS does the work), then hold the answer back this long.
    Delay(Duration),
    /// Answer with this AWS error (HTTP status and error code); nothing is forwarded.
    AwsError { status: u16, code: String },
}

#[derive(Default)]
struct State {
    fault: Option<(Fault, Option<String>)>,
    /// Calls seen, by operation (e.g. `RunTask`), faulted or not.
    seen: HashMap<String, u64>,
    /// Calls answered with a fault, by operation.
    faulted: HashMap<String, u64>,
}

/// A running proxy. It stops with the test's runtime.
pub struct FaultProxy {
    pub url: String,
    state: Arc<Mutex<State>>,
}

/// The operation name of an AWS JSON call: the part of `X-Amz-Target` after the dot.
fn operation(req: &Request<Incoming>) -> String {
    req.headers()
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .and_then(|t| t.rsplit('.').next())
        .unwrap_or("(unknown)")
        .to_string()
}

fn aws_error(status: u16, code: &str, message: &str) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("content-type", "application/x-amz-json-1.1")
        .header("x-amzn-requestid", "fault-proxy")
        .body(Full::new(Bytes::from(
            serde_json::json!({"__type": code, "message": message}).to_string(),
        )))
        .unwrap()
}

async fn forward(
    upstream: &str,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, BoxError> {
    let (parts, body) = req.into_parts();
    let body = body.collect().await?.to_bytes();
    let stream = TcpStream::connect(upstream).await?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    let response = sender
        .send_request(Request::from_parts(parts, Full::new(body)))
        .await?;
    let (parts, body) = response.into_parts();
    let body = body.collect().await?.to_bytes();
    Ok(Response::from_parts(parts, Full::new(body)))
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// One proxied call: forwarded unchanged, or answered with the injected fault.
async fn answer(
    state: Arc<Mutex<State>>,
    upstream: String,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, BoxError> {
    let op = operation(&req);
    let fault = {
        let mut s = state.lock().unwrap();
        *s.seen.entry(op.clone()).or_default() += 1;
        let fault = match &s.fault {
            Some((fault, only)) if only.as_deref().is_none_or(|o| o == op) => fault.clone(),
            _ => Fault::None,
        };
        if fault != Fault::None {
            *s.faulted.entry(op.clone()).or_default() += 1;
        }
        fault
    };
    match fault {
        Fault::None => forward(&upstream, req).await,
        Fault::Throttle => Ok(aws_error(400, "ThrottlingException", "Rate exceeded")),
        Fault::Unavailable => Ok(aws_error(
            503,
            "ServiceUnavailableException",
            "Service is unavailable (injected)",
        )),
        Fault::DropConnection => Err(BoxError::from("dropping the connection")),
        Fault::AwsError { status, code } => {
            Ok(aws_error(status, &code, "injected by the fault proxy"))
        }
        Fault::Delay(d) => {
            let answer = forward(&upstream, req).await;
            tokio::time::sleep(d).await;
            answer
        }
    }
}

impl FaultProxy {
    /// Starts a proxy in front of `upstream` (`http://127.0.0.1:PORT`) on a free loopback port.
    pub async fn start(upstream: &str) -> FaultProxy {
        let upstream = upstream
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_string();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(Mutex::new(State::default()));
        let shared = state.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let (state, upstream) = (shared.clone(), upstream.clone());
                tokio::spawn(async move {
                    let service = service_fn(move |req: Request<Incoming>| {
                        answer(state.clone(), upstream.clone(), req)
                    });
                    // A service error makes hyper close the connection without an answer.
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        FaultProxy { url, state }
    }

    /// From now on, answer calls of `only` (an operation name such as `RunTask`; `None`: every call) with
    /// `fault`.
    pub fn inject(&self, fault: Fault, only: Option<&str>) {
        self.state.lock().unwrap().fault = Some((fault, only.map(str::to_owned)));
    }

    /// Stop injecting: forward everything.
    pub fn clear(&self) {
        self.state.lock().unwrap().fault = None;
    }

    /// Calls of `op` seen so far.
    pub fn seen(&self, op: &str) -> u64 {
        self.state
            .lock()
            .unwrap()
            .seen
            .get(op)
            .copied()
            .unwrap_or(0)
    }

    /// Calls of `op` answered with a fault so far.
    pub fn faulted(&self, op: &str) -> u64 {
        self.state
            .lock()
            .unwrap()
            .faulted
            .get(op)
            .copied()
            .unwrap_or(0)
    }
}
