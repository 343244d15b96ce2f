//! `cargo xtask lambda build`: the provisioner as a reproducible Lambda package (`bootstrap` in a zip).
//!
//! Reproducible means: the same commit gives the same SHA-256 from any checkout path. Build paths are
//! remapped (Rust and C), the zip has one entry with a fixed time and mode, and nothing else varies.

use crate::paths;
use anyhow::{Context, Result, bail};
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};
use xshell::{Shell, cmd};

/// Newest glibc symbol version `provided.al2023` offers to a glibc build.
pub const MAX_GLIBC: (u32, u32) = (2, 34);

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Libc {
    /// x86_64-unknown-linux-gnu, checked to need at most GLIBC_2.34.
    Gnu,
    /// x86_64-unknown-linux-musl, fully static (needs `musl-tools` for the C parts).
    Musl,
}

impl Libc {
    fn triple(self) -> &'static str {
        match self {
            Libc::Gnu => "x86_64-unknown-linux-gnu",
            Libc::Musl => "x86_64-unknown-linux-musl",
        }
    }
}

/// Which Lambda function to package.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Function {
    /// `provisioner`: the HTTP API's function (and the reaper's schedule). Kept slim: no Encryption SDK.
    Http,
    /// `provisioner-events`: the EventBridge rule's function, with the AWS Encryption SDK.
    Events,
}

impl Function {
    pub const ALL: [Function; 2] = [Function::Http, Function::Events];

    /// The cargo binary.
    pub fn binary(self) -> &'static str {
        match self {
            Function::Http => "provisioner",
            Function::Events => "provisioner-events",
        }
    }

    fn cargo_features(self) -> &'static [&'static str] {
        match self {
            Function::Http => &[],
            Function::Events => &["--features", "eventbridge"],
        }
    }

    /// The package's file name.
    pub fn zip_name(self) -> &'static str {
        match self {
            Function::Http => "provisioner-lambda.zip",
            Function::Events => "provisioner-events-lambda.zip",
        }
    }

    /// The root module's variable naming the package.
    pub fn terraform_variable(self) -> &'static str {
        match self {
            Function::Http => "lambda_zip_path",
            Function::Events => "events_lambda_zip_path",
        }
    }
}

pub struct Artifact {
    pub zip: PathBuf,
    pub size: u64,
    /// Hex SHA-256 of the zip.
    pub sha256: String,
    /// Base64 SHA-256: what Terraform's `filebase64sha256` and Lambda's `CodeSha256` show.
    pub sha256_base64: String,
}

/// Where a build reads its sources and writes its output.
pub struct BuildDirs {
    /// The checkout to build (the folder holding the workspace `Cargo.toml`).
    pub checkout: PathBuf,
    /// Cargo's target folder for this build; the zip is written inside it.
    pub target_dir: PathBuf,
}

impl BuildDirs {
    /// This checkout, built into `target/lambda`.
    pub fn default_for_this_checkout() -> BuildDirs {
        BuildDirs {
            checkout: paths::workspace_root(),
            target_dir: paths::target_dir().join("lambda"),
        }
    }
}

/// Builds `function`'s release binary and packages it. Tests build other checkouts into other folders.
pub fn build(libc: Libc, function: Function, dirs: &BuildDirs) -> Result<Artifact> {
    let root = dirs.checkout.as_path();
    let target_dir = dirs.target_dir.as_path();
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .context("cannot locate CARGO_HOME")?;
    let remap = |from: &Path, to: &str| format!("{}={to}", from.display());
    let rustflags = format!(
        "--remap-path-prefix={} --remap-path-prefix={} --remap-path-prefix={} -C link-arg=-Wl,--build-id=none",
        remap(root, "/build"),
        remap(&cargo_home, "/cargo"),
        // Last, so it wins inside the checkout too: build scripts' OUT_DIR paths end up in panic messages.
        remap(target_dir, "/target"),
    );
    let cflags = format!(
        "-ffile-prefix-map={} -ffile-prefix-map={} -ffile-prefix-map={}",
        remap(root, "/build"),
        remap(&cargo_home, "/cargo"),
        remap(target_dir, "/target"),
    );
    let triple = libc.triple();
    if libc == Libc::Musl && crate::tools::which("musl-gcc").is_none() {
        bail!(
            "the musl build needs musl-gcc for its C dependencies: install musl-tools (Debian/Ubuntu: apt-get install musl-tools), or build with --libc gnu"
        );
    }
    let sh = crate::process::cargo_shell()?;
    sh.change_dir(root);
    let cc_env = format!("CFLAGS_{}", triple.replace('-', "_"));
    let (bin, features) = (function.binary(), function.cargo_features());
    crate::process::cargo_cmd(cmd!(
        sh,
        "cargo build --release --locked -p provisioner --bin {bin} {features...} --target {triple}"
    ))
    .env("CARGO_TARGET_DIR", target_dir)
    .env("RUSTFLAGS", rustflags)
    .env(cc_env, cflags)
    .env("SOURCE_DATE_EPOCH", "0")
    .run()
    .with_context(|| format!("building {bin} for Lambda"))?;
    let binary = target_dir.join(triple).join("release").join(bin);
    if libc == Libc::Gnu {
        check_glibc(&binary)?;
    }
    let zip = target_dir.join(function.zip_name());
    write_zip(&binary, &zip)?;
    let bytes = std::fs::read(&zip)?;
    let digest = Sha256::digest(&bytes);
    use base64::Engine;
    Ok(Artifact {
        size: bytes.len() as u64,
        sha256: hex::encode(digest),
        sha256_base64: base64::engine::general_purpose::STANDARD.encode(digest),
        zip,
    })
}

