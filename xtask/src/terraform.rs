//! Driving the `terraform` CLI for one environment: provider installation (offline mirror or registry),
//! backend selection, and every call under a hard timeout.
//!
//! Environments live in `terraform/environments/`: `<env>.tfvars` always, `<env>.backend.hcl` for the S3
//! backend (partial configuration). The `local` environment has no backend file: it is applied from a staged
//! copy of the root module with a local backend under the local stack's folder.

use crate::paths;
use crate::process::{self, Finished};
use crate::tools;
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// Directory of an offline provider mirror (`terraform providers mirror` layout). When set, providers are
/// installed from it only; when unset, from the registry as usual.
pub const ENV_PLUGIN_DIR: &str = "TERRAFORM_PLUGIN_DIR";

/// The longest a single terraform call may take before it is killed.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);

pub struct Terraform {
    bin: PathBuf,
    /// The root module folder terraform runs in (`-chdir`).
    pub dir: PathBuf,
    env: Vec<(String, String)>,
    log: Option<PathBuf>,
    pub timeout: Duration,
}

/// Writes a CLI configuration that installs providers from `mirror` only.
fn mirror_cli_config(mirror: &Path) -> Result<PathBuf> {
    if !mirror.is_dir() {
        bail!(
            "{ENV_PLUGIN_DIR}={} is not a directory (it should hold registry.terraform.io/hashicorp/aws/...)",
            mirror.display()
        );
    }
    let path = paths::target_dir().join("terraform-mirror.tfrc");
    std::fs::create_dir_all(paths::target_dir())?;
    let mirror = mirror
        .canonicalize()
        .with_context(|| format!("resolving {}", mirror.display()))?;
    let text = format!(
        "# Written by cargo xtask from {ENV_PLUGIN_DIR}.\nprovider_installation {{\n  filesystem_mirror {{\n    path = {:?}\n  }}\n}}\n",
        mirror.display().to_string()
    );
    std::fs::write(&path, text)?;
    Ok(path)
}

impl Terraform {
    /// A terraform runner in `dir`, with the provider mirror from [`ENV_PLUGIN_DIR`] when set and the given
    /// extra environment (e.g. `AWS_ENDPOINT_URL` for the emulator).
    pub fn new(
        dir: PathBuf,
        extra_env: &[(String, String)],
        log: Option<PathBuf>,
    ) -> Result<Terraform> {
        let bin = tools::require_terraform()?;
        let mut env: Vec<(String, String)> = vec![
            ("TF_IN_AUTOMATION".into(), "1".into()),
            ("TF_INPUT".into(), "0".into()),
            ("CHECKPOINT_DISABLE".into(), "1".into()),
        ];
        if let Some(mirror) = std::env::var_os(ENV_PLUGIN_DIR).filter(|v| !v.is_empty()) {
            let config = mirror_cli_config(Path::new(&mirror))?;
            env.push(("TF_CLI_CONFIG_FILE".into(), config.display().to_string()));
        }
        env.extend(extra_env.iter().cloned());
        Ok(Terraform {
            bin,
            dir,
            env,
            log,
            timeout: DEFAULT_TIMEOUT,
        })
    }

    pub fn set_env(&mut self, key: &str, value: impl Into<String>) {
        self.env.push((key.to_string(), value.into()));
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(&self.bin);
        cmd.arg(format!("-chdir={}", self.dir.display()));
        cmd.args(args);
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        cmd
    }

    /// Runs terraform; returns its outcome whatever the exit code.
    pub fn run_raw(&self, args: &[&str]) -> Result<Finished> {
        process::run_with_timeout(&mut self.command(args), self.timeout, self.log.as_deref())
    }

    /// Runs terraform and fails with its error output unless it exits 0.
    pub fn run(&self, args: &[&str]) -> Result<String> {
        let out = self.run_raw(args)?;
        if !out.status.success() {
            let hint = if out
                .stderr
                .contains("Failed to query available provider packages")
                || out.stderr.contains("could not connect to registry")
            {
                format!(
                    "\nhint: terraform could not download providers. Offline, point {ENV_PLUGIN_DIR} at a provider mirror (e.g. {ENV_PLUGIN_DIR}=/opt/tf-plugins)."
                )
            } else {
                String::new()
            };
            bail!(
                "terraform {} failed ({}):\n{}{hint}",
                args.first().copied().unwrap_or_default(),
                out.status,
                process::tail(&format!("{}{}", out.stdout, out.stderr), 60)
            );
        }
        Ok(out.stdout)
    }

