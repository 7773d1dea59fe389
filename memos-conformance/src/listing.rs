//! The memories of one cube in a `GET /memories` or `/search` answer, in either shape the
//! spec's memory-list `oneOf` allows: a list (`naive_text`, `general_text`) or a graph of
//! `nodes` and `edges` (`tree_text`), whose nodes carry the memories.

use serde_json::Value;

/// A memory as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    /// Its id.
    pub id: String,
    /// Its text.
    pub memory: String,
}

/// The memories listed for `cube` under `data.text_mem`; `Err` says what is missing.
pub fn cube_memories(body: &Value, cube: &str) -> Result<Vec<Listed>, String> {
    let entries = body
        .pointer("/data/text_mem")
        .and_then(Value::as_array)
        .ok_or_else(|| "the answer has no data.text_mem list".to_owned())?;
    let Some(entry) = entries
        .iter()
        .find(|e| e.get("cube_id").and_then(Value::as_str) == Some(cube))
    else {
        return Err(format!(
            "data.text_mem has no entry for cube {cube} (cubes: {})",
            entries
                .iter()
                .filter_map(|e| e.get("cube_id").and_then(Value::as_str))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    };
    let items: Vec<&Value> = match entry.get("memories") {
        Some(Value::Array(items)) => items.iter().collect(),
        Some(Value::Object(graph)) => match graph.get("nodes") {
            Some(Value::Array(nodes)) => nodes.iter().collect(),
            // A graph without nodes could hide memories: never read it as empty.
            _ => return Err(format!("cube {cube} lists a graph without a nodes list")),
        },
        _ => return Err(format!("cube {cube} has no memories list")),
    };
    Ok(items.into_iter().map(listed).collect())
}

fn listed(m: &Value) -> Listed {
    let text = |key: &str| {
        m.get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    Listed {
        id: text("id"),
        memory: text("memory"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_the_list_shape() {
        let body = json!({"data": {"text_mem": [
            {"cube_id": "other", "memories": [{"id": "x", "memory": "not this"}]},
            {"cube_id": "c", "memories": [{"id": "1", "memory": "one"}]}
        ]}});
        let got = cube_memories(&body, "c").unwrap();
        assert_eq!(
            got,
            vec![Listed {
                id: "1".into(),
                memory: "one".into()
            }]
        );
    }

    #[test]
    fn reads_the_graph_shape() {
        let body = json!({"data": {"text_mem": [{"cube_id": "c", "memories": {
            "nodes": [{"id": "1", "memory": "one", "metadata": {}}, {"id": "2", "memory": "two"}],
            "edges": [{"source": "1", "target": "2", "type": "PARENT"}]
        }}]}});
        let got = cube_memories(&body, "c").unwrap();
        assert_eq!(
            got.iter().map(|m| m.memory.as_str()).collect::<Vec<_>>(),
            ["one", "two"]
        );
    }

    #[test]
    fn a_graph_without_nodes_or_a_missing_cube_is_an_error() {
        let graph = json!({"data": {"text_mem": [{"cube_id": "c", "memories": {"edges": []}}]}});
        assert!(cube_memories(&graph, "c").is_err());
        let other = json!({"data": {"text_mem": [{"cube_id": "d", "memories": []}]}});
        assert!(cube_memories(&other, "c").unwrap_err().contains("cubes: d"));
        assert!(cube_memories(&json!({"data": null}), "c").is_err());
    }
}
