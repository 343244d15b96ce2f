//! One line per step with its duration, so a user sees where time goes.

use std::time::Instant;

pub struct Step {
    name: String,
    started: Instant,
}

/// Starts a step: prints `==> name…` now and `    done in 1.2s` when [`Step::done`] is called.
pub fn step(name: impl Into<String>) -> Step {
    let name = name.into();
    eprintln!("==> {name}");
    Step {
        name,
        started: Instant::now(),
    }
}

impl Step {
    pub fn done(self) {
        self.done_with("");
    }

    pub fn done_with(self, detail: &str) {
        let secs = self.started.elapsed().as_secs_f64();
        if detail.is_empty() {
            eprintln!("    {} ({secs:.1}s)", self.name);
        } else {
            eprintln!("    {} ({secs:.1}s): {detail}", self.name);
        }
    }
}
