//! `cargo xtask sync-upstream`: keeps a fork in step with the repository it was forked from.
//!
//! If the fork's branch lacks upstream commits, upstream is merged into a branch `sync/upstream-<short-sha>`
//! (in a temporary worktree: the caller's checkout is never touched), pushed, and a pull request is opened or
//! updated. Paths the fork owns (`fork.toml`'s `fork_owned`: its environments, its image version) are kept as
//! the fork has them. When other files conflict, the branch points at upstream's commit instead and the pull
//! request lists the conflicting files and the commands that resolve them. Up to date: nothing happens.

use crate::git::{Git, without_credentials};
use crate::github::{GitHub, PullRequest};
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};

/// The fork's own settings file (repository root).
pub const FORK_SETTINGS: &str = "fork.toml";

#[derive(Debug, Clone)]
pub struct Options {
    /// The fork's checkout.
    pub repo_dir: PathBuf,
    /// Upstream's URL (or path).
    pub upstream: String,
    /// The branch synced, on both sides.
    pub branch: String,
    /// The fork's remote (where the sync branch is pushed).
    pub remote: String,
    /// Path prefixes the fork owns.
    pub fork_owned: Vec<String>,
    /// Merge locally and report, but push nothing and open no pull request.
    pub dry_run: bool,
}

impl Options {
    /// Upstream as messages, commit messages and pull requests name it: never with the credentials a
    /// URL may carry.
    pub fn upstream_shown(&self) -> String {
        without_credentials(&self.upstream)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    UpToDate {
        upstream_sha: String,
    },
    /// Merged cleanly (fork-owned paths kept as the fork had them).
    Merged {
        branch: String,
        upstream_sha: String,
        /// Fork-owned paths upstream changed, kept as the fork has them.
        kept: Vec<String>,
        pr: Option<PullRequest>,
    },
    /// Merging needs a person: these files conflict.
    Conflicts {
        branch: String,
        upstream_sha: String,
        files: Vec<String>,
        pr: Option<PullRequest>,
    },
}

/// `upstream`, `branch` and `fork_owned` from `fork.toml`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForkSettings {
    pub upstream: Option<String>,
    pub branch: String,
    pub fork_owned: Vec<String>,
}

impl ForkSettings {
    /// Parses `fork.toml` strictly: a misplaced or misspelt key would otherwise be ignored in silence, and a
    /// sync would then overwrite settings the fork meant to keep.
    pub fn parse(text: &str) -> Result<ForkSettings> {
        let doc: toml_edit::DocumentMut = text.parse().context("fork.toml is not valid TOML")?;
        for (key, _) in doc.iter() {
            if !["fork_owned", "upstream"].contains(&key) {
                anyhow::bail!(
                    "fork.toml: unknown key `{key}` (expected `fork_owned` and [upstream])"
                );
            }
        }
        let upstream_table = match doc.get("upstream") {
            None => None,
            Some(item) => Some(
                item.as_table_like()
                    .context("fork.toml: `upstream` must be a table ([upstream])")?,
            ),
        };
        if let Some(table) = upstream_table {
            for (key, _) in table.iter() {
                match key {
                    "repository" | "branch" => {}
                    "fork_owned" => anyhow::bail!(
                        "fork.toml: `fork_owned` is inside [upstream]; move it above the [upstream] line \
                         (in TOML, a key after a table header belongs to that table)"
                    ),
                    other => anyhow::bail!(
                        "fork.toml: unknown key `upstream.{other}` (expected `repository` and `branch`)"
                    ),
                }
            }
        }
        let string_in_upstream = |key: &str| -> Result<Option<String>> {
            match upstream_table.and_then(|t| t.get(key)) {
                None => Ok(None),
                Some(v) => v
                    .as_str()
                    .map(|s| Some(s.to_string()))
                    .with_context(|| format!("fork.toml: upstream.{key} must be a string")),
            }
        };
        let upstream = string_in_upstream("repository")?.filter(|r| !r.is_empty());
        let branch = string_in_upstream("branch")?.unwrap_or_else(|| "main".to_string());
        let fork_owned = match doc.get("fork_owned") {
            None => vec![],
            Some(item) => item
                .as_array()
                .context("fork.toml: fork_owned must be a list of paths")?
                .iter()
                .map(|v| {
                    v.as_str()
                        .map(str::to_owned)
                        .context("fork.toml: fork_owned must hold strings")
                })
                .collect::<Result<_>>()?,
        };
        Ok(ForkSettings {
            upstream,
            branch,
            fork_owned,
        })
    }

    pub fn load(repo_dir: &Path) -> Result<ForkSettings> {
        let path = repo_dir.join(FORK_SETTINGS);
        match std::fs::read_to_string(&path) {
            Ok(text) => ForkSettings::parse(&text),
            Err(_) => Ok(ForkSettings {
                upstream: None,
                branch: "main".into(),
                fork_owned: vec![],
            }),
        }
    }
}

