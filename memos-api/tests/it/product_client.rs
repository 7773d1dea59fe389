//! `memos_api::product::Client` against httpmock and tiny axum servers: the layer it shares
//! with `Client` (credentials, retries by operation, errors, redaction, the body cap) and
//! what is its own (the `/product` envelope's exceptions, typed event streams with an idle
//! timeout). Bodies are shaped as `openapi/memos-product.yaml` describes them.

use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::header;
use axum::response::Response;
use axum::routing::post;
use axum::Router;
use futures::StreamExt as _;
use httpmock::prelude::*;
use httpmock::Mock;
use memos_api::product::types::{self, ChatStreamEvent};
use memos_api::{product, ClientBuilder, Error, EventStream, RetryPolicy};
use serde_json::json;

use crate::common::{fast_retries, first_n_requests, Cred, TOKEN};
use crate::support::serve;

const SEARCH_OK: &str = r#"{"code":200,"message":"Search completed successfully","data":{"text_mem":[{"cube_id":"alice-notes","total_nodes":1,"memories":[{"id":"m1","memory":"user: I moved to Lisbon in March.","ref_id":"[m1]","metadata":{"memory_type":"UserMemory","relativity":0.82}}]}],"act_mem":[],"para_mem":[],"pref_mem":[],"pref_note":"","tool_mem":[],"skill_mem":[]}}"#;
const ADD_OK: &str = r#"{"code":200,"message":"Memory added successfully","data":[{"memory":"user: I moved to Lisbon in March.","memory_id":"m1","memory_type":"UserMemory","cube_id":"alice-notes"}]}"#;
const CHAT_EVENTS: &str = concat!(
    "data: {\"type\": \"status\", \"data\": \"0\"}\n\n",
    "data: {\"type\": \"text\", \"data\": \"You live \"}\n\n",
    "data: {\"type\": \"text\", \"data\": \"in Lisbon.\"}\n\n",
    "data: {\"type\": \"end\"}\n\n",
);

fn builder(base_url: &str) -> ClientBuilder<product::Client> {
    product::Client::builder(base_url).retry_policy(RetryPolicy::none())
}

fn client(server: &MockServer) -> product::Client {
    builder(&server.base_url())
        .build()
        .expect("the client builds")
}

fn search() -> types::builder::SearchRequest {
    types::SearchRequest::builder()
        .query("Lisbon")
        .user_id("alice")
        .relativity(0.0)
}

fn add() -> types::builder::AddRequest {
    types::AddRequest::builder()
        .user_id("alice")
        .writable_cube_ids(vec!["alice-notes".to_owned()])
        .messages(types::MessagesInput::Text(
            "I moved to Lisbon in March.".into(),
        ))
}

fn chat() -> types::builder::ChatRequest {
    types::ChatRequest::builder()
        .user_id("alice")
        .query("Where do I live?")
}

/// A client for `server` that retries fast.
fn retrying(server: &MockServer) -> product::Client {
    product::Client::builder(server.base_url())
        .retry_policy(fast_retries(3))
        .build()
        .expect("the client builds")
}

/// A mock answering `POST path` with 200 and the JSON `body`. Created after a mock limited
/// by `first_n_requests`, it answers the requests that one leaves.
async fn json_ok<'a>(server: &'a MockServer, path: &str, body: &'static str) -> Mock<'a> {
    server
        .mock_async(|when, then| {
            when.method(POST).path(path);
            then.status(200)
                .header("content-type", "application/json")
                .body(body);
        })
        .await
}

/// Every item of a stream, in order.
async fn collect<T>(events: EventStream<T>) -> Vec<memos_api::Result<T>> {
    events.collect().await
}

/// What an error shows a person or a log, in every form.
fn shown(err: &Error) -> String {
    format!("{err} {err:?}")
}

