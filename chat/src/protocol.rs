//! Frames of chat protocol version 1: what a visitor's widget sends
//! ([`Frame`]), the chat commands an agent sends over the agent WebSocket
//! ([`AgentCommand`]), and their parsers. Every frame is a JSON object with a
//! `type`; a frame that cannot be used gets a [`ParseError`] whose `detail`
//! names the field (`` `id`: … ``), never a panic. Values are checked while
//! parsing: a [`ClientId`] or a [`Text`] that exists is valid.

use std::fmt;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The protocol version this crate speaks.
pub const VERSION: u32 = 1;
/// The largest frame accepted, in bytes of JSON.
pub const MAX_FRAME_BYTES: usize = 16 * 1024;
/// The longest message text, in characters.
pub const MAX_TEXT_CHARS: usize = 4000;
/// The longest client id, in bytes.
const MAX_CLIENT_ID: usize = 64;
/// The longest contact id an agent may name.
const MAX_CONTACT_ID: usize = 64;

/// Why a frame was refused, as the `error` frame's `code`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// Not JSON, or not a JSON object.
    BadJson,
    /// A field is missing, unknown or has a wrong value.
    BadField,
    /// The `type` is not one this version knows.
    UnknownType,
    /// The frame or its text is too long.
    TooLarge,
    /// The `hello` asks for a protocol version this server does not speak.
    UnsupportedVersion,
}

/// A refused frame: what kind of fault, and a sentence naming the field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub code: ErrorCode,
    pub detail: String,
}

impl ParseError {
    fn new(code: ErrorCode, detail: impl Into<String>) -> Self {
        ParseError {
            code,
            detail: detail.into(),
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.detail)
    }
}

impl std::error::Error for ParseError {}

/// A client's idempotency key for one message: 1-64 characters of
/// `A-Z a-z 0-9 - _ . :`. The same id sent twice is the same message.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ClientId(String);

impl ClientId {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ClientId {
    type Error = String;

    fn try_from(value: String) -> Result<Self, String> {
        if value.is_empty() || value.len() > MAX_CLIENT_ID {
            return Err(format!("must be 1 to {MAX_CLIENT_ID} characters"));
        }
        if !value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
        {
            return Err("may hold only letters, digits and - _ . :".to_owned());
        }
        Ok(ClientId(value))
    }
}

impl From<ClientId> for String {
    fn from(id: ClientId) -> String {
        id.0
    }
}

/// The id of an uploaded file: 1-64 characters of `A-Z a-z 0-9 -`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct UploadId(String);

impl UploadId {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for UploadId {
    type Error = String;

    fn try_from(value: String) -> Result<Self, String> {
        if value.is_empty()
            || value.len() > MAX_CLIENT_ID
            || !value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            return Err("must be the id of an upload".to_owned());
        }
        Ok(UploadId(value))
    }
}

impl From<UploadId> for String {
    fn from(id: UploadId) -> String {
        id.0
    }
}

/// A message's text: 1 to [`MAX_TEXT_CHARS`] characters, not only
/// whitespace. Plain text: it is stored and forwarded as is and must be
/// shown as text, never interpreted as HTML.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Text(String);

impl Text {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Text {
    type Error = String;

    fn try_from(value: String) -> Result<Self, String> {
        let chars = value.chars().count();
        if chars > MAX_TEXT_CHARS {
            return Err(format!("at most {MAX_TEXT_CHARS} characters (got {chars})"));
        }
        if value.trim().is_empty() {
            return Err("must not be empty".to_owned());
        }
        Ok(Text(value))
    }
}

impl From<Text> for String {
    fn from(text: Text) -> String {
        text.0
    }
}

/// A short optional form value (name, email, topic): at most 200 characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Short(String);

impl Short {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Short {
    type Error = String;

