//! Renders a saved Terraform plan as a Markdown pull-request comment (pure: JSON and text in, Markdown out).
//!
//! Input is `terraform show -json PLAN` (for the resource list) and `terraform show -no-color PLAN` (for the
//! full text, where Terraform already prints `(sensitive value)` for sensitive attributes). The comment starts
//! with a hidden marker so a workflow can find and update its own comment instead of adding one per push.

use serde_json::Value;
use std::fmt::Write;

/// GitHub refuses comments longer than this many characters.
pub const GITHUB_COMMENT_LIMIT: usize = 65_536;
/// Addresses listed per action before "… and N more".
const MAX_LISTED: usize = 100;

/// The hidden marker that identifies the plan comment of `env`.
pub fn marker(env: &str) -> String {
    format!("<!-- ecs-on-demand-worker plan: {env} -->")
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Summary {
    pub create: Vec<String>,
    pub update: Vec<String>,
    pub replace: Vec<String>,
    pub delete: Vec<String>,
}

impl Summary {
    /// Counts as Terraform's own "Plan:" line does: a replacement is one add and one destroy.
    pub fn counts(&self) -> (usize, usize, usize) {
        (
            self.create.len() + self.replace.len(),
            self.update.len(),
            self.delete.len() + self.replace.len(),
        )
    }

    pub fn is_empty(&self) -> bool {
        self.create.is_empty()
            && self.update.is_empty()
            && self.replace.is_empty()
            && self.delete.is_empty()
    }
}

/// Groups `resource_changes` by action. Reads, no-ops and forgets are not changes to infrastructure.
pub fn summarize(plan: &Value) -> Result<Summary, String> {
    let changes = match plan.get("resource_changes") {
        None | Some(Value::Null) => return Ok(Summary::default()),
        Some(Value::Array(changes)) => changes,
        Some(_) => return Err("`resource_changes` is not a list".into()),
    };
    let mut summary = Summary::default();
    for rc in changes {
        let address = rc["address"]
            .as_str()
            .ok_or("a resource change has no address")?
            .to_string();
        let actions: Vec<&str> = rc["change"]["actions"]
            .as_array()
            .ok_or_else(|| format!("{address}: change.actions is missing"))?
            .iter()
            .filter_map(Value::as_str)
            .collect();
        match actions.as_slice() {
            ["create"] => summary.create.push(address),
            ["update"] => summary.update.push(address),
            ["delete"] => summary.delete.push(address),
            ["delete", "create"] | ["create", "delete"] => summary.replace.push(address),
            _ => {} // no-op, read, forget
        }
    }
    Ok(summary)
}

/// The whole comment: marker, headline, warning, grouped resources and the collapsed full plan, at most
/// [`GITHUB_COMMENT_LIMIT`] characters (the plan text is truncated, with a note, when needed).
pub fn render(env: &str, plan: &Value, plan_text: &str) -> Result<String, String> {
    let summary = summarize(plan)?;
    let mut head = String::new();
    let _ = writeln!(head, "{}", marker(env));
    let _ = writeln!(head, "### Terraform plan: `{env}`\n");
    if summary.is_empty() {
        let _ = writeln!(
            head,
            "**No changes.** The infrastructure matches the configuration.\n"
        );
    } else {
        let (add, change, destroy) = summary.counts();
        let _ = writeln!(
            head,
            "**Plan: {add} to add, {change} to change, {destroy} to destroy.**\n"
        );
        let lost = summary.delete.len() + summary.replace.len();
        if lost > 0 {
            let _ = writeln!(
                head,
                "> [!CAUTION]\n> **This plan destroys {} and replaces {} resource(s).** Data they hold may be lost; check the list below before merging.\n",
                summary.delete.len(),
                summary.replace.len()
            );
        }
        for (title, list) in [
            ("Destroy", &summary.delete),
            ("Replace (destroy, then create)", &summary.replace),
            ("Update in place", &summary.update),
            ("Create", &summary.create),
        ] {
            if list.is_empty() {
                continue;
            }
            let _ = writeln!(head, "#### {title} ({})\n", list.len());
            for address in list.iter().take(MAX_LISTED) {
                let _ = writeln!(head, "- `{address}`");
            }
            if list.len() > MAX_LISTED {
                let _ = writeln!(head, "- … and {} more", list.len() - MAX_LISTED);
            }
            head.push('\n');
        }
    }

    let open = "<details><summary>Full plan</summary>\n\n```text\n";
    let close = "```\n</details>\n";
    let text = plan_text.replace("```", "'''");
    let budget = GITHUB_COMMENT_LIMIT.saturating_sub(head.len() + open.len() + close.len() + 200);
    let body = if text.len() <= budget {
        text
    } else {
        let mut cut = budget;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        // End on a whole line.
        let cut = text[..cut].rfind('\n').map(|i| i + 1).unwrap_or(cut);
        format!(
            "{}\n… truncated: {} more characters. The full plan is in the workflow's plan artifact.\n",
            &text[..cut],
            text.len() - cut
        )
    };
    let mut out = head;
    out.push_str(open);
    out.push_str(&body);
    if !out.ends_with('\n') {
        out.push('\n');
    }
    out.push_str(close);
    debug_assert!(out.len() <= GITHUB_COMMENT_LIMIT);
    Ok(out)
}
