//! `cargo xtask image {build,push,bump,set}`: the worker image, built reproducibly into an OCI archive and
//! pushed byte for byte.
//!
//! Reproducible means the same commit gives the same manifest digest: `SOURCE_DATE_EPOCH` is the commit time
//! of the last change to the build context, every layer's file times are rewritten to it, and the base image
//! and packages are pinned (see `container/Dockerfile`). Builders: `docker buildx` where a Docker engine runs
//! (GitHub's runners), else `buildah` (daemonless: chroot isolation, vfs storage in a folder of its own).

use crate::image_version::ImageFile;
use crate::oci::Image;
use crate::registry::{Registry, TagOutcome, TagRule};
use crate::{paths, tools};
use anyhow::{Context, Result, bail};
use semver::Version;
use std::path::{Path, PathBuf};
use std::process::Command;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Builder {
    /// `docker buildx build --output type=oci,rewrite-timestamp=true` (needs a running engine).
    Docker,
    /// `buildah build --timestamp` with chroot isolation and vfs storage (no daemon, no root daemon).
    Buildah,
}

fn succeeds(program: &str, args: &[&str]) -> bool {
    tools::which(program).is_some()
        && Command::new(program)
            .args(args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
}

/// The builder to use: the one asked for (if it works here), else docker buildx with a running engine,
/// else buildah.
pub fn choose_builder(requested: Option<Builder>) -> Result<Builder> {
    let docker = || succeeds("docker", &["buildx", "version"]) && succeeds("docker", &["info"]);
    let buildah = || tools::which("buildah").is_some();
    match requested {
        Some(Builder::Docker) if !docker() => bail!(
            "--builder docker needs `docker buildx` and a running Docker engine (`docker info` must work)"
        ),
        Some(Builder::Buildah) if !buildah() => {
            bail!("--builder buildah needs buildah (Debian/Ubuntu: `apt-get install buildah`)")
        }
        Some(b) => Ok(b),
        None if docker() => Ok(Builder::Docker),
        None if buildah() => Ok(Builder::Buildah),
        None => bail!(
            "no image builder found: install buildah (Debian/Ubuntu: `apt-get install buildah`; no daemon needed), or Docker with buildx and a running engine"
        ),
    }
}

/// The commit time (Unix seconds) of the last commit touching `dir`: the build's `SOURCE_DATE_EPOCH`.
pub fn source_date_epoch(dir: &Path) -> Result<i64> {
    let out = Command::new("git")
        .args(["log", "-1", "--format=%ct", "--"])
        .arg(dir)
        .current_dir(dir)
        .output()
        .context("running git log")?;
    let text = String::from_utf8_lossy(&out.stdout);
    match text.trim().parse() {
        Ok(t) if out.status.success() => Ok(t),
        _ => bail!(
            "{} has no commit yet: commit it first (the image's timestamps come from its last commit)",
            dir.display()
        ),
    }
}

pub struct BuildRequest<'a> {
    pub context: &'a Path,
    pub tag: &'a str,
    pub build_args: Vec<(String, String)>,
    pub source_date_epoch: i64,
    /// The OCI archive to write.
    pub out: &'a Path,
    /// buildah's storage for this build (a fresh folder builds from scratch).
    pub storage: &'a Path,
}

fn run(cmd: &mut Command, what: &str) -> Result<()> {
    let status = cmd.status().with_context(|| format!("starting {what}"))?;
    if !status.success() {
        bail!("{what} failed ({status})");
    }
    Ok(())
}

