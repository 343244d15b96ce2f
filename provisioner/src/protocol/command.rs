//! The JSON commands Control Room sends, parsed into a typed, validated [`Command`].
//!
//! Parsing goes through [`serde_json::Value`] and hand-written checks rather than a derived `Deserialize`:
//! serde's messages quote the offending value, and the offending value may be a link token.

use serde_json::{Map, Value};
use std::fmt;

/// Longest workspace or runtime id accepted. Ids end up in ECS tags and worker names.
pub const MAX_ID_LEN: usize = 64;
/// Longest link token accepted (Control Room's are ~50 characters).
pub const MAX_LINK_TOKEN_LEN: usize = 4096;

/// A command from Control Room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Start(StartRequest),
    Stop(Ids),
    Status,
}

impl Command {
    pub fn name(&self) -> &'static str {
        match self {
            Command::Start(_) => "start",
            Command::Stop(_) => "stop",
            Command::Status => "status",
        }
    }

    /// The ids this command is about, if any (for logs).
    pub fn ids(&self) -> Option<&Ids> {
        match self {
            Command::Start(s) => Some(&s.ids),
            Command::Stop(ids) => Some(ids),
            Command::Status => None,
        }
    }
}

/// Which robot run a command is about. Both ids are validated: non-empty, at most [`MAX_ID_LEN`] characters
/// of `[A-Za-z0-9._-]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Ids {
    pub workspace_id: String,
    pub runtime_id: String,
}

impl Ids {
    /// The worker's name in Control Room, as the seed named it.
    pub fn worker_name(&self) -> String {
        format!("ws{}/worker{}", self.workspace_id, self.runtime_id)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartRequest {
    pub ids: Ids,
    pub link_token: LinkToken,
    pub max_lifetime_seconds: Option<u64>,
}

/// The one-time token a worker links with. A secret: its `Debug` and `Display` never show it.
#[derive(Clone, PartialEq, Eq)]
pub struct LinkToken(String);

impl LinkToken {
    pub fn new(token: String) -> Result<Self, CommandError> {
        if token.is_empty() {
            return Err(CommandError::InvalidLinkToken("is empty"));
        }
        if token.len() > MAX_LINK_TOKEN_LEN {
            return Err(CommandError::InvalidLinkToken("is longer than 4096 bytes"));
        }
        if token.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err(CommandError::InvalidLinkToken(
                "contains whitespace or control characters",
            ));
        }
        Ok(LinkToken(token))
    }

    /// The token itself, for the one place that needs it: the container's environment.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for LinkToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LinkToken(<redacted>)")
    }
}

