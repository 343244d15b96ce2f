//! The provisioner against a real moto server, through `provisioner serve` as a child process: every status
//! code path, one task per run, stop and status backed by ECS, AWS outages answered 500, logs without secrets.

use e2e::*;
use provisioner::launcher::{
    ENV_LINK_TOKEN, ENV_WORKER_NAME, TAG_DEADLINE, TAG_MANAGED_BY, TAG_RUNTIME_ID, TAG_WORKSPACE_ID,
};
use xtask::invoke::{self, Answer};

struct World {
    _moto: xtask::moto::MotoServer,
    sdk: aws_config::SdkConfig,
    seeded: Seeded,
    serve: Serve,
}

async fn world(name: &str) -> World {
    let dir = scratch_dir(name);
    let moto = start_moto(&dir);
    let sdk = sdk(&moto).await;
    let seeded = seed(&sdk).await.expect("seed AWS");
    let serve =
        Serve::start(&dir, &seeded.provisioner_env(), &moto.endpoint_url()).expect("serve starts");
    World {
        _moto: moto,
        sdk,
        seeded,
        serve,
    }
}

impl World {
    fn send(&self, body: &str) -> Answer {
        invoke::send_signed(&self.serve.url, &self.seeded.secret, body).expect("request sent")
    }

    /// Sends `body` signed, after `tweak` edits the signed headers.
    fn send_tweaked(&self, body: &[u8], tweak: impl FnOnce(&mut Vec<(String, String)>)) -> Answer {
        let mut headers = invoke::signed_headers(
            &self.serve.url,
            &self.seeded.secret,
            body,
            invoke::now_epoch_s(),
        )
        .unwrap();
        tweak(&mut headers);
        invoke::post(&self.serve.url, &headers, body).expect("request sent")
    }
}

fn start_body(runtime: &str, token: &str) -> String {
    invoke::start_body("ws-42", runtime, token, None)
}

