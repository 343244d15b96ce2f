//! The Control Room simulator: builds a command, signs it exactly as Control Room does, sends it.

use anyhow::{Context, Result};
use provisioner::protocol::{RawRequest, sign};
use std::time::Duration;

/// The headers we sign, like Control Room's default.
pub const SIGNED_HEADERS: [&str; 2] = ["content-type", "x-rc-timestamp"];

pub fn status_body() -> String {
    serde_json::json!({"type": "status"}).to_string()
}

pub fn stop_body(workspace_id: &str, runtime_id: &str) -> String {
    serde_json::json!({"type": "stop", "workspaceId": workspace_id, "runtimeId": runtime_id})
        .to_string()
}

pub fn start_body(
    workspace_id: &str,
    runtime_id: &str,
    link_token: &str,
    max_lifetime_seconds: Option<u64>,
) -> String {
    let mut body = serde_json::json!({
        "type": "start", "workspaceId": workspace_id, "runtimeId": runtime_id, "runtimeLinkToken": link_token,
    });
    if let Some(s) = max_lifetime_seconds {
        body["maxLifetimeSeconds"] = s.into();
    }
    body.to_string()
}

/// A response as received.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub body: String,
}

impl Answer {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

/// The headers to send for `body` to `url`, signed with `secret` at `timestamp` (Unix seconds).
pub fn signed_headers(
    url: &str,
    secret: &str,
    body: &[u8],
    timestamp: i64,
) -> Result<Vec<(String, String)>> {
    let uri: ureq::http::Uri = url
        .parse()
        .with_context(|| format!("invalid URL {url:?}"))?;
    let base = vec![("content-type".to_string(), "application/json".to_string())];
    let req = RawRequest {
        method: "POST",
        raw_path: uri.path(),
        raw_query: uri.query().unwrap_or(""),
        headers: &base,
        body,
    };
    let mut headers = base.clone();
    headers.extend(sign(&req, &SIGNED_HEADERS, secret.as_bytes(), timestamp)?);
    Ok(headers)
}

pub fn now_epoch_s() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

/// POSTs raw `body` with the given headers; any HTTP status is an answer, only transport failures are errors.
pub fn post(url: &str, headers: &[(String, String)], body: &[u8]) -> Result<Answer> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into();
    let mut req = agent.post(url);
    for (k, v) in headers {
        req = req.header(k, v);
    }
    let mut response = req
        .send(body)
        .with_context(|| format!("sending the request to {url}"))?;
    let status = response.status().as_u16();
    let body = response
        .body_mut()
        .read_to_string()
        .context("reading the response body")?;
    Ok(Answer { status, body })
}

/// Signs `body` with `secret` now and sends it to `url`.
pub fn send_signed(url: &str, secret: &str, body: &str) -> Result<Answer> {
    let headers = signed_headers(url, secret, body.as_bytes(), now_epoch_s())?;
    post(url, &headers, body.as_bytes())
}
