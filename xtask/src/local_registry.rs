//! Debian's `docker-registry` (the CNCF distribution registry, a real OCI registry) on a free loopback port,
//! with its own configuration and storage: where images are pushed when no cloud registry is reachable
//! (tests, the local stack; the emulator's ECR has no registry endpoint).

use crate::moto::free_port;
use crate::system_packages::{self, DOCKER_REGISTRY};
use anyhow::{Context, Result, bail};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running registry; dropping it stops the process.
pub struct LocalRegistry {
    child: Child,
    /// `127.0.0.1:PORT`.
    pub host: String,
}

impl LocalRegistry {
    /// Starts a registry storing its data under `dir` (installing `docker-registry` with apt if missing and
    /// possible).
    pub fn start(dir: &Path) -> Result<LocalRegistry> {
        system_packages::ensure(&[DOCKER_REGISTRY])?;
        std::fs::create_dir_all(dir.join("data"))?;
        let port = free_port()?;
        let host = format!("127.0.0.1:{port}");
        let config = dir.join("config.yml");
        std::fs::write(
            &config,
            format!(
                "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: {host}\n",
                dir.join("data").display()
            ),
        )?;
        let log = std::fs::File::create(dir.join("registry.log"))?;
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .context("starting docker-registry")?;
        let mut registry = LocalRegistry { child, host };
        let deadline = Instant::now() + Duration::from_secs(20);
        let url = format!("http://{}/v2/", registry.host);
        loop {
            if ureq::get(&url).call().is_ok() {
                return Ok(registry);
            }
            if let Some(status) = registry.child.try_wait()? {
                bail!(
                    "docker-registry exited ({status}): {}",
                    std::fs::read_to_string(dir.join("registry.log")).unwrap_or_default()
                );
            }
            if Instant::now() > deadline {
                bail!("docker-registry did not answer on {url} within 20 s");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for LocalRegistry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
