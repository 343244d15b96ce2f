//! `cargo xtask sync-upstream` on real git repositories: a bare "upstream", a bare "fork" with its own settings
//! edits and the fork's checkout, with a local HTTP server standing in for the GitHub API.

use e2e::github_stub::GitHubStub;
use std::path::{Path, PathBuf};
use std::process::Command;
use xtask::github::GitHub;
use xtask::sync::{self, Options, Outcome};

const FORK_OWNED: &[&str] = &[
    "fork.toml",
    "terraform/environments/",
    "container/image.toml",
];

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args([
            "-c",
            "user.name=Test",
            "-c",
            "user.email=test@example.invalid",
        ])
        .args([
            "-c",
            "init.defaultBranch=main",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .current_dir(dir)
        .env("GIT_TERMINAL_PROMPT", "0")
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?} in {}: {}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn write(dir: &Path, path: &str, text: &str) {
    let file = dir.join(path);
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(file, text).unwrap();
}

fn commit_all(dir: &Path, message: &str) {
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "--quiet", "-m", message]);
    git(dir, &["push", "--quiet", "origin", "HEAD:main"]);
}

/// The tracked fork.toml parses, and owns what a fork edits.
#[test]
fn the_tracked_fork_settings_parse_and_own_the_environments() {
    let settings = sync::ForkSettings::load(&xtask::paths::workspace_root()).unwrap();
    assert!(settings.upstream.is_some());
    for path in [
        "fork.toml",
        "terraform/environments/",
        "container/image.toml",
    ] {
        assert!(settings.fork_owned.iter().any(|p| p == path), "{path}");
    }
}

/// Upstream (bare, with a working clone to commit from), the fork (bare) and the fork's checkout, where the
/// fork has already made its settings its own.
struct Repos {
    upstream_bare: PathBuf,
    upstream_work: PathBuf,
    fork_bare: PathBuf,
    fork: PathBuf,
}

fn fork_toml(upstream: &Path) -> String {
    let owned: Vec<String> = FORK_OWNED.iter().map(|p| format!("{p:?}")).collect();
    format!(
        "fork_owned = [{}]\n\n[upstream]\nrepository = {:?}\nbranch = \"main\"\n",
        owned.join(", "),
        upstream.display().to_string()
    )
}

fn setup(name: &str) -> Repos {
    let root = e2e::scratch_dir(name);
    let repos = Repos {
        upstream_bare: root.join("upstream.git"),
        upstream_work: root.join("upstream-work"),
        fork_bare: root.join("fork.git"),
        fork: root.join("fork"),
    };
    git(&root, &["init", "--quiet", "--bare", "upstream.git"]);
    git(
        &root,
        &["clone", "--quiet", "upstream.git", "upstream-work"],
    );
    let up = &repos.upstream_work;
    write(up, "README.md", "# ecs-on-demand-worker\n\nline two\n");
    write(
        up,
        "fork.toml",
        &fork_toml(Path::new("UPSTREAM-PLACEHOLDER")),
    );
    write(
        up,
        "terraform/environments/production.tfvars",
        "name_prefix = \"odw\"\nregion = \"us-east-1\"\n",
    );
    write(up, "terraform/main.tf", "# root module\n");
    write(up, "container/image.toml", "version = \"1.0.0\"\n");
    commit_all(up, "upstream: initial");

    git(
        &root,
        &["clone", "--quiet", "--bare", "upstream.git", "fork.git"],
    );
    git(&root, &["clone", "--quiet", "fork.git", "fork"]);
    let fork = &repos.fork;
    write(fork, "fork.toml", &fork_toml(&repos.upstream_bare));
    write(
        fork,
        "terraform/environments/production.tfvars",
        "name_prefix = \"acme-robots\"\nregion = \"eu-west-1\"\n",
    );
    write(fork, "container/image.toml", "version = \"1.4.2\"\n");
    commit_all(fork, "fork: our own settings");
    repos
}

fn options(repos: &Repos, dry_run: bool) -> Options {
    let settings = sync::ForkSettings::load(&repos.fork).unwrap();
    Options {
        repo_dir: repos.fork.clone(),
        upstream: settings.upstream.expect("fork.toml names upstream"),
        branch: settings.branch,
        remote: "origin".into(),
        fork_owned: settings.fork_owned,
        dry_run,
    }
}

