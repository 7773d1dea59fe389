//! The request that carries one record, on each API, and what the `/product` API refuses
//! before anything is sent.

use memos_api::{product, v1::types};

use crate::item::{InvalidRecord, Payload, Record};
use crate::reconcile::{self, product::MarkerIds};
use crate::setup::Target;

/// The roles the `/product` API takes; it answers any other with a 422 (`tool` needs a
/// `tool_call_id`).
pub(crate) const PRODUCT_ROLES: [&str; 3] = ["user", "assistant", "system"];

/// The messages whose role the `/product` API does not take, found while validating, so
/// that an import through it is refused before anything is sent.
#[derive(Debug, Clone, Default)]
pub(crate) struct RoleCheck {
    pub(crate) count: u64,
    pub(crate) first: Vec<InvalidRecord>,
}

impl RoleCheck {
    pub(crate) fn check(&mut self, record: &Record) {
        let Payload::Messages(messages) = &record.payload else {
            return;
        };
        for (position, message) in messages.iter().enumerate() {
            if PRODUCT_ROLES.contains(&message.role.as_str()) {
                continue;
            }
            self.count += 1;
            if self.first.len() < 20 {
                self.first.push(InvalidRecord {
                    location: record.location.clone(),
                    reason: format!(
                        "message {} of the session has the role {:?}",
                        position + 1,
                        message.role
                    ),
                });
            }
        }
    }
}

/// The memories request for one record.
pub(crate) fn v1(target: &Target, payload: Payload) -> types::MemoryCreate {
    let (messages, memory_content) = match payload {
        Payload::Messages(messages) => (
            Some(
                messages
                    .into_iter()
                    .map(|m| types::Message {
                        role: m.role,
                        content: m.content,
                    })
                    .collect(),
            ),
            None,
        ),
        Payload::Content(text) => (None, Some(text)),
    };
    types::MemoryCreate {
        doc_path: None,
        mem_cube_id: Some(target.cube_id.clone()),
        memory_content,
        messages,
        user_id: Some(target.user_id.clone()),
    }
}

/// A request for one record, with the client of its API.
pub(crate) enum Request {
    V1(memos_api::v1::Client, types::MemoryCreate),
    Product(memos_api::product::Client, Box<product::types::AddRequest>),
}

/// The `/product` add for one record: synchronous (the answer means stored), `fast` (the
/// text is stored as sent, no LLM extraction), and the record's marker in `info`.
pub(crate) fn product(
    target: &Target,
    marker: &MarkerIds,
    index: u64,
    payload: Payload,
) -> Result<product::types::AddRequest, String> {
    let (messages, memory_content) = match payload {
        Payload::Messages(messages) => (
            Some(
                messages
                    .into_iter()
                    .map(|m| serde_json::json!({"role": m.role, "content": m.content}))
                    .collect::<Vec<_>>(),
            ),
            None,
        ),
        Payload::Content(text) => (None, Some(text)),
    };
    let mut body = serde_json::json!({
        "user_id": target.user_id,
        "writable_cube_ids": [target.cube_id],
        "async_mode": "sync",
        "mode": "fast",
        "info": reconcile::product::marker(marker, index),
    });
    if let Some(messages) = messages {
        body["messages"] = serde_json::Value::Array(messages);
    }
    if let Some(text) = memory_content {
        body["memory_content"] = serde_json::Value::String(text);
    }
    // Roles were checked when the import started; this fails only on a role that slipped
    // through, and then for this record alone.
    serde_json::from_value(body).map_err(|err| format!("cannot build the add request: {err}"))
}
