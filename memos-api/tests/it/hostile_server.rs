//! The client against hostile servers: each case ends with a typed error or a clear message,
//! no panic, no hang past the timeout (a test-level guard fails the test instead of hanging)
//! and bounded memory.

use std::time::Duration;

use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{any, get, post};
use axum::Router;
use memos_api::{v1::types, v1::Client, Error, DEFAULT_MAX_RESPONSE_BYTES, MAX_ERROR_BODY_BYTES};

use crate::common::body::MEMORIES_ADDED as OK;
use crate::common::fast_retries;
use crate::defects::{add, serve_stalling, HANG, USERS};
use crate::support::{peak_rss_kib, rss_kib, serve, serve_big, serve_raw, Server};

const MIB: u64 = 1024 * 1024;

/// A server answering every request with `status`, `content_type` and `body`.
async fn serve_fixed(status: StatusCode, content_type: &'static str, body: Vec<u8>) -> Server {
    serve(Router::new().fallback(any(move || {
        let body = body.clone();
        async move { (status, [(header::CONTENT_TYPE, content_type)], body) }
    })))
    .await
}

async fn list_users(client: &Client) -> Error {
    tokio::time::timeout(HANG, client.list_users())
        .await
        .expect("the client hung")
        .expect_err("a hostile answer was accepted")
}

/// Prints the memory a case cost: VmRSS growth and the process's peak (VmHWM). Run alone
/// (`--test-threads=1`) for figures that belong to one case.
fn report_memory(case: &str, before_kib: Option<u64>) {
    if let (Some(before), Some(now), Some(peak)) = (before_kib, rss_kib(), peak_rss_kib()) {
        println!(
            "memory | {case} | rss before {} MiB, after {} MiB, process peak {} MiB",
            before / 1024,
            now / 1024,
            peak / 1024
        );
    }
}

#[tokio::test]
async fn an_endless_body_stops_at_the_default_cap() {
    let server = serve_big(StatusCode::OK, None, false).await;
    let before = rss_kib();
    let err = list_users(&Client::new(server.base_url.clone()).unwrap()).await;
    report_memory("endless body, default cap", before);
    assert!(
        matches!(err, Error::ResponseTooLarge { limit, status: Some(s), operation: "list_users" }
            if limit == DEFAULT_MAX_RESPONSE_BYTES && s == StatusCode::OK),
        "{err:?}"
    );
    assert!(err.to_string().contains("larger than 64 MiB"), "{err}");
    assert!(!err.may_have_been_applied() || err.status().is_some());
    assert_eq!(server.hits(), 1, "a too-large answer was asked for again");
}