fn owned(path: &str, prefixes: &[String]) -> bool {
    prefixes.iter().any(|p| {
        path == p.trim_end_matches('/') || (p.ends_with('/') && path.starts_with(p.as_str()))
    })
}

/// The commands a person runs to finish a conflicting sync.
pub fn resolution_steps(remote: &str, branch: &str, sync_branch: &str) -> String {
    format!(
        "```sh\ngit fetch {remote}\ngit switch -c {sync_branch}-merge {remote}/{branch}\ngit merge {remote}/{sync_branch}\n# resolve the files listed above, then:\ngit add -A && git commit\ngit push {remote} HEAD:{sync_branch}-merge\n```\nthen open a pull request from `{sync_branch}-merge` (or push the merge to `{sync_branch}` itself)."
    )
}

/// Fetches `refspec` from `from` and returns the fetched commit.
fn fetch(git: &Git, from: &str, branch: &str) -> Result<String> {
    git.run(&["fetch", "--quiet", "--no-tags", from, branch])
        .with_context(|| format!("fetching {branch} from {}", without_credentials(from)))?;
    git.run(&["rev-parse", "FETCH_HEAD"])
}

pub fn sync(opts: &Options, github: Option<&GitHub>) -> Result<Outcome> {
    let git = Git::for_github_checkout(&opts.repo_dir)?;
    let upstream_sha = fetch(&git, &opts.upstream, &opts.branch)?;
    let base = fetch(&git, &opts.remote, &opts.branch)?;
    if git
        .try_run(&["merge-base", "--is-ancestor", &upstream_sha, &base])?
        .ok
    {
        return Ok(Outcome::UpToDate { upstream_sha });
    }
    let short = &upstream_sha[..12];
    let sync_branch = format!("sync/upstream-{short}");

    // A worktree of our own, so the caller's checkout and index stay as they are.
    let worktree = std::env::temp_dir().join(format!("odw-sync-{}-{short}", std::process::id()));
    let _ = std::fs::remove_dir_all(&worktree);
    git.run(&[
        "worktree",
        "add",
        "--detach",
        worktree.to_str().context("temp path is not UTF-8")?,
        &base,
    ])?;
    let result = merge_in(&git, &worktree, opts, &upstream_sha, &base, &sync_branch);
    let _ = git.try_run(&[
        "worktree",
        "remove",
        "--force",
        worktree.to_str().unwrap_or_default(),
    ]);
    let _ = std::fs::remove_dir_all(&worktree);
    let mut outcome = result?;

    if opts.dry_run {
        return Ok(outcome);
    }
    let upstream_shown = opts.upstream_shown();
    let (title, body) = match &outcome {
        Outcome::Merged { kept, .. } => (
            format!("Sync with upstream ({short})"),
            format!(
                "Merges upstream `{}` {} at {upstream_sha} into `{}`.\n\n{}\n\nOpened by `cargo xtask sync-upstream`.",
                upstream_shown,
                opts.branch,
                opts.branch,
                if kept.is_empty() {
                    "No fork-owned settings were touched upstream.".to_string()
                } else {
                    format!(
                        "Kept as this fork has them (fork-owned, changed upstream):\n{}",
                        kept.iter()
                            .map(|p| format!("- `{p}`"))
                            .collect::<Vec<_>>()
                            .join("\n")
                    )
                }
            ),
        ),
        Outcome::Conflicts { files, .. } => (
            format!("Sync with upstream ({short}): merge conflicts to resolve"),
            format!(
                "Upstream `{}` {} at {upstream_sha} does not merge cleanly into `{}`. This branch points at upstream's commit.\n\nConflicting files:\n{}\n\nTo resolve:\n\n{}\n\nOpened by `cargo xtask sync-upstream`.",
                upstream_shown,
                opts.branch,
                opts.branch,
                files
                    .iter()
                    .map(|p| format!("- `{p}`"))
                    .collect::<Vec<_>>()
                    .join("\n"),
                resolution_steps(&opts.remote, &opts.branch, &sync_branch)
            ),
        ),
        Outcome::UpToDate { .. } => unreachable!("handled above"),
    };
    if let Some(github) = github {
        let (pr, _) = github.open_or_update_pr(&sync_branch, &opts.branch, &title, &body)?;
        match &mut outcome {
            Outcome::Merged { pr: slot, .. } | Outcome::Conflicts { pr: slot, .. } => {
                *slot = Some(pr)
            }
            Outcome::UpToDate { .. } => {}
        }
    }
    Ok(outcome)
}

