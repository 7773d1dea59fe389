//! The product suite must be able to fail: a server whose `/openapi.json` says it is the
//! product server gets the product cases (and none of v1's), and one that does not store
//! what it is sent or breaks the stream grammar fails those cases. The product mock fails
//! clearly when its recording was tampered with or a snapshot is missing.

use std::time::Duration;

use httpmock::{Method, MockServer};
use memos_conformance::snapshot::{self, CaseSnapshot, SnapshotSet};
use memos_conformance::{Api, Format, Outcome, Report, RunOptions, Target};
use serde_json::json;

/// A product server that stores nothing: every add answers the same made-up memory, every
/// listing is empty, and the chat stream is one frame whose data is not JSON.
async fn forgetful_product_server() -> MockServer {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(Method::GET).path("/openapi.json");
            then.status(200).json_body(
                json!({"openapi": "3.1.0", "info": {"title": "MemOS Server REST APIs", "version": "9.9.9"}, "paths": {}}),
            );
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(Method::POST).path("/product/add");
            then.status(200).json_body(json!({
                "code": 200, "message": "Memory added successfully",
                "data": [{"memory": "x", "memory_id": "11111111-1111-4111-8111-111111111111", "memory_type": "UserMemory", "cube_id": "c"}]
            }));
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(Method::POST).path("/product/get_memory");
            then.status(200).json_body(json!({
                "code": 200, "message": "Memories retrieved successfully",
                "data": {"text_mem": [], "pref_mem": [], "tool_mem": [], "skill_mem": []}
            }));
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(Method::POST).path("/product/chat/stream");
            then.status(200)
                .header("content-type", "text/event-stream")
                .body("data: not json\n\n");
        })
        .await;
    server
}

#[tokio::test]
async fn a_forgetful_product_server_fails_the_product_cases() {
    let server = forgetful_product_server().await;
    let mut options = RunOptions::live(server.base_url());
    options.patterns = vec![
        "add_memories.added_is_listed".into(),
        "chat_stream.frames_follow_grammar".into(),
        "create_user.*".into(),
    ];
    options.run_prefix = Some("conf-test".into());
    options.request_timeout = Duration::from_secs(2);
    let report = memos_conformance::run(options).await.report;
    let text = report.render(Format::Text);
    assert_eq!(report.target.api, Api::Product, "{text}");
    assert!(text.contains("API: product"), "{text}");
    // An unknown version has no known-defect list: every failure counts.
    assert_eq!(report.target.defect_list, None, "{text}");
    let names: Vec<&str> = report.cases.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "meta.server_version",
            "add_memories.added_is_listed",
            "chat_stream.frames_follow_grammar"
        ],
        "only product cases run: {text}"
    );
    for name in &names[1..] {
        let case = report.cases.iter().find(|c| c.name == *name).expect("case");
        assert_eq!(case.outcome, Outcome::Fail, "{name}: {text}");
    }
    assert!(text.contains("which does not hold the text sent"), "{text}");
    assert!(text.contains("data is not JSON"), "{text}");
    assert!(!report.summary.success);
}

#[tokio::test]
async fn api_v1_forced_on_a_product_server_runs_the_v1_cases() {
    let server = forgetful_product_server().await;
    let mut options = RunOptions::live(server.base_url());
    options.api = Some(Api::V1);
    options.patterns = vec!["get_current_user.*".into()];
    options.request_timeout = Duration::from_secs(2);
    let report = memos_conformance::run(options).await.report;
    assert_eq!(report.target.api, Api::V1);
    assert_eq!(report.target.api_learned, "--api");
    assert!(report
        .cases
        .iter()
        .any(|c| c.name.starts_with("get_current_user.")));
}

/// The case a tampered product recording is tried on.
const TAMPERED: &str = "add_memories.added_is_listed";

/// Runs the product mock over the embedded product snapshots, changed by `change` (which
/// may drop a case's file), and returns the report of `TAMPERED` (with the server-version
/// case first, as always).
async fn run_tampered(change: impl Fn(&mut Vec<CaseSnapshot>)) -> Report {
    let recorded = SnapshotSet::embedded_product();
    let mut snaps: Vec<CaseSnapshot> = recorded
        .names()
        .map(|n| recorded.get(n).expect("recorded").clone())
        .collect();
    change(&mut snaps);
    let dir = tempfile::tempdir().expect("tempdir");
    for snap in &snaps {
        snapshot::write(dir.path(), snap).expect("write");
    }
    let mut options = RunOptions::new(Target::Mock(
        SnapshotSet::from_dir(dir.path()).expect("dir"),
    ));
    options.api = Some(Api::Product);
    options.patterns = vec![TAMPERED.into()];
    memos_conformance::run(options).await.report
}

/// The recording of `TAMPERED` among `snaps`.
fn tampered_snapshot(snaps: &mut [CaseSnapshot]) -> &mut CaseSnapshot {
    snaps
        .iter_mut()
        .find(|s| s.case == TAMPERED)
        .expect("recorded")
}

/// The report row of `TAMPERED`.
fn tampered_case(report: &Report) -> &memos_conformance::CaseReport {
    report
        .cases
        .iter()
        .find(|c| c.name == TAMPERED)
        .expect("the tampered case ran")
}

/// Asserts that `TAMPERED` failed, and the run with it, with a reason holding `words`.
fn assert_tampered_case_fails_saying(report: &Report, words: &[&str]) {
    let case = tampered_case(report);
    assert_eq!(case.outcome, Outcome::Fail, "{case:#?}");
    let reason = case.reason.as_deref().unwrap_or_default();
    for word in words {
        assert!(reason.contains(word), "{word:?} not in {reason}");
    }
    assert!(!report.summary.success);
}

