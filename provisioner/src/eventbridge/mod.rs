//! The EventBridge transport: Control Room's "On-Demand Worker Request" events, delivered by an EventBridge
//! rule to their own Lambda function (`provisioner-events`).
//!
//! - [`request`] (always built, pure): the event's shape, its validation, the link token in the plaintext;
//! - [`payload`] (feature `eventbridge`): decryption with the AWS Encryption SDK, which is heavy, so the HTTP
//!   Lambda never carries it;
//! - this module (feature `eventbridge`): one event from parsing to a launched worker, with the same launcher,
//!   and so the same idempotency, as an HTTP `start`.
//!
//! Failures split in two. An event that cannot ever be acted on (malformed, undecryptable, plain text not
//! allowed) is logged without secrets and sent to the dead-letter queue at once: retrying it would change
//! nothing. A failure on AWS's side (configuration, ECS) fails the invocation, so Lambda's asynchronous
//! retries deliver it again, and only then the dead-letter queue.

pub mod request;

#[cfg(feature = "eventbridge")]
pub mod payload;

#[cfg(feature = "eventbridge")]
pub use handling::*;

#[cfg(feature = "eventbridge")]
mod handling {
    use super::payload::PayloadDecryptor;
    use super::request::{EventError, TokenSource, WorkerRequest, redacted};
    use crate::handler::Provisioner;
    use crate::launcher::StartOutcome;
    use crate::metrics::{self, Metric};
    use crate::protocol::{LinkToken, StartRequest};
    use aws_sdk_sqs::types::MessageAttributeValue;
    use serde_json::{Value, json};
    use tracing::{Instrument, error, info, info_span, warn};

    /// What became of an event that was handled (whatever the outcome, nothing is gained by a retry).
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub enum EventOutcome {
        /// Launched, or a redelivered event whose run already has (or had) its worker.
        Started(StartOutcome),
        /// Cannot be acted on; sent to the dead-letter queue.
        Rejected { error: EventError },
    }

    /// The EventBridge side of the provisioner: the shared [`Provisioner`], the Encryption SDK clients and
    /// the dead-letter queue.
    pub struct EventHandler {
        provisioner: std::sync::Arc<Provisioner>,
        decryptor: PayloadDecryptor,
        sqs: aws_sdk_sqs::Client,
    }

    impl EventHandler {
        pub fn new(
            provisioner: std::sync::Arc<Provisioner>,
            sdk: &aws_config::SdkConfig,
        ) -> Result<EventHandler, String> {
            Ok(EventHandler {
                provisioner,
                decryptor: PayloadDecryptor::new()?,
                sqs: aws_sdk_sqs::Client::new(sdk),
            })
        }

        /// Handles one event: `Ok` with a summary when it needs no retry (launched, already running, or
        /// rejected and parked in the dead-letter queue); `Err` when it is worth delivering again.
        pub async fn handle(&self, event: &Value, request_id: &str) -> Result<Value, String> {
            let span = info_span!(
                "event",
                request_id,
                event_id = tracing::field::Empty,
                runtime_id = tracing::field::Empty
            );
            async {
                match self.outcome(event).await {
                    Ok(EventOutcome::Started(outcome)) => Ok(outcome.answer()),
                    Ok(EventOutcome::Rejected { error }) => {
                        warn!(reason = error.kind(), error = %error, "event rejected");
                        metrics::record(self.provisioner.deployment(), Metric::RejectedEvents, 1);
                        self.dead_letter(event, &error).await?;
                        Ok(json!({"status": "REJECTED", "reason": error.kind(),
                                  "message": error.to_string()}))
                    }
                    Err(message) => {
                        error!(error = %message, "event failed; Lambda will deliver it again");
                        Err(message)
                    }
                }
            }
            .instrument(span)
            .await
        }

        /// Parses, decrypts and launches. `Err` only for what a retry may fix.
        pub async fn outcome(&self, event: &Value) -> Result<EventOutcome, String> {
            let provisioner = &self.provisioner;
            let store = provisioner.config.as_ref().map_err(|e| e.to_string())?;
            let settings = store.settings();
            let request = match WorkerRequest::parse(event, settings.allow_plaintext_link_tokens) {
                Ok(request) => request,
                Err(error) => return Ok(EventOutcome::Rejected { error }),
            };
            let span = tracing::Span::current();
            span.record("event_id", request.event_id.as_str());
            span.record("runtime_id", request.ids.runtime_id.as_str());
            let mut loaded = store.get().await.map_err(|e| e.to_string())?;
            let link_token: LinkToken = match &request.token {
                TokenSource::Plaintext(token) => {
                    warn!(
                        "accepted a plain-text link token (Control Room development mode; PROVISIONER_ALLOW_PLAINTEXT_LINK_TOKENS=true)"
                    );
                    token.clone()
                }
                TokenSource::Encrypted(message) => {
                    let mut opened = self
                        .decryptor
                        .link_token(message, loaded.secrets.as_slice())
                        .await;
                    // The secret may have been rotated since it was cached: reload once, as HTTP does.
                    if opened == Err(EventError::Undecryptable)
                        && let Some(fresh) = store
                            .reload_if_stale(&loaded)
                            .await
                            .map_err(|e| e.to_string())?
                    {
                        opened = self
                            .decryptor
                            .link_token(message, fresh.secrets.as_slice())
                            .await;
                        loaded = fresh;
                    }
                    match opened {
                        Ok(token) => token,
                        Err(error) => return Ok(EventOutcome::Rejected { error }),
                    }
                }
            };
            info!("worker request decrypted");
            let start = StartRequest {
                ids: request.ids,
                link_token,
                max_lifetime_seconds: None,
            };
            provisioner
                .start_worker(&loaded.cluster, settings, &start)
                .await
                .map(EventOutcome::Started)
                .map_err(|e| e.to_string())
        }

        /// Parks a rejected event in the dead-letter queue, with why (a plain-text link token is redacted
        /// first). Without a queue, or if sending fails, the invocation fails instead, so Lambda's own
        /// retries and dead-letter queue keep the event.
        async fn dead_letter(&self, event: &Value, error: &EventError) -> Result<(), String> {
            let store = self
                .provisioner
                .config
                .as_ref()
                .map_err(|e| e.to_string())?;
            let url = store
                .settings()
                .dead_letter_queue_url
                .as_deref()
                .ok_or_else(|| {
                    format!(
                        "event rejected ({error}), and {} is not set to keep it",
                        crate::config::ENV_DEAD_LETTER_QUEUE_URL
                    )
                })?;
            let body = json!({"reason": error.kind(), "message": error.to_string(),
                              "event": redacted(event)});
            let attribute = |value: &str| {
                MessageAttributeValue::builder()
                    .data_type("String")
                    .string_value(value)
                    .build()
                    .expect("data type is set")
            };
            self.sqs
                .send_message()
                .queue_url(url)
                .message_body(body.to_string())
                .message_attributes("odw-reason", attribute(error.kind()))
                .send()
                .await
                .map_err(|e| {
                    format!(
                        "event rejected ({error}), and sending it to the dead-letter queue failed: {}",
                        crate::aws_error::describe(&e)
                    )
                })?;
            info!(queue = url, "rejected event sent to the dead-letter queue");
            Ok(())
        }
    }
}