/// Builds `req.context/Dockerfile` into the OCI archive `req.out`; returns the image read back from it.
pub fn build(builder: Builder, req: &BuildRequest<'_>) -> Result<Image> {
    if let Some(parent) = req.out.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let _ = std::fs::remove_file(req.out);
    let epoch = req.source_date_epoch.to_string();
    let mut args: Vec<String> = Vec::new();
    for (k, v) in &req.build_args {
        args.push("--build-arg".into());
        args.push(format!("{k}={v}"));
    }
    match builder {
        Builder::Buildah => {
            let storage = |cmd: &mut Command| {
                cmd.arg("--root")
                    .arg(req.storage.join("root"))
                    .arg("--runroot")
                    .arg(req.storage.join("run"))
                    .args(["--storage-driver", "vfs"]);
            };
            let mut build = Command::new("buildah");
            storage(&mut build);
            build
                .args(["build", "--isolation", "chroot", "--timestamp", &epoch])
                .args(["--tag", req.tag])
                .args(&args)
                .arg("--file")
                .arg(req.context.join("Dockerfile"))
                .arg(req.context)
                .env("SOURCE_DATE_EPOCH", &epoch);
            run(&mut build, "buildah build")?;
            let mut push = Command::new("buildah");
            storage(&mut push);
            push.args(["push", "--quiet", "--format", "oci", req.tag])
                .arg(format!("oci-archive:{}", req.out.display()));
            run(&mut push, "buildah push (to the OCI archive)")?;
        }
        Builder::Docker => {
            let mut build = Command::new("docker");
            build
                .args(["buildx", "build", "--tag", req.tag])
                .args(["--build-arg", &format!("SOURCE_DATE_EPOCH={epoch}")])
                .args(&args)
                .arg("--output")
                .arg(format!(
                    "type=oci,dest={},rewrite-timestamp=true",
                    req.out.display()
                ))
                .arg("--file")
                .arg(req.context.join("Dockerfile"))
                .arg(req.context)
                .env("SOURCE_DATE_EPOCH", &epoch);
            run(&mut build, "docker buildx build")?;
        }
    }
    Image::from_archive(req.out)
}

/// Where `image build` leaves the worker image of `version`.
pub fn archive_path(version: &Version) -> PathBuf {
    paths::target_dir()
        .join("image")
        .join(format!("worker-{version}.oci.tar"))
}

pub fn read_image_file() -> Result<ImageFile> {
    let path = paths::workspace_root().join(crate::image_version::PATH);
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    Ok(ImageFile::parse(&text)?)
}

pub fn write_image_file(file: &ImageFile) -> Result<()> {
    let path = paths::workspace_root().join(crate::image_version::PATH);
    std::fs::write(&path, file.render()).with_context(|| format!("writing {}", path.display()))
}

/// Builds the worker image (`container/`) of the tracked version.
pub fn build_worker(builder: Option<Builder>) -> Result<(Image, PathBuf)> {
    let builder = choose_builder(builder)?;
    let file = read_image_file()?;
    let d = &file.downloads;
    for (key, sum) in [
        ("agent_sha256", &d.agent_sha256),
        ("rcc_sha256", &d.rcc_sha256),
    ] {
        if sum.is_empty() {
            bail!(
                "{} [downloads] {key} is empty: the image verifies every download against its SHA-256; fill it in (the sum of the vendor's file for the pinned version) before building",
                crate::image_version::PATH
            );
        }
    }
    let context = paths::workspace_root().join("container");
    let out = archive_path(&file.version);
    let storage = paths::target_dir().join("image").join("buildah-storage");
    let image = build(
        builder,
        &BuildRequest {
            context: &context,
            tag: &format!("ecs-on-demand-worker:{}", file.version),
            build_args: vec![
                ("AGENT_VERSION".into(), d.agent_version.clone()),
                ("AGENT_SHA256".into(), d.agent_sha256.clone()),
                ("RCC_VERSION".into(), d.rcc_version.clone()),
                ("RCC_SHA256".into(), d.rcc_sha256.clone()),
            ],
            source_date_epoch: source_date_epoch(&context)?,
            out: &out,
            storage: &storage,
        },
    )?;
    Ok((image, out))
}

/// The tags a release of `version` gets: `X.Y.Z` (immutable), and `X.Y` when it is the newest release of
/// its line among `released`.
pub fn release_tags(version: &Version, released: &[Version]) -> Vec<(String, TagRule)> {
    let mut tags = vec![(version.to_string(), TagRule::Immutable)];
    let newest_of_line = released
        .iter()
        .filter(|v| v.major == version.major && v.minor == version.minor)
        .all(|v| v <= version);
    if version.pre.is_empty() && newest_of_line {
        tags.push((
            format!("{}.{}", version.major, version.minor),
            TagRule::Floating,
        ));
    }
    tags
}

