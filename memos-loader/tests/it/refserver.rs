//! The loader against the real reference server (MemoryOS 2.0.10 via `memos-refserver`):
//! every format and import pattern stores each memory exactly once, set-up is idempotent,
//! the `doc_path` defect is reported as a failure, and a resume reconciles records in doubt.
//!
//! The tests that depend on how the server stores memories run on every storage backend
//! (`naive_text`, `general_text`, `tree_text`: one test per backend, named after it); each
//! backend has one shared server, and each test its own user, cube and cube directory.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use memos_api::v1::types::MemoryCollection;
use memos_api::v1::Client;
use memos_loader as loader;
use memos_loader::CancellationToken;
use memos_loader::{
    ContentOptions, DocumentOptions, Ensured, Hint, Input, LoadError, LoadOptions, MessageOptions,
    Payload, Source, Summary, Target,
};
use memos_refserver::{Backend, ReferenceServer};

use crate::{as_if_killed, counts};

/// Runs `$test(backend)` as one test per backend, in a module named after `$test`.
macro_rules! on_every_backend {
    ($($test:ident),* $(,)?) => {$(
        mod $test {
            use memos_refserver::Backend;

            #[tokio::test]
            async fn naive_text() {
                super::$test(Backend::NaiveText).await;
            }

            #[tokio::test]
            async fn general_text() {
                super::$test(Backend::GeneralText).await;
            }

            #[tokio::test]
            async fn tree_text() {
                super::$test(Backend::TreeText).await;
            }
        }
    )*};
}

on_every_backend!(
    ensure_user_and_cube_are_idempotent_and_verify_explains,
    jsonl_sessions_arrive_once,
    json_arrays_and_openai_conversations_arrive_once,
    content_chunks_and_lines_arrive_once,
    local_documents_arrive_once,
    doc_path_stores_nothing_and_is_reported_as_a_failure,
    resume_finds_what_an_interrupted_run_stored,
);

async fn server(backend: Backend) -> Option<&'static ReferenceServer> {
    memos_refserver::testing::shared_or_skip_for(backend).await
}

/// A fresh user with a fresh cube in a cube directory of its own (ids unique within the
/// test binary): `general_text` refuses a second registration of a directory, and
/// `tree_text` cubes registered from one directory share their memories.
async fn setup(server: &ReferenceServer, name: &str) -> (Client, Target) {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::SeqCst);
    let client = Client::new(server.base_url()).unwrap();
    let target = Target {
        user_id: format!("loader-{name}-{n}"),
        cube_id: format!("loader-{name}-cube-{n}"),
    };
    let dir = server
        .temp_root()
        .join("loader-cubes")
        .join(&target.cube_id);
    server
        .write_cube_dir(&dir, &target.user_id, &target.cube_id)
        .unwrap();
    loader::ensure_user(&client, &target.user_id).await.unwrap();
    loader::ensure_cube(
        &client,
        &target.user_id,
        &target.cube_id,
        &dir.display().to_string(),
    )
    .await
    .unwrap();
    (client, target)
}

/// What the cube holds, counted: the memories' texts (a list), or the source messages'
/// texts of each node, joined with " / " (a graph: `tree_text`).
async fn stored(client: &Client, target: &Target) -> BTreeMap<String, usize> {
    let list = client
        .list_memories(Some(&target.cube_id), Some(&target.user_id))
        .await
        .unwrap();
    let mut counts = BTreeMap::new();
    for cube in list.text_mem {
        match cube.memories {
            MemoryCollection::Array(items) => {
                for item in items {
                    *counts.entry(item.memory).or_insert(0) += 1;
                }
            }
            MemoryCollection::MemoryGraph(graph) => {
                for node in graph.nodes {
                    let sources: Vec<String> = node["metadata"]["sources"]
                        .as_array()
                        .expect("every node has sources")
                        .iter()
                        .map(|s| {
                            let s: serde_json::Value =
                                serde_json::from_str(s.as_str().unwrap()).unwrap();
                            s["content"].as_str().unwrap().to_owned()
                        })
                        .collect();
                    *counts.entry(sources.join(" / ")).or_insert(0) += 1;
                }
            }
        }
    }
    counts
}

