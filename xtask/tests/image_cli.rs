//! `cargo xtask image` as a user meets it, through the real binary.

use std::process::Command;

#[test]
fn image_build_without_any_builder_says_what_to_install() {
    let empty = std::env::temp_dir().join(format!("xtask-empty-path-{}", std::process::id()));
    std::fs::create_dir_all(&empty).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["image", "build"])
        .env("PATH", &empty)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("no image builder found"), "{stderr}");
    assert!(stderr.contains("apt-get install buildah"), "{stderr}");
    std::fs::remove_dir_all(&empty).unwrap();
}

#[test]
fn image_set_refuses_a_downgrade_and_leaves_the_file_alone() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../container/image.toml");
    let before = std::fs::read_to_string(&path).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["image", "set", "0.0.1"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("versions only go up"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), before);
}
