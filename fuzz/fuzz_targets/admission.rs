//! Fuzzes request admission (route, size, signature, command parsing): `cargo fuzz run admission`.
//!
//! Two kinds of input. Raw requests, made of arbitrary parts: none may ever be admitted (forging an
//! HMAC-SHA256 is not something a fuzzer does), so none could launch a worker. Signed requests, signed here
//! exactly as Control Room signs, then changed once (or not): unchanged ones must pass the signature check,
//! changed ones must be refused. Nothing may panic.

#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use provisioner::protocol::{RawRequest, Refusal, WORKER_REQUEST_PATH, admit, sign};

const SECRET: &[u8] = b"fuzzing-secret";
const NOW_S: i64 = 1_788_000_000;

#[derive(Debug, Arbitrary)]
enum Input {
    Raw {
        method: String,
        path: String,
        query: String,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
        now_ms: i64,
    },
    Signed {
        body: Vec<u8>,
        extra_headers: Vec<(String, String)>,
        skew_s: i16,
        change: Option<Change>,
    },
}

#[derive(Debug, Arbitrary)]
enum Change {
    BodyByte { index: u16, xor: u8 },
    AppendBody(Vec<u8>),
    Method(String),
    Path(String),
    Query(String),
    HeaderValue { which: u8, value: String },
    Timestamp(i16),
    Secret(Vec<u8>),
}

fn usable_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 32
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with("x-rc-")
        && name != "content-type"
}

fuzz_target!(|input: Input| {
    match input {
        Input::Raw {
            method,
            path,
            query,
            headers,
            body,
            now_ms,
        } => {
            let outcome = admit(&RawRequest::new(&method, &path, &query, &headers, &body), &[SECRET], now_ms);
            assert!(outcome.is_err(), "an unsigned request was admitted: {outcome:?}");
        }
        Input::Signed {
            body,
            extra_headers,
            skew_s,
            change,
        } => {
            let skew = i64::from(skew_s).clamp(-900, 900);
            let mut headers = vec![("content-type".to_string(), "application/json".to_string())];
            for (name, value) in extra_headers.into_iter().take(4) {
                if usable_name(&name) && !headers.iter().any(|(n, _)| *n == name) {
                    headers.push((name, value));
                }
            }
            let mut names: Vec<String> = headers.iter().map(|(n, _)| n.clone()).collect();
            names.push("x-rc-timestamp".into());
            let names: Vec<&str> = names.iter().map(String::as_str).collect();
            let unsigned = RawRequest::new("POST", WORKER_REQUEST_PATH, "", &headers, &body);
            let Ok(added) = sign(&unsigned, &names, SECRET, NOW_S + skew) else {
                return;
            };
            headers.extend(added);

            let (mut method, mut path, mut query) =
                ("POST".to_string(), WORKER_REQUEST_PATH.to_string(), String::new());
            let mut body = body;
            let mut secret = SECRET.to_vec();
            let mut changed = false;
            match change {
                None => {}
                Some(Change::BodyByte { index, xor }) => {
                    if !body.is_empty() && xor != 0 {
                        let i = usize::from(index) % body.len();
                        body[i] ^= xor;
                        changed = true;
                    }
                }
                Some(Change::AppendBody(more)) => {
                    changed = !more.is_empty();
                    body.extend(more);
                }
                Some(Change::Method(m)) => {
                    changed = m != method;
                    method = m;
                }
                Some(Change::Path(p)) => {
                    changed = p != path;
                    path = p;
                }
                Some(Change::Query(q)) => {
                    changed = !q.is_empty();
                    query = q;
                }
                Some(Change::HeaderValue { which, value }) => {
                    let signed: Vec<String> = headers
                        .iter()
                        .find(|(n, _)| n == "x-rc-signed-headers")
                        .map(|(_, v)| v.split(';').map(str::to_owned).collect())
                        .unwrap_or_default();
                    let name = &signed[usize::from(which) % signed.len()];
                    if let Some(slot) = headers.iter_mut().find(|(n, _)| n == name) {
                        changed = slot.1 != value;
                        slot.1 = value;
                    }
                }
                Some(Change::Timestamp(delta)) => {
                    if delta != 0 {
                        let slot = headers.iter_mut().find(|(n, _)| n == "x-rc-timestamp").unwrap();
                        slot.1 = (NOW_S + skew + i64::from(delta)).to_string();
                        changed = true;
                    }
                }
                Some(Change::Secret(s)) => {
                    changed = s != SECRET;
                    secret = s;
                }
            }
            let outcome = admit(
                &RawRequest::new(&method, &path, &query, &headers, &body),
                &[secret.as_slice()],
                NOW_S * 1000,
            );
            if changed {
                assert!(outcome.is_err(), "a changed request was admitted: {outcome:?}");
            } else {
                // Signed correctly: refused only for its size or its content, never its signature.
                assert!(
                    !matches!(outcome, Err(Refusal::Forbidden(_) | Refusal::NotFound | Refusal::MethodNotAllowed)),
                    "a correctly signed request was refused: {outcome:?}"
                );
            }
        }
    }
});