/// What the cube must hold after importing `source` once (see [`stored`]). On a list
/// backend: each text once per occurrence. On `tree_text`: the fake LLM extracts one node
/// per non-empty line of each message, each naming all of the record's messages (the
/// records here are short enough for one window).
fn expected_on(backend: Backend, source: &Source) -> BTreeMap<String, usize> {
    if backend != Backend::TreeText {
        return expected(source);
    }
    let mut counts = BTreeMap::new();
    for item in loader::read(source).unwrap() {
        if let Ok(record) = item.unwrap() {
            let texts = record.payload.texts();
            let lines = texts
                .iter()
                .flat_map(|t| t.lines())
                .filter(|l| !l.trim().is_empty())
                .count();
            *counts.entry(texts.join(" / ")).or_insert(0) += lines;
        }
    }
    counts
}

/// The texts the source's records make, counted (what the cube must hold).
fn expected(source: &Source) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for item in loader::read(source).unwrap() {
        if let Ok(record) = item.unwrap() {
            for text in record.payload.texts() {
                *counts.entry(text.to_owned()).or_insert(0) += 1;
            }
        }
    }
    counts
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(&path, text).unwrap();
    path
}

async fn import(
    client: &Client,
    target: &Target,
    source: &Source,
    options: LoadOptions,
) -> Summary {
    loader::import(client, target, source, &options)
        .await
        .unwrap()
}

/// Imports `source` and checks the cube then holds exactly what it makes.
async fn import_exactly_once(
    backend: Backend,
    client: &Client,
    target: &Target,
    source: &Source,
) -> Summary {
    let options = LoadOptions {
        concurrency: 3,
        ..LoadOptions::default()
    };
    let summary = import(client, target, source, options).await;
    assert!(summary.is_complete(), "{summary:?}");
    assert_eq!(stored(client, target).await, expected_on(backend, source));
    summary
}

async fn ensure_user_and_cube_are_idempotent_and_verify_explains(backend: Backend) {
    let Some(server) = server(backend).await else {
        return;
    };
    let client = Client::new(server.base_url()).unwrap();
    let dir = server.cube_dirs()[0].display().to_string();
    let (user, cube) = ("loader-setup-user", "loader-setup-cube");

    assert!(matches!(
        loader::verify_user(&client, user).await,
        Err(LoadError::UnknownUser { .. })
    ));
    assert_eq!(
        loader::ensure_user(&client, user).await.unwrap(),
        Ensured::Created
    );
    assert_eq!(
        loader::ensure_user(&client, user).await.unwrap(),
        Ensured::Existed
    );
    loader::verify_user(&client, user).await.unwrap();

    let err = loader::verify_cube(&client, user, cube).await.unwrap_err();
    assert!(
        matches!(err.hint(), Some(Hint::RegisterCube { .. })),
        "{err}"
    );
    let err = err.to_string();
    assert!(
        err.contains("cannot reach cube") && err.contains("ensure_cube"),
        "{err}"
    );
    assert_eq!(
        loader::ensure_cube(&client, user, cube, &dir)
            .await
            .unwrap(),
        Ensured::Created
    );
    assert_eq!(
        loader::ensure_cube(&client, user, cube, &dir)
            .await
            .unwrap(),
        Ensured::Existed
    );
    loader::verify_cube(&client, user, cube).await.unwrap();

    // A cube folder that does not exist on the server: the error says what DIR must be.
    let err = loader::ensure_cube(&client, user, "loader-setup-nodir", "/nonexistent/cube")
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("must be a folder on the server"), "{err}");
}

async fn jsonl_sessions_arrive_once(backend: Backend) {
    let Some(server) = server(backend).await else {
        return;
    };
    let (client, target) = setup(server, "jsonl").await;
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "chats.jsonl",
        r#"{"role":"user","content":"I moved to Lisbon in March.","session_id":"s1"}
{"role":"assistant","content":"Noted, you live in Lisbon.","session_id":"s1"}
{"role":"user","content":"ok","session_id":"s2"}
{"role":"assistant","content":"ok","session_id":"s2"}

{"role":"user","content":"My cat is called Miso."}
{"role":"assistant","content":"ok"}
"#,
    );
    let source = Source::Messages {
        inputs: vec![Input::Path(path)],
        options: MessageOptions::default(),
    };
    let summary = import_exactly_once(backend, &client, &target, &source).await;
    assert_eq!((summary.records_read, summary.memories_in_input), (3, 6));
}

