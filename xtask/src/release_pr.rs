//! Commits files a workflow changed (the released digest in `container/image.toml`) to a branch and opens or
//! updates a pull request for it, so a release is recorded by review, never by a push to the default branch.

use crate::git::Git;
use crate::github::{GitHub, PullRequest};
use anyhow::{Result, bail};
use std::path::Path;

pub struct Request<'a> {
    pub repo_dir: &'a Path,
    pub remote: &'a str,
    pub base: &'a str,
    pub branch: &'a str,
    pub title: &'a str,
    pub body: &'a str,
    pub paths: &'a [String],
}

/// `None` when the paths hold no change (nothing to record).
pub fn commit_and_open(req: &Request<'_>, github: Option<&GitHub>) -> Result<Option<PullRequest>> {
    let git = Git::for_github_checkout(req.repo_dir)?;
    let mut status_args = vec!["status", "--porcelain", "--"];
    status_args.extend(req.paths.iter().map(String::as_str));
    if git.run(&status_args)?.is_empty() {
        return Ok(None);
    }
    let head = git.run(&["rev-parse", "HEAD"])?;
    let original_branch = git.try_run(&["symbolic-ref", "--short", "-q", "HEAD"])?;
    let mut add = vec!["add", "--"];
    add.extend(req.paths.iter().map(String::as_str));
    git.run(&add)?;
    // Commit on a branch made from HEAD, leaving the current branch where it was.
    git.run(&["switch", "--quiet", "-C", req.branch])?;
    git.run(&["commit", "--quiet", "-m", req.title])?;
    let pushed = git.run(&[
        "push",
        "--quiet",
        "--force",
        req.remote,
        &format!("HEAD:refs/heads/{}", req.branch),
    ]);
    let back = original_branch.stdout.trim();
    if original_branch.ok && !back.is_empty() {
        git.run(&["switch", "--quiet", back])?;
    } else {
        git.run(&["switch", "--quiet", "--detach", &head])?;
    }
    pushed?;
    match github {
        Some(github) => Ok(Some(
            github
                .open_or_update_pr(req.branch, req.base, req.title, req.body)?
                .0,
        )),
        None => bail!(
            "pushed {} but cannot open a pull request without GITHUB_TOKEN",
            req.branch
        ),
    }
}
