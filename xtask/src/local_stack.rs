//! `cargo xtask local {up,down,demo}`: the whole system on one machine, on the AWS emulator.
//!
//! `up` starts moto, applies the same root Terraform module as a real deployment (environment `local`, local
//! backend under the stack folder), writes the shared secret, registers an ECS host, and starts
//! `provisioner serve` with exactly the environment Terraform gave the Lambda (read back from the function's
//! configuration). `down` stops what `up` started, by PID, and removes the folder.

use crate::aws::{self, Target};
use crate::moto::{MotoServer, StartOptions};
use crate::progress::step;
use crate::terraform::{self, Terraform};
use crate::{ecs_host, lambda_build, paths, secret};
use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub const ENVIRONMENT: &str = "local";
pub const REGION: &str = "us-east-1";

/// What `up` leaves behind in `stack.json`, for `down`, for `plan --env local` and for anyone who wants to
/// talk to the stack (tests, curl).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StackInfo {
    pub provisioner_url: String,
    pub aws_endpoint_url: String,
    pub region: String,
    /// The emulator's shared secret (local only; a real one is never written to disk).
    pub secret: String,
    pub secret_arn: String,
    pub cluster_arn: String,
    pub cluster_name: String,
    pub lambda_function_name: String,
    pub worker_request_url: String,
    pub moto_pid: u32,
    pub provisioner_pid: u32,
    /// The Lambda's environment as Terraform set it, which `provisioner serve` runs with.
    pub lambda_environment: BTreeMap<String, String>,
}

pub struct Options {
    /// Folder for state, logs and `stack.json` (default `target/local-stack`).
    pub dir: PathBuf,
    /// The provisioner binary to serve with (`provisioner-events` is expected beside it, for the EventBridge
    /// function's package); `None` builds both with cargo.
    pub provisioner_bin: Option<PathBuf>,
    /// Leave the processes running after this process exits.
    pub detached: bool,
}

impl Options {
    pub fn default_dir() -> PathBuf {
        paths::target_dir().join("local-stack")
    }
}

/// A running local stack. Unless detached, dropping it stops its processes.
pub struct Stack {
    pub info: StackInfo,
    pub dir: PathBuf,
    moto: Option<MotoServer>,
    provisioner: Option<std::process::Child>,
}

impl Stack {
    pub fn sdk_target(&self) -> Target {
        Target::Emulator {
            endpoint: self.info.aws_endpoint_url.clone(),
            region: self.info.region.clone(),
        }
    }

    /// The Terraform runner for the stack's staged root module.
    pub fn terraform(&self) -> Result<Terraform> {
        terraform_for(&self.dir, &self.info.aws_endpoint_url)
    }

    /// Stops the processes and removes the stack folder.
    pub fn down(mut self) -> Result<()> {
        if let Some(mut child) = self.provisioner.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        drop(self.moto.take());
        remove_dir(&self.dir)
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        if let Some(mut child) = self.provisioner.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn stack_file(dir: &Path) -> PathBuf {
    dir.join("stack.json")
}

pub fn read_info(dir: &Path) -> Result<Option<StackInfo>> {
    match std::fs::read_to_string(stack_file(dir)) {
        Ok(text) => Ok(Some(
            serde_json::from_str(&text)
                .context("stack.json is corrupt: remove the stack folder")?,
        )),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e.into()),
    }
}

fn write_info(dir: &Path, info: &StackInfo) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    // It holds the emulator's secret: readable by the owner only.
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(stack_file(dir))?;
    f.write_all(serde_json::to_string_pretty(info)?.as_bytes())?;
    Ok(())
}

/// Whether `pid` is alive and its command line contains `needle` (so a recycled PID is never killed).
fn process_matches(pid: u32, needle: &str) -> bool {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|cmdline| String::from_utf8_lossy(&cmdline).contains(needle))
        .unwrap_or(false)
}

fn terminate(pid: u32, needle: &str) {
    if !process_matches(pid, needle) {
        return;
    }
    let _ = Command::new("kill").arg(pid.to_string()).status();
    let deadline = Instant::now() + Duration::from_secs(5);
    while process_matches(pid, needle) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    if process_matches(pid, needle) {
        let _ = Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status();
    }
}

