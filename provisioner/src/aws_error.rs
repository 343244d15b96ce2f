//! Turning AWS SDK errors into one-line messages for logs and retryable responses.

use aws_smithy_types::error::display::DisplayErrorContext;

/// The error with its causes ("dispatch failure: io error: connection refused"), on one line. SDK errors
/// carry service messages and codes, never our request payloads.
pub fn describe<E: std::error::Error>(error: &E) -> String {
    DisplayErrorContext(error).to_string().replace('\n', " ")
}