    fn try_from(value: String) -> Result<Self, String> {
        if value.chars().count() > 200 {
            return Err("at most 200 characters".to_owned());
        }
        Ok(Short(value.trim().to_owned()))
    }
}

impl From<Short> for String {
    fn from(short: Short) -> String {
        short.0
    }
}

/// The pre-chat form: who the visitor says they are and what about.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PreChat {
    pub name: Option<Short>,
    pub email: Option<Short>,
    /// The queue to ask, among those the channel offers.
    pub topic: Option<Short>,
}

/// What a visitor's widget sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// The first frame of a connection.
    Hello {
        /// The protocol version the client speaks.
        v: u32,
        /// The visitor token kefu gave earlier (absent: a new visitor).
        token: Option<String>,
        /// A JWT signed by the site, naming the customer (verified identity).
        identity: Option<String>,
        /// The highest sequence number the client has seen (0: none).
        last_seq: u64,
    },
    /// Start a conversation with the pre-chat form.
    Start(PreChat),
    /// A message; acknowledged once stored. `upload` attaches a file the
    /// visitor uploaded before (its id).
    Message {
        id: ClientId,
        text: Text,
        upload: Option<UploadId>,
    },
    /// The visitor is (or stopped) typing.
    Typing { active: bool },
    /// The visitor has read everything up to `seq`.
    Read { seq: u64 },
    /// Keeps the connection alive; answered with `pong`.
    Ping,
    /// The visitor ends the conversation.
    Leave,
}

/// A chat command an agent sends over the agent WebSocket (`chat_*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AgentCommand {
    /// A message to the visitor; `/shortcut` texts expand to canned
    /// responses; `upload` attaches a file the agent uploaded before.
    Send {
        contact: String,
        id: ClientId,
        text: Text,
        upload: Option<UploadId>,
    },
    /// An internal note: stored with the conversation, never shown to the visitor.
    Note {
        contact: String,
        id: ClientId,
        text: Text,
    },
    Typing {
        contact: String,
        active: bool,
    },
    Read {
        contact: String,
        seq: u64,
    },
    /// The conversation's messages after `after_seq`.
    History {
        contact: String,
        after_seq: u64,
    },
    /// Ends the conversation with an optional disposition (1-64 characters).
    End {
        contact: String,
        disposition: Option<String>,
    },
    /// Hands the conversation to another queue, to an agent (by extension)
    /// of its queue, or to an agent of another queue (each 1-64
    /// characters; at least one).
    Transfer {
        contact: String,
        queue: Option<String>,
        agent: Option<String>,
    },
}

/// Parses a visitor's frame.
pub fn parse_visitor_frame(bytes: &[u8]) -> Result<Frame, ParseError> {
    let (kind, fields) = object(bytes)?;
    check_text_size(&fields)?;
    Ok(match kind.as_str() {
        "hello" => {
            let hello: HelloFields = read(fields)?;
            if hello.v != VERSION {
                return Err(ParseError::new(
                    ErrorCode::UnsupportedVersion,
                    format!("`v`: version {} is not supported; use {VERSION}", hello.v),
                ));
            }
            Frame::Hello {
                v: hello.v,
                token: hello.token,
                identity: hello.identity,
                last_seq: hello.last_seq,
            }
        }
        "start" => Frame::Start(read(fields)?),
        "message" => {
            let message: MessageFields = read(fields)?;
            Frame::Message {
                id: message.id,
                text: message.text,
                upload: message.upload,
            }
        }
        "typing" => Frame::Typing {
            active: read::<TypingFields>(fields)?.active,
        },
        "read" => Frame::Read {
            seq: read::<ReadFields>(fields)?.seq,
        },
        "ping" => {
            read::<Empty>(fields)?;
            Frame::Ping
        }
        "leave" => {
            read::<Empty>(fields)?;
            Frame::Leave
        }
        other => return Err(unknown_type(other, VISITOR_TYPES)),
    })
}

