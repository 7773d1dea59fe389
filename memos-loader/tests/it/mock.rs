//! The loader against servers that misbehave: 5xx answers, 503s, stalls, reset and refused
//! connections (httpmock, plus a raw TCP listener for resets, which httpmock cannot do),
//! and resuming after such failures.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use httpmock::prelude::*;
use memos_api::{v1::Client, RetryPolicy};
use memos_loader as loader;
use memos_loader::{LoadOptions, Source, Summary};
use serde_json::{json, Value};

use crate::{per_line, target, OK_BODY};

/// A content file with one record per line: `r0`, `r1`, ...
fn lines_file(dir: &Path, count: usize) -> PathBuf {
    let path = dir.join("records.txt");
    let text: String = (0..count).map(|i| format!("r{i}\n")).collect();
    std::fs::write(&path, text).unwrap();
    path
}

pub(crate) fn client(base_url: &str, timeout: Duration) -> Client {
    Client::builder(base_url)
        .timeout(timeout)
        .retry_policy(RetryPolicy {
            initial_backoff: Duration::from_millis(10),
            ..RetryPolicy::default()
        })
        .build()
        .unwrap()
}

/// The body of `GET /memories` listing `texts` in cube `c`.
fn listing(texts: &[&str]) -> Value {
    let memories: Vec<Value> = texts
        .iter()
        .enumerate()
        .map(|(i, t)| json!({"id": format!("00000000-0000-4000-8000-{i:012}"), "memory": t, "metadata": {}}))
        .collect();
    json!({"code": 200, "message": "Memories retrieved successfully",
           "data": {"para_mem": [], "act_mem": [], "text_mem": [{"cube_id": "c", "memories": memories}]}})
}

async fn run(client: &Client, source: &Source, options: LoadOptions) -> Summary {
    loader::import(client, &target(), source, &options)
        .await
        .expect("the import runs")
}

#[tokio::test]
async fn server_errors_fail_each_record_once_and_a_streak_stops_the_import() {
    let server = MockServer::start_async().await;
    let post = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/memories")
                .json_body_includes(r#"{"user_id":"u","mem_cube_id":"c"}"#);
            then.status(500)
                .header("content-type", "application/json")
                .body(r#"{"code":500,"message":"boom","data":null}"#);
        })
        .await;
    let dir = tempfile::tempdir().unwrap();
    let source = per_line(&lines_file(dir.path(), 40));
    let options = LoadOptions {
        concurrency: 4,
        max_consecutive_failures: 10,
        ..LoadOptions::default()
    };
    let summary = run(
        &client(&server.base_url(), Duration::from_secs(5)),
        &source,
        options,
    )
    .await;
    // A 500 may have stored the record: it is never sent again within the run.
    assert_eq!(post.calls_async().await as u64, summary.records_sent);
    assert_eq!(summary.failed, summary.records_sent);
    assert!(
        summary.records_sent >= 10 && summary.records_sent < 40,
        "{summary:?}"
    );
    assert_eq!(summary.records_acked, 0);
    assert_eq!(summary.remaining, 40);
    assert!(!summary.is_complete());
    let reason = summary.stopped_early.as_deref().unwrap_or_default();
    assert!(
        reason.contains("10 records in a row failed") && reason.contains("boom"),
        "{reason}"
    );
    assert!(
        summary.failures[0].error.contains("HTTP 500"),
        "{:?}",
        summary.failures[0]
    );
    // ... and so it is in doubt, to be checked against the server on resume.
    assert!(summary.failures[0].answer_lost);
}

