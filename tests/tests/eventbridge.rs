//! The EventBridge transport against a real moto server: Control Room's encrypted worker requests (made by the
//! official JavaScript Encryption SDK, see provisioner/tests/data/eventbridge-vectors.json) launch one task
//! with the decrypted link token; a redelivered event launches none; events that cannot be acted on land in
//! the dead-letter queue (SQS) with their reason and without any link token; the `provisioner-events` binary
//! does the same under a local Lambda Runtime API.

use e2e::*;
use provisioner::Provisioner;
use provisioner::config::{ENV_ALLOW_PLAINTEXT_LINK_TOKENS, ENV_DEAD_LETTER_QUEUE_URL, Settings};
use provisioner::eventbridge::EventHandler;
use provisioner::eventbridge::request::DETAIL_TYPE;
use provisioner::launcher::{ENV_LINK_TOKEN, TAG_RUNTIME_ID};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

const WORKSPACE: &str = "ws-events";

fn vectors() -> Value {
    serde_json::from_str(include_str!(
        "../../provisioner/tests/data/eventbridge-vectors.json"
    ))
    .unwrap()
}

/// The named vector's accepted secrets and encrypted payload.
fn vector(name_starts: &str) -> (Vec<String>, String) {
    let file = vectors();
    let v = file["vectors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"].as_str().unwrap().starts_with(name_starts))
        .unwrap_or_else(|| panic!("no vector {name_starts}"))
        .clone();
    let secrets = v["secrets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect();
    (
        secrets,
        v["encrypted_payload"].as_str().unwrap().to_string(),
    )
}

fn link_token_of_vectors() -> String {
    vectors()["vectors"][0]["expect"]["link_token"]
        .as_str()
        .unwrap()
        .to_string()
}

fn worker_request(runtime: &str, detail: Value) -> Value {
    let mut detail = detail;
    detail["metadata"] = json!({"workspace_id": WORKSPACE, "worker_id": runtime});
    json!({
        "version": "0",
        "id": format!("evt-{runtime}"),
        "detail-type": DETAIL_TYPE,
        "source": "robocorp.control-room",
        "account": "123456789012",
        "time": "2026-12-04T06:00:00Z",
        "region": REGION,
        "resources": [],
        "detail": detail,
    })
}

struct World {
    _moto: xtask::moto::MotoServer,
    moto_url: String,
    sdk: aws_config::SdkConfig,
    seeded: Seeded,
    queue_url: String,
    dir: std::path::PathBuf,
}

/// moto with the provisioner's resources, the shared secret set to the vectors' current secret, and a
/// dead-letter queue.
async fn world(name: &str) -> World {
    let dir = scratch_dir(name);
    let moto = start_moto(&dir);
    let sdk = sdk(&moto).await;
    let seeded = seed(&sdk).await.unwrap();
    let (secrets, _) = vector("default committing suite");
    aws_sdk_secretsmanager::Client::new(&sdk)
        .put_secret_value()
        .secret_id(&seeded.secret_id)
        .secret_string(provisioner::config::SharedSecrets::to_document(
            &secrets[0],
            None,
        ))
        .send()
        .await
        .unwrap();
    let queue_url = aws_sdk_sqs::Client::new(&sdk)
        .create_queue()
        .queue_name(format!("odw-e2e-{}-dlq", random_hex(4)))
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_string();
    World {
        moto_url: moto.endpoint_url(),
        _moto: moto,
        sdk,
        seeded,
        queue_url,
        dir,
    }
}

impl World {
    fn env(&self, allow_plaintext: bool) -> BTreeMap<String, String> {
        let mut env = self.seeded.provisioner_env();
        env.insert(ENV_DEAD_LETTER_QUEUE_URL.into(), self.queue_url.clone());
        env.insert(
            ENV_ALLOW_PLAINTEXT_LINK_TOKENS.into(),
            allow_plaintext.to_string(),
        );
        env
    }

    fn handler(&self, allow_plaintext: bool) -> EventHandler {
        let env = self.env(allow_plaintext);
        let settings = Settings::from_env(|k| env.get(k).cloned());
        let provisioner = Arc::new(Provisioner::new(settings, &self.sdk));
        EventHandler::new(provisioner, &self.sdk).unwrap()
    }

    async fn tasks_of(&self, runtime: &str) -> Vec<aws_sdk_ecs::types::Task> {
        running_tasks(&self.sdk, &self.seeded.cluster_arn)
            .await
            .into_iter()
            .filter(|t| tag(t, TAG_RUNTIME_ID) == Some(runtime))
            .collect()
    }

