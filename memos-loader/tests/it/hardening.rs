//! Hostile and unlucky input: files that change between the passes of an import, two
//! imports sharing one checkpoint, pipes and devices as inputs, links out of a documents
//! folder, and 503 answers that do not prove the record was not stored.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use httpmock::prelude::*;
use memos_api::{v1::Client, RetryPolicy};
use memos_loader as loader;
use memos_loader::{DocumentOptions, LoadError, LoadOptions, Payload, Source};

use crate::{per_line, target, OK_BODY};

/// A bound for tests whose old failure was a hang; never reached by a passing run.
const HANG_GUARD: Duration = Duration::from_secs(60);

fn client(base_url: &str) -> Client {
    Client::builder(base_url)
        .timeout(Duration::from_secs(5))
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap()
}

fn write_lines(path: &Path, range: std::ops::Range<usize>, append: bool) {
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(append)
        .write(true)
        .truncate(!append)
        .open(path)
        .unwrap();
    for i in range {
        writeln!(file, "r{i}").unwrap();
    }
}

/// A server that stores every record and lists an empty cube.
async fn ok_server() -> MockServer {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(POST).path("/memories");
            then.status(200)
                .header("content-type", "application/json")
                .body(OK_BODY);
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(GET).path("/memories");
            then.status(200).json_body(serde_json::json!({
                "code": 200, "message": "ok",
                "data": {"para_mem": [], "act_mem": [], "text_mem": [{"cube_id": "c", "memories": []}]}
            }));
        })
        .await;
    server
}

/// Defect 2 (no checkpoint): lines appended after validation are not sent, and the counts
/// stay consistent (before: `remaining` underflowed, a panic in debug builds).
#[tokio::test]
async fn lines_appended_after_validation_are_not_sent() {
    let server = ok_server().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    write_lines(&path, 0..50, false);
    let options = LoadOptions::default();
    let validated = loader::validate_source(&per_line(&path), &options)
        .await
        .unwrap();
    write_lines(&path, 50..80, true);
    let summary = validated
        .send(&client(&server.base_url()), &target())
        .await
        .expect("the validated prefix is imported");
    assert_eq!(
        (
            summary.records_read,
            summary.records_sent,
            summary.records_acked
        ),
        (50, 50, 50)
    );
    assert_eq!(summary.remaining, 0);
}

/// Defect 2 (with a checkpoint): an import of a file appended to after validation ends
/// (before: `cover()` looped for ever, rewriting the checkpoint on every turn).
#[tokio::test]
async fn an_import_with_a_checkpoint_of_a_growing_file_ends() {
    let server = ok_server().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    write_lines(&path, 0..40, false);
    let checkpoint = dir.path().join("app.ckpt");
    let options = LoadOptions {
        checkpoint: Some(checkpoint.clone()),
        ..LoadOptions::default()
    };
    let validated = loader::validate_source(&per_line(&path), &options)
        .await
        .unwrap();
    write_lines(&path, 40..2000, true);
    let client = client(&server.base_url());
    let summary = tokio::time::timeout(HANG_GUARD, validated.send(&client, &target()))
        .await
        .expect("the import ends")
        .expect("the validated prefix is imported");
    assert_eq!((summary.records_sent, summary.records_acked), (40, 40));
    let saved: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&checkpoint).unwrap()).unwrap();
    assert_eq!(saved["records_total"], 40);
    assert_eq!(saved["acked"], serde_json::json!([[0, 40]]));
    assert_eq!(saved["complete"], true);
}

/// Defect 2: a file rewritten between validation and sending is an error, and nothing of
/// the new content is sent.
#[tokio::test]
async fn a_file_rewritten_after_validation_is_an_error() {
    let server = MockServer::start_async().await;
    let post = server
        .mock_async(|when, then| {
            when.method(POST).path("/memories");
            then.status(200)
                .header("content-type", "application/json")
                .body(OK_BODY);
        })
        .await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    write_lines(&path, 0..20, false);
    let validated = loader::validate_source(&per_line(&path), &LoadOptions::default())
        .await
        .unwrap();
    // Same size, other content.
    let rewritten = std::fs::read_to_string(&path).unwrap().replace('r', "x");
    std::fs::write(&path, rewritten).unwrap();
    let err = validated
        .send(&client(&server.base_url()), &target())
        .await
        .expect_err("a rewritten input is refused");
    assert!(err.to_string().contains("changed"), "{err}");
    assert_eq!(post.calls_async().await, 0);
}

