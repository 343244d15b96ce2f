//! Programs that come from the operating system's packages (buildah, Debian's docker-registry, shellcheck).
//!
//! When one is missing and this runs as root on Debian/Ubuntu (CI, containers), it is installed with apt;
//! otherwise the error names the command to run.

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
    // SAFETY-free check: the effective uid is in /proc/self/status ("Uid: real effective ...").
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
    if !is_root() || tools::which("apt-get").is_none() {
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
    let install = |update_first: bool| -> Result<bool> {
        if update_first {
            Command::new("apt-get").args(["update", "-qq"]).status()?;
        }
        Ok(Command::new("apt-get")
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