#[tokio::test]
async fn every_request_carries_the_credential_and_answers_typed_data() {
    for cred in Cred::BOTH {
        let server = MockServer::start_async().await;
        let mock = server
            .mock_async(|when, then| {
                when.method(POST)
                    .path("/product/search")
                    .header("authorization", cred.header())
                    .json_body_includes(r#"{"query": "Lisbon", "user_id": "alice"}"#);
                then.status(200)
                    .header("content-type", "application/json")
                    .body(SEARCH_OK);
            })
            .await;
        let client = cred.apply(builder(&server.base_url())).build().unwrap();
        let found = client.search_memories(search()).await.unwrap();
        mock.assert_async().await;
        assert_eq!(
            found.text_mem[0].memories[0].memory,
            "user: I moved to Lisbon in March."
        );
        assert!(!format!("{client:?}").contains(cred.secret()));
    }
}

#[tokio::test]
async fn a_read_sent_as_post_is_retried_after_a_gateway_error() {
    let server = MockServer::start_async().await;
    let failing = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/product/search")
                .is_true(first_n_requests(2));
            then.status(503).body("upstream reset");
        })
        .await;
    let ok = json_ok(&server, "/product/search", SEARCH_OK).await;
    let found = retrying(&server).search_memories(search()).await.unwrap();
    assert_eq!(found.text_mem.len(), 1);
    assert_eq!(failing.calls_async().await, 2);
    assert_eq!(ok.calls_async().await, 1);
}

#[tokio::test]
async fn an_add_is_not_sent_again_after_a_gateway_error() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(POST).path("/product/add");
            then.status(503).body("upstream reset");
        })
        .await;
    let err = retrying(&server).add_memories(add()).await.unwrap_err();
    assert_eq!(mock.calls_async().await, 1);
    assert_eq!(err.status().map(|s| s.as_u16()), Some(503));
    assert!(err.may_have_been_applied(), "{err}");
    assert!(!err.safe_to_retry());
}

#[tokio::test]
async fn an_add_is_sent_again_when_the_server_proves_it_did_not_take_it() {
    let server = MockServer::start_async().await;
    let refused = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/product/add")
                .is_true(first_n_requests(1));
            then.status(429)
                .header("retry-after", "0")
                .body("slow down");
        })
        .await;
    let ok = json_ok(&server, "/product/add", ADD_OK).await;
    let added = retrying(&server).add_memories(add()).await.unwrap();
    assert!(
        matches!(&added[0], types::AddResult::AddedMemory(memory) if memory.memory_id == "m1"),
        "{added:?}"
    );
    assert_eq!(
        (refused.calls_async().await, ok.calls_async().await),
        (1, 1)
    );
}

#[tokio::test]
async fn error_envelopes_carry_code_and_message() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(POST).path("/product/create_cube");
            then.status(400).json_body(json!({
                "code": 400, "message": "Owner user 'alice' does not exist or is inactive", "data": null
            }));
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(POST).path("/product/get_all");
            then.status(200).json_body(json!({
                "code": 500, "message": "'PostgresGraphDB' object has no attribute 'x'", "data": []
            }));
        })
        .await;
    let client = client(&server);
    let err = client
        .create_cube(
            types::CreateCubeRequest::builder()
                .cube_name("notes")
                .owner_id("alice"),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Api { .. }), "{err:?}");
    assert_eq!(err.code(), Some(400));
    assert_eq!(
        err.message(),
        Some("Owner user 'alice' does not exist or is inactive")
    );
    assert!(!err.may_have_been_applied());

    // A success status whose envelope says 500 is not a success.
    let err = client
        .get_all_memories(
            types::GetAllRequest::builder()
                .user_id("alice")
                .memory_type(types::GetAllRequestMemoryType::TextMem),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidResponse { .. }), "{err:?}");
    assert!(
        err.to_string().contains("error envelope, code 500"),
        "{err}"
    );
}

#[tokio::test]
async fn a_422_envelope_keeps_its_message_and_field_details() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(POST).path("/product/search");
            then.status(422).json_body(json!({
                "code": 422,
                "message": "Parameter validation error on POST /product/search: [body -> query] Field required (type: missing)",
                "detail": [{"type": "missing", "loc": ["body", "query"], "msg": "Field required", "input": {"user_id": "alice"}}],
                "data": null
            }));
        })
        .await;
    let err = client(&server).search_memories(search()).await.unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(422));
    assert_eq!(err.code(), Some(422));
    assert!(err.message().unwrap().contains("[body -> query]"), "{err}");
    let details = err.validation_details();
    assert_eq!(details.len(), 1);
    assert_eq!(details[0].message(), "Field required");
    assert!(
        err.to_string().contains("body.query: Field required"),
        "{err}"
    );
}

