//! Whether a request may act at all: route, method, size, signature, then a valid command. Pure, so the
//! property tests and the fuzzer can check the one claim that matters most: nothing gets past here (and so
//! nothing is launched) without a valid signature.

use super::{Command, CommandError, MAX_BODY_BYTES, RawRequest, SignatureError, verify};

/// The only route Control Room calls.
pub const WORKER_REQUEST_PATH: &str = "/worker-request";

/// Why a request was refused, each with its status code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// 404.
    NotFound,
    /// 405.
    MethodNotAllowed,
    /// 400: the body is larger than [`MAX_BODY_BYTES`].
    TooLarge(usize),
    /// 403.
    Forbidden(SignatureError),
    /// 400: signed correctly, but not a valid command.
    Invalid(CommandError),
}

/// The checks that need no secret: route, method, size.
pub fn precheck(req: &RawRequest<'_>) -> Result<(), Refusal> {
    if req.raw_path != WORKER_REQUEST_PATH {
        return Err(Refusal::NotFound);
    }
    if req.method != "POST" {
        return Err(Refusal::MethodNotAllowed);
    }
    if req.body.len() > MAX_BODY_BYTES {
        return Err(Refusal::TooLarge(req.body.len()));
    }
    Ok(())
}

/// The command a request carries, if it may be acted on: [`precheck`], then the signature against the
/// accepted `secrets` at `now_epoch_ms`, then parsing. The body is parsed only once the signature holds, so
/// an unauthenticated caller learns nothing about what we would accept.
pub fn admit<S: AsRef<[u8]>>(
    req: &RawRequest<'_>,
    secrets: &[S],
    now_epoch_ms: i64,
) -> Result<Command, Refusal> {
    precheck(req)?;
    verify(req, secrets, now_epoch_ms).map_err(Refusal::Forbidden)?;
    Command::parse(req.body).map_err(Refusal::Invalid)
}
