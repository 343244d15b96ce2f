//! AWS SDK configuration for xtask: the real account (default credential chain), or the emulator.

use aws_config::{BehaviorVersion, Region, SdkConfig};

/// Where AWS calls go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The default credential chain and region (a real account).
    Account,
    /// The local emulator at `endpoint`, with fixed test credentials.
    Emulator { endpoint: String, region: String },
}

pub const EMULATOR_ACCESS_KEY: &str = "testing";

pub async fn sdk_config(target: &Target) -> SdkConfig {
    match target {
        Target::Account => aws_config::defaults(BehaviorVersion::latest()).load().await,
        Target::Emulator { endpoint, region } => {
            aws_config::defaults(BehaviorVersion::latest())
                .endpoint_url(endpoint)
                .region(Region::new(region.clone()))
                .credentials_provider(aws_sdk_ecs::config::Credentials::new(
                    EMULATOR_ACCESS_KEY,
                    EMULATOR_ACCESS_KEY,
                    None,
                    None,
                    "xtask-emulator",
                ))
                .load()
                .await
        }
    }
}

/// Environment variables that point a child process (terraform, `provisioner serve`) at the emulator.
pub fn emulator_env(endpoint: &str, region: &str) -> Vec<(String, String)> {
    vec![
        ("AWS_ENDPOINT_URL".into(), endpoint.into()),
        ("AWS_REGION".into(), region.into()),
        ("AWS_DEFAULT_REGION".into(), region.into()),
        ("AWS_ACCESS_KEY_ID".into(), EMULATOR_ACCESS_KEY.into()),
        ("AWS_SECRET_ACCESS_KEY".into(), EMULATOR_ACCESS_KEY.into()),
        // Never pick up a developer's real profile or session against the emulator.
        ("AWS_PROFILE".into(), String::new()),
        ("AWS_SESSION_TOKEN".into(), String::new()),
    ]
}

/// Maps an SDK error to an error that says what was being done and why it failed (the SDK's own `Display`
/// is only "service error").
pub fn err<E, R>(
    what: &'static str,
) -> impl FnOnce(aws_sdk_ecs::error::SdkError<E, R>) -> anyhow::Error
where
    E: std::error::Error + aws_sdk_ecs::error::ProvideErrorMetadata + 'static,
    R: std::fmt::Debug,
{
    move |e| anyhow::anyhow!("{what}: {}", provisioner::aws_error::describe(&e))
}
