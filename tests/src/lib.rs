//! Shared harness for the end-to-end tests: a moto server per test, AWS resources seeded the way Terraform
//! and xtask would leave them, and `provisioner serve` as a real child process.

pub mod fault_proxy;
pub mod github_stub;

use anyhow::{Context, Result, bail};
use aws_config::SdkConfig;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use xtask::aws::{self, Target};
use xtask::moto::{MotoServer, StartOptions};

pub const REGION: &str = "us-east-1";

/// A fresh folder under target/e2e for one test's files.
pub fn scratch_dir(name: &str) -> PathBuf {
    let dir = xtask::paths::target_dir()
        .join("e2e")
        .join(format!("{name}-{}", random_hex(4)));
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}

pub fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).expect("OS RNG");
    hex::encode(buf)
}

/// A moto server of our own on a free port, killed when dropped.
pub fn start_moto(dir: &std::path::Path) -> MotoServer {
    MotoServer::start(StartOptions {
        log_file: &dir.join("moto.log"),
        detached: false,
    })
    .expect("moto_server starts")
}

pub async fn sdk(moto: &MotoServer) -> SdkConfig {
    aws::sdk_config(&Target::Emulator {
        endpoint: moto.endpoint_url(),
        region: REGION.into(),
    })
    .await
}

/// What [`seed`] created: the names the provisioner's environment points at.
pub struct Seeded {
    pub secret: String,
    pub secret_id: String,
    pub parameter: String,
    pub cluster_arn: String,
    pub image: String,
}

impl Seeded {
    /// The environment the Lambda would get from Terraform.
    pub fn provisioner_env(&self) -> BTreeMap<String, String> {
        BTreeMap::from([
            ("PROVISIONER_SECRET_ID".into(), self.secret_id.clone()),
            (
                "PROVISIONER_CLUSTER_CONFIG_PARAMETER".into(),
                self.parameter.clone(),
            ),
            ("PROVISIONER_WORKER_IMAGE".into(), self.image.clone()),
            ("PROVISIONER_LOG_FORMAT".into(), "json".into()),
            // Reload the secret quickly in tests that rotate it.
            ("PROVISIONER_CONFIG_TTL_SECONDS".into(), "1".into()),
        ])
    }
}

/// Creates what the provisioner needs, as Terraform and `xtask secret init` would: the secret (with a value),
/// the SSM cluster configuration, the cluster, and one registered container instance. Names carry a random
/// suffix (moto's ListTasks matches cluster names as substrings).
pub async fn seed(sdk: &SdkConfig) -> Result<Seeded> {
    let suffix = random_hex(4);
    let cluster_name = format!("odw-e2e-{suffix}");
    let cluster_arn = aws_sdk_ecs::Client::new(sdk)
        .create_cluster()
        .cluster_name(&cluster_name)
        .send()
        .await
        .map_err(aws::err("creating the cluster"))?
        .cluster()
        .and_then(|c| c.cluster_arn().map(str::to_owned))
        .context("no cluster ARN")?;
    xtask::ecs_host::register_host(sdk, &cluster_arn).await?;
    let secret = xtask::secret::generate()?;
    let secret_id = aws_sdk_secretsmanager::Client::new(sdk)
        .create_secret()
        .name(format!("odw-e2e-{suffix}/shared-secret"))
        .secret_string(provisioner::config::SharedSecrets::to_document(
            &secret, None,
        ))
        .send()
        .await
        .map_err(aws::err("creating the secret"))?
        .arn()
        .context("no secret ARN")?
        .to_string();
    let parameter = format!("/odw-e2e-{suffix}/cluster-config");
    let config = serde_json::json!({
        "cluster_arn": cluster_arn,
        "task_family_prefix": format!("odw-e2e-{suffix}-worker"),
        "task_role_arn": "arn:aws:iam::123456789012:role/odw-e2e-robot",
        "execution_role_arn": "arn:aws:iam::123456789012:role/odw-e2e-execution",
        "log_group": "/ecs/odw-e2e-worker",
        "log_region": REGION,
        "worker_cpu": 256,
        "worker_memory_reservation": 256,
    });
    aws_sdk_ssm::Client::new(sdk)
        .put_parameter()
        .name(&parameter)
        .r#type(aws_sdk_ssm::types::ParameterType::String)
        .value(config.to_string())
        .send()
        .await
        .map_err(aws::err("writing the cluster configuration"))?;
    Ok(Seeded {
        secret,
        secret_id,
        parameter,
        cluster_arn,
        image: "123456789012.dkr.ecr.us-east-1.amazonaws.com/odw-e2e-worker@sha256:0000000000000000000000000000000000000000000000000000000000000000".into(),
    })
}