async fn json_arrays_and_openai_conversations_arrive_once(backend: Backend) {
    let Some(server) = server(backend).await else {
        return;
    };
    let (client, target) = setup(server, "json").await;
    let dir = tempfile::tempdir().unwrap();
    let array = write(
        dir.path(),
        "sessions.json",
        r#"[{"id":"a","messages":[{"role":"user","content":"Array session one."}]},
            [{"role":"user","content":"Array session two."},{"role":"assistant","content":"Two, noted."}]]"#,
    );
    let openai = write(
        dir.path(),
        "finetune.jsonl",
        r#"{"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":[{"type":"text","text":"Parts are joined."}]},{"role":"assistant","content":null,"tool_calls":[]}]}
"#,
    );
    let source = Source::Messages {
        inputs: vec![Input::Path(array), Input::Path(openai)],
        options: MessageOptions::default(),
    };
    let summary = import_exactly_once(backend, &client, &target, &source).await;
    assert_eq!((summary.records_read, summary.memories_in_input), (3, 5));
}

async fn content_chunks_and_lines_arrive_once(backend: Backend) {
    let Some(server) = server(backend).await else {
        return;
    };
    let (client, target) = setup(server, "content").await;
    let dir = tempfile::tempdir().unwrap();
    let log: String = (0..40)
        .map(|i| format!("step {i}: compiled crate-{i}\n"))
        .collect();
    let path = write(dir.path(), "build.log", &log);
    let chunked = Source::Content {
        inputs: vec![Input::Path(path.clone())],
        options: ContentOptions {
            chunk_size: 200,
            per_line: false,
        },
    };
    let summary = import_exactly_once(backend, &client, &target, &chunked).await;
    assert!(
        summary.records_read > 3 && summary.records_read < 40,
        "{summary:?}"
    );

    let (client, target) = setup(server, "lines").await;
    let lines = Source::Content {
        inputs: vec![Input::Path(path)],
        options: ContentOptions {
            chunk_size: 200,
            per_line: true,
        },
    };
    let summary = import_exactly_once(backend, &client, &target, &lines).await;
    assert_eq!(summary.records_read, 40);
}

async fn local_documents_arrive_once(backend: Backend) {
    let Some(server) = server(backend).await else {
        return;
    };
    let (client, target) = setup(server, "docs").await;
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "guide.md",
        "# Guide\n\nFirst paragraph.\n\nSecond paragraph.\n",
    );
    write(dir.path(), "sub/notes.txt", "A nested note.\n");
    let source = Source::Documents {
        paths: vec![dir.path().to_path_buf()],
        options: DocumentOptions {
            chunk_size: 40,
            ..DocumentOptions::default()
        },
    };
    let summary = import_exactly_once(backend, &client, &target, &source).await;
    assert_eq!(summary.records_read, 3);
}

async fn doc_path_stores_nothing_and_is_reported_as_a_failure(backend: Backend) {
    let Some(server) = server(backend).await else {
        return;
    };
    let (client, target) = setup(server, "docpath").await;
    let dir = server.docs_dir().display().to_string();
    let err = loader::import_server_dir(&client, &target, &dir, &LoadOptions::default())
        .await
        .unwrap_err();
    match &err {
        LoadError::StoredNothing { before, after, .. } => assert_eq!((*before, *after), (0, 0)),
        other => panic!("expected StoredNothing, got {other}"),
    }
    assert_eq!(err.hint(), Some(Hint::ImportLocalDocuments));
    assert!(err.to_string().contains("from this machine"), "{err}");
    // An empty folder is refused by the server itself.
    let empty = server.empty_dir().display().to_string();
    let err = loader::import_server_dir(&client, &target, &empty, &LoadOptions::default())
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("scene_data is empty"), "{err}");
}

/// Sessions of a question and the answer "ok" (the same text in every session).
fn question_sessions(dir: &Path, name: &str, sessions: std::ops::Range<usize>) -> Source {
    let mut text = String::new();
    for s in sessions {
        text.push_str(&format!(
            "{{\"role\":\"user\",\"content\":\"question {s}\",\"session_id\":{s}}}\n"
        ));
        text.push_str(&format!(
            "{{\"role\":\"assistant\",\"content\":\"ok\",\"session_id\":{s}}}\n"
        ));
    }
    let path = write(dir, name, &text);
    Source::Messages {
        inputs: vec![Input::Path(path)],
        options: MessageOptions::default(),
    }
}