/// Defect 3: a second import with the checkpoint of a running one is refused, naming the
/// holder (before: both sent everything).
#[tokio::test]
async fn a_second_import_with_a_busy_checkpoint_is_refused() {
    let server = MockServer::start_async().await;
    let post = server
        .mock_async(|when, then| {
            when.method(POST).path("/memories");
            then.status(200)
                .delay(Duration::from_millis(300))
                .header("content-type", "application/json")
                .body(OK_BODY);
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(GET).path("/memories");
            then.status(200).json_body(serde_json::json!({
                "code": 200, "message": "ok",
                "data": {"para_mem": [], "act_mem": [], "text_mem": [{"cube_id": "c", "memories": []}]}
            }));
        })
        .await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    write_lines(&path, 0..40, false);
    let checkpoint = dir.path().join("app.ckpt");
    let first_options = LoadOptions {
        concurrency: 1,
        checkpoint: Some(checkpoint.clone()),
        ..LoadOptions::default()
    };
    let cancel = first_options.cancel.clone();
    let client = client(&server.base_url());
    let first = {
        let (client, source, options) = (client.clone(), per_line(&path), first_options.clone());
        tokio::spawn(async move { loader::import(&client, &target(), &source, &options).await })
    };
    // The first import has started sending once the server saw a record.
    while post.calls_async().await == 0 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let second = loader::import(&client, &target(), &per_line(&path), &first_options).await;
    cancel.cancel();
    let first = first.await.unwrap().expect("the first import runs");
    let err = second.expect_err("the second import is refused");
    let text = err.to_string();
    assert!(text.contains("in use"), "{text}");
    assert!(
        text.contains(&format!("process {}", std::process::id())),
        "{text}"
    );
    assert!(first.interrupted);
    assert_eq!(post.calls_async().await as u64, first.records_sent);
}

/// Defect 4: a pipe (`<(zcat chats.gz)`) is read once, like standard input (before: the
/// second pass read nothing and sent nothing).
#[tokio::test]
async fn a_pipe_is_spooled_and_every_record_sent() {
    let server = ok_server().await;
    let (reader, mut writer) = std::io::pipe().unwrap();
    for i in 0..10 {
        writeln!(writer, "r{i}").unwrap();
    }
    drop(writer);
    use std::os::fd::AsRawFd;
    let path = PathBuf::from(format!("/proc/self/fd/{}", reader.as_raw_fd()));
    let summary = loader::import(
        &client(&server.base_url()),
        &target(),
        &per_line(&path),
        &LoadOptions::default(),
    )
    .await
    .unwrap();
    drop(reader);
    assert_eq!((summary.records_read, summary.records_acked), (10, 10));
}

/// Defect 4: devices are refused before anything is read (before: `/dev/null` imported
/// nothing and `/dev/zero` never ended).
#[tokio::test]
async fn devices_are_refused() {
    for device in ["/dev/null", "/dev/zero"] {
        let source = per_line(Path::new(device));
        let err = tokio::time::timeout(
            HANG_GUARD,
            loader::validate_source(&source, &LoadOptions::default()),
        )
        .await
        .expect("refused at once")
        .expect_err("a device is refused");
        assert!(matches!(err, LoadError::Read { .. }), "{err:?}");
        assert!(err.to_string().contains("device"), "{err}");
    }
}

