//! The embedded AWS emulator: moto's server mode, installed into a project virtualenv and started on a free
//! loopback port.
//!
//! moto >= 5.2.5 is required: 5.2.1 sends container `cpu`/`memory` as numbers in RunTask responses, which the
//! AWS SDK for Rust refuses to parse.

use crate::paths;
use crate::venv::Venv;
use anyhow::{Context, Result, bail};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const MOTO_REQUIREMENT: &str = "moto[server]>=5.2.5";

/// Where the project's virtualenv lives (`MOTO_VENV` overrides it).
pub fn venv_dir() -> PathBuf {
    std::env::var_os("MOTO_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| paths::target_dir().join("moto-venv"))
}

/// The `moto_server` executable, installing moto into the project virtualenv first if needed.
pub fn ensure_installed() -> Result<PathBuf> {
    let venv = Venv {
        dir: venv_dir(),
        requirements: &[MOTO_REQUIREMENT],
    };
    venv.ensure()?;
    let bin = venv.bin("moto_server");
    if !bin.exists() {
        bail!("moto was installed but {} is missing", bin.display());
    }
    Ok(bin)
}

/// A free TCP port on 127.0.0.1 (bound, then released for the child to take).
pub fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// A running `moto_server`. Dropping it kills the process unless [`MotoServer::detach`] was called.
pub struct MotoServer {
    child: Option<Child>,
    pub pid: u32,
    pub port: u16,
}

pub struct StartOptions<'a> {
    /// Where the server's output goes (a file, so a failing start can be diagnosed).
    pub log_file: &'a Path,
    /// Start in its own process group, so it outlives the caller (for `local up --detach`).
    pub detached: bool,
}

impl MotoServer {
    pub fn start(opts: StartOptions<'_>) -> Result<MotoServer> {
        let bin = ensure_installed()?;
        let port = free_port()?;
        let log = std::fs::File::create(opts.log_file)
            .with_context(|| format!("creating {}", opts.log_file.display()))?;
        let mut cmd = Command::new(&bin);
        cmd.args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .env("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        if opts.detached {
            use std::os::unix::process::CommandExt;
            cmd.process_group(0);
        }
        let child = cmd
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))?;
        let mut server = MotoServer {
            pid: child.id(),
            child: Some(child),
            port,
        };
        server.wait_ready(Duration::from_secs(60), opts.log_file)?;
        server.keep_tasks_running()?;
        Ok(server)
    }

    /// By default the emulator moves a task's last status one step towards STOPPED each time it is
    /// described (RUNNING, DEACTIVATING, STOPPING, …) while its desired status stays RUNNING. ECS keeps a
    /// running task RUNNING until it stops, so tell the emulator to do the same.
    fn keep_tasks_running(&self) -> Result<()> {
        ureq::post(&format!(
            "{}/moto-api/state-manager/set-transition",
            self.endpoint_url()
        ))
        .send(
            serde_json::json!({"model_name": "ecs::task",
                               "transition": {"progression": "manual", "times": 1_000_000_000}})
            .to_string(),
        )
        .context("configuring the emulator's task lifecycle")?;
        Ok(())
    }

    fn wait_ready(&mut self, timeout: Duration, log: &Path) -> Result<()> {
        let deadline = Instant::now() + timeout;
        let addr = SocketAddr::from(([127, 0, 0, 1], self.port));
        while Instant::now() < deadline {
            if let Some(child) = self.child.as_mut()
                && let Some(status) = child.try_wait()?
            {
                bail!(
                    "moto_server exited during start-up ({status}); its log:\n{}",
                    std::fs::read_to_string(log).unwrap_or_default()
                );
            }
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        bail!("moto_server did not accept connections on {addr} within {timeout:?}")
    }

    pub fn endpoint_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Leaves the server running after this value is dropped (its PID is recorded by the caller).
    pub fn detach(mut self) -> u32 {
        self.child.take();
        self.pid
    }

    /// Clears every resource (`POST /moto-api/reset`).
    pub fn reset(&self) -> Result<()> {
        ureq::post(&format!("{}/moto-api/reset", self.endpoint_url()))
            .send_empty()
            .context("resetting moto")?;
        Ok(())
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
