//! `cargo xtask local` end to end, exactly as a newcomer runs it: the stack comes up on moto through the real
//! Terraform module, a signed start launches one worker task carrying the link token, a replay launches
//! nothing, stop stops it, `plan --env local` then reports no changes, and `down` removes everything.

use e2e::*;
use xtask::deployment::{self, Deployment};
use xtask::local_stack::{self, Options};
use xtask::terraform::Environment;

#[tokio::test(flavor = "multi_thread")]
async fn local_stack_serves_the_control_room_conversation_and_replans_clean() {
    let dir = scratch_dir("local-stack");
    let stack = local_stack::up(Options {
        dir: dir.clone(),
        provisioner_bin: Some(provisioner_bin()),
        detached: false,
    })
    .await
    .unwrap_or_else(|e| panic!("local up failed: {e:#}"));

    // A second `up` in the same folder is refused instead of starting a second stack.
    let again = local_stack::up(Options {
        dir: dir.clone(),
        provisioner_bin: Some(provisioner_bin()),
        detached: false,
    })
    .await;
    let refusal = format!("{:#}", again.err().expect("second up must fail"));
    assert!(refusal.contains("already"), "{refusal}");

    let report = xtask::demo::converse(&stack)
        .await
        .unwrap_or_else(|e| panic!("conversation failed: {e:#}"));
    assert!(report.task_arn.contains(":task/"), "{report:?}");
    assert!(report.link_token_in_overrides, "{report:?}");
    assert_eq!(report.tasks_after_replay, 1, "{report:?}");
    assert_eq!(report.last_status_after_stop, "STOPPED", "{report:?}");
    assert!(report.token_absent_from_logs);

    // The stack is what the Terraform module describes: planning the local environment again changes nothing.
    let dep = Deployment::open_local(Environment::load("local").unwrap(), &dir).unwrap();
    let plan = deployment::plan(&dep, None).unwrap_or_else(|e| panic!("plan failed: {e:#}"));
    assert!(
        !plan.has_changes,
        "second plan has changes:\n{}",
        plan.markdown
    );
    assert!(plan.markdown.contains("No changes"), "{}", plan.markdown);

    let pids = (stack.info.moto_pid, stack.info.provisioner_pid);
    stack.down().unwrap();
    assert!(!dir.exists(), "down leaves {} behind", dir.display());
    for pid in [pids.0, pids.1] {
        assert!(
            !std::path::Path::new(&format!("/proc/{pid}")).exists()
                || std::fs::read_to_string(format!("/proc/{pid}/stat"))
                    .map(|s| s.contains(") Z "))
                    .unwrap_or(true),
            "process {pid} still runs after down"
        );
    }
}
