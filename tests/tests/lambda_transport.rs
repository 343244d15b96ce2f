//! The Lambda entry point, fed API Gateway HTTP API (payload 2.0) events as Lambda would: it must answer
//! byte-for-byte what `provisioner serve` answers, decode base64 bodies, and judge the timestamp by API
//! Gateway's `timeEpoch`.

use e2e::*;
use provisioner::Provisioner;
use provisioner::config::Settings;
use provisioner::transport::lambda;
use xtask::invoke;
use xtask::lambda_runtime_stub::api_gateway_event;

/// The API Gateway event for a request, as the Lambda receives it.
fn event(headers: &[(String, String)], body: &[u8], base64: bool, time_epoch_ms: i64) -> String {
    api_gateway_event(headers, body, base64, time_epoch_ms).to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn lambda_and_serve_give_identical_replies_and_lambda_uses_api_gateway_time() {
    let dir = scratch_dir("lambda");
    let moto = start_moto(&dir);
    let sdk = sdk(&moto).await;
    let seeded = seed(&sdk).await.unwrap();
    let env = seeded.provisioner_env();
    let in_process = Provisioner::new(Settings::from_env(|k| env.get(k).cloned()), &sdk);
    let serve = Serve::start(&dir, &env, &moto.endpoint_url()).unwrap();
    let now_s = invoke::now_epoch_s();

    let cases: Vec<(&str, String, &str)> = vec![
        ("status", invoke::status_body(), seeded.secret.as_str()),
        ("bad JSON", "{nope".to_string(), seeded.secret.as_str()),
        ("wrong secret", invoke::status_body(), "wrong"),
        (
            "unknown command",
            r#"{"type":"dance"}"#.to_string(),
            seeded.secret.as_str(),
        ),
    ];
    for (name, body, secret) in &cases {
        let headers = invoke::signed_headers(&serve.url, secret, body.as_bytes(), now_s).unwrap();
        let over_http = invoke::post(&serve.url, &headers, body.as_bytes()).unwrap();
        for base64 in [false, true] {
            let req = lambda_http::request::from_str(&event(
                &headers,
                body.as_bytes(),
                base64,
                now_s * 1000,
            ))
            .expect("valid API Gateway event");
            let reply = lambda::handle(&in_process, &req).await;
            assert_eq!(
                (reply.status, reply.body.as_str()),
                (over_http.status, over_http.body.as_str()),
                "{name} (base64 body: {base64})"
            );
            // The runtime's entry point: raw event JSON in, API Gateway response JSON out.
            let response = lambda::dispatch(
                &in_process,
                api_gateway_event(&headers, body.as_bytes(), base64, now_s * 1000),
            )
            .await
            .unwrap();
            assert_eq!(response["statusCode"], over_http.status, "{name}");
            assert_eq!(response["body"], over_http.body.as_str(), "{name}");
            assert_eq!(response["headers"]["content-type"], "application/json");
        }
    }

    // A signed start through Lambda launches a task; the same event again launches none.
    let start = invoke::start_body("ws-l", "run-lambda", "tok-l", None);
    let headers =
        invoke::signed_headers(&serve.url, &seeded.secret, start.as_bytes(), now_s).unwrap();
    let req =
        lambda_http::request::from_str(&event(&headers, start.as_bytes(), true, now_s * 1000))
            .unwrap();
    assert_eq!(lambda::handle(&in_process, &req).await.status, 200);
    let again = lambda::handle(&in_process, &req).await;
    assert!(
        again.body.contains("worker already running"),
        "{}",
        again.body
    );
    assert_eq!(running_tasks(&sdk, &seeded.cluster_arn).await.len(), 1);

    // The clock is API Gateway's: the same valid signature, received 16 minutes later, is refused.
    let status = invoke::status_body();
    let headers =
        invoke::signed_headers(&serve.url, &seeded.secret, status.as_bytes(), now_s).unwrap();
    let late = lambda_http::request::from_str(&event(
        &headers,
        status.as_bytes(),
        false,
        (now_s + 16 * 60) * 1000,
    ))
    .unwrap();
    let reply = lambda::handle(&in_process, &late).await;
    assert_eq!(reply.status, 403, "{}", reply.body);
    assert!(reply.body.contains("away from the server clock"));
}
