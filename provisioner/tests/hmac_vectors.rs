//! Every signed request made by the independent Control Room signer (tests/data/hmac-vectors.json) gets the
//! outcome it expects: accepted ones verify (and parse), forbidden ones are refused.

use provisioner::protocol::{Command, RawRequest, verify};
use serde_json::Value;

fn vectors() -> Vec<Value> {
    let text = include_str!("data/hmac-vectors.json");
    serde_json::from_str::<Vec<Value>>(text).expect("vector file is a JSON list")
}

#[test]
fn every_vector_has_its_expected_outcome() {
    let vectors = vectors();
    assert!(vectors.len() >= 40, "vector file looks truncated");
    let (mut accepted, mut forbidden) = (0, 0);
    for v in &vectors {
        let name = v["name"].as_str().unwrap();
        let headers: Vec<(String, String)> = v["headers"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
            .collect();
        let body = v["body"].as_str().unwrap().as_bytes();
        let req = RawRequest {
            method: v["method"].as_str().unwrap(),
            raw_path: v["rawPath"].as_str().unwrap(),
            raw_query: v["rawQueryString"].as_str().unwrap(),
            headers: &headers,
            body,
        };
        let secret = v["secret"].as_str().unwrap();
        let now = v["serverTimeEpochMs"].as_i64().unwrap();
        let outcome = verify(&req, &[secret], now);
        match v["expect"].as_str().unwrap() {
            "accepted" => {
                assert_eq!(outcome, Ok(0), "{name} should be accepted");
                Command::parse(body).unwrap_or_else(|e| panic!("{name} should parse: {e}"));
                accepted += 1;
            }
            "forbidden" => {
                assert!(outcome.is_err(), "{name} should be forbidden");
                forbidden += 1;
            }
            other => panic!("{name}: unknown expectation {other}"),
        }
    }
    assert!(accepted > 0 && forbidden > 0);
}
