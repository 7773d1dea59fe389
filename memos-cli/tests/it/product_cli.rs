//! `memos load --api product` where no product server is needed to tell: what the
//! `/product` API cannot take is refused before anything is sent (a base URL where nothing
//! listens proves that nothing was), a checkpoint of the other API is refused, and a v1
//! server is recognised before any record is sent.

use crate::common;

use common::{dead_url, expect_code, run, server, text};

use crate::scripted::{json_answer, Scripted};

#[tokio::test]
async fn a_product_load_against_a_v1_server_hints_api_v1() {
    let Some(server) = server().await else { return };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("notes.txt");
    std::fs::write(&file, "one line\n").unwrap();
    let output = run(
        server.base_url(),
        &[
            "--json",
            "load",
            "content",
            file.to_str().unwrap(),
            "--user",
            "u",
            "--cube",
            "c",
            "--api",
            "product",
        ],
        None,
    );
    expect_code(&output, 5);
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("checking the server's /product API")
            && stderr.contains("404")
            && stderr.contains("pass --api v1"),
        "{stderr}"
    );
    assert!(output.stdout.is_empty(), "no summary: nothing was sent");
}

#[test]
fn roles_the_product_api_refuses_fail_before_sending() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("chat.jsonl");
    std::fs::write(
        &file,
        concat!(
            r#"{"role": "user", "content": "run the tests", "session_id": 1}"#,
            "\n",
            r#"{"role": "tool", "content": "42 passed", "session_id": 1}"#,
            "\n",
        ),
    )
    .unwrap();
    let file = file.to_str().unwrap();
    let args = ["load", "messages", file, "--user", "u", "--cube", "c"];
    // Through the environment, as --base-url and --token can be.
    let output = common::memos()
        .env("MEMOS_API", "product")
        .arg("--base-url")
        .arg(dead_url())
        .args(args)
        .output()
        .unwrap();
    expect_code(&output, 3);
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains(
            "1 message of the input has a role the product API does not take; nothing was sent"
        ) && stderr.contains(r#"chat.jsonl:1-2: message 2 of the session has the role "tool""#)
            && stderr
                .contains("hint: give those messages one of the roles user, assistant, system"),
        "{stderr}"
    );
    // A dry run says so too: the input cannot be imported as it is.
    let mut dry = args.to_vec();
    dry.extend(["--api", "product", "--dry-run"]);
    expect_code(&run(&dead_url(), &dry, None), 3);
}

#[test]
fn server_dir_is_refused_on_the_product_api() {
    let output = run(
        &dead_url(),
        &[
            "load",
            "docs",
            "--server-dir",
            "/srv/docs",
            "--user",
            "u",
            "--cube",
            "c",
            "--api",
            "product",
        ],
        None,
    );
    expect_code(&output, 2);
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("--server-dir cannot be used with --api product")
            && stderr.contains("[File: unknown]")
            && stderr.contains("memos load docs PATH --api product"),
        "{stderr}"
    );
}

#[test]
fn a_checkpoint_of_the_v1_api_is_refused_by_a_product_import() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("notes.txt");
    std::fs::write(&file, "one line\n").unwrap();
    let ck = dir.path().join("notes.ckpt");
    // As a loader that knew only v1 wrote it: no "api" field.
    let checkpoint = serde_json::json!({
        "format": "memos-load-checkpoint",
        "version": 1,
        "kind": "content",
        "target": {"base_url": "http://127.0.0.1:1", "user_id": "u", "cube_id": "c"},
        "inputs": ["notes.txt"],
        "input_digest": "x",
        "options": "x",
        "records_total": 1,
        "sent_below": 1,
        "acked": [],
        "complete": false,
    });
    std::fs::write(&ck, checkpoint.to_string()).unwrap();
    // A server that answers the load's check of the /product API, and anything else alike.
    let stub = Scripted::start(json_answer(
        "200 OK",
        br#"{"status":"healthy","service":"memos","version":"1.0.1"}"#,
    ));
    let output = run(
        &stub.url,
        &[
            "load",
            "content",
            file.to_str().unwrap(),
            "--user",
            "u",
            "--cube",
            "c",
            "--api",
            "product",
            "--resume",
            ck.to_str().unwrap(),
        ],
        None,
    );
    expect_code(&output, 7);
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("it belongs to an import through the v1 API, and this import goes through the product API"),
        "{stderr}"
    );
    let requests = stub.requests.lock().unwrap().clone();
    assert!(
        requests.len() == 1 && requests[0].starts_with("GET /health "),
        "only the check was sent: {requests:?}"
    );
}

#[test]
fn a_product_dry_run_counts_messages_not_memories() {
    // On /product a record (a session) is one add that stores about one memory per 4,000
    // characters, so the summary counts the messages in the records, not memories.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("chat.jsonl");
    std::fs::write(
        &file,
        concat!(
            r#"{"role": "user", "content": "hi", "session_id": 1}"#,
            "\n",
            r#"{"role": "assistant", "content": "hello", "session_id": 1}"#,
            "\n",
            r#"{"role": "user", "content": "bye", "session_id": 2}"#,
            "\n",
        ),
    )
    .unwrap();
    let file = file.to_str().unwrap();
    let args = [
        "load",
        "messages",
        file,
        "--user",
        "u",
        "--cube",
        "c",
        "--dry-run",
    ];
    let product: Vec<&str> = args.iter().copied().chain(["--api", "product"]).collect();
    let output = run(&dead_url(), &product, None);
    expect_code(&output, 0);
    let stdout = text(&output.stdout);
    assert!(
        stdout.starts_with("Dry run: 2 valid records (3 messages) would be imported"),
        "{stdout}"
    );
    let output = run(&dead_url(), &args, None);
    expect_code(&output, 0);
    let stdout = text(&output.stdout);
    assert!(
        stdout.starts_with("Dry run: 2 valid records (3 memories) would be imported"),
        "{stdout}"
    );
}
