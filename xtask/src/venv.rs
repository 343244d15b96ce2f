//! Python tools installed into project virtualenvs under `target/`, never into the system Python.
//!
//! Installation is safe from several processes at once (test binaries run in parallel): it happens under a
//! file lock, and a marker file, holding the requirements, says it completed. Changing the requirements
//! reinstalls.

use crate::tools;
use anyhow::{Context, Result, bail};
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// A virtualenv at `dir` holding `requirements` (pip requirement specifiers).
pub struct Venv<'a> {
    pub dir: PathBuf,
    pub requirements: &'a [&'a str],
}

impl Venv<'_> {
    /// An executable installed in the virtualenv.
    pub fn bin(&self, name: &str) -> PathBuf {
        self.dir.join("bin").join(name)
    }

    /// Creates the virtualenv and installs the requirements unless that was already done.
    pub fn ensure(&self) -> Result<()> {
        let marker = self.dir.join(".installed");
        let wanted = self.requirements.join("\n");
        let done = || std::fs::read_to_string(&marker).is_ok_and(|m| m == wanted);
        if done() {
            return Ok(());
        }
        let parent = self.dir.parent().context("virtualenv path has no parent")?;
        std::fs::create_dir_all(parent)?;
        let name = self.dir.file_name().unwrap_or_default().to_string_lossy();
        let lock = std::fs::File::create(parent.join(format!(".{name}.lock")))?;
        lock.lock().context("locking the virtualenv")?;
        if done() {
            return Ok(());
        }
        let python = tools::require_python()?;
        let _ = std::fs::remove_dir_all(&self.dir);
        eprintln!(
            "installing {} into {} (first run only)…",
            self.requirements.join(", "),
            self.dir.display()
        );
        run_checked(
            Command::new(&python).arg("-m").arg("venv").arg(&self.dir),
            "create a Python virtualenv (Debian/Ubuntu: apt-get install python3-venv)",
        )?;
        run_checked(
            Command::new(self.bin("python"))
                .args([
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "--disable-pip-version-check",
                ])
                .args(self.requirements),
            "install from PyPI (is the package index reachable?)",
        )?;
        std::fs::write(&marker, wanted)?;
        Ok(())
    }
}

pub(crate) fn run_checked(cmd: &mut Command, what: &str) -> Result<()> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("could not {what}"))?;
    if !out.status.success() {
        bail!(
            "could not {what}:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}