#[tokio::test]
async fn the_product_mock_replays_its_recording_unchanged() {
    let report = run_tampered(|_| {}).await;
    assert_eq!(tampered_case(&report).outcome, Outcome::Pass, "{report:#?}");
    assert!(report.summary.success);
}

#[tokio::test]
async fn the_product_mock_refuses_a_request_that_differs_from_the_recording() {
    let report = run_tampered(|snaps| {
        let snap = tampered_snapshot(snaps);
        let body = snap.exchanges[0].request.body.as_mut().expect("a body");
        body.map_strings(&mut |s| s.replace("Lisbon", "Porto"));
    })
    .await;
    assert_tampered_case_fails_saying(&report, &["changed since the snapshots were recorded"]);
}

#[tokio::test]
async fn a_product_recording_whose_answer_was_changed_fails_the_case() {
    // The recorded listing no longer holds the memory the add answered.
    let report = run_tampered(|snaps| {
        let snap = tampered_snapshot(snaps);
        let listing = snap
            .exchanges
            .iter_mut()
            .find(|e| e.label == "list the cube")
            .and_then(|e| e.response.as_mut())
            .and_then(|r| r.body.as_mut())
            .expect("the recorded listing");
        listing.map_strings(&mut |s| {
            if s.starts_with("00000000-0000-4000-8000-") {
                "00000000-0000-4000-8000-0000000000ff".to_owned()
            } else {
                s.to_owned()
            }
        });
    })
    .await;
    assert_tampered_case_fails_saying(&report, &["does not list the added memory"]);
}

#[tokio::test]
async fn a_missing_product_snapshot_fails_its_case_saying_how_to_record() {
    let report = run_tampered(|snaps| snaps.retain(|s| s.case != TAMPERED)).await;
    assert_tampered_case_fails_saying(
        &report,
        &[
            &format!("no recorded snapshot {TAMPERED}.snap"),
            "live_product",
        ],
    );
}

/// A server patched by `memos-reference-server --pgvector-caster` says so in its document;
/// every report names the patch, and an unpatched server's reports name none.
#[tokio::test]
async fn a_patched_server_is_named_in_every_report() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(Method::GET).path("/openapi.json");
            then.status(200).json_body(json!({
                "openapi": "3.1.0",
                "info": {
                    "title": "MemOS Server REST APIs", "version": "1.0.1",
                    "x-memos-reference-server-patches": ["pgvector-caster"]
                },
                "paths": {}
            }));
        })
        .await;
    let mut options = RunOptions::live(server.base_url());
    options.patterns = vec!["meta.*".into()];
    options.run_prefix = Some("conf-test".into());
    let report = memos_conformance::run(options).await.report;
    assert_eq!(report.target.server_patches, ["pgvector-caster"]);
    let text = report.render(Format::Text);
    assert!(
        text.contains("server patches: pgvector-caster (not the server as its upstream ships it"),
        "{text}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&report.render(Format::Json)).expect("JSON report");
    assert_eq!(json["target"]["server_patches"], json!(["pgvector-caster"]));
    let junit = report.render(Format::Junit);
    assert!(
        junit.contains(r#"<property name="server_patches" value="pgvector-caster"/>"#),
        "{junit}"
    );

    // The embedded mock replays an unpatched server: no patch, and no line for it.
    let mock = memos_conformance::run(RunOptions::product_mock())
        .await
        .report;
    assert!(mock.target.server_patches.is_empty());
    assert!(!mock.render(Format::Text).contains("server patches"));
}

/// On a Redis queue the case's new user has no task stream: 2.0.33 answers 404 in the
/// envelope, which the case takes as "no backlog". A bare 404 (no route) still fails.
#[tokio::test]
async fn the_queue_status_of_a_user_without_streams_is_a_404_envelope() {
    async fn run_against(body: serde_json::Value) -> Report {
        let server = MockServer::start_async().await;
        server
            .mock_async(|when, then| {
                when.method(Method::GET).path("/openapi.json");
                then.status(200).json_body(json!({
                    "openapi": "3.1.0",
                    "info": {"title": "MemOS Server REST APIs", "version": "1.0.1"},
                    "paths": {}
                }));
            })
            .await;
        server
            .mock_async(|when, then| {
                when.method(Method::GET)
                    .path("/product/scheduler/task_queue_status");
                then.status(404)
                    .header("content-type", "application/json")
                    .json_body(body);
            })
            .await;
        let mut options = RunOptions::live(server.base_url());
        options.patterns = vec!["scheduler_task_queue_status.*".into()];
        options.run_prefix = Some("conf-test".into());
        options.destructive = true;
        memos_conformance::run(options).await.report
    }
    let outcome = |report: &Report| {
        report
            .cases
            .iter()
            .find(|c| c.group == "scheduler_task_queue_status")
            .map(|c| c.outcome)
    };
    let report = run_against(json!({
        "code": 404,
        "message": "No scheduler streams found for user conf-test-u",
        "data": null
    }))
    .await;
    assert_eq!(
        outcome(&report),
        Some(Outcome::Pass),
        "{}",
        report.render(Format::Text)
    );
    let report = run_against(json!({"detail": "Not Found"})).await;
    assert_eq!(
        outcome(&report),
        Some(Outcome::Fail),
        "{}",
        report.render(Format::Text)
    );
}
