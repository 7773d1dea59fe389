//! The retry policy against httpmock: what is retried, how often, and how long the client
//! waits. Failures that change over time use a mock created first that answers only the first
//! requests (`common::first_n_requests`), with the success mock created after it.

use crate::common;

use std::time::{Duration, Instant, SystemTime};

use common::{body, client_with, fast_retries, first_n_requests};
use httpmock::prelude::*;
use httpmock::{Mock, Then};
use memos_api::v1::types;
use memos_api::{v1::Client, Error, RetryPolicy};
use reqwest::StatusCode;

fn reply(then: Then, status: u16, body: &str) -> Then {
    then.status(status)
        .header("content-type", "application/json")
        .body(body)
}

/// A mock for `method path` that answers the first `failures` requests with `status` (and the
/// given headers), and a mock created after it that answers the rest with `ok_body`.
async fn failing_then_ok<'a>(
    server: &'a MockServer,
    method: Method,
    path: &str,
    failures: usize,
    status: u16,
    headers: &[(&str, &str)],
    ok_body: &str,
) -> (Mock<'a>, Mock<'a>) {
    let failing = server
        .mock_async(|when, then| {
            when.method(method.to_string().as_str())
                .path(path)
                .is_true(first_n_requests(failures));
            let mut then = then.status(status);
            for (name, value) in headers {
                then = then.header(*name, *value);
            }
            then.body(format!("{status} from the gateway"));
        })
        .await;
    let ok = server
        .mock_async(|when, then| {
            when.method(method).path(path);
            reply(then, 200, ok_body);
        })
        .await;
    (failing, ok)
}

/// A mock that always answers `method path` with `status`.
async fn always<'a>(
    server: &'a MockServer,
    method: Method,
    path: &str,
    status: u16,
    body: &str,
) -> Mock<'a> {
    server
        .mock_async(|when, then| {
            when.method(method).path(path);
            reply(then, status, body);
        })
        .await
}

async fn get_is_retried_after(status: u16) {
    let server = MockServer::start_async().await;
    let (failing, ok) = failing_then_ok(&server, GET, "/users", 2, status, &[], body::USERS).await;
    let client = client_with(&server.base_url(), fast_retries(3));
    let users = client
        .list_users()
        .await
        .unwrap_or_else(|err| panic!("{status}: {err}"));
    assert_eq!(users.len(), 2);
    assert_eq!(failing.calls_async().await, 2, "{status}");
    assert_eq!(ok.calls_async().await, 1, "{status}");
}

// ---------------------------------------------------------------------------------------------
// What is retried

#[tokio::test]
async fn get_is_retried_after_503_and_returns_the_later_success() {
    get_is_retried_after(503).await;
}

#[tokio::test]
async fn get_is_retried_after_502_and_returns_the_later_success() {
    get_is_retried_after(502).await;
}

#[tokio::test]
async fn get_is_retried_after_504_and_returns_the_later_success() {
    get_is_retried_after(504).await;
}

#[tokio::test]
async fn get_is_retried_after_429_and_returns_the_later_success() {
    get_is_retried_after(429).await;
}

#[tokio::test]
async fn put_and_deletes_are_retried_after_503() {
    let server = MockServer::start_async().await;
    let memory = format!("/memories/notes/{}", body::MEMORY_ID);
    let (put_failing, put_ok) =
        failing_then_ok(&server, PUT, &memory, 1, 503, &[], body::MEMORY_UPDATED).await;
    let (delete_failing, delete_ok) =
        failing_then_ok(&server, DELETE, &memory, 1, 503, &[], body::MEMORY_DELETED).await;
    let (all_failing, all_ok) = failing_then_ok(
        &server,
        DELETE,
        "/memories/notes",
        1,
        503,
        &[],
        body::ALL_MEMORIES_DELETED,
    )
    .await;
    let (cube_failing, cube_ok) = failing_then_ok(
        &server,
        DELETE,
        "/mem_cubes/notes",
        1,
        503,
        &[],
        body::CUBE_UNREGISTERED,
    )
    .await;
    let client = client_with(&server.base_url(), fast_retries(2));
    client
        .update_memory(
            "notes",
            body::MEMORY_ID,
            None,
            types::MemoryUpdate::builder().memory_content("x".to_owned()),
        )
        .await
        .unwrap();
    client
        .delete_memory("notes", body::MEMORY_ID, None)
        .await
        .unwrap();
    client.delete_all_memories("notes", None).await.unwrap();
    client.unregister_cube("notes", None).await.unwrap();
    for (failing, ok) in [
        (put_failing, put_ok),
        (delete_failing, delete_ok),
        (all_failing, all_ok),
        (cube_failing, cube_ok),
    ] {
        assert_eq!(failing.calls_async().await, 1);
        assert_eq!(ok.calls_async().await, 1);
    }
}

