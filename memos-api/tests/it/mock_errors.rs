//! How `memos_api::Error` reports each kind of failure, with the bodies the reference server
//! (or a proxy in front of it) really sends: the accessors, the `Display` text people read,
//! and that no credential ever shows in any output.

use crate::common;

use std::time::{Duration, Instant};

use common::{body, Cred};
use httpmock::prelude::*;
use httpmock::Then;
use memos_api::v1::types;
use memos_api::{v1::Client, Error, RetryPolicy};
use reqwest::StatusCode;
use serde_json::json;

fn reply(then: Then, status: u16, body: &str) -> Then {
    then.status(status)
        .header("content-type", "application/json")
        .body(body)
}

fn client(server: &MockServer) -> Client {
    Cred::Bearer.client(server)
}

/// The text of an error is one line and gives no advice (that is the program's to word).
fn assert_one_line(text: &str) {
    assert!(!text.contains('\n') && !text.contains("hint"), "{text}");
}

fn assert_api(err: &Error) {
    assert!(
        matches!(err, Error::Api { .. }),
        "expected Error::Api, got {err:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// The envelope errors: 400 and 500

#[tokio::test]
async fn envelope_400_gives_status_code_and_message() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(POST).path("/memories");
            reply(
                then,
                400,
                r#"{"code":400,"message":"Either messages, memory_content, or doc_path must be provided","data":null}"#,
            );
        })
        .await;
    let err = client(&server)
        .add_memories(types::MemoryCreate::builder().mem_cube_id("notes".to_owned()))
        .await
        .unwrap_err();
    mock.assert_async().await;
    assert_api(&err);
    assert_eq!(err.status(), Some(StatusCode::BAD_REQUEST));
    assert_eq!(err.code(), Some(400));
    assert_eq!(
        err.message(),
        Some("Either messages, memory_content, or doc_path must be provided")
    );
    assert!(err.validation_details().is_empty());
    assert_eq!(err.operation(), Some("add_memories"));
    let text = err.to_string();
    assert!(
        text.starts_with("add_memories failed with HTTP 400"),
        "{text}"
    );
    assert!(
        text.contains("Either messages, memory_content, or doc_path must be provided"),
        "{text}"
    );
    // The code equals the status, so it is not repeated.
    assert!(!text.contains("envelope code"), "{text}");
}

#[tokio::test]
async fn envelope_400_with_multi_line_pydantic_text_keeps_the_whole_message() {
    let message = "1 validation error for MemoryResponse\ndata\n  Input should be a valid dictionary [type=dict_type, input_value=TextualMemoryItem(id='5f0...', input_type=TextualMemoryItem]";
    let server = MockServer::start_async().await;
    let sent = json!({"code": 400, "message": message, "data": null}).to_string();
    let mock = server
        .mock_async(|when, then| {
            when.method(GET)
                .path(format!("/memories/notes/{}", body::MEMORY_ID));
            reply(then, 400, &sent);
        })
        .await;
    let err = client(&server)
        .get_memory("notes", body::MEMORY_ID, None)
        .await
        .unwrap_err();
    mock.assert_async().await;
    assert_eq!(err.status(), Some(StatusCode::BAD_REQUEST));
    assert_eq!(err.message(), Some(message));
    assert_eq!(err.operation(), Some("get_memory"));
    assert!(err
        .to_string()
        .contains("Input should be a valid dictionary"));
}

#[tokio::test]
async fn envelope_500_key_error_gives_the_quoted_key() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/memories")
                .query_param("mem_cube_id", "cube_b");
            reply(
                then,
                500,
                r#"{"code":500,"message":"'cube_b'","data":null}"#,
            );
        })
        .await;
    let err = client(&server)
        .list_memories(Some("cube_b"), None)
        .await
        .unwrap_err();
    mock.assert_async().await;
    assert_api(&err);
    assert_eq!(err.status(), Some(StatusCode::INTERNAL_SERVER_ERROR));
    assert_eq!(err.code(), Some(500));
    assert_eq!(err.message(), Some("'cube_b'"));
    assert!(err.validation_details().is_empty());
    assert_eq!(err.operation(), Some("list_memories"));
    let text = err.to_string();
    assert!(
        text.starts_with("list_memories failed with HTTP 500 Internal Server Error: 'cube_b'"),
        "{text}"
    );
    assert_one_line(&text);
}