#[tokio::test]
async fn deliberate_refusals_are_retried_then_counted_as_failed() {
    let server = MockServer::start_async().await;
    let post = server
        .mock_async(|when, then| {
            when.method(POST).path("/memories");
            then.status(503)
                .header("content-type", "application/json")
                .header("retry-after", "0")
                .body(r#"{"code":503,"message":"busy","data":null}"#);
        })
        .await;
    let dir = tempfile::tempdir().unwrap();
    let source = per_line(&lines_file(dir.path(), 3));
    let options = LoadOptions {
        concurrency: 3,
        retries: 2,
        ..LoadOptions::default()
    };
    // The client's own retries are off, so that only the loader's rounds are counted.
    let client = Client::builder(server.base_url())
        .timeout(Duration::from_secs(5))
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    let summary = run(&client, &source, options).await;
    assert_eq!(post.calls_async().await, 9, "3 records, each sent 3 times");
    assert_eq!((summary.records_sent, summary.failed), (3, 3));
    assert_eq!(
        summary.answer_lost, 0,
        "a refusal proves nothing was stored"
    );
}

/// With the default options the loader adds no rounds to the client's retries, so the
/// two layers do not multiply: one try plus the client's three retries.
#[tokio::test]
async fn the_client_and_the_loader_do_not_multiply_retries() {
    let server = MockServer::start_async().await;
    let post = server
        .mock_async(|when, then| {
            when.method(POST).path("/memories");
            then.status(429)
                .header("content-type", "application/json")
                .header("retry-after", "0")
                .body(r#"{"code":429,"message":"slow down","data":null}"#);
        })
        .await;
    let dir = tempfile::tempdir().unwrap();
    let source = per_line(&lines_file(dir.path(), 1));
    let summary = run(
        &client(&server.base_url(), Duration::from_secs(5)),
        &source,
        LoadOptions::default(),
    )
    .await;
    assert_eq!(post.calls_async().await, 4);
    assert_eq!((summary.failed, summary.answer_lost), (1, 0));
}

#[tokio::test]
async fn a_stalled_server_times_out_and_the_answer_counts_as_lost() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(POST).path("/memories");
            then.status(200)
                .delay(Duration::from_secs(3))
                .header("content-type", "application/json")
                .body(OK_BODY);
        })
        .await;
    let dir = tempfile::tempdir().unwrap();
    let source = per_line(&lines_file(dir.path(), 2));
    let started = Instant::now();
    let summary = run(
        &client(&server.base_url(), Duration::from_millis(300)),
        &source,
        LoadOptions::default(),
    )
    .await;
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert_eq!((summary.failed, summary.answer_lost), (2, 2));
    assert!(summary.failures[0].answer_lost);
}

/// A server that reads each request and closes the connection without answering.
async fn resetting_server() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                use tokio::io::AsyncReadExt;
                let mut buf = vec![0u8; 4096];
                let _ = socket.read(&mut buf).await;
                drop(socket);
            });
        }
    });
    format!("http://{address}")
}

#[tokio::test]
async fn reset_connections_fail_the_record_with_its_answer_lost() {
    let base = resetting_server().await;
    let dir = tempfile::tempdir().unwrap();
    let source = per_line(&lines_file(dir.path(), 3));
    let summary = run(
        &client(&base, Duration::from_secs(5)),
        &source,
        LoadOptions::default(),
    )
    .await;
    assert_eq!(
        (summary.records_sent, summary.failed, summary.answer_lost),
        (3, 3, 3)
    );
    assert!(
        summary.failures[0]
            .error
            .contains("the request may have been processed"),
        "{}",
        summary.failures[0].error
    );
}

#[tokio::test]
async fn a_refused_connection_is_not_a_lost_answer() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let source = per_line(&lines_file(dir.path(), 2));
    let base = format!("http://127.0.0.1:{port}");
    let summary = run(
        &client(&base, Duration::from_secs(5)),
        &source,
        LoadOptions::default(),
    )
    .await;
    assert_eq!((summary.failed, summary.answer_lost), (2, 0));
    assert!(
        summary.failures[0]
            .error
            .contains("could not reach the MemOS server"),
        "{}",
        summary.failures[0].error
    );
}