#[tokio::test]
async fn the_cap_is_configurable_and_named_in_the_error() {
    let server = serve_big(StatusCode::OK, None, false).await;
    let client = Client::builder(server.base_url.clone())
        .max_response_bytes(MIB)
        .build()
        .unwrap();
    let err = list_users(&client).await;
    assert!(
        matches!(err, Error::ResponseTooLarge { limit, .. } if limit == MIB),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(
        text.contains("list_users") && text.contains("1 MiB"),
        "{text}"
    );
    assert!(!text.contains('\n'), "{text}");
}

#[tokio::test]
async fn a_100_mb_body_is_refused_by_its_content_length_or_at_the_cap() {
    for declare_length in [true, false] {
        let server = serve_big(StatusCode::OK, Some(100 * MIB), declare_length).await;
        let before = rss_kib();
        let err = list_users(&Client::new(server.base_url.clone()).unwrap()).await;
        report_memory(
            if declare_length {
                "100 MB body with Content-Length"
            } else {
                "100 MB body, chunked"
            },
            before,
        );
        assert!(
            matches!(err, Error::ResponseTooLarge { limit, .. } if limit == DEFAULT_MAX_RESPONSE_BYTES),
            "declared length {declare_length}: {err:?}"
        );
    }
}

#[tokio::test]
async fn an_endless_error_body_stops_at_the_error_cap() {
    let server = serve_big(StatusCode::INTERNAL_SERVER_ERROR, None, false).await;
    let err = list_users(&Client::new(server.base_url.clone()).unwrap()).await;
    assert!(
        matches!(err, Error::ResponseTooLarge { limit, status: Some(s), .. }
            if limit == MAX_ERROR_BODY_BYTES && s == StatusCode::INTERNAL_SERVER_ERROR),
        "{err:?}"
    );
}

#[tokio::test]
async fn deep_nesting_is_an_error_not_a_stack_overflow() {
    let mut body = br#"{"code":200,"message":"ok","data":"#.to_vec();
    body.extend(std::iter::repeat_n(b'[', 200_000));
    let server = serve_fixed(StatusCode::OK, "application/json", body).await;
    let err = list_users(&Client::new(server.base_url.clone()).unwrap()).await;
    let Error::InvalidResponse { body_start, .. } = &err else {
        panic!("expected InvalidResponse, got {err:?}");
    };
    assert!(body_start.len() <= 512);

    // An error answer decodes `input` as any JSON: there the parser's recursion limit stops
    // it, and the error keeps the start of the body as its message.
    let mut body = br#"{"detail":[{"loc":[],"msg":"m","type":"t","input":"#.to_vec();
    body.extend(std::iter::repeat_n(b'[', 200_000));
    let server = serve_fixed(StatusCode::UNPROCESSABLE_ENTITY, "application/json", body).await;
    let err = list_users(&Client::new(server.base_url.clone()).unwrap()).await;
    assert_eq!(err.status(), Some(StatusCode::UNPROCESSABLE_ENTITY));
    assert!(err.message().is_some_and(|m| m.len() <= 512), "{err:?}");
}

#[tokio::test]
async fn invalid_utf8_is_an_invalid_response() {
    for body in [
        b"\xff\xfe\xfd garbage".to_vec(),
        b"{\"code\":200,\"message\":\"\xff\xff\",\"data\":[]}".to_vec(),
    ] {
        let server = serve_fixed(StatusCode::OK, "application/json", body).await;
        let err = list_users(&Client::new(server.base_url.clone()).unwrap()).await;
        assert!(matches!(err, Error::InvalidResponse { .. }), "{err:?}");
        // Shown lossily: a clear message, whatever the bytes.
        let _ = err.to_string();
    }
    let server = serve_fixed(
        StatusCode::BAD_REQUEST,
        "text/plain",
        b"\xff\xfe oops".to_vec(),
    )
    .await;
    let err = list_users(&Client::new(server.base_url.clone()).unwrap()).await;
    assert_eq!(err.status(), Some(StatusCode::BAD_REQUEST));
    assert!(err.message().is_some_and(|m| m.contains("oops")), "{err:?}");
}

#[tokio::test]
async fn a_wrong_content_type_is_an_invalid_response_showing_the_body() {
    let page = b"<html><body>Welcome to nginx!</body></html>".to_vec();
    let server = serve_fixed(StatusCode::OK, "text/html", page).await;
    let err = list_users(&Client::new(server.base_url.clone()).unwrap()).await;
    let Error::InvalidResponse { body_start, .. } = &err else {
        panic!("expected InvalidResponse, got {err:?}");
    };
    assert!(body_start.contains("Welcome to nginx"), "{err}");
}

#[tokio::test]
async fn a_200_with_an_error_envelope_says_what_the_envelope_says() {
    let body = br#"{"code":500,"message":"Memory backend unavailable","data":null}"#.to_vec();
    let server = serve_fixed(StatusCode::OK, "application/json", body).await;
    let err = list_users(&Client::new(server.base_url.clone()).unwrap()).await;
    assert!(matches!(err, Error::InvalidResponse { .. }), "{err:?}");
    assert!(
        err.to_string()
            .contains("error envelope, code 500: Memory backend unavailable"),
        "{err}"
    );
}

#[tokio::test]
async fn an_add_answered_200_with_an_error_envelope_is_an_error_in_doubt() {
    // `data: null` makes the error envelope parse as the add's success type; the envelope's
    // code must still decide.
    let body = br#"{"code":500,"message":"failed to add memories","data":null}"#.to_vec();
    let server = serve_fixed(StatusCode::OK, "application/json", body).await;
    let client = Client::new(server.base_url.clone()).unwrap();
    let err = client
        .add_memories(types::MemoryCreate::builder().memory_content("x".to_owned()))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidResponse { .. }), "{err:?}");
    assert!(
        err.to_string()
            .contains("error envelope, code 500: failed to add memories"),
        "{err}"
    );
    assert!(err.may_have_been_applied(), "{err:?}");
}