/// The state a run leaves when it dies with records in flight: the cube holds sessions
/// 0-6 of 10, the checkpoint knows of 0-4 and says all 10 may have been sent. The resume
/// finds 5 and 6 (a list by their texts, a graph by its nodes' source messages) and sends
/// exactly 7, 8 and 9; a last run sends nothing. The cube held a copy of session 9 before
/// the import: it is not taken for the import's (`general_text` lists it anywhere).
async fn resume_finds_what_an_interrupted_run_stored(backend: Backend) {
    let Some(server) = server(backend).await else {
        return;
    };
    let (client, target) = setup(server, "resume-any").await;
    let dir = tempfile::tempdir().unwrap();
    let earlier = question_sessions(dir.path(), "earlier.jsonl", 9..10);
    import(&client, &target, &earlier, LoadOptions::default()).await;
    let source = question_sessions(dir.path(), "all.jsonl", 0..10);
    let checkpoint = dir.path().join("ck.json");
    let options = LoadOptions {
        concurrency: 2,
        checkpoint: Some(checkpoint.clone()),
        ..LoadOptions::default()
    };
    // A first run stopped before it sent anything: the checkpoint holds the empty cube's
    // baseline.
    let cancelled = LoadOptions {
        cancel: CancellationToken::new(),
        ..options.clone()
    };
    cancelled.cancel.cancel();
    let first = import(&client, &target, &source, cancelled).await;
    assert_eq!((first.records_sent, first.interrupted), (0, true));
    // What that run's requests would have stored.
    let stored_part = question_sessions(dir.path(), "part.jsonl", 0..7);
    import(&client, &target, &stored_part, LoadOptions::default()).await;
    as_if_killed(&checkpoint, &[[0, 5]], Some(10));

    let second = import(&client, &target, &source, options.clone()).await;
    assert!(second.is_complete(), "{second:?}");
    let report = second.reconciliation.clone().unwrap();
    assert_eq!(counts(&report), [5, 2, 3, 0, 0], "{report:?}");
    assert_eq!(report.ignored_nodes, 0);
    assert_eq!(second.records_sent, 3);
    let mut expected = expected_on(backend, &source);
    for (text, count) in expected_on(backend, &earlier) {
        *expected.entry(text).or_insert(0) += count;
    }
    assert_eq!(stored(&client, &target).await, expected);

    let third = import(&client, &target, &source, options).await;
    assert_eq!((third.records_sent, third.already_imported), (0, 10));
}