/// Defect 5: a link in a documents folder that points out of it is not read (before: the
/// file it points to, e.g. credentials, was imported).
#[test]
fn a_link_out_of_the_documents_folder_is_not_read() {
    let dir = tempfile::tempdir().unwrap();
    let outside = dir.path().join("outside");
    let docs = dir.path().join("docs");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::create_dir_all(docs.join("sub")).unwrap();
    std::fs::write(
        outside.join("credentials"),
        "aws_secret_access_key = SECRET\n",
    )
    .unwrap();
    std::fs::write(docs.join("a.md"), "# A\n\nalpha\n").unwrap();
    std::os::unix::fs::symlink(outside.join("credentials"), docs.join("notes.md")).unwrap();
    // A link inside the folder is fine.
    std::os::unix::fs::symlink("../a.md", docs.join("sub/again.md")).unwrap();
    let source = Source::Documents {
        paths: vec![docs.clone()],
        options: DocumentOptions::default(),
    };
    let texts: Vec<String> = loader::read(&source)
        .unwrap()
        .map(|item| match item.unwrap().unwrap().payload {
            Payload::Content(text) => text,
            other => panic!("{other:?}"),
        })
        .collect();
    assert!(texts.iter().all(|t| !t.contains("SECRET")), "{texts:?}");
    assert_eq!(texts.len(), 2, "a.md and sub/again.md: {texts:?}");
}

/// Imports one line with `retries` rounds of the loader on top of a client that does not
/// retry.
async fn import_one_line(server: &MockServer, retries: u32) -> loader::Summary {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    write_lines(&path, 0..1, false);
    let options = LoadOptions {
        retries,
        ..LoadOptions::default()
    };
    loader::import(
        &client(&server.base_url()),
        &target(),
        &per_line(&path),
        &options,
    )
    .await
    .unwrap()
}

/// Defect 11: a 503 without `Retry-After` may follow an upstream reset after the record
/// was stored: it is not sent again, and counts as in doubt (before: sent 4 times).
#[tokio::test]
async fn a_bare_503_is_not_sent_again_and_is_in_doubt() {
    let server = MockServer::start_async().await;
    let post = server
        .mock_async(|when, then| {
            when.method(POST).path("/memories");
            then.status(503)
                .header("content-type", "text/plain")
                .body("upstream connect error or disconnect/reset before headers");
        })
        .await;
    let summary = import_one_line(&server, 3).await;
    assert_eq!(post.calls_async().await, 1);
    assert_eq!((summary.failed, summary.answer_lost), (1, 1));
    assert!(summary.failures[0].answer_lost);
}

/// Defect 11: a deliberate refusal (429 or 503 with `Retry-After`) is sent again.
#[tokio::test]
async fn a_refusal_with_retry_after_is_sent_again() {
    let server = MockServer::start_async().await;
    let post = server
        .mock_async(|when, then| {
            when.method(POST).path("/memories");
            then.status(429)
                .header("retry-after", "0")
                .header("content-type", "application/json")
                .body(r#"{"code":429,"message":"slow down","data":null}"#);
        })
        .await;
    let summary = import_one_line(&server, 2).await;
    assert_eq!(post.calls_async().await, 3, "one try and two retries");
    assert_eq!((summary.failed, summary.answer_lost), (1, 0));
}

/// Defect 5: the links left out are listed in the summary, and `follow_links` reads them.
#[tokio::test]
async fn links_left_out_are_listed_and_follow_links_reads_them() {
    let dir = tempfile::tempdir().unwrap();
    let docs = dir.path().join("docs");
    std::fs::create_dir_all(&docs).unwrap();
    std::fs::write(dir.path().join("shared.md"), "shared text\n").unwrap();
    std::fs::write(docs.join("a.md"), "alpha\n").unwrap();
    std::os::unix::fs::symlink(dir.path().join("shared.md"), docs.join("shared.md")).unwrap();
    let source = |follow_links| Source::Documents {
        paths: vec![docs.clone()],
        options: DocumentOptions {
            follow_links,
            ..DocumentOptions::default()
        },
    };
    let options = LoadOptions {
        dry_run: true,
        ..LoadOptions::default()
    };
    let summary = loader::validate_source(&source(false), &options)
        .await
        .unwrap()
        .dry_run_summary();
    assert_eq!(summary.records_read, 1);
    assert_eq!(summary.skipped_links, vec![docs.join("shared.md")]);
    let summary = loader::validate_source(&source(true), &options)
        .await
        .unwrap()
        .dry_run_summary();
    assert_eq!(summary.records_read, 2);
    assert!(summary.skipped_links.is_empty());
}