#[tokio::test]
async fn envelope_500_assertion_on_delete_all_memories() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(DELETE).path("/memories/nope");
            reply(
                then,
                500,
                r#"{"code":500,"message":"MemCube with ID nope does not exist. please regiester","data":null}"#,
            );
        })
        .await;
    let err = client(&server)
        .delete_all_memories("nope", None)
        .await
        .unwrap_err();
    mock.assert_async().await;
    assert_eq!(err.status(), Some(StatusCode::INTERNAL_SERVER_ERROR));
    assert_eq!(err.code(), Some(500));
    assert_eq!(
        err.message(),
        Some("MemCube with ID nope does not exist. please regiester")
    );
    assert_eq!(err.operation(), Some("delete_all_memories"));
}

#[tokio::test]
async fn an_envelope_code_that_differs_from_the_status_is_shown() {
    // A proxy that rewrites the status: the envelope keeps the server's code.
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(POST).path("/chat");
            reply(
                then,
                500,
                r#"{"code":400,"message":"No response generated","data":null}"#,
            );
        })
        .await;
    let err = client(&server)
        .chat(types::ChatRequest::builder().query("hi"))
        .await
        .unwrap_err();
    mock.assert_async().await;
    assert_eq!(err.status(), Some(StatusCode::INTERNAL_SERVER_ERROR));
    assert_eq!(err.code(), Some(400));
    let text = err.to_string();
    assert!(text.contains("(envelope code 400)"), "{text}");
    assert!(text.contains("No response generated"), "{text}");
}

// ---------------------------------------------------------------------------------------------
// FastAPI's 422

#[tokio::test]
async fn fastapi_422_missing_field_gives_the_details_and_their_location() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(POST).path("/chat");
            reply(
                then,
                422,
                r#"{"detail":[{"type":"missing","loc":["body","query"],"msg":"Field required","input":{}}]}"#,
            );
        })
        .await;
    let err = client(&server)
        .chat(types::ChatRequest::builder().query("Where do I live?"))
        .await
        .unwrap_err();
    mock.assert_async().await;
    assert_api(&err);
    assert_eq!(err.status(), Some(StatusCode::UNPROCESSABLE_ENTITY));
    assert_eq!(err.code(), None);
    assert_eq!(err.message(), None);
    assert_eq!(err.operation(), Some("chat"));
    let details = err.validation_details();
    assert_eq!(details.len(), 1);
    assert_eq!(details[0].kind(), "missing");
    assert_eq!(details[0].location(), ["body", "query"]);
    assert_eq!(details[0].message(), "Field required");
    let text = err.to_string();
    assert_eq!(
        text,
        "chat failed with HTTP 422 Unprocessable Entity; body.query: Field required (missing)"
    );
}

#[tokio::test]
async fn fastapi_422_json_invalid_has_an_integer_in_its_location() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(POST).path("/memories");
            reply(
                then,
                422,
                r#"{"detail":[{"type":"json_invalid","loc":["body",17],"msg":"JSON decode error","input":{},"ctx":{"error":"Expecting ',' delimiter"}}]}"#,
            );
        })
        .await;
    let err = client(&server)
        .add_memories(types::MemoryCreate::builder().memory_content("x".to_owned()))
        .await
        .unwrap_err();
    mock.assert_async().await;
    assert_eq!(err.status(), Some(StatusCode::UNPROCESSABLE_ENTITY));
    let details = err.validation_details();
    assert_eq!(details.len(), 1);
    assert_eq!(details[0].kind(), "json_invalid");
    assert_eq!(details[0].location(), ["body", "17"]);
    let text = err.to_string();
    assert!(
        text.contains("body.17: JSON decode error (json_invalid)"),
        "{text}"
    );
}

