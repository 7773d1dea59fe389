//! The `/product` client (`memos_api::product`) against httpmock: a generated JSON operation,
//! and the hand-written `events()` of the stream operations (`memos_api::product_events`),
//! which answer a `memos_api::EventStream`.
//! The bodies are shaped as the 2.0.33 notes and `openapi/memos-product.yaml` describe them.

use futures::StreamExt as _;
use httpmock::prelude::*;
use memos_api::product::raw::Client;
use memos_api::product::types::{self, ChatStreamEvent};
use memos_api::{Error, EventStream, DEFAULT_MAX_EVENT_BYTES};
use serde::de::DeserializeOwned;
use serde_json::json;

fn chat_request() -> types::builder::ChatRequest {
    types::ChatRequest::builder()
        .user_id("alice")
        .query("Where do I live?")
}

/// Every item of a stream, in order.
async fn collect<T: DeserializeOwned>(events: EventStream<T>) -> Vec<memos_api::Result<T>> {
    events.collect().await
}

#[tokio::test]
async fn search_answers_typed_buckets() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/product/search")
                .json_body_includes(r#"{"query": "Lisbon", "user_id": "alice", "relativity": 0.0}"#);
            then.status(200).json_body(json!({
                "code": 200,
                "message": "Search completed successfully",
                "data": {
                    "text_mem": [{"cube_id": "alice-notes", "total_nodes": 1, "memories": [{
                        "id": "5f0c2a52-0d2e-4f57-9d8c-2b9f0e6f1a11",
                        "memory": "user: I moved to Lisbon in March.",
                        "ref_id": "[5f0c2a52]",
                        "metadata": {"memory_type": "UserMemory", "relativity": 0.82, "embedding": []}
                    }]}],
                    "act_mem": [], "para_mem": [], "pref_mem": [], "pref_note": "",
                    "tool_mem": [{"cube_id": "alice-notes", "total_nodes": 0, "memories": []}],
                    "skill_mem": [{"cube_id": "alice-notes", "total_nodes": 0, "memories": []}]
                }
            }));
        })
        .await;
    let client = Client::new(&server.base_url());
    let answer = client
        .search_memories()
        .body(
            types::SearchRequest::builder()
                .query("Lisbon")
                .user_id("alice")
                .relativity(0.0),
        )
        .send()
        .await
        .unwrap()
        .into_inner();
    mock.assert_async().await;
    let cube = &answer.data.text_mem[0];
    assert_eq!(cube.cube_id.as_deref(), Some("alice-notes"));
    assert_eq!(cube.memories[0].memory, "user: I moved to Lisbon in March.");
    assert_eq!(cube.memories[0].metadata.relativity, Some(0.82));
}

