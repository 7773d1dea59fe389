//! The suite must never change or read an operator's data. The fake server here models
//! the case that lost data: every cube registered from the one cube directory shares its
//! storage (as `tree_text` graphs and `general_text` collections do), so a delete-all on
//! the run's cube empties the operator's cube too. The reference server's `tree_text` and
//! `general_text` backends then show the same with a real production cube.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::to_bytes;
use axum::extract::{Request, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Router;
use memos_conformance::{Backend, Format, Outcome, Report, RunOptions};
use serde_json::{json, Value};
use tokio::sync::watch;

const PREFIX: &str = "conf-safe";
const CUBE_DIR: &str = "/srv/memos/cubes/prod";
/// How many memories the operator's cube holds in the shared storage.
const OPERATOR_MEMORIES: usize = 20;

/// A request the fake received.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    path: String,
    body: Value,
}

#[derive(Default)]
struct Storage {
    /// `(id, text)` of every memory in the directory's shared storage.
    memories: Vec<(String, String)>,
    next_id: usize,
    seen: Vec<Seen>,
}

struct Fake {
    storage: Mutex<Storage>,
    /// `tree_text`: list memories as a graph of nodes and edges.
    graph: bool,
    /// Interrupts the run (as Ctrl-C does) when a memory is added, and then never
    /// answers that add, so the case is still running when it is interrupted.
    interrupt: Option<watch::Sender<bool>>,
    /// `general_text` with an embedded Qdrant that another cube holds: every
    /// registration answers 500 "... already accessed by another instance of Qdrant client".
    qdrant_locked: bool,
}

/// A server whose cubes all share one storage, holding `initial` memories.
struct SharedStorageServer {
    url: String,
    fake: Arc<Fake>,
}

impl SharedStorageServer {
    async fn start(initial: usize, graph: bool) -> SharedStorageServer {
        SharedStorageServer::with_interrupt(initial, graph, None).await
    }

    async fn with_interrupt(
        initial: usize,
        graph: bool,
        interrupt: Option<watch::Sender<bool>>,
    ) -> SharedStorageServer {
        SharedStorageServer::build(initial, graph, interrupt, false).await
    }

    /// A server whose cube directory's embedded Qdrant another cube holds.
    async fn qdrant_locked(initial: usize) -> SharedStorageServer {
        SharedStorageServer::build(initial, false, None, true).await
    }

    async fn build(
        initial: usize,
        graph: bool,
        interrupt: Option<watch::Sender<bool>>,
        qdrant_locked: bool,
    ) -> SharedStorageServer {
        let memories = (0..initial)
            .map(|i| (format!("prod-{i}"), format!("Operator memory {i}")))
            .collect();
        let fake = Arc::new(Fake {
            storage: Mutex::new(Storage {
                memories,
                ..Storage::default()
            }),
            graph,
            interrupt,
            qdrant_locked,
        });
        let app = Router::new().fallback(answer).with_state(fake.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        tokio::spawn(async move { axum::serve(listener, app).await });
        SharedStorageServer { url, fake }
    }

    fn storage(&self) -> std::sync::MutexGuard<'_, Storage> {
        self.fake.storage.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn operator_memories_left(&self) -> usize {
        self.storage()
            .memories
            .iter()
            .filter(|(id, _)| id.starts_with("prod-"))
            .count()
    }

    fn seen(&self) -> Vec<Seen> {
        self.storage().seen.clone()
    }

    fn options(&self, patterns: &[&str]) -> RunOptions {
        let mut options = RunOptions::live(self.url.clone());
        options.patterns = patterns.iter().map(|p| (*p).to_owned()).collect();
        options.cube_paths = vec![CUBE_DIR.into()];
        options.run_prefix = Some(PREFIX.into());
        options.request_timeout = Duration::from_secs(5);
        options.case_timeout = Duration::from_secs(20);
        options.run_timeout = Duration::from_secs(60);
        options
    }
}

fn envelope(data: Value) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        json!({"code": 200, "message": "ok", "data": data}).to_string(),
    )
        .into_response()
}

