//! Control Room's request signature (DESIGN.md §3):
//!
//! ```text
//! material  = METHOD \n rawPath \n rawQueryString \n signedHeaderLines \n x-rc-signed-headers \n B64(SHA256(body))
//! toSign    = "sha256" \n x-rc-timestamp \n B64(SHA256(material))
//! signature = HEX(HMAC-SHA256(secret, toSign))
//! ```

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

pub const SIGNATURE_HEADER: &str = "x-rc-signature";
pub const TIMESTAMP_HEADER: &str = "x-rc-timestamp";
pub const SIGNED_HEADERS_HEADER: &str = "x-rc-signed-headers";

/// How far the signer's clock may be from ours, either way.
pub const MAX_CLOCK_SKEW_SECONDS: i64 = 15 * 60;

/// The request exactly as received: the signature covers these bytes, so nothing here is normalised.
/// `Debug` shows the shape only: the body may hold a link token.
#[derive(Clone, Copy)]
pub struct RawRequest<'a> {
    pub method: &'a str,
    pub raw_path: &'a str,
    pub raw_query: &'a str,
    /// Header names as received (any case) with their values.
    pub headers: &'a [(String, String)],
    pub body: &'a [u8],
}

impl<'a> RawRequest<'a> {
    /// The parts in the order they are signed: method, path, query, headers, body.
    pub fn new(
        method: &'a str,
        raw_path: &'a str,
        raw_query: &'a str,
        headers: &'a [(String, String)],
        body: &'a [u8],
    ) -> Self {
        RawRequest {
            method,
            raw_path,
            raw_query,
            headers,
            body,
        }
    }
}

impl std::fmt::Debug for RawRequest<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawRequest")
            .field("method", &self.method)
            .field("raw_path", &self.raw_path)
            .field("raw_query", &self.raw_query)
            .field(
                "headers",
                &self.headers.iter().map(|(n, _)| n).collect::<Vec<_>>(),
            )
            .field("body_len", &self.body.len())
            .finish()
    }
}

impl RawRequest<'_> {
    /// Case-insensitive header lookup (HTTP header names are case-insensitive; API Gateway lowercases them,
    /// other front ends may not).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Why a request's signature was refused. Every variant is answered 403; the message says what to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("missing header {0}")]
    MissingHeader(&'static str),
    #[error("header {SIGNED_HEADERS_HEADER} names {0}, which the request does not carry")]
    MissingSignedHeader(String),
    #[error("header {SIGNED_HEADERS_HEADER} is empty or names an empty header")]
    MalformedSignedHeaders,
    #[error("header {TIMESTAMP_HEADER} is not a Unix time in seconds")]
    BadTimestamp,
    #[error(
        "request timestamp is {skew_seconds} s away from the server clock (at most {MAX_CLOCK_SKEW_SECONDS} s allowed)"
    )]
    Expired { skew_seconds: i64 },
    #[error("header {SIGNATURE_HEADER} is not a 64-character hex HMAC-SHA256")]
    MalformedSignature,
    #[error("signature does not match")]
    Mismatch,
}

/// The string the HMAC is computed over, from the request parts and the signed-header list.
fn string_to_sign(
    req: &RawRequest<'_>,
    timestamp: &str,
    signed_headers: &str,
) -> Result<String, SignatureError> {
    let mut material = String::with_capacity(256);
    material.push_str(req.method);
    material.push('\n');
    material.push_str(req.raw_path);
    material.push('\n');
    material.push_str(req.raw_query);
    material.push('\n');
    for (i, name) in signed_headers.split(';').enumerate() {
        if name.is_empty() {
            return Err(SignatureError::MalformedSignedHeaders);
        }
        let value = req
            .header(name)
            .ok_or_else(|| SignatureError::MissingSignedHeader(truncate_for_message(name)))?;
        if i > 0 {
            material.push('\n');
        }
        material.push_str(name);
        material.push(':');
        material.push_str(value);
    }
    material.push('\n');
    material.push_str(signed_headers);
    material.push('\n');
    material.push_str(&B64.encode(Sha256::digest(req.body)));

    let mut to_sign = String::with_capacity(96);
    to_sign.push_str("sha256\n");
    to_sign.push_str(timestamp);
    to_sign.push('\n');
    to_sign.push_str(&B64.encode(Sha256::digest(material.as_bytes())));
    Ok(to_sign)
}

/// Header names come from the caller: keep what we echo back short.
fn truncate_for_message(name: &str) -> String {
    name.chars().take(64).collect()
}

