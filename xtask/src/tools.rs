//! External programs: finding them, and saying clearly what to install when one is missing.

use anyhow::{Result, bail};
use std::path::{Path, PathBuf};

/// The full path of `program` on `PATH`, if any.
pub fn which(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// Fails with an install hint when `program` is not on `PATH`.
pub fn require(program: &str, install_hint: &str) -> Result<PathBuf> {
    match which(program) {
        Some(path) => Ok(path),
        None => bail!("`{program}` is required but was not found on PATH.\n  {install_hint}"),
    }
}

pub fn require_terraform() -> Result<PathBuf> {
    require(
        "terraform",
        "Install Terraform >= 1.11 (https://developer.hashicorp.com/terraform/install) and make sure `terraform version` works.",
    )
}

pub fn require_python() -> Result<PathBuf> {
    require(
        "python3",
        "Install Python >= 3.9 with the venv module (Debian/Ubuntu: `apt-get install python3 python3-venv`).",
    )
}