#[tokio::test(flavor = "multi_thread")]
async fn start_launches_exactly_one_task_with_overrides_tags_and_definition() {
    let w = world("start").await;
    let token = format!("tok-{}", random_hex(16));
    let answer = w.send(&start_body("run-1", &token));
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.json()["message"], "worker launched");

    let tasks = running_tasks(&w.sdk, &w.seeded.cluster_arn).await;
    assert_eq!(tasks.len(), 1);
    let task = &tasks[0];
    assert_eq!(
        Some(answer.json()["taskArn"].as_str().unwrap()),
        task.task_arn()
    );
    let env: Vec<(String, String)> = task.overrides().unwrap().container_overrides()[0]
        .environment()
        .iter()
        .map(|kv| {
            (
                kv.name().unwrap().to_string(),
                kv.value().unwrap().to_string(),
            )
        })
        .collect();
    assert!(env.contains(&(ENV_LINK_TOKEN.into(), token.clone())));
    assert!(env.contains(&(ENV_WORKER_NAME.into(), "wsws-42/workerrun-1".into())));
    let tag = |k: &str| {
        task.tags()
            .iter()
            .find(|t| t.key() == Some(k))
            .and_then(|t| t.value())
            .map(str::to_owned)
    };
    assert_eq!(tag(TAG_MANAGED_BY).as_deref(), Some("ecs-on-demand-worker"));
    assert_eq!(tag(TAG_WORKSPACE_ID).as_deref(), Some("ws-42"));
    assert_eq!(tag(TAG_RUNTIME_ID).as_deref(), Some("run-1"));
    let deadline: u64 = tag(TAG_DEADLINE).unwrap().parse().unwrap();
    let now = invoke::now_epoch_s() as u64;
    assert!(
        deadline > now + 23 * 3600 && deadline <= now + 24 * 3600 + 60,
        "default lifetime is a day"
    );

    // The task definition: the configured image, roles and a soft memory reservation, under the family prefix.
    let td = aws_sdk_ecs::Client::new(&w.sdk)
        .describe_task_definition()
        .task_definition(task.task_definition_arn().unwrap())
        .send()
        .await
        .unwrap();
    let td = td.task_definition().unwrap();
    assert!(td.family().unwrap().starts_with("odw-e2e-"));
    assert_eq!(
        td.task_role_arn(),
        Some("arn:aws:iam::123456789012:role/odw-e2e-robot")
    );
    let container = &td.container_definitions()[0];
    assert_eq!(container.image(), Some(w.seeded.image.as_str()));
    assert_eq!(container.memory_reservation(), Some(256));

    // A second run reuses the registered definition (no new revision).
    assert_eq!(w.send(&start_body("run-2", "t2")).status, 200);
    let tasks = running_tasks(&w.sdk, &w.seeded.cluster_arn).await;
    assert_eq!(tasks.len(), 2);
    assert!(
        tasks
            .iter()
            .all(|t| t.task_definition_arn() == task.task_definition_arn())
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_same_start_twice_or_replayed_or_concurrent_launches_one_task() {
    let w = world("dup").await;
    let body = start_body("run-dup", "token-dup");
    let headers = invoke::signed_headers(
        &w.serve.url,
        &w.seeded.secret,
        body.as_bytes(),
        invoke::now_epoch_s(),
    )
    .unwrap();
    let first = invoke::post(&w.serve.url, &headers, body.as_bytes()).unwrap();
    assert_eq!(first.json()["message"], "worker launched");
    // The identical bytes again (a replay within the timestamp window) and a freshly signed retry.
    let replay = invoke::post(&w.serve.url, &headers, body.as_bytes()).unwrap();
    assert_eq!(
        (replay.status, replay.json()["message"].as_str()),
        (200, Some("worker already running"))
    );
    assert_eq!(replay.json()["taskArn"], first.json()["taskArn"]);
    assert_eq!(w.send(&body).json()["message"], "worker already running");

    // Ten concurrent deliveries of a new run.
    let concurrent = start_body("run-burst", "token-burst");
    let url = w.serve.url.clone();
    let secret = w.seeded.secret.clone();
    let handles: Vec<_> = (0..10)
        .map(|_| {
            let (url, secret, body) = (url.clone(), secret.clone(), concurrent.clone());
            std::thread::spawn(move || invoke::send_signed(&url, &secret, &body).unwrap())
        })
        .collect();
    let answers: Vec<Answer> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert!(answers.iter().all(|a| a.status == 200));
    assert_eq!(
        answers
            .iter()
            .filter(|a| a.json()["message"] == "worker launched")
            .count(),
        1
    );
    assert_eq!(running_tasks(&w.sdk, &w.seeded.cluster_arn).await.len(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn stop_stops_the_task_and_status_reports_ok() {
    let w = world("stop").await;
    let started = w.send(&start_body("run-s", "tok"));
    let arn = started.json()["taskArn"].as_str().unwrap().to_string();
    let stop = w.send(&invoke::stop_body("ws-42", "run-s"));
    assert_eq!(stop.status, 200, "{}", stop.body);
    assert_eq!(stop.json()["stoppedTasks"][0], arn.as_str());
    let described = aws_sdk_ecs::Client::new(&w.sdk)
        .describe_tasks()
        .cluster(&w.seeded.cluster_arn)
        .tasks(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(described.tasks()[0].desired_status(), Some("STOPPED"));
    assert_eq!(described.tasks()[0].last_status(), Some("STOPPED"));
    assert!(
        running_tasks(&w.sdk, &w.seeded.cluster_arn)
            .await
            .is_empty()
    );

    // Stopping again, or a run that never existed, is still a success.
    let again = w.send(&invoke::stop_body("ws-42", "run-s"));
    assert_eq!(
        (again.status, again.json()["message"].as_str()),
        (200, Some("no running worker for this runtime"))
    );
    // A start after the stop launches a new worker.
    assert_eq!(
        w.send(&start_body("run-s", "tok")).json()["message"],
        "worker launched"
    );

    let status = w.send(&invoke::status_body());
    assert_eq!(status.status, 200);
    assert_eq!(
        status.json(),
        serde_json::json!({"version": 1, "status": "OK"})
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn every_refusal_has_its_status_code_and_a_message() {
    let w = world("codes").await;
    let ok_body = start_body("run-x", "tok");
    // Signs `signed` with `secret` at `now + skew`, then sends `sent`.
    let post = |secret: &str, signed: &str, skew: i64, sent: &str| {
        let h = invoke::signed_headers(
            &w.serve.url,
            secret,
            signed.as_bytes(),
            invoke::now_epoch_s() + skew,
        )
        .unwrap();
        invoke::post(&w.serve.url, &h, sent.as_bytes()).unwrap()
    };
    let secret = w.seeded.secret.as_str();
    let cases: Vec<(&str, u16, Answer)> = vec![
        (
            "tampered body",
            403,
            post(secret, &ok_body, 0, &ok_body.replace("run-x", "run-y")),
        ),
        (
            "wrong secret",
            403,
            post("not-the-secret", &ok_body, 0, &ok_body),
        ),
        (
            "stale timestamp",
            403,
            post(secret, &ok_body, -901, &ok_body),
        ),
        (
            "future timestamp",
            403,
            post(secret, &ok_body, 901, &ok_body),
        ),
        (
            "no signature header",
            403,
            w.send_tweaked(ok_body.as_bytes(), |h| {
                h.retain(|(n, _)| n != "x-rc-signature")
            }),
        ),
        (
            "no timestamp header",
            403,
            w.send_tweaked(ok_body.as_bytes(), |h| {
                h.retain(|(n, _)| n != "x-rc-timestamp")
            }),
        ),
        (
            "no signed-headers header",
            403,
            w.send_tweaked(ok_body.as_bytes(), |h| {
                h.retain(|(n, _)| n != "x-rc-signed-headers")
            }),
        ),
        ("malformed JSON", 400, w.send("{\"type\": \"start\",")),
        ("empty body", 400, w.send("")),
        ("not an object", 400, w.send("[]")),
        ("unknown command", 400, w.send(r#"{"type":"reboot"}"#)),
        ("missing type", 400, w.send(r#"{"workspaceId":"w"}"#)),
        (
            "missing runtimeId",
            400,
            w.send(r#"{"type":"stop","workspaceId":"w"}"#),
        ),
        (
            "missing link token",
            400,
            w.send(r#"{"type":"start","workspaceId":"w","runtimeId":"r"}"#),
        ),
        (
            "wrong field type",
            400,
            w.send(r#"{"type":"stop","workspaceId":"w","runtimeId":12}"#),
        ),
        (
            "unsafe id",
            400,
            w.send(r#"{"type":"stop","workspaceId":"w","runtimeId":"../etc"}"#),
        ),
        (
            "bad lifetime",
            400,
            w.send(&invoke::start_body("w", "r", "t", Some(0))),
        ),
        (
            "oversized body",
            400,
            w.send(&format!(
                "{{\"type\":\"status\",\"pad\":\"{}\"}}",
                "x".repeat(70_000)
            )),
        ),
    ];
    for (name, expected, answer) in &cases {
        assert_eq!(answer.status, *expected, "{name}: {}", answer.body);
        let message = answer.json()["message"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        assert!(!message.is_empty(), "{name}: no message in {}", answer.body);
        assert!(
            !answer.body.contains(&w.seeded.secret),
            "{name} leaks the secret"
        );
    }
    // Not the route, not the method.
    assert_eq!(
        invoke::post(
            &w.serve.url.replace("/worker-request", "/other"),
            &[],
            b"{}"
        )
        .unwrap()
        .status,
        404
    );
    let get = std::process::Command::new("curl")
        .args(["-s", "-o", "/dev/null", "-w", "%{http_code}", &w.serve.url])
        .output();
    if let Ok(out) = get {
        assert_eq!(String::from_utf8_lossy(&out.stdout), "405");
    }
    // Nothing was launched by any of them.
    assert!(
        running_tasks(&w.sdk, &w.seeded.cluster_arn)
            .await
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn logs_are_json_with_request_and_runtime_ids_and_never_secrets() {
    let w = world("logs").await;
    let token = format!("LINKTOKEN{}", random_hex(12));
    assert_eq!(w.send(&start_body("run-log", &token)).status, 200);
    // A refused request carrying the token too.
    let bad = invoke::signed_headers(
        &w.serve.url,
        "wrong",
        start_body("run-log", &token).as_bytes(),
        invoke::now_epoch_s(),
    )
    .unwrap();
    invoke::post(&w.serve.url, &bad, start_body("run-log", &token).as_bytes()).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(200));
    let logs = w.serve.logs();
    assert!(!logs.contains(&token), "link token in logs:\n{logs}");
    assert!(!logs.contains(&w.seeded.secret), "secret in logs");
    let lines: Vec<serde_json::Value> = logs
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let launched = lines
        .iter()
        .find(|l| l["message"] == "worker launched")
        .expect("a 'worker launched' line");
    assert_eq!(launched["span"]["runtime_id"], "run-log");
    assert!(
        launched["span"]["request_id"]
            .as_str()
            .is_some_and(|id| !id.is_empty())
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn aws_unreachable_or_config_missing_is_a_retryable_500_within_bounds() {
    let dir = scratch_dir("outage");
    let moto = start_moto(&dir);
    let sdk = sdk(&moto).await;
    let seeded = seed(&sdk).await.unwrap();
    // Point the provisioner at a port where nothing listens.
    let dead = format!("http://127.0.0.1:{}", xtask::moto::free_port().unwrap());
    let serve = Serve::start(&dir, &seeded.provisioner_env(), &dead).unwrap();
    for body in [start_body("run-o", "tok"), invoke::status_body()] {
        let started = std::time::Instant::now();
        let answer = invoke::send_signed(&serve.url, &seeded.secret, &body).unwrap();
        assert_eq!(answer.status, 500, "{}", answer.body);
        assert!(
            answer.json()["message"]
                .as_str()
                .unwrap()
                .contains("could not load configuration")
        );
        // Before authentication, the caller learns nothing of our resources; the log has the details.
        assert!(!answer.body.contains(&seeded.secret_id), "{}", answer.body);
        assert!(!answer.body.contains("123456789012"), "{}", answer.body);
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "took {:?}",
            started.elapsed()
        );
    }
    assert!(
        serve.logs().contains(&seeded.secret_id),
        "the log names what could not be read"
    );
    drop(serve);

    // A deployment missing an environment variable names it, and answers 500 (an operator must fix it).
    let mut env = seeded.provisioner_env();
    env.remove("PROVISIONER_CLUSTER_CONFIG_PARAMETER");
    let serve = Serve::start(&dir, &env, &moto.endpoint_url()).unwrap();
    let answer = invoke::send_signed(&serve.url, &seeded.secret, &invoke::status_body()).unwrap();
    assert_eq!(answer.status, 500);
    assert!(
        answer.body.contains("PROVISIONER_CLUSTER_CONFIG_PARAMETER"),
        "{}",
        answer.body
    );
}
