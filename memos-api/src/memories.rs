//! A cube's memories in either shape the server lists them: a list of items
//! (`naive_text`, `general_text`) or a graph (`tree_text`), whose nodes are memory items
//! with more metadata.

use crate::v1::types::{MemoryCollection, MemoryItem};

/// A node of a `tree_text` graph that does not read as a memory item.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("node {index} of the cube's memory graph is not a memory item ({reason})")]
pub struct UnreadableNode {
    /// The node's position in `nodes`.
    pub index: usize,
    /// What did not fit.
    pub reason: String,
}

impl MemoryCollection {
    /// The memories as items, in the order listed: the list itself, or the graph's nodes
    /// (newest first on the reference server); the graph's edges are left out.
    pub fn items(&self) -> Result<Vec<MemoryItem>, UnreadableNode> {
        match self {
            MemoryCollection::Array(items) => Ok(items.clone()),
            MemoryCollection::MemoryGraph(graph) => graph
                .nodes
                .iter()
                .enumerate()
                .map(|(index, node)| {
                    serde_json::from_value(serde_json::Value::Object(node.clone())).map_err(|e| {
                        UnreadableNode {
                            index,
                            reason: crate::text::one_line(&e.to_string(), 200),
                        }
                    })
                })
                .collect(),
        }
    }

    /// Whether the server listed a graph (`tree_text`) rather than a list.
    pub fn is_graph(&self) -> bool {
        matches!(self, MemoryCollection::MemoryGraph(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn collection(value: serde_json::Value) -> MemoryCollection {
        serde_json::from_value(value).expect("a memory collection")
    }

    #[test]
    fn a_list_reads_as_its_items() {
        let list = collection(json!([{"id": "a", "memory": "one", "metadata": {}}]));
        let items = list.items().expect("items");
        assert_eq!((items.len(), items[0].memory.as_str()), (1, "one"));
        assert!(!list.is_graph());
    }

    #[test]
    fn graph_nodes_read_as_items_with_their_metadata() {
        let graph = collection(json!({
            "nodes": [
                {"id": "n2", "memory": "newer", "metadata": {"user_id": "u", "sources": ["{}"], "memory_type": "UserMemory"}},
                {"id": "n1", "memory": "older", "metadata": {"user_id": "u"}}
            ],
            "edges": [], "total_nodes": 2, "total_edges": 0
        }));
        assert!(graph.is_graph());
        let items = graph.items().expect("items");
        let ids: Vec<&str> = items.iter().map(|m| m.id.as_str()).collect();
        assert_eq!(ids, ["n2", "n1"]);
        assert_eq!(items[0].metadata.user_id.as_deref(), Some("u"));
    }

    #[test]
    fn a_node_without_a_memory_is_named_by_its_position() {
        let graph = collection(json!({
            "nodes": [{"id": "n1", "memory": "ok", "metadata": {}}, {"id": "n2", "metadata": {}}],
            "edges": []
        }));
        let err = graph.items().unwrap_err();
        assert_eq!(err.index, 1);
        assert!(err.to_string().contains("memory"), "{err}");
    }
}