#[tokio::test]
async fn fastapi_422_with_several_problems_lists_each_location() {
    // What the server answers to a config without `mem_reader`: two errors at misleading
    // locations (the typed client now refuses to send such a config at all).
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(POST).path("/configure");
            reply(
                then,
                422,
                r#"{"detail":[{"type":"missing","loc":["body","backend"],"msg":"Field required","input":{}},{"type":"missing","loc":["body","config"],"msg":"Field required","input":{}}]}"#,
            );
        })
        .await;
    let err = client(&server)
        .configure(
            types::MosConfig::builder()
                .user_id("root".to_owned())
                .mem_reader(types::BackendConfig {
                    backend: "simple_struct".into(),
                    config: Default::default(),
                }),
        )
        .await
        .unwrap_err();
    mock.assert_async().await;
    let locations: Vec<&[String]> = err
        .validation_details()
        .iter()
        .map(|issue| issue.location())
        .collect();
    assert_eq!(locations, [["body", "backend"], ["body", "config"]]);
    let text = err.to_string();
    assert!(
        text.ends_with(
            "; body.backend: Field required (missing); body.config: Field required (missing)"
        ),
        "{text}"
    );
    assert_one_line(&text);
}

// ---------------------------------------------------------------------------------------------
// Starlette's 404 and 405

#[tokio::test]
async fn starlette_404_gives_the_detail_as_message_on_documented_and_undocumented_operations() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|_, then| {
            reply(then, 404, r#"{"detail":"Not Found"}"#);
        })
        .await;
    let client = client(&server);
    // 404 is in the spec of get_memory, not of list_users; both must read the same.
    let documented = client
        .get_memory("a/b", body::MEMORY_ID, None)
        .await
        .unwrap_err();
    let undocumented = client.list_users().await.unwrap_err();
    mock.assert_calls_async(2).await;
    for (err, operation) in [(documented, "get_memory"), (undocumented, "list_users")] {
        assert_api(&err);
        assert_eq!(err.status(), Some(StatusCode::NOT_FOUND), "{operation}");
        assert_eq!(err.code(), None, "{operation}");
        assert_eq!(err.message(), Some("Not Found"), "{operation}");
        assert!(err.validation_details().is_empty(), "{operation}");
        assert_eq!(err.operation(), Some(operation));
        let text = err.to_string();
        assert!(
            text.starts_with(&format!(
                "{operation} failed with HTTP 404 Not Found: Not Found"
            )),
            "{text}"
        );
        assert_one_line(&text);
    }
}

#[tokio::test]
async fn starlette_405_gives_method_not_allowed() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(DELETE).path("/mem_cubes/notes");
            reply(then, 405, r#"{"detail":"Method Not Allowed"}"#).header("allow", "POST");
        })
        .await;
    let err = client(&server)
        .unregister_cube("notes", None)
        .await
        .unwrap_err();
    mock.assert_async().await;
    assert_api(&err);
    assert_eq!(err.status(), Some(StatusCode::METHOD_NOT_ALLOWED));
    assert_eq!(err.code(), None);
    assert_eq!(err.message(), Some("Method Not Allowed"));
    assert_eq!(err.operation(), Some("unregister_cube"));
    let text = err.to_string();
    assert!(
        text.contains("405 Method Not Allowed: Method Not Allowed"),
        "{text}"
    );
    assert_one_line(&text);
}

// ---------------------------------------------------------------------------------------------
// Bodies that are not what the spec says

