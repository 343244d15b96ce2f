//! A small client of the OCI distribution API (what ECR, Docker's registry and every other registry speak),
//! enough to push an image from an OCI archive byte for byte and to read tags and digests back.
//!
//! Blobs and the manifest are uploaded exactly as they are in the archive: nothing is recompressed, so the
//! registry's digest is the local one, which [`Registry::push`] checks.

use crate::oci::{self, DOCKER_MANIFEST, Image, OCI_MANIFEST};
use anyhow::{Context, Result, bail};
use std::time::Duration;

/// One repository in one registry.
pub struct Registry {
    /// `http://127.0.0.1:5000` or `https://123456789012.dkr.ecr.eu-west-1.amazonaws.com`.
    pub base_url: String,
    pub repository: String,
    /// The `Authorization` header value, if the registry needs one (ECR: `Basic …`).
    authorization: Option<String>,
    agent: ureq::Agent,
}

/// How a tag may change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TagRule {
    /// A release tag (`X.Y.Z`): once it names a digest, it names it forever.
    Immutable,
    /// A line tag (`X.Y`): follows the newest release of its line, where the registry lets tags move.
    Floating,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TagOutcome {
    Pushed,
    /// The tag already named this digest: nothing to do.
    Unchanged,
    /// A floating tag moved from another digest.
    Moved {
        from: String,
    },
    /// A floating tag the registry would not move (immutable tags); the release tag is in place regardless.
    Kept {
        at: String,
        why: String,
    },
}

impl Registry {
    pub fn new(base_url: &str, repository: &str, authorization: Option<String>) -> Registry {
        Registry {
            base_url: base_url.trim_end_matches('/').to_string(),
            repository: repository.to_string(),
            authorization,
            agent: ureq::Agent::config_builder()
                .http_status_as_error(false)
                .timeout_global(Some(Duration::from_secs(600)))
                .build()
                .into(),
        }
    }

    /// `host:port` or a URL; a bare host is reached over HTTPS unless it is a loopback address.
    pub fn base_url_for(host: &str) -> String {
        if host.starts_with("http://") || host.starts_with("https://") {
            return host.to_string();
        }
        let name = host.split(':').next().unwrap_or_default();
        if name == "localhost" || name.starts_with("127.") || name == "[::1]" {
            format!("http://{host}")
        } else {
            format!("https://{host}")
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}/v2/{}/{path}", self.base_url, self.repository)
    }

    fn with_auth<B>(&self, req: ureq::RequestBuilder<B>) -> ureq::RequestBuilder<B> {
        match &self.authorization {
            Some(a) => req.header("authorization", a),
            None => req,
        }
    }

    fn fail(what: &str, status: u16, body: &str) -> anyhow::Error {
        anyhow::anyhow!(
            "{what}: the registry answered HTTP {status}: {}",
            body.chars().take(500).collect::<String>()
        )
    }

