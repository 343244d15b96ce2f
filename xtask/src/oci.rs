//! Reading an OCI image archive (`oci-archive:` as buildah and `docker buildx --output type=oci` write it):
//! `index.json` names the manifest, every blob sits under `blobs/sha256/`. The bytes are kept exactly as they
//! are: pushing them as-is is what keeps the digest.

use anyhow::{Context, Result, bail, ensure};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";

/// One image from an archive: its manifest and the blobs it references.
#[derive(Debug, Clone)]
pub struct Image {
    /// `sha256:…` of the manifest bytes: the image's identity.
    pub digest: String,
    pub manifest: Vec<u8>,
    pub media_type: String,
    /// digest → bytes, for the config and every layer.
    pub blobs: BTreeMap<String, Vec<u8>>,
}

pub fn sha256_digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

impl Image {
    /// Reads the single image of the archive at `path`, checking every blob against its digest.
    pub fn from_archive(path: &Path) -> Result<Image> {
        let file =
            std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
        let mut files: BTreeMap<String, Vec<u8>> = BTreeMap::new();
        let mut archive = tar::Archive::new(file);
        for entry in archive.entries().context("reading the OCI archive")? {
            let mut entry = entry?;
            if !entry.header().entry_type().is_file() {
                continue;
            }
            let name = entry
                .path()?
                .to_string_lossy()
                .trim_start_matches("./")
                .to_string();
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes)?;
            files.insert(name, bytes);
        }
        let index: serde_json::Value = serde_json::from_slice(
            files
                .get("index.json")
                .context("not an OCI archive: no index.json")?,
        )
        .context("index.json is not JSON")?;
        let manifests = index["manifests"]
            .as_array()
            .context("index.json has no manifests")?;
        ensure!(
            manifests.len() == 1,
            "the archive holds {} images; expected exactly one",
            manifests.len()
        );
        let digest = manifests[0]["digest"]
            .as_str()
            .context("the index entry has no digest")?
            .to_string();
        let blob = |digest: &str| -> Result<Vec<u8>> {
            let hex = digest
                .strip_prefix("sha256:")
                .with_context(|| format!("unsupported digest {digest}"))?;
            let bytes = files
                .get(&format!("blobs/sha256/{hex}"))
                .with_context(|| format!("blob {digest} is missing from the archive"))?
                .clone();
            if sha256_digest(&bytes) != digest {
                bail!("blob {digest} does not match its digest: the archive is corrupt");
            }
            Ok(bytes)
        };
        let manifest = blob(&digest)?;
        let parsed: serde_json::Value =
            serde_json::from_slice(&manifest).context("the manifest is not JSON")?;
        let media_type = parsed["mediaType"]
            .as_str()
            .or_else(|| manifests[0]["mediaType"].as_str())
            .unwrap_or(OCI_MANIFEST)
            .to_string();
        let mut blobs = BTreeMap::new();
        let referenced = std::iter::once(&parsed["config"])
            .chain(parsed["layers"].as_array().into_iter().flatten());
        for descriptor in referenced {
            let d = descriptor["digest"]
                .as_str()
                .context("a manifest descriptor has no digest")?;
            blobs.insert(d.to_string(), blob(d)?);
        }
        Ok(Image {
            digest,
            manifest,
            media_type,
            blobs,
        })
    }
}
