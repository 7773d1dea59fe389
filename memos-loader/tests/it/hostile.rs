//! The loader against hostile servers: each answer below ends the import with a clear
//! failure per record (or a typed error), no panic, no hang past the client's timeout, a
//! bounded body, and a checkpoint that still parses and holds only acknowledged records.

use std::path::Path;
use std::time::Duration;

use memos_api::{v1::Client, RetryPolicy};
use memos_loader as loader;
use memos_loader::{ContentOptions, Input, LoadOptions, Source, Summary, Target};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A bound for the whole import; a passing run ends within a few client timeouts.
const HANG_GUARD: Duration = Duration::from_secs(90);
const TOKEN: &str = "tok-3f9a8c1e5b7d4a2f";
const RECORDS: usize = 3;

#[derive(Clone, Copy, Debug)]
enum Hostile {
    EndlessBody,
    HugeBody,
    InvalidUtf8,
    WrongContentType,
    ErrorEnvelopeIn200,
    ResetMidBody,
    StallAfterHeaders,
    Redirect,
    Unauthorized,
    Forbidden,
    EchoedToken,
}

/// Reads a request's head (and a little of its body); returns the head.
async fn read_head(socket: &mut TcpStream) -> Vec<u8> {
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match socket.read(&mut buf).await {
            Ok(0) | Err(_) => return head,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
        if head.len() > 1 << 20 {
            return head;
        }
    }
    // Read the (small) body too, so that closing does not reset the connection early.
    tokio::time::sleep(Duration::from_millis(5)).await;
    let _ = tokio::time::timeout(Duration::from_millis(20), socket.read(&mut buf)).await;
    head
}

/// An empty listing of cube `c`: only the adding of memories is hostile.
const LISTING: &[u8] = br#"{"code":200,"message":"ok","data":{"para_mem":[],"act_mem":[],"text_mem":[{"cube_id":"c","memories":[]}]}}"#;

fn simple(status: &str, content_type: &str, body: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body);
    out
}

async fn answer(mut socket: TcpStream, how: Hostile) {
    let head = read_head(&mut socket).await;
    if head.starts_with(b"GET ") {
        let _ = socket
            .write_all(&simple("200 OK", "application/json", LISTING))
            .await;
        let _ = socket.shutdown().await;
        return;
    }
    let bytes = match how {
        Hostile::EndlessBody => {
            let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n";
            if socket.write_all(head.as_bytes()).await.is_err() {
                return;
            }
            let chunk = format!("1000\r\n{}\r\n", "x".repeat(0x1000));
            while socket.write_all(chunk.as_bytes()).await.is_ok() {}
            return;
        }
        Hostile::HugeBody => {
            let len = 100 * 1024 * 1024;
            let head = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {len}\r\n\r\n"
            );
            if socket.write_all(head.as_bytes()).await.is_err() {
                return;
            }
            let block = vec![b' '; 1 << 16];
            for _ in 0..len / block.len() {
                if socket.write_all(&block).await.is_err() {
                    return;
                }
            }
            return;
        }
        Hostile::InvalidUtf8 => simple("200 OK", "application/json", b"\xff\xfe{\"code\":200}"),
        Hostile::WrongContentType => simple("200 OK", "text/html", b"<html>login</html>"),
        Hostile::ErrorEnvelopeIn200 => simple(
            "200 OK",
            "application/json",
            br#"{"code":500,"message":"failed to add memories","data":null}"#,
        ),
        Hostile::ResetMidBody => {
            let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{\"code\":";
            let _ = socket.write_all(head.as_bytes()).await;
            return;
        }
        Hostile::StallAfterHeaders => {
            let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n";
            let _ = socket.write_all(head.as_bytes()).await;
            tokio::time::sleep(Duration::from_secs(3600)).await;
            return;
        }
        Hostile::Redirect => {
            b"HTTP/1.1 307 Temporary Redirect\r\nlocation: http://127.0.0.1:1/memories\r\ncontent-length: 0\r\nconnection: close\r\n\r\n".to_vec()
        }
        Hostile::Unauthorized => simple(
            "401 Unauthorized",
            "application/json",
            br#"{"detail":"Not authenticated"}"#,
        ),
        Hostile::Forbidden => simple(
            "403 Forbidden",
            "application/json",
            br#"{"detail":"Forbidden"}"#,
        ),
        Hostile::EchoedToken => simple(
            "400 Bad Request",
            "application/json",
            format!(r#"{{"code":400,"message":"bad header: Authorization: Bearer {TOKEN}","data":null}}"#)
                .as_bytes(),
        ),
    };
    let _ = socket.write_all(&bytes).await;
    let _ = socket.shutdown().await;
}

async fn hostile_server(how: Hostile) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            tokio::spawn(answer(socket, how));
        }
    });
    format!("http://{address}")
}

fn source(dir: &Path) -> Source {
    let path = dir.join("records.txt");
    let text: String = (0..RECORDS).map(|i| format!("r{i}\n")).collect();
    std::fs::write(&path, text).unwrap();
    Source::Content {
        inputs: vec![Input::Path(path)],
        options: ContentOptions {
            chunk_size: 100,
            per_line: true,
        },
    }
}