/// Merges `upstream_sha` into `base` in `worktree`, keeping fork-owned paths, and pushes the result (unless a
/// dry run) to `sync_branch`.
fn merge_in(
    git: &Git,
    worktree: &Path,
    opts: &Options,
    upstream_sha: &str,
    base: &str,
    sync_branch: &str,
) -> Result<Outcome> {
    let wt = git.in_dir(worktree);
    let merge_base = wt.run(&["merge-base", base, upstream_sha])?;
    let changed_upstream = wt.lines(&["diff", "--name-only", &merge_base, upstream_sha])?;
    let merged = wt.try_run(&["merge", "--no-ff", "--no-commit", upstream_sha])?;
    let conflicted = wt.lines(&["diff", "--name-only", "--diff-filter=U"])?;
    if !merged.ok && conflicted.is_empty() {
        anyhow::bail!("git merge failed: {}{}", merged.stderr, merged.stdout);
    }
    // Fork-owned paths: the fork's version wins, conflicting or not.
    let mut kept = Vec::new();
    for path in changed_upstream
        .iter()
        .filter(|p| owned(p, &opts.fork_owned))
    {
        let in_base = wt
            .try_run(&["cat-file", "-e", &format!("{base}:{path}")])?
            .ok;
        if in_base {
            wt.run(&["checkout", base, "--", path])?;
        } else if conflicted.contains(path) {
            wt.run(&["rm", "--quiet", "--", path])?;
        } else {
            continue; // new upstream file in a fork-owned folder: take it
        }
        kept.push(path.clone());
    }
    let remaining: Vec<String> = wt.lines(&["diff", "--name-only", "--diff-filter=U"])?;
    // The sync branch may already hold this sync: pushed by an earlier run (the weekly schedule), perhaps
    // with a person's merge on top. It is left as it is; force-pushing would wipe that work.
    let already_synced = |contains: &[&str]| -> Result<bool> {
        let remote_ref = format!("refs/heads/{sync_branch}");
        let listed = git.run(&["ls-remote", &opts.remote, &remote_ref])?;
        let Some(remote_sha) = listed.split_whitespace().next().map(str::to_owned) else {
            return Ok(false);
        };
        git.run(&["fetch", "--quiet", "--no-tags", &opts.remote, &remote_ref])?;
        for commit in contains {
            if !git
                .try_run(&["merge-base", "--is-ancestor", commit, &remote_sha])?
                .ok
            {
                return Ok(false);
            }
        }
        Ok(true)
    };
    let push = |what: &str, contains: &[&str]| -> Result<()> {
        if opts.dry_run || already_synced(contains)? {
            return Ok(());
        }
        git.run(&[
            "push",
            "--quiet",
            "--force",
            &opts.remote,
            &format!("{what}:refs/heads/{sync_branch}"),
        ])
        .map(|_| ())
        .with_context(|| format!("pushing {sync_branch} to {}", opts.remote))
    };
    if !remaining.is_empty() {
        wt.run(&["merge", "--abort"])?;
        push(upstream_sha, &[upstream_sha])?;
        return Ok(Outcome::Conflicts {
            branch: sync_branch.to_string(),
            upstream_sha: upstream_sha.to_string(),
            files: remaining,
            pr: None,
        });
    }
    wt.run(&[
        "commit",
        "--quiet",
        "--no-edit",
        "-m",
        &format!(
            "Merge upstream {} ({} {})",
            &upstream_sha[..12],
            opts.upstream_shown(),
            opts.branch
        ),
    ])?;
    let merge_commit = wt.run(&["rev-parse", "HEAD"])?;
    push(&merge_commit, &[upstream_sha, base])?;
    Ok(Outcome::Merged {
        branch: sync_branch.to_string(),
        upstream_sha: upstream_sha.to_string(),
        kept,
        pr: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fork_owned_paths_match_files_and_folders() {
        let owned_paths = vec![
            "fork.toml".to_string(),
            "terraform/environments/".to_string(),
        ];
        assert!(owned("fork.toml", &owned_paths));
        assert!(owned(
            "terraform/environments/production.tfvars",
            &owned_paths
        ));
        assert!(!owned("terraform/environments.tf", &owned_paths));
        assert!(!owned("fork.toml.bak", &owned_paths));
        assert!(!owned("README.md", &owned_paths));
    }

    #[test]
    fn settings_parse_with_defaults() {
        let s = ForkSettings::parse(
            "fork_owned = [\"fork.toml\"]\n[upstream]\nrepository = \"https://github.com/o/r.git\"\n",
        )
        .unwrap();
        assert_eq!(s.upstream.as_deref(), Some("https://github.com/o/r.git"));
        assert_eq!(s.branch, "main");
        assert_eq!(s.fork_owned, ["fork.toml"]);
        assert!(ForkSettings::parse("fork_owned = 3").is_err());
        // A key after [upstream] belongs to it: refused with the fix, never silently ignored.
        let misplaced =
            ForkSettings::parse("[upstream]\nrepository = \"r\"\nfork_owned = [\"a\"]\n")
                .unwrap_err()
                .to_string();
        assert!(
            misplaced.contains("move it above the [upstream] line"),
            "{misplaced}"
        );
        assert!(ForkSettings::parse("fork_ownd = []").is_err());
        assert!(ForkSettings::parse("[upstream]\nbranch = 1\n").is_err());
        assert!(ForkSettings::parse("[upstream]\nrepo = \"r\"\n").is_err());
        assert_eq!(ForkSettings::parse("").unwrap().upstream, None);
    }
}
