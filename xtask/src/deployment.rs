//! Plan, deploy, and finding a deployment's endpoint and secret from its environment name.

use crate::aws::{self, Target};
use crate::local_stack;
use crate::plan_render;
use crate::progress::step;
use crate::terraform::{Environment, Terraform};
use crate::{lambda_build, paths, secret};
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};

/// How to reach one deployed environment.
pub struct Deployment {
    pub env: Environment,
    pub terraform: Terraform,
    pub target: Target,
    /// `-var` arguments for plan/apply.
    pub vars: Vec<String>,
    /// Where a saved plan goes by default.
    pub work_dir: PathBuf,
    /// The local stack, for the `local` environment.
    pub local: Option<local_stack::StackInfo>,
}

impl Deployment {
    /// Prepares terraform for `env` (init with its backend). For `local`, the stack must be running.
    /// `build_artifact` builds the Lambda package first (needed to plan; not to read outputs).
    pub fn open(env_name: &str, build_artifact: bool) -> Result<Deployment> {
        let env = Environment::load(env_name)?;
        if env.is_local() {
            return Self::open_local(env, &local_stack::Options::default_dir());
        }
        let work_dir = paths::target_dir().join("terraform").join(env_name);
        std::fs::create_dir_all(&work_dir)?;
        let mut package_vars = Vec::new();
        for function in lambda_build::Function::ALL {
            let zip = if build_artifact {
                let s = step(format!("build the {} Lambda package", function.binary()));
                let artifact = lambda_build::build(
                    lambda_build::Libc::Gnu,
                    function,
                    &lambda_build::BuildDirs::default_for_this_checkout(),
                )?;
                s.done_with(&format!(
                    "{} ({} bytes, sha256 {})",
                    artifact.zip.display(),
                    artifact.size,
                    artifact.sha256
                ));
                artifact.zip
            } else {
                lambda_build::BuildDirs::default_for_this_checkout()
                    .target_dir
                    .join(function.zip_name())
            };
            package_vars.push(format!(
                "-var={}={}",
                function.terraform_variable(),
                zip.display()
            ));
        }
        let mut terraform = Terraform::new(
            paths::terraform_dir(),
            &[],
            Some(work_dir.join("terraform.log")),
        )?;
        // Each environment keeps its own .terraform folder, so switching environments never mixes backends.
        terraform.set_env(
            "TF_DATA_DIR",
            work_dir.join(".terraform").display().to_string(),
        );
        let backend = env
            .backend_config
            .clone()
            .expect("non-local environments have a backend file");
        let s = step(format!("terraform init (backend {})", backend.display()));
        terraform.run(&[
            "init",
            "-input=false",
            "-no-color",
            "-reconfigure",
            &format!("-backend-config={}", backend.display()),
        ])?;
        s.done();
        let mut vars = vec![format!("-var-file={}", env.tfvars.display())];
        vars.extend(package_vars);
        vars.extend(worker_image_vars()?);
        Ok(Deployment {
            vars,
            target: Target::Account,
            work_dir,
            terraform,
            env,
            local: None,
        })
    }

    /// The `local` environment whose stack lives in `dir` (the default one, or a test's own).
    pub fn open_local(env: Environment, dir: &Path) -> Result<Deployment> {
        let info = local_stack::read_info(dir)?.with_context(|| {
            format!(
                "environment {:?} is the local stack, which is not running in {}: start it with `cargo xtask local up --detach`",
                env.name,
                dir.display()
            )
        })?;
        let terraform = Terraform::new(
            dir.join("terraform"),
            &aws::emulator_env(&info.aws_endpoint_url, &info.region),
            Some(dir.join("terraform.log")),
        )?;
        Ok(Deployment {
            target: Target::Emulator {
                endpoint: info.aws_endpoint_url.clone(),
                region: info.region.clone(),
            },
            vars: local_stack::terraform_var_args(dir)?,
            work_dir: dir.to_path_buf(),
            terraform,
            env,
            local: Some(info),
        })
    }

    fn outputs(&self) -> Result<serde_json::Value> {
        self.terraform.outputs()
    }

    pub fn secret_arn(&self) -> Result<String> {
        match &self.local {
            Some(info) => Ok(info.secret_arn.clone()),
            None => Terraform::output(&self.outputs()?, "secret_arn"),
        }
    }

    /// The URL Control Room calls. For the local stack, `provisioner serve` (the emulator routes nothing).
    pub fn worker_request_url(&self) -> Result<String> {
        match &self.local {
            Some(info) => Ok(info.provisioner_url.clone()),
            None => Terraform::output(&self.outputs()?, "worker_request_url"),
        }
    }

    pub async fn sdk(&self) -> aws_config::SdkConfig {
        aws::sdk_config(&self.target).await
    }

    pub async fn secrets_manager(&self) -> aws_sdk_secretsmanager::Client {
        aws_sdk_secretsmanager::Client::new(&self.sdk().await)
    }

    /// The name of the worker image repository in ECR.
    pub fn ecr_repository_name(&self) -> Result<String> {
        let url = Terraform::output(&self.outputs()?, "ecr_repository_url")?;
        Ok(url.rsplit('/').next().unwrap_or_default().to_string())
    }