#[tokio::test]
async fn an_html_502_from_a_proxy_gives_the_status_and_the_start_of_the_page() {
    let page = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx/1.25.3</center>\r\n</body>\r\n</html>\r\n";
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(POST).path("/memories");
            then.status(502)
                .header("content-type", "text/html")
                .body(page);
        })
        .await;
    let err = client(&server)
        .add_memories(types::MemoryCreate::builder().memory_content("x".to_owned()))
        .await
        .unwrap_err();
    mock.assert_async().await;
    assert_api(&err);
    assert_eq!(err.status(), Some(StatusCode::BAD_GATEWAY));
    assert_eq!(err.code(), None);
    assert!(err.validation_details().is_empty());
    assert_eq!(err.operation(), Some("add_memories"));
    let message = err.message().expect("the page is kept as the message");
    assert!(
        message.contains("<title>502 Bad Gateway</title>"),
        "{message}"
    );
    let text = err.to_string();
    assert!(
        text.starts_with("add_memories failed with HTTP 502 Bad Gateway"),
        "{text}"
    );
    assert!(text.contains("nginx/1.25.3"), "{text}");
}

#[tokio::test]
async fn an_html_404_on_an_operation_that_documents_404_gives_the_status_and_the_page() {
    // 404 is in get_memory's spec with Starlette's JSON body; a proxy's page must still read
    // as a 404, not as a body that does not match the spec.
    let page = "<html><head><title>404 Not Found</title></head><body><h1>404 Not Found</h1><hr><center>nginx</center></body></html>";
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(GET);
            then.status(404)
                .header("content-type", "text/html")
                .body(page);
        })
        .await;
    let err = client(&server)
        .get_memory("notes", body::MEMORY_ID, None)
        .await
        .unwrap_err();
    mock.assert_async().await;
    assert_api(&err);
    assert_eq!(err.status(), Some(StatusCode::NOT_FOUND));
    assert_eq!(err.code(), None);
    assert_eq!(err.message(), Some(page));
    assert_eq!(err.operation(), Some("get_memory"));
    let text = err.to_string();
    assert!(
        text.starts_with("get_memory failed with HTTP 404 Not Found: <html>"),
        "{text}"
    );
    assert_one_line(&text);
}

#[tokio::test]
async fn a_plain_text_500_and_a_400_that_is_not_an_error_body_give_their_status() {
    let server = MockServer::start_async().await;
    let plain = server
        .mock_async(|when, then| {
            when.method(GET).path("/memories");
            then.status(500)
                .header("content-type", "text/plain; charset=utf-8")
                .body("Internal Server Error");
        })
        .await;
    let list = server
        .mock_async(|when, then| {
            when.method(POST).path("/users");
            reply(then, 400, r#"["not","an","error","body"]"#);
        })
        .await;
    let client = client(&server);
    let err = client.list_memories(None, None).await.unwrap_err();
    assert_api(&err);
    assert_eq!(err.status(), Some(StatusCode::INTERNAL_SERVER_ERROR));
    assert_eq!(err.message(), Some("Internal Server Error"));
    assert_eq!(err.operation(), Some("list_memories"));
    let err = client
        .create_user(types::UserCreate::builder().user_id("alice"))
        .await
        .unwrap_err();
    assert_api(&err);
    assert_eq!(err.status(), Some(StatusCode::BAD_REQUEST));
    assert_eq!(err.code(), None);
    assert_eq!(err.message(), Some(r#"["not","an","error","body"]"#));
    plain.assert_async().await;
    list.assert_async().await;
}

#[tokio::test]
async fn an_empty_503_body_gives_the_status_and_no_message() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(GET).path("/users");
            then.status(503);
        })
        .await;
    let err = client(&server).list_users().await.unwrap_err();
    mock.assert_async().await;
    assert_api(&err);
    assert_eq!(err.status(), Some(StatusCode::SERVICE_UNAVAILABLE));
    assert_eq!(err.message(), None);
    assert_eq!(err.code(), None);
    let text = err.to_string();
    assert!(
        text.starts_with("list_users failed with HTTP 503 Service Unavailable"),
        "{text}"
    );
}

