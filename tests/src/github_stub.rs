//! A local HTTP server standing in for the GitHub REST API: just the pull-request calls xtask makes
//! (`GET/POST /repos/O/R/pulls`, `PATCH /repos/O/R/pulls/N`). It keeps the pull requests it was asked to open
//! and records every call, so a test can check what xtask asked GitHub to do.

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use tokio::net::TcpListener;

/// One call the stub received.
#[derive(Debug, Clone)]
pub struct Call {
    pub method: String,
    /// Path and query, e.g. `/repos/o/r/pulls?state=open&head=o:b`.
    pub path: String,
    pub authorization: Option<String>,
    pub body: Value,
}

/// A pull request as the stub keeps it.
#[derive(Debug, Clone)]
pub struct StubPr {
    pub number: u64,
    pub head: String,
    pub base: String,
    pub title: String,
    pub body: String,
}

#[derive(Default)]
struct State {
    calls: Vec<Call>,
    prs: Vec<StubPr>,
}

pub struct GitHubStub {
    /// What `GITHUB_API_URL` should be.
    pub url: String,
    state: Arc<Mutex<State>>,
}

fn reply(status: u16, body: Value) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .expect("valid response")
}

fn pr_json(pr: &StubPr) -> Value {
    json!({
        "number": pr.number,
        "html_url": format!("https://github.invalid/pull/{}", pr.number),
        "title": pr.title,
        "head": {"ref": pr.head},
        "base": {"ref": pr.base},
    })
}

fn answer(state: &Mutex<State>, call: Call) -> Response<Full<Bytes>> {
    let mut s = state.lock().expect("stub state");
    s.calls.push(call.clone());
    let (path, query) = call.path.split_once('?').unwrap_or((&call.path, ""));
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    match (call.method.as_str(), segments.as_slice()) {
        ("GET", ["repos", owner, _, "pulls"]) => {
            // `head=owner:branch`: only that branch's open pull requests.
            let head = query
                .split('&')
                .find_map(|kv| kv.strip_prefix("head="))
                .map(|h| h.replace("%3A", ":"));
            let open: Vec<Value> = s
                .prs
                .iter()
                .filter(|pr| {
                    head.as_deref()
                        .is_none_or(|h| h == format!("{owner}:{}", pr.head))
                })
                .map(pr_json)
                .collect();
            reply(200, Value::Array(open))
        }
        ("POST", ["repos", _, _, "pulls"]) => {
            let field = |k: &str| call.body[k].as_str().unwrap_or_default().to_string();
            if field("head").is_empty() || field("base").is_empty() || field("title").is_empty() {
                return reply(422, json!({"message": "Validation Failed"}));
            }
            let pr = StubPr {
                number: s.prs.len() as u64 + 1,
                head: field("head"),
                base: field("base"),
                title: field("title"),
                body: field("body"),
            };
            let out = pr_json(&pr);
            s.prs.push(pr);
            reply(201, out)
        }
        ("PATCH", ["repos", _, _, "pulls", number]) => {
            let Some(pr) = s.prs.iter_mut().find(|pr| number.parse() == Ok(pr.number)) else {
                return reply(404, json!({"message": "Not Found"}));
            };
            if let Some(t) = call.body["title"].as_str() {
                pr.title = t.to_string();
            }
            if let Some(b) = call.body["body"].as_str() {
                pr.body = b.to_string();
            }
            let out = pr_json(pr);
            reply(200, out)
        }
        _ => reply(404, json!({"message": "Not Found"})),
    }
}

impl GitHubStub {
    /// Starts the stub on a free loopback port; it stops with the test's runtime.
    pub async fn start() -> GitHubStub {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let state = Arc::new(Mutex::new(State::default()));
        let shared = state.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let state = shared.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req: Request<Incoming>| {
                        let state = state.clone();
                        async move {
                            let method = req.method().to_string();
                            let path = req
                                .uri()
                                .path_and_query()
                                .map(|p| p.to_string())
                                .unwrap_or_default();
                            let authorization = req
                                .headers()
                                .get("authorization")
                                .and_then(|v| v.to_str().ok())
                                .map(str::to_owned);
                            let bytes = req.into_body().collect().await?.to_bytes();
                            let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
                            let call = Call {
                                method,
                                path,
                                authorization,
                                body,
                            };
                            Ok::<_, hyper::Error>(answer(&state, call))
                        }
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        GitHubStub { url, state }
    }

    pub fn calls(&self) -> Vec<Call> {
        self.state.lock().expect("stub state").calls.clone()
    }

    pub fn pull_requests(&self) -> Vec<StubPr> {
        self.state.lock().expect("stub state").prs.clone()
    }
}
