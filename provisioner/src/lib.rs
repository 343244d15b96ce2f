//! The provisioner that Robocorp Control Room calls to start, stop and check on-demand workers: it verifies
//! each HMAC-signed request and runs one ECS task per robot run.
//!
//! - [`protocol`]: pure signature check and command parsing (DESIGN.md §3);
//! - [`config`]: where the shared secret and cluster configuration live (environment variables listed there);
//! - [`launcher`]: the ECS side (task definition, RunTask/StopTask/ListTasks);
//! - [`reaper`]: stops workers past their deadline or stuck waiting for capacity;
//! - [`metrics`]: CloudWatch Embedded Metric Format lines;
//! - [`handler`]: the transport-independent request handler;
//! - [`eventbridge`]: Control Room's EventBridge worker requests (decryption behind the `eventbridge` feature);
//! - [`transport`]: the Lambda entry and the local `serve` HTTP server.

pub mod aws_error;
pub mod config;
pub mod eventbridge;
pub mod handler;
pub mod launcher;
pub mod logging;
pub mod metrics;
pub mod protocol;
pub mod reaper;
pub mod transport;

pub use handler::{Provisioner, Reply};
