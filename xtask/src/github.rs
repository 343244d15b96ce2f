//! The one place xtask talks to GitHub: a small REST client for pull requests and their comments.
//!
//! The token comes from `GITHUB_TOKEN`, the API from `GITHUB_API_URL` (GitHub Actions sets both; tests point
//! the URL at a local server), the repository from `GITHUB_REPOSITORY` (`owner/name`) unless given.

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};
use std::time::Duration;

pub const DEFAULT_API: &str = "https://api.github.com";

pub struct GitHub {
    api: String,
    token: String,
    /// `owner/name`.
    pub repository: String,
    agent: ureq::Agent,
}

/// An open pull request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullRequest {
    pub number: u64,
    pub url: String,
}

impl GitHub {
    pub fn new(api: &str, token: &str, repository: &str) -> Result<GitHub> {
        if repository.split('/').count() != 2
            || repository.starts_with('/')
            || repository.ends_with('/')
        {
            bail!("GitHub repository {repository:?} is not of the form owner/name");
        }
        Ok(GitHub {
            api: api.trim_end_matches('/').to_string(),
            token: token.to_string(),
            repository: repository.to_string(),
            agent: ureq::Agent::config_builder()
                .http_status_as_error(false)
                .timeout_global(Some(Duration::from_secs(60)))
                .build()
                .into(),
        })
    }

    /// From `GITHUB_TOKEN`, `GITHUB_API_URL` and `GITHUB_REPOSITORY` (or `repository`).
    pub fn from_env(repository: Option<&str>) -> Result<GitHub> {
        let token = std::env::var("GITHUB_TOKEN")
            .ok()
            .filter(|t| !t.is_empty())
            .context("GITHUB_TOKEN is not set: it is needed to open or update pull requests and comments")?;
        let api = std::env::var("GITHUB_API_URL").unwrap_or_else(|_| DEFAULT_API.to_string());
        let repository = match repository {
            Some(r) => r.to_string(),
            None => std::env::var("GITHUB_REPOSITORY")
                .context("GITHUB_REPOSITORY (owner/name) is not set")?,
        };
        GitHub::new(&api, &token, &repository)
    }

    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value> {
        let url = format!("{}/repos/{}/{path}", self.api, self.repository);
        let auth = format!("Bearer {}", self.token);
        let with_headers = |req: ureq::RequestBuilder<ureq::typestate::WithoutBody>| {
            req.header("authorization", &auth)
                .header("accept", "application/vnd.github+json")
                .header("x-github-api-version", "2022-11-28")
                .header("user-agent", "ecs-on-demand-worker-xtask")
        };
        let with_body = |req: ureq::RequestBuilder<ureq::typestate::WithBody>| {
            req.header("authorization", &auth)
                .header("accept", "application/vnd.github+json")
                .header("x-github-api-version", "2022-11-28")
                .header("user-agent", "ecs-on-demand-worker-xtask")
                .header("content-type", "application/json")
        };
        let payload = body.unwrap_or(Value::Null).to_string();
        let response = match method {
            "GET" => with_headers(self.agent.get(&url)).call(),
            "POST" => with_body(self.agent.post(&url)).send(payload.as_bytes()),
            "PATCH" => with_body(self.agent.patch(&url)).send(payload.as_bytes()),
            _ => bail!("unsupported method {method}"),
        };
        let mut response = response.with_context(|| format!("{method} {url}"))?;
        let status = response.status().as_u16();
        let text = response.body_mut().read_to_string().unwrap_or_default();
        if !(200..300).contains(&status) {
            bail!(
                "GitHub answered {method} {path} with HTTP {status}: {}",
                text.chars().take(400).collect::<String>()
            );
        }
        Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    fn owner(&self) -> &str {
        self.repository.split('/').next().unwrap_or_default()
    }

    /// The open pull request from `head` (a branch of this repository), if any.
    pub fn find_open_pr(&self, head: &str) -> Result<Option<PullRequest>> {
        let list = self.call(
            "GET",
            &format!("pulls?state=open&head={}:{head}", self.owner()),
            None,
        )?;
        Ok(list
            .as_array()
            .and_then(|prs| prs.first())
            .map(|pr| PullRequest {
                number: pr["number"].as_u64().unwrap_or_default(),
                url: pr["html_url"].as_str().unwrap_or_default().to_string(),
            }))
    }

    /// Opens a pull request from `head` into `base`, or updates the title and body of the one already open.
    pub fn open_or_update_pr(
        &self,
        head: &str,
        base: &str,
        title: &str,
        body: &str,
    ) -> Result<(PullRequest, bool)> {
        if let Some(pr) = self.find_open_pr(head)? {
            self.call(
                "PATCH",
                &format!("pulls/{}", pr.number),
                Some(json!({"title": title, "body": body})),
            )?;
            return Ok((pr, false));
        }
        let pr = self.call(
            "POST",
            "pulls",
            Some(json!({"title": title, "head": head, "base": base, "body": body, "maintainer_can_modify": true})),
        )?;
        Ok((
            PullRequest {
                number: pr["number"]
                    .as_u64()
                    .context("GitHub returned no pull request number")?,
                url: pr["html_url"].as_str().unwrap_or_default().to_string(),
            },
            true,
        ))
    }

    /// Creates the comment on issue or pull request `number` that starts with `marker`, or updates it if
    /// it exists: one sticky comment instead of one per push. Returns whether it was created.
    pub fn upsert_comment(&self, number: u64, marker: &str, body: &str) -> Result<bool> {
        let mut page = 1;
        loop {
            let comments = self.call(
                "GET",
                &format!("issues/{number}/comments?per_page=100&page={page}"),
                None,
            )?;
            let comments = comments.as_array().cloned().unwrap_or_default();
            if let Some(existing) = comments
                .iter()
                .find(|c| c["body"].as_str().is_some_and(|b| b.starts_with(marker)))
            {
                let id = existing["id"].as_u64().context("comment without an id")?;
                self.call(
                    "PATCH",
                    &format!("issues/comments/{id}"),
                    Some(json!({"body": body})),
                )?;
                return Ok(false);
            }
            if comments.len() < 100 {
                break;
            }
            page += 1;
        }
        self.call(
            "POST",
            &format!("issues/{number}/comments"),
            Some(json!({"body": body})),
        )?;
        Ok(true)
    }
}