/// Parses an agent's chat command; `Ok(None)` when the frame is not one (no
/// `type` starting with `chat_`, or no JSON object at all): the agent
/// WebSocket's own parser then reports what is wrong with it.
pub fn parse_agent_command(bytes: &[u8]) -> Result<Option<AgentCommand>, ParseError> {
    let Ok((kind, fields)) = object(bytes) else {
        return Ok(None);
    };
    let Some(name) = kind.strip_prefix("chat_") else {
        return Ok(None);
    };
    check_text_size(&fields)?;
    Ok(Some(match name {
        "send" | "note" => {
            let message: AgentMessageFields = read(fields)?;
            let contact = contact_id(message.contact)?;
            if name == "send" {
                AgentCommand::Send {
                    contact,
                    id: message.id,
                    text: message.text,
                    upload: message.upload,
                }
            } else {
                if message.upload.is_some() {
                    return Err(ParseError::new(
                        ErrorCode::BadField,
                        "`upload`: notes take no files",
                    ));
                }
                AgentCommand::Note {
                    contact,
                    id: message.id,
                    text: message.text,
                }
            }
        }
        "typing" => {
            let typing: AgentTypingFields = read(fields)?;
            AgentCommand::Typing {
                contact: contact_id(typing.contact)?,
                active: typing.active,
            }
        }
        "read" => {
            let read_up_to: AgentReadFields = read(fields)?;
            AgentCommand::Read {
                contact: contact_id(read_up_to.contact)?,
                seq: read_up_to.seq,
            }
        }
        "history" => {
            let history: HistoryFields = read(fields)?;
            AgentCommand::History {
                contact: contact_id(history.contact)?,
                after_seq: history.after_seq,
            }
        }
        "end" => {
            let end: EndFields = read(fields)?;
            if let Some(disposition) = &end.disposition {
                let length = disposition.trim().chars().count();
                if !(1..=64).contains(&length) {
                    return Err(ParseError::new(
                        ErrorCode::BadField,
                        "`disposition`: must be 1 to 64 characters",
                    ));
                }
            }
            AgentCommand::End {
                contact: contact_id(end.contact)?,
                disposition: end.disposition.map(|d| d.trim().to_owned()),
            }
        }
        "transfer" => {
            let transfer: TransferFields = read(fields)?;
            let name = |field: &str, value: Option<String>| match value {
                None => Ok(None),
                Some(value) if (1..=64).contains(&value.trim().chars().count()) => {
                    Ok(Some(value.trim().to_owned()))
                }
                Some(_) => Err(ParseError::new(
                    ErrorCode::BadField,
                    format!("`{field}`: must be 1 to 64 characters"),
                )),
            };
            let queue = name("queue", transfer.queue)?;
            let agent = name("agent", transfer.agent)?;
            if queue.is_none() && agent.is_none() {
                return Err(ParseError::new(
                    ErrorCode::BadField,
                    "`queue`: name the queue or the `agent` (extension) to transfer to",
                ));
            }
            AgentCommand::Transfer {
                contact: contact_id(transfer.contact)?,
                queue,
                agent,
            }
        }
        _ => return Err(unknown_type(&kind, AGENT_TYPES)),
    }))
}

const VISITOR_TYPES: &str = "hello, start, message, typing, read, ping, leave";
const AGENT_TYPES: &str =
    "chat_send, chat_note, chat_typing, chat_read, chat_history, chat_end, chat_transfer";

fn unknown_type(kind: &str, known: &str) -> ParseError {
    let shown: String = kind.chars().take(40).collect();
    ParseError::new(
        ErrorCode::UnknownType,
        format!("`type`: {shown:?} is not one of {known}"),
    )
}

fn contact_id(contact: String) -> Result<String, ParseError> {
    if contact.is_empty() || contact.len() > MAX_CONTACT_ID {
        return Err(ParseError::new(
            ErrorCode::BadField,
            format!("`contact`: must be 1 to {MAX_CONTACT_ID} characters"),
        ));
    }
    Ok(contact)
}

/// The frame's `type` and its other fields.
fn object(bytes: &[u8]) -> Result<(String, Map<String, Value>), ParseError> {
    if bytes.len() > MAX_FRAME_BYTES {
        return Err(ParseError::new(
            ErrorCode::TooLarge,
            format!(
                "frame: at most {MAX_FRAME_BYTES} bytes (got {})",
                bytes.len()
            ),
        ));
    }
    let value: Value = serde_json::from_slice(bytes)
        .map_err(|error| ParseError::new(ErrorCode::BadJson, format!("frame: {error}")))?;
    let Value::Object(mut fields) = value else {
        return Err(ParseError::new(
            ErrorCode::BadJson,
            "frame: must be a JSON object",
        ));
    };
    let kind = match fields.remove("type") {
        Some(Value::String(kind)) => kind,
        Some(_) => {
            return Err(ParseError::new(
                ErrorCode::BadField,
                "`type`: must be a string",
            ));
        }
        None => return Err(ParseError::new(ErrorCode::BadField, "`type`: missing")),
    };
    Ok((kind, fields))
}

