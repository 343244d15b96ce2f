//! Where the provisioner's configuration comes from, and how long it is trusted.
//!
//! The Lambda (and `provisioner serve`) is told *where* its configuration lives through environment variables
//! set by Terraform; the values themselves are read from AWS and cached for a short time, so a rotated secret
//! or a changed cluster is picked up without a redeploy:
//!
//! | variable | meaning |
//! | --- | --- |
//! | `PROVISIONER_SECRET_ID` | Secrets Manager secret (name or ARN) holding the shared secret |
//! | `PROVISIONER_CLUSTER_CONFIG_PARAMETER` | SSM parameter holding the cluster configuration (JSON, see [`ClusterConfig`]) |
//! | `PROVISIONER_WORKER_IMAGE` | worker image reference (`repo@sha256:…` or `repo:tag`) |
//! | `PROVISIONER_CONFIG_TTL_SECONDS` | optional, how long loaded configuration is reused (default 60); a retired secret stops being accepted within this time |
//! | `PROVISIONER_DEFAULT_LIFETIME_SECONDS` | optional, a worker's lifetime when Control Room gives no `maxLifetimeSeconds` (default 86400) |
//! | `PROVISIONER_MAX_LIFETIME_SECONDS` | optional, the longest lifetime granted whatever Control Room asks (default 86460) |
//! | `PROVISIONER_PENDING_GRACE_SECONDS` | optional, how long a task may wait for capacity before the reaper stops it (default 900) |
//! | `PROVISIONER_DEPLOYMENT` | optional, the deployment id: the `Deployment` dimension of the metrics |
//! | `PROVISIONER_LOG_FORMAT` | optional, `json` (default on Lambda) or `text` |
//! | `PROVISIONER_DEAD_LETTER_QUEUE_URL` | EventBridge function: SQS queue that receives the events it cannot act on |
//! | `PROVISIONER_ALLOW_PLAINTEXT_LINK_TOKENS` | EventBridge function, optional: `true` accepts Control Room's development-mode plain-text link tokens (default `false`) |
//!
//! The usual AWS SDK variables (`AWS_REGION`, `AWS_ENDPOINT_URL`, credentials) apply as well.

use serde::Deserialize;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

pub const ENV_SECRET_ID: &str = "PROVISIONER_SECRET_ID";
pub const ENV_CLUSTER_CONFIG_PARAMETER: &str = "PROVISIONER_CLUSTER_CONFIG_PARAMETER";
pub const ENV_WORKER_IMAGE: &str = "PROVISIONER_WORKER_IMAGE";
pub const ENV_CONFIG_TTL_SECONDS: &str = "PROVISIONER_CONFIG_TTL_SECONDS";
pub const ENV_LOG_FORMAT: &str = "PROVISIONER_LOG_FORMAT";
pub const ENV_DEFAULT_LIFETIME_SECONDS: &str = "PROVISIONER_DEFAULT_LIFETIME_SECONDS";
pub const ENV_MAX_LIFETIME_SECONDS: &str = "PROVISIONER_MAX_LIFETIME_SECONDS";
pub const ENV_PENDING_GRACE_SECONDS: &str = "PROVISIONER_PENDING_GRACE_SECONDS";
pub const ENV_DEPLOYMENT: &str = "PROVISIONER_DEPLOYMENT";
pub const ENV_DEAD_LETTER_QUEUE_URL: &str = "PROVISIONER_DEAD_LETTER_QUEUE_URL";
pub const ENV_ALLOW_PLAINTEXT_LINK_TOKENS: &str = "PROVISIONER_ALLOW_PLAINTEXT_LINK_TOKENS";

const DEFAULT_TTL: Duration = Duration::from_secs(60);
/// A signature that matches no cached secret triggers one early reload, at most this often, so the first
/// request signed with a freshly rotated secret is not refused (and forged signatures cannot make us call
/// Secrets Manager more than once a second).
const MIN_RELOAD_INTERVAL: Duration = Duration::from_secs(1);