#[tokio::test]
async fn a_chat_stream_is_parsed_into_typed_events() {
    let server = MockServer::start_async().await;
    let body = concat!(
        "data: {\"type\": \"status\", \"data\": \"0\"}\n\n",
        ": a comment, skipped\n\n",
        "data: {\"type\": \"reference\", \"data\": [{\"metadata\": {\"id\": \"m1\", \"ref_id\": \"[m1]\"}}]}\n\n",
        "data: {\"type\": \"text\", \"data\": \"You live \"}\r\n\r\n",
        "data: {\"type\": \"text\", \"data\": \"in Lisbon.\"}\n\n",
        "data: {\"type\": \"time\", \"data\": {\"total_time\": 1.2, \"speed_improvement\": \"44.8%\"}}\n\n",
        "data: {\"type\": \"suggestion\", \"data\": [\"Where did I live before?\"]}\n\n",
        "data: {\"type\": \"end\"}\n\n",
    );
    server
        .mock_async(|when, then| {
            when.method(POST).path("/product/chat/stream");
            then.status(200)
                .header("content-type", "text/event-stream")
                .body(body);
        })
        .await;
    let client = Client::new(&server.base_url());
    let events = client
        .chat_stream()
        .body(chat_request())
        .events()
        .await
        .unwrap();
    let events: Vec<ChatStreamEvent> = collect(events)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();

    assert_eq!(events.len(), 7, "{events:#?}");
    let text: String = events
        .iter()
        .filter_map(|event| match event {
            ChatStreamEvent::TextEvent(text) => Some(text.data.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(text, "You live in Lisbon.");
    assert!(matches!(&events[0], ChatStreamEvent::StatusEvent(s) if s.data == "0"));
    assert!(
        matches!(&events[1], ChatStreamEvent::ReferenceEvent(r) if r.data[0].metadata.as_ref().and_then(|m| m.ref_id.as_deref()) == Some("[m1]"))
    );
    assert!(matches!(&events[4], ChatStreamEvent::TimeEvent(t) if t.data.total_time == 1.2));
    assert!(matches!(&events[6], ChatStreamEvent::EndEvent(_)));
}

#[tokio::test]
async fn the_error_frame_with_content_instead_of_data_is_an_error_event() {
    // The defect the spec names: the stream's own exception handler sends `content`.
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(POST).path("/product/chat/stream/playground");
            then.status(200).header("content-type", "text/event-stream").body(
                "data: {\"type\": \"error\", \"content\": \"Traceback (most recent call last): ...\"}\n\n",
            );
        })
        .await;
    let client = Client::new(&server.base_url());
    let events = client
        .chat_stream_playground()
        .body(
            types::ChatPlaygroundRequest::builder()
                .user_id("alice")
                .query("hi"),
        )
        .events()
        .await
        .unwrap();
    let events = collect(events).await;
    assert_eq!(events.len(), 1);
    match &events[0] {
        Ok(ChatStreamEvent::ErrorEvent(error)) => {
            assert_eq!(error.data, None);
            assert!(error.content.as_deref().unwrap().starts_with("Traceback"));
        }
        other => panic!("expected an error event, got {other:?}"),
    }
}

#[tokio::test]
async fn a_503_before_the_stream_is_the_error_envelope() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(POST).path("/product/chat/stream");
            then.status(503).json_body(
                json!({"code": 503, "message": "Chat service is not available", "data": null}),
            );
        })
        .await;
    let client = Client::new(&server.base_url());
    let err = match client.chat_stream().body(chat_request()).events().await {
        Ok(_) => panic!("a 503 must not start a stream"),
        Err(err) => err,
    };
    match err {
        memos_api::product::raw::Error::ErrorResponse(response) => {
            assert_eq!(response.status(), 503);
            assert_eq!(response.into_inner().code, Some(503));
        }
        other => panic!("expected the error envelope, got {other:?}"),
    }
}

#[tokio::test]
async fn scheduler_progress_is_parsed_and_bad_json_ends_the_stream() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/product/scheduler/wait/stream")
                .query_param("user_name", "alice");
            then.status(200)
                .header("content-type", "text/event-stream; charset=utf-8")
                .body(concat!(
                    "data: {\"user_name\": \"alice\", \"active_tasks\": 1, \"elapsed_seconds\": 0.0, \"status\": \"running\", \"instance_id\": \"h:1:2\"}\n\n",
                    "data: {not json\n\n",
                    "data: {\"user_name\": \"alice\", \"active_tasks\": 0, \"elapsed_seconds\": 0.5, \"status\": \"idle\", \"instance_id\": \"h:1:2\"}\n\n",
                ));
        })
        .await;
    let client = Client::new(&server.base_url());
    let events = client
        .scheduler_wait_stream()
        .user_name("alice")
        .events()
        .await
        .unwrap();
    let events = collect(events).await;
    assert_eq!(events.len(), 2, "{events:?}");
    let first = events[0].as_ref().unwrap();
    assert_eq!(first.status, types::SchedulerProgressEventStatus::Running);
    assert_eq!(first.active_tasks, Some(1));
    let err = events[1].as_ref().unwrap_err();
    assert!(
        matches!(err, Error::InvalidResponse { body_start, operation: "scheduler_wait_stream", .. } if body_start == "{not json"),
        "{err}"
    );
}

#[tokio::test]
async fn an_event_past_the_default_cap_stops_the_stream() {
    let server = MockServer::start_async().await;
    let cap = usize::try_from(DEFAULT_MAX_EVENT_BYTES).unwrap();
    let long = format!(
        "data: {{\"type\": \"text\", \"data\": \"{}\"}}\n\n",
        "x".repeat(cap)
    );
    server
        .mock_async(|when, then| {
            when.method(POST).path("/product/chat/stream");
            then.status(200)
                .header("content-type", "text/event-stream")
                .body(format!("data: {{\"type\": \"end\"}}\n\n{long}{long}"));
        })
        .await;
    let client = Client::new(&server.base_url());
    let events = client
        .chat_stream()
        .body(chat_request())
        .events()
        .await
        .unwrap();
    let events = collect(events).await;
    assert_eq!(events.len(), 2, "{events:?}");
    assert!(matches!(events[0], Ok(ChatStreamEvent::EndEvent(_))));
    assert!(
        matches!(&events[1], Err(Error::ResponseTooLarge { limit, operation: "chat_stream", .. }) if *limit == DEFAULT_MAX_EVENT_BYTES),
        "{:?}",
        events[1]
    );
}
