//! The Control Room on-demand worker protocol: pure logic, no I/O.
//!
//! [`signature`] checks the HMAC over the raw request parts; [`command`] parses the JSON body into a typed,
//! validated [`Command`]; [`admission`] puts them together in the order a request is judged. Both are deterministic functions of their inputs (the server clock is passed in), so
//! they are unit-tested against the independent signer's vectors and fuzzed without any AWS.

pub mod admission;
pub mod command;
pub mod signature;

pub use admission::{Refusal, WORKER_REQUEST_PATH, admit, precheck};
pub use command::{Command, CommandError, Ids, LinkToken, StartRequest, validate_id};
pub use signature::{RawRequest, SignatureError, sign, verify};

/// Largest request body accepted. Real commands are a few hundred bytes; the cap bounds the work an
/// unauthenticated caller can make us do (hashing, JSON parsing).
pub const MAX_BODY_BYTES: usize = 64 * 1024;
