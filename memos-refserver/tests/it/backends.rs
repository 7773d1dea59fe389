//! The storage backends other than naive_text: what a cube of each stores and lists, that
//! cubes registered from one directory share its storage, and that the tree_text
//! database dies with the server.

use std::path::Path;
use std::time::Duration;

use memos_refserver::{testing, Backend, RequestKind, StartOptions};
use reqwest::Method;
use serde_json::{json, Value};

use crate::{call, ok};

async fn register(http: &reqwest::Client, base: &str, dir: &Path, cube: &str) -> (u16, Value) {
    call(
        http,
        Method::POST,
        &format!("{base}/mem_cubes"),
        Some(json!({"mem_cube_name_or_path": dir, "mem_cube_id": cube, "user_id": "root"})),
    )
    .await
}

async fn add_session(http: &reqwest::Client, base: &str, cube: &str, texts: [&str; 2]) {
    ok(
        http,
        Method::POST,
        &format!("{base}/memories"),
        Some(json!({"mem_cube_id": cube, "user_id": "root", "messages": [
            {"role": "user", "content": texts[0]},
            {"role": "assistant", "content": texts[1]}
        ]})),
    )
    .await;
}

async fn listed(http: &reqwest::Client, base: &str, cube: &str) -> Value {
    let url = format!("{base}/memories?mem_cube_id={cube}&user_id=root");
    let data = ok(http, Method::GET, &url, None).await;
    data["text_mem"][0]["memories"].clone()
}

#[tokio::test]
async fn general_text_lists_what_it_embedded_and_locks_its_directory() {
    let Some(server) = testing::shared_or_skip_for(Backend::GeneralText).await else {
        return;
    };
    assert_eq!(server.backend(), Backend::GeneralText);
    let (http, base) = (crate::http(), server.base_url());
    let dir = &server.cube_dirs()[0];
    let (status, body) = register(&http, base, dir, "t-general-a").await;
    assert_eq!(status, 200, "{body}");
    add_session(
        &http,
        base,
        "t-general-a",
        ["Olga grows basil", "Basil, noted."],
    )
    .await;

    let memories = listed(&http, base, "t-general-a").await;
    let mut texts: Vec<&str> = memories
        .as_array()
        .unwrap_or_else(|| panic!("general_text lists a plain list: {memories}"))
        .iter()
        .filter_map(|m| m["memory"].as_str())
        .collect();
    texts.sort_unstable(); // Qdrant lists in no particular order.
    assert_eq!(texts, ["Basil, noted.", "Olga grows basil"]);
    assert!(
        dir.join("qdrant").is_dir(),
        "vectors live in the cube directory"
    );
    assert!(
        server
            .fake_llm()
            .requests()
            .iter()
            .any(|r| r.kind == RequestKind::Embeddings && r.path == "/api/embed"),
        "adds embed through the Ollama-style endpoint"
    );

    // The embedded Qdrant holds a lock on the directory's storage.
    let (status, body) = register(&http, base, dir, "t-general-b").await;
    assert_eq!(status, 500, "{body}");
    let message = body["message"].as_str().unwrap_or_default();
    assert!(message.contains("already accessed"), "{message}");
}

#[tokio::test]
async fn tree_text_lists_a_graph_whose_nodes_carry_their_sources_and_shares_its_directory() {
    let Some(server) = testing::shared_or_skip_for(Backend::TreeText).await else {
        return;
    };
    assert_eq!(server.backend(), Backend::TreeText);
    let (http, base) = (crate::http(), server.base_url());
    let dir = &server.cube_dirs()[0];
    for cube in ["t-tree-a", "t-tree-b"] {
        let (status, body) = register(&http, base, dir, cube).await;
        assert_eq!(status, 200, "{body}");
    }
    add_session(
        &http,
        base,
        "t-tree-a",
        ["Piet repairs bikes", "Bikes, noted."],
    )
    .await;

    let graph = listed(&http, base, "t-tree-a").await;
    let nodes = graph["nodes"]
        .as_array()
        .unwrap_or_else(|| panic!("tree_text lists a graph: {graph}"));
    assert!(!nodes.is_empty(), "{graph}");
    for node in nodes {
        let sources: Vec<Value> = node["metadata"]["sources"]
            .as_array()
            .unwrap_or_else(|| panic!("a node without sources: {node}"))
            .iter()
            .map(|s| serde_json::from_str(s.as_str().unwrap_or("null")).unwrap_or(Value::Null))
            .collect();
        let contents: Vec<&str> = sources
            .iter()
            .filter_map(|s| s["content"].as_str())
            .collect();
        assert!(
            contents.contains(&"Piet repairs bikes"),
            "each source is the JSON of a message of the add: {node}"
        );
    }
    // A second cube id from the same directory reads the same graph.
    let other = listed(&http, base, "t-tree-b").await;
    assert_eq!(other["nodes"].as_array().map(Vec::len), Some(nodes.len()));
}

fn processes_mentioning(needle: &str) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|c| String::from_utf8_lossy(&c).contains(needle))
        })
        .collect()
}

#[tokio::test]
async fn a_tree_text_server_takes_its_database_with_it_when_it_stops() {
    let options = StartOptions {
        backend: Backend::TreeText,
        cube_count: 1,
        ..StartOptions::default()
    };
    let Some(server) = testing::start_or_skip(options).await else {
        return;
    };
    let data = server.temp_root().join("postgres");
    let data_text = data.to_string_lossy().into_owned();
    assert!(
        data.join("PG_VERSION").is_file(),
        "a cluster in {data_text}"
    );
    assert!(
        !processes_mentioning(&data_text).is_empty(),
        "postgres runs on {data_text}"
    );
    drop(server);
    assert!(!data.exists(), "the database files are deleted");
    let mut left = processes_mentioning(&data_text);
    for _ in 0..50 {
        if left.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        left = processes_mentioning(&data_text);
    }
    assert!(left.is_empty(), "postgres processes left: {left:?}");
}
