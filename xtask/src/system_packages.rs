//! Programs that come from the operating system's packages (buildah, Debian's docker-registry, shellcheck).
//!
//! When one is missing on Debian/Ubuntu and this runs as root (containers) or may use sudo without a
//! password (GitHub's runners), it is installed with apt; otherwise the error names the command to run.

use crate::tools;
use anyhow::{Result, bail};
use std::process::Command;

/// A program and the Debian package that provides it.
#[derive(Debug, Clone, Copy)]
pub struct Package {
    pub program: &'static str,
    pub debian_package: &'static str,
}

pub const BUILDAH: Package = Package {
    program: "buildah",
    debian_package: "buildah",
};
pub const DOCKER_REGISTRY: Package = Package {
    program: "docker-registry",
    debian_package: "docker-registry",
};
pub const SHELLCHECK: Package = Package {
    program: "shellcheck",
    debian_package: "shellcheck",
};

fn is_root() -> bool {
    // The effective uid, from /proc/self/status ("Uid: real effective ...").
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|ids| ids.split_whitespace().nth(1).map(|e| e == "0"))
        })
        .unwrap_or(false)
}

/// Makes sure every program in `packages` is on PATH, installing the missing ones with apt when possible.
pub fn ensure(packages: &[Package]) -> Result<()> {
    let missing: Vec<&Package> = packages
        .iter()
        .filter(|p| tools::which(p.program).is_none())
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let names: Vec<&str> = missing.iter().map(|p| p.debian_package).collect();
    let sudo = !is_root()
        && tools::which("sudo").is_some()
        && Command::new("sudo")
            .args(["-n", "true"])
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
    if !(is_root() || sudo) || tools::which("apt-get").is_none() {
        bail!(
            "missing programs: {}. Install them (Debian/Ubuntu: `sudo apt-get install {}`).",
            missing
                .iter()
                .map(|p| p.program)
                .collect::<Vec<_>>()
                .join(", "),
            names.join(" ")
        );
    }
    eprintln!("installing {} with apt-get…", names.join(" "));
    let apt = || {
        let mut cmd = Command::new(if sudo { "sudo" } else { "apt-get" });
        if sudo {
            cmd.args(["-n", "DEBIAN_FRONTEND=noninteractive", "apt-get"]);
        }
        cmd
    };
    let install = |update_first: bool| -> Result<bool> {
        if update_first {
            apt().args(["update", "-qq"]).status()?;
        }
        Ok(apt()
            .args([
                "install",
                "-y",
                "-qq",
                "-o",
                "Dpkg::Use-Pty=0",
                "--no-install-recommends",
            ])
            .args(&names)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()?
            .success())
    };
    // The package lists may be stale (or absent, in a fresh container): update once if the first try fails.
    if !install(false)? && !install(true)? {
        bail!("apt-get could not install {}", names.join(" "));
    }
    for p in missing {
        if tools::which(p.program).is_none() {
            bail!(
                "installed {} but `{}` is still not on PATH",
                p.debian_package,
                p.program
            );
        }
    }
    Ok(())
}