/// Why a body is not a valid command. Answered 400; messages never quote field values except a short,
/// sanitised unknown `type`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    #[error("request body is empty")]
    EmptyBody,
    #[error("request body is not valid JSON ({0})")]
    InvalidJson(String),
    #[error("request body must be a JSON object")]
    NotAnObject,
    #[error("field \"type\" is missing")]
    MissingType,
    #[error("request not recognised: unknown type {0} (expected start, stop or status)")]
    UnknownType(String),
    #[error("field \"{0}\" is missing")]
    MissingField(&'static str),
    #[error("field \"{field}\" must be {expected}")]
    WrongType {
        field: &'static str,
        expected: &'static str,
    },
    #[error("field \"{field}\" {reason}")]
    InvalidId {
        field: &'static str,
        reason: &'static str,
    },
    #[error("field \"runtimeLinkToken\" {0}")]
    InvalidLinkToken(&'static str),
    #[error("field \"maxLifetimeSeconds\" must be a whole number of seconds from 1 to {max}")]
    InvalidLifetime { max: u64 },
}

/// Upper bound for `maxLifetimeSeconds` at parse time (a week); the launcher applies the deployment's own,
/// lower bound.
pub const MAX_LIFETIME_SECONDS_ACCEPTED: u64 = 7 * 24 * 3600;

impl Command {
    /// Parses and validates a command body.
    pub fn parse(body: &[u8]) -> Result<Command, CommandError> {
        if body.iter().all(u8::is_ascii_whitespace) {
            return Err(CommandError::EmptyBody);
        }
        let value: Value = serde_json::from_slice(body).map_err(|e| {
            // Only the position: serde's message may quote input.
            CommandError::InvalidJson(format!("line {} column {}", e.line(), e.column()))
        })?;
        let obj = value.as_object().ok_or(CommandError::NotAnObject)?;
        let kind = match obj.get("type") {
            None | Some(Value::Null) => return Err(CommandError::MissingType),
            Some(Value::String(s)) => s.as_str(),
            Some(_) => {
                return Err(CommandError::WrongType {
                    field: "type",
                    expected: "a string",
                });
            }
        };
        match kind {
            "status" => Ok(Command::Status),
            "stop" => Ok(Command::Stop(ids(obj)?)),
            "start" => {
                let ids = ids(obj)?;
                let link_token = LinkToken::new(string_field(obj, "runtimeLinkToken")?.to_owned())?;
                let max_lifetime_seconds = match obj.get("maxLifetimeSeconds") {
                    None | Some(Value::Null) => None,
                    Some(v) => Some(
                        v.as_u64()
                            .filter(|s| (1..=MAX_LIFETIME_SECONDS_ACCEPTED).contains(s))
                            .ok_or(CommandError::InvalidLifetime {
                                max: MAX_LIFETIME_SECONDS_ACCEPTED,
                            })?,
                    ),
                };
                Ok(Command::Start(StartRequest {
                    ids,
                    link_token,
                    max_lifetime_seconds,
                }))
            }
            other => Err(CommandError::UnknownType(describe_unknown(other))),
        }
    }
}

/// An unknown `type` is quoted only when it is short and plain, like a misspelt command ("strat"): a longer
/// value could be anything a caller put there, a link token included (real ones are ~50 characters).
const MAX_QUOTED_TYPE_LEN: usize = 16;

fn describe_unknown(kind: &str) -> String {
    let printable = kind.len() <= MAX_QUOTED_TYPE_LEN
        && kind
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
    if printable {
        format!("\"{kind}\"")
    } else {
        "(not shown)".to_string()
    }
}

fn string_field<'a>(
    obj: &'a Map<String, Value>,
    field: &'static str,
) -> Result<&'a str, CommandError> {
    match obj.get(field) {
        None | Some(Value::Null) => Err(CommandError::MissingField(field)),
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(CommandError::WrongType {
            field,
            expected: "a string",
        }),
    }
}

fn ids(obj: &Map<String, Value>) -> Result<Ids, CommandError> {
    Ok(Ids {
        workspace_id: id_field(obj, "workspaceId")?,
        runtime_id: id_field(obj, "runtimeId")?,
    })
}

fn id_field(obj: &Map<String, Value>, field: &'static str) -> Result<String, CommandError> {
    validate_id(field, string_field(obj, field)?)
}

