//! `provisioner serve`: the same handler over plain HTTP/1.1, for the local stack and the tests.

use super::{header_pairs, now_epoch_ms};
use crate::handler::{Provisioner, Reply};
use crate::protocol::{MAX_BODY_BYTES, RawRequest};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::net::TcpListener;

static REQUEST_COUNTER: AtomicU64 = AtomicU64::new(0);

async fn handle(provisioner: &Provisioner, req: Request<Incoming>) -> Reply {
    let request_id = format!(
        "local-{}-{}",
        std::process::id(),
        REQUEST_COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    let (parts, body) = req.into_parts();
    // Read at most one byte past the cap: enough to know the body is too large, without buffering it.
    let body = match Limited::new(body, MAX_BODY_BYTES + 1).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => {
            return Reply::invalid(format!("request body exceeds {MAX_BODY_BYTES} bytes"));
        }
        Err(e) => return Reply::invalid(format!("could not read the request body: {e}")),
    };
    let headers = header_pairs(&parts.headers);
    let raw = RawRequest {
        method: parts.method.as_str(),
        raw_path: parts.uri.path(),
        raw_query: parts.uri.query().unwrap_or(""),
        headers: &headers,
        body: &body,
    };
    provisioner.handle(&raw, &request_id, now_epoch_ms()).await
}

fn to_response(reply: Reply) -> Response<Full<Bytes>> {
    Response::builder()
        .status(reply.status)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(reply.body)))
        .expect("status and header are valid")
}

/// Serves until `shutdown` completes. Prints `listening on http://ADDR` on stdout once the socket is bound
/// (with `--listen 127.0.0.1:0`, that line is how a caller learns the port).
pub async fn serve(
    provisioner: Arc<Provisioner>,
    listen: SocketAddr,
    shutdown: impl std::future::Future<Output = ()>,
) -> std::io::Result<()> {
    let listener = TcpListener::bind(listen).await?;
    let local = listener.local_addr()?;
    println!("listening on http://{local}");
    tracing::info!(%local, "provisioner serving POST /worker-request");
    tokio::pin!(shutdown);
    loop {
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => accepted?,
            () = &mut shutdown => return Ok(()),
        };
        let provisioner = provisioner.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| {
                let provisioner = provisioner.clone();
                async move {
                    Ok::<_, std::convert::Infallible>(to_response(handle(&provisioner, req).await))
                }
            });
            if let Err(e) = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                tracing::debug!(error = %e, "connection closed with an error");
            }
        });
    }
}