fn remove_dir(dir: &Path) -> Result<()> {
    match std::fs::remove_dir_all(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(e).with_context(|| format!("removing {}", dir.display()))
        }
        _ => Ok(()),
    }
}

fn terraform_for(dir: &Path, endpoint: &str) -> Result<Terraform> {
    Terraform::new(
        dir.join("terraform"),
        &aws::emulator_env(endpoint, REGION),
        Some(dir.join("terraform.log")),
    )
}

/// The `-var` arguments of the local environment (its tfvars, the stack's Lambda packages, the tracked
/// worker image).
pub fn terraform_var_args(dir: &Path) -> Result<Vec<String>> {
    let mut vars = vec![format!("-var-file=environments/{ENVIRONMENT}.tfvars")];
    for function in lambda_build::Function::ALL {
        vars.push(format!(
            "-var={}={}",
            function.terraform_variable(),
            dir.join(function.zip_name()).display()
        ));
    }
    vars.extend(crate::deployment::worker_image_vars()?);
    Ok(vars)
}

/// Packages the stack's Lambda functions into `dir` from the binaries in `bin_dir` (a debug build: the
/// emulator stores the packages but runs nothing).
pub fn write_lambda_packages(bin_dir: &Path, dir: &Path) -> Result<()> {
    for function in lambda_build::Function::ALL {
        let bin = bin_dir.join(function.binary());
        if !bin.exists() {
            bail!(
                "{} does not exist: build it with `cargo build -p provisioner --features eventbridge --bins`",
                bin.display()
            );
        }
        lambda_build::write_zip(&bin, &dir.join(function.zip_name()))?;
    }
    Ok(())
}

/// Stops a running stack (by the PIDs in `stack.json`) and removes its folder. Returns whether one was there.
pub fn down(dir: &Path) -> Result<bool> {
    let Some(info) = read_info(dir)? else {
        remove_dir(dir)?;
        return Ok(false);
    };
    terminate(info.provisioner_pid, "provisioner");
    terminate(info.moto_pid, "moto_server");
    remove_dir(dir)?;
    Ok(true)
}

fn build_provisioner() -> Result<PathBuf> {
    let sh = crate::process::cargo_shell()?;
    crate::process::cargo_cmd(xshell::cmd!(
        sh,
        "cargo build --quiet -p provisioner --features eventbridge --bins"
    ))
    .run()
    .context("building the provisioner and provisioner-events")?;
    Ok(paths::target_dir().join("debug").join("provisioner"))
}

