//! Helpers shared by the `memos` command tests.

use std::collections::BTreeMap;
use std::io::Write;
use std::process::{Command, Output, Stdio};

use memos_api::v1::types::MemoryCollection;
use memos_api::v1::Client;
use memos_refserver::{Backend, ReferenceServer};

/// The `memos` binary with no MEMOS_* settings from the environment.
pub fn memos() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_memos"));
    command
        .env_remove("MEMOS_BASE_URL")
        .env_remove("MEMOS_TOKEN")
        .env_remove("MEMOS_API")
        .stdin(Stdio::null());
    command
}

/// Runs `memos` with `args` (and `stdin`, if given) to completion.
pub fn run(base_url: &str, args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut command = memos();
    command.arg("--base-url").arg(base_url).args(args);
    if stdin.is_some() {
        command.stdin(Stdio::piped());
    }
    command.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = command.spawn().expect("memos runs");
    if let Some(input) = stdin {
        let mut pipe = child.stdin.take().expect("stdin is piped");
        pipe.write_all(input).expect("writing stdin");
    }
    child.wait_with_output().expect("memos finishes")
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Asserts the exit code, showing the output when it differs.
pub fn expect_code(output: &Output, code: i32) {
    assert_eq!(
        output.status.code(),
        Some(code),
        "stdout:\n{}\nstderr:\n{}",
        text(&output.stdout),
        text(&output.stderr)
    );
}

pub fn json(output: &Output) -> serde_json::Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
            text(&output.stdout),
            text(&output.stderr)
        )
    })
}

/// A base URL where nothing listens.
pub fn dead_url() -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    format!("http://127.0.0.1:{port}")
}

/// The shared reference server, or `None` when the test should be skipped.
pub async fn server() -> Option<&'static ReferenceServer> {
    memos_refserver::testing::shared_or_skip().await
}

/// The shared reference server with cubes of `backend`, or `None` when the test should be
/// skipped.
pub async fn server_for(backend: Backend) -> Option<&'static ReferenceServer> {
    memos_refserver::testing::shared_or_skip_for(backend).await
}

/// The cube's memory texts, counted.
pub async fn stored(base_url: &str, user: &str, cube: &str) -> BTreeMap<String, usize> {
    let client = Client::new(base_url).unwrap();
    let list = client.list_memories(Some(cube), Some(user)).await.unwrap();
    let mut counts = BTreeMap::new();
    for entry in list.text_mem {
        if let MemoryCollection::Array(items) = entry.memories {
            for item in items {
                *counts.entry(item.memory).or_insert(0) += 1;
            }
        }
    }
    counts
}
