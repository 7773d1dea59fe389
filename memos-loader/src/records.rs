//! The shapes of the loader's input files, as serde types with JSON Schemas.
//!
//! These types document (and `cargo xtask` publishes as JSON Schema) what a messages import
//! (`Source::Messages`, `memos load messages`) accepts. The loader itself reads input through `serde_json::Value` and checks
//! it field by field, so that an error can name the field and the line; the tests keep the
//! two in agreement.
//!
//! Accepted message inputs:
//!
//! * **JSONL of messages**: one [`MessageRecord`] per line. Consecutive lines with the same
//!   session field (default `session_id`) form one session; a blank line or a change of the
//!   session value starts the next one.
//! * **OpenAI-style objects**: one [`OpenAiConversation`] (`{"messages": [...]}`) per JSONL
//!   line, or as the whole file.
//! * **A JSON array of sessions**: a [`SessionArray`], whose elements are [`Session`]
//!   objects or plain arrays of messages.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// One chat message as it is sent to the server (and stored there verbatim, one memory per
/// message).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ChatMessage {
    /// `user`, `assistant`, `system`, ...; the server does not check it.
    pub role: String,
    /// The text. Must not be empty.
    pub content: String,
}

/// A session identifier: a string or an integer.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum SessionKey {
    /// A string id.
    Text(String),
    /// An integer id.
    Integer(i64),
}

/// A message's content: a string, or OpenAI's list of content parts (the `text` parts are
/// joined with newlines; other parts, such as images, are ignored).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum MessageContent {
    /// Plain text.
    Text(String),
    /// Content parts, e.g. `[{"type": "text", "text": "..."}]`.
    Parts(Vec<ContentPart>),
}

/// One part of an OpenAI-style content list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ContentPart {
    /// The part's type; only `text` parts are imported.
    #[serde(rename = "type")]
    pub kind: String,
    /// The text of a `text` part.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

/// One line of a messages JSONL file: a message with an optional session field.
///
/// The session field is `session_id` by default (`--session-field` picks another name).
/// Other fields are ignored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct MessageRecord {
    /// The speaker.
    pub role: String,
    /// The text.
    pub content: MessageContent,
    /// The session this message belongs to; consecutive lines with the same value form one
    /// session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<SessionKey>,
}

/// A message of an OpenAI-style conversation. A message without text content that carries
/// `tool_calls` or `function_call` is left out of the import; any other message without
/// text is invalid.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct OpenAiMessage {
    /// The speaker.
    pub role: String,
    /// The text, or content parts; `null` only together with tool calls.
    #[serde(default)]
    pub content: Option<MessageContent>,
    /// Tool calls (not imported).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_calls: Option<serde_json::Value>,
    /// A legacy function call (not imported).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function_call: Option<serde_json::Value>,
}

/// An OpenAI-style conversation (`{"messages": [...]}`, the chat fine-tuning format): one
/// session. Other fields are ignored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct OpenAiConversation {
    /// The messages, in order.
    pub messages: Vec<OpenAiMessage>,
}

/// A session in a JSON array of sessions: its messages and an optional id (used in
/// messages only).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Session {
    /// An id for the session (informational).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<SessionKey>,
    /// The messages, in order.
    pub messages: Vec<OpenAiMessage>,
}

/// An element of a JSON array of sessions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum SessionEntry {
    /// `{"messages": [...]}`, with an optional `id`.
    Session(Session),
    /// A plain array of messages.
    Messages(Vec<OpenAiMessage>),
}

/// A JSON file holding an array of sessions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(transparent)]
pub struct SessionArray(pub Vec<SessionEntry>);

/// One line of a messages JSONL file, in any of its accepted shapes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum MessagesLine {
    /// A whole conversation on one line.
    Conversation(OpenAiConversation),
    /// One message of a session.
    Message(MessageRecord),
}