/// How long workers may live. Every task carries its deadline as a tag; the reaper stops it after that.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LifetimePolicy {
    /// When Control Room gives no `maxLifetimeSeconds`.
    pub default_seconds: u64,
    /// The most granted, whatever Control Room asks.
    pub max_seconds: u64,
}

impl Default for LifetimePolicy {
    /// A day, and at most a day and a minute (slack for start-up).
    fn default() -> Self {
        LifetimePolicy {
            default_seconds: 24 * 3600,
            max_seconds: 24 * 3600 + 60,
        }
    }
}

impl LifetimePolicy {
    /// The lifetime granted to a run that asked for `requested` seconds (if anything).
    pub fn grant(&self, requested: Option<u64>) -> u64 {
        requested
            .unwrap_or(self.default_seconds)
            .min(self.max_seconds)
    }
}

/// How long a task may sit in PROVISIONING/PENDING (waiting for capacity) before the reaper stops it.
pub const DEFAULT_PENDING_GRACE: Duration = Duration::from_secs(15 * 60);

/// Where to find the configuration: read once from the environment at start-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub secret_id: String,
    pub cluster_config_parameter: String,
    pub worker_image: String,
    pub ttl: Duration,
    pub lifetimes: LifetimePolicy,
    pub pending_grace: Duration,
    /// The `Deployment` dimension of the metrics (empty: none given).
    pub deployment: String,
    /// EventBridge transport: where events that cannot be acted on are sent (none: the function fails them
    /// and Lambda's own retries and dead-letter queue take over).
    pub dead_letter_queue_url: Option<String>,
    /// EventBridge transport: accept Control Room's development-mode plain-text link tokens.
    pub allow_plaintext_link_tokens: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("provisioner is misconfigured: environment variable {0} is not set")]
    MissingEnv(&'static str),
    #[error("provisioner is misconfigured: {0}")]
    Invalid(String),
    #[error("could not load configuration from AWS: {0}")]
    Aws(String),
}

impl Settings {
    /// Reads the settings through `var` (so tests need not touch the process environment).
    pub fn from_env(var: impl Fn(&str) -> Option<String>) -> Result<Settings, ConfigError> {
        let required = |name: &'static str| {
            var(name)
                .filter(|v| !v.trim().is_empty())
                .ok_or(ConfigError::MissingEnv(name))
        };
        let seconds = |name: &'static str, default: u64| -> Result<u64, ConfigError> {
            match var(name) {
                None => Ok(default),
                Some(v) => v.trim().parse::<u64>().map_err(|_| {
                    ConfigError::Invalid(format!(
                        "{name} must be a whole number of seconds, got {v:?}"
                    ))
                }),
            }
        };
        let defaults = LifetimePolicy::default();
        let lifetimes = LifetimePolicy {
            default_seconds: seconds(ENV_DEFAULT_LIFETIME_SECONDS, defaults.default_seconds)?,
            max_seconds: seconds(ENV_MAX_LIFETIME_SECONDS, defaults.max_seconds)?,
        };
        if lifetimes.default_seconds == 0 || lifetimes.max_seconds < lifetimes.default_seconds {
            return Err(ConfigError::Invalid(format!(
                "{ENV_DEFAULT_LIFETIME_SECONDS} must be at least 1 and at most {ENV_MAX_LIFETIME_SECONDS} ({} > {})",
                lifetimes.default_seconds, lifetimes.max_seconds
            )));
        }
        Ok(Settings {
            secret_id: required(ENV_SECRET_ID)?,
            cluster_config_parameter: required(ENV_CLUSTER_CONFIG_PARAMETER)?,
            worker_image: required(ENV_WORKER_IMAGE)?,
            ttl: Duration::from_secs(seconds(ENV_CONFIG_TTL_SECONDS, DEFAULT_TTL.as_secs())?),
            lifetimes,
            pending_grace: Duration::from_secs(seconds(
                ENV_PENDING_GRACE_SECONDS,
                DEFAULT_PENDING_GRACE.as_secs(),
            )?),
            deployment: var(ENV_DEPLOYMENT).unwrap_or_default(),
            dead_letter_queue_url: var(ENV_DEAD_LETTER_QUEUE_URL).filter(|v| !v.trim().is_empty()),
            allow_plaintext_link_tokens: match var(ENV_ALLOW_PLAINTEXT_LINK_TOKENS)
                .as_deref()
                .map(str::trim)
            {
                None | Some("") | Some("false") => false,
                Some("true") => true,
                Some(other) => {
                    return Err(ConfigError::Invalid(format!(
                        "{ENV_ALLOW_PLAINTEXT_LINK_TOKENS} must be true or false, got {other:?}"
                    )));
                }
            },
        })
    }
}

