//! The shared secret: generated here from the OS RNG and written with the AWS SDK, so its value never passes
//! through Terraform state. Stored as `{"current": ..., "previous": ...}` (see the provisioner's config).

use anyhow::{Context, Result, bail};
use aws_sdk_secretsmanager::Client;
use provisioner::config::SharedSecrets;

/// 32 bytes from the OS RNG, hex-encoded (64 characters: easy to paste into Control Room).
pub fn generate() -> Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("OS random generator failed: {e}"))?;
    Ok(hex::encode(bytes))
}

/// The stored secrets, or `None` when the secret has no value yet.
pub async fn read(client: &Client, secret_id: &str) -> Result<Option<SharedSecrets>> {
    match client.get_secret_value().secret_id(secret_id).send().await {
        Ok(out) => match out.secret_string() {
            Some(value) => Ok(Some(SharedSecrets::parse(value)?)),
            None => Ok(None),
        },
        Err(e) => {
            let not_set = e
                .as_service_error()
                .map(|se| se.is_resource_not_found_exception())
                .unwrap_or(false);
            if not_set {
                Ok(None)
            } else {
                Err(anyhow::anyhow!(provisioner::aws_error::describe(&e)))
                    .with_context(|| format!("reading secret {secret_id}"))
            }
        }
    }
}

async fn write(
    client: &Client,
    secret_id: &str,
    current: &str,
    previous: Option<&str>,
) -> Result<()> {
    client
        .put_secret_value()
        .secret_id(secret_id)
        .secret_string(SharedSecrets::to_document(current, previous))
        .send()
        .await
        .map_err(|e| anyhow::anyhow!(provisioner::aws_error::describe(&e)))
        .with_context(|| format!("writing secret {secret_id}"))?;
    Ok(())
}

#[derive(Debug, PartialEq, Eq)]
pub enum InitOutcome {
    Created,
    /// A value exists: it is never overwritten (Control Room is configured with it).
    AlreadySet,
}

pub async fn init(client: &Client, secret_id: &str) -> Result<InitOutcome> {
    if read(client, secret_id).await?.is_some() {
        return Ok(InitOutcome::AlreadySet);
    }
    write(client, secret_id, &generate()?, None).await?;
    Ok(InitOutcome::Created)
}

/// Starts a rotation: a new current secret, the old one still accepted as previous.
pub async fn rotate(client: &Client, secret_id: &str) -> Result<()> {
    let Some(existing) = read(client, secret_id).await? else {
        bail!("secret {secret_id} has no value yet: run `cargo xtask secret init` first");
    };
    write(client, secret_id, &generate()?, Some(existing.current())).await
}

/// Ends a rotation: only the current secret is accepted from now on.
pub async fn finish_rotation(client: &Client, secret_id: &str) -> Result<()> {
    let Some(existing) = read(client, secret_id).await? else {
        bail!("secret {secret_id} has no value yet: run `cargo xtask secret init` first");
    };
    write(client, secret_id, existing.current(), None).await
}
