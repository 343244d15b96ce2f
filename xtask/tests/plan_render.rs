//! Golden tests of the pull-request plan comment, on `terraform show -json` / `terraform show -no-color` output
//! of real plans (made by `fixtures/plans/generate.sh`). `UPDATE_GOLDEN=1` rewrites the expected Markdown;
//! review the diff before committing it.

use std::path::PathBuf;
use xtask::plan_render::{GITHUB_COMMENT_LIMIT, marker, render};

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/plans")
}

/// Renders fixture `name` and compares it with `name.md`.
fn golden(name: &str) -> String {
    let dir = fixtures();
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join(format!("{name}.json"))).unwrap())
            .unwrap();
    let text = std::fs::read_to_string(dir.join(format!("{name}.txt"))).unwrap();
    let rendered = render("production", &json, &text).unwrap();
    let expected_path = dir.join(format!("{name}.md"));
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&expected_path, &rendered).unwrap();
    }
    let expected = std::fs::read_to_string(&expected_path).unwrap_or_else(|_| {
        panic!(
            "{} is missing: run with UPDATE_GOLDEN=1",
            expected_path.display()
        )
    });
    assert_eq!(
        rendered, expected,
        "{name}: rendering differs from {name}.md"
    );
    assert!(rendered.starts_with(&marker("production")));
    assert!(rendered.len() <= GITHUB_COMMENT_LIMIT);
    // `terraform show -json` carries sensitive values in clear; the comment never does.
    assert!(
        !rendered.contains("super-secret-value-never-shown"),
        "{name}: sensitive value in the comment"
    );
    rendered
}

#[test]
fn create() {
    let md = golden("create");
    assert!(md.contains("**Plan: 4 to add, 0 to change, 0 to destroy.**"));
    assert!(md.contains("#### Create (4)"));
    assert!(!md.contains("CAUTION"));
    assert!(md.contains("input  = (sensitive value)"));
}

#[test]
fn update() {
    let md = golden("update");
    assert!(md.contains("**Plan: 0 to add, 1 to change, 0 to destroy.**"));
    assert!(md.contains("#### Update in place (1)\n\n- `terraform_data.cluster`"));
    assert!(!md.contains("CAUTION"));
}

#[test]
fn replace_is_a_loud_warning() {
    let md = golden("replace");
    assert!(md.contains("**Plan: 1 to add, 0 to change, 1 to destroy.**"));
    assert!(md.contains("> [!CAUTION]"));
    assert!(md.contains("destroys 0 and replaces 1 resource(s)"));
    assert!(md.contains("#### Replace (destroy, then create) (1)\n\n- `terraform_data.queue`"));
}

#[test]
fn destroy_is_a_loud_warning() {
    let md = golden("destroy");
    assert!(md.contains("**Plan: 0 to add, 0 to change, 1 to destroy.**"));
    assert!(md.contains("> [!CAUTION]"));
    assert!(md.contains("#### Destroy (1)\n\n- `terraform_data.bucket`"));
}

#[test]
fn no_changes_says_so() {
    let md = golden("noop");
    assert!(md.contains("**No changes.**"));
    assert!(!md.contains("Plan:"));
    assert!(!md.contains("####"));
}

#[test]
fn a_huge_plan_is_truncated_under_the_comment_limit() {
    let md = golden("huge");
    let full = std::fs::read_to_string(fixtures().join("huge.txt")).unwrap();
    assert!(full.len() > GITHUB_COMMENT_LIMIT, "fixture is not huge");
    assert!(md.len() <= GITHUB_COMMENT_LIMIT, "{} characters", md.len());
    assert!(md.contains("**Plan: 300 to add, 0 to change, 0 to destroy.**"));
    assert!(md.contains("- … and 200 more"));
    assert!(md.contains("… truncated:"));
    assert!(md.contains("plan artifact"));
    assert!(
        md.trim_end().ends_with("</details>"),
        "details block is closed"
    );
}