/// Prints what happened to each tag.
pub fn describe_outcomes(repository: &str, outcomes: &[(String, TagOutcome)]) {
    for (tag, outcome) in outcomes {
        match outcome {
            TagOutcome::Pushed => println!("  {repository}:{tag}: pushed"),
            TagOutcome::Unchanged => println!("  {repository}:{tag}: already there, unchanged"),
            TagOutcome::Moved { from } => println!("  {repository}:{tag}: moved (was {from})"),
            TagOutcome::Kept { at, why } => println!(
                "  {repository}:{tag}: left at {at}: the registry would not move it ({why})"
            ),
        }
    }
}

/// Records the pushed tags in ECR's control plane (`PutImage` with the manifest and its digest), for an
/// ECR whose registry endpoint is elsewhere (the emulator's has none). Already recorded is fine.
pub async fn record_in_ecr(
    ecr: &aws_sdk_ecr::Client,
    repository: &str,
    image: &Image,
    tags: &[String],
) -> Result<()> {
    let manifest =
        String::from_utf8(image.manifest.clone()).context("the manifest is not UTF-8")?;
    for tag in tags {
        let result = ecr
            .put_image()
            .repository_name(repository)
            .image_manifest(&manifest)
            .image_manifest_media_type(&image.media_type)
            .image_digest(&image.digest)
            .image_tag(tag)
            .send()
            .await;
        match result {
            Ok(_) => {}
            Err(e)
                if e.as_service_error()
                    .is_some_and(|se| se.is_image_already_exists_exception()) => {}
            Err(e) => {
                return Err(anyhow::anyhow!(provisioner::aws_error::describe(&e)))
                    .with_context(|| format!("recording {repository}:{tag} in ECR"));
            }
        }
    }
    Ok(())
}

/// The digest ECR records for `repository:tag`.
pub async fn ecr_digest(
    ecr: &aws_sdk_ecr::Client,
    repository: &str,
    tag: &str,
) -> Result<Option<String>> {
    let out = ecr
        .describe_images()
        .repository_name(repository)
        .image_ids(
            aws_sdk_ecr::types::ImageIdentifier::builder()
                .image_tag(tag)
                .build(),
        )
        .send()
        .await;
    match out {
        Ok(out) => Ok(out
            .image_details()
            .first()
            .and_then(|d| d.image_digest())
            .map(str::to_owned)),
        Err(e)
            if e.as_service_error()
                .is_some_and(|se| se.is_image_not_found_exception()) =>
        {
            Ok(None)
        }
        Err(e) => Err(anyhow::anyhow!(provisioner::aws_error::describe(&e)))
            .with_context(|| format!("describing {repository}:{tag}")),
    }
}

/// A registry client for the ECR registry of the caller's account, from an authorization token.
pub async fn ecr_registry(ecr: &aws_sdk_ecr::Client, repository: &str) -> Result<Registry> {
    let out = ecr
        .get_authorization_token()
        .send()
        .await
        .map_err(|e| anyhow::anyhow!(provisioner::aws_error::describe(&e)))
        .context("getting an ECR authorization token")?;
    let data = out
        .authorization_data()
        .first()
        .context("ECR returned no authorization data")?;
    let token = data
        .authorization_token()
        .context("no authorization token")?;
    let endpoint = data.proxy_endpoint().context("no registry endpoint")?;
    Ok(Registry::new(
        endpoint,
        repository,
        Some(format!("Basic {token}")),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Version {
        Version::parse(s).unwrap()
    }

    #[test]
    fn the_line_tag_follows_the_newest_release_of_its_line_only() {
        let tags = |version: &str, released: &[&str]| -> Vec<String> {
            release_tags(
                &v(version),
                &released.iter().map(|r| v(r)).collect::<Vec<_>>(),
            )
            .into_iter()
            .map(|(t, _)| t)
            .collect()
        };
        assert_eq!(tags("1.4.2", &["1.4.1", "1.3.9"]), ["1.4.2", "1.4"]);
        assert_eq!(tags("1.4.2", &[]), ["1.4.2", "1.4"]);
        // Re-pushing an older patch never drags the line tag back.
        assert_eq!(tags("1.4.1", &["1.4.2"]), ["1.4.1"]);
        assert_eq!(tags("2.0.0-rc.1", &[]), ["2.0.0-rc.1"]);
        assert_eq!(release_tags(&v("1.0.0"), &[])[0].1, TagRule::Immutable);
    }
}
