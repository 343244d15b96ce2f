//! Decrypting Control Room's encrypted payload with the official AWS Encryption SDK for Rust (`aws-esdk`),
//! rather than hand-written cryptography.
//!
//! The keyring is fixed by Control Room (DESIGN.md §3): raw AES, AES-256-GCM with a 12-byte IV and 16-byte tag,
//! key namespace `robocorp`, key name `on-demand-worker-secret`, wrapping key = SHA-256 of the shared secret's
//! UTF-8 bytes. The client requires key commitment (`RequireEncryptRequireDecrypt`): messages made with a
//! non-committing algorithm suite are refused, and the SDK verifies the message signature whenever the suite
//! has one.

use super::request::{EventError, link_token_from_plaintext};
use crate::protocol::LinkToken;
use aws_esdk::material_providers::client::Client as MaterialProviders;
use aws_esdk::material_providers::types::material_providers_config::MaterialProvidersConfig;
use aws_esdk::material_providers::types::{AesWrappingAlg, EsdkCommitmentPolicy};
use aws_esdk::types::aws_encryption_sdk_config::AwsEncryptionSdkConfig;
use sha2::{Digest, Sha256};

pub const KEY_NAMESPACE: &str = "robocorp";
pub const KEY_NAME: &str = "on-demand-worker-secret";
/// Control Room wraps the data key once; a few more are tolerated, and a message with many is refused
/// before any unwrapping work is done.
const MAX_ENCRYPTED_DATA_KEYS: i64 = 4;

/// The Encryption SDK clients, built once per process.
pub struct PayloadDecryptor {
    esdk: aws_esdk::Client,
    materials: MaterialProviders,
}

impl PayloadDecryptor {
    pub fn new() -> Result<PayloadDecryptor, String> {
        let config = AwsEncryptionSdkConfig::builder()
            .commitment_policy(EsdkCommitmentPolicy::RequireEncryptRequireDecrypt)
            .max_encrypted_data_keys(MAX_ENCRYPTED_DATA_KEYS)
            .build()
            .map_err(|e| format!("configuring the AWS Encryption SDK: {e}"))?;
        let esdk = aws_esdk::Client::from_conf(config)
            .map_err(|e| format!("creating the AWS Encryption SDK client: {e}"))?;
        let materials = MaterialProviders::from_conf(
            MaterialProvidersConfig::builder()
                .build()
                .map_err(|e| format!("configuring the material providers: {e}"))?,
        )
        .map_err(|e| format!("creating the material providers client: {e}"))?;
        Ok(PayloadDecryptor { esdk, materials })
    }

    /// The link token inside `message`, decrypted with the first of `secrets` (current, then previous) that
    /// opens it. Which secret failed, and how, is not told: to a sender, every failure looks the same.
    pub async fn link_token<S: AsRef<str>>(
        &self,
        message: &[u8],
        secrets: &[S],
    ) -> Result<LinkToken, EventError> {
        for secret in secrets {
            let wrapping_key = Sha256::digest(secret.as_ref().as_bytes()).to_vec();
            let keyring = self
                .materials
                .create_raw_aes_keyring()
                .key_namespace(KEY_NAMESPACE)
                .key_name(KEY_NAME)
                .wrapping_key(wrapping_key)
                .wrapping_alg(AesWrappingAlg::AlgAes256GcmIv12Tag16)
                .send()
                .await
                .map_err(|_| EventError::Undecryptable)?;
            let decrypted = self
                .esdk
                .decrypt()
                .ciphertext(message.to_vec())
                .keyring(keyring)
                .send()
                .await;
            if let Ok(output) = decrypted {
                let plaintext = output
                    .plaintext
                    .ok_or_else(|| EventError::InvalidPlaintext("it is empty".into()))?;
                return link_token_from_plaintext(plaintext.as_ref());
            }
        }
        Err(EventError::Undecryptable)
    }
}