#[tokio::test]
async fn a_long_non_json_body_is_cut_in_the_message() {
    let long = "x".repeat(10_000);
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(GET).path("/users/me");
            then.status(504).body(&long);
        })
        .await;
    let err = client(&server).get_current_user().await.unwrap_err();
    mock.assert_async().await;
    assert_eq!(err.status(), Some(StatusCode::GATEWAY_TIMEOUT));
    let message = err.message().unwrap();
    assert!(
        message.len() <= 512 && message.starts_with("xxx"),
        "{}",
        message.len()
    );
}

#[tokio::test]
async fn a_success_status_with_a_body_that_violates_the_spec_is_an_invalid_response() {
    // The published reference's shape, `data: {users: [...]}`, instead of the list.
    let sent = r#"{"code":200,"message":"Users retrieved successfully","data":{"users":[]}}"#;
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(GET).path("/users");
            reply(then, 200, sent);
        })
        .await;
    let err = client(&server).list_users().await.unwrap_err();
    mock.assert_async().await;
    let Error::InvalidResponse {
        reason, body_start, ..
    } = &err
    else {
        panic!("expected Error::InvalidResponse, got {err:?}");
    };
    assert!(
        reason.contains("invalid type: map, expected a sequence"),
        "{reason}"
    );
    assert_eq!(body_start, sent);
    assert_eq!(err.status(), Some(StatusCode::OK));
    assert_eq!(err.code(), None);
    assert_eq!(err.message(), None);
    assert!(err.validation_details().is_empty());
    assert_eq!(err.operation(), Some("list_users"));
    let text = err.to_string();
    assert!(
        text.starts_with("list_users: the server's answer"),
        "{text}"
    );
    assert!(text.contains("does not match the API spec"), "{text}");
    assert!(text.contains(r#"{\"users\":[]}"#), "{text}");
}

#[tokio::test]
async fn a_success_status_with_a_non_json_body_is_an_invalid_response() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(POST).path("/chat");
            then.status(200)
                .header("content-type", "text/html")
                .body("<html><body>Please log in</body></html>");
        })
        .await;
    let err = client(&server)
        .chat(types::ChatRequest::builder().query("hi"))
        .await
        .unwrap_err();
    mock.assert_async().await;
    assert!(matches!(err, Error::InvalidResponse { .. }), "{err:?}");
    assert_eq!(err.operation(), Some("chat"));
    assert!(err.to_string().contains("Please log in"), "{err}");
}

#[tokio::test]
async fn an_undocumented_success_status_is_an_invalid_response_with_that_status() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(DELETE)
                .path(format!("/memories/notes/{}", body::MEMORY_ID));
            then.status(204);
        })
        .await;
    let err = client(&server)
        .delete_memory("notes", body::MEMORY_ID, None)
        .await
        .unwrap_err();
    mock.assert_async().await;
    assert!(matches!(err, Error::InvalidResponse { .. }), "{err:?}");
    assert_eq!(err.status(), Some(StatusCode::NO_CONTENT));
    assert_eq!(err.operation(), Some("delete_memory"));
    let text = err.to_string();
    assert!(text.contains("204 No Content"), "{text}");
    assert!(text.contains("not documented"), "{text}");
}

// ---------------------------------------------------------------------------------------------
// Requests that are refused before anything is sent

#[tokio::test]
async fn an_incomplete_request_body_is_refused_without_sending_anything() {
    let server = MockServer::start_async().await;
    let any = server
        .mock_async(|_, then| {
            reply(then, 200, body::USER_CREATED);
        })
        .await;
    let err = client(&server)
        .create_user(types::UserCreate::builder().user_name("Alice".to_owned()))
        .await
        .unwrap_err();
    assert_eq!(any.calls_async().await, 0);
    assert!(matches!(err, Error::InvalidRequest { .. }), "{err:?}");
    assert_eq!(err.operation(), Some("create_user"));
    assert_eq!(err.status(), None);
    let text = err.to_string();
    assert!(text.contains("nothing was sent"), "{text}");
    assert!(text.contains("user_id"), "{text}");
}