#[tokio::test]
async fn a_reset_in_the_middle_of_a_body_is_a_transport_error() {
    let server = serve_raw(
        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n\
          {\"code\":200,\"message\":\"ok\",\"data\":[",
    )
    .await;
    let client = Client::builder(server.base_url.clone())
        .retry_policy(fast_retries(2))
        .build()
        .unwrap();
    let err = list_users(&client).await;
    assert!(
        matches!(&err, Error::Transport { source, .. } if !source.is_timeout() && !source.is_connect()),
        "{err:?}"
    );
    assert!(err.to_string().contains("may have been processed"), "{err}");
    // A read may go again after a broken answer; the policy bounds how often.
    assert_eq!(server.hits(), 3);
}

#[tokio::test]
async fn a_stall_after_the_headers_ends_at_the_timeout() {
    let server = serve_stalling().await;
    let client = Client::builder(server.base_url.clone())
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let err = list_users(&client).await;
    assert!(
        matches!(&err, Error::Transport { source, .. } if source.is_timeout()),
        "{err:?}"
    );
    assert!(err.may_have_been_applied());
    assert_eq!(server.hits(), 1);
}

#[tokio::test]
async fn a_redirect_to_another_host_is_not_followed_and_is_named() {
    let elsewhere = serve_fixed(StatusCode::OK, "application/json", USERS.into()).await;
    let target = format!(
        "http://user:pw@{}/users?sig=abc#frag",
        elsewhere.base_url.trim_start_matches("http://")
    );
    let server = serve(Router::new().fallback(any(move || {
        let target = target.clone();
        async move { (StatusCode::PERMANENT_REDIRECT, [(header::LOCATION, target)]) }
    })))
    .await;
    for follow in [false, true] {
        let client = Client::builder(server.base_url.clone())
            .bearer_token("tok-hostile-redirect")
            .follow_redirects(follow)
            .build()
            .unwrap();
        let err = list_users(&client).await;
        let Error::Redirect {
            status, location, ..
        } = &err
        else {
            panic!("expected Redirect, got {err:?}");
        };
        assert_eq!(*status, StatusCode::PERMANENT_REDIRECT);
        let location = location.as_deref().unwrap_or_default();
        assert!(location.contains(elsewhere.base_url.trim_start_matches("http://")));
        assert!(
            !location.contains("pw") && !location.contains("sig=abc"),
            "{location}"
        );
        assert!(!err.may_have_been_applied());
    }
    assert_eq!(elsewhere.hits(), 0);
}

#[tokio::test]
async fn a_same_origin_redirect_is_followed_only_when_asked() {
    let server = serve(
        Router::new()
            .route(
                "/users",
                get(|| async {
                    (
                        StatusCode::TEMPORARY_REDIRECT,
                        [(header::LOCATION, "/v2/users")],
                    )
                }),
            )
            .route(
                "/v2/users",
                get(|| async { ([(header::CONTENT_TYPE, "application/json")], USERS) }),
            ),
    )
    .await;
    let err = list_users(&Client::new(server.base_url.clone()).unwrap()).await;
    assert!(matches!(err, Error::Redirect { .. }), "{err:?}");
    let client = Client::builder(server.base_url.clone())
        .follow_redirects(true)
        .build()
        .unwrap();
    assert_eq!(client.list_users().await.unwrap().len(), 1);
}

#[tokio::test]
async fn unauthorized_and_forbidden_are_api_errors() {
    for status in [StatusCode::UNAUTHORIZED, StatusCode::FORBIDDEN] {
        let body = br#"{"detail":"Not authenticated"}"#.to_vec();
        let server = serve_fixed(status, "application/json", body).await;
        let client = Client::builder(server.base_url.clone())
            .api_key("tok-hostile-401")
            .retry_policy(fast_retries(3))
            .build()
            .unwrap();
        let err = list_users(&client).await;
        assert_eq!(err.status(), Some(status));
        assert_eq!(
            err.to_string(),
            format!("list_users failed with HTTP {status}: Not authenticated")
        );
        assert!(!err.may_have_been_applied() && !err.safe_to_retry());
        assert_eq!(server.hits(), 1);
    }
}

#[tokio::test]
async fn an_echoed_token_in_validation_details_is_redacted_too() {
    let secret = "tok-hostile-echo-77";
    let body = serde_json::json!({"detail": [{
        "loc": ["header", secret],
        "msg": format!("bad token {secret}"),
        "type": "value_error",
        "input": {"authorization": format!("Bearer {secret}")},
        "ctx": {"got": secret},
    }]});
    let server = serve(Router::new().fallback(any(move || {
        let body = body.clone();
        async move { (StatusCode::UNPROCESSABLE_ENTITY, axum::Json(body)) }
    })))
    .await;
    let client = Client::builder(server.base_url.clone())
        .bearer_token(secret)
        .build()
        .unwrap();
    let err = list_users(&client).await;
    assert_eq!(err.validation_details().len(), 1, "{err:?}");
    assert!(!err.to_string().contains(secret), "{err}");
    assert!(!format!("{err:?}").contains(secret), "{err:?}");
}

#[tokio::test]
async fn a_huge_error_message_is_bounded() {
    let body = serde_json::json!({"code": 400, "message": "x".repeat(500_000), "data": null});
    let server = serve_fixed(
        StatusCode::BAD_REQUEST,
        "application/json",
        body.to_string().into(),
    )
    .await;
    let err = list_users(&Client::new(server.base_url.clone()).unwrap()).await;
    assert!(
        err.message().is_some_and(|m| m.chars().count() <= 2_001),
        "{}",
        err.to_string().len()
    );
}

/// Adds a memory through `client`, which must fail, within the hang guard.
async fn failed_add(client: &Client) -> Error {
    tokio::time::timeout(HANG, client.add_memories(add()))
        .await
        .expect("the client hung")
        .expect_err("the add was accepted")
}

#[tokio::test]
async fn failed_adds_say_whether_they_may_have_been_stored() {
    // (status, Retry-After, may have been applied, safe to retry)
    let cases: [(u16, Option<&str>, bool, bool); 7] = [
        (503, None, true, false),
        (503, Some("1000"), false, true),
        (429, Some("1000"), false, true),
        (502, None, true, false),
        (504, None, true, false),
        (400, None, false, false),
        (409, None, true, false),
    ];
    for (code, retry_after, applied, safe) in cases {
        let status = StatusCode::from_u16(code).unwrap();
        let server = serve(Router::new().route(
            "/memories",
            post(move || async move {
                let mut response = (status, "").into_response();
                if let Some(wait) = retry_after {
                    response
                        .headers_mut()
                        .insert(header::RETRY_AFTER, wait.parse().unwrap());
                }
                response
            }),
        ))
        .await;
        // A Retry-After longer than the policy accepts ends the retries at once.
        let client = Client::builder(server.base_url.clone())
            .retry_policy(fast_retries(3))
            .build()
            .unwrap();
        let err = failed_add(&client).await;
        assert_eq!(err.may_have_been_applied(), applied, "{code}: {err:?}");
        assert_eq!(err.safe_to_retry(), safe, "{code}: {err:?}");
        assert_eq!(server.hits(), 1, "{code}");
    }
}

#[tokio::test]
async fn a_stall_before_the_answer_leaves_an_add_in_doubt() {
    let server = serve(Router::new().route(
        "/memories",
        post(|| async {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            OK
        }),
    ))
    .await;
    let client = Client::builder(server.base_url.clone())
        .timeout(Duration::from_millis(300))
        .retry_policy(fast_retries(3))
        .build()
        .unwrap();
    let err = failed_add(&client).await;
    assert!(
        err.may_have_been_applied() && !err.safe_to_retry(),
        "{err:?}"
    );
    assert_eq!(server.hits(), 1);
}

#[tokio::test]
async fn a_refused_connection_is_safe_to_retry() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let client = Client::builder(format!("http://127.0.0.1:{port}"))
        .retry_policy(memos_api::RetryPolicy::none())
        .build()
        .unwrap();
    let err = client.add_memories(add()).await.unwrap_err();
    assert!(
        err.safe_to_retry() && !err.may_have_been_applied(),
        "{err:?}"
    );
}

#[test]
fn a_token_over_plain_http_to_a_remote_host_is_flagged() {
    let flagged = |base: &str, token: bool| {
        let builder = Client::builder(base);
        let builder = if token {
            builder.bearer_token("t")
        } else {
            builder
        };
        builder.build().unwrap().credential_in_cleartext()
    };
    assert!(flagged("http://memos.example", true));
    assert!(flagged("http://10.0.0.5:8000/api", true));
    assert!(flagged("http://[2001:db8::1]:8000", true));
    for base in [
        "https://memos.example",
        "http://127.0.0.1:8000",
        "http://127.1.2.3",
        "http://[::1]:8000",
        "http://localhost:8000",
        "http://LOCALHOST",
    ] {
        assert!(!flagged(base, true), "{base}");
    }
    assert!(!flagged("http://memos.example", false));
    let client = Client::builder("http://memos.example")
        .api_key("k-secret")
        .build()
        .unwrap();
    let warning = client.cleartext_warning().unwrap();
    assert!(warning.contains("http://memos.example") && !warning.contains("k-secret"));
}