#[tokio::test]
async fn search_is_read_only_and_retried_after_503() {
    let server = MockServer::start_async().await;
    let (failing, ok) =
        failing_then_ok(&server, POST, "/search", 1, 503, &[], &body::search()).await;
    let found = client_with(&server.base_url(), fast_retries(2))
        .search_memories(types::SearchRequest::builder().query("Lisbon"))
        .await
        .unwrap();
    assert_eq!(found.text_mem.len(), 2);
    assert_eq!(failing.calls_async().await, 1);
    assert_eq!(ok.calls_async().await, 1);
}

#[tokio::test]
async fn get_is_retried_after_a_timeout_and_returns_the_later_success() {
    let server = MockServer::start_async().await;
    let stalled = server
        .mock_async(|when, then| {
            when.method(GET).path("/users").is_true(first_n_requests(1));
            reply(then, 200, body::USERS).delay(Duration::from_secs(30));
        })
        .await;
    let ok = always(&server, GET, "/users", 200, body::USERS).await;
    let client = Client::builder(server.base_url())
        .timeout(Duration::from_millis(300))
        .retry_policy(fast_retries(2))
        .build()
        .unwrap();
    let users = client.list_users().await.unwrap();
    assert_eq!(users.len(), 2);
    assert_eq!(stalled.calls_async().await, 1);
    assert_eq!(ok.calls_async().await, 1);
}

// ---------------------------------------------------------------------------------------------
// What is not retried

#[tokio::test]
async fn post_is_not_retried_after_503() {
    let server = MockServer::start_async().await;
    let mock = always(&server, POST, "/memories", 503, "").await;
    let err = client_with(&server.base_url(), fast_retries(3))
        .add_memories(types::MemoryCreate::builder().memory_content("x".to_owned()))
        .await
        .unwrap_err();
    assert_eq!(mock.calls_async().await, 1);
    assert_eq!(err.status(), Some(StatusCode::SERVICE_UNAVAILABLE));
    assert_eq!(err.operation(), Some("add_memories"));
}

#[tokio::test]
async fn state_changing_posts_are_not_retried_after_a_retryable_status() {
    let server = MockServer::start_async().await;
    let mocks = [
        always(&server, POST, "/configure", 503, "").await,
        always(&server, POST, "/users", 502, "").await,
        always(&server, POST, "/mem_cubes", 504, "").await,
        always(&server, POST, "/mem_cubes/notes/share", 429, "").await,
        always(&server, POST, "/chat", 503, "").await,
    ];
    let client = client_with(&server.base_url(), fast_retries(3));
    let errors = [
        client
            .configure(
                types::MosConfig::builder()
                    .user_id("root".to_owned())
                    .mem_reader(types::BackendConfig {
                        backend: "simple_struct".into(),
                        config: Default::default(),
                    }),
            )
            .await
            .unwrap_err(),
        client
            .create_user(types::UserCreate::builder().user_id("alice"))
            .await
            .unwrap_err(),
        client
            .register_cube(types::MemCubeRegister::builder().mem_cube_name_or_path("/srv/c"))
            .await
            .unwrap_err(),
        client
            .share_cube("notes", types::CubeShare::builder().target_user_id("bob"))
            .await
            .unwrap_err(),
        client
            .chat(types::ChatRequest::builder().query("hi"))
            .await
            .unwrap_err(),
    ];
    for (mock, err) in mocks.iter().zip(&errors) {
        assert_eq!(mock.calls_async().await, 1, "{err}");
        assert!(matches!(err, Error::Api { .. }), "{err:?}");
    }
}

