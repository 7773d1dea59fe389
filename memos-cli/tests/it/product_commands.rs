//! The everyday commands with `--api product`, against one reference server of the
//! `/product` API (MemoryOS 2.0.33) shared by the tests of this file: memories list, get,
//! delete and delete --all after a `memos load --api product`, search, chat, and the
//! commands the API has no routes for. What must be refused before sending is run against a
//! base URL where nothing listens (a request would end in exit code 6, not 2).

use std::process::Output;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

use crate::common;
use crate::scripted::{json_answer, Scripted};

use common::{dead_url, expect_code, json, run, text};
use memos_refserver::{Api, ReferenceServer, StartOptions};

/// The tests of this file that use the shared server: the last of them to finish stops it.
const SERVER_TESTS: usize = 3;

/// The one product server of this file, started on first use.
static SERVER: OnceLock<Result<ReferenceServer, (String, bool)>> = OnceLock::new();
static FINISHED: AtomicUsize = AtomicUsize::new(0);

/// A test's use of the shared server; the last one dropped stops it (its processes would
/// die with this one anyway; this removes its files too).
struct Lease(&'static ReferenceServer);

impl Drop for Lease {
    fn drop(&mut self) {
        if FINISHED.fetch_add(1, Ordering::SeqCst) + 1 == SERVER_TESTS {
            self.0.stop();
        }
    }
}

/// The shared product server, or `None` when the test should be skipped (no Python, not in
/// CI). Started on a runtime of its own, as `ReferenceServer::shared` does, so that it
/// outlives the test that started it.
async fn server() -> Option<Lease> {
    let result = tokio::task::spawn_blocking(|| {
        SERVER.get_or_init(|| {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| (e.to_string(), false))?;
            runtime
                .block_on(ReferenceServer::start(StartOptions {
                    api: Api::Product,
                    ..StartOptions::default()
                }))
                .map_err(|e| {
                    let missing = memos_refserver::testing::skip_for_missing_python(&e);
                    (e.to_string(), missing)
                })
        })
    })
    .await
    .unwrap();
    match result {
        Ok(server) => Some(Lease(server)),
        Err((_, true)) => {
            // Counted as finished, so that the others still stop the server.
            FINISHED.fetch_add(1, Ordering::SeqCst);
            None
        }
        Err((message, false)) => panic!("the product reference server could not start: {message}"),
    }
}

/// `memos --api product ARGS` against `base`.
fn product(base: &str, args: &[&str]) -> Output {
    let mut all = vec!["--api", "product"];
    all.extend_from_slice(args);
    run(base, &all, None)
}

/// Imports one memory per line into `cube` through `memos load content --api product`.
fn load(base: &str, user: &str, cube: &str, lines: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("notes.txt");
    std::fs::write(&file, lines.join("\n") + "\n").unwrap();
    let output = run(
        base,
        &[
            "load",
            "content",
            file.to_str().unwrap(),
            "--per-line",
            "--user",
            user,
            "--cube",
            cube,
            "--api",
            "product",
        ],
        None,
    );
    expect_code(&output, 0);
}

/// The `(id, memory)` of each memory `memories list --json` shows, checking the v1 shape.
fn listed(base: &str, user: &str, cube: &str) -> Vec<(String, String)> {
    // --api after the subcommand, as a global option may be.
    let output = run(
        base,
        &[
            "memories", "list", "--cube", cube, "--user", user, "--json", "--api", "product",
        ],
        None,
    );
    expect_code(&output, 0);
    let value = json(&output);
    assert_eq!(value["act_mem"], serde_json::json!([]), "{value}");
    assert_eq!(value["para_mem"], serde_json::json!([]), "{value}");
    let buckets = value["text_mem"].as_array().expect("text_mem is a list");
    let mut out = Vec::new();
    for bucket in buckets {
        assert_eq!(bucket["cube_id"], cube, "{value}");
        for memory in bucket["memories"].as_array().expect("memories is a list") {
            out.push((
                memory["id"].as_str().unwrap().to_owned(),
                memory["memory"].as_str().unwrap().to_owned(),
            ));
        }
    }
    out
}

fn holds(memories: &[(String, String)], word: &str) -> bool {
    memories.iter().any(|(_, memory)| memory.contains(word))
}

