//! Reading chat sessions: JSONL of messages (grouped by a session field or blank lines),
//! OpenAI-style `{"messages": [...]}` objects, and JSON arrays of sessions.
//!
//! One record is one session, sent as one `POST /memories` with `messages`. The file's
//! layout is detected from its first bytes: `[` is a JSON array of sessions (or of
//! messages); a first line that is a complete JSON value means JSONL; anything else is read
//! as a sequence of (possibly pretty-printed) JSON values.

use std::collections::VecDeque;
use std::io::BufRead;
use std::sync::Arc;

use serde_json::{Map, Value};

use crate::error::LoadError;
use crate::input::{InputFile, InputReader};
use crate::item::{InvalidRecord, Location, Parsed, Payload};
use crate::jsonscan::{JsonScanner, ScanError};
use crate::lines::LineReader;
use crate::reader::ParsedReader;
use crate::records::ChatMessage;

/// How messages are read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageOptions {
    /// The field of a JSONL message line that names its session (default `session_id`).
    pub session_field: String,
    /// The most messages one session may have (default 1000): one session is one request,
    /// and a file without session fields or blank lines would otherwise be one huge request.
    pub max_session_messages: usize,
    /// The largest line or JSON value, in bytes (default 16 MiB).
    pub max_record_bytes: usize,
}

impl Default for MessageOptions {
    fn default() -> Self {
        Self {
            session_field: "session_id".to_owned(),
            max_session_messages: 1000,
            max_record_bytes: 16 * 1024 * 1024,
        }
    }
}

impl MessageOptions {
    pub(crate) fn describe(&self) -> String {
        format!(
            "session_field={:?} max_session_messages={}",
            self.session_field, self.max_session_messages
        )
    }
}

/// One thing read from the file, before grouping into sessions.
enum Item {
    /// A blank line (a session boundary in JSONL).
    Blank,
    Value {
        line: u64,
        end_line: u64,
        value: Result<Value, String>,
    },
}

enum Items {
    Lines(LineReader<InputReader>),
    Scanner(JsonScanner<InputReader>),
}

pub(crate) struct MessagesReader {
    file: InputFile,
    items: Items,
    /// A blank line was seen in document mode before the next value.
    pending: VecDeque<Item>,
    grouper: Grouper,
    queue: VecDeque<Parsed>,
    done: bool,
    max_bytes: usize,
}

pub(crate) fn open(
    file: &InputFile,
    options: &MessageOptions,
) -> Result<MessagesReader, LoadError> {
    let mut reader = file.open()?;
    let json_document = {
        let head = reader.fill_buf().map_err(|err| file.read_error(&err))?;
        looks_like_json_document(head)
    };
    let items = if json_document {
        Items::Scanner(JsonScanner::new(reader, options.max_record_bytes))
    } else {
        Items::Lines(LineReader::new(reader, options.max_record_bytes))
    };
    Ok(MessagesReader {
        file: file.clone(),
        items,
        pending: VecDeque::new(),
        grouper: Grouper::new(file.display.clone(), options.clone()),
        queue: VecDeque::new(),
        done: false,
        max_bytes: options.max_record_bytes,
    })
}

/// `[...]`, or a first line that is not a complete JSON value (a pretty-printed object),
/// is read with the scanner; everything else line by line.
fn looks_like_json_document(head: &[u8]) -> bool {
    let head = head.strip_prefix(b"\xef\xbb\xbf").unwrap_or(head);
    let start = head.iter().position(|b| !b.is_ascii_whitespace());
    let Some(start) = start else { return false };
    match head[start] {
        b'[' => true,
        b'{' => {
            let rest = &head[start..];
            match rest.iter().position(|&b| b == b'\n') {
                Some(end) => serde_json::from_slice::<serde::de::IgnoredAny>(&rest[..end]).is_err(),
                // One line filling the whole buffer: the scanner copes with any layout.
                None => true,
            }
        }
        _ => false,
    }
}

impl ParsedReader for MessagesReader {
    fn next_parsed(&mut self) -> Result<Option<Parsed>, LoadError> {
        loop {
            if let Some(parsed) = self.queue.pop_front() {
                return Ok(Some(parsed));
            }
            if self.done {
                return Ok(None);
            }
            match self.next_item()? {
                Some(item) => self.grouper.push(item, &mut self.queue),
                None => {
                    self.grouper.flush(&mut self.queue);
                    self.done = true;
                }
            }
        }
    }
}

