//! `cargo xtask lambda build` is reproducible: two checkouts of the same sources at different paths (and of
//! different lengths) build into byte-identical Lambda packages. That is what makes a no-op deploy a no-op:
//! Terraform's `source_code_hash` does not move when nothing changed.
//!
//! This is the slowest test: two full release builds with LTO, each in its own target folder, as two CI runs
//! on two clones would do. One is this checkout's own `cargo xtask lambda build` (target/lambda), the other a
//! copy of the sources under a longer path.

use e2e::scratch_dir;
use std::path::Path;
use xtask::lambda_build::{self, BuildDirs, Function, Libc};

/// Copies the checkout's sources (not `target/`, `.git` or Terraform working folders).
fn copy_sources(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        if [".git", "target", ".terraform"].contains(&name.to_str().unwrap_or_default()) {
            continue;
        }
        let (src, dst) = (entry.path(), to.join(&name));
        if entry.file_type().unwrap().is_dir() {
            copy_sources(&src, &dst);
        } else {
            std::fs::copy(&src, &dst).unwrap();
        }
    }
}

#[test]
fn two_checkouts_at_different_paths_build_identical_packages() {
    let root = xtask::paths::workspace_root();
    let scratch = scratch_dir("repro");
    let copy = scratch
        .join("a-much-longer-checkout-path")
        .join("ecs-on-demand-worker");
    copy_sources(&root, &copy);
    let copy_dirs = BuildDirs {
        checkout: copy.clone(),
        target_dir: copy.join("target").join("lambda"),
    };
    let mut hashes = Vec::new();
    for dirs in [BuildDirs::default_for_this_checkout(), copy_dirs] {
        let checkout = dirs.checkout.display().to_string();
        let artifact = lambda_build::build(Libc::Gnu, Function::Http, &dirs)
            .unwrap_or_else(|e| panic!("build in {checkout} failed: {e:#}"));
        eprintln!(
            "{checkout}: {} bytes, sha256 {}",
            artifact.size, artifact.sha256
        );
        // The package holds no trace of where it was built.
        let binary = std::fs::read(
            dirs.target_dir
                .join("x86_64-unknown-linux-gnu/release/provisioner"),
        )
        .unwrap();
        for path in [checkout.as_str(), root.to_str().unwrap()] {
            assert!(
                !binary.windows(path.len()).any(|w| w == path.as_bytes()),
                "the binary contains the build path {path}"
            );
        }
        assert!(
            artifact.size < 4 * 1024 * 1024,
            "zip is {} bytes",
            artifact.size
        );
        hashes.push(artifact.sha256);
    }
    assert_eq!(hashes[0], hashes[1], "the two builds differ");
    std::fs::remove_dir_all(&scratch).unwrap();
}
