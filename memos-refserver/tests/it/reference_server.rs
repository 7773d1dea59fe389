//! Tests against the process-wide shared reference server. Each test uses its own
//! cube ids and users, since they run concurrently on one server.

use crate::{memory_texts, ok, shared};
use memos_refserver::RequestKind;
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn users_lists_root_after_configure() {
    let Some(server) = shared().await else { return };
    let http = crate::http();
    let users = ok(
        &http,
        Method::GET,
        &format!("{}/users", server.base_url()),
        None,
    )
    .await;
    let root = users
        .as_array()
        .expect("user list")
        .iter()
        .find(|u| u["user_id"] == "root")
        .unwrap_or_else(|| panic!("no root in {users}"));
    assert_eq!(root["role"], "ROOT");
}

#[tokio::test]
async fn added_memory_content_is_listed() {
    let Some(server) = shared().await else { return };
    let http = crate::http();
    let base = server.base_url();
    let dir = server.cube_dirs()[1].to_string_lossy().into_owned();
    ok(
        &http,
        Method::POST,
        &format!("{base}/mem_cubes"),
        Some(json!({"mem_cube_name_or_path": dir, "mem_cube_id": "t-memory-cube", "user_id": "root"})),
    )
    .await;
    ok(
        &http,
        Method::POST,
        &format!("{base}/memories"),
        Some(json!({"memory_content": "The kettle is in the left cupboard", "mem_cube_id": "t-memory-cube", "user_id": "root"})),
    )
    .await;
    let texts = memory_texts(&http, base, "t-memory-cube", "root").await;
    assert_eq!(texts, ["The kettle is in the left cupboard"]);
}

#[tokio::test]
async fn chat_answers_through_the_fake_llm() {
    let Some(server) = shared().await else { return };
    let http = crate::http();
    let base = server.base_url();
    // A user of its own, so the memory count does not depend on other tests' cubes.
    ok(
        &http,
        Method::POST,
        &format!("{base}/users"),
        Some(json!({"user_id": "t-chat-user", "role": "USER"})),
    )
    .await;
    let dir = server.cube_dirs()[2].to_string_lossy().into_owned();
    ok(
        &http,
        Method::POST,
        &format!("{base}/mem_cubes"),
        Some(json!({"mem_cube_name_or_path": dir, "mem_cube_id": "t-chat-cube", "user_id": "t-chat-user"})),
    )
    .await;
    ok(
        &http,
        Method::POST,
        &format!("{base}/memories"),
        Some(json!({"memory_content": "Zed likes green tea", "mem_cube_id": "t-chat-cube", "user_id": "t-chat-user"})),
    )
    .await;

    let query = "What does Zed like to drink?";
    let answer = ok(
        &http,
        Method::POST,
        &format!("{base}/chat"),
        Some(json!({"query": query, "user_id": "t-chat-user"})),
    )
    .await;
    assert_eq!(answer, format!("Answer to \"{query}\" using 1 memories."));

    let seen = server
        .fake_llm()
        .requests()
        .into_iter()
        .find(|r| r.kind == RequestKind::Chat && r.message_texts().iter().any(|t| t == query))
        .expect("the fake LLM saw the chat request");
    let system = &seen.message_texts()[0];
    assert!(
        system.contains("## Memories:\n1. Zed likes green tea"),
        "{system}"
    );
}

/// Backs the finding documented on `ReferenceServer`: one directory registered under
/// several ids, by several users, gives independent cubes.
#[tokio::test]
async fn one_cube_dir_serves_many_ids_and_users() {
    let Some(server) = shared().await else { return };
    let http = crate::http();
    let base = server.base_url();
    let dir = server.cube_dirs()[3].to_string_lossy().into_owned();
    ok(
        &http,
        Method::POST,
        &format!("{base}/users"),
        Some(json!({"user_id": "t-multi-user", "role": "USER"})),
    )
    .await;
    for (cube, user) in [
        ("t-multi-a", "root"),
        ("t-multi-b", "root"),
        ("t-multi-c", "t-multi-user"),
    ] {
        ok(
            &http,
            Method::POST,
            &format!("{base}/mem_cubes"),
            Some(json!({"mem_cube_name_or_path": dir, "mem_cube_id": cube, "user_id": user})),
        )
        .await;
    }
    for (cube, user, text) in [
        ("t-multi-a", "root", "only in a"),
        ("t-multi-c", "t-multi-user", "only in c"),
    ] {
        ok(
            &http,
            Method::POST,
            &format!("{base}/memories"),
            Some(json!({"memory_content": text, "mem_cube_id": cube, "user_id": user})),
        )
        .await;
    }
    assert_eq!(
        memory_texts(&http, base, "t-multi-a", "root").await,
        ["only in a"]
    );
    assert!(memory_texts(&http, base, "t-multi-b", "root")
        .await
        .is_empty());
    assert_eq!(
        memory_texts(&http, base, "t-multi-c", "t-multi-user").await,
        ["only in c"]
    );
}

#[tokio::test]
async fn fake_llm_serves_models_and_embeddings() {
    let Some(server) = shared().await else { return };
    let http = crate::http();
    let llm = server.fake_llm_url();
    let models = http
        .get(format!("{llm}/models"))
        .send()
        .await
        .expect("models");
    let models: serde_json::Value = models.json().await.expect("models JSON");
    assert_eq!(
        models["data"][0]["id"],
        memos_refserver::fake_llm::CHAT_MODEL
    );
    let emb = http
        .post(format!("{llm}/embeddings"))
        .json(&json!({"model": "x", "input": ["a", "b"]}))
        .send()
        .await
        .expect("embeddings");
    let emb: serde_json::Value = emb.json().await.expect("embeddings JSON");
    assert_eq!(emb["data"].as_array().map(Vec::len), Some(2));
    assert_eq!(
        emb["data"][0]["embedding"].as_array().map(Vec::len),
        Some(memos_refserver::fake_llm::EMBEDDING_DIM)
    );
}
