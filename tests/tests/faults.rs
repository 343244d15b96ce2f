//! AWS faults between the provisioner and moto (through [`e2e::fault_proxy`]): throttling, 503s, dropped
//! connections and answers that come too late. Each must give Control Room a retryable 500 well inside the
//! Lambda timeout, never launch a second worker, and, once the fault clears, the retried request must end with
//! exactly one task.

use e2e::fault_proxy::{Fault, FaultProxy};
use e2e::*;
use std::time::{Duration, Instant};
use xtask::invoke::{self, Answer};

/// Comfortably inside the Lambda timeout (20 s by default), with room for a slow CI machine.
const BOUND: Duration = Duration::from_secs(10);

struct World {
    _moto: xtask::moto::MotoServer,
    sdk: aws_config::SdkConfig,
    seeded: Seeded,
    proxy: FaultProxy,
    serve: Serve,
}

async fn world(name: &str) -> World {
    let dir = scratch_dir(name);
    let moto = start_moto(&dir);
    let sdk = sdk(&moto).await;
    let seeded = seed(&sdk).await.unwrap();
    let proxy = FaultProxy::start(&moto.endpoint_url()).await;
    let serve = Serve::start(&dir, &seeded.provisioner_env(), &proxy.url).unwrap();
    World {
        _moto: moto,
        sdk,
        seeded,
        proxy,
        serve,
    }
}

impl World {
    /// Sends `body` signed, timing the answer.
    async fn send(&self, body: &str) -> (Answer, Duration) {
        let (url, secret, body) = (
            self.serve.url.clone(),
            self.seeded.secret.clone(),
            body.to_string(),
        );
        let started = Instant::now();
        let answer =
            tokio::task::spawn_blocking(move || invoke::send_signed(&url, &secret, &body).unwrap())
                .await
                .unwrap();
        (answer, started.elapsed())
    }

    async fn tasks_of(&self, runtime: &str) -> usize {
        running_tasks(&self.sdk, &self.seeded.cluster_arn)
            .await
            .iter()
            .filter(|t| tag(t, provisioner::launcher::TAG_RUNTIME_ID) == Some(runtime))
            .count()
    }

    /// With `fault` on `only`, a start answers 500 naming `expect` within the bound; after the fault
    /// clears, the same start leaves exactly one task.
    async fn start_through(&self, runtime: &str, fault: Fault, only: Option<&str>, expect: &str) {
        let body = invoke::start_body("ws-f", runtime, "tok-fault", None);
        self.proxy.inject(fault.clone(), only);
        let (answer, took) = self.send(&body).await;
        self.proxy.clear();
        eprintln!(
            "{fault:?} on {}: HTTP {} in {took:?}: {}",
            only.unwrap_or("every call"),
            answer.status,
            answer.body
        );
        assert_eq!(answer.status, 500, "{fault:?}: {}", answer.body);
        assert!(took < BOUND, "{fault:?}: answered after {took:?}");
        let message = answer.json()["message"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        assert!(message.contains(expect), "{fault:?}: {message}");
        assert!(!answer.body.contains("tok-fault"));
        // Control Room retries after a 500: now the request goes through.
        let (retry, _) = self.send(&body).await;
        assert_eq!(retry.status, 200, "retry after {fault:?}: {}", retry.body);
        assert_eq!(self.tasks_of(runtime).await, 1, "after {fault:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn throttling_is_a_retryable_500_then_one_task() {
    let w = world("fault-throttle").await;
    // RunTask throttled: not retried inside the request (see Launcher::start), answered at once.
    w.start_through(
        "run-t1",
        Fault::Throttle,
        Some("RunTask"),
        "ThrottlingException",
    )
    .await;
    // ListTasks throttled: retried by the SDK with backoff, then given up within the bound.
    w.start_through(
        "run-t2",
        Fault::Throttle,
        Some("ListTasks"),
        "ThrottlingException",
    )
    .await;
    assert!(
        w.proxy.faulted("ListTasks") >= 2,
        "the SDK retries throttled reads"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn unavailable_and_dropped_connections_are_retryable_500s_then_one_task() {
    let w = world("fault-503").await;
    w.start_through(
        "run-u1",
        Fault::Unavailable,
        Some("RunTask"),
        "RunTask failed",
    )
    .await;
    w.start_through(
        "run-u2",
        Fault::DropConnection,
        Some("RunTask"),
        "RunTask failed",
    )
    .await;
    // Every service down, configuration included (its cache expires after a second in the tests).
    tokio::time::sleep(Duration::from_millis(1100)).await;
    w.start_through(
        "run-u3",
        Fault::Unavailable,
        None,
        "could not load configuration",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_runtask_answer_that_comes_too_late_launches_no_second_worker() {
    let w = world("fault-slow").await;
    let launched_before = w.proxy.seen("RunTask");
    // AWS launches the task, but its answer comes after the attempt timeout: the request fails (500), yet the
    // task exists. The retry must find it, not launch another.
    w.start_through(
        "run-slow",
        Fault::Delay(Duration::from_secs(4)),
        Some("RunTask"),
        "RunTask failed",
    )
    .await;
    assert_eq!(
        w.proxy.seen("RunTask") - launched_before,
        1,
        "RunTask was sent once: the retry found the task"
    );
    // A slow status check is answered within the bound too.
    w.proxy.inject(
        Fault::Delay(Duration::from_secs(4)),
        Some("DescribeClusters"),
    );
    let (status, took) = w.send(&invoke::status_body()).await;
    w.proxy.clear();
    assert_eq!(status.status, 500, "{}", status.body);
    assert!(took < BOUND, "{took:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_runtask_conflict_means_an_earlier_attempt_was_handled_not_a_failure() {
    let w = world("fault-conflict").await;
    // ECS answers ConflictException when a clientToken comes back with other parameters: an earlier
    // attempt of this very start reached it. No task of the run is running, so its worker has ended:
    // answered 200 (a 500 would make Control Room retry forever), and nothing is launched.
    let body = invoke::start_body("ws-f", "run-c1", "tok-conflict", None);
    w.proxy.inject(
        Fault::AwsError {
            status: 400,
            code: "ConflictException".into(),
        },
        Some("RunTask"),
    );
    let (answer, _) = w.send(&body).await;
    w.proxy.clear();
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(
        answer.json()["message"],
        "start already handled; the run's worker has ended"
    );
    assert_eq!(w.proxy.faulted("RunTask"), 1);
    assert_eq!(w.tasks_of("run-c1").await, 0);
}
