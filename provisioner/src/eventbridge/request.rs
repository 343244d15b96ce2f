//! The shape of Control Room's EventBridge worker requests, parsed and validated without I/O (DESIGN.md §3).
//!
//! ```json
//! {"detail-type": "On-Demand Worker Request", "id": "…",
//!  "detail": {"metadata": {"workspace_id": "…", "worker_id": "…"},
//!             "encrypted_payload": "<base64 AWS Encryption SDK message>"}}
//! ```
//!
//! The link token is inside the encrypted payload. Control Room's development mode also sends it in plain
//! text (`detail.payload.link_token`); that is accepted only when the deployment explicitly allows it.
//! Errors never quote event values: any of them may be a link token.

use crate::protocol::{CommandError, Ids, LinkToken, validate_id};
use base64::Engine;
use serde_json::Value;

/// The `detail-type` of a worker request.
pub const DETAIL_TYPE: &str = "On-Demand Worker Request";
/// Largest encrypted payload accepted (base64 text). Real ones are under a kilobyte; the cap bounds the
/// work a malformed event can cause.
pub const MAX_ENCRYPTED_PAYLOAD_LEN: usize = 64 * 1024;

/// Where the event carries the link token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenSource {
    /// An AWS Encryption SDK message (decoded from base64), to decrypt with the shared secret.
    Encrypted(Vec<u8>),
    /// Development mode: the token in plain text.
    Plaintext(LinkToken),
}

/// A worker request: start a worker for this run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerRequest {
    /// EventBridge's event id (for logs; redeliveries keep it).
    pub event_id: String,
    pub ids: Ids,
    pub token: TokenSource,
}

/// Why an event cannot be acted on. None of these improves with a retry: the event goes to the dead-letter
/// queue.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    #[error("not an on-demand worker request (detail-type is not \"{DETAIL_TYPE}\")")]
    NotAWorkerRequest,
    #[error("malformed worker request: {0}")]
    Malformed(String),
    #[error(
        "the event carries its link token in plain text (Control Room's development mode), which this deployment does not accept; set PROVISIONER_ALLOW_PLAINTEXT_LINK_TOKENS=true only for development"
    )]
    PlaintextRefused,
    #[error(
        "the encrypted payload cannot be decrypted with the current or previous shared secret (wrong secret, wrong key name, tampered, or a suite without key commitment)"
    )]
    Undecryptable,
    #[error("the decrypted payload is not valid: {0}")]
    InvalidPlaintext(String),
}

impl EventError {
    /// A short, stable name for logs and the dead-letter message.
    pub fn kind(&self) -> &'static str {
        match self {
            EventError::NotAWorkerRequest => "not_a_worker_request",
            EventError::Malformed(_) => "malformed",
            EventError::PlaintextRefused => "plaintext_refused",
            EventError::Undecryptable => "undecryptable",
            EventError::InvalidPlaintext(_) => "invalid_plaintext",
        }
    }
}

fn malformed(what: impl Into<String>) -> EventError {
    EventError::Malformed(what.into())
}

fn id(
    metadata: &serde_json::Map<String, Value>,
    field: &'static str,
) -> Result<String, EventError> {
    match metadata.get(field) {
        Some(Value::String(s)) => validate_id(field, s).map_err(|e| malformed(e.to_string())),
        None | Some(Value::Null) => Err(malformed(format!("detail.metadata.{field} is missing"))),
        Some(_) => Err(malformed(format!(
            "detail.metadata.{field} must be a string"
        ))),
    }
}

/// Whether `event` looks like an EventBridge worker request at all (whatever its validity).
pub fn is_worker_request(event: &Value) -> bool {
    event.get("detail-type").and_then(Value::as_str) == Some(DETAIL_TYPE)
}

