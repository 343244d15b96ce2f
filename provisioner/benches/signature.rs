//! Signature verifications per second on one core: `cargo bench -p provisioner --bench signature`.
//!
//! A plain bench binary (no criterion: it would double the dependency count for one figure). It verifies a
//! realistic signed `start` request in a loop for a fixed time and prints the rate and the time per check.

use provisioner::protocol::{RawRequest, sign, verify};
use std::hint::black_box;
use std::time::{Duration, Instant};

fn main() {
    let secret = b"0123456789abcdef0123456789abcdef0123456789abcdef";
    let body = br#"{"type":"start","workspaceId":"ws-29725","runtimeId":"d5f4b3b2e4b06ce6","runtimeLinkToken":"yBMWXaSCrUZoL8g5ubbbPIa84yRnBUbHoWC8FJowoRoWD8s7"}"#;
    let mut headers = vec![
        ("content-type".to_string(), "application/json".to_string()),
        (
            "host".to_string(),
            "abc123.execute-api.us-east-1.amazonaws.com".to_string(),
        ),
    ];
    fn unsigned<'a>(headers: &'a [(String, String)], body: &'a [u8]) -> RawRequest<'a> {
        RawRequest {
            method: "POST",
            raw_path: "/worker-request",
            raw_query: "",
            headers,
            body,
        }
    }
    let now_s = 1_788_000_000;
    let added = sign(
        &unsigned(&headers, body),
        &["content-type", "host", "x-rc-timestamp"],
        secret,
        now_s,
    )
    .unwrap();
    headers.extend(added);
    let req = unsigned(&headers, body);
    let secrets = [&secret[..]];

    // Warm up, then measure for a fixed wall time.
    for _ in 0..10_000 {
        verify(black_box(&req), &secrets, now_s * 1000).unwrap();
    }
    let budget = Duration::from_secs(3);
    let start = Instant::now();
    let mut n: u64 = 0;
    while start.elapsed() < budget {
        for _ in 0..1000 {
            black_box(verify(black_box(&req), &secrets, now_s * 1000).unwrap());
        }
        n += 1000;
    }
    let elapsed = start.elapsed();
    println!(
        "signature verification: {n} checks in {:.2} s = {:.0} checks/s on one core ({:.2} µs per check)",
        elapsed.as_secs_f64(),
        n as f64 / elapsed.as_secs_f64(),
        elapsed.as_secs_f64() * 1e6 / n as f64
    );
}
