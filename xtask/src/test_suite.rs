//! `cargo xtask test`: every test and check the project has, on a fresh machine.
//!
//! It first makes sure what the tests drive is there (installing what can be installed into project folders
//! under `target/`, and naming what must be installed by hand), then runs `cargo test --workspace`, then the
//! static checks ([`crate::checks`]). CI runs exactly this, after `cargo fmt` and clippy.

use crate::progress::step;
use crate::{checks, moto, tools};
use anyhow::{Context, Result};

#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Only the static checks (no `cargo test`).
    pub checks_only: bool,
    /// Arguments passed on to `cargo test` (e.g. a test name filter).
    pub cargo_test_args: Vec<String>,
}

pub fn run(opts: &Options) -> Result<()> {
    let s = step("check required tools (terraform, python3, git)");
    let terraform = tools::require_terraform()?;
    tools::require_python()?;
    tools::require("git", "Install git (Debian/Ubuntu: `apt-get install git`).")?;
    s.done_with(&terraform.display().to_string());

    let s = step("AWS emulator (moto) in the project virtualenv");
    let bin = moto::ensure_installed()?;
    s.done_with(&bin.display().to_string());

    if !opts.checks_only {
        let s = step("cargo test --workspace");
        let sh = crate::process::cargo_shell()?;
        let extra = &opts.cargo_test_args;
        crate::process::cargo_cmd(xshell::cmd!(
            sh,
            "cargo test --workspace --locked {extra...}"
        ))
        .run()
        .context("the test suite failed (see the output above)")?;
        s.done();
    }

    checks::run_all()
}
