//! What the readers produce: records ready to send, and invalid records with their place in
//! the input.

use std::fmt;
use std::sync::Arc;

use serde::Serialize;

use crate::records::ChatMessage;

/// Where a record came from: a file (or `<stdin>`) and its first and last line (1-based).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Location {
    /// The file as the user named it, or `<stdin>`.
    #[serde(serialize_with = "serialize_str")]
    pub source: Arc<str>,
    /// The first line.
    pub line: u64,
    /// The last line (equal to `line` for one-line records).
    pub end_line: u64,
}

fn serialize_str<S: serde::Serializer>(value: &Arc<str>, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(value)
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.end_line > self.line {
            write!(f, "{}:{}-{}", self.source, self.line, self.end_line)
        } else {
            write!(f, "{}:{}", self.source, self.line)
        }
    }
}

/// What one record sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Payload {
    /// A chat session: one `POST /memories` with `messages` (one memory per message).
    Messages(Vec<ChatMessage>),
    /// Text: one `POST /memories` with `memory_content` (one memory).
    Content(String),
}

impl Payload {
    /// The texts the server stores for this payload, one per memory.
    pub fn texts(&self) -> Vec<&str> {
        match self {
            Payload::Messages(messages) => messages.iter().map(|m| m.content.as_str()).collect(),
            Payload::Content(text) => vec![text.as_str()],
        }
    }

    /// How many memories the reference server makes of it.
    pub(crate) fn memory_count(&self) -> usize {
        match self {
            Payload::Messages(messages) => messages.len(),
            Payload::Content(_) => 1,
        }
    }
}

/// One unit of import: what one `POST /memories` sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The record's ordinal among the valid records of the whole input (0-based); the
    /// checkpoint refers to records by it.
    pub index: u64,
    /// Where it is in the input.
    pub location: Location,
    /// What is sent.
    pub payload: Payload,
}

/// A record that cannot be sent, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InvalidRecord {
    /// Where it is in the input.
    pub location: Location,
    /// What is wrong with it.
    pub reason: String,
}

impl fmt::Display for InvalidRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.location, self.reason)
    }
}

/// One item read from the input, before record numbering.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Parsed {
    /// A valid record (its `index` is assigned by the caller).
    Valid(Location, Payload),
    /// An invalid one.
    Invalid(InvalidRecord),
}