    /// `terraform output -json` as a JSON object.
    pub fn outputs(&self) -> Result<serde_json::Value> {
        let text = self.run(&["output", "-json"])?;
        serde_json::from_str(&text).context("parsing `terraform output -json`")
    }

    /// The string value of output `name`.
    pub fn output(outputs: &serde_json::Value, name: &str) -> Result<String> {
        outputs[name]["value"]
            .as_str()
            .map(str::to_owned)
            .with_context(|| format!("terraform output `{name}` is missing"))
    }
}

/// Paths of an environment's settings.
pub struct Environment {
    pub name: String,
    pub tfvars: PathBuf,
    pub backend_config: Option<PathBuf>,
}

impl Environment {
    pub fn load(name: &str) -> Result<Environment> {
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            bail!("environment name {name:?} may contain only letters, digits, '-' and '_'");
        }
        let dir = paths::terraform_dir().join("environments");
        let tfvars = dir.join(format!("{name}.tfvars"));
        if !tfvars.exists() {
            let known: Vec<String> = std::fs::read_dir(&dir)
                .map(|rd| {
                    rd.filter_map(|e| e.ok())
                        .filter_map(|e| {
                            e.file_name()
                                .to_str()
                                .and_then(|n| n.strip_suffix(".tfvars"))
                                .map(str::to_owned)
                        })
                        .collect()
                })
                .unwrap_or_default();
            bail!(
                "unknown environment {name:?}: {} does not exist (known: {})",
                tfvars.display(),
                known.join(", ")
            );
        }
        let backend = dir.join(format!("{name}.backend.hcl"));
        Ok(Environment {
            name: name.to_string(),
            tfvars,
            backend_config: backend.exists().then_some(backend),
        })
    }

    pub fn is_local(&self) -> bool {
        self.backend_config.is_none()
    }
}

/// Copies the root module (and its modules) into `dest` and adds a local-backend override, so the local
/// stack applies exactly the tracked module without touching the checkout. Staging again replaces the
/// previous copy (a file deleted from the checkout goes too) but keeps `.terraform`, the initialised
/// providers; the state lives outside `dest`.
pub fn stage_with_local_backend(dest: &Path, state_file: &Path) -> Result<()> {
    let src = paths::terraform_dir();
    if dest.exists() {
        for entry in
            std::fs::read_dir(dest).with_context(|| format!("reading {}", dest.display()))?
        {
            let entry = entry?;
            if entry.file_name() == ".terraform" {
                continue;
            }
            let path = entry.path();
            if entry.file_type()?.is_dir() {
                std::fs::remove_dir_all(&path)
            } else {
                std::fs::remove_file(&path)
            }
            .with_context(|| format!("removing the staged {}", path.display()))?;
        }
    }
    copy_module_tree(&src, dest)?;
    std::fs::write(
        dest.join("backend_override.tf"),
        format!(
            "# Written by cargo xtask: the local stack keeps its state next to it.\nterraform {{\n  backend \"local\" {{\n    path = {:?}\n  }}\n}}\n",
            state_file.display().to_string()
        ),
    )?;
    Ok(())
}

/// Copies `*.tf`, `*.tftpl`, `*.sh`, `.terraform.lock.hcl` and the `environments/` and `modules/` trees.
fn copy_module_tree(src: &Path, dest: &Path) -> Result<()> {
    std::fs::create_dir_all(dest)?;
    for entry in std::fs::read_dir(src).with_context(|| format!("reading {}", src.display()))? {
        let entry = entry?;
        let name = entry.file_name();
        let name_str = name.to_string_lossy();
        let path = entry.path();
        if entry.file_type()?.is_dir() {
            if name_str == ".terraform" {
                continue;
            }
            copy_module_tree(&path, &dest.join(&name))?;
        } else if !name_str.ends_with(".tfstate")
            && !name_str.ends_with(".tfstate.backup")
            && !name_str.ends_with("_override.tf")
        {
            std::fs::copy(&path, dest.join(&name))?;
        }
    }
    Ok(())
}
