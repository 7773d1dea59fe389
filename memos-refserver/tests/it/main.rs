//! memos-refserver's integration tests, in one binary (one link instead of one per file),
//! and the helpers they share.
//!
//! The tests of `reference_server` share the process-wide server (and those of `backends`
//! one per storage backend); those of `lifecycle` start their own servers and the
//! `memos-reference-server` binary.

mod backends;
mod installer;
mod lifecycle;
mod privacy;
mod product;
mod reference_server;

use memos_refserver::ReferenceServer;
use serde_json::Value;

/// The process-wide server, or `None` when the test should be skipped.
pub async fn shared() -> Option<&'static ReferenceServer> {
    memos_refserver::testing::shared_or_skip().await
}

/// A client for loopback that ignores proxy settings. One per test: a client is
/// tied to the runtime it was first used on.
pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("HTTP client")
}

/// Sends a request and returns the status and the JSON body; panics with context on
/// transport errors or non-JSON bodies.
pub async fn call(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = http.request(method.clone(), url);
    if let Some(body) = body {
        req = req.json(&body);
    }
    let resp = req
        .send()
        .await
        .unwrap_or_else(|e| panic!("{method} {url}: {e}"));
    let status = resp.status().as_u16();
    let text = resp
        .text()
        .await
        .unwrap_or_else(|e| panic!("{method} {url}: reading body: {e}"));
    let json = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{method} {url}: not JSON ({e}): {text}"));
    (status, json)
}

/// Like [`call`] but asserts a 200 envelope and returns `data`.
pub async fn ok(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    body: Option<Value>,
) -> Value {
    let (status, json) = call(http, method.clone(), url, body).await;
    assert_eq!(status, 200, "{method} {url} answered {json}");
    assert_eq!(json["code"], 200, "{method} {url} answered {json}");
    json["data"].clone()
}

/// The `memory` texts of `GET /memories` for one cube.
pub async fn memory_texts(
    http: &reqwest::Client,
    base: &str,
    cube: &str,
    user: &str,
) -> Vec<String> {
    let url = format!("{base}/memories?mem_cube_id={cube}&user_id={user}");
    let data = ok(http, reqwest::Method::GET, &url, None).await;
    let cubes = data["text_mem"].as_array().expect("text_mem list");
    assert_eq!(cubes.len(), 1, "{data}");
    assert_eq!(cubes[0]["cube_id"], cube);
    cubes[0]["memories"]
        .as_array()
        .expect("memories list")
        .iter()
        .map(|m| m["memory"].as_str().expect("memory text").to_string())
        .collect()
}
