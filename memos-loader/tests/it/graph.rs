//! Resuming against a server that lists a cube as a graph (the `tree_text` backend):
//! records in doubt are found by the source messages of the graph's nodes (httpmock).

use std::path::Path;
use std::time::Duration;

use httpmock::prelude::*;
use memos_loader as loader;
use memos_loader::{Input, LoadOptions, MessageOptions, Source};
use serde_json::{json, Value};

use crate::mock::client;
use crate::{counts, target, OK_BODY};

/// A node extracted from the messages `sources` (`(role, content)`), as the reference
/// server lists it: each source a JSON string.
fn node(id: &str, sources: &[(&str, &str)]) -> Value {
    let sources: Vec<String> = sources
        .iter()
        .enumerate()
        .map(|(index, (role, content))| {
            json!({"type": "chat", "role": role, "chat_time": "", "content": content, "index": index})
                .to_string()
        })
        .collect();
    json!({"id": id, "memory": format!("extracted by the LLM for {id}"),
           "metadata": {"memory_type": "UserMemory", "sources": sources, "background": ""}})
}

/// The body of `GET /memories` listing `nodes` as the graph of cube `c`.
fn graph(nodes: &[Value]) -> Value {
    json!({"code": 200, "message": "Memories retrieved successfully",
           "data": {"para_mem": [], "act_mem": [], "text_mem": [{"cube_id": "c", "memories": {
               "nodes": nodes, "edges": [], "total_nodes": nodes.len(), "total_edges": 0}}]}})
}

/// Session `s`: a question and the answer "ok" (repeated in every session).
fn session(s: usize) -> [(&'static str, String); 2] {
    [
        ("user", format!("question {s}")),
        ("assistant", "ok".to_owned()),
    ]
}

fn sessions_file(dir: &Path, count: usize) -> Source {
    let mut text = String::new();
    for s in 0..count {
        for (role, content) in session(s) {
            text.push_str(&json!({"role": role, "content": content, "session_id": s}).to_string());
            text.push('\n');
        }
    }
    let path = dir.join("sessions.jsonl");
    std::fs::write(&path, text).unwrap();
    Source::Messages {
        inputs: vec![Input::Path(path)],
        options: MessageOptions::default(),
    }
}

/// The nodes the extractor made of session `s`: one per message, each naming both.
fn nodes_of(s: usize) -> Vec<Value> {
    let messages = session(s);
    let sources: Vec<(&str, &str)> = messages.iter().map(|(r, c)| (*r, c.as_str())).collect();
    (0..2)
        .map(|i| node(&format!("s{s}-{i}"), &sources))
        .collect()
}

/// Run 1: sessions 1 and 2 get no answer (504). The cube held, before the import, a node
/// made from the same messages as session 2 (an earlier import of it). Run 2: the graph
/// holds session 1's nodes (the server stored it before the answer was lost), a node
/// whose sources cannot be read, and the old node: session 1 is not sent again, session 2
/// is (the old node is not the import's), the unreadable node is counted.
#[tokio::test]
async fn records_in_doubt_are_found_by_their_source_messages() {
    let server = MockServer::start_async().await;
    let old = node("old", &[("user", "question 2"), ("assistant", "ok")]);
    let mut get = server
        .mock_async(|when, then| {
            when.method(GET).path("/memories");
            then.status(200)
                .json_body(graph(std::slice::from_ref(&old)));
        })
        .await;
    let mut lost = Vec::new();
    for question in ["question 1", "question 2"] {
        lost.push(
            server
                .mock_async(|when, then| {
                    when.method(POST).path("/memories").body_includes(question);
                    then.status(504).body("gateway timeout");
                })
                .await,
        );
    }
    let ok = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/memories")
                .body_excludes("question 1")
                .body_excludes("question 2");
            then.status(200)
                .header("content-type", "application/json")
                .body(OK_BODY);
        })
        .await;
    let dir = tempfile::tempdir().unwrap();
    let source = sessions_file(dir.path(), 4);
    let options = LoadOptions {
        concurrency: 2,
        checkpoint: Some(dir.path().join("ck.json")),
        ..LoadOptions::default()
    };
    let client = client(&server.base_url(), Duration::from_secs(5));
    let first = loader::import(&client, &target(), &source, &options)
        .await
        .unwrap();
    assert_eq!(
        (first.records_acked, first.answer_lost),
        (2, 2),
        "{first:?}"
    );
    assert_eq!(ok.calls_async().await, 2);
    for mock in lost {
        assert_eq!(mock.calls_async().await, 1);
        mock.delete_async().await;
    }
    get.delete_async().await;
    let mut nodes: Vec<Value> = [3, 1, 0].into_iter().flat_map(nodes_of).collect();
    let mut broken = node("broken", &[("user", "question 2")]);
    broken["metadata"]["sources"] = json!(["{\"role\": \"user\", \"content\": "]);
    nodes.extend([broken, old]);
    get = server
        .mock_async(|when, then| {
            when.method(GET).path("/memories");
            then.status(200).json_body(graph(&nodes));
        })
        .await;
    let resent = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/memories")
                .body_includes("question 2");
            then.status(200)
                .header("content-type", "application/json")
                .body(OK_BODY);
        })
        .await;
    let second = loader::import(&client, &target(), &source, &options)
        .await
        .unwrap();
    assert!(second.is_complete(), "{second:?}");
    let report = second.reconciliation.clone().unwrap();
    assert_eq!(counts(&report), [2, 1, 1, 0, 0], "{report:?}");
    assert_eq!(report.ignored_nodes, 1);
    assert_eq!(second.possibly_duplicated, 0);
    assert_eq!((second.records_sent, resent.calls_async().await), (1, 1));
    assert_eq!(ok.calls_async().await, 2, "session 1 is not sent again");
    assert!(get.calls_async().await >= 1);
}
