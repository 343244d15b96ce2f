//! Running `git` in a repository, with errors that quote what git said.

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::Command;

#[derive(Clone)]
pub struct Git {
    pub dir: PathBuf,
    /// Extra `-c key=value` settings for every call (identity).
    config: Vec<String>,
    /// Settings passed through the environment (`GIT_CONFIG_KEY_n`), so that credentials never appear in a
    /// process's arguments.
    secret_config: Vec<(String, String)>,
}

/// What a git call printed, and whether it succeeded.
pub struct Output {
    pub ok: bool,
    pub stdout: String,
    pub stderr: String,
}

impl Git {
    pub fn new(dir: &Path) -> Git {
        Git {
            dir: dir.to_path_buf(),
            config: Vec::new(),
            secret_config: Vec::new(),
        }
    }

    /// Adds `-c key=value` to every later call.
    pub fn with_config(mut self, key: &str, value: &str) -> Git {
        self.config.push(format!("{key}={value}"));
        self
    }

    /// Adds a setting that must not show in process listings (an authorization header).
    pub fn with_secret_config(mut self, key: &str, value: &str) -> Git {
        self.secret_config
            .push((key.to_string(), value.to_string()));
        self
    }

    /// The same settings, in another directory (a worktree).
    pub fn in_dir(&self, dir: &Path) -> Git {
        Git {
            dir: dir.to_path_buf(),
            ..self.clone()
        }
    }

    /// Git in the fork's checkout, with a commit identity when none is configured (CI runners have none) and,
    /// with `GITHUB_TOKEN` set, the token for github.com remotes (passed through the environment, as
    /// actions/checkout would, but without leaving it in the checkout's config).
    pub fn for_github_checkout(repo_dir: &Path) -> Result<Git> {
        // The fork's own hooks do not run on our automated merges and commits: they would see the token.
        let mut git = Git::new(repo_dir).with_config("core.hooksPath", "/dev/null");
        if !git.try_run(&["config", "user.email"])?.ok {
            git = git
                .with_config("user.name", "ecs-on-demand-worker sync")
                .with_config("user.email", "sync@ecs-on-demand-worker.invalid");
        }
        if let Ok(token) = std::env::var("GITHUB_TOKEN")
            && !token.is_empty()
        {
            use base64::Engine;
            let basic =
                base64::engine::general_purpose::STANDARD.encode(format!("x-access-token:{token}"));
            git = git.with_secret_config(
                "http.https://github.com/.extraheader",
                &format!("AUTHORIZATION: basic {basic}"),
            );
        }
        Ok(git)
    }

    /// Runs git; any exit status is an answer.
    pub fn try_run(&self, args: &[&str]) -> Result<Output> {
        let mut cmd = Command::new("git");
        for c in &self.config {
            cmd.arg("-c").arg(c);
        }
        if !self.secret_config.is_empty() {
            cmd.env("GIT_CONFIG_COUNT", self.secret_config.len().to_string());
            for (i, (k, v)) in self.secret_config.iter().enumerate() {
                cmd.env(format!("GIT_CONFIG_KEY_{i}"), k)
                    .env(format!("GIT_CONFIG_VALUE_{i}"), v);
            }
        }
        let out = cmd
            .args(args)
            .current_dir(&self.dir)
            .env("GIT_TERMINAL_PROMPT", "0")
            .output()
            .context("running git (is it installed?)")?;
        Ok(Output {
            ok: out.status.success(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        })
    }

    /// Runs git and returns its trimmed stdout; fails with git's own message.
    pub fn run(&self, args: &[&str]) -> Result<String> {
        let out = self.try_run(args)?;
        if !out.ok {
            // A URL argument may carry a token (https://user:token@host/…): errors never show it.
            let shown: Vec<String> = args.iter().map(|a| without_credentials(a)).collect();
            bail!(
                "git {} failed: {}{}",
                shown.join(" "),
                out.stderr.trim(),
                out.stdout.trim()
            );
        }
        Ok(out.stdout.trim().to_string())
    }

    /// Lines of stdout, empty ones dropped.
    pub fn lines(&self, args: &[&str]) -> Result<Vec<String>> {
        Ok(self
            .run(args)?
            .lines()
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect())
    }
}

/// `url` without any credentials in it (`https://user:token@host/…` → `https://host/…`), for messages.
pub fn without_credentials(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let authority_end = rest.find('/').unwrap_or(rest.len());
            match rest[..authority_end].rfind('@') {
                Some(at) => format!("{scheme}://{}", &rest[at + 1..]),
                None => url.to_string(),
            }
        }
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_git_call_does_not_show_the_token_in_its_url() {
        let dir = std::env::temp_dir().join(format!("odw-git-creds-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let git = Git::new(&dir);
        git.run(&["init", "--quiet"]).unwrap();
        // Nothing listens on port 9 (discard): the fetch fails at once.
        let err = git
            .run(&[
                "fetch",
                "https://x-access-token:sekret-42@127.0.0.1:9/o/r.git",
                "main",
            ])
            .unwrap_err()
            .to_string();
        let _ = std::fs::remove_dir_all(&dir);
        assert!(err.contains("https://127.0.0.1:9/o/r.git"), "{err}");
        assert!(!err.contains("sekret-42"), "{err}");
    }

    #[test]
    fn credentials_never_reach_messages() {
        assert_eq!(
            without_credentials("https://x-access-token:ghp_abc@github.com/o/r.git"),
            "https://github.com/o/r.git"
        );
        assert_eq!(
            without_credentials("https://github.com/o/r.git"),
            "https://github.com/o/r.git"
        );
        assert_eq!(
            without_credentials("https://github.com/o/r@v1.git"),
            "https://github.com/o/r@v1.git"
        );
        assert_eq!(without_credentials("/srv/git/up.git"), "/srv/git/up.git");
    }
}