    /// Every message in the dead-letter queue (received, then deleted).
    async fn dead_letters(&self) -> Vec<(String, Option<String>)> {
        let sqs = aws_sdk_sqs::Client::new(&self.sdk);
        let out = sqs
            .receive_message()
            .queue_url(&self.queue_url)
            .max_number_of_messages(10)
            .message_attribute_names("All")
            .send()
            .await
            .unwrap();
        let mut letters = Vec::new();
        for m in out.messages() {
            let reason = m
                .message_attributes()
                .and_then(|a| a.get("odw-reason"))
                .and_then(|v| v.string_value())
                .map(str::to_owned);
            letters.push((m.body().unwrap_or_default().to_string(), reason));
            sqs.delete_message()
                .queue_url(&self.queue_url)
                .receipt_handle(m.receipt_handle().unwrap())
                .send()
                .await
                .unwrap();
        }
        letters
    }
}

fn link_token_env(task: &aws_sdk_ecs::types::Task) -> Option<String> {
    task.overrides()?.container_overrides()[0]
        .environment()
        .iter()
        .find(|kv| kv.name() == Some(ENV_LINK_TOKEN))
        .and_then(|kv| kv.value().map(str::to_owned))
}

#[tokio::test(flavor = "multi_thread")]
async fn an_encrypted_request_launches_one_worker_and_a_redelivery_launches_none() {
    let w = world("events-launch").await;
    let handler = w.handler(false);
    let (_, payload) = vector("default committing suite");
    let event = worker_request("rt-enc-1", json!({"encrypted_payload": payload}));

    let first = handler.handle(&event, "req-1").await.unwrap();
    assert_eq!(first["message"], "worker launched", "{first}");
    let tasks = w.tasks_of("rt-enc-1").await;
    assert_eq!(tasks.len(), 1);
    assert_eq!(link_token_env(&tasks[0]), Some(link_token_of_vectors()));
    assert_eq!(
        Some(first["taskArn"].as_str().unwrap()),
        tasks[0].task_arn()
    );

    // EventBridge delivers at least once; Lambda retries: the same event again launches nothing.
    let again = handler.handle(&event, "req-2").await.unwrap();
    assert_eq!(again["message"], "worker already running", "{again}");
    assert_eq!(again["taskArn"], first["taskArn"]);
    assert_eq!(w.tasks_of("rt-enc-1").await.len(), 1);

    // The suite without a signature works too.
    let (_, unsigned) = vector("committing suite without signature");
    let answer = handler
        .handle(
            &worker_request("rt-enc-2", json!({"encrypted_payload": unsigned})),
            "req-3",
        )
        .await
        .unwrap();
    assert_eq!(answer["message"], "worker launched", "{answer}");
    assert!(w.dead_letters().await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn events_that_cannot_be_acted_on_go_to_the_dead_letter_queue_without_secrets() {
    let w = world("events-reject").await;
    let handler = w.handler(false);
    let dev_token = format!("dev-token-{}", random_hex(8));
    let cases = [
        (
            worker_request(
                "rt-bad-1",
                json!({"encrypted_payload": vector("wrong secret").1}),
            ),
            "undecryptable",
        ),
        (
            worker_request(
                "rt-bad-2",
                json!({"encrypted_payload": vector("non-committing suite with signature").1}),
            ),
            "undecryptable",
        ),
        (
            worker_request(
                "rt-bad-3",
                json!({"encrypted_payload": vector("decrypts, but the plaintext has no link_token").1}),
            ),
            "invalid_plaintext",
        ),
        (
            worker_request("rt-bad-4", json!({"payload": {"link_token": dev_token}})),
            "plaintext_refused",
        ),
        (
            worker_request("rt/../bad", json!({"encrypted_payload": "AgV4"})),
            "malformed",
        ),
    ];
    for (event, reason) in &cases {
        let answer = handler.handle(event, "req").await.unwrap();
        assert_eq!(answer["status"], "REJECTED", "{answer}");
        assert_eq!(answer["reason"], *reason, "{answer}");
    }
    let letters = w.dead_letters().await;
    assert_eq!(letters.len(), cases.len(), "{letters:?}");
    let mut reasons: Vec<&str> = letters.iter().filter_map(|(_, r)| r.as_deref()).collect();
    reasons.sort();
    let mut expected: Vec<&str> = cases.iter().map(|(_, r)| *r).collect();
    expected.sort();
    assert_eq!(reasons, expected);
    for (body, _) in &letters {
        let doc: Value = serde_json::from_str(body).unwrap();
        assert!(doc["event"]["detail"]["metadata"].is_object(), "{body}");
        assert!(
            !body.contains(&dev_token),
            "a link token in the DLQ: {body}"
        );
        assert!(!body.contains(&link_token_of_vectors()), "{body}");
        for secret in vector("made with the previous secret during").0 {
            assert!(!body.contains(&secret), "a secret in the DLQ");
        }
    }
    // Nothing was launched for any of them.
    assert!(
        running_tasks(&w.sdk, &w.seeded.cluster_arn)
            .await
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn plaintext_tokens_launch_only_with_the_development_setting_and_rotation_is_honoured() {
    let w = world("events-dev").await;
    let dev_token = format!("dev-token-{}", random_hex(8));
    let event = worker_request("rt-dev-1", json!({"payload": {"link_token": dev_token}}));
    let refused = w.handler(false).handle(&event, "req-1").await.unwrap();
    assert_eq!(refused["reason"], "plaintext_refused", "{refused}");
    assert!(w.tasks_of("rt-dev-1").await.is_empty());

    let accepted = w.handler(true).handle(&event, "req-2").await.unwrap();
    assert_eq!(accepted["message"], "worker launched", "{accepted}");
    let tasks = w.tasks_of("rt-dev-1").await;
    assert_eq!(link_token_env(&tasks[0]), Some(dev_token));

    // During a rotation (current + previous), a payload made with the previous secret still opens.
    let (secrets, payload) = vector("made with the previous secret during");
    aws_sdk_secretsmanager::Client::new(&w.sdk)
        .put_secret_value()
        .secret_id(&w.seeded.secret_id)
        .secret_string(provisioner::config::SharedSecrets::to_document(
            &secrets[0],
            Some(&secrets[1]),
        ))
        .send()
        .await
        .unwrap();
    let answer = w
        .handler(false)
        .handle(
            &worker_request("rt-rot-1", json!({"encrypted_payload": payload})),
            "req-3",
        )
        .await
        .unwrap();
    assert_eq!(answer["message"], "worker launched", "{answer}");
}

#[tokio::test(flavor = "multi_thread")]
async fn aws_failures_fail_the_invocation_so_lambda_delivers_it_again() {
    let w = world("events-outage").await;
    let (_, payload) = vector("default committing suite");
    let event = worker_request("rt-out-1", json!({"encrypted_payload": payload}));
    // The secret cannot be read: retryable, nothing parked in the dead-letter queue.
    let mut env = w.env(false);
    env.insert(
        "PROVISIONER_SECRET_ID".into(),
        "odw-e2e-no-such-secret".into(),
    );
    let settings = Settings::from_env(|k| env.get(k).cloned());
    let broken = EventHandler::new(Arc::new(Provisioner::new(settings, &w.sdk)), &w.sdk).unwrap();
    let err = broken.handle(&event, "req-1").await.unwrap_err();
    assert!(err.contains("odw-e2e-no-such-secret"), "{err}");
    assert!(w.dead_letters().await.is_empty());
    // Once AWS answers again, the redelivered event launches the worker.
    let answer = w.handler(false).handle(&event, "req-2").await.unwrap();
    assert_eq!(answer["message"], "worker launched", "{answer}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_provisioner_events_binary_handles_an_invocation_under_the_lambda_runtime_api() {
    let w = world("events-binary").await;
    let bin = xtask::paths::target_dir()
        .join("debug")
        .join("provisioner-events");
    assert!(
        bin.exists(),
        "{} is missing: run the tests with `cargo test --workspace`",
        bin.display()
    );
    let (secrets, payload) = vector("default committing suite");
    let event = worker_request("rt-bin-1", json!({"encrypted_payload": payload}));
    let runtime = xtask::lambda_runtime_stub::RuntimeApi::start(event)
        .await
        .unwrap();
    let log = w.dir.join("events.log");
    let mut child = std::process::Command::new(&bin)
        .env_clear()
        .envs(w.env(false))
        .envs(xtask::aws::emulator_env(&w.moto_url, REGION))
        .envs(runtime.lambda_environment("odw-e2e-events"))
        .stdout(std::fs::File::create(w.dir.join("events.out")).unwrap())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let answer = tokio::time::timeout(Duration::from_secs(30), runtime.answer())
        .await
        .expect("the function answers within 30 s")
        .expect("an answer");
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(answer["message"], "worker launched", "{answer}");
    assert_eq!(w.tasks_of("rt-bin-1").await.len(), 1);
    let logs = std::fs::read_to_string(&log).unwrap();
    assert!(
        logs.contains("rt-bin-1"),
        "logs carry the runtime id: {logs}"
    );
    assert!(
        !logs.contains(&link_token_of_vectors()),
        "link token logged"
    );
    assert!(!logs.contains(&secrets[0]), "secret logged");
}