fn hmac_sha256(secret: &[u8], message: &str) -> [u8; 32] {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC accepts keys of any length");
    mac.update(message.as_bytes());
    mac.finalize().into_bytes().into()
}

/// Checks the request's signature and timestamp against every accepted secret (current and, during a
/// rotation, previous). `now_epoch_ms` is the server's clock: on Lambda, API Gateway's `timeEpoch`.
///
/// Returns the index of the secret that matched.
pub fn verify<S: AsRef<[u8]>>(
    req: &RawRequest<'_>,
    secrets: &[S],
    now_epoch_ms: i64,
) -> Result<usize, SignatureError> {
    let signature = req
        .header(SIGNATURE_HEADER)
        .ok_or(SignatureError::MissingHeader(SIGNATURE_HEADER))?;
    let timestamp = req
        .header(TIMESTAMP_HEADER)
        .ok_or(SignatureError::MissingHeader(TIMESTAMP_HEADER))?;
    let signed_headers = req
        .header(SIGNED_HEADERS_HEADER)
        .ok_or(SignatureError::MissingHeader(SIGNED_HEADERS_HEADER))?;

    let ts: i64 = (!timestamp.is_empty() && timestamp.bytes().all(|b| b.is_ascii_digit()))
        .then(|| timestamp.parse().ok())
        .flatten()
        .ok_or(SignatureError::BadTimestamp)?;
    let skew_ms = ts
        .checked_mul(1000)
        .and_then(|ts_ms| ts_ms.checked_sub(now_epoch_ms))
        .ok_or(SignatureError::BadTimestamp)?;
    if skew_ms.abs() > MAX_CLOCK_SKEW_SECONDS * 1000 {
        return Err(SignatureError::Expired {
            skew_seconds: skew_ms / 1000,
        });
    }

    let mut expected = [0u8; 32];
    if signature.len() != 64 || hex::decode_to_slice(signature, &mut expected).is_err() {
        return Err(SignatureError::MalformedSignature);
    }

    let to_sign = string_to_sign(req, timestamp, signed_headers)?;
    // Check every secret, without stopping early, so timing does not tell which one matched.
    let mut matched = None;
    for (i, secret) in secrets.iter().enumerate() {
        let actual = hmac_sha256(secret.as_ref(), &to_sign);
        if bool::from(actual.ct_eq(&expected)) && matched.is_none() {
            matched = Some(i);
        }
    }
    matched.ok_or(SignatureError::Mismatch)
}

