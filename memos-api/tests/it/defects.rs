//! One test per defect of the "Hardening" issue that this crate fixes (6, 7, 8, 11), written
//! against the client's long-standing API only, so that each also runs, and fails, against
//! the client from before the fix.

use std::time::Duration;

use axum::http::{header, HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{any, get, post};
use axum::Router;
use futures::StreamExt;
use memos_api::{v1::types, v1::Client, Error};

use crate::common::body::MEMORIES_ADDED as OK;
use crate::common::fast_retries;
use crate::support::{serve, serve_big, serve_raw};

/// A user list of one user.
pub const USERS: &str = r#"{"code":200,"message":"ok","data":[{"user_id":"root","user_name":"root","role":"ROOT","created_at":"2026-11-26T10:00:00","is_active":true}]}"#;

fn json(status: StatusCode, body: &'static str) -> impl IntoResponse {
    (status, [(header::CONTENT_TYPE, "application/json")], body)
}

/// A guard against a hang: a test that needs longer than this has failed.
pub const HANG: Duration = Duration::from_secs(60);

#[tokio::test]
async fn d6_a_backslash_in_a_path_parameter_is_refused_before_sending() {
    let server = serve(Router::new().fallback(any(|| async { json(StatusCode::OK, OK) }))).await;
    let client = Client::new(server.base_url.clone()).unwrap();
    for memory_id in ["\\..", "..\\", "a\\b", "\\"] {
        let err = client
            .delete_memory("c", memory_id, None)
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::InvalidRequest { .. }),
            "{memory_id:?}: {err:?}"
        );
    }
    let err = client.unregister_cube("\\..", None).await.unwrap_err();
    assert!(matches!(err, Error::InvalidRequest { .. }), "{err:?}");
    assert_eq!(
        server.hits(),
        0,
        "a request with a backslash reached the server"
    );
}

#[tokio::test]
async fn d6_redirects_are_not_followed_by_default() {
    let elsewhere =
        serve(Router::new().fallback(any(|| async { json(StatusCode::OK, USERS) }))).await;
    let target = format!("{}/users", elsewhere.base_url);
    let server = serve(Router::new().fallback(any(move || {
        let target = target.clone();
        async move { (StatusCode::TEMPORARY_REDIRECT, [(header::LOCATION, target)]) }
    })))
    .await;
    let client = Client::builder(server.base_url.clone())
        .bearer_token("tok-d6-redirect")
        .build()
        .unwrap();
    let err = client.list_users().await.unwrap_err();
    assert!(err.to_string().contains("redirect"), "{err}");
    assert_eq!(elsewhere.hits(), 0, "the client followed the redirect");
}

#[tokio::test]
async fn d7_a_100_mb_body_is_refused_at_the_cap() {
    // Content-Length says 100 MB; the client must give up without reading it.
    let server = serve_big(StatusCode::OK, Some(100 * 1024 * 1024), true).await;
    let client = Client::new(server.base_url.clone()).unwrap();
    let err = tokio::time::timeout(HANG, client.list_users())
        .await
        .unwrap()
        .unwrap_err();
    assert!(err.to_string().contains("larger than"), "{err}");
}

#[tokio::test]
async fn d7_a_stall_after_the_headers_ends_at_the_timeout_without_more_tries() {
    // Headers and the start of a body, then nothing: the connection stays open.
    let server = serve_stalling().await;
    let client = Client::builder(server.base_url.clone())
        .timeout(Duration::from_millis(500))
        .retry_policy(fast_retries(3))
        .build()
        .unwrap();
    let err = tokio::time::timeout(HANG, client.list_users())
        .await
        .unwrap()
        .unwrap_err();
    assert!(err.to_string().contains("in time"), "{err}");
    assert_eq!(server.hits(), 1, "a stalled answer was asked for again");
}

/// A server that sends the head and a few bytes of its answer, then stalls.
pub async fn serve_stalling() -> crate::support::Server {
    serve(Router::new().route(
        "/users",
        get(|| async {
            let stream = futures::stream::once(async {
                Ok::<_, std::io::Error>(axum::body::Bytes::from_static(b"{\"code\":200,"))
            })
            .chain(futures::stream::pending());
            (
                [(header::CONTENT_TYPE, "application/json")],
                axum::body::Body::from_stream(stream),
            )
        }),
    ))
    .await
}

#[tokio::test]
async fn d8_an_echoed_token_is_redacted_from_errors() {
    let secret = "tok-d8-5f0c2a9e";
    let server = serve(Router::new().fallback(any(|headers: HeaderMap| async move {
        let sent = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let body = serde_json::json!({
            "code": 401,
            "message": format!("invalid credentials: {sent}"),
            "data": null,
        });
        (StatusCode::UNAUTHORIZED, axum::Json(body))
    })))
    .await;
    let client = Client::builder(server.base_url.clone())
        .bearer_token(secret)
        .build()
        .unwrap();
    let err = client.list_users().await.unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(401));
    assert!(err.to_string().contains("invalid credentials"), "{err}");
    assert!(!err.to_string().contains(secret), "Display: {err}");
    assert!(!format!("{err:?}").contains(secret), "Debug: {err:?}");
}

/// A valid add, for the servers to refuse.
pub fn add() -> types::builder::MemoryCreate {
    types::MemoryCreate::builder()
        .user_id("alice".to_owned())
        .mem_cube_id("notes".to_owned())
        .memory_content("x".to_owned())
}

#[tokio::test]
async fn d11_an_add_refused_with_retry_after_is_sent_again() {
    for status in [
        StatusCode::SERVICE_UNAVAILABLE,
        StatusCode::TOO_MANY_REQUESTS,
    ] {
        let calls = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let seen = std::sync::Arc::clone(&calls);
        let server = serve(Router::new().route(
            "/memories",
            post(move || {
                let first = seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0;
                async move {
                    if first {
                        (status, [(header::RETRY_AFTER, "0")], "").into_response()
                    } else {
                        json(StatusCode::OK, OK).into_response()
                    }
                }
            }),
        ))
        .await;
        let client = Client::builder(server.base_url.clone())
            .retry_policy(fast_retries(3))
            .build()
            .unwrap();
        client.add_memories(add()).await.unwrap();
        assert_eq!(server.hits(), 2, "{status}");
    }
}

#[tokio::test]
async fn d11_an_add_answered_503_by_a_proxy_is_not_sent_again() {
    // What Envoy answers after the upstream reset the connection: no Retry-After.
    let server = serve_raw(
        b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain\r\nserver: envoy\r\n\
          content-length: 56\r\nconnection: close\r\n\r\n\
          upstream connect error or disconnect/reset before header",
    )
    .await;
    let client = Client::builder(server.base_url.clone())
        .retry_policy(fast_retries(3))
        .build()
        .unwrap();
    let err = client.add_memories(add()).await.unwrap_err();
    assert_eq!(server.hits(), 1);
    assert_eq!(err.status().map(|s| s.as_u16()), Some(503));
}