/// Packages `binary` as the single entry `bootstrap`, mode 0755, dated 1980-01-01 (the zip epoch).
pub fn write_zip(binary: &Path, zip_path: &Path) -> Result<()> {
    use zip::write::SimpleFileOptions;
    let data = std::fs::read(binary).with_context(|| format!("reading {}", binary.display()))?;
    let tmp = zip_path.with_extension("zip.tmp");
    let mut writer = zip::ZipWriter::new(std::fs::File::create(&tmp)?);
    let options = SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .compression_level(Some(9))
        .last_modified_time(zip::DateTime::default())
        .unix_permissions(0o755);
    writer.start_file("bootstrap", options)?;
    writer.write_all(&data)?;
    writer.finish()?;
    std::fs::rename(&tmp, zip_path)?;
    Ok(())
}

/// The newest `GLIBC_x.y` version a binary requires, from its dynamic symbol versions.
pub fn max_glibc_required(binary: &Path) -> Result<Option<(u32, u32)>> {
    let sh = Shell::new()?;
    let out = cmd!(sh, "readelf --version-info --wide {binary}")
        .read()
        .context("running readelf (install binutils)")?;
    Ok(parse_glibc_versions(&out).into_iter().max())
}

/// Every `GLIBC_x.y[.z]` named in `readelf --version-info` output, as (major, minor).
pub fn parse_glibc_versions(readelf: &str) -> Vec<(u32, u32)> {
    readelf
        .split(|c: char| c.is_whitespace())
        .filter_map(|word| word.strip_prefix("GLIBC_"))
        .filter_map(|v| {
            let mut parts = v.split('.');
            Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
        })
        .collect()
}

fn check_glibc(binary: &Path) -> Result<()> {
    match max_glibc_required(binary)? {
        Some(v) if v > MAX_GLIBC => bail!(
            "{} needs GLIBC_{}.{}, but Lambda's provided.al2023 has GLIBC_{}.{}: build with --libc musl",
            binary.display(),
            v.0,
            v.1,
            MAX_GLIBC.0,
            MAX_GLIBC.1
        ),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glibc_versions_are_read_from_readelf_output() {
        let sample = "  0x0010:   Name: GLIBC_2.2.5  Flags: none  Version: 3\n  0x0020:   Name: GLIBC_2.34  Flags: none\n  Name: GLIBC_PRIVATE\n";
        assert_eq!(parse_glibc_versions(sample), vec![(2, 2), (2, 34)]);
        assert!(parse_glibc_versions(sample).into_iter().max() <= Some(MAX_GLIBC));
        assert!(parse_glibc_versions("Name: GLIBC_2.38").into_iter().max() > Some(MAX_GLIBC));
    }

    #[test]
    fn zip_is_byte_identical_for_identical_input() {
        let dir = std::env::temp_dir().join(format!("xtask-zip-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let bin = dir.join("bin");
        std::fs::write(&bin, b"\x7fELF pretend binary").unwrap();
        write_zip(&bin, &dir.join("a.zip")).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(1100));
        write_zip(&bin, &dir.join("b.zip")).unwrap();
        assert_eq!(
            std::fs::read(dir.join("a.zip")).unwrap(),
            std::fs::read(dir.join("b.zip")).unwrap()
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
