//! Running external programs with a hard time limit, output captured to a log file.
//!
//! Terraform against the emulator can retry for ~10 minutes on an unimplemented API instead of failing, so
//! every call gets a deadline; on expiry the whole process group (terraform and its provider plugins) is
//! killed.

use anyhow::{Context, Result, bail};
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// The outcome of a finished program: its status and everything it printed (stdout, then stderr).
pub struct Finished {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Finished {
    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }
}

/// Runs `cmd` to completion or until `timeout`, appending its output to `log` when given.
pub fn run_with_timeout(
    cmd: &mut Command,
    timeout: Duration,
    log: Option<&Path>,
) -> Result<Finished> {
    use std::os::unix::process::CommandExt;
    let description = format!("{cmd:?}");
    let dir = tempdir_for_output()?;
    let out_path = dir.join("stdout");
    let err_path = dir.join("stderr");
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path)?)
        .stderr(std::fs::File::create(&err_path)?)
        .process_group(0)
        .spawn()
        .with_context(|| format!("could not start {description}"))?;
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", child.id())])
                .status();
            let _ = child.kill();
            let _ = child.wait();
            let stderr = std::fs::read_to_string(&err_path).unwrap_or_default();
            let _ = std::fs::remove_dir_all(&dir);
            bail!(
                "{description} did not finish within {timeout:?} and was killed; last output:\n{}",
                tail(&stderr, 40)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let stdout = std::fs::read_to_string(&out_path).unwrap_or_default();
    let stderr = std::fs::read_to_string(&err_path).unwrap_or_default();
    let _ = std::fs::remove_dir_all(&dir);
    if let Some(log) = log {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)?;
        writeln!(f, "$ {description}\n{stdout}{stderr}")?;
    }
    Ok(Finished {
        status,
        stdout,
        stderr,
    })
}

fn tempdir_for_output() -> Result<std::path::PathBuf> {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let dir = std::env::temp_dir().join(format!(
        "xtask-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// The last `lines` lines of `text`.
pub fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// A shell in the workspace root, for running `cargo` through [`cargo_cmd`].
pub fn cargo_shell() -> Result<xshell::Shell> {
    let sh = xshell::Shell::new()?;
    sh.change_dir(crate::paths::workspace_root());
    Ok(sh)
}

/// `cmd` (a `cargo …` command) without the variables that `cargo run` and `cargo test` set for the program
/// they start (`CARGO_PKG_NAME`, `CARGO_MANIFEST_DIR`, …). A nested cargo would inherit them, and build
/// scripts that watch them (ring's does) would then rebuild whole dependency chains on every switch between
/// `cargo xtask …` and a plain `cargo …`.
pub fn cargo_cmd(mut cmd: xshell::Cmd<'_>) -> xshell::Cmd<'_> {
    for (key, _) in std::env::vars_os() {
        if let Some(key) = key.to_str()
            && is_set_by_cargo_for_its_child(key)
        {
            cmd = cmd.env_remove(key);
        }
    }
    cmd
}

fn is_set_by_cargo_for_its_child(key: &str) -> bool {
    key.starts_with("CARGO_PKG_")
        || key.starts_with("CARGO_BIN_EXE_")
        || matches!(
            key,
            "CARGO_MANIFEST_DIR"
                | "CARGO_MANIFEST_PATH"
                | "CARGO_MANIFEST_LINKS"
                | "CARGO_CRATE_NAME"
                | "CARGO_BIN_NAME"
                | "CARGO_PRIMARY_PACKAGE"
                | "CARGO_TARGET_TMPDIR"
                | "OUT_DIR"
        )
}