/// Signs a request exactly as Control Room does; returns the three headers to add. Used by the Control Room
/// simulator (`cargo xtask invoke`) and the tests. `req.headers` must already hold every header named in
/// `signed_headers` except `x-rc-timestamp`, which this function provides.
pub fn sign(
    req: &RawRequest<'_>,
    signed_headers: &[&str],
    secret: &[u8],
    timestamp_epoch_s: i64,
) -> Result<Vec<(String, String)>, SignatureError> {
    let timestamp = timestamp_epoch_s.to_string();
    let mut all = req.headers.to_vec();
    all.push((TIMESTAMP_HEADER.to_string(), timestamp.clone()));
    let signed = signed_headers.join(";");
    let to_sign = string_to_sign(
        &RawRequest {
            headers: &all,
            ..*req
        },
        &timestamp,
        &signed,
    )?;
    Ok(vec![
        (TIMESTAMP_HEADER.to_string(), timestamp),
        (SIGNED_HEADERS_HEADER.to_string(), signed),
        (
            SIGNATURE_HEADER.to_string(),
            hex::encode(hmac_sha256(secret, &to_sign)),
        ),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"unit-test-secret";
    const NOW_S: i64 = 1_788_000_000;

    fn signed(body: &[u8], ts: i64) -> Vec<(String, String)> {
        let mut headers = vec![("content-type".to_string(), "application/json".to_string())];
        headers.extend(
            sign(
                &req(&headers, body),
                &["content-type", TIMESTAMP_HEADER],
                SECRET,
                ts,
            )
            .unwrap(),
        );
        headers
    }

    fn req<'a>(headers: &'a [(String, String)], body: &'a [u8]) -> RawRequest<'a> {
        RawRequest {
            method: "POST",
            raw_path: "/worker-request",
            raw_query: "",
            headers,
            body,
        }
    }

    #[test]
    fn round_trip_accepts() {
        let h = signed(b"{}", NOW_S);
        assert_eq!(verify(&req(&h, b"{}"), &[SECRET], NOW_S * 1000), Ok(0));
    }

    #[test]
    fn previous_secret_is_accepted_and_reported() {
        let h = signed(b"{}", NOW_S);
        assert_eq!(
            verify(&req(&h, b"{}"), &[&b"new"[..], SECRET], NOW_S * 1000),
            Ok(1)
        );
    }

    #[test]
    fn header_names_match_case_insensitively() {
        let h: Vec<_> = signed(b"{}", NOW_S)
            .into_iter()
            .map(|(n, v)| (n.to_ascii_uppercase(), v))
            .collect();
        assert_eq!(verify(&req(&h, b"{}"), &[SECRET], NOW_S * 1000), Ok(0));
    }

    #[test]
    fn each_missing_header_is_named() {
        for name in [SIGNATURE_HEADER, TIMESTAMP_HEADER, SIGNED_HEADERS_HEADER] {
            let h: Vec<_> = signed(b"{}", NOW_S)
                .into_iter()
                .filter(|(n, _)| n != name)
                .collect();
            assert_eq!(
                verify(&req(&h, b"{}"), &[SECRET], NOW_S * 1000),
                Err(SignatureError::MissingHeader(name))
            );
        }
    }

    #[test]
    fn a_signed_header_that_is_absent_is_refused() {
        let mut h = signed(b"{}", NOW_S);
        h.retain(|(n, _)| n != "content-type");
        assert_eq!(
            verify(&req(&h, b"{}"), &[SECRET], NOW_S * 1000),
            Err(SignatureError::MissingSignedHeader("content-type".into()))
        );
    }

    #[test]
    fn skew_bounds_are_fifteen_minutes_either_way() {
        let h = signed(b"{}", NOW_S);
        let at = |delta_s: i64| verify(&req(&h, b"{}"), &[SECRET], (NOW_S + delta_s) * 1000);
        assert_eq!(at(900), Ok(0));
        assert_eq!(at(-900), Ok(0));
        assert_eq!(at(901), Err(SignatureError::Expired { skew_seconds: -901 }));
        assert_eq!(at(-901), Err(SignatureError::Expired { skew_seconds: 901 }));
    }

    #[test]
    fn malformed_timestamps_and_signatures() {
        for bad_ts in ["", "-5", "12a", "+1", "99999999999999999999"] {
            let mut h = signed(b"{}", NOW_S);
            for (n, v) in h.iter_mut() {
                if n == TIMESTAMP_HEADER {
                    *v = bad_ts.to_string();
                }
            }
            assert_eq!(
                verify(&req(&h, b"{}"), &[SECRET], NOW_S * 1000),
                Err(SignatureError::BadTimestamp),
                "{bad_ts:?}"
            );
        }
        for bad_sig in ["", "zz", &"g".repeat(64), &"a".repeat(63)] {
            let mut h = signed(b"{}", NOW_S);
            for (n, v) in h.iter_mut() {
                if n == SIGNATURE_HEADER {
                    *v = bad_sig.to_string();
                }
            }
            assert_eq!(
                verify(&req(&h, b"{}"), &[SECRET], NOW_S * 1000),
                Err(SignatureError::MalformedSignature)
            );
        }
    }

    #[test]
    fn any_change_to_signed_parts_is_a_mismatch() {
        let h = signed(b"{}", NOW_S);
        let base = req(&h, b"{}");
        let now = NOW_S * 1000;
        assert_eq!(
            verify(&req(&h, b"{ }"), &[SECRET], now),
            Err(SignatureError::Mismatch)
        );
        for changed in [
            RawRequest {
                method: "PUT",
                ..base
            },
            RawRequest {
                raw_path: "/other",
                ..base
            },
            RawRequest {
                raw_query: "a=b",
                ..base
            },
        ] {
            assert_eq!(
                verify(&changed, &[SECRET], now),
                Err(SignatureError::Mismatch)
            );
        }
        assert_eq!(
            verify(&base, &[b"wrong"], now),
            Err(SignatureError::Mismatch)
        );
        let no_secrets: [&[u8]; 0] = [];
        assert_eq!(
            verify(&base, &no_secrets, now),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn empty_signed_header_names_are_refused() {
        let mut h = signed(b"{}", NOW_S);
        for (n, v) in h.iter_mut() {
            if n == SIGNED_HEADERS_HEADER {
                *v = "content-type;;x-rc-timestamp".into();
            }
        }
        assert_eq!(
            verify(&req(&h, b"{}"), &[SECRET], NOW_S * 1000),
            Err(SignatureError::MalformedSignedHeaders)
        );
    }
}