/// Starts the whole stack. Fails, without starting anything, if a stack already runs in `opts.dir`.
pub async fn up(opts: Options) -> Result<Stack> {
    let dir = opts.dir.clone();
    if let Some(info) = read_info(&dir)? {
        if process_matches(info.moto_pid, "moto_server") {
            bail!(
                "a local stack is already running in {} (provisioner at {}); use it, or stop it with `cargo xtask local down`",
                dir.display(),
                info.provisioner_url
            );
        }
        // Left over from a stack whose processes died: clean up and start afresh.
        down(&dir)?;
    }
    let s = step("check required tools");
    crate::tools::require_terraform()?;
    crate::tools::require_python()?;
    s.done();
    remove_dir(&dir)?;
    std::fs::create_dir_all(&dir)?;

    let s = step("provisioner binary");
    let provisioner_bin = match opts.provisioner_bin {
        Some(bin) => bin,
        None => build_provisioner()?,
    };
    if !provisioner_bin.exists() {
        bail!(
            "provisioner binary {} does not exist",
            provisioner_bin.display()
        );
    }
    s.done_with(&provisioner_bin.display().to_string());

    let s = step("start the AWS emulator (moto)");
    let moto = MotoServer::start(StartOptions {
        log_file: &dir.join("moto.log"),
        detached: opts.detached,
    })?;
    let endpoint = moto.endpoint_url();
    s.done_with(&endpoint);
    let mut stack = Stack {
        info: StackInfo {
            provisioner_url: String::new(),
            aws_endpoint_url: endpoint.clone(),
            region: REGION.into(),
            secret: String::new(),
            secret_arn: String::new(),
            cluster_arn: String::new(),
            cluster_name: String::new(),
            lambda_function_name: String::new(),
            worker_request_url: String::new(),
            moto_pid: moto.pid,
            provisioner_pid: 0,
            lambda_environment: BTreeMap::new(),
        },
        dir: dir.clone(),
        moto: Some(moto),
        provisioner: None,
    };

    let s = step("package the two Lambda functions (debug builds: the emulator runs nothing)");
    write_lambda_packages(
        provisioner_bin
            .parent()
            .context("the provisioner binary has no folder")?,
        &dir,
    )?;
    s.done();

    let s = step("terraform apply (environment local)");
    terraform::stage_with_local_backend(&dir.join("terraform"), &dir.join("terraform.tfstate"))?;
    let tf = terraform_for(&dir, &endpoint)?;
    tf.run(&["init", "-input=false", "-no-color"])?;
    let mut apply = vec!["apply", "-input=false", "-no-color", "-auto-approve"];
    let vars = terraform_var_args(&dir)?;
    apply.extend(vars.iter().map(String::as_str));
    tf.run(&apply)?;
    let outputs = tf.outputs()?;
    let info = &mut stack.info;
    info.secret_arn = Terraform::output(&outputs, "secret_arn")?;
    info.cluster_arn = Terraform::output(&outputs, "cluster_arn")?;
    info.cluster_name = Terraform::output(&outputs, "cluster_name")?;
    info.lambda_function_name = Terraform::output(&outputs, "lambda_function_name")?;
    info.worker_request_url = Terraform::output(&outputs, "worker_request_url")?;
    s.done();

    let sdk = aws::sdk_config(&stack.sdk_target()).await;
    let s = step("shared secret");
    let secrets_manager = aws_sdk_secretsmanager::Client::new(&sdk);
    secret::init(&secrets_manager, &stack.info.secret_arn).await?;
    stack.info.secret = secret::read(&secrets_manager, &stack.info.secret_arn)
        .await?
        .context("the secret was just written but reads back empty")?
        .current()
        .to_string();
    s.done_with("generated from the OS RNG, written with the AWS SDK");

    let s = step("register an ECS host (what the ECS agent does on an EC2 instance)");
    let host = ecs_host::register_host(&sdk, &stack.info.cluster_arn).await?;
    s.done_with(&format!(
        "{} as {}",
        host.instance_id, host.container_instance_arn
    ));

    let s = step("start `provisioner serve` with the Lambda's environment");
    let function = aws_sdk_lambda::Client::new(&sdk)
        .get_function_configuration()
        .function_name(&stack.info.lambda_function_name)
        .send()
        .await
        .map_err(aws::err("reading the Lambda configuration"))?;
    stack.info.lambda_environment = function
        .environment()
        .and_then(|e| e.variables())
        .map(|vars| vars.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    let (child, url) = start_provisioner(&provisioner_bin, &dir, &stack.info, opts.detached)?;
    stack.info.provisioner_pid = child.id();
    stack.info.provisioner_url = url;
    stack.provisioner = Some(child);
    write_info(&dir, &stack.info)?;
    s.done_with(&stack.info.provisioner_url);

    if opts.detached {
        stack.provisioner.take();
        if let Some(moto) = stack.moto.take() {
            moto.detach();
        }
    }
    Ok(stack)
}

fn start_provisioner(
    bin: &Path,
    dir: &Path,
    info: &StackInfo,
    detached: bool,
) -> Result<(std::process::Child, String)> {
    let stdout_path = dir.join("provisioner.out");
    let mut cmd = Command::new(bin);
    cmd.args(["serve", "--listen", "127.0.0.1:0"])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .envs(&info.lambda_environment)
        .envs(aws::emulator_env(&info.aws_endpoint_url, &info.region))
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&stdout_path)?)
        .stderr(std::fs::File::create(dir.join("provisioner.log"))?);
    if detached {
        use std::os::unix::process::CommandExt;
        cmd.process_group(0);
    }
    let mut child = cmd
        .spawn()
        .with_context(|| format!("starting {}", bin.display()))?;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let out = std::fs::read_to_string(&stdout_path).unwrap_or_default();
        if let Some(url) = out.lines().find_map(|l| l.strip_prefix("listening on ")) {
            return Ok((child, format!("{}/worker-request", url.trim())));
        }
        if let Some(status) = child.try_wait()? {
            bail!(
                "provisioner exited during start-up ({status}):\n{}",
                std::fs::read_to_string(dir.join("provisioner.log")).unwrap_or_default()
            );
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            bail!("provisioner did not start listening within 30 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