/// Refuses a `text` longer than the protocol allows, as too large.
fn check_text_size(fields: &Map<String, Value>) -> Result<(), ParseError> {
    if let Some(Value::String(text)) = fields.get("text") {
        let chars = text.chars().count();
        if chars > MAX_TEXT_CHARS {
            return Err(ParseError::new(
                ErrorCode::TooLarge,
                format!("`text`: at most {MAX_TEXT_CHARS} characters (got {chars})"),
            ));
        }
    }
    Ok(())
}

/// Reads the fields of one frame type, naming the one that is wrong.
fn read<T: DeserializeOwned>(fields: Map<String, Value>) -> Result<T, ParseError> {
    serde_path_to_error::deserialize(Value::Object(fields)).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        let detail = match path.as_str() {
            "." | "" => format!("frame: {inner}"),
            field => format!("`{field}`: {inner}"),
        };
        ParseError::new(ErrorCode::BadField, detail)
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HelloFields {
    v: u32,
    token: Option<String>,
    identity: Option<String>,
    #[serde(default)]
    last_seq: u64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MessageFields {
    id: ClientId,
    text: Text,
    upload: Option<UploadId>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TypingFields {
    active: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReadFields {
    seq: u64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Empty {}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AgentMessageFields {
    contact: String,
    id: ClientId,
    text: Text,
    upload: Option<UploadId>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AgentTypingFields {
    contact: String,
    active: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AgentReadFields {
    contact: String,
    seq: u64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HistoryFields {
    contact: String,
    #[serde(default)]
    after_seq: u64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TransferFields {
    contact: String,
    queue: Option<String>,
    agent: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EndFields {
    contact: String,
    disposition: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(bytes: &[u8]) -> ParseError {
        parse_visitor_frame(bytes).expect_err("refused")
    }

    #[test]
    fn a_message_frame_parses_into_checked_values() {
        let frame = parse_visitor_frame(br#"{"type":"message","id":"c-1","text":"hi <b>"}"#)
            .expect("valid");
        let Frame::Message { id, text, .. } = frame else {
            panic!("not a message: {frame:?}");
        };
        assert_eq!((id.as_str(), text.as_str()), ("c-1", "hi <b>"));
    }

    #[test]
    fn hello_defaults_last_seq_and_refuses_other_versions() {
        let hello = parse_visitor_frame(br#"{"type":"hello","v":1}"#).expect("valid");
        assert_eq!(
            hello,
            Frame::Hello {
                v: 1,
                token: None,
                identity: None,
                last_seq: 0
            }
        );
        let error = refused(br#"{"type":"hello","v":2}"#);
        assert_eq!(error.code, ErrorCode::UnsupportedVersion);
        assert!(error.detail.starts_with("`v`"), "{}", error.detail);
    }

    #[test]
    fn a_wrong_or_missing_field_is_named() {
        for (frame, field) in [
            (&br#"{"type":"message","text":"hi"}"#[..], "id"),
            (br#"{"type":"message","id":"a b","text":"hi"}"#, "`id`"),
            (br#"{"type":"message","id":"a","text":"  "}"#, "`text`"),
            (br#"{"type":"message","id":"a","text":5}"#, "`text`"),
            (br#"{"type":"read","seq":-1}"#, "`seq`"),
            (br#"{"type":"typing"}"#, "active"),
            (br#"{"type":"ping","extra":1}"#, "extra"),
            (
                br#"{"type":"message","id":"a","text":"x","upload":"../etc"}"#,
                "`upload`",
            ),
            (br#"{"id":"x"}"#, "`type`"),
            (br#"{"type":7}"#, "`type`"),
        ] {
            let error = refused(frame);
            assert_eq!(error.code, ErrorCode::BadField, "{error:?}");
            assert!(error.detail.contains(field), "{field}: {}", error.detail);
        }
    }

    #[test]
    fn unknown_types_and_malformed_json_get_their_own_codes() {
        assert_eq!(refused(br#"{"type":"shout"}"#).code, ErrorCode::UnknownType);
        for bad in [&b"{"[..], b"", b"[1]", b"\xff", b"null"] {
            assert_eq!(refused(bad).code, ErrorCode::BadJson, "{bad:?}");
        }
    }

    #[test]
    fn oversized_text_and_frames_are_too_large() {
        let text = "x".repeat(MAX_TEXT_CHARS + 1);
        let frame = format!(r#"{{"type":"message","id":"a","text":"{text}"}}"#);
        let error = refused(frame.as_bytes());
        assert_eq!(error.code, ErrorCode::TooLarge);
        assert!(error.detail.starts_with("`text`"), "{}", error.detail);
        let huge = vec![b' '; MAX_FRAME_BYTES + 1];
        assert_eq!(refused(&huge).code, ErrorCode::TooLarge);
        let fits = "字".repeat(MAX_TEXT_CHARS);
        let frame = format!(r#"{{"type":"message","id":"a","text":"{fits}"}}"#);
        assert!(parse_visitor_frame(frame.as_bytes()).is_ok());
    }

    #[test]
    fn agent_chat_commands_parse_and_other_agent_commands_pass_through() {
        let send =
            parse_agent_command(br#"{"type":"chat_send","contact":"k","id":"1","text":"/hello"}"#)
                .expect("valid");
        assert!(matches!(send, Some(AgentCommand::Send { .. })));
        let note =
            parse_agent_command(br#"{"type":"chat_note","contact":"k","id":"1","text":"vip"}"#)
                .expect("valid");
        assert!(matches!(note, Some(AgentCommand::Note { .. })));
        assert_eq!(
            parse_agent_command(br#"{"type":"accept","contact":"k"}"#).expect("valid"),
            None
        );
        let error = parse_agent_command(br#"{"type":"chat_end","contact":"k","disposition":""}"#)
            .expect_err("refused");
        assert!(
            error.detail.starts_with("`disposition`"),
            "{}",
            error.detail
        );
        let transfer =
            parse_agent_command(br#"{"type":"chat_transfer","contact":"k","queue":" sales "}"#)
                .expect("valid");
        assert_eq!(
            transfer,
            Some(AgentCommand::Transfer {
                contact: "k".to_owned(),
                queue: Some("sales".to_owned()),
                agent: None,
            })
        );
        let to_agent =
            parse_agent_command(br#"{"type":"chat_transfer","contact":"k","agent":"1002"}"#)
                .expect("valid");
        assert_eq!(
            to_agent,
            Some(AgentCommand::Transfer {
                contact: "k".to_owned(),
                queue: None,
                agent: Some("1002".to_owned()),
            })
        );
        let error =
            parse_agent_command(br#"{"type":"chat_transfer","contact":"k"}"#).expect_err("refused");
        assert!(error.detail.starts_with("`queue`"), "{}", error.detail);
        let error =
            parse_agent_command(br#"{"type":"chat_shout","contact":"k"}"#).expect_err("refused");
        assert_eq!(error.code, ErrorCode::UnknownType);
    }

    proptest::proptest! {
        #[test]
        fn any_bytes_parse_or_are_refused_without_panicking(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..512)) {
            let _ = parse_visitor_frame(&bytes);
            let _ = parse_agent_command(&bytes);
        }

        #[test]
        fn any_message_text_within_the_limit_round_trips(text in "[^\u{0}]{0,64}[a-z]") {
            let frame = serde_json::json!({"type": "message", "id": "x", "text": text}).to_string();
            let parsed = parse_visitor_frame(frame.as_bytes());
            let same = matches!(parsed, Ok(Frame::Message { text: t, .. }) if t.as_str() == text);
            proptest::prop_assert!(same, "text did not round-trip");
        }
    }
}