#[tokio::test]
async fn starlettes_404_is_an_api_error_with_its_detail() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(GET).path("/product/get_memory/a%20b");
            then.status(404).json_body(json!({"detail": "Not Found"}));
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(POST).path("/product/suggestions");
            then.status(405)
                .json_body(json!({"detail": "Method Not Allowed"}));
        })
        .await;
    let client = client(&server);
    let err = client.get_memory("a b").await.unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(404));
    assert_eq!(err.message(), Some("Not Found"));

    // 405 is not in the spec for this operation: the same error all the same.
    let err = client
        .get_suggestions(
            types::SuggestionRequest::builder()
                .user_id("alice")
                .mem_cube_id("alice-notes"),
        )
        .await
        .unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(405));
    assert_eq!(err.message(), Some("Method Not Allowed"));

    // A path parameter that would change the path is refused before sending.
    let err = client.get_memory("..").await.unwrap_err();
    assert!(matches!(err, Error::InvalidRequest { .. }), "{err:?}");
}

#[tokio::test]
async fn get_memory_answers_none_for_the_not_found_200() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(GET).path("/product/get_memory/m1");
            then.status(200).json_body(json!({
                "code": 200, "message": "Memory retrieved successfully",
                "data": {"id": "m1", "memory": "user: I moved to Lisbon in March.", "metadata": {"memory_type": "UserMemory"}}
            }));
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(GET).path("/product/get_memory/m2");
            then.status(200).json_body(json!({
                "code": 200, "message": "Memory with ID m2 not found", "data": null
            }));
        })
        .await;
    let client = client(&server);
    let found = client.get_memory("m1").await.unwrap().expect("a memory");
    assert_eq!(found.memory, "user: I moved to Lisbon in March.");
    assert!(client.get_memory("m2").await.unwrap().is_none());
}

#[tokio::test]
async fn a_delete_that_reports_failure_is_an_error_with_the_reason() {
    let server = MockServer::start_async().await;
    let reason = "Exactly one of memory_ids, file_ids, filter or user_id/session_id must be given";
    server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/product/delete_memory")
                .json_body_includes(r#"{"memory_ids": ["m1"]}"#);
            then.status(200).json_body(json!({
                "code": 200, "message": "Memories deleted successfully", "data": {"status": "success"}
            }));
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(POST).path("/product/delete_memory");
            then.status(200)
                .json_body(json!({"code": 200, "message": reason, "data": {"status": "failure"}}));
        })
        .await;
    let client = client(&server);
    client
        .delete_memories(
            types::DeleteMemoryRequest::builder()
                .writable_cube_ids(vec!["alice-notes".to_owned()])
                .memory_ids(vec!["m1".to_owned()]),
        )
        .await
        .unwrap();
    let err = client
        .delete_memories(types::DeleteMemoryRequest::builder())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::ReportedFailure { .. }), "{err:?}");
    assert_eq!(err.message(), Some(reason));
    assert_eq!(err.status().map(|s| s.as_u16()), Some(200));
    assert!(err.may_have_been_applied());
    assert!(!err.safe_to_retry());
}

#[tokio::test]
async fn answers_without_code_return_their_data() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(POST).path("/product/chat/complete");
            then.status(200).json_body(json!({
                "message": "Chat completed successfully",
                "data": {"response": "You live in Lisbon.", "reasoning": ""}
            }));
        })
        .await;
    let wait = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/product/scheduler/wait")
                .query_param("user_name", "alice")
                .query_param("timeout_seconds", "2.5");
            then.status(200).json_body(json!({
                "message": "idle",
                "data": {"running_tasks": 0, "waited_seconds": 0.002, "timed_out": false, "user_name": "alice"}
            }));
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(GET).path("/health");
            then.status(200)
                .json_body(json!({"status": "healthy", "service": "memos", "version": "2.0.33"}));
        })
        .await;
    let client = client(&server);
    let answer = client.chat_complete(chat()).await.unwrap();
    assert_eq!(answer.response, "You live in Lisbon.");
    let waited = client
        .scheduler_wait("alice", Some(Duration::from_millis(2500)), None)
        .await
        .unwrap();
    wait.assert_async().await;
    assert!(!waited.timed_out);
    let health = client.health_check().await.unwrap();
    assert_eq!(health.status, "healthy");
}