/// Runs an import of three records against `how`, and checks what every case must hold.
async fn import_against(how: Hostile) -> Summary {
    let base = hostile_server(how).await;
    let client = Client::builder(&base)
        .bearer_token(TOKEN)
        .timeout(Duration::from_secs(2))
        .retry_policy(RetryPolicy {
            initial_backoff: Duration::from_millis(10),
            ..RetryPolicy::default()
        })
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let checkpoint = dir.path().join("ck.json");
    let options = LoadOptions {
        concurrency: 1,
        checkpoint: Some(checkpoint.clone()),
        ..LoadOptions::default()
    };
    let target = Target {
        user_id: "u".into(),
        cube_id: "c".into(),
    };
    let summary = tokio::time::timeout(
        HANG_GUARD,
        loader::import(&client, &target, &source(dir.path()), &options),
    )
    .await
    .unwrap_or_else(|_| panic!("{how:?}: the import hung"));
    let summary = match summary {
        Ok(summary) => summary,
        Err(err) => {
            // A typed error is fine, if it says what happened and keeps the token out.
            let text = err.to_string();
            assert!(!text.contains(TOKEN), "{how:?}: {text}");
            check_checkpoint(how, &checkpoint, 0);
            return Summary {
                stopped_early: Some(text),
                ..Summary::default()
            };
        }
    };
    assert_eq!(summary.records_acked, 0, "{how:?}: {summary:?}");
    assert_eq!(summary.failed, summary.records_sent, "{how:?}: {summary:?}");
    assert!(!summary.is_complete(), "{how:?}");
    for failure in &summary.failures {
        assert!(!failure.error.contains(TOKEN), "{how:?}: {}", failure.error);
        assert!(!failure.error.is_empty(), "{how:?}");
    }
    let json = serde_json::to_string(&summary).unwrap();
    assert!(!json.contains(TOKEN), "{how:?}: {json}");
    check_checkpoint(how, &checkpoint, 0);
    // Shown with --nocapture: the matrix's rows.
    eprintln!(
        "{how:?}: sent {} failed {} in doubt {}: {}",
        summary.records_sent,
        summary.failed,
        summary.answer_lost,
        first_error(&summary)
    );
    summary
}

/// The checkpoint, if written, parses and acknowledges `acked` records.
fn check_checkpoint(how: Hostile, path: &Path, acked: u64) {
    let Ok(bytes) = std::fs::read(path) else {
        return;
    };
    let text = String::from_utf8(bytes).unwrap();
    assert!(!text.contains(TOKEN), "{how:?}: {text}");
    let value: serde_json::Value = serde_json::from_str(&text).unwrap();
    let count: u64 = value["acked"]
        .as_array()
        .unwrap()
        .iter()
        .map(|pair| pair[1].as_u64().unwrap() - pair[0].as_u64().unwrap())
        .sum();
    assert_eq!(count, acked, "{how:?}: {text}");
    assert_eq!(value["complete"], false, "{how:?}");
}

fn first_error(summary: &Summary) -> &str {
    summary
        .failures
        .first()
        .map(|f| f.error.as_str())
        .or(summary.stopped_early.as_deref())
        .unwrap_or_default()
}

#[tokio::test]
async fn an_endless_body_is_cut_off() {
    let summary = import_against(Hostile::EndlessBody).await;
    let error = first_error(&summary);
    assert!(error.contains("larger than"), "{error}");
}

#[tokio::test]
async fn a_100_mb_body_is_cut_off() {
    let summary = import_against(Hostile::HugeBody).await;
    let error = first_error(&summary);
    assert!(error.contains("larger than"), "{error}");
}

#[tokio::test]
async fn invalid_utf8_is_an_invalid_answer() {
    let summary = import_against(Hostile::InvalidUtf8).await;
    assert!(
        first_error(&summary).contains("does not match"),
        "{summary:?}"
    );
}

#[tokio::test]
async fn a_wrong_content_type_is_an_invalid_answer() {
    let summary = import_against(Hostile::WrongContentType).await;
    assert!(!first_error(&summary).is_empty(), "{summary:?}");
}

#[tokio::test]
async fn an_error_envelope_in_a_200_is_not_an_acknowledgement() {
    let summary = import_against(Hostile::ErrorEnvelopeIn200).await;
    assert!(
        first_error(&summary).contains("failed to add memories"),
        "{summary:?}"
    );
    // The server said it failed, yet answered 200: whether it stored the record is unknown.
    assert_eq!(summary.records_acked, 0, "{summary:?}");
    assert_eq!(summary.answer_lost, summary.failed, "{summary:?}");
}

#[tokio::test]
async fn a_reset_in_the_body_leaves_the_record_in_doubt() {
    let summary = import_against(Hostile::ResetMidBody).await;
    assert_eq!(summary.answer_lost, summary.failed, "{summary:?}");
}

#[tokio::test]
async fn a_stall_after_the_headers_times_out_in_doubt() {
    let summary = import_against(Hostile::StallAfterHeaders).await;
    assert_eq!(summary.answer_lost, summary.failed, "{summary:?}");
}

#[tokio::test]
async fn a_redirect_is_not_followed() {
    let summary = import_against(Hostile::Redirect).await;
    assert!(first_error(&summary).contains("redirect"), "{summary:?}");
}

#[tokio::test]
async fn unauthorized_and_forbidden_fail_clearly() {
    for how in [Hostile::Unauthorized, Hostile::Forbidden] {
        let summary = import_against(how).await;
        let error = first_error(&summary);
        assert!(error.contains("401") || error.contains("403"), "{error}");
        assert_eq!(summary.answer_lost, 0, "{summary:?}");
    }
}

#[tokio::test]
async fn an_echoed_token_is_redacted() {
    let summary = import_against(Hostile::EchoedToken).await;
    assert!(first_error(&summary).contains("<redacted>"), "{summary:?}");
}
