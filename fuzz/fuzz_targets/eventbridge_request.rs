//! Fuzzes the EventBridge worker request parser: `cargo fuzz run eventbridge_request`.
//!
//! Arbitrary bytes, as JSON when they parse and inside an otherwise well-formed event when they do not: the
//! parser never panics, never accepts a plain-text token unless development mode is on, and its errors never
//! quote the link token (the link token here is a marker the assertions look for).

#![no_main]

use libfuzzer_sys::fuzz_target;
use provisioner::eventbridge::request::{
    DETAIL_TYPE, TokenSource, WorkerRequest, link_token_from_plaintext, redacted,
};
use serde_json::{Value, json};

const MARKER: &str = "zzLINKTOKENzz";

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if text.contains(MARKER) {
        return; // the marker must come from the event's token field only
    }
    let mut events = Vec::new();
    if let Ok(value) = serde_json::from_slice::<Value>(data) {
        events.push(value);
    }
    // The input as each field of an otherwise valid event.
    events.push(json!({"detail-type": DETAIL_TYPE, "detail": {
        "metadata": {"workspace_id": text, "worker_id": "r"}, "payload": {"link_token": MARKER}}}));
    events.push(json!({"detail-type": DETAIL_TYPE, "detail": {
        "metadata": {"workspace_id": "w", "worker_id": "r"}, "encrypted_payload": text}}));
    events.push(json!({"detail-type": DETAIL_TYPE, "detail": {
        "metadata": {"workspace_id": "w", "worker_id": "r"},
        "payload": {"link_token": format!("{MARKER}{text}")}}}));
    for event in &events {
        for allow_plaintext in [false, true] {
            match WorkerRequest::parse(event, allow_plaintext) {
                Ok(request) => {
                    if let TokenSource::Plaintext(_) = request.token {
                        assert!(allow_plaintext, "a plain-text token accepted outside development mode");
                    }
                    assert!(!format!("{request:?}").contains(MARKER));
                }
                Err(e) => assert!(!e.to_string().contains(MARKER), "{e}"),
            }
        }
        assert!(!redacted(event).to_string().contains(MARKER));
    }
    if let Err(e) = link_token_from_plaintext(data) {
        assert!(!e.to_string().contains(MARKER));
    }
});