    /// The digest `reference` (a tag or digest) names, or `None` when there is no such manifest.
    pub fn manifest_digest(&self, reference: &str) -> Result<Option<String>> {
        let url = self.url(&format!("manifests/{reference}"));
        let mut response = self
            .with_auth(self.agent.get(&url))
            .header("accept", format!("{OCI_MANIFEST}, {DOCKER_MANIFEST}"))
            .call()
            .with_context(|| format!("reaching {url}"))?;
        let status = response.status().as_u16();
        let body = response.body_mut().read_to_vec().unwrap_or_default();
        match status {
            200 => Ok(Some(
                response
                    .headers()
                    .get("docker-content-digest")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned)
                    .unwrap_or_else(|| oci::sha256_digest(&body)),
            )),
            404 => Ok(None),
            _ => Err(Self::fail(
                &format!("reading manifest {reference}"),
                status,
                &String::from_utf8_lossy(&body),
            )),
        }
    }

    /// The repository's tags (sorted).
    pub fn tags(&self) -> Result<Vec<String>> {
        let url = self.url("tags/list");
        let mut response = self
            .with_auth(self.agent.get(&url))
            .call()
            .with_context(|| format!("reaching {url}"))?;
        let status = response.status().as_u16();
        let body = response.body_mut().read_to_string().unwrap_or_default();
        match status {
            200 => {
                let v: serde_json::Value =
                    serde_json::from_str(&body).context("tag list is not JSON")?;
                let mut tags: Vec<String> = v["tags"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|t| t.as_str().map(str::to_owned))
                    .collect();
                tags.sort();
                Ok(tags)
            }
            404 => Ok(vec![]),
            _ => Err(Self::fail("listing tags", status, &body)),
        }
    }

    fn upload_blob(&self, digest: &str, bytes: &[u8]) -> Result<()> {
        let head = self
            .with_auth(self.agent.head(self.url(&format!("blobs/{digest}"))))
            .call()?;
        if head.status().as_u16() == 200 {
            return Ok(());
        }
        let mut start = self
            .with_auth(self.agent.post(self.url("blobs/uploads/")))
            .send_empty()?;
        let status = start.status().as_u16();
        if status != 202 {
            let body = start.body_mut().read_to_string().unwrap_or_default();
            return Err(Self::fail("starting a blob upload", status, &body));
        }
        let location = start
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .context("the registry gave no upload location")?;
        let location = if location.starts_with('/') {
            format!("{}{location}", self.base_url)
        } else {
            location.to_string()
        };
        let separator = if location.contains('?') { '&' } else { '?' };
        let mut done = self
            .with_auth(
                self.agent
                    .put(format!("{location}{separator}digest={digest}")),
            )
            .header("content-type", "application/octet-stream")
            .send(bytes)?;
        let status = done.status().as_u16();
        if status != 201 {
            let body = done.body_mut().read_to_string().unwrap_or_default();
            return Err(Self::fail(
                &format!("uploading blob {digest}"),
                status,
                &body,
            ));
        }
        Ok(())
    }

    /// PUTs the manifest under `tag`; returns the registry's digest, or its refusal (status, body).
    fn put_manifest(
        &self,
        image: &Image,
        tag: &str,
    ) -> Result<std::result::Result<String, (u16, String)>> {
        let mut response = self
            .with_auth(self.agent.put(self.url(&format!("manifests/{tag}"))))
            .header("content-type", &image.media_type)
            .send(&image.manifest[..])?;
        let status = response.status().as_u16();
        if status != 201 {
            let body = response.body_mut().read_to_string().unwrap_or_default();
            return Ok(Err((status, body)));
        }
        Ok(Ok(response
            .headers()
            .get("docker-content-digest")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
            .unwrap_or_else(|| image.digest.clone())))
    }

    /// Pushes `image` under each tag by its rule, blobs first. An immutable tag that names another digest is
    /// refused before anything is uploaded; one that names this digest is left alone.
    pub fn push(
        &self,
        image: &Image,
        tags: &[(String, TagRule)],
    ) -> Result<Vec<(String, TagOutcome)>> {
        let mut current = Vec::new();
        for (tag, rule) in tags {
            let existing = self.manifest_digest(tag)?;
            if let (TagRule::Immutable, Some(existing)) = (rule, &existing)
                && *existing != image.digest
            {
                bail!(
                    "{}:{tag} already exists as {existing}, not {}: release tags are immutable. Bump the version (`cargo xtask image bump patch`) instead of rebuilding a released one.",
                    self.repository,
                    image.digest
                );
            }
            current.push(existing);
        }
        for (digest, bytes) in &image.blobs {
            self.upload_blob(digest, bytes)?;
        }
        let mut outcomes = Vec::new();
        for ((tag, _), existing) in tags.iter().zip(current) {
            if existing.as_deref() == Some(image.digest.as_str()) {
                outcomes.push((tag.clone(), TagOutcome::Unchanged));
                continue;
            }
            let outcome = match (self.put_manifest(image, tag)?, existing) {
                (Ok(digest), existing) => {
                    if digest != image.digest {
                        bail!(
                            "the registry stored {tag} as {digest}, but the local image is {}: it rewrote the manifest",
                            image.digest
                        );
                    }
                    match existing {
                        None => TagOutcome::Pushed,
                        Some(from) => TagOutcome::Moved { from },
                    }
                }
                (Err((status, body)), Some(at)) => TagOutcome::Kept {
                    at,
                    why: format!(
                        "HTTP {status}: {}",
                        body.chars().take(200).collect::<String>()
                    ),
                },
                (Err((status, body)), None) => {
                    return Err(Self::fail(
                        &format!("pushing manifest {tag}"),
                        status,
                        &body,
                    ));
                }
            };
            outcomes.push((tag.clone(), outcome));
        }
        // Read back what the registry now serves.
        if let Some((tag, _)) = tags.first() {
            let served = self.manifest_digest(tag)?;
            if served.as_deref() != Some(image.digest.as_str()) {
                bail!(
                    "after the push the registry serves {tag} as {served:?}, not {}",
                    image.digest
                );
            }
        }
        Ok(outcomes)
    }
}