/// Simulates a run that died with records in flight: the checkpoint says 5 of 10
/// sessions are acknowledged and all 10 may have been sent, while the server lacks the
/// question of sessions 7 and 8 and one of the ten "ok" answers. The resume sends
/// exactly those three messages, and a last run sends nothing.
///
/// "ok" is in every session, so the server's copies cannot be told apart: the missing
/// copy is sent with the last session in doubt (the cube ends up with the input's texts,
/// each as often as in the input).
///
/// Only on `naive_text`, the one backend that deletes a single memory (`general_text`
/// answers 400, `tree_text` 200 and deletes nothing); the other backends' resume is
/// [`resume_finds_what_an_interrupted_run_stored`].
#[tokio::test]
async fn resume_reconciles_records_in_doubt() {
    let Some(server) = server(Backend::NaiveText).await else {
        return;
    };
    let (client, target) = setup(server, "resume").await;
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::new();
    for s in 0..10 {
        text.push_str(&format!(
            "{{\"role\":\"user\",\"content\":\"question {s}\",\"session_id\":{s}}}\n"
        ));
        text.push_str(&format!(
            "{{\"role\":\"assistant\",\"content\":\"ok\",\"session_id\":{s}}}\n"
        ));
    }
    let path = write(dir.path(), "sessions.jsonl", &text);
    let source = Source::Messages {
        inputs: vec![Input::Path(path)],
        options: MessageOptions::default(),
    };
    let checkpoint = dir.path().join("ck.json");
    let options = LoadOptions {
        concurrency: 2,
        checkpoint: Some(checkpoint.clone()),
        ..LoadOptions::default()
    };
    let first = import(&client, &target, &source, options.clone()).await;
    assert!(first.is_complete());

    // Make the server state of a crash: session 7 never arrived, session 8 lost its
    // first message, and the checkpoint only knows about sessions 0-4.
    let list = client
        .list_memories(Some(&target.cube_id), Some(&target.user_id))
        .await
        .unwrap();
    let MemoryCollection::Array(items) = &list.text_mem[0].memories else {
        panic!("naive_text lists an array")
    };
    let records: Vec<_> = loader::read(&source)
        .unwrap()
        .map(|r| r.unwrap().unwrap())
        .collect();
    let question = |i: usize| match &records[i].payload {
        Payload::Messages(m) => m[0].content.clone(),
        Payload::Content(_) => unreachable!(),
    };
    for item in items {
        if item.memory == question(7) || item.memory == question(8) {
            client
                .delete_memory(&target.cube_id, &item.id, Some(&target.user_id))
                .await
                .unwrap();
        }
    }
    // One "ok" of session 7 goes too, as if the session never arrived.
    let ok_id = items
        .iter()
        .rev()
        .find(|m| m.memory == "ok")
        .unwrap()
        .id
        .clone();
    client
        .delete_memory(&target.cube_id, &ok_id, Some(&target.user_id))
        .await
        .unwrap();
    as_if_killed(&checkpoint, &[[0, 5]], None);

    let second = import(&client, &target, &source, options.clone()).await;
    assert!(second.is_complete(), "{second:?}");
    let report = second.reconciliation.clone().unwrap();
    assert_eq!(counts(&report), [5, 2, 0, 3, 0], "{report:?}");
    assert_eq!(second.records_sent, 3);
    assert_eq!(stored(&client, &target).await, expected(&source));

    let third = import(&client, &target, &source, options).await;
    assert_eq!((third.records_sent, third.already_imported), (0, 10));
    assert_eq!(stored(&client, &target).await, expected(&source));
}

/// The check is the loader's own, whatever the server stores: one backend is enough.
#[tokio::test]
async fn a_checkpoint_for_another_cube_is_refused() {
    let Some(server) = server(Backend::NaiveText).await else {
        return;
    };
    let (client, target) = setup(server, "ckmismatch").await;
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "x.txt", "one line\n");
    let source = Source::Content {
        inputs: vec![Input::Path(path)],
        options: ContentOptions::default(),
    };
    let options = LoadOptions {
        checkpoint: Some(dir.path().join("ck.json")),
        ..LoadOptions::default()
    };
    import(&client, &target, &source, options.clone()).await;
    let (client2, other) = setup(server, "ckmismatch-other").await;
    let err = loader::import(&client2, &other, &source, &options)
        .await
        .unwrap_err();
    assert!(matches!(err, LoadError::Checkpoint { .. }), "{err}");
    assert!(
        err.to_string().contains("belongs to another import"),
        "{err}"
    );
}

/// On `tree_text` the nodes of two copies of one record (here the line "ok" twice) are
/// alike: with one copy acknowledged and the other in doubt, the graph cannot say whether
/// the second was stored. It is sent again and reported as possibly duplicated, while the
/// other record in doubt is found.
#[tokio::test]
async fn tree_text_reports_copies_of_a_record_it_cannot_tell_apart() {
    let Some(server) = server(Backend::TreeText).await else {
        return;
    };
    let (client, target) = setup(server, "copies").await;
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "lines.txt", "ok\nok\nunique line\n");
    let source = Source::Content {
        inputs: vec![Input::Path(path)],
        options: ContentOptions {
            chunk_size: 100,
            per_line: true,
        },
    };
    let checkpoint = dir.path().join("ck.json");
    let options = LoadOptions {
        checkpoint: Some(checkpoint.clone()),
        ..LoadOptions::default()
    };
    assert!(import(&client, &target, &source, options.clone())
        .await
        .is_complete());
    as_if_killed(&checkpoint, &[[0, 1]], None);

    let second = import(&client, &target, &source, options).await;
    let report = second.reconciliation.clone().unwrap();
    assert_eq!(counts(&report), [2, 1, 0, 0, 1], "{report:?}");
    assert!(
        report
            .reason
            .as_deref()
            .unwrap_or_default()
            .contains("cannot tell copies apart"),
        "{report:?}"
    );
    assert_eq!((second.records_sent, second.possibly_duplicated), (1, 1));
    assert_eq!(stored(&client, &target).await.get("ok"), Some(&3));
}