/// The non-secret cluster configuration Terraform writes to SSM as JSON.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterConfig {
    pub cluster_arn: String,
    /// Task definition families are `<prefix>-<hash>`; IAM allows RunTask only on that prefix.
    pub task_family_prefix: String,
    pub task_role_arn: String,
    pub execution_role_arn: String,
    pub log_group: String,
    pub log_region: String,
    #[serde(default)]
    pub capacity_provider: Option<String>,
    #[serde(default = "default_cpu")]
    pub worker_cpu: i32,
    #[serde(default = "default_memory")]
    pub worker_memory_reservation: i32,
}

fn default_cpu() -> i32 {
    256
}
fn default_memory() -> i32 {
    256
}

impl ClusterConfig {
    pub fn parse(json: &str) -> Result<ClusterConfig, ConfigError> {
        serde_json::from_str(json)
            .map_err(|e| ConfigError::Invalid(format!("cluster configuration parameter: {e}")))
    }
}

/// The shared secret(s) a signature may be made with: the current one first, then the previous one while a
/// rotation is in progress. `Debug` never shows them.
#[derive(Clone, PartialEq, Eq)]
pub struct SharedSecrets(Vec<String>);

impl std::fmt::Debug for SharedSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SharedSecrets(<{} redacted>)", self.0.len())
    }
}

/// The secret's value as our tool writes it: `{"current": "...", "previous": "..."}`. A plain string (a
/// secret set by hand) is taken as the current secret.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SecretDocument {
    current: String,
    #[serde(default)]
    previous: Option<String>,
}

impl SharedSecrets {
    pub fn parse(value: &str) -> Result<SharedSecrets, ConfigError> {
        let mut secrets = match serde_json::from_str::<SecretDocument>(value) {
            Ok(doc) => std::iter::once(doc.current).chain(doc.previous).collect(),
            Err(_) if value.trim_start().starts_with('{') => {
                // Never quote the value: it is the secret.
                return Err(ConfigError::Invalid(
                    "the shared secret is JSON but not {\"current\": ..., \"previous\": ...}"
                        .into(),
                ));
            }
            Err(_) => vec![value.to_string()],
        };
        secrets.retain(|s| !s.is_empty());
        if secrets.is_empty() {
            return Err(ConfigError::Invalid("the shared secret is empty".into()));
        }
        Ok(SharedSecrets(secrets))
    }

    pub fn as_slice(&self) -> &[String] {
        &self.0
    }

    /// The value Control Room should be configured with.
    pub fn current(&self) -> &str {
        &self.0[0]
    }

    /// The document to store in Secrets Manager for these secrets.
    pub fn to_document(current: &str, previous: Option<&str>) -> String {
        let mut doc = serde_json::json!({ "current": current });
        if let Some(p) = previous {
            doc["previous"] = serde_json::Value::String(p.to_string());
        }
        doc.to_string()
    }
}

/// Everything a request needs from AWS-held configuration.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub secrets: SharedSecrets,
    pub cluster: ClusterConfig,
}

