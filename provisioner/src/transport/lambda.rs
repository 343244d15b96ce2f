//! The Lambda entry: API Gateway HTTP API (payload format 2.0) events through `lambda_http`.

use super::{header_pairs, now_epoch_ms};
use crate::handler::{Provisioner, Reply};
use crate::protocol::RawRequest;
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use std::sync::Arc;

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

pub fn to_response(reply: Reply) -> Response<Body> {
    Response::builder()
        .status(reply.status)
        .header("content-type", "application/json")
        .body(Body::Text(reply.body))
        .expect("status and header are valid")
}

/// Runs the Lambda runtime loop until the process is stopped.
pub async fn run(provisioner: Arc<Provisioner>) -> Result<(), lambda_http::Error> {
    lambda_http::run(lambda_http::service_fn(move |req: Request| {
        let provisioner = provisioner.clone();
        async move { Ok::<_, std::convert::Infallible>(to_response(handle(&provisioner, &req).await)) }
    }))
    .await
}
