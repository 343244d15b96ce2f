//! The Lambda entry. One function takes two kinds of events:
//!
//! - API Gateway HTTP API requests (payload format 2.0): Control Room's signed requests;
//! - `{"odw-action": "reap"}`, the input of the EventBridge schedule that runs the reaper.
//!
//! Events are dispatched by shape from raw JSON (rather than through `lambda_http::run`, which accepts HTTP
//! events only); HTTP events still go through `lambda_http`'s own request type.

use super::{header_pairs, now_epoch_ms};
use crate::handler::{Provisioner, Reply};
use crate::protocol::RawRequest;
use lambda_http::lambda_runtime::{self, LambdaEvent};
use lambda_http::request::{LambdaRequest, RequestContext};
use lambda_http::{Request, RequestExt};
use serde_json::{Value, json};
use std::sync::Arc;

/// The field of a scheduled event's input that names the action.
pub const ACTION_FIELD: &str = "odw-action";
pub const ACTION_REAP: &str = "reap";

/// Translates an API Gateway request for the handler. The body arrives already base64-decoded by
/// `lambda_http` when API Gateway flagged it as encoded; the clock is API Gateway's `timeEpoch`, the time the
/// request reached AWS, not the time this function got to it.
pub async fn handle(provisioner: &Provisioner, req: &Request) -> Reply {
    let (request_id, now) = match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => {
            (ctx.request_id.clone().unwrap_or_default(), ctx.time_epoch)
        }
        _ => (String::new(), now_epoch_ms()),
    };
    let headers = header_pairs(req.headers());
    let raw = RawRequest {
        method: req.method().as_str(),
        raw_path: req.raw_http_path(),
        raw_query: req.uri().query().unwrap_or(""),
        headers: &headers,
        body: req.body().as_ref(),
    };
    provisioner.handle(&raw, &request_id, now).await
}

/// The API Gateway (payload 2.0) response for a reply.
pub fn to_response(reply: Reply) -> Value {
    json!({
        "statusCode": reply.status,
        "headers": {"content-type": "application/json"},
        "body": reply.body,
        "isBase64Encoded": false,
    })
}

/// Handles one Lambda event of either kind. An event of no known shape is an error (Lambda logs it; for an
/// asynchronous invocation, it ends in the dead-letter queue).
pub async fn dispatch(provisioner: &Provisioner, event: Value) -> Result<Value, String> {
    if event.get(ACTION_FIELD).and_then(Value::as_str) == Some(ACTION_REAP) {
        let now_s = (now_epoch_ms() / 1000) as u64;
        let report = provisioner.reap(now_s).await?;
        if !report.failed.is_empty() {
            return Err(format!(
                "the reaper could not stop {} task(s): {}",
                report.failed.len(),
                report
                    .failed
                    .iter()
                    .map(|(arn, e)| format!("{arn}: {e}"))
                    .collect::<Vec<_>>()
                    .join("; ")
            ));
        }
        return Ok(json!({"examined": report.examined, "stopped": report.stopped.len()}));
    }
    if event.get("requestContext").is_some() {
        let request: LambdaRequest = serde_json::from_value(event)
            .map_err(|e| format!("not an API Gateway HTTP API (payload 2.0) event: {e}"))?;
        let request: Request = request.into();
        return Ok(to_response(handle(provisioner, &request).await));
    }
    if crate::eventbridge::request::is_worker_request(&event) {
        return Err(
            "EventBridge worker requests are handled by the provisioner-events function, not this one: point the rule's target at it (Terraform does)"
                .into(),
        );
    }
    Err(format!(
        "unsupported event: expected an API Gateway HTTP API request or {{\"{ACTION_FIELD}\": \"{ACTION_REAP}\"}}"
    ))
}

/// Runs the Lambda runtime loop until the process is stopped.
pub async fn run(provisioner: Arc<Provisioner>) -> Result<(), lambda_runtime::Error> {
    lambda_runtime::run(lambda_runtime::service_fn(
        move |event: LambdaEvent<Value>| {
            let provisioner = provisioner.clone();
            async move {
                dispatch(&provisioner, event.payload)
                    .await
                    .map_err(lambda_runtime::Error::from)
            }
        },
    ))
    .await
}
