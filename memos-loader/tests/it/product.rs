//! The loader against the real `/product` server (MemoryOS 2.0.33, `memos.api.server_api:app`,
//! offline on PostgreSQL with the fake LLM): imports are exactly once through synchronous
//! adds, a resume finds the records in doubt by the marker each record's nodes carry (so
//! identical records are told apart), and roles the API refuses are refused before
//! anything is sent.
//!
//! One server for the whole file (a start takes 7-15 s), each scenario in its own cube.
//! Without Python the test fails with a clear message when `CI=true` and is skipped (with
//! the reason printed) otherwise.

use std::collections::BTreeMap;
use std::path::Path;

use memos_api::product;
use memos_api::product::types::{AddRequest, DeleteMemoryRequest};
use memos_loader as loader;
use memos_loader::{Ensured, Input, LoadError, LoadOptions, MessageOptions, Source, Target};
use memos_refserver::{Api, StartOptions};

use crate::{as_if_killed, counts};

/// The nodes of the cube, by the record index their marker names (`None`: no marker).
async fn nodes_by_record(
    client: &product::Client,
    target: &Target,
) -> BTreeMap<Option<u64>, Vec<String>> {
    let entries = client
        .get_text_memories(&target.cube_id, Some(&target.user_id))
        .await
        .unwrap();
    let mut out: BTreeMap<Option<u64>, Vec<String>> = BTreeMap::new();
    for entry in entries {
        for node in entry.memories {
            let record = node
                .metadata
                .info
                .as_ref()
                .and_then(|info| info.get("memos_load_record")?.as_str()?.parse().ok());
            out.entry(record).or_default().push(node.id);
        }
    }
    out
}

/// How many nodes each record made.
fn node_counts(nodes: &BTreeMap<Option<u64>, Vec<String>>) -> BTreeMap<Option<u64>, usize> {
    nodes.iter().map(|(k, v)| (*k, v.len())).collect()
}

/// Sessions 0-9 of two messages; sessions 6 and 7 are the same session.
fn sessions(dir: &Path) -> Source {
    let mut text = String::new();
    for s in 0..10 {
        let topic = if s == 7 { 6 } else { s };
        for (role, content) in [
            ("user", format!("What did I plant in bed {topic}?")),
            ("assistant", format!("You planted tomatoes in bed {topic}.")),
        ] {
            text.push_str(
                &serde_json::json!({"role": role, "content": content, "session_id": s}).to_string(),
            );
            text.push('\n');
        }
    }
    let path = dir.join("sessions.jsonl");
    std::fs::write(&path, text).unwrap();
    Source::Messages {
        inputs: vec![Input::Path(path)],
        options: MessageOptions::default(),
    }
}