#[tokio::test]
async fn an_empty_memory_id_never_reaches_the_delete_all_route() {
    // `DELETE /memories/notes/` is redirected by the server (trailing slash) to
    // `DELETE /memories/notes`, which deletes every memory of the cube.
    let server = MockServer::start_async().await;
    let redirect = server
        .mock_async(|when, then| {
            when.path("/memories/notes/");
            then.status(307).header("location", "/memories/notes");
        })
        .await;
    let delete_all = server
        .mock_async(|when, then| {
            when.method(DELETE).path("/memories/notes");
            reply(then, 200, body::ALL_MEMORIES_DELETED);
        })
        .await;
    let client = client(&server);
    for id in ["", ".", ".."] {
        let err = client.delete_memory("notes", id, None).await.unwrap_err();
        assert!(
            matches!(err, Error::InvalidRequest { .. }),
            "{id:?}: {err:?}"
        );
        assert_eq!(err.operation(), Some("delete_memory"));
        assert!(err.to_string().contains("memory_id"), "{err}");
    }
    assert_eq!(redirect.calls_async().await, 0);
    assert_eq!(delete_all.calls_async().await, 0);
}

#[tokio::test]
async fn empty_or_dot_path_ids_are_refused_by_every_operation_that_takes_one() {
    let server = MockServer::start_async().await;
    let any = server
        .mock_async(|_, then| {
            reply(then, 200, body::MEMORY_DELETED);
        })
        .await;
    let client = client(&server);
    let update = || types::MemoryUpdate::builder().memory_content("x".to_owned());
    let share = || types::CubeShare::builder().target_user_id("bob");
    let failures = [
        client.unregister_cube("", None).await.unwrap_err(),
        client.share_cube(".", share()).await.unwrap_err(),
        client
            .get_memory("", body::MEMORY_ID, None)
            .await
            .unwrap_err(),
        client.get_memory("notes", "..", None).await.unwrap_err(),
        client
            .update_memory("notes", "", None, update())
            .await
            .unwrap_err(),
        client
            .update_memory("..", body::MEMORY_ID, None, update())
            .await
            .unwrap_err(),
        client
            .delete_memory("", body::MEMORY_ID, None)
            .await
            .unwrap_err(),
        client.delete_all_memories("", None).await.unwrap_err(),
        client
            .delete_all_memories("..", Some("alice"))
            .await
            .unwrap_err(),
    ];
    for err in &failures {
        assert!(matches!(err, Error::InvalidRequest { .. }), "{err:?}");
    }
    assert_eq!(any.calls_async().await, 0);
}

// ---------------------------------------------------------------------------------------------
// Transport errors

#[tokio::test]
async fn a_closed_port_gives_a_transport_error_whose_cause_is_its_source() {
    let base_url = common::closed_port_url();
    let client = common::client_with(&base_url, RetryPolicy::none());
    let err = client.list_users().await.unwrap_err();
    let Error::Transport { source, operation } = &err else {
        panic!("expected Error::Transport, got {err:?}");
    };
    assert!(source.is_connect(), "{source:?}");
    assert_eq!(*operation, "list_users");
    assert_eq!(err.status(), None);
    assert_eq!(err.code(), None);
    assert_eq!(err.message(), None);
    assert_eq!(err.operation(), Some("list_users"));
    assert_eq!(
        err.to_string(),
        "list_users: could not reach the MemOS server"
    );
    // The cause is in source() only: a reporter that prints the chain prints it once.
    assert!(std::error::Error::source(&err).is_some());
    let chain = format!("{:#}", anyhow::Error::from(err));
    assert!(
        chain.starts_with("list_users: could not reach the MemOS server: error sending request"),
        "{chain}"
    );
    assert_each_part_once(&chain);
}