/// The provisioner binary cargo built for this test run.
pub fn provisioner_bin() -> PathBuf {
    let bin = xtask::paths::target_dir().join("debug").join("provisioner");
    assert!(
        bin.exists(),
        "{} is missing: run the tests with `cargo test --workspace` (which builds it)",
        bin.display()
    );
    bin
}

/// `provisioner serve` as a child process; its stderr (the logs) goes to a file. Killed when dropped.
pub struct Serve {
    child: Child,
    pub url: String,
    pub log: PathBuf,
}

impl Serve {
    pub fn start(
        dir: &std::path::Path,
        env: &BTreeMap<String, String>,
        aws_endpoint: &str,
    ) -> Result<Serve> {
        let out = dir.join(format!("serve-{}.out", random_hex(3)));
        let log = out.with_extension("log");
        let mut child = Command::new(provisioner_bin())
            .args(["serve", "--listen", "127.0.0.1:0"])
            .env_clear()
            .envs(env)
            .envs(aws::emulator_env(aws_endpoint, REGION))
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&out)?)
            .stderr(std::fs::File::create(&log)?)
            .spawn()?;
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let text = std::fs::read_to_string(&out).unwrap_or_default();
            if let Some(url) = text.lines().find_map(|l| l.strip_prefix("listening on ")) {
                return Ok(Serve {
                    child,
                    url: format!("{}/worker-request", url.trim()),
                    log,
                });
            }
            if let Some(status) = child.try_wait()? {
                bail!(
                    "provisioner exited: {status}: {}",
                    std::fs::read_to_string(&log)?
                );
            }
            if Instant::now() > deadline {
                bail!("provisioner did not start listening");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The tasks in `cluster` whose desired status is RUNNING (every page of them), with their tags.
pub async fn running_tasks(sdk: &SdkConfig, cluster: &str) -> Vec<aws_sdk_ecs::types::Task> {
    let ecs = aws_sdk_ecs::Client::new(sdk);
    let mut arns = Vec::new();
    let mut next = None;
    loop {
        let out = ecs
            .list_tasks()
            .cluster(cluster)
            .desired_status(aws_sdk_ecs::types::DesiredStatus::Running)
            .set_next_token(next)
            .send()
            .await
            .expect("ListTasks");
        arns.extend(out.task_arns().iter().cloned());
        next = out.next_token().map(str::to_owned);
        if next.is_none() {
            break;
        }
    }
    let mut tasks = Vec::new();
    for chunk in arns.chunks(100) {
        let out = ecs
            .describe_tasks()
            .cluster(cluster)
            .set_tasks(Some(chunk.to_vec()))
            .include(aws_sdk_ecs::types::TaskField::Tags)
            .send()
            .await
            .expect("DescribeTasks");
        tasks.extend(out.tasks().iter().cloned());
    }
    tasks
}

/// The value of tag `key` on `task`.
pub fn tag<'a>(task: &'a aws_sdk_ecs::types::Task, key: &str) -> Option<&'a str> {
    task.tags()
        .iter()
        .find(|t| t.key() == Some(key))
        .and_then(|t| t.value())
}
