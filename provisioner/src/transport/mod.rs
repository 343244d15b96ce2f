//! How requests reach the [`crate::handler::Provisioner`]: API Gateway through the Lambda runtime, or plain
//! HTTP from `provisioner serve`. Both hand the handler the same raw parts and return its reply unchanged.

pub mod lambda;
pub mod serve;

/// Header pairs as the signature check wants them: names as received, values as text (a value that is not
/// UTF-8 cannot be part of a valid signature, and is kept lossily so the lookup still finds it).
pub(crate) fn header_pairs(headers: &http::HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_string(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect()
}

pub(crate) fn now_epoch_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}