#[tokio::test]
async fn a_stalled_server_gives_a_timeout_error_quickly() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(GET).path("/users/me");
            reply(then, 200, body::ME).delay(Duration::from_secs(30));
        })
        .await;
    let client = Client::builder(server.base_url())
        .timeout(Duration::from_millis(300))
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    let started = Instant::now();
    let err = client.get_current_user().await.unwrap_err();
    let elapsed = started.elapsed();
    assert_eq!(mock.calls_async().await, 1);
    assert!(
        elapsed >= Duration::from_millis(300),
        "gave up before the timeout: {elapsed:?}"
    );
    assert!(
        elapsed < Duration::from_secs(20),
        "did not time out: {elapsed:?}"
    );
    let Error::Transport { source, .. } = &err else {
        panic!("expected Error::Transport, got {err:?}");
    };
    assert!(source.is_timeout(), "{source:?}");
    assert_eq!(err.status(), None);
    assert_eq!(err.operation(), Some("get_current_user"));
    assert_eq!(
        err.to_string(),
        "get_current_user: no answer from the MemOS server in time (the request may have been \
         processed)"
    );
    assert_each_part_once(&format!("{:#}", anyhow::Error::from(err)));
}

// ---------------------------------------------------------------------------------------------
// Credentials never show

#[tokio::test]
async fn credentials_never_show_in_errors_or_in_the_client() {
    for cred in Cred::BOTH {
        let server = MockServer::start_async().await;
        server
            .mock_async(|when, then| {
                when.method(POST).path("/memories");
                reply(
                    then,
                    400,
                    r#"{"code":400,"message":"User 'alice' does not have access to cube 'nope'.","data":null}"#,
                );
            })
            .await;
        server
            .mock_async(|when, then| {
                when.method(POST).path("/chat");
                reply(
                    then,
                    422,
                    r#"{"detail":[{"type":"missing","loc":["body","query"],"msg":"Field required","input":{}}]}"#,
                );
            })
            .await;
        server
            .mock_async(|when, then| {
                when.method(GET).path("/users");
                reply(
                    then,
                    200,
                    r#"{"code":200,"message":"ok","data":{"users":[]}}"#,
                );
            })
            .await;
        server
            .mock_async(|when, then| {
                when.method(GET).path("/users/me");
                reply(then, 200, body::ME).delay(Duration::from_secs(30));
            })
            .await;
        let client = cred
            .apply(Client::builder(server.base_url()))
            .timeout(Duration::from_millis(300))
            .retry_policy(RetryPolicy::none())
            .build()
            .unwrap();
        let closed = cred
            .apply(Client::builder(common::closed_port_url()))
            .retry_policy(RetryPolicy::none())
            .build()
            .unwrap();
        let errors = [
            client
                .add_memories(types::MemoryCreate::builder().mem_cube_id("nope".to_owned()))
                .await
                .unwrap_err(),
            client
                .chat(types::ChatRequest::builder().query("q"))
                .await
                .unwrap_err(),
            client.list_users().await.unwrap_err(),
            client.get_current_user().await.unwrap_err(),
            client.delete_memory("notes", "", None).await.unwrap_err(),
            closed.list_users().await.unwrap_err(),
        ];
        let secret = cred.secret();
        for err in &errors {
            for shown in [format!("{err}"), format!("{err:?}"), format!("{err:#?}")] {
                assert!(!shown.contains(secret), "{cred:?} leaked in: {shown}");
            }
        }
        for shown in [
            format!("{client:?}"),
            format!("{client:#?}"),
            format!("{closed:?}"),
            format!("{:?}", cred.apply(Client::builder(server.base_url()))),
        ] {
            assert!(!shown.contains(secret), "{cred:?} leaked in: {shown}");
        }
    }
}

/// No part of an error chain's text (`a: b: c`) is printed twice: no error repeats the text
/// of its cause.
fn assert_each_part_once(chain: &str) {
    let parts: Vec<&str> = chain.split(": ").collect();
    for (i, part) in parts.iter().enumerate() {
        assert!(
            !parts[i + 1..].contains(part),
            "{part:?} is printed twice in {chain:?}"
        );
    }
}