impl WorkerRequest {
    /// Parses and validates an event. `allow_plaintext` is the deployment's development setting.
    pub fn parse(event: &Value, allow_plaintext: bool) -> Result<WorkerRequest, EventError> {
        if !is_worker_request(event) {
            return Err(EventError::NotAWorkerRequest);
        }
        let event_id = event
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
            .take(64)
            .collect();
        let detail = event
            .get("detail")
            .and_then(Value::as_object)
            .ok_or_else(|| malformed("detail is missing or not an object"))?;
        let metadata = detail
            .get("metadata")
            .and_then(Value::as_object)
            .ok_or_else(|| malformed("detail.metadata is missing or not an object"))?;
        let ids = Ids {
            workspace_id: id(metadata, "workspace_id")?,
            runtime_id: id(metadata, "worker_id")?,
        };
        let token = match detail.get("encrypted_payload") {
            Some(Value::String(b64)) => {
                if b64.len() > MAX_ENCRYPTED_PAYLOAD_LEN {
                    return Err(malformed(format!(
                        "detail.encrypted_payload is {} bytes; at most {MAX_ENCRYPTED_PAYLOAD_LEN} are accepted",
                        b64.len()
                    )));
                }
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(b64.trim())
                    .map_err(|_| malformed("detail.encrypted_payload is not valid base64"))?;
                if bytes.is_empty() {
                    return Err(malformed("detail.encrypted_payload is empty"));
                }
                TokenSource::Encrypted(bytes)
            }
            Some(Value::Null) | None => {
                let plaintext = detail
                    .get("payload")
                    .and_then(|p| p.get("link_token"))
                    .and_then(Value::as_str);
                match plaintext {
                    Some(_) if !allow_plaintext => return Err(EventError::PlaintextRefused),
                    Some(token) => TokenSource::Plaintext(
                        LinkToken::new(token.to_owned())
                            .map_err(|e| malformed(plaintext_token_error(e)))?,
                    ),
                    None => {
                        return Err(malformed(
                            "detail.encrypted_payload is missing (and there is no development-mode detail.payload.link_token)",
                        ));
                    }
                }
            }
            Some(_) => return Err(malformed("detail.encrypted_payload must be a string")),
        };
        Ok(WorkerRequest {
            event_id,
            ids,
            token,
        })
    }
}

fn plaintext_token_error(e: CommandError) -> String {
    match e {
        CommandError::InvalidLinkToken(reason) => format!("detail.payload.link_token {reason}"),
        other => other.to_string(),
    }
}

/// The link token from a decrypted payload: JSON with a `link_token` string.
pub fn link_token_from_plaintext(plaintext: &[u8]) -> Result<LinkToken, EventError> {
    let value: Value = serde_json::from_slice(plaintext)
        .map_err(|_| EventError::InvalidPlaintext("it is not JSON".into()))?;
    let token = value
        .get("link_token")
        .and_then(Value::as_str)
        .ok_or_else(|| EventError::InvalidPlaintext("it has no \"link_token\" string".into()))?;
    LinkToken::new(token.to_owned()).map_err(|e| match e {
        CommandError::InvalidLinkToken(reason) => {
            EventError::InvalidPlaintext(format!("its link_token {reason}"))
        }
        other => EventError::InvalidPlaintext(other.to_string()),
    })
}

