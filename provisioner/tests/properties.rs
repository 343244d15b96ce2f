//! Property tests over request bytes, headers and JSON (run in the normal suite; the long run is the cargo-fuzz
//! target in `fuzz/`):
//!
//! - nothing panics, whatever arrives;
//! - nothing is admitted (and so nothing launched) without a valid signature: a validly signed request is
//!   admitted, and changing any signed part of it gets it refused;
//! - refusals never quote the link token.

use proptest::prelude::*;
use provisioner::protocol::{
    Command, MAX_BODY_BYTES, RawRequest, Refusal, WORKER_REQUEST_PATH, admit, sign,
};

const SECRET: &[u8] = b"property-test-secret";
const NOW_S: i64 = 1_788_000_000;

/// `body` signed as Control Room signs it, with `extra` headers also signed.
fn signed(body: &[u8], extra: &[(String, String)], ts: i64) -> Vec<(String, String)> {
    let mut headers = vec![("content-type".to_string(), "application/json".to_string())];
    headers.extend(extra.iter().cloned());
    let mut names: Vec<&str> = headers.iter().map(|(n, _)| n.as_str()).collect();
    names.push("x-rc-timestamp");
    let added = sign(
        &RawRequest::new("POST", WORKER_REQUEST_PATH, "", &headers, body),
        &names,
        SECRET,
        ts,
    )
    .unwrap();
    headers.extend(added);
    headers
}

fn header_name() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9-]{0,15}".prop_filter("not one of ours", |n| {
        !n.starts_with("x-rc-") && n != "content-type"
    })
}

fn start_body() -> impl Strategy<Value = String> {
    (
        "[A-Za-z0-9._-]{1,64}",
        "[A-Za-z0-9._-]{1,64}",
        "[A-Za-z0-9]{1,80}",
        proptest::option::of(1u64..100_000),
    )
        .prop_map(|(ws, rt, token, life)| {
            let mut v = serde_json::json!({"type": "start", "workspaceId": ws, "runtimeId": rt, "runtimeLinkToken": token});
            if let Some(l) = life {
                v["maxLifetimeSeconds"] = l.into();
            }
            v.to_string()
        })
}