async fn answer(State(fake): State<Arc<Fake>>, request: Request) -> Response {
    let method = request.method().as_str().to_owned();
    let path = request.uri().path().to_owned();
    let query: Vec<(String, String)> = request
        .uri()
        .query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default();
    let bytes = to_bytes(request.into_body(), 1 << 20)
        .await
        .unwrap_or_default();
    let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    let (response, stall) = respond(&fake, method, path, &query, body);
    if stall {
        std::future::pending::<()>().await;
    }
    response
}

/// The answer, and whether to never send it.
fn respond(
    fake: &Fake,
    method: String,
    path: String,
    query: &[(String, String)],
    body: Value,
) -> (Response, bool) {
    let mut storage = fake.storage.lock().unwrap_or_else(|e| e.into_inner());
    storage.seen.push(Seen {
        method: method.clone(),
        path: path.clone(),
        body: body.clone(),
    });
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let response = match (method.as_str(), segments.as_slice()) {
        ("POST", ["users"]) => envelope(json!({"user_id": body["user_id"]})),
        ("POST", ["mem_cubes"]) if fake.qdrant_locked => (
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            [(header::CONTENT_TYPE, "application/json")],
            json!({"code": 500, "message": format!(
                "Storage folder {CUBE_DIR}/qdrant is already accessed by another instance of Qdrant client. \
                 If you require concurrent access, use Qdrant server instead."
            ), "data": null})
            .to_string(),
        )
            .into_response(),
        ("GET", ["memories"]) => {
            let cube = query
                .iter()
                .find(|(k, _)| k == "mem_cube_id")
                .map(|(_, v)| v.clone())
                .unwrap_or_default();
            let nodes: Vec<Value> = storage
                .memories
                .iter()
                .map(|(id, text)| json!({"id": id, "memory": text, "metadata": {}}))
                .collect();
            let memories = if fake.graph {
                json!({"nodes": nodes, "edges": []})
            } else {
                Value::Array(nodes)
            };
            envelope(json!({"para_mem": [], "act_mem": [],
                "text_mem": [{"cube_id": cube, "memories": memories}]}))
        }
        ("POST", ["memories"]) => {
            let mut texts: Vec<String> = body["memory_content"]
                .as_str()
                .map(str::to_owned)
                .into_iter()
                .collect();
            if let Some(messages) = body["messages"].as_array() {
                texts.extend(
                    messages
                        .iter()
                        .filter_map(|m| m["content"].as_str().map(str::to_owned)),
                );
            }
            for text in texts {
                storage.next_id += 1;
                let id = format!("run-{}", storage.next_id);
                storage.memories.push((id, text));
            }
            if let Some(interrupt) = &fake.interrupt {
                interrupt.send_replace(true);
                return (envelope(Value::Null), true);
            }
            envelope(Value::Null)
        }
        // Delete-all empties the storage every cube of the directory shares.
        ("DELETE", ["memories", _cube]) => {
            storage.memories.clear();
            envelope(Value::Null)
        }
        ("DELETE", ["memories", _cube, id]) => {
            storage.memories.retain(|(m, _)| m != id);
            envelope(Value::Null)
        }
        _ => envelope(Value::Null),
    };
    (response, false)
}

fn is_delete_all(s: &Seen) -> bool {
    s.method == "DELETE" && s.path.starts_with("/memories/") && s.path.matches('/').count() == 2
}

fn posts_the_cube_dir_as_doc_path(s: &Seen) -> bool {
    s.method == "POST" && s.path == "/memories" && s.body["doc_path"] == CUBE_DIR
}

fn changes_memories(s: &Seen) -> bool {
    (s.method == "POST" || s.method == "PUT" || s.method == "DELETE")
        && s.path.starts_with("/memories")
}

