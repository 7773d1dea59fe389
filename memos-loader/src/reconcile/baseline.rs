//! What the cube held before an import, saved in the checkpoint when the import starts so
//! that a resume can leave those memories out.
//!
//! Only the ids of the memories that could be mistaken for the import's own are kept: list
//! items whose text is a text of the input, graph nodes one of whose source messages is.
//! That is nothing for an empty cube or new data, however large the cube, and it does not
//! depend on the order the server lists memories in.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::text_hash;
use crate::cube::{self, Memories, Sources};
use crate::error::LoadError;
use crate::source::Prepared;

/// The cube before the import.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Baseline {
    /// List items or graph nodes.
    pub memories: u64,
    /// The ids of those that hold a text of the input.
    #[serde(default)]
    pub overlapping: Vec<String>,
}

/// The baseline of `memories` for the input `prepared` (read once when the cube is not
/// empty). Blocking.
pub(crate) fn capture(memories: &Memories, prepared: &Prepared) -> Result<Baseline, LoadError> {
    // Which memories hold each text.
    let mut holders: HashMap<u64, Vec<&str>> = HashMap::new();
    match memories {
        Memories::List(items) => {
            for item in items {
                holders
                    .entry(text_hash(&item.memory))
                    .or_default()
                    .push(&item.id);
            }
        }
        Memories::Graph(nodes) => {
            for node in nodes {
                let (Some(id), Sources::Messages(texts)) =
                    (cube::node_id(node), cube::node_sources(node))
                else {
                    continue;
                };
                for text in texts {
                    holders.entry(text_hash(&text)).or_default().push(id);
                }
            }
        }
    }
    let mut overlapping = Vec::new();
    if !holders.is_empty() {
        let mut pass = prepared.pass();
        while let Some(item) = pass.next_item()? {
            let Ok(record) = item else { continue };
            for text in record.payload.texts() {
                if let Some(ids) = holders.remove(&text_hash(text)) {
                    overlapping.extend(ids.into_iter().map(str::to_owned));
                }
            }
        }
    }
    overlapping.sort_unstable();
    overlapping.dedup();
    Ok(Baseline {
        memories: memories.len() as u64,
        overlapping,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ContentOptions, Input, Source};
    use memos_api::v1::types::{MemoryItem, MemoryMetadata};
    use serde_json::{json, Value};

    fn prepared(dir: &std::path::Path, lines: &str) -> Prepared {
        let path = dir.join("in.txt");
        std::fs::write(&path, lines).unwrap();
        let source = Source::Content {
            inputs: vec![Input::Path(path)],
            options: ContentOptions {
                chunk_size: 100,
                per_line: true,
            },
        };
        source.prepare().unwrap()
    }

    #[test]
    fn only_memories_holding_an_input_text_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let input = prepared(dir.path(), "ok\nnew\n");
        let item = |id: &str, text: &str| MemoryItem {
            id: id.into(),
            memory: text.into(),
            metadata: MemoryMetadata::default(),
        };
        let list = Memories::List(vec![item("a", "ok"), item("b", "other"), item("c", "ok")]);
        assert_eq!(
            capture(&list, &input).unwrap(),
            Baseline {
                memories: 3,
                overlapping: vec!["a".into(), "c".into()]
            }
        );
        let node = |id: &str, texts: &[&str]| {
            let sources: Vec<String> = texts
                .iter()
                .map(|t| json!({"role": "user", "content": t}).to_string())
                .collect();
            let Value::Object(map) =
                json!({"id": id, "memory": "x", "metadata": {"sources": sources}})
            else {
                unreachable!()
            };
            map
        };
        let graph = Memories::Graph(vec![node("n1", &["hi", "new"]), node("n2", &["hi"])]);
        assert_eq!(
            capture(&graph, &input).unwrap(),
            Baseline {
                memories: 2,
                overlapping: vec!["n1".into()]
            }
        );
        assert_eq!(
            capture(&Memories::List(Vec::new()), &input).unwrap(),
            Baseline::default()
        );
    }
}
