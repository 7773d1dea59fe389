//! The `/product` server (MemoryOS 2.0.33) as `memos-refserver` runs it: offline, on the
//! private PostgreSQL, as upstream ships it unless the pgvector caster is asked for.

use memos_refserver::{testing, Api, StartOptions};
use reqwest::Method;
use serde_json::{json, Value};

use crate::{call, ok};

async fn product_server(pgvector_caster: bool) -> Option<memos_refserver::ReferenceServer> {
    testing::start_or_skip(StartOptions {
        api: Api::Product,
        pgvector_caster,
        ..StartOptions::default()
    })
    .await
}

/// Adds one message synchronously to `cube` and returns the answer's items.
async fn add(http: &reqwest::Client, base: &str, cube: &str, text: &str) -> Value {
    ok(
        http,
        Method::POST,
        &format!("{base}/product/add"),
        Some(json!({
            "user_id": "root", "session_id": "s-product", "writable_cube_ids": [cube],
            "messages": [{"role": "user", "content": text}],
            "async_mode": "sync", "mode": "fast"
        })),
    )
    .await
}

/// `info.x-memos-reference-server-patches` of the server's own document (null if none).
async fn patches(http: &reqwest::Client, base: &str) -> Value {
    let (status, document) = call(http, Method::GET, &format!("{base}/openapi.json"), None).await;
    assert_eq!(status, 200);
    assert_eq!(
        document["info"]["title"],
        json!("MemOS Server REST APIs"),
        "{}",
        document["info"]
    );
    document["info"][memos_refserver::PATCHES_KEY].clone()
}

async fn search(http: &reqwest::Client, base: &str, cube: &str, query: &str) -> Value {
    // relativity 0: the fake LLM's hash embeddings score below the default 0.45.
    ok(
        http,
        Method::POST,
        &format!("{base}/product/search"),
        Some(json!({"user_id": "root", "query": query, "readable_cube_ids": [cube], "relativity": 0})),
    )
    .await
}

#[tokio::test]
async fn the_product_server_stores_lists_and_streams_as_shipped() {
    let Some(server) = product_server(false).await else {
        return;
    };
    let (http, base) = (crate::http(), server.base_url());
    let (status, health) = call(&http, Method::GET, &format!("{base}/health"), None).await;
    assert_eq!(
        (status, &health["status"]),
        (200, &json!("healthy")),
        "{health}"
    );
    // As shipped: the document lists no patch.
    let info = patches(&http, base).await;
    assert!(info.is_null(), "{info}");

    let added = add(&http, base, "t-product", "Mina keeps bees").await;
    let id = added[0]["memory_id"]
        .as_str()
        .expect("the add answers ids")
        .to_owned();
    let listed = ok(
        &http,
        Method::POST,
        &format!("{base}/product/get_memory"),
        Some(json!({"mem_cube_id": "t-product", "user_id": "root"})),
    )
    .await;
    let memories = &listed["text_mem"][0]["memories"];
    assert!(
        memories
            .as_array()
            .is_some_and(|m| m.iter().any(|m| m["id"] == id.as_str())),
        "{listed}"
    );

    // The defect of the PostgreSQL graph store as shipped: search finds nothing.
    let found = search(&http, base, "t-product", "bees").await;
    assert_eq!(found["text_mem"], json!([]), "{found}");

    // Chat streams server-sent events from the fake LLM.
    let stream = http
        .post(format!("{base}/product/chat/stream"))
        .json(&json!({"user_id": "root", "query": "Who keeps bees?", "readable_cube_ids": ["t-product"]}))
        .send()
        .await
        .expect("chat/stream");
    assert_eq!(stream.status(), 200);
    let body = stream.text().await.expect("the stream ends");
    assert!(body.starts_with("data: {"), "{body}");
    assert!(body.contains(r#""type": "text""#), "{body}");
}

#[tokio::test]
async fn with_the_pgvector_caster_search_finds_what_was_added() {
    let Some(server) = product_server(true).await else {
        return;
    };
    let (http, base) = (crate::http(), server.base_url());
    // The patched server says so in its own document, where a conformance run reads it.
    assert_eq!(patches(&http, base).await, json!(["pgvector-caster"]));
    add(&http, base, "t-caster", "Olu plays the oboe").await;
    let found = search(&http, base, "t-caster", "oboe").await;
    let texts: Vec<&str> = found["text_mem"][0]["memories"]
        .as_array()
        .unwrap_or_else(|| panic!("a bucket for the cube: {found}"))
        .iter()
        .filter_map(|m| m["memory"].as_str())
        .collect();
    assert!(
        texts.iter().any(|t| t.contains("Olu plays the oboe")),
        "{found}"
    );
}
