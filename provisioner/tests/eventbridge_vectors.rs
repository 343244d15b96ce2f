//! Control Room's EventBridge payloads as the official AWS Encryption SDK for JavaScript makes them
//! (tests/data/eventbridge-vectors.json, from tests/data/eventbridge/generate.cjs): each decrypts to its link
//! token, or is refused, exactly as expected. Runs with the `eventbridge` feature (`cargo test --workspace`
//! enables it).
#![cfg(feature = "eventbridge")]

use base64::Engine;
use provisioner::eventbridge::payload::{KEY_NAME, KEY_NAMESPACE, PayloadDecryptor};
use provisioner::eventbridge::request::EventError;
use serde_json::Value;

fn vectors() -> Value {
    serde_json::from_str(include_str!("data/eventbridge-vectors.json"))
        .expect("vector file is JSON")
}

#[tokio::test]
async fn every_vector_decrypts_or_is_refused_as_expected() {
    let file = vectors();
    assert_eq!(file["key_namespace"], KEY_NAMESPACE);
    assert_eq!(file["key_name"], KEY_NAME);
    let vectors = file["vectors"].as_array().unwrap();
    assert!(vectors.len() >= 12, "vector file looks truncated");
    let decryptor = PayloadDecryptor::new().unwrap();
    let (mut opened, mut refused) = (0, 0);
    for v in vectors {
        let name = v["name"].as_str().unwrap();
        let secrets: Vec<&str> = v["secrets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap())
            .collect();
        let message = base64::engine::general_purpose::STANDARD
            .decode(v["encrypted_payload"].as_str().unwrap())
            .unwrap();
        let result = decryptor.link_token(&message, &secrets).await;
        match (&v["expect"]["link_token"], &v["expect"]["error"]) {
            (Value::String(token), _) => {
                let got = result.unwrap_or_else(|e| panic!("{name}: {e}"));
                assert_eq!(got.expose(), token, "{name}");
                opened += 1;
            }
            (_, Value::String(kind)) => {
                let err = result.err().unwrap_or_else(|| panic!("{name}: decrypted"));
                assert_eq!(err.kind(), kind, "{name}: {err}");
                // Whatever went wrong, the message never quotes a secret.
                for s in &secrets {
                    assert!(!err.to_string().contains(s), "{name}");
                }
                refused += 1;
            }
            _ => panic!("{name}: no expectation"),
        }
    }
    assert!(
        opened >= 4 && refused >= 8,
        "{opened} opened, {refused} refused"
    );
}

#[tokio::test]
async fn garbage_is_undecryptable_not_a_panic() {
    let decryptor = PayloadDecryptor::new().unwrap();
    for message in [
        &b""[..],
        b"\x02\x05\x78",
        &[0xff; 600][..],
        b"{\"link_token\":\"x\"}",
    ] {
        assert_eq!(
            decryptor
                .link_token(message, &["secret"])
                .await
                .unwrap_err(),
            EventError::Undecryptable
        );
    }
}