/// Loads [`Loaded`] from Secrets Manager and SSM and caches it for the settings' TTL.
pub struct ConfigStore {
    settings: Settings,
    secrets_manager: aws_sdk_secretsmanager::Client,
    ssm: aws_sdk_ssm::Client,
    cache: Mutex<Option<(Instant, Arc<Loaded>)>>,
}

impl ConfigStore {
    pub fn new(settings: Settings, sdk: &aws_config::SdkConfig) -> ConfigStore {
        ConfigStore {
            settings,
            secrets_manager: aws_sdk_secretsmanager::Client::new(sdk),
            ssm: aws_sdk_ssm::Client::new(sdk),
            cache: Mutex::new(None),
        }
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The configuration, from the cache while it is fresh.
    pub async fn get(&self) -> Result<Arc<Loaded>, ConfigError> {
        let mut cache = self.cache.lock().await;
        if let Some((at, loaded)) = cache.as_ref()
            && at.elapsed() < self.settings.ttl
        {
            return Ok(loaded.clone());
        }
        let loaded = Arc::new(self.load().await?);
        *cache = Some((Instant::now(), loaded.clone()));
        Ok(loaded)
    }

    /// A configuration newer than `seen` (the one the caller judged with): the cached one if another
    /// request has reloaded it meanwhile, else a reload, unless the cache is younger than
    /// [`MIN_RELOAD_INTERVAL`]. `None`: nothing newer to try (so the caller's answer stands).
    pub async fn reload_if_stale(
        &self,
        seen: &Arc<Loaded>,
    ) -> Result<Option<Arc<Loaded>>, ConfigError> {
        let mut cache = self.cache.lock().await;
        if let Some((at, cached)) = cache.as_ref() {
            if !Arc::ptr_eq(cached, seen) {
                return Ok(Some(cached.clone()));
            }
            if at.elapsed() < MIN_RELOAD_INTERVAL {
                return Ok(None);
            }
        }
        let loaded = Arc::new(self.load().await?);
        *cache = Some((Instant::now(), loaded.clone()));
        Ok(Some(loaded))
    }

    async fn load(&self) -> Result<Loaded, ConfigError> {
        let secret = self
            .secrets_manager
            .get_secret_value()
            .secret_id(&self.settings.secret_id)
            .send();
        let parameter = self
            .ssm
            .get_parameter()
            .name(&self.settings.cluster_config_parameter)
            .send();
        let (secret, parameter) = tokio::join!(secret, parameter);
        let secret = secret.map_err(|e| {
            ConfigError::Aws(format!(
                "reading secret {}: {}",
                self.settings.secret_id,
                crate::aws_error::describe(&e)
            ))
        })?;
        let parameter = parameter.map_err(|e| {
            ConfigError::Aws(format!(
                "reading parameter {}: {}",
                self.settings.cluster_config_parameter,
                crate::aws_error::describe(&e)
            ))
        })?;
        let secrets = SharedSecrets::parse(secret.secret_string().ok_or_else(|| {
            ConfigError::Invalid(format!(
                "secret {} has no value yet: run `cargo xtask secret init`",
                self.settings.secret_id
            ))
        })?)?;
        let cluster = ClusterConfig::parse(
            parameter
                .parameter()
                .and_then(|p| p.value())
                .unwrap_or_default(),
        )?;
        Ok(Loaded { secrets, cluster })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn settings_name_the_missing_variable() {
        let all = [
            (ENV_SECRET_ID, "s"),
            (ENV_CLUSTER_CONFIG_PARAMETER, "/p"),
            (ENV_WORKER_IMAGE, "img:1"),
        ];
        assert_eq!(Settings::from_env(env(&all)).unwrap().ttl, DEFAULT_TTL);
        for skip in 0..all.len() {
            let partial: Vec<_> = all
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != skip)
                .map(|(_, p)| *p)
                .collect();
            assert_eq!(
                Settings::from_env(env(&partial)),
                Err(ConfigError::MissingEnv(all[skip].0))
            );
        }
        for (name, bad) in [
            (ENV_CONFIG_TTL_SECONDS, "soon"),
            (ENV_PENDING_GRACE_SECONDS, "-1"),
            (ENV_DEFAULT_LIFETIME_SECONDS, "0"),
            (ENV_MAX_LIFETIME_SECONDS, "60"), // below the default lifetime
            (ENV_ALLOW_PLAINTEXT_LINK_TOKENS, "yes"),
        ] {
            let mut with_bad = all.to_vec();
            with_bad.push((name, bad));
            let err = Settings::from_env(env(&with_bad)).unwrap_err();
            assert!(err.to_string().contains(name), "{name}: {err}");
        }
    }

    #[test]
    fn lifetimes_default_and_cap() {
        let policy = LifetimePolicy {
            default_seconds: 3600,
            max_seconds: 7200,
        };
        assert_eq!(policy.grant(None), 3600);
        assert_eq!(policy.grant(Some(60)), 60);
        assert_eq!(policy.grant(Some(100_000)), 7200);
        let mut custom = vec![
            (ENV_SECRET_ID, "s"),
            (ENV_CLUSTER_CONFIG_PARAMETER, "/p"),
            (ENV_WORKER_IMAGE, "img:1"),
        ];
        custom.extend([
            (ENV_DEFAULT_LIFETIME_SECONDS, "3600"),
            (ENV_MAX_LIFETIME_SECONDS, "7200"),
            (ENV_PENDING_GRACE_SECONDS, "30"),
        ]);
        let settings = Settings::from_env(env(&custom)).unwrap();
        assert_eq!(settings.lifetimes, policy);
        assert_eq!(settings.pending_grace, Duration::from_secs(30));
        let defaults = Settings::from_env(env(&custom[..3])).unwrap();
        assert_eq!(defaults.lifetimes, LifetimePolicy::default());
        assert_eq!(defaults.pending_grace, DEFAULT_PENDING_GRACE);
        assert!(!defaults.allow_plaintext_link_tokens);
        assert_eq!(defaults.dead_letter_queue_url, None);
        custom.extend([
            (ENV_ALLOW_PLAINTEXT_LINK_TOKENS, "true"),
            (ENV_DEAD_LETTER_QUEUE_URL, "http://q"),
        ]);
        let events = Settings::from_env(env(&custom)).unwrap();
        assert!(events.allow_plaintext_link_tokens);
        assert_eq!(events.dead_letter_queue_url.as_deref(), Some("http://q"));
    }

    #[test]
    fn secrets_parse_plain_and_rotating_documents() {
        assert_eq!(SharedSecrets::parse("abc").unwrap().as_slice(), ["abc"]);
        let doc = SharedSecrets::to_document("new", Some("old"));
        assert_eq!(
            SharedSecrets::parse(&doc).unwrap().as_slice(),
            ["new", "old"]
        );
        assert_eq!(
            SharedSecrets::parse(&SharedSecrets::to_document("only", None))
                .unwrap()
                .current(),
            "only"
        );
        assert!(SharedSecrets::parse("").is_err());
        let err = SharedSecrets::parse(r#"{"curent":"leaky-value"}"#).unwrap_err();
        assert!(!err.to_string().contains("leaky-value"));
        assert!(!format!("{:?}", SharedSecrets::parse("abc").unwrap()).contains("abc"));
    }

    #[test]
    fn cluster_config_defaults_and_rejects_unknown_keys() {
        let json = r#"{"cluster_arn":"arn:c","task_family_prefix":"x-worker","task_role_arn":"arn:t",
            "execution_role_arn":"arn:e","log_group":"/g","log_region":"eu-west-1"}"#;
        let c = ClusterConfig::parse(json).unwrap();
        assert_eq!((c.worker_cpu, c.worker_memory_reservation), (256, 256));
        assert!(ClusterConfig::parse(&json.replace("log_group", "log_grup")).is_err());
        assert!(ClusterConfig::parse("not json").is_err());
    }
}
