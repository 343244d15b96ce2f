//! The image pipeline with real tools, offline: buildah builds a fixture image twice from scratch storage
//! (same manifest digest), Debian's docker-registry receives it byte for byte (tags and digest read back
//! over the registry API), a second push is a no-op, a different image under a released version is refused,
//! and the tag is recorded in the emulator's ECR with the real digest.

use e2e::*;
use semver::Version;
use std::path::{Path, PathBuf};
use std::time::Instant;
use xtask::image::{self, BuildRequest, Builder};
use xtask::local_registry::LocalRegistry;
use xtask::registry::{Registry, TagOutcome};
use xtask::system_packages::{self, BUILDAH};

const EPOCH: i64 = 1_700_000_000;

fn fixture() -> PathBuf {
    xtask::paths::workspace_root().join("tests/fixtures/image")
}

fn build(context: &Path, storage: &Path, out: &Path) -> xtask::oci::Image {
    let started = Instant::now();
    let image = image::build(
        Builder::Buildah,
        &BuildRequest {
            context,
            tag: "odw-fixture:test",
            build_args: vec![],
            source_date_epoch: EPOCH,
            out,
            storage,
        },
    )
    .unwrap_or_else(|e| panic!("build failed: {e:#}"));
    eprintln!("built {} in {:?}", image.digest, started.elapsed());
    image
}

#[tokio::test(flavor = "multi_thread")]
async fn fixture_image_builds_reproducibly_pushes_verified_and_is_recorded_in_ecr() {
    system_packages::ensure(&[BUILDAH]).unwrap();
    let dir = scratch_dir("image");
    let a = build(&fixture(), &dir.join("storage-a"), &dir.join("a.oci.tar"));
    let b = build(&fixture(), &dir.join("storage-b"), &dir.join("b.oci.tar"));
    assert_eq!(a.digest, b.digest, "two clean builds differ");
    assert_eq!(a.blobs, b.blobs);
    assert!(a.digest.starts_with("sha256:") && a.digest.len() == 71);
    // The build's epoch comes from git: the fixture folder has a commit time.
    assert!(image::source_date_epoch(&fixture()).unwrap() > 1_600_000_000);

    let registry = LocalRegistry::start(&dir.join("registry")).unwrap();
    let repo = Registry::new(
        &Registry::base_url_for(&registry.host),
        "odw-local-worker",
        None,
    );
    let v1 = Version::new(1, 0, 0);
    let tags = image::release_tags(&v1, &[]);
    let started = Instant::now();
    let outcomes = repo.push(&a, &tags).unwrap();
    eprintln!("pushed in {:?}", started.elapsed());
    assert_eq!(
        outcomes,
        vec![
            ("1.0.0".to_string(), TagOutcome::Pushed),
            ("1.0".to_string(), TagOutcome::Pushed)
        ]
    );
    assert_eq!(repo.tags().unwrap(), ["1.0", "1.0.0"]);
    for tag in ["1.0.0", "1.0"] {
        assert_eq!(
            repo.manifest_digest(tag).unwrap().as_deref(),
            Some(a.digest.as_str())
        );
    }
    assert_eq!(repo.manifest_digest("9.9.9").unwrap(), None);

    // The same image again: nothing to do.
    let again = repo.push(&b, &tags).unwrap();
    assert!(
        again.iter().all(|(_, o)| *o == TagOutcome::Unchanged),
        "{again:?}"
    );

    // A different image under the released version is refused, and changes nothing.
    let changed_context = dir.join("changed");
    std::fs::create_dir_all(&changed_context).unwrap();
    std::fs::copy(
        fixture().join("Dockerfile"),
        changed_context.join("Dockerfile"),
    )
    .unwrap();
    std::fs::write(changed_context.join("hello.txt"), "a different image\n").unwrap();
    let c = build(
        &changed_context,
        &dir.join("storage-c"),
        &dir.join("c.oci.tar"),
    );
    assert_ne!(c.digest, a.digest);
    let refused = repo.push(&c, &tags).unwrap_err().to_string();
    assert!(
        refused.contains("immutable") && refused.contains("1.0.0"),
        "{refused}"
    );
    assert_eq!(
        repo.manifest_digest("1.0.0").unwrap().as_deref(),
        Some(a.digest.as_str())
    );
    // Released as the next patch, it moves the line tag along.
    let v2 = Version::new(1, 0, 1);
    let outcomes = repo
        .push(&c, &image::release_tags(&v2, std::slice::from_ref(&v1)))
        .unwrap();
    assert_eq!(
        outcomes,
        vec![
            ("1.0.1".to_string(), TagOutcome::Pushed),
            (
                "1.0".to_string(),
                TagOutcome::Moved {
                    from: a.digest.clone()
                }
            )
        ]
    );

    // The emulator's ECR has only the control plane: the tag is recorded there with the real digest.
    let moto = start_moto(&dir);
    let sdk = sdk(&moto).await;
    let ecr = aws_sdk_ecr::Client::new(&sdk);
    ecr.create_repository()
        .repository_name("odw-local-worker")
        .image_tag_mutability(aws_sdk_ecr::types::ImageTagMutability::Immutable)
        .send()
        .await
        .unwrap();
    let names = vec!["1.0.0".to_string()];
    image::record_in_ecr(&ecr, "odw-local-worker", &a, &names)
        .await
        .unwrap();
    image::record_in_ecr(&ecr, "odw-local-worker", &a, &names)
        .await
        .expect("recording the same image again is fine");
    assert_eq!(
        image::ecr_digest(&ecr, "odw-local-worker", "1.0.0")
            .await
            .unwrap()
            .as_deref(),
        Some(a.digest.as_str())
    );
    assert_eq!(
        image::ecr_digest(&ecr, "odw-local-worker", "7.7.7")
            .await
            .unwrap(),
        None
    );
}