/// Checks one id (`field` names it in the error): non-empty, at most [`MAX_ID_LEN`] characters of
/// `[A-Za-z0-9._-]`. Shared by every transport, since ids end up in ECS tags and worker names.
pub fn validate_id(field: &'static str, id: &str) -> Result<String, CommandError> {
    let reason = if id.is_empty() {
        "is empty"
    } else if id.len() > MAX_ID_LEN {
        "is longer than 64 characters"
    } else if !id
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
    {
        "may contain only letters, digits, '.', '_' and '-'"
    } else {
        return Ok(id.to_owned());
    };
    Err(CommandError::InvalidId { field, reason })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Command, CommandError> {
        Command::parse(s.as_bytes())
    }

    #[test]
    fn parses_the_three_commands() {
        assert_eq!(parse(r#"{"type":"status"}"#), Ok(Command::Status));
        assert_eq!(
            parse(r#"{"type":"stop","workspaceId":"ws-1","runtimeId":"r.2_x"}"#),
            Ok(Command::Stop(Ids {
                workspace_id: "ws-1".into(),
                runtime_id: "r.2_x".into()
            }))
        );
        let start = parse(
            r#"{"type":"start","workspaceId":"w","runtimeId":"r","runtimeLinkToken":"tok","maxLifetimeSeconds":60,"extra":1}"#,
        )
        .unwrap();
        let Command::Start(s) = start else { panic!() };
        assert_eq!(s.link_token.expose(), "tok");
        assert_eq!(s.max_lifetime_seconds, Some(60));
        assert_eq!(s.ids.worker_name(), "wsw/workerr");
    }

    #[test]
    fn rejects_malformed_bodies() {
        assert_eq!(parse(""), Err(CommandError::EmptyBody));
        assert_eq!(parse("  \n"), Err(CommandError::EmptyBody));
        assert!(matches!(parse("{"), Err(CommandError::InvalidJson(_))));
        assert_eq!(parse("[1]"), Err(CommandError::NotAnObject));
        assert_eq!(parse("{}"), Err(CommandError::MissingType));
        assert_eq!(
            parse(r#"{"type":1}"#),
            Err(CommandError::WrongType {
                field: "type",
                expected: "a string"
            })
        );
        assert_eq!(
            parse(r#"{"type":"START"}"#),
            Err(CommandError::UnknownType("\"START\"".into()))
        );
        assert_eq!(
            parse(r#"{"type":"<script>"}"#),
            Err(CommandError::UnknownType("(not shown)".into()))
        );
        assert_eq!(
            parse(r#"{"type":"aAaAAAAaa0a0aA0a0aAaAAAa"}"#),
            Err(CommandError::UnknownType("(not shown)".into()))
        );
    }

    #[test]
    fn rejects_missing_and_mistyped_fields() {
        assert_eq!(
            parse(r#"{"type":"stop","runtimeId":"r"}"#),
            Err(CommandError::MissingField("workspaceId"))
        );
        assert_eq!(
            parse(r#"{"type":"stop","workspaceId":"w"}"#),
            Err(CommandError::MissingField("runtimeId"))
        );
        assert_eq!(
            parse(r#"{"type":"stop","workspaceId":7,"runtimeId":"r"}"#),
            Err(CommandError::WrongType {
                field: "workspaceId",
                expected: "a string"
            })
        );
        assert_eq!(
            parse(r#"{"type":"start","workspaceId":"w","runtimeId":"r"}"#),
            Err(CommandError::MissingField("runtimeLinkToken"))
        );
        assert_eq!(
            parse(r#"{"type":"start","workspaceId":"w","runtimeId":"r","runtimeLinkToken":""}"#),
            Err(CommandError::InvalidLinkToken("is empty"))
        );
        for bad in ["0", "-1", "1.5", "\"60\"", "604801"] {
            let body = format!(
                r#"{{"type":"start","workspaceId":"w","runtimeId":"r","runtimeLinkToken":"t","maxLifetimeSeconds":{bad}}}"#
            );
            assert!(
                matches!(parse(&body), Err(CommandError::InvalidLifetime { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn ids_are_bounded_and_safe() {
        let long = "a".repeat(65);
        for (id, reason) in [
            ("", "is empty"),
            (long.as_str(), "is longer than 64 characters"),
            ("a/b", "may contain only letters, digits, '.', '_' and '-'"),
            ("a b", "may contain only letters, digits, '.', '_' and '-'"),
            ("é", "may contain only letters, digits, '.', '_' and '-'"),
        ] {
            let body = format!(r#"{{"type":"stop","workspaceId":"w","runtimeId":"{id}"}}"#);
            assert_eq!(
                parse(&body),
                Err(CommandError::InvalidId {
                    field: "runtimeId",
                    reason
                }),
                "{id}"
            );
        }
        let ok = "a".repeat(64);
        assert!(
            parse(&format!(
                r#"{{"type":"stop","workspaceId":"w","runtimeId":"{ok}"}}"#
            ))
            .is_ok()
        );
    }

    #[test]
    fn errors_and_debug_never_show_the_link_token() {
        let token = "SECRET-TOKEN-123";
        let Command::Start(s) = parse(&format!(
            r#"{{"type":"start","workspaceId":"w","runtimeId":"r","runtimeLinkToken":"{token}"}}"#
        ))
        .unwrap() else {
            panic!()
        };
        assert!(!format!("{s:?}").contains(token));
        // A token of the wrong type, or in a broken document, is not quoted back either.
        let e = parse(
            r#"{"type":"start","workspaceId":"w","runtimeId":"r","runtimeLinkToken":12345678}"#,
        )
        .unwrap_err();
        assert!(!e.to_string().contains("12345678"));
        let e =
            parse(r#"{"type":"start","runtimeLinkToken":"SECRET-TOKEN-123" oops}"#).unwrap_err();
        assert!(!e.to_string().contains(token), "{e}");
        let e = parse(
            r#"{"type":"start","workspaceId":"w","runtimeId":"r","runtimeLinkToken":"a b SECRET"}"#,
        )
        .unwrap_err();
        assert!(!e.to_string().contains("SECRET"), "{e}");
    }
}