/// Runs the sync (blocking git and HTTP) off the async runtime that serves the GitHub stub.
async fn run_sync(repos: &Repos, stub: &GitHubStub, dry_run: bool) -> Outcome {
    let opts = options(repos, dry_run);
    let api = stub.url.clone();
    tokio::task::spawn_blocking(move || {
        let github = GitHub::new(&api, "test-token", "acme/robots").unwrap();
        sync::sync(&opts, (!dry_run).then_some(&github))
    })
    .await
    .unwrap()
    .expect("sync succeeds")
}

fn sync_branches(fork_bare: &Path) -> Vec<String> {
    git(
        fork_bare,
        &[
            "for-each-ref",
            "--format=%(refname:short)",
            "refs/heads/sync/",
        ],
    )
    .lines()
    .map(str::to_owned)
    .collect()
}

fn show(bare: &Path, rev: &str, path: &str) -> String {
    git(bare, &["show", &format!("{rev}:{path}")])
}

#[tokio::test(flavor = "multi_thread")]
async fn an_up_to_date_fork_is_left_alone() {
    let repos = setup("sync-up-to-date");
    let stub = GitHubStub::start().await;
    let fork_head = git(&repos.fork, &["rev-parse", "HEAD"]);

    let outcome = run_sync(&repos, &stub, false).await;

    let upstream_head = git(&repos.upstream_bare, &["rev-parse", "main"]);
    assert_eq!(
        outcome,
        Outcome::UpToDate {
            upstream_sha: upstream_head
        }
    );
    assert!(
        stub.calls().is_empty(),
        "no GitHub call: {:?}",
        stub.calls()
    );
    assert!(sync_branches(&repos.fork_bare).is_empty());
    assert_eq!(git(&repos.fork, &["rev-parse", "HEAD"]), fork_head);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_fork_behind_gets_a_merged_sync_branch_and_one_pull_request_with_its_settings_kept() {
    let repos = setup("sync-behind");
    let stub = GitHubStub::start().await;
    // Upstream moves on: code, plus its own defaults in files the fork owns.
    let up = &repos.upstream_work;
    write(
        up,
        "README.md",
        "# ecs-on-demand-worker\n\nline two\n\nNew upstream docs.\n",
    );
    write(up, "terraform/modules/new/main.tf", "# new module\n");
    write(
        up,
        "terraform/environments/production.tfvars",
        "name_prefix = \"odw\"\nregion = \"us-west-2\"\n",
    );
    write(up, "container/image.toml", "version = \"2.0.0\"\n");
    commit_all(up, "upstream: new module and defaults");
    let upstream_head = git(&repos.upstream_bare, &["rev-parse", "main"]);
    let fork_head = git(&repos.fork, &["rev-parse", "HEAD"]);
    let fork_tfvars =
        std::fs::read_to_string(repos.fork.join("terraform/environments/production.tfvars"))
            .unwrap();

    // A dry run merges and reports, but pushes and opens nothing.
    let dry = run_sync(&repos, &stub, true).await;
    assert!(matches!(dry, Outcome::Merged { pr: None, .. }), "{dry:?}");
    assert!(sync_branches(&repos.fork_bare).is_empty());
    assert!(stub.calls().is_empty());

    let outcome = run_sync(&repos, &stub, false).await;
    let expected_branch = format!("sync/upstream-{}", &upstream_head[..12]);
    let Outcome::Merged {
        branch, kept, pr, ..
    } = &outcome
    else {
        panic!("expected a clean merge, got {outcome:?}");
    };
    assert_eq!(branch, &expected_branch);
    let mut kept = kept.clone();
    kept.sort();
    assert_eq!(
        kept,
        [
            "container/image.toml",
            "terraform/environments/production.tfvars"
        ]
    );
    assert_eq!(sync_branches(&repos.fork_bare), [expected_branch.as_str()]);

    // The branch really merges upstream (both heads are its parents) ...
    let parents = git(
        &repos.fork_bare,
        &["rev-list", "--parents", "-n", "1", &expected_branch],
    );
    assert!(
        parents.contains(&upstream_head) && parents.contains(&fork_head),
        "{parents}"
    );
    let bare = &repos.fork_bare;
    assert!(show(bare, &expected_branch, "README.md").contains("New upstream docs."));
    assert_eq!(
        show(bare, &expected_branch, "terraform/modules/new/main.tf"),
        "# new module"
    );
    // ... and keeps what the fork owns exactly as the fork has it.
    assert_eq!(
        show(
            bare,
            &expected_branch,
            "terraform/environments/production.tfvars"
        ),
        fork_tfvars.trim()
    );
    assert_eq!(
        show(bare, &expected_branch, "container/image.toml"),
        "version = \"1.4.2\""
    );
    assert_eq!(
        show(bare, &expected_branch, "fork.toml"),
        fork_toml(&repos.upstream_bare).trim()
    );
    // The fork's own checkout was not touched.
    assert_eq!(git(&repos.fork, &["rev-parse", "HEAD"]), fork_head);
    assert_eq!(git(&repos.fork, &["status", "--porcelain"]), "");

    // One pull request, from the sync branch into main, saying what was kept.
    let prs = stub.pull_requests();
    assert_eq!(prs.len(), 1);
    assert_eq!(
        (prs[0].head.as_str(), prs[0].base.as_str()),
        (expected_branch.as_str(), "main")
    );
    assert!(
        prs[0]
            .body
            .contains("terraform/environments/production.tfvars")
    );
    assert_eq!(pr.as_ref().map(|p| p.number), Some(prs[0].number));
    let posts = stub.calls().iter().filter(|c| c.method == "POST").count();
    assert_eq!(posts, 1);
    assert!(
        stub.calls()
            .iter()
            .all(|c| c.authorization.as_deref() == Some("Bearer test-token"))
    );

    // Run again (the scheduled workflow, next week): the branch already holds this sync and is left as it
    // is; the same pull request is updated, not duplicated.
    let pushed = git(&repos.fork_bare, &["rev-parse", &expected_branch]);
    let again = run_sync(&repos, &stub, false).await;
    assert!(matches!(again, Outcome::Merged { .. }), "{again:?}");
    assert_eq!(
        git(&repos.fork_bare, &["rev-parse", &expected_branch]),
        pushed
    );
    assert_eq!(stub.pull_requests().len(), 1);
    assert!(stub.calls().iter().any(|c| c.method == "PATCH"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_conflicting_upstream_change_opens_a_pull_request_listing_the_files_and_the_fix() {
    let repos = setup("sync-conflict");
    let stub = GitHubStub::start().await;
    write(
        &repos.fork,
        "README.md",
        "# Acme robots on ECS\n\nline two\n",
    );
    commit_all(&repos.fork, "fork: our title");
    write(
        &repos.upstream_work,
        "README.md",
        "# ecs-on-demand-worker (renamed upstream)\n\nline two\n",
    );
    commit_all(&repos.upstream_work, "upstream: new title");
    let upstream_head = git(&repos.upstream_bare, &["rev-parse", "main"]);

    let outcome = run_sync(&repos, &stub, false).await;

    let Outcome::Conflicts {
        branch, files, pr, ..
    } = &outcome
    else {
        panic!("expected conflicts, got {outcome:?}");
    };
    assert_eq!(files, &["README.md"]);
    assert!(pr.is_some());
    // The branch points at upstream's commit, for a person to merge by hand.
    assert_eq!(git(&repos.fork_bare, &["rev-parse", branch]), upstream_head);
    let prs = stub.pull_requests();
    assert_eq!(prs.len(), 1);
    assert!(prs[0].title.contains("conflict"), "{}", prs[0].title);
    assert!(prs[0].body.contains("- `README.md`"), "{}", prs[0].body);
    assert!(
        prs[0].body.contains(&format!("git merge origin/{branch}")),
        "{}",
        prs[0].body
    );
    // A person resolves the conflict on the sync branch, as the pull request says; the next scheduled run
    // must not wipe that work.
    let person = e2e::scratch_dir("sync-person");
    git(
        &person,
        &["clone", "--quiet", repos.fork_bare.to_str().unwrap(), "w"],
    );
    let person = person.join("w");
    git(&person, &["switch", "--quiet", branch.as_str()]);
    git(
        &person,
        &[
            "merge",
            "--quiet",
            "origin/main",
            "-X",
            "ours",
            "-m",
            "resolve",
        ],
    );
    git(
        &person,
        &["push", "--quiet", "origin", &format!("HEAD:{branch}")],
    );
    let resolved = git(&person, &["rev-parse", "HEAD"]);
    let again = run_sync(&repos, &stub, false).await;
    assert!(matches!(again, Outcome::Conflicts { .. }), "{again:?}");
    assert_eq!(git(&repos.fork_bare, &["rev-parse", branch]), resolved);
    assert_eq!(stub.pull_requests().len(), 1);

    // The fork's checkout is left clean, on its own commit.
    assert_eq!(git(&repos.fork, &["status", "--porcelain"]), "");
    assert!(
        std::fs::read_to_string(repos.fork.join("README.md"))
            .unwrap()
            .starts_with("# Acme robots")
    );
}