impl MessagesReader {
    fn next_item(&mut self) -> Result<Option<Item>, LoadError> {
        if let Some(item) = self.pending.pop_front() {
            return Ok(Some(item));
        }
        match &mut self.items {
            Items::Lines(lines) => loop {
                let piece = lines
                    .next_piece()
                    .map_err(|err| self.file.read_error(&err))?;
                let Some(piece) = piece else { return Ok(None) };
                if !piece.first {
                    // The rest of an over-long line, already reported.
                    continue;
                }
                let line = piece.line;
                if !piece.last {
                    return Ok(Some(Item::Value {
                        line,
                        end_line: line,
                        value: Err(format!("the line is longer than {} bytes", self.max_bytes)),
                    }));
                }
                if piece.bytes.iter().all(u8::is_ascii_whitespace) {
                    return Ok(Some(Item::Blank));
                }
                let value = parse_json(piece.bytes, line);
                return Ok(Some(Item::Value {
                    line,
                    end_line: line,
                    value,
                }));
            },
            Items::Scanner(scanner) => match scanner.next_value() {
                Ok(None) => Ok(None),
                Ok(Some(scanned)) => {
                    let value = match scanned.bytes {
                        Some(bytes) => parse_json(&bytes, scanned.line),
                        None => Err(format!(
                            "the JSON value is larger than {} bytes",
                            self.max_bytes
                        )),
                    };
                    let item = Item::Value {
                        line: scanned.line,
                        end_line: scanned.end_line,
                        value,
                    };
                    if scanned.blank_before {
                        self.pending.push_back(item);
                        return Ok(Some(Item::Blank));
                    }
                    Ok(Some(item))
                }
                Err(ScanError::Io(err)) => Err(self.file.read_error(&err)),
                Err(ScanError::Syntax { line, reason }) => Err(LoadError::Malformed {
                    path: self.file.display.to_string().into(),
                    line,
                    reason,
                }),
            },
        }
    }
}

/// Parses JSON, turning serde's position (relative to the value) into the file's line.
fn parse_json(bytes: &[u8], first_line: u64) -> Result<Value, String> {
    serde_json::from_slice::<Value>(bytes).map_err(|err| {
        let text = err.to_string();
        let message = match text.rfind(" at line ") {
            Some(at) => &text[..at],
            None => &text,
        };
        if err.line() > 1 {
            format!(
                "invalid JSON at line {} column {}: {message}",
                first_line + err.line() as u64 - 1,
                err.column()
            )
        } else {
            format!("invalid JSON at column {}: {message}", err.column())
        }
    })
}

/// The JSON type of a value, for error messages.
fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A message object as sent, or `None` for a tool-call message without text.
fn message_from(obj: &Map<String, Value>) -> Result<Option<ChatMessage>, String> {
    let role = match obj.get("role") {
        None => return Err("missing field 'role'".to_owned()),
        Some(Value::String(role)) if role.trim().is_empty() => {
            return Err("field 'role' is empty".to_owned())
        }
        Some(Value::String(role)) => role.clone(),
        Some(other) => {
            return Err(format!(
                "field 'role' must be a string, found {}",
                type_name(other)
            ))
        }
    };
    let has_tool_call = obj.contains_key("tool_calls") || obj.contains_key("function_call");
    let content = match obj.get("content") {
        None | Some(Value::Null) if has_tool_call => return Ok(None),
        None => return Err("missing field 'content'".to_owned()),
        Some(Value::Null) => return Err("field 'content' is null".to_owned()),
        Some(Value::String(text)) => text.clone(),
        Some(Value::Array(parts)) => text_of_parts(parts)?,
        Some(other) => {
            return Err(format!(
                "field 'content' must be a string or a list of content parts, found {}",
                type_name(other)
            ))
        }
    };
    if content.trim().is_empty() {
        if has_tool_call {
            return Ok(None);
        }
        return Err("field 'content' is empty".to_owned());
    }
    Ok(Some(ChatMessage { role, content }))
}

/// Joins the `text` parts of an OpenAI content list.
fn text_of_parts(parts: &[Value]) -> Result<String, String> {
    let mut texts = Vec::new();
    for (i, part) in parts.iter().enumerate() {
        let Value::Object(part) = part else {
            return Err(format!(
                "content part {} must be an object, found {}",
                i + 1,
                type_name(part)
            ));
        };
        if let Some(Value::String(text)) = part.get("text") {
            texts.push(text.as_str());
        }
    }
    if texts.is_empty() {
        return Err("field 'content' has no text parts".to_owned());
    }
    Ok(texts.join("\n"))
}

/// The messages of a session given as an array.
fn session_from(messages: &[Value], max: usize) -> Result<Vec<ChatMessage>, String> {
    if messages.len() > max {
        return Err(too_many(Some(messages.len()), max));
    }
    let mut out = Vec::with_capacity(messages.len());
    for (i, message) in messages.iter().enumerate() {
        let Value::Object(obj) = message else {
            return Err(format!(
                "message {} must be an object with 'role' and 'content', found {}",
                i + 1,
                type_name(message)
            ));
        };
        match message_from(obj) {
            Ok(Some(m)) => out.push(m),
            Ok(None) => {}
            Err(reason) => return Err(format!("message {}: {reason}", i + 1)),
        }
    }
    if out.is_empty() {
        return Err("the session has no messages with text".to_owned());
    }
    Ok(out)
}

fn too_many(count: Option<usize>, max: usize) -> String {
    let count = count.map_or_else(|| "more".to_owned(), |n| n.to_string());
    format!(
        "the session has {count} messages, more than the limit of {max}; split it (blank lines \
         or a session field) or raise the max_session_messages option"
    )
}

