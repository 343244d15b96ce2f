//! Metrics as CloudWatch Embedded Metric Format (EMF) lines: one JSON object per event on stdout, which
//! CloudWatch Logs turns into metrics of namespace [`NAMESPACE`] without a single extra API call (and so
//! without a PutMetricData permission, or a failure path of its own).
//!
//! Lines are written only when logs are JSON (on Lambda, by default); locally they would be noise.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

pub const NAMESPACE: &str = "EcsOnDemandWorker";
/// The one dimension: which deployment the figure is about (several may share an account).
pub const DIMENSION: &str = "Deployment";

/// What is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    /// A start launched a new task.
    WorkersStarted,
    /// A start found the run's task already there (a retry or replay): nothing launched.
    DuplicateStarts,
    /// A start failed with a retryable error (AWS, capacity).
    StartFailures,
    /// Tasks stopped by a Control Room `stop`.
    WorkersStopped,
    /// Tasks stopped by the reaper (past their deadline, or stuck waiting for capacity).
    WorkersReaped,
    /// Requests answered 403.
    RejectedSignatures,
    /// Requests answered 400.
    InvalidRequests,
    /// EventBridge worker requests that cannot be acted on (malformed, undecryptable): sent to the DLQ.
    RejectedEvents,
}

impl Metric {
    pub fn name(self) -> &'static str {
        match self {
            Metric::WorkersStarted => "WorkersStarted",
            Metric::DuplicateStarts => "DuplicateStarts",
            Metric::StartFailures => "StartFailures",
            Metric::WorkersStopped => "WorkersStopped",
            Metric::WorkersReaped => "WorkersReaped",
            Metric::RejectedSignatures => "RejectedSignatures",
            Metric::InvalidRequests => "InvalidRequests",
            Metric::RejectedEvents => "RejectedEvents",
        }
    }
}

static ENABLED: AtomicBool = AtomicBool::new(false);

/// Turns EMF output on or off for the process (on with JSON logs).
pub fn enable(on: bool) {
    ENABLED.store(on, Ordering::Relaxed);
}

/// The EMF document for `count` of `metric` at `timestamp_ms`.
pub fn emf_line(deployment: &str, metric: Metric, count: u64, timestamp_ms: i64) -> String {
    let mut doc = serde_json::json!({
        "_aws": {
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [[DIMENSION]],
                "Metrics": [{"Name": metric.name(), "Unit": "Count"}],
            }],
        },
        DIMENSION: deployment,
    });
    doc[metric.name()] = count.into();
    doc.to_string()
}

/// Records `count` of `metric` (a no-op unless enabled, or when `count` is 0).
pub fn record(deployment: &str, metric: Metric, count: u64) {
    if count == 0 || !ENABLED.load(Ordering::Relaxed) {
        return;
    }
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default();
    let line = emf_line(deployment, metric, count, now_ms);
    // One write per line, so concurrent requests never interleave within a document.
    let _ = writeln!(std::io::stdout().lock(), "{line}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emf_document_declares_its_metric_and_dimension() {
        let line = emf_line("odw-prod", Metric::StartFailures, 2, 1_788_000_000_000);
        let doc: serde_json::Value = serde_json::from_str(&line).unwrap();
        let declared = &doc["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(declared["Namespace"], NAMESPACE);
        assert_eq!(declared["Dimensions"][0][0], DIMENSION);
        assert_eq!(declared["Metrics"][0]["Name"], "StartFailures");
        assert_eq!(doc["StartFailures"], 2);
        assert_eq!(doc[DIMENSION], "odw-prod");
        assert_eq!(doc["_aws"]["Timestamp"], 1_788_000_000_000_i64);
        assert!(!line.contains('\n'));
    }
}