    /// The cluster configuration the provisioner reads (from the SSM parameter Terraform wrote).
    pub async fn cluster_config(&self) -> Result<provisioner::config::ClusterConfig> {
        let name = Terraform::output(&self.outputs()?, "cluster_config_parameter_name")?;
        let out = aws_sdk_ssm::Client::new(&self.sdk().await)
            .get_parameter()
            .name(&name)
            .send()
            .await
            .map_err(|e| anyhow::anyhow!(provisioner::aws_error::describe(&e)))
            .with_context(|| format!("reading parameter {name}"))?;
        let value = out
            .parameter()
            .and_then(|p| p.value())
            .with_context(|| format!("parameter {name} has no value"))?;
        Ok(provisioner::config::ClusterConfig::parse(value)?)
    }

    /// The current shared secret.
    pub async fn current_secret(&self) -> Result<String> {
        let arn = self.secret_arn()?;
        let secrets = secret::read(&self.secrets_manager().await, &arn)
            .await?
            .with_context(|| {
                format!(
                    "secret {arn} has no value yet: run `cargo xtask secret init --env {}`",
                    self.env.name
                )
            })?;
        Ok(secrets.current().to_string())
    }
}

/// `-var` arguments naming the worker image from `container/image.toml`: its version, and the digest it
/// was released as once it was (so the task definition pins the exact image, not a tag).
pub fn worker_image_vars() -> Result<Vec<String>> {
    let file = crate::image::read_image_file()?;
    let mut vars = vec![format!("-var=worker_image_tag={}", file.version)];
    if let Some(digest) = file.current_digest() {
        vars.push(format!("-var=worker_image_digest={digest}"));
    }
    Ok(vars)
}

pub struct PlanOutcome {
    pub has_changes: bool,
    pub plan_file: PathBuf,
    pub markdown: String,
}

/// `terraform plan -out`, then the Markdown summary from `terraform show`.
pub fn plan(dep: &Deployment, out: Option<&Path>) -> Result<PlanOutcome> {
    if dep.local.is_some() {
        // The local stack plans the checkout's module as it is now, not the copy staged at `local up`
        // (a module added since then must be installed, hence init).
        crate::terraform::stage_with_local_backend(
            &dep.work_dir.join("terraform"),
            &dep.work_dir.join("terraform.tfstate"),
        )?;
        dep.terraform.run(&["init", "-input=false", "-no-color"])?;
    }
    let plan_file = match out {
        Some(p) => std::path::absolute(p)?,
        None => dep.work_dir.join("plan.bin"),
    };
    let s = step(format!("terraform plan (environment {})", dep.env.name));
    let out_arg = format!("-out={}", plan_file.display());
    let mut args = vec![
        "plan",
        "-input=false",
        "-no-color",
        "-detailed-exitcode",
        out_arg.as_str(),
    ];
    args.extend(dep.vars.iter().map(String::as_str));
    let finished = dep.terraform.run_raw(&args)?;
    let has_changes = match finished.code() {
        Some(0) => false,
        Some(2) => true,
        _ => bail!(
            "terraform plan failed:\n{}",
            crate::process::tail(&format!("{}{}", finished.stdout, finished.stderr), 60)
        ),
    };
    s.done_with(if has_changes { "changes" } else { "no changes" });
    let plan_arg = plan_file.display().to_string();
    let json: serde_json::Value =
        serde_json::from_str(&dep.terraform.run(&["show", "-json", &plan_arg])?)
            .context("parsing `terraform show -json`")?;
    let text = dep.terraform.run(&["show", "-no-color", &plan_arg])?;
    let markdown = plan_render::render(&dep.env.name, &json, &text).map_err(anyhow::Error::msg)?;
    Ok(PlanOutcome {
        has_changes,
        plan_file,
        markdown,
    })
}

/// Applies a saved plan (terraform refuses a stale one) or a fresh one, then checks the deployment answers
/// a signed `status` with OK.
pub async fn deploy(dep: &Deployment, saved_plan: Option<&Path>) -> Result<String> {
    let plan_file = match saved_plan {
        Some(p) => std::path::absolute(p)?,
        None => plan(dep, None)?.plan_file,
    };
    let s = step("terraform apply");
    dep.terraform
        .run(&[
            "apply",
            "-input=false",
            "-no-color",
            &plan_file.display().to_string(),
        ])
        .context("applying the plan (a plan made before the state changed is stale: plan again)")?;
    s.done();
    let s = step("shared secret");
    let outcome = secret::init(&dep.secrets_manager().await, &dep.secret_arn()?).await?;
    s.done_with(match outcome {
        secret::InitOutcome::Created => "generated (first deploy)",
        secret::InitOutcome::AlreadySet => "already set, unchanged",
    });
    let url = dep.worker_request_url()?;
    let s = step(format!("signed status check against {url}"));
    let answer = crate::invoke::send_signed(
        &url,
        &dep.current_secret().await?,
        &crate::invoke::status_body(),
    )?;
    if answer.status != 200 || answer.json()["status"] != "OK" {
        bail!(
            "the deployment does not answer status OK: HTTP {} {}",
            answer.status,
            answer.body
        );
    }
    s.done_with(&answer.body);
    Ok(url)
}