/// The event as it may be kept in the dead-letter queue: a development-mode plaintext link token is
/// replaced, so the queue never holds a usable token.
pub fn redacted(event: &Value) -> Value {
    let mut copy = event.clone();
    if let Some(token) = copy
        .get_mut("detail")
        .and_then(|d| d.get_mut("payload"))
        .and_then(|p| p.get_mut("link_token"))
    {
        *token = Value::String("<redacted>".into());
    }
    copy
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(detail: Value) -> Value {
        json!({"version": "0", "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718", "detail-type": DETAIL_TYPE,
               "source": "robocorp.control-room", "detail": detail})
    }

    fn metadata() -> Value {
        json!({"workspace_id": "ws-1", "worker_id": "rt-1"})
    }

    #[test]
    fn parses_an_encrypted_request() {
        let req = WorkerRequest::parse(
            &event(json!({"metadata": metadata(), "encrypted_payload": "AgV4"})),
            false,
        )
        .unwrap();
        assert_eq!(req.ids.workspace_id, "ws-1");
        assert_eq!(req.ids.runtime_id, "rt-1");
        assert_eq!(req.event_id, "6a7e8feb-b491-4cf7-a9f1-bf3703467718");
        assert_eq!(req.token, TokenSource::Encrypted(vec![0x02, 0x05, 0x78]));
    }

    #[test]
    fn plaintext_tokens_only_in_development_mode() {
        let dev = event(json!({"metadata": metadata(), "payload": {"link_token": "tok-123"}}));
        assert_eq!(
            WorkerRequest::parse(&dev, false),
            Err(EventError::PlaintextRefused)
        );
        let req = WorkerRequest::parse(&dev, true).unwrap();
        assert_eq!(
            req.token,
            TokenSource::Plaintext(LinkToken::new("tok-123".into()).unwrap())
        );
        // The encrypted payload wins when both are there.
        let both = event(json!({"metadata": metadata(), "encrypted_payload": "AgV4",
                                "payload": {"link_token": "tok-123"}}));
        assert!(matches!(
            WorkerRequest::parse(&both, false).unwrap().token,
            TokenSource::Encrypted(_)
        ));
        let redacted = redacted(&dev).to_string();
        assert!(!redacted.contains("tok-123") && redacted.contains("<redacted>"));
    }

    #[test]
    fn malformed_events_are_named_precisely_and_never_quote_values() {
        let cases: Vec<(Value, &str)> = vec![
            (
                json!({"detail-type": "Something Else", "detail": {}}),
                "detail-type",
            ),
            (json!({"detail-type": DETAIL_TYPE}), "detail is missing"),
            (
                event(json!({"encrypted_payload": "AgV4"})),
                "detail.metadata is missing",
            ),
            (
                event(json!({"metadata": {"worker_id": "r"}, "encrypted_payload": "AgV4"})),
                "workspace_id is missing",
            ),
            (
                event(
                    json!({"metadata": {"workspace_id": "w", "worker_id": 7}, "encrypted_payload": "AgV4"}),
                ),
                "worker_id must be a string",
            ),
            (
                event(
                    json!({"metadata": {"workspace_id": "w/../x", "worker_id": "r"}, "encrypted_payload": "AgV4"}),
                ),
                "may contain only",
            ),
            (
                event(
                    json!({"metadata": metadata(), "encrypted_payload": "not base64!secret-ish"}),
                ),
                "not valid base64",
            ),
            (
                event(json!({"metadata": metadata(), "encrypted_payload": ""})),
                "is empty",
            ),
            (
                event(json!({"metadata": metadata(), "encrypted_payload": 5})),
                "must be a string",
            ),
            (
                event(json!({"metadata": metadata()})),
                "encrypted_payload is missing",
            ),
            (
                event(
                    json!({"metadata": metadata(), "encrypted_payload": "A".repeat(MAX_ENCRYPTED_PAYLOAD_LEN + 4)}),
                ),
                "at most",
            ),
        ];
        for (ev, expected) in cases {
            let err = WorkerRequest::parse(&ev, true).unwrap_err().to_string();
            assert!(err.contains(expected), "{ev}: {err}");
            assert!(!err.contains("secret-ish"), "{err}");
        }
        let bad_dev =
            event(json!({"metadata": metadata(), "payload": {"link_token": "has space"}}));
        let err = WorkerRequest::parse(&bad_dev, true)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("whitespace") && !err.contains("has space"),
            "{err}"
        );
    }

    #[test]
    fn decrypted_payloads_must_hold_a_valid_link_token() {
        assert_eq!(
            link_token_from_plaintext(br#"{"link_token":"abc"}"#)
                .unwrap()
                .expose(),
            "abc"
        );
        for bad in [
            &b"abc"[..],
            br#"{"token":"abc"}"#,
            br#"{"link_token":5}"#,
            br#"{"link_token":""}"#,
        ] {
            assert!(matches!(
                link_token_from_plaintext(bad),
                Err(EventError::InvalidPlaintext(_))
            ));
        }
    }
}
