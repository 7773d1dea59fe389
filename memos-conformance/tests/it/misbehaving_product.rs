//! The product suite must be able to fail: a server whose `/openapi.json` says it is the
//! product server gets the product cases (and none of v1's), and one that does not store
//! what it is sent or breaks the stream grammar fails those cases.

use std::time::Duration;

use httpmock::{Method, MockServer};
use memos_conformance::{Api, Format, Outcome, RunOptions};
use serde_json::json;

/// A product server that stores nothing: every add answers the same made-up memory, every
/// listing is empty, and the chat stream is one frame whose data is not JSON.
async fn forgetful_product_server() -> MockServer {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(Method::GET).path("/openapi.json");
            then.status(200).json_body(
                json!({"openapi": "3.1.0", "info": {"title": "MemOS Server REST APIs", "version": "9.9.9"}, "paths": {}}),
            );
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(Method::POST).path("/product/add");
            then.status(200).json_body(json!({
                "code": 200, "message": "Memory added successfully",
                "data": [{"memory": "x", "memory_id": "11111111-1111-4111-8111-111111111111", "memory_type": "UserMemory", "cube_id": "c"}]
            }));
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(Method::POST).path("/product/get_memory");
            then.status(200).json_body(json!({
                "code": 200, "message": "Memories retrieved successfully",
                "data": {"text_mem": [], "pref_mem": [], "tool_mem": [], "skill_mem": []}
            }));
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(Method::POST).path("/product/chat/stream");
            then.status(200)
                .header("content-type", "text/event-stream")
                .body("data: not json\n\n");
        })
        .await;
    server
}

#[tokio::test]
async fn a_forgetful_product_server_fails_the_product_cases() {
    let server = forgetful_product_server().await;
    let mut options = RunOptions::live(server.base_url());
    options.patterns = vec![
        "add_memories.added_is_listed".into(),
        "chat_stream.frames_follow_grammar".into(),
        "create_user.*".into(),
    ];
    options.run_prefix = Some("conf-test".into());
    options.request_timeout = Duration::from_secs(2);
    let report = memos_conformance::run(options).await.report;
    let text = report.render(Format::Text);
    assert_eq!(report.target.api, Api::Product, "{text}");
    assert!(text.contains("API: product"), "{text}");
    // An unknown version has no known-defect list: every failure counts.
    assert_eq!(report.target.defect_list, None, "{text}");
    let names: Vec<&str> = report.cases.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "meta.server_version",
            "add_memories.added_is_listed",
            "chat_stream.frames_follow_grammar"
        ],
        "only product cases run: {text}"
    );
    for name in &names[1..] {
        let case = report.cases.iter().find(|c| c.name == *name).expect("case");
        assert_eq!(case.outcome, Outcome::Fail, "{name}: {text}");
    }
    assert!(text.contains("which does not hold the text sent"), "{text}");
    assert!(text.contains("data is not JSON"), "{text}");
    assert!(!report.summary.success);
}

#[tokio::test]
async fn api_v1_forced_on_a_product_server_runs_the_v1_cases() {
    let server = forgetful_product_server().await;
    let mut options = RunOptions::live(server.base_url());
    options.api = Some(Api::V1);
    options.patterns = vec!["get_current_user.*".into()];
    options.request_timeout = Duration::from_secs(2);
    let report = memos_conformance::run(options).await.report;
    assert_eq!(report.target.api, Api::V1);
    assert_eq!(report.target.api_learned, "--api");
    assert!(report
        .cases
        .iter()
        .any(|c| c.name.starts_with("get_current_user.")));
}