/// One change to a signed request.
#[derive(Debug, Clone)]
enum Mutation {
    FlipBodyBit { index: usize, bit: u8 },
    AppendToBody(Vec<u8>),
    Method(String),
    Path(String),
    Query(String),
    SignedHeaderValue { which: usize, value: String },
    Timestamp(i64),
    Secret(Vec<u8>),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 0u8..8).prop_map(|(index, bit)| Mutation::FlipBodyBit { index, bit }),
        proptest::collection::vec(any::<u8>(), 1..8).prop_map(Mutation::AppendToBody),
        "(GET|PUT|PATCH|post|DELETE)".prop_map(Mutation::Method),
        "/[a-z-]{0,20}".prop_map(Mutation::Path),
        "[a-z]{1,5}=[a-z0-9]{0,5}".prop_map(Mutation::Query),
        (any::<usize>(), "[ -~]{0,20}")
            .prop_map(|(which, value)| Mutation::SignedHeaderValue { which, value }),
        (-900i64..900)
            .prop_filter("a change", |d| *d != 0)
            .prop_map(Mutation::Timestamp),
        proptest::collection::vec(any::<u8>(), 0..32).prop_map(Mutation::Secret),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_requests_never_panic_and_are_never_admitted(
        method in "[A-Z]{0,8}",
        path in prop_oneof![Just(WORKER_REQUEST_PATH.to_string()), "[ -~]{0,30}"],
        query in "[ -~]{0,20}",
        headers in proptest::collection::vec(
            (prop_oneof![
                Just("x-rc-signature".to_string()),
                Just("x-rc-timestamp".to_string()),
                Just("X-RC-Signed-Headers".to_string()),
                Just("content-type".to_string()),
                "[ -~]{0,12}",
            ], "[ -~]{0,70}"),
            0..8,
        ),
        body in proptest::collection::vec(any::<u8>(), 0..2048),
        now in any::<i64>(),
    ) {
        let req = RawRequest::new(&method, &path, &query, &headers, &body);
        let outcome = admit(&req, &[SECRET], now);
        // Forging an HMAC-SHA256 at random does not happen: nothing unsigned gets through.
        prop_assert!(outcome.is_err(), "admitted: {outcome:?}");
        let _ = Command::parse(&body);
    }

    #[test]
    fn a_signed_request_is_admitted_and_any_change_to_it_is_refused(
        body in start_body(),
        extra in proptest::collection::vec((header_name(), "[ -~]{0,30}"), 0..3),
        skew in -900i64..=900,
        change in mutation(),
    ) {
        let mut extra = extra;
        extra.sort();
        extra.dedup_by(|a, b| a.0 == b.0);
        let headers = signed(body.as_bytes(), &extra, NOW_S + skew);
        let base = RawRequest::new("POST", WORKER_REQUEST_PATH, "", &headers, body.as_bytes());
        let admitted = admit(&base, &[SECRET], NOW_S * 1000);
        prop_assert!(matches!(admitted, Ok(Command::Start(_))), "{admitted:?}");

        let (mut method, mut path, mut query) = ("POST".to_string(), WORKER_REQUEST_PATH.to_string(), String::new());
        let mut headers = headers.clone();
        let mut bytes = body.clone().into_bytes();
        let mut secret = SECRET.to_vec();
        match &change {
            Mutation::FlipBodyBit { index, bit } => {
                let i = index % bytes.len();
                bytes[i] ^= 1 << bit;
            }
            Mutation::AppendToBody(more) => bytes.extend(more),
            Mutation::Method(m) => method = m.clone(),
            Mutation::Path(p) => {
                prop_assume!(p != WORKER_REQUEST_PATH);
                path = p.clone();
            }
            Mutation::Query(q) => query = q.clone(),
            Mutation::SignedHeaderValue { which, value } => {
                // Any header named in x-rc-signed-headers, the timestamp included.
                let signed_names: Vec<String> = headers
                    .iter()
                    .find(|(n, _)| n == "x-rc-signed-headers")
                    .map(|(_, v)| v.split(';').map(str::to_owned).collect())
                    .unwrap();
                let name = &signed_names[which % signed_names.len()];
                let slot = headers.iter_mut().find(|(n, _)| n == name).unwrap();
                prop_assume!(slot.1 != *value);
                slot.1 = value.clone();
            }
            Mutation::Timestamp(delta) => {
                let slot = headers.iter_mut().find(|(n, _)| n == "x-rc-timestamp").unwrap();
                slot.1 = (NOW_S + skew + delta).to_string();
            }
            Mutation::Secret(s) => {
                prop_assume!(s.as_slice() != SECRET);
                secret = s.clone();
            }
        }
        let changed = RawRequest::new(&method, &path, &query, &headers, &bytes);
        let outcome = admit(&changed, &[secret.as_slice()], NOW_S * 1000);
        prop_assert!(outcome.is_err(), "{change:?} was admitted: {outcome:?}");
        if let Mutation::Method(_) | Mutation::Path(_) = change {
            // Wrong route or method: refused before the signature is even looked at.
            prop_assert!(matches!(outcome, Err(Refusal::NotFound | Refusal::MethodNotAllowed)));
        }
    }

    #[test]
    fn refusals_never_quote_the_link_token(
        token in "[A-Za-z0-9]{24,48}",
        breakage in prop_oneof![
            Just(r#"{"type":"start","workspaceId":"w","runtimeId":"r","runtimeLinkToken":"TOKEN""#),
            Just(r#"{"type":"start","workspaceId":"w","runtimeId":"r","runtimeLinkToken":"TOKEN","maxLifetimeSeconds":-1}"#),
            Just(r#"{"type":"start","workspaceId":"w/x","runtimeId":"r","runtimeLinkToken":"TOKEN"}"#),
            Just(r#"{"type":"TOKEN"}"#),
            Just(r#"{"type":"start","workspaceId":"TOKEN TOKEN","runtimeId":"r","runtimeLinkToken":"x"}"#),
            Just(r#"["TOKEN"]"#),
            Just(r#"{"type":"start","workspaceId":"w","runtimeId":"r","runtimeLinkToken":"TOKEN "}"#),
        ],
    ) {
        let body = breakage.replace("TOKEN", &token);
        let headers = signed(body.as_bytes(), &[], NOW_S);
        let req = RawRequest::new("POST", WORKER_REQUEST_PATH, "", &headers, body.as_bytes());
        match admit(&req, &[SECRET], NOW_S * 1000) {
            Err(Refusal::Invalid(e)) => {
                prop_assert!(!e.to_string().contains(&token), "{e}");
                prop_assert!(!format!("{e:?}").contains(&token), "{e:?}");
            }
            other => prop_assert!(false, "expected a 400, got {other:?}"),
        }
    }

    #[test]
    fn oversized_bodies_are_refused_before_anything_else(extra in 1usize..4096) {
        let body = vec![b' '; MAX_BODY_BYTES + extra];
        let req = RawRequest::new("POST", WORKER_REQUEST_PATH, "", &[], &body);
        prop_assert_eq!(admit(&req, &[SECRET], 0), Err(Refusal::TooLarge(MAX_BODY_BYTES + extra)));
    }
}
