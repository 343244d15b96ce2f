//! Worker lifecycle against moto: deadlines and the reaper, secret rotation without downtime, and no
//! duplicate workers under a concurrent burst of retried starts.

use e2e::*;
use provisioner::Provisioner;
use provisioner::config::Settings;
use provisioner::launcher::{TAG_DEADLINE, TAG_LAUNCHED_AT, TAG_MANAGED_BY, TAG_RUNTIME_ID};
use provisioner::transport::lambda;
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;
use xtask::invoke;

#[tokio::test(flavor = "multi_thread")]
async fn the_reaper_stops_expired_workers_only() {
    let dir = scratch_dir("reaper");
    let moto = start_moto(&dir);
    let sdk = sdk(&moto).await;
    let seeded = seed(&sdk).await.unwrap();
    let env = seeded.provisioner_env();
    let provisioner = Provisioner::new(Settings::from_env(|k| env.get(k).cloned()), &sdk);
    let serve = Serve::start(&dir, &env, &moto.endpoint_url()).unwrap();
    let send = |body: &str| invoke::send_signed(&serve.url, &seeded.secret, body).unwrap();

    // A run asking for a 1-second lifetime, and one with the default (a day).
    let short = send(&invoke::start_body("ws-r", "run-short", "t1", Some(1)));
    assert_eq!(short.status, 200, "{}", short.body);
    let long = send(&invoke::start_body("ws-r", "run-long", "t2", None));
    assert_eq!(long.status, 200, "{}", long.body);
    // A task that is not ours, on the same cluster, long "expired" by its tags' standards except ours.
    let ecs = aws_sdk_ecs::Client::new(&sdk);
    let definition = running_tasks(&sdk, &seeded.cluster_arn).await[0]
        .task_definition_arn()
        .unwrap()
        .to_string();
    let foreign = ecs
        .run_task()
        .cluster(&seeded.cluster_arn)
        .task_definition(&definition)
        .started_by("someone-else")
        .tags(
            aws_sdk_ecs::types::Tag::builder()
                .key(TAG_DEADLINE)
                .value("1")
                .build(),
        )
        .send()
        .await
        .unwrap();
    let foreign_arn = foreign.tasks()[0].task_arn().unwrap().to_string();

    let tasks = running_tasks(&sdk, &seeded.cluster_arn).await;
    assert_eq!(tasks.len(), 3);
    let short_task = tasks
        .iter()
        .find(|t| tag(t, TAG_RUNTIME_ID) == Some("run-short"))
        .unwrap();
    let deadline: u64 = tag(short_task, TAG_DEADLINE).unwrap().parse().unwrap();
    let launched: u64 = tag(short_task, TAG_LAUNCHED_AT).unwrap().parse().unwrap();
    assert_eq!(deadline, launched + 1, "the requested lifetime is recorded");

    // Before the deadline, a reaper pass stops nothing.
    let report = provisioner.reap(launched).await.unwrap();
    assert_eq!((report.examined, report.stopped.len()), (3, 0));

    // After it, exactly the short run's task is stopped, through the Lambda's scheduled-event path.
    while invoke::now_epoch_s() as u64 <= deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let answer = lambda::dispatch(&provisioner, serde_json::json!({"odw-action": "reap"}))
        .await
        .unwrap();
    assert_eq!(answer, serde_json::json!({"examined": 3, "stopped": 1}));
    let left = running_tasks(&sdk, &seeded.cluster_arn).await;
    let mut left_runs: Vec<Option<&str>> = left.iter().map(|t| tag(t, TAG_RUNTIME_ID)).collect();
    left_runs.sort();
    assert_eq!(left_runs, vec![None, Some("run-long")]);
    assert!(
        left.iter()
            .any(|t| t.task_arn() == Some(foreign_arn.as_str()))
    );
    let stopped = ecs
        .describe_tasks()
        .cluster(&seeded.cluster_arn)
        .tasks(short_task.task_arn().unwrap())
        .send()
        .await
        .unwrap();
    let stopped = &stopped.tasks()[0];
    assert_eq!(stopped.last_status(), Some("STOPPED"));
    assert!(
        stopped
            .stopped_reason()
            .unwrap_or_default()
            .contains("past its lifetime"),
        "{:?}",
        stopped.stopped_reason()
    );
    assert!(tag(short_task, TAG_MANAGED_BY).is_some());

    // Events of no known shape are refused, not guessed at.
    let err = lambda::dispatch(
        &provisioner,
        serde_json::json!({"detail-type": "Something"}),
    )
    .await
    .unwrap_err();
    assert!(err.contains("unsupported event"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rotation_accepts_both_secrets_until_finished() {
    let dir = scratch_dir("rotation");
    let moto = start_moto(&dir);
    let sdk = sdk(&moto).await;
    let seeded = seed(&sdk).await.unwrap();
    let mut env = seeded.provisioner_env();
    // A cache that outlives the steps below: the new secret must be found by the reload a mismatch triggers.
    env.insert("PROVISIONER_CONFIG_TTL_SECONDS".into(), "3".into());
    let serve = Serve::start(&dir, &env, &moto.endpoint_url()).unwrap();
    let status = |secret: &str| {
        invoke::send_signed(&serve.url, secret, &invoke::status_body())
            .unwrap()
            .status
    };
    let old = seeded.secret.clone();
    assert_eq!(status(&old), 200);

    let secrets = aws_sdk_secretsmanager::Client::new(&sdk);
    // The mismatch-triggered reload happens at most once a second.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    xtask::secret::rotate(&secrets, &seeded.secret_id)
        .await
        .unwrap();
    let new = xtask::secret::read(&secrets, &seeded.secret_id)
        .await
        .unwrap()
        .unwrap()
        .current()
        .to_string();
    assert_ne!(new, old);
    assert_eq!(status(&new), 200, "the new secret right after rotate");
    assert_eq!(status(&old), 200, "the old secret right after rotate");
    assert_eq!(status("never-a-secret"), 403);

    xtask::secret::finish_rotation(&secrets, &seeded.secret_id)
        .await
        .unwrap();
    // A retired secret is refused once the cache (PROVISIONER_CONFIG_TTL_SECONDS) has expired.
    tokio::time::sleep(Duration::from_millis(3100)).await;
    assert_eq!(status(&new), 200, "the new secret after finish");
    assert_eq!(status(&old), 403, "the old secret after finish");
}

#[tokio::test(flavor = "multi_thread")]
async fn two_hundred_runs_each_delivered_three_times_concurrently_make_two_hundred_tasks() {
    const RUNS: usize = 200;
    const DELIVERIES: usize = 3;
    const CLIENTS: usize = 60;
    let dir = scratch_dir("burst");
    let moto = start_moto(&dir);
    let sdk = sdk(&moto).await;
    let seeded = seed(&sdk).await.unwrap();
    // Room for every run's task: the emulator gives every host 4096 CPU units (whatever it was registered
    // with), places a task (256 units here) only where it still fits, and otherwise answers RunTask with no
    // task and no failure. 13 more hosts hold 16 tasks each.
    for _ in 0..RUNS.div_ceil(16) {
        xtask::ecs_host::register_host(&sdk, &seeded.cluster_arn)
            .await
            .unwrap();
    }
    let serve = Serve::start(&dir, &seeded.provisioner_env(), &moto.endpoint_url()).unwrap();

    // Every delivery of every run, interleaved so that a run's copies are in flight together.
    let mut queue: Vec<(usize, String)> = (0..DELIVERIES)
        .flat_map(|_| {
            (0..RUNS).map(|i| {
                (
                    i,
                    invoke::start_body(
                        "ws-burst",
                        &format!("run-{i:03}"),
                        &format!("tok-{i}"),
                        None,
                    ),
                )
            })
        })
        .collect();
    queue.reverse();
    let queue = std::sync::Arc::new(std::sync::Mutex::new(queue));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let (queue, url, secret) = (queue.clone(), serve.url.clone(), seeded.secret.clone());
            std::thread::spawn(move || {
                let mut answers = Vec::new();
                loop {
                    let Some((run, body)) = queue.lock().unwrap().pop() else {
                        return answers;
                    };
                    let answer = invoke::send_signed(&url, &secret, &body).unwrap();
                    answers.push((run, answer));
                }
            })
        })
        .collect();
    let answers: Vec<_> = clients
        .into_iter()
        .flat_map(|c| c.join().unwrap())
        .collect();
    assert_eq!(answers.len(), RUNS * DELIVERIES);
    let mut launched_per_run: HashMap<usize, usize> = HashMap::new();
    for (run, answer) in &answers {
        assert_eq!(answer.status, 200, "run {run}: {}", answer.body);
        if answer.json()["message"] == "worker launched" {
            *launched_per_run.entry(*run).or_default() += 1;
        }
    }
    let tasks = running_tasks(&sdk, &seeded.cluster_arn).await;
    let mut tasks_per_run: BTreeMap<&str, usize> = BTreeMap::new();
    for task in &tasks {
        *tasks_per_run
            .entry(tag(task, TAG_RUNTIME_ID).unwrap())
            .or_default() += 1;
    }
    eprintln!(
        "{} requests, {} launches, {} tasks, {} runs with a task",
        answers.len(),
        launched_per_run.values().sum::<usize>(),
        tasks.len(),
        tasks_per_run.len()
    );
    assert_eq!(tasks.len(), RUNS, "one task per run");
    assert_eq!(tasks_per_run.len(), RUNS);
    assert!(tasks_per_run.values().all(|n| *n == 1));
    assert_eq!(launched_per_run.len(), RUNS);
    assert!(launched_per_run.values().all(|n| *n == 1));
}