#[tokio::test]
async fn memories_list_get_and_delete_on_product() {
    let Some(lease) = server().await else { return };
    let base = lease.0.base_url();
    let (user, cube) = ("pc-alice", "pc-notes");
    load(
        base,
        user,
        cube,
        &[
            "the heron nests by the river",
            "the lighthouse keeper is called Ottavio",
            "the ferry leaves at seven",
        ],
    );

    // The table, as v1 prints it, and the count on stderr.
    let output = product(base, &["memories", "list", "--cube", cube, "--user", user]);
    expect_code(&output, 0);
    let stdout = text(&output.stdout);
    assert!(
        stdout.contains("CUBE")
            && stdout.contains("MEMORY")
            && stdout.contains("heron")
            && stdout.contains("Ottavio")
            && stdout.contains("ferry"),
        "{stdout}"
    );
    let memories = listed(base, user, cube);
    assert_eq!(
        text(&output.stderr).trim(),
        format!("{} memories", memories.len())
    );
    assert!(
        holds(&memories, "heron") && holds(&memories, "Ottavio") && holds(&memories, "ferry"),
        "{memories:?}"
    );

    // Get by id: 2.0.33 finds only memories of memos_default (the known defect).
    let heron = memories
        .iter()
        .find(|(_, m)| m.contains("heron"))
        .unwrap()
        .0
        .clone();
    let output = product(base, &["memories", "get", cube, &heron, "--user", user]);
    expect_code(&output, 5);
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains(&format!("no memory with id {heron:?}"))
            && stderr.contains("memos_default")
            && stderr.contains("known server defect")
            && stderr.contains(&format!("memories list --cube {cube}")),
        "{stderr}"
    );
    assert!(output.stdout.is_empty());

    // Delete one: the others stay.
    let output = product(base, &["memories", "delete", cube, &heron, "--user", user]);
    expect_code(&output, 0);
    assert!(
        text(&output.stdout).contains(&heron),
        "{}",
        text(&output.stdout)
    );
    let after = listed(base, user, cube);
    assert!(
        !after.iter().any(|(id, _)| *id == heron) && !holds(&after, "heron"),
        "{after:?}"
    );
    assert_eq!(after.len(), memories.len() - 1, "{after:?}");
    assert!(
        holds(&after, "Ottavio") && holds(&after, "ferry"),
        "{after:?}"
    );

    // --all: the listed ids, counted.
    let output = product(base, &["memories", "delete", cube, "--all", "--json"]);
    expect_code(&output, 0);
    let summary = json(&output);
    assert_eq!(summary["cube_id"], cube, "{summary}");
    assert_eq!(summary["deleted"], after.len(), "{summary}");
    assert!(listed(base, user, cube).is_empty());
    // Again, on the empty cube, for people: nothing to delete.
    let output = product(base, &["memories", "delete", cube, "--all"]);
    expect_code(&output, 0);
    assert_eq!(
        text(&output.stdout).trim(),
        format!("0 memories of cube {cube:?} are deleted")
    );
}

#[tokio::test]
async fn search_on_product_answers_and_notes_an_empty_result() {
    let Some(lease) = server().await else { return };
    let base = lease.0.base_url();
    let (user, cube) = ("pc-bob", "pc-search");
    load(base, user, cube, &["bob lives in Lisbon"]);

    let output = product(base, &["search", "Lisbon", "--user", user, "--cube", cube]);
    expect_code(&output, 0);
    let stdout = text(&output.stdout);
    assert!(
        stdout.contains("CUBE") && stdout.contains("MEMORY"),
        "{stdout}"
    );
    // MemoryOS 2.0.33 on PostgreSQL finds nothing: a note on stderr, not on stdout.
    assert!(!stdout.contains("Lisbon"), "{stdout}");
    assert!(!stdout.contains("defect"), "{stdout}");
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("MemoryOS 2.0.33 on PostgreSQL finds nothing")
            && stderr.lines().count() == 1,
        "{stderr}"
    );

    let output = product(
        base,
        &["search", "Lisbon", "--user", user, "--cube", cube, "--json"],
    );
    expect_code(&output, 0);
    let found = json(&output);
    let text_mem = found["text_mem"].as_array().expect("text_mem is a list");
    assert!(
        text_mem
            .iter()
            .all(|bucket| bucket["memories"].as_array().is_some_and(Vec::is_empty)),
        "{found}"
    );
    assert_eq!(found["act_mem"], serde_json::json!([]), "{found}");
}

#[tokio::test]
async fn chat_on_product_answers() {
    let Some(lease) = server().await else { return };
    let base = lease.0.base_url();
    let (user, cube) = ("pc-carol", "pc-chat");
    load(base, user, cube, &["carol keeps bees"]);

    let output = product(
        base,
        &[
            "chat",
            "What does carol keep?",
            "--user",
            user,
            "--cube",
            cube,
        ],
    );
    expect_code(&output, 0);
    let stdout = text(&output.stdout);
    // The reference server's fake model: `Answer to "<query>" using N memories.`
    assert!(
        stdout.starts_with("Answer to \"") && stdout.contains("What does carol keep?"),
        "{stdout}"
    );

    let output = product(base, &["--json", "chat", "Who keeps bees?", "--user", user]);
    expect_code(&output, 0);
    let answer = json(&output);
    let answer = answer["answer"].as_str().expect("an answer");
    assert!(
        answer.starts_with("Answer to \"") && answer.contains("Who keeps bees?"),
        "{answer}"
    );
}