/// Run 1: record r2 fails. Run 2 (resume): r2 is in doubt, the listing lacks it, so it
/// (and only it) is sent. Run 3: nothing is sent.
#[tokio::test]
async fn resume_after_failures_sends_only_what_is_missing() {
    let server = MockServer::start_async().await;
    let mut get = server
        .mock_async(|when, then| {
            when.method(GET).path("/memories");
            then.status(200).json_body(listing(&[]));
        })
        .await;
    let fail = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/memories")
                .body_includes(r#""memory_content":"r2""#);
            then.status(500)
                .json_body(json!({"code":500,"message":"boom","data":null}));
        })
        .await;
    let ok = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/memories")
                .body_excludes(r#""memory_content":"r2""#);
            then.status(200)
                .header("content-type", "application/json")
                .body(OK_BODY);
        })
        .await;
    let dir = tempfile::tempdir().unwrap();
    let source = per_line(&lines_file(dir.path(), 5));
    let checkpoint = dir.path().join("ck.json");
    let options = LoadOptions {
        concurrency: 2,
        checkpoint: Some(checkpoint.clone()),
        ..LoadOptions::default()
    };
    let client = client(&server.base_url(), Duration::from_secs(5));
    let first = run(&client, &source, options.clone()).await;
    assert_eq!(
        (first.records_acked, first.failed, first.remaining),
        (4, 1, 1)
    );
    assert_eq!((ok.calls_async().await, fail.calls_async().await), (4, 1));

    fail.delete_async().await;
    get.delete_async().await;
    get = server
        .mock_async(|when, then| {
            when.method(GET).path("/memories");
            then.status(200)
                .json_body(listing(&["r0", "r1", "r3", "r4"]));
        })
        .await;
    let retry = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/memories")
                .body_includes(r#""memory_content":"r2""#);
            then.status(200)
                .header("content-type", "application/json")
                .body(OK_BODY);
        })
        .await;
    let second = run(&client, &source, options.clone()).await;
    assert!(second.is_complete(), "{second:?}");
    assert_eq!((second.records_sent, second.already_imported), (1, 4));
    let report = second
        .reconciliation
        .expect("records in doubt were checked");
    assert_eq!((report.in_doubt, report.present, report.missing), (1, 0, 1));
    assert_eq!((retry.calls_async().await, ok.calls_async().await), (1, 4));

    let third = run(&client, &source, options).await;
    assert_eq!((third.records_sent, third.already_imported), (0, 5));
    assert!(third.reconciliation.is_none());
    assert!(get.calls_async().await >= 1);
}

/// A record whose answer was lost but which the server stored is found in the listing
/// and not sent again.
#[tokio::test]
async fn a_stored_record_with_a_lost_answer_is_not_sent_again() {
    let server = MockServer::start_async().await;
    let mut get = server
        .mock_async(|when, then| {
            when.method(GET).path("/memories");
            then.status(200).json_body(listing(&["already there"]));
        })
        .await;
    let lost = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/memories")
                .body_includes(r#""memory_content":"r1""#);
            then.status(504).body("gateway timeout");
        })
        .await;
    let ok = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/memories")
                .body_excludes(r#""memory_content":"r1""#);
            then.status(200)
                .header("content-type", "application/json")
                .body(OK_BODY);
        })
        .await;
    let dir = tempfile::tempdir().unwrap();
    let source = per_line(&lines_file(dir.path(), 3));
    let options = LoadOptions {
        checkpoint: Some(dir.path().join("ck.json")),
        ..LoadOptions::default()
    };
    let client = client(&server.base_url(), Duration::from_secs(5));
    let first = run(&client, &source, options.clone()).await;
    assert_eq!((first.failed, first.answer_lost), (1, 1));

    // The gateway timed out, but the server behind it stored r1.
    lost.delete_async().await;
    get.delete_async().await;
    get = server
        .mock_async(|when, then| {
            when.method(GET).path("/memories");
            then.status(200)
                .json_body(listing(&["already there", "r0", "r2", "r1"]));
        })
        .await;
    let second = run(&client, &source, options).await;
    assert_eq!(second.records_sent, 0, "{second:?}");
    assert!(second.is_complete());
    let report = second.reconciliation.unwrap();
    assert_eq!(
        (report.present, report.missing, report.cannot_tell),
        (1, 0, 0)
    );
    assert_eq!(ok.calls_async().await, 2);
    assert!(get.calls_async().await >= 1);
}