#[tokio::test]
async fn post_is_not_retried_after_a_timeout() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(POST).path("/chat");
            reply(then, 200, body::CHAT).delay(Duration::from_secs(30));
        })
        .await;
    let client = Client::builder(server.base_url())
        .timeout(Duration::from_millis(300))
        .retry_policy(fast_retries(3))
        .build()
        .unwrap();
    let err = client
        .chat(types::ChatRequest::builder().query("hi"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Transport { source, .. } if source.is_timeout()),
        "{err:?}"
    );
    assert_eq!(mock.calls_async().await, 1);
}

#[tokio::test]
async fn client_errors_are_never_retried() {
    let bodies = [
        (
            400,
            r#"{"code":400,"message":"User 'nobody' does not exist or is inactive. Please register the user first.","data":null}"#,
        ),
        (404, r#"{"detail":"Not Found"}"#),
        (
            422,
            r#"{"detail":[{"type":"missing","loc":["query","mem_cube_id"],"msg":"Field required","input":null}]}"#,
        ),
    ];
    for (status, sent) in bodies {
        let server = MockServer::start_async().await;
        let mock = always(&server, GET, "/memories", status, sent).await;
        let err = client_with(&server.base_url(), fast_retries(3))
            .list_memories(Some("notes"), None)
            .await
            .unwrap_err();
        assert_eq!(mock.calls_async().await, 1, "{status}");
        assert_eq!(err.status().map(|s| s.as_u16()), Some(status));
    }
}

#[tokio::test]
async fn server_errors_other_than_gateway_ones_are_not_retried() {
    let server = MockServer::start_async().await;
    let mock = always(
        &server,
        GET,
        "/memories",
        500,
        r#"{"code":500,"message":"'cube_b'","data":null}"#,
    )
    .await;
    let err = client_with(&server.base_url(), fast_retries(3))
        .list_memories(Some("cube_b"), None)
        .await
        .unwrap_err();
    assert_eq!(mock.calls_async().await, 1);
    assert_eq!(err.message(), Some("'cube_b'"));
}

#[tokio::test]
async fn retry_policy_none_sends_a_get_exactly_once() {
    let server = MockServer::start_async().await;
    let mock = always(&server, GET, "/users", 503, "").await;
    let err = client_with(&server.base_url(), RetryPolicy::none())
        .list_users()
        .await
        .unwrap_err();
    assert_eq!(mock.calls_async().await, 1);
    assert_eq!(err.status(), Some(StatusCode::SERVICE_UNAVAILABLE));
}

// ---------------------------------------------------------------------------------------------
// How often and how long

#[tokio::test]
async fn max_retries_is_respected_and_the_last_answer_is_reported() {
    for max_retries in [1, 3] {
        let server = MockServer::start_async().await;
        let mock = always(&server, GET, "/users/me", 503, "").await;
        let err = client_with(&server.base_url(), fast_retries(max_retries))
            .get_current_user()
            .await
            .unwrap_err();
        assert_eq!(
            mock.calls_async().await,
            1 + max_retries as usize,
            "max_retries {max_retries}"
        );
        assert_eq!(err.status(), Some(StatusCode::SERVICE_UNAVAILABLE));
        assert_eq!(err.operation(), Some("get_current_user"));
    }
}

#[tokio::test]
async fn retry_after_seconds_is_waited_for_before_the_next_try() {
    let server = MockServer::start_async().await;
    let (failing, ok) = failing_then_ok(
        &server,
        GET,
        "/users",
        1,
        503,
        &[("retry-after", "1")],
        body::USERS,
    )
    .await;
    let client = client_with(&server.base_url(), fast_retries(2));
    let started = Instant::now();
    client.list_users().await.unwrap();
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_millis(990),
        "retried after {elapsed:?}"
    );
    assert_eq!(failing.calls_async().await, 1);
    assert_eq!(ok.calls_async().await, 1);
}