fn reason<'a>(report: &'a Report, name: &str) -> &'a str {
    report
        .cases
        .iter()
        .find(|c| c.name == name)
        .and_then(|c| c.reason.as_deref())
        .unwrap_or_default()
}

/// Case `name` was not run, because of a stop whose reason holds `why`.
fn assert_not_run(report: &Report, name: &str, why: &str) {
    let case = report
        .cases
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("{name} is not in the report"));
    assert_eq!(case.outcome, Outcome::NotRun, "{case:#?}");
    let reason = case.reason.as_deref().unwrap_or_default();
    assert!(reason.contains(why), "{why:?} missing from: {reason}");
}

/// Every rendering shows case `name` as not run, with the stop's reason holding `why`:
/// its own word in the text table, `not_run` in JSON, a skip (not a failure) in JUnit.
fn assert_rendered_not_run(report: &Report, name: &str, why: &str) {
    let text = report.render(Format::Text);
    let row = text
        .lines()
        .find(|l| l.starts_with(&format!("{name} ")))
        .unwrap_or_default();
    assert!(
        row.contains("  not run  ") && !row.contains("FAIL"),
        "{text}"
    );
    assert!(row.contains(why), "{text}");
    let json: Value = serde_json::from_str(&report.render(Format::Json)).expect("JSON report");
    let case = json["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .find(|c| c["name"] == name)
        .expect("the case in JSON");
    assert_eq!(case["outcome"], "not_run", "{case}");
    let junit = report.render(Format::Junit);
    let start = junit
        .find(&format!(r#"<testcase name="{name}""#))
        .expect("the case in JUnit");
    let end = junit[start..].find("</testcase>").expect("its end") + start;
    let testcase = &junit[start..end];
    assert!(
        testcase.contains(r#"<skipped message="not run: "#) && testcase.contains(why),
        "{testcase}"
    );
    assert!(!testcase.contains("<failure"), "{testcase}");
}

async fn foreign_memories_stop_the_run(graph: bool) {
    let server = SharedStorageServer::start(OPERATOR_MEMORIES, graph).await;
    let output = memos_conformance::run(server.options(&[
        "add_memories.content_is_listed",
        "delete_memory.*",
        "update_memory.*",
    ]))
    .await;
    let report = output.report;
    let text = report.render(Format::Text);
    assert!(!report.summary.success, "{text}");
    let changed: Vec<_> = server.seen().into_iter().filter(changes_memories).collect();
    assert!(
        changed.is_empty(),
        "the run changed memories in foreign storage: {changed:?}"
    );
    assert_eq!(server.operator_memories_left(), OPERATOR_MEMORIES);
    // The first case stops with the message; the cube it registered is unloaded.
    let first = reason(&report, "add_memories.content_is_listed");
    for needed in [
        CUBE_DIR,
        &format!("{OPERATOR_MEMORIES} memories"),
        "empty scratch directory",
    ] {
        assert!(first.contains(needed), "{needed:?} missing from: {first}");
    }
    assert!(
        server
            .seen()
            .iter()
            .any(|s| s.method == "DELETE" && s.path.starts_with("/mem_cubes/")),
        "the run's cube is unregistered"
    );
    // Every later case is not run, for the same reason, and the report says so.
    assert_not_run(&report, "delete_memory.deleted_memory_is_gone", CUBE_DIR);
    assert_rendered_not_run(&report, "delete_memory.deleted_memory_is_gone", CUBE_DIR);
    // One case failed (it found the memories); the others are counted as not run.
    assert_eq!(report.summary.failed, 1, "{}", report.summary.line());
    assert_eq!(
        report.summary.not_run,
        report.summary.total - 2,
        "every case after the stop: {}",
        report.summary.line()
    );
    assert!(report.summary.not_run > 0, "{}", report.summary.line());
    assert!(
        report.summary.line().contains(" not run, "),
        "{}",
        report.summary.line()
    );
    assert!(
        report.notes.iter().any(|n| n.contains(CUBE_DIR)),
        "{:?}",
        report.notes
    );
    assert!(text.contains("empty scratch directory"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn foreign_memories_in_a_listed_cube_stop_the_run_before_anything_changes() {
    foreign_memories_stop_the_run(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn foreign_memories_in_a_graph_shaped_cube_stop_the_run_before_anything_changes() {
    foreign_memories_stop_the_run(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn foreign_memories_stop_even_with_destructive() {
    let server = SharedStorageServer::start(OPERATOR_MEMORIES, false).await;
    let mut options = server.options(&["delete_all_memories.*", "security.doc_path*"]);
    options.destructive = true;
    let report = memos_conformance::run(options).await.report;
    assert!(!report.summary.success);
    let changed: Vec<_> = server.seen().into_iter().filter(changes_memories).collect();
    assert!(changed.is_empty(), "{changed:?}");
    assert_eq!(server.operator_memories_left(), OPERATOR_MEMORIES);
}

/// The data loss the issue reports: a default run on a shared directory that holds an
/// operator's memories must leave every one of them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_default_run_keeps_an_operators_memories() {
    let server = SharedStorageServer::start(OPERATOR_MEMORIES, false).await;
    memos_conformance::run(server.options(&["add_memories.*", "delete_all_memories.*"])).await;
    assert_eq!(server.operator_memories_left(), OPERATOR_MEMORIES);
}

const DESTRUCTIVE_CASES: [&str; 5] = [
    "delete_all_memories.cube_is_empty_after",
    "delete_all_memories.rejects_user_without_access",
    "delete_all_memories.rejects_unknown_cube",
    "client.delete_all_memories",
    "security.doc_path_walks_named_directories",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_default_run_never_deletes_all_nor_posts_the_cube_dir_as_doc_path() {
    let server = SharedStorageServer::start(0, false).await;
    let mut patterns = DESTRUCTIVE_CASES.to_vec();
    patterns.push("add_memories.content_is_listed");
    let report = memos_conformance::run(server.options(&patterns))
        .await
        .report;
    let seen = server.seen();
    assert!(!seen.iter().any(is_delete_all), "{seen:?}");
    assert!(!seen.iter().any(posts_the_cube_dir_as_doc_path), "{seen:?}");
    for name in DESTRUCTIVE_CASES {
        let c = report.cases.iter().find(|c| c.name == name).expect(name);
        assert_eq!(c.outcome, Outcome::Skipped, "{c:#?}");
        assert!(
            reason(&report, name).contains("--destructive"),
            "{name}: {}",
            reason(&report, name)
        );
    }
    // Cleanup deleted what the case added, one memory at a time, and nothing else.
    assert!(
        seen.iter().any(|s| s.method == "DELETE"
            && s.path.starts_with("/memories/")
            && s.path.matches('/').count() == 3),
        "{seen:?}"
    );
    assert!(server.storage().memories.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_destructive_delete_all_and_the_doc_path_probe_run() {
    let server = SharedStorageServer::start(0, false).await;
    let mut options = server.options(&DESTRUCTIVE_CASES);
    options.destructive = true;
    let report = memos_conformance::run(options).await.report;
    let seen = server.seen();
    assert!(seen.iter().any(is_delete_all), "{seen:?}");
    assert!(seen.iter().any(posts_the_cube_dir_as_doc_path), "{seen:?}");
    for name in DESTRUCTIVE_CASES {
        let c = report.cases.iter().find(|c| c.name == name).expect(name);
        assert_ne!(c.outcome, Outcome::Skipped, "{c:#?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_run_cleans_up_the_running_case_and_runs_no_more() {
    let (interrupt, interrupted) = watch::channel(false);
    let server = SharedStorageServer::with_interrupt(0, false, Some(interrupt)).await;
    let mut options = server.options(&[
        "add_memories.content_is_listed",
        "delete_memory.deleted_memory_is_gone",
    ]);
    options.interrupt = Some(interrupted);
    let report = memos_conformance::run(options).await.report;
    let first = reason(&report, "add_memories.content_is_listed");
    assert!(first.contains("interrupted"), "{first}");
    assert_not_run(
        &report,
        "delete_memory.deleted_memory_is_gone",
        "interrupted",
    );
    // The memory the case added is gone and its cube unregistered.
    assert!(server.storage().memories.is_empty());
    assert!(server
        .seen()
        .iter()
        .any(|s| s.method == "DELETE" && s.path.starts_with("/mem_cubes/")));
    assert!(!report.summary.success);
}

/// On shared storage a case's second cube lists what the case added to its first one:
/// those memories are the run's own and must not stop the run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_cube_on_shared_storage_sees_the_cases_own_memories_without_stopping() {
    let server = SharedStorageServer::start(0, true).await;
    let name = "security.install_cube_ids_reads_other_users_cube";
    let mut options = server.options(&[name, "add_memories.content_is_listed"]);
    // A graph listing is tree_text, whose case holds each of its cubes from a directory
    // of its own; this fake shares one storage between all of them.
    options.cube_paths.push(format!("{CUBE_DIR}-2"));
    let report = memos_conformance::run(options).await.report;
    assert_eq!(
        report.target.backend,
        Some(memos_conformance::Backend::TreeText)
    );
    assert_ne!(
        report
            .cases
            .iter()
            .find(|c| c.name == name)
            .map(|c| c.outcome),
        Some(Outcome::Skipped),
        "{}",
        reason(&report, name)
    );
    assert!(
        report
            .notes
            .iter()
            .all(|n| !n.contains("not empty scratch")),
        "{:?}",
        report.notes
    );
    assert!(
        !reason(&report, name).contains("not empty scratch"),
        "{}",
        reason(&report, name)
    );
    assert_ne!(
        report
            .cases
            .iter()
            .find(|c| c.name == "add_memories.content_is_listed")
            .map(|c| c.outcome),
        Some(Outcome::NotRun),
        "{}",
        reason(&report, "add_memories.content_is_listed")
    );
    // Both cubes' cleanup deleted the memory one by one, and nothing is left.
    assert!(server.storage().memories.is_empty());
}

/// On a backend whose cubes share their directory's storage, a case that needs two cubes
/// at once is skipped with one --cube-path, saying why, and the run goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_one_directory_a_two_cube_case_is_skipped_on_shared_storage() {
    let server = SharedStorageServer::start(0, true).await;
    let name = "security.install_cube_ids_reads_other_users_cube";
    let report = memos_conformance::run(server.options(&["add_memories.content_is_listed", name]))
        .await
        .report;
    let case = report.cases.iter().find(|c| c.name == name).expect(name);
    assert_eq!(case.outcome, Outcome::Skipped, "{case:#?}");
    let why = reason(&report, name);
    for needed in ["one more scratch --cube-path (1 given)", "tree_text"] {
        assert!(why.contains(needed), "{needed:?} missing from: {why}");
    }
    assert!(report.summary.success, "{}", report.render(Format::Text));
    let isolation = report.target.isolation.as_deref().unwrap_or_default();
    assert!(isolation.contains("1 given"), "{isolation}");
    assert!(server.storage().memories.is_empty());
}

/// How many memories the production cube of the reference-server tests is given.
const PRODUCTION_MEMORIES: usize = 3;

/// `(id, text)` of every memory `cube` lists, sorted.
async fn listed(
    http: &reqwest::Client,
    base: &str,
    user: &str,
    cube: &str,
) -> Vec<(String, String)> {
    let body: Value = http
        .get(format!("{base}/memories"))
        .query(&[("mem_cube_id", cube), ("user_id", user)])
        .send()
        .await
        .expect("list the production cube")
        .json()
        .await
        .expect("a JSON listing");
    let entry = body["data"]["text_mem"]
        .as_array()
        .and_then(|e| e.iter().find(|e| e["cube_id"] == cube))
        .unwrap_or_else(|| panic!("no listing of {cube}: {body}"));
    let items = match &entry["memories"] {
        Value::Array(items) => items.clone(),
        graph => graph["nodes"].as_array().cloned().unwrap_or_default(),
    };
    let mut memories: Vec<(String, String)> = items
        .iter()
        .map(|m| {
            (
                m["id"].as_str().unwrap_or_default().to_owned(),
                m["memory"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    memories.sort();
    memories
}

async fn post_ok(http: &reqwest::Client, url: String, body: Value) {
    let answer = http.post(&url).json(&body).send().await.expect(&url);
    let status = answer.status();
    assert!(
        status.is_success(),
        "{url}: {status} {}",
        answer.text().await.unwrap_or_default()
    );
}

/// A production cube, registered from one of the reference server's cube directories
/// and holding memories; a default run pointed at that directory stops with a message
/// naming it and what it found, and the cube still lists exactly the same memories.
/// Returns the run's report.
async fn a_default_run_at_a_production_cube_changes_nothing(backend: Backend) -> Option<Report> {
    let server =
        memos_refserver::testing::shared_or_skip_for(crate::common::refserver_backend(backend))
            .await?;
    let _alone = crate::common::exclusive(backend).await;
    let base = server.base_url();
    // The last directory: the whole-suite tests use the first.
    let dir = server
        .cube_dirs()
        .last()
        .expect("cube dirs")
        .display()
        .to_string();
    let http = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client");
    let suffix = &uuid::Uuid::new_v4().simple().to_string()[..8];
    let (user, cube) = (format!("prod-user-{suffix}"), format!("prod-cube-{suffix}"));
    post_ok(
        &http,
        format!("{base}/users"),
        json!({"user_id": user, "role": "USER"}),
    )
    .await;
    post_ok(
        &http,
        format!("{base}/mem_cubes"),
        json!({"mem_cube_name_or_path": dir, "mem_cube_id": cube, "user_id": user}),
    )
    .await;
    for i in 0..PRODUCTION_MEMORIES {
        post_ok(
            &http,
            format!("{base}/memories"),
            json!({"user_id": user, "mem_cube_id": cube,
                   "memory_content": format!("Production note {i}: the invoices are due on Friday.")}),
        )
        .await;
    }
    let before = listed(&http, base, &user, &cube).await;
    assert!(!before.is_empty(), "the production cube lists nothing");

    let mut options = RunOptions::live(base);
    options.cube_paths = vec![dir.clone()];
    options.request_timeout = Duration::from_secs(30);
    options.patterns = vec![
        "add_memories.content_is_listed".into(),
        "delete_memory.*".into(),
        "update_memory.update_reads_back".into(),
        "client.add_memories".into(),
    ];
    let report = memos_conformance::run(options).await.report;

    let after = listed(&http, base, &user, &cube).await;
    assert_eq!(after, before, "the production cube changed");
    assert!(!report.summary.success);
    let first = reason(&report, "add_memories.content_is_listed");
    assert!(first.contains(&format!("--cube-path {dir}")), "{first}");
    assert!(first.contains("Pass an empty scratch directory"), "{first}");
    assert_not_run(&report, "delete_memory.deleted_memory_is_gone", &dir);
    assert_rendered_not_run(&report, "delete_memory.deleted_memory_is_gone", &dir);
    assert!(
        report.notes.iter().any(|n| n.contains(&dir)),
        "{:?}",
        report.notes
    );
    assert_eq!(report.summary.failed, 1, "{}", report.summary.line());
    println!("{backend}: the run's message: {first}");

    // The production cube stays registered with its memories; only its unregistration
    // is left to do.
    let _ = http
        .delete(format!("{base}/mem_cubes/{cube}"))
        .query(&[("user_id", &user)])
        .send()
        .await;
    Some(report)
}

/// tree_text: the run's cube lists the production cube's memories (one graph), so the
/// storage proof stops the run, naming how many it found.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_default_run_at_a_tree_text_production_cube_changes_nothing() {
    let Some(report) = a_default_run_at_a_production_cube_changes_nothing(Backend::TreeText).await
    else {
        return;
    };
    let first = reason(&report, "add_memories.content_is_listed");
    assert!(first.contains("is not empty scratch storage"), "{first}");
    assert!(first.contains("memories the run did not add"), "{first}");
}

/// general_text: the production cube holds the directory's embedded Qdrant, so the run's
/// registration is refused with 500; the suite takes that as storage in use and stops.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_default_run_at_a_general_text_production_cube_changes_nothing() {
    let Some(report) =
        a_default_run_at_a_production_cube_changes_nothing(Backend::GeneralText).await
    else {
        return;
    };
    let first = reason(&report, "add_memories.content_is_listed");
    assert!(first.contains("is in use"), "{first}");
    assert!(
        first.contains("already accessed by another instance of Qdrant client"),
        "{first}"
    );
}

/// A general_text directory whose embedded Qdrant another cube holds refuses the run's
/// registration with 500: the run takes it as storage in use, stops at the first case
/// that registers a cube, says so naming the directory, and changes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_directory_whose_qdrant_is_held_stops_the_run_as_storage_in_use() {
    let server = SharedStorageServer::qdrant_locked(OPERATOR_MEMORIES).await;
    let report = memos_conformance::run(server.options(&[
        "add_memories.content_is_listed",
        "client.add_memories",
        "delete_memory.*",
    ]))
    .await
    .report;
    assert!(!report.summary.success);
    assert_eq!(report.summary.failed, 1, "{}", report.summary.line());
    let first = reason(&report, "add_memories.content_is_listed");
    for needed in [
        &format!("--cube-path {CUBE_DIR} is in use"),
        "already accessed by another instance of Qdrant client",
        "Pass an empty scratch directory",
    ] {
        assert!(first.contains(needed), "{needed:?} missing from: {first}");
    }
    assert_not_run(&report, "client.add_memories", CUBE_DIR);
    let changed: Vec<_> = server.seen().into_iter().filter(changes_memories).collect();
    assert!(changed.is_empty(), "{changed:?}");
    assert_eq!(server.operator_memories_left(), OPERATOR_MEMORIES);
}

/// The report says which backend's known defects applied and how the run learned it:
/// `--backend` wins; a list-shaped server whose answers tell nothing more leaves the
/// default, assumed and said to be.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_report_names_the_backend_and_how_it_was_learned() {
    let server = SharedStorageServer::start(0, false).await;
    let mut options = server.options(&["add_memories.content_is_listed"]);
    options.backend = Some(Backend::GeneralText);
    let report = memos_conformance::run(options).await.report;
    assert_eq!(report.target.backend, Some(Backend::GeneralText));
    assert_eq!(
        report.target.backend_learned.as_deref(),
        Some("given with --backend")
    );
    let text = report.render(Format::Text);
    assert!(
        text.contains("backend: general_text (given with --backend)"),
        "{text}"
    );
    let junit = report.render(Format::Junit);
    assert!(
        junit.contains(r#"name="backend" value="general_text""#),
        "{junit}"
    );

    let report = memos_conformance::run(server.options(&["add_memories.content_is_listed"]))
        .await
        .report;
    assert_eq!(report.target.backend, Some(Backend::NaiveText));
    assert!(
        report
            .target
            .backend_learned
            .as_deref()
            .is_some_and(|l| l.starts_with("assumed")),
        "{:?}",
        report.target.backend_learned
    );
}