/// Messages of a session being collected from consecutive lines.
struct Group {
    key: Option<String>,
    line: u64,
    end_line: u64,
    lines: u64,
    messages: Vec<ChatMessage>,
    /// The first problem: its line and reason.
    error: Option<(u64, String)>,
}

/// Groups message lines into sessions and turns session objects into records.
struct Grouper {
    source: Arc<str>,
    options: MessageOptions,
    current: Option<Group>,
}

enum Kind {
    /// A message line, with its session key.
    Message(Option<String>, Result<Option<ChatMessage>, String>),
    /// A whole session.
    Session(Result<Vec<ChatMessage>, String>),
    /// Not usable.
    Bad(String),
}

impl Grouper {
    fn new(source: Arc<str>, options: MessageOptions) -> Self {
        Self {
            source,
            options,
            current: None,
        }
    }

    fn location(&self, line: u64, end_line: u64) -> Location {
        Location {
            source: self.source.clone(),
            line,
            end_line,
        }
    }

    fn push(&mut self, item: Item, out: &mut VecDeque<Parsed>) {
        let (line, end_line, value) = match item {
            Item::Blank => return self.flush(out),
            Item::Value {
                line,
                end_line,
                value,
            } => (line, end_line, value),
        };
        let kind = match value {
            Ok(value) => self.classify(value),
            Err(reason) => Kind::Bad(reason),
        };
        match kind {
            Kind::Session(result) => {
                self.flush(out);
                let location = self.location(line, end_line);
                out.push_back(match result {
                    Ok(messages) => Parsed::Valid(location, Payload::Messages(messages)),
                    Err(reason) => Parsed::Invalid(InvalidRecord { location, reason }),
                });
            }
            Kind::Bad(reason) => match self.current.as_mut() {
                // The line belongs to the session being read, which is then invalid.
                Some(group) => {
                    group.end_line = end_line;
                    group.lines += 1;
                    group.messages = Vec::new();
                    group.error.get_or_insert((line, reason));
                }
                None => out.push_back(Parsed::Invalid(InvalidRecord {
                    location: self.location(line, end_line),
                    reason,
                })),
            },
            Kind::Message(key, message) => {
                if self.current.as_ref().is_some_and(|g| g.key != key) {
                    self.flush(out);
                }
                let max = self.options.max_session_messages;
                let group = self.current.get_or_insert_with(|| Group {
                    key,
                    line,
                    end_line,
                    lines: 0,
                    messages: Vec::new(),
                    error: None,
                });
                group.end_line = end_line;
                group.lines += 1;
                match message {
                    Ok(Some(_)) if group.error.is_none() && group.messages.len() >= max => {
                        group.messages = Vec::new();
                        group.error = Some((line, too_many(None, max)));
                    }
                    Ok(Some(m)) if group.error.is_none() => group.messages.push(m),
                    Ok(_) => {}
                    Err(reason) => {
                        group.messages = Vec::new();
                        group.error.get_or_insert((line, reason));
                    }
                }
            }
        }
    }

    fn classify(&self, value: Value) -> Kind {
        let max = self.options.max_session_messages;
        match value {
            Value::Array(messages) => Kind::Session(session_from(&messages, max)),
            Value::Object(obj) => {
                if let Some(messages) = obj.get("messages") {
                    return match messages {
                        Value::Array(messages) => Kind::Session(session_from(messages, max)),
                        other => Kind::Bad(format!(
                            "field 'messages' must be an array of messages, found {}",
                            type_name(other)
                        )),
                    };
                }
                if !obj.contains_key("role") && !obj.contains_key("content") {
                    return Kind::Bad(
                        "expected a message ({\"role\", \"content\"}) or a conversation \
                         ({\"messages\": [...]}), found an object with neither"
                            .to_owned(),
                    );
                }
                let field = &self.options.session_field;
                let key = match obj.get(field) {
                    None | Some(Value::Null) => None,
                    Some(Value::String(s)) => Some(format!("s:{s}")),
                    Some(Value::Number(n)) => Some(format!("n:{n}")),
                    Some(other) => {
                        return Kind::Bad(format!(
                            "field '{field}' must be a string or a number, found {}",
                            type_name(other)
                        ))
                    }
                };
                Kind::Message(key, message_from(&obj))
            }
            other => Kind::Bad(format!(
                "expected a JSON object (a message or a conversation), found {}",
                type_name(&other)
            )),
        }
    }

    fn flush(&mut self, out: &mut VecDeque<Parsed>) {
        let Some(group) = self.current.take() else {
            return;
        };
        let location = self.location(group.line, group.end_line);
        let parsed = match group.error {
            Some((line, reason)) => {
                let reason = if group.lines > 1 {
                    format!(
                        "line {line}: {reason} (the session of {} lines is left out as a whole)",
                        group.lines
                    )
                } else {
                    reason
                };
                Parsed::Invalid(InvalidRecord { location, reason })
            }
            None if group.messages.is_empty() => Parsed::Invalid(InvalidRecord {
                location,
                reason: "the session has no messages with text".to_owned(),
            }),
            None => Parsed::Valid(location, Payload::Messages(group.messages)),
        };
        out.push_back(parsed);
    }
}
