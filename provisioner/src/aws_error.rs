//! Turning AWS SDK errors into one-line messages for logs and retryable responses.

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

/// "Code: message" for a service error, the cause chain for a transport failure, on one line. The raw
/// response is left out: it is long, and says nothing an operator needs.
pub fn describe<E, R>(error: &SdkError<E, R>) -> String
where
    E: std::error::Error + ProvideErrorMetadata + 'static,
    R: std::fmt::Debug,
{
    let text = match error {
        SdkError::ServiceError(se) => {
            let e = se.err();
            match (e.code(), e.message()) {
                (Some(code), Some(message)) => format!("{code}: {message}"),
                (Some(code), None) => code.to_string(),
                _ => DisplayErrorContext(e).to_string(),
            }
        }
        SdkError::TimeoutError(_) => "timed out".to_string(),
        SdkError::DispatchFailure(d) => match d.as_connector_error() {
            Some(c) if c.is_timeout() => "timed out connecting".to_string(),
            Some(c) => format!("could not reach AWS: {}", DisplayErrorContext(c)),
            None => "could not send the request".to_string(),
        },
        SdkError::ResponseError(_) => "unreadable response from AWS".to_string(),
        other => DisplayErrorContext(other).to_string(),
    };
    text.replace('\n', " ")
}
