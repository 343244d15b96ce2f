//! A minimal AWS Lambda Runtime API, enough to run the provisioner's Lambda binary on this machine and time
//! its cold start: it hands out one invocation (`GET /2018-06-01/runtime/invocation/next`) and reports when
//! the function posts the answer (`POST …/invocation/{id}/response`). Later `next` calls wait forever, as
//! Lambda's do between invocations.
//!
//! Also what API Gateway's HTTP API puts in such an invocation ([`api_gateway_event`]).

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tokio::net::TcpListener;
use tokio::sync::{Mutex, oneshot};

/// The event API Gateway's HTTP API (payload format 2.0) sends the function for a request to
/// `POST /worker-request`, received at `time_epoch_ms`. With `base64`, the body is sent encoded, as API
/// Gateway does for bodies it does not consider text.
pub fn api_gateway_event(
    headers: &[(String, String)],
    body: &[u8],
    base64: bool,
    time_epoch_ms: i64,
) -> Value {
    use base64::Engine;
    let headers: serde_json::Map<String, Value> = headers
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), Value::String(v.clone())))
        .collect();
    let body = if base64 {
        base64::engine::general_purpose::STANDARD.encode(body)
    } else {
        String::from_utf8_lossy(body).into_owned()
    };
    serde_json::json!({
        "version": "2.0",
        "routeKey": "POST /worker-request",
        "rawPath": "/worker-request",
        "rawQueryString": "",
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abc123",
            "domainName": "abc123.execute-api.us-east-1.amazonaws.com",
            "domainPrefix": "abc123",
            "http": {"method": "POST", "path": "/worker-request", "protocol": "HTTP/1.1",
                     "sourceIp": "203.0.113.7", "userAgent": "control-room"},
            "requestId": "apigw-request-1",
            "routeKey": "POST /worker-request",
            "stage": "$default",
            "time": "03/Dec/2026:20:00:00 +0000",
            "timeEpoch": time_epoch_ms
        },
        "body": body,
        "isBase64Encoded": base64
    })
}

/// A Runtime API serving one invocation.
pub struct RuntimeApi {
    /// `host:port`, the value of `AWS_LAMBDA_RUNTIME_API`.
    pub address: String,
    answered: Arc<Mutex<Option<oneshot::Receiver<Value>>>>,
}

const REQUEST_ID: &str = "bench-invocation-1";

impl RuntimeApi {
    pub async fn start(event: Value) -> std::io::Result<RuntimeApi> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?.to_string();
        let (tx, rx) = oneshot::channel::<Value>();
        let tx = Arc::new(std::sync::Mutex::new(Some(tx)));
        let handed_out = Arc::new(AtomicBool::new(false));
        let event = Arc::new(event.to_string());
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (tx, handed_out, event) = (tx.clone(), handed_out.clone(), event.clone());
                tokio::spawn(async move {
                    let service = service_fn(move |req: Request<Incoming>| {
                        let (tx, handed_out, event) =
                            (tx.clone(), handed_out.clone(), event.clone());
                        async move {
                            let path = req.uri().path().to_string();
                            let body = req.into_body().collect().await.map(|b| b.to_bytes());
                            if path.ends_with("/invocation/next") {
                                if handed_out.swap(true, Ordering::SeqCst) {
                                    std::future::pending::<()>().await;
                                }
                                let deadline = crate::invoke::now_epoch_s() * 1000 + 30_000;
                                return Ok::<_, std::convert::Infallible>(
                                    Response::builder()
                                        .header("lambda-runtime-aws-request-id", REQUEST_ID)
                                        .header("lambda-runtime-deadline-ms", deadline.to_string())
                                        .header(
                                            "lambda-runtime-invoked-function-arn",
                                            "arn:aws:lambda:us-east-1:123456789012:function:odw-bench-provisioner",
                                        )
                                        .header("lambda-runtime-trace-id", "Root=1-00000000-000000000000000000000000")
                                        .body(Full::new(Bytes::from(event.to_string())))
                                        .unwrap(),
                                );
                            }
                            if path.ends_with("/response") || path.ends_with("/error") {
                                let value = body
                                    .ok()
                                    .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
                                    .unwrap_or(Value::Null);
                                let value = if path.ends_with("/error") {
                                    serde_json::json!({"error": value})
                                } else {
                                    value
                                };
                                if let Some(tx) = tx.lock().unwrap().take() {
                                    let _ = tx.send(value);
                                }
                            }
                            Ok(Response::builder()
                                .status(202)
                                .body(Full::new(Bytes::new()))
                                .unwrap())
                        }
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(RuntimeApi {
            address,
            answered: Arc::new(Mutex::new(Some(rx))),
        })
    }

    /// The variables Lambda sets for a function (`lambda_runtime` requires them), pointing at this API.
    pub fn lambda_environment(&self, function_name: &str) -> Vec<(String, String)> {
        [
            ("AWS_LAMBDA_RUNTIME_API", self.address.as_str()),
            ("AWS_LAMBDA_FUNCTION_NAME", function_name),
            ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"),
            (
                "AWS_LAMBDA_LOG_GROUP_NAME",
                &format!("/aws/lambda/{function_name}"),
            ),
            ("AWS_LAMBDA_LOG_STREAM_NAME", "local"),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .to_vec()
    }

    /// Waits for the function's answer to the invocation.
    pub async fn answer(&self) -> Option<Value> {
        let rx = self.answered.lock().await.take()?;
        rx.await.ok()
    }
}