#[tokio::test]
async fn retry_after_an_http_date_is_waited_for_on_429() {
    let server = MockServer::start_async().await;
    // HTTP dates have whole seconds: two seconds ahead is at least one second of waiting.
    // The check below compares with the date itself, not with a measured duration, so a slow
    // machine (the mock set-up taking a second) cannot make it fail.
    let date = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(2));
    let not_before = httpdate::parse_http_date(&date).expect("a date just formatted");
    let (failing, ok) = failing_then_ok(
        &server,
        GET,
        "/users",
        1,
        429,
        &[("retry-after", date.as_str())],
        body::USERS,
    )
    .await;
    let client = client_with(&server.base_url(), fast_retries(2));
    client.list_users().await.unwrap();
    let now = SystemTime::now();
    assert!(
        now >= not_before,
        "the retry came {:?} before the Retry-After date",
        not_before.duration_since(now).unwrap_or_default()
    );
    assert_eq!(failing.calls_async().await, 1);
    assert_eq!(ok.calls_async().await, 1);
}

#[tokio::test]
async fn retry_after_longer_than_max_retry_after_ends_the_retries_at_once() {
    let server = MockServer::start_async().await;
    let (failing, ok) = failing_then_ok(
        &server,
        GET,
        "/users",
        1,
        503,
        &[("retry-after", "3600")],
        body::USERS,
    )
    .await;
    let policy = RetryPolicy {
        max_retry_after: Duration::from_secs(2),
        ..fast_retries(3)
    };
    let client = client_with(&server.base_url(), policy);
    // Fails (rather than hangs for an hour) if the client waits for the Retry-After.
    let err = tokio::time::timeout(Duration::from_secs(60), client.list_users())
        .await
        .expect("the client waited for a Retry-After beyond max_retry_after")
        .unwrap_err();
    assert_eq!(err.status(), Some(StatusCode::SERVICE_UNAVAILABLE));
    assert_eq!(failing.calls_async().await, 1);
    assert_eq!(ok.calls_async().await, 0);
}

#[tokio::test]
async fn post_to_a_closed_port_is_retried_then_fails_as_transport() {
    // Refused connections never reach a server, so even add_memories may go again. Nothing
    // listens to count the tries; the back-off floor shows them instead: each retry waits at
    // least half its ceiling (100 ms, then 200 ms), and a refused connection on loopback is
    // answered at once.
    let base_url = common::closed_port_url();
    let add = |client: Client| async move {
        let started = Instant::now();
        let err = client
            .add_memories(types::MemoryCreate::builder().memory_content("x".to_owned()))
            .await
            .unwrap_err();
        (started.elapsed(), err)
    };
    let policy = RetryPolicy {
        max_retries: 2,
        initial_backoff: Duration::from_millis(200),
        max_backoff: Duration::from_secs(1),
        max_retry_after: Duration::from_secs(5),
    };
    let (with_retries, err) =
        tokio::time::timeout(Duration::from_secs(60), add(client_with(&base_url, policy)))
            .await
            .expect("the retries must end");
    let Error::Transport { source, operation } = &err else {
        panic!("expected Error::Transport, got {err:?}");
    };
    assert!(source.is_connect(), "{source:?}");
    assert_eq!(*operation, "add_memories");
    assert!(
        with_retries >= Duration::from_millis(300),
        "two retries wait at least 300 ms, took {with_retries:?}"
    );

    let (_, err) = add(client_with(&base_url, RetryPolicy::none())).await;
    assert!(
        matches!(&err, Error::Transport { source, .. } if source.is_connect()),
        "{err:?}"
    );
}