#[tokio::test]
async fn an_echoed_token_is_redacted_from_errors() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(POST).path("/product/search");
            then.status(401).json_body(json!({
                "code": 401, "message": format!("bad header: Bearer {TOKEN}"), "data": null
            }));
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(POST).path("/product/delete_memory");
            then.status(200).json_body(json!({
                "code": 200, "message": format!("nothing selected by Bearer {TOKEN}"), "data": {"status": "failure"}
            }));
        })
        .await;
    let client = Cred::Bearer
        .apply(builder(&server.base_url()))
        .build()
        .unwrap();
    let err = client.search_memories(search()).await.unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(401));
    assert!(err.message().unwrap().contains("<redacted>"), "{err}");
    assert!(!shown(&err).contains(TOKEN), "{err:?}");
    let err = client
        .delete_memories(types::DeleteMemoryRequest::builder())
        .await
        .unwrap_err();
    assert!(!shown(&err).contains(TOKEN), "{err:?}");
}

#[tokio::test]
async fn an_answer_past_the_cap_is_refused() {
    let server = MockServer::start_async().await;
    json_ok(&server, "/product/search", SEARCH_OK).await;
    let client = builder(&server.base_url())
        .max_response_bytes(64)
        .build()
        .unwrap();
    let err = client.search_memories(search()).await.unwrap_err();
    assert!(
        matches!(err, Error::ResponseTooLarge { limit: 64, .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_chat_stream_goes_through_the_layer_as_typed_events() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/product/chat/stream")
                .header("authorization", Cred::Bearer.header())
                .json_body_includes(r#"{"query": "Where do I live?"}"#);
            then.status(200)
                .header("content-type", "text/event-stream")
                .body(CHAT_EVENTS);
        })
        .await;
    // The stream as a whole is larger than the cap; each event is not.
    let client = Cred::Bearer
        .apply(builder(&server.base_url()))
        .max_response_bytes(60)
        .build()
        .unwrap();
    let events: Vec<ChatStreamEvent> = collect(client.chat_stream(chat()).await.unwrap())
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    mock.assert_async().await;
    assert_eq!(events.len(), 4, "{events:?}");
    let text: String = events
        .iter()
        .filter_map(|event| match event {
            ChatStreamEvent::TextEvent(text) => Some(text.data.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(text, "You live in Lisbon.");
    assert!(matches!(events[3], ChatStreamEvent::EndEvent(_)));
}

#[tokio::test]
async fn an_event_past_the_cap_or_not_json_ends_the_stream_with_an_error() {
    let server = MockServer::start_async().await;
    let long = format!(
        "data: {{\"type\": \"text\", \"data\": \"{}\"}}\n\n",
        "x".repeat(200)
    );
    server
        .mock_async(|when, then| {
            when.method(POST).path("/product/chat/stream");
            then.status(200)
                .header("content-type", "text/event-stream")
                .body(format!("data: {{\"type\": \"end\"}}\n\n{long}{long}"));
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(POST).path("/product/chat/stream/playground");
            then.status(200)
                .header("content-type", "text/event-stream")
                .body("data: {\"type\": \"text\", \"data\": \"hi\"}\n\ndata: {not json\n\n");
        })
        .await;
    let client = builder(&server.base_url())
        .max_response_bytes(100)
        .build()
        .unwrap();
    let events = collect(client.chat_stream(chat()).await.unwrap()).await;
    assert_eq!(events.len(), 2, "{events:?}");
    assert!(matches!(events[0], Ok(ChatStreamEvent::EndEvent(_))));
    assert!(
        matches!(
            events[1],
            Err(Error::ResponseTooLarge {
                operation: "chat_stream",
                limit: 100,
                ..
            })
        ),
        "{:?}",
        events[1]
    );

    let events = collect(
        client
            .chat_stream_playground(
                types::ChatPlaygroundRequest::builder()
                    .user_id("alice")
                    .query("hi"),
            )
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(events.len(), 2, "{events:?}");
    let err = events[1].as_ref().unwrap_err();
    assert!(matches!(err, Error::InvalidResponse { .. }), "{err:?}");
    assert!(err.to_string().contains("{not json"), "{err}");
}

#[tokio::test]
async fn a_stream_refused_before_it_starts_is_the_calls_error_and_chat_is_not_retried() {
    let server = MockServer::start_async().await;
    let chat_mock = server
        .mock_async(|when, then| {
            when.method(POST).path("/product/chat/stream");
            then.status(503).json_body(
                json!({"code": 503, "message": "Chat service is not available", "data": null}),
            );
        })
        .await;
    let progress = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/product/scheduler/wait/stream")
                .is_true(first_n_requests(1));
            then.status(503).body("upstream reset");
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(GET).path("/product/scheduler/wait/stream");
            then.status(200)
                .header("content-type", "text/event-stream; charset=utf-8")
                .body("data: {\"user_name\": \"alice\", \"active_tasks\": 0, \"elapsed_seconds\": 0.0, \"status\": \"idle\", \"instance_id\": \"h:1:2\"}\n\n");
        })
        .await;
    let client = retrying(&server);
    let err = match client.chat_stream(chat()).await {
        Ok(_) => panic!("a 503 must not start a stream"),
        Err(err) => err,
    };
    assert_eq!(err.code(), Some(503));
    assert_eq!(err.message(), Some("Chat service is not available"));
    assert_eq!(chat_mock.calls_async().await, 1);

    // The scheduler's progress stream is a read: its request is retried.
    let events = collect(
        client
            .scheduler_wait_stream("alice", None, None)
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(progress.calls_async().await, 1);
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(
        events[0].as_ref().unwrap().status,
        types::SchedulerProgressEventStatus::Idle
    );
}

/// A chat stream that sends `count` events `gap` apart, then either ends or stalls forever.
fn slow_stream(count: usize, gap: Duration, stall: bool) -> Router {
    Router::new().route(
        "/product/chat/stream",
        post(move || async move {
            let events = futures::stream::unfold(0usize, move |sent| async move {
                if sent == count {
                    if stall {
                        futures::future::pending::<()>().await;
                    }
                    return None;
                }
                if sent > 0 {
                    tokio::time::sleep(gap).await;
                }
                let frame = format!("data: {{\"type\": \"text\", \"data\": \"{sent}\"}}\n\n");
                Some((Ok::<_, std::io::Error>(Bytes::from(frame)), sent + 1))
            });
            Response::builder()
                .header(header::CONTENT_TYPE, "text/event-stream")
                .body(Body::from_stream(events))
                .expect("a response")
        }),
    )
}

#[tokio::test]
async fn a_stream_outlives_the_total_timeout_while_events_keep_coming() {
    let server = serve(slow_stream(5, Duration::from_millis(100), false)).await;
    let client = builder(&server.base_url)
        .timeout(Duration::from_millis(150))
        .stream_idle_timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let events = collect(client.chat_stream(chat()).await.unwrap()).await;
    assert_eq!(events.len(), 5, "{events:?}");
    assert!(events.iter().all(Result::is_ok), "{events:?}");
}

#[tokio::test]
async fn a_stalled_stream_fails_after_the_idle_timeout() {
    let server = serve(slow_stream(1, Duration::ZERO, true)).await;
    let client = builder(&server.base_url)
        .timeout(Duration::from_secs(60))
        .stream_idle_timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let events = client.chat_stream(chat()).await.unwrap();
    // A guard only: without the idle timeout the stream would never end.
    let events = tokio::time::timeout(Duration::from_secs(60), collect(events))
        .await
        .expect("the idle timeout ends the stream");
    assert_eq!(events.len(), 2, "{events:?}");
    assert!(events[0].is_ok());
    match &events[1] {
        Err(err @ Error::Transport { source, .. }) => {
            assert!(source.is_timeout(), "{err}");
            assert_eq!(err.operation(), Some("chat_stream"));
        }
        other => panic!("expected a timeout, got {other:?}"),
    }
}

#[tokio::test]
async fn scheduler_wait_may_take_its_wait_on_top_of_the_timeout() {
    // The server takes longer than the client's timeout, but less than the timeout plus
    // the wait the request asks for.
    let router = Router::new().route(
        "/product/scheduler/wait",
        post(|| async {
            tokio::time::sleep(Duration::from_secs(1)).await;
            axum::Json(json!({
                "message": "timeout",
                "data": {"running_tasks": 1, "waited_seconds": 1.0, "timed_out": true, "user_name": "alice"}
            }))
        }),
    );
    let server = serve(router).await;
    let client = builder(&server.base_url)
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let waited = client
        .scheduler_wait("alice", Some(Duration::from_secs(5)), None)
        .await
        .unwrap();
    assert!(waited.timed_out);
    assert_eq!(waited.running_tasks, 1);
}