fn target(name: &str) -> Target {
    Target {
        user_id: format!("loader-product-{name}"),
        cube_id: format!("loader-product-{name}-cube"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn product_imports_are_exactly_once_and_resume_by_marker() {
    let Some(server) = memos_refserver::testing::start_or_skip(StartOptions {
        api: Api::Product,
        ..StartOptions::default()
    })
    .await
    else {
        return;
    };
    let client = product::Client::new(server.base_url()).unwrap();
    import_then_rerun_sends_nothing(&client).await;
    resume_tells_identical_records_in_doubt_apart(&client).await;
    unsupported_roles_are_refused_before_sending(&client).await;
}

/// An import stores every record (one add each, acknowledged by its 200), and set-up has
/// nothing to do; the same import again sends nothing.
async fn import_then_rerun_sends_nothing(client: &product::Client) {
    let target = target("rerun");
    assert_eq!(
        loader::ensure_user(client, &target.user_id).await.unwrap(),
        Ensured::NotNeeded
    );
    assert_eq!(
        loader::ensure_cube(client, &target.user_id, &target.cube_id, "/unused")
            .await
            .unwrap(),
        Ensured::NotNeeded
    );
    let dir = tempfile::tempdir().unwrap();
    let source = sessions(dir.path());
    let options = LoadOptions {
        concurrency: 2,
        checkpoint: Some(dir.path().join("ck.json")),
        ..LoadOptions::default()
    };
    let first = loader::import(client, &target, &source, &options)
        .await
        .unwrap();
    assert!(first.is_complete(), "{first:?}");
    assert_eq!((first.records_sent, first.records_acked), (10, 10));
    let nodes = nodes_by_record(client, &target).await;
    assert_eq!(
        nodes.keys().copied().collect::<Vec<_>>(),
        (0..10).map(Some).collect::<Vec<_>>(),
        "every record's nodes carry its marker"
    );

    let again = loader::import(client, &target, &source, &options)
        .await
        .unwrap();
    assert_eq!((again.records_sent, again.already_imported), (0, 10));
    assert!(again.reconciliation.is_none());
    assert_eq!(
        node_counts(&nodes_by_record(client, &target).await),
        node_counts(&nodes)
    );
}

/// The state a run leaves when it dies with records in flight: the checkpoint knows of
/// records 0-4 and says all 10 may have been sent, while the server lacks records 7 and
/// 9. Records 6 and 7 are the same session: only the marker tells that 6 is stored and 7
/// is not. Record 2 was stored twice (a killed run's add that landed late; the run is one
/// the checkpoint recorded), and someone copied record 7's marker without a run. The
/// resume sends exactly 7 and 9, deletes the second copy of 2, leaves the copied marker
/// alone and reports it, none may be duplicated, and the cube ends with the nodes of the
/// import that was never interrupted (and the copy).
async fn resume_tells_identical_records_in_doubt_apart(client: &product::Client) {
    let target = target("resume");
    let dir = tempfile::tempdir().unwrap();
    let source = sessions(dir.path());
    let checkpoint = dir.path().join("ck.json");
    let options = LoadOptions {
        concurrency: 2,
        checkpoint: Some(checkpoint.clone()),
        ..LoadOptions::default()
    };
    let first = loader::import(client, &target, &source, &options)
        .await
        .unwrap();
    assert!(first.is_complete(), "{first:?}");
    let whole = nodes_by_record(client, &target).await;

    // An add of record 2 that a killed run had in flight, carried out by the server after
    // the record was sent again: a second copy, from another run.
    let import_id =
        serde_json::from_slice::<serde_json::Value>(&std::fs::read(&checkpoint).unwrap()).unwrap()
            ["import_id"]
            .as_str()
            .unwrap()
            .to_owned();
    let late: AddRequest = serde_json::from_value(serde_json::json!({
        "user_id": target.user_id,
        "writable_cube_ids": [target.cube_id],
        "messages": [
            {"role": "user", "content": "What did I plant in bed 2?"},
            {"role": "assistant", "content": "You planted tomatoes in bed 2."},
        ],
        "async_mode": "sync",
        "mode": "fast",
        "info": {
            "memos_load_import": import_id,
            "memos_load_record": "2",
            "memos_load_run": "a-killed-run",
        },
    }))
    .unwrap();
    client.add_memories(late).await.unwrap();
    assert_eq!(
        nodes_by_record(client, &target).await[&Some(2)].len(),
        2 * whole[&Some(2)].len()
    );

    let lost: Vec<String> = [Some(7), Some(9)]
        .iter()
        .flat_map(|record| whole[record].clone())
        .collect();
    let request: DeleteMemoryRequest = serde_json::from_value(serde_json::json!({
        "writable_cube_ids": [target.cube_id],
        "memory_ids": lost,
    }))
    .unwrap();
    client.delete_memories(request).await.unwrap();
    let forged: AddRequest = serde_json::from_value(serde_json::json!({
        "user_id": target.user_id,
        "writable_cube_ids": [target.cube_id],
        "memory_content": "not a record of the import",
        "async_mode": "sync",
        "mode": "fast",
        "info": {"memos_load_import": import_id, "memos_load_record": "7"},
    }))
    .unwrap();
    client.add_memories(forged).await.unwrap();
    let forged_nodes = nodes_by_record(client, &target).await[&Some(7)].len();
    as_if_killed(&checkpoint, &[[0, 5]], Some(10));
    // The killed run had recorded itself before it sent anything.
    let mut ck: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&checkpoint).unwrap()).unwrap();
    ck["runs"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({"id": "a-killed-run", "acked": []}));
    std::fs::write(&checkpoint, serde_json::to_vec(&ck).unwrap()).unwrap();

    let second = loader::import(client, &target, &source, &options)
        .await
        .unwrap();
    assert!(second.is_complete(), "{second:?}");
    let report = second.reconciliation.clone().unwrap();
    assert_eq!(counts(&report), [5, 3, 2, 0, 0], "{report:?}");
    assert_eq!(report.duplicates_removed, 1, "{report:?}");
    assert_eq!(report.foreign_markers, forged_nodes as u64, "{report:?}");
    assert_eq!(second.records_sent, 2);
    assert_eq!(second.possibly_duplicated, 0);
    let mut expected = node_counts(&whole);
    *expected.get_mut(&Some(7)).unwrap() += forged_nodes;
    assert_eq!(
        node_counts(&nodes_by_record(client, &target).await),
        expected
    );

    let third = loader::import(client, &target, &source, &options)
        .await
        .unwrap();
    assert_eq!((third.records_sent, third.already_imported), (0, 10));
}

/// A `tool` message (the API wants a `tool_call_id`) and a role of another spelling fail
/// the import before anything is sent, naming the place and the role.
async fn unsupported_roles_are_refused_before_sending(client: &product::Client) {
    let target = target("roles");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("roles.jsonl");
    std::fs::write(
        &path,
        concat!(
            r#"{"role": "user", "content": "run the tests", "session_id": 1}"#,
            "\n",
            r#"{"role": "tool", "content": "42 passed", "session_id": 1}"#,
            "\n",
            r#"{"role": "User", "content": "thanks", "session_id": 2}"#,
            "\n",
            r#"{"role": "user", "content": "fine", "session_id": 3}"#,
            "\n",
        ),
    )
    .unwrap();
    let source = Source::Messages {
        inputs: vec![Input::Path(path)],
        options: MessageOptions::default(),
    };
    let err = loader::import(client, &target, &source, &LoadOptions::default())
        .await
        .unwrap_err();
    let LoadError::UnsupportedRoles { count, first, .. } = &err else {
        panic!("{err}")
    };
    assert_eq!(*count, 2, "{err}");
    let text = err.to_string();
    assert!(
        text.contains(r#"roles.jsonl:1-2: message 2 of the session has the role "tool""#)
            && text.contains(r#"roles.jsonl:3: message 1 of the session has the role "User""#)
            && text.contains("nothing was sent")
            && text.contains("hint: give those messages one of the roles user, assistant, system"),
        "{text}"
    );
    assert_eq!(first.len(), 2);
    assert!(nodes_by_record(client, &target).await.is_empty());
}