#[test]
fn chat_off_is_a_clear_error() {
    let stub = Scripted::start(json_answer(
        "503 Service Unavailable",
        br#"{"code":503,"message":"Chat service is not available. Chat handler not initialized.","data":null}"#,
    ));
    let output = product(&stub.url, &["chat", "hello", "--user", "u"]);
    expect_code(&output, 5);
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("503")
            && stderr.contains("Chat service is not available")
            && stderr.contains("ENABLE_CHAT_API=true"),
        "{stderr}"
    );
    let requests = stub.requests.lock().unwrap().clone();
    assert!(
        requests.len() == 1 && requests[0].starts_with("POST /product/chat/complete "),
        "sent once: {requests:?}"
    );
}

#[test]
fn what_product_needs_is_a_usage_error_before_sending() {
    let url = dead_url();
    let cases: [(&[&str], &str); 4] = [
        (
            &["search", "Lisbon", "--user", "u"],
            "`memos search` with --api product needs --cube CUBE",
        ),
        (
            &["search", "Lisbon", "--cube", "c"],
            "`memos search` with --api product needs --user",
        ),
        (
            &["memories", "list", "--user", "u"],
            "`memos memories list` with --api product needs --cube",
        ),
        (
            &["chat", "hello"],
            "`memos chat` with --api product needs --user",
        ),
    ];
    for (args, message) in cases {
        let output = product(&url, args);
        expect_code(&output, 2);
        let stderr = text(&output.stderr);
        assert!(stderr.contains(message), "{args:?}: {stderr}");
    }
    // Through the environment too.
    let output = common::memos()
        .env("MEMOS_API", "product")
        .args(["--base-url", &url, "search", "Lisbon", "--user", "u"])
        .output()
        .unwrap();
    expect_code(&output, 2);
}

#[test]
fn users_and_cubes_are_refused_on_product() {
    let url = dead_url();
    let users: [&[&str]; 2] = [&["users", "list"], &["users", "create", "alice"]];
    for args in users {
        let output = product(&url, args);
        expect_code(&output, 2);
        let stderr = text(&output.stderr);
        assert!(
            stderr.contains("the /product API has no user routes")
                && stderr.contains("any user id is taken"),
            "{stderr}"
        );
    }
    let cubes: [&[&str]; 3] = [
        &["cubes", "register", "notes", "--path", "/srv/notes"],
        &["cubes", "unregister", "notes"],
        &["cubes", "share", "notes", "--with", "bob"],
    ];
    for args in cubes {
        let output = product(&url, args);
        expect_code(&output, 2);
        let stderr = text(&output.stderr);
        assert!(
            stderr.contains("the /product API has no routes to register")
                && stderr.contains("created by the first memory added to it"),
            "{stderr}"
        );
    }
    // --api after the subcommand, as a global option may be.
    let output = run(&url, &["users", "list", "--api", "product"], None);
    expect_code(&output, 2);
    // Without --api product the same command goes to the (absent) server.
    let output = run(&url, &["users", "list"], None);
    expect_code(&output, 6);
}

#[test]
fn a_v1_command_meeting_a_missing_route_hints_api_product() {
    // What a /product server answers for the v1 routes: Starlette's bare 404.
    let stub = Scripted::start(json_answer("404 Not Found", br#"{"detail":"Not Found"}"#));
    let output = run(&stub.url, &["memories", "list", "--cube", "c"], None);
    expect_code(&output, 5);
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("404") && stderr.contains("pass --api product"),
        "{stderr}"
    );
    // An error of the API itself is left as it is.
    let stub = Scripted::start(json_answer(
        "404 Not Found",
        br#"{"code":404,"message":"cube c not found","data":null}"#,
    ));
    let output = run(&stub.url, &["memories", "list", "--cube", "c"], None);
    expect_code(&output, 5);
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("cube c not found") && !stderr.contains("--api product"),
        "{stderr}"
    );
}

#[test]
fn a_product_command_meeting_a_missing_route_hints_the_v1_api() {
    // What a v1 server answers for the /product routes: Starlette's bare 404.
    let stub = Scripted::start(json_answer("404 Not Found", br#"{"detail":"Not Found"}"#));
    let args = ["--api", "product", "memories", "list", "--cube", "c"];
    let output = run(&stub.url, &args, None);
    expect_code(&output, 5);
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("404") && stderr.contains("drop --api product"),
        "{stderr}"
    );
}
