//! Reading a cube's memories in the two shapes servers answer with: a list of memories
//! (`naive_text`, `general_text`) or a graph of nodes (`tree_text`), and what a graph node
//! says about where it came from.

use memos_api::v1::types::{MemoryCollection, MemoryItem};
use memos_api::v1::Client;
use serde_json::{Map, Value};

use crate::error::LoadError;
use crate::setup::setup_error;

/// A graph node as the server sends it (`{id, memory, metadata}`).
pub(crate) type Node = Map<String, Value>;

/// A cube's memories.
#[derive(Debug)]
pub(crate) enum Memories {
    /// One memory per stored text, each text verbatim.
    List(Vec<MemoryItem>),
    /// Nodes made by the server's extractor (newest first on the reference server); each
    /// carries the messages it was extracted from in `metadata.sources`.
    Graph(Vec<Node>),
}

impl Memories {
    /// List items or graph nodes.
    pub(crate) fn len(&self) -> usize {
        match self {
            Memories::List(items) => items.len(),
            Memories::Graph(nodes) => nodes.len(),
        }
    }
}

/// The memories of `cube_id` as `user_id` sees them.
pub(crate) async fn read(
    client: &Client,
    user_id: &str,
    cube_id: &str,
) -> Result<Memories, LoadError> {
    let list = client
        .list_memories(Some(cube_id), Some(user_id))
        .await
        .map_err(|source| {
            setup_error(
                &format!("listing the memories of cube {cube_id:?}"),
                source,
                None,
            )
        })?;
    let Some(entry) = list.text_mem.into_iter().find(|c| c.cube_id == cube_id) else {
        return Ok(Memories::List(Vec::new()));
    };
    Ok(match entry.memories {
        MemoryCollection::Array(items) => Memories::List(items),
        MemoryCollection::MemoryGraph(graph) => Memories::Graph(graph.nodes),
    })
}

/// The node's id, when it has one.
pub(crate) fn node_id(node: &Node) -> Option<&str> {
    node.get("id").and_then(Value::as_str)
}

/// What a node's `metadata.sources` says.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Sources {
    /// No source messages (not made from an add of messages or text).
    None,
    /// Present but not readable as messages with text.
    Unreadable,
    /// The text of each source message, in the server's order.
    Messages(Vec<String>),
}

/// Reads `metadata.sources`: a list of source messages, each a JSON string (as the
/// reference server's graph store keeps them) or an object, with the message's text in
/// `content`. The roles are left out: the server lower-cases them and drops messages
/// whose role it does not know, so the texts are what identifies a message.
pub(crate) fn node_sources(node: &Node) -> Sources {
    let Some(sources) = node
        .get("metadata")
        .and_then(Value::as_object)
        .and_then(|m| m.get("sources"))
    else {
        return Sources::None;
    };
    let list = match sources {
        Value::Null => return Sources::None,
        Value::Array(list) if list.is_empty() => return Sources::None,
        Value::Array(list) => list,
        _ => return Sources::Unreadable,
    };
    let mut texts = Vec::with_capacity(list.len());
    for source in list {
        let parsed;
        let object = match source {
            Value::Object(object) => object,
            Value::String(json) => match serde_json::from_str::<Value>(json) {
                Ok(Value::Object(object)) => {
                    parsed = object;
                    &parsed
                }
                _ => return Sources::Unreadable,
            },
            _ => return Sources::Unreadable,
        };
        match object.get("content") {
            Some(Value::String(text)) => texts.push(text.clone()),
            _ => return Sources::Unreadable,
        }
    }
    Sources::Messages(texts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn node(sources: Value) -> Node {
        let Value::Object(map) =
            json!({"id": "n", "memory": "m", "metadata": {"sources": sources}})
        else {
            unreachable!()
        };
        map
    }

    #[test]
    fn sources_are_json_strings_or_objects() {
        let a =
            json!({"type": "chat", "role": "user", "chat_time": "", "content": "hi", "index": 0})
                .to_string();
        let b = json!({"role": "assistant", "content": "ho"});
        assert_eq!(
            node_sources(&node(json!([a, b]))),
            Sources::Messages(vec!["hi".into(), "ho".into()])
        );
        assert_eq!(node_id(&node(json!([]))), Some("n"));
    }

    #[test]
    fn missing_and_malformed_sources() {
        assert_eq!(node_sources(&node(json!([]))), Sources::None);
        assert_eq!(node_sources(&node(Value::Null)), Sources::None);
        let mut bare = node(Value::Null);
        bare.remove("metadata");
        assert_eq!(node_sources(&bare), Sources::None);
        for bad in [
            json!("[not json"),
            json!(["{not json"]),
            json!([r#"{"role":"user"}"#]),
            json!([r#"{"content": 3}"#]),
            json!([r#"["a list"]"#]),
            json!([7]),
        ] {
            assert_eq!(
                node_sources(&node(bad.clone())),
                Sources::Unreadable,
                "{bad}"
            );
        }
    }
}
