//! The whole suite against the embedded mock of each backend, and the product suite
//! against the product server's: every case replays its recorded exchanges, insta
//! verifies them against the snapshot files, and the run passes with exactly the known
//! defects of that backend (or of the product server) failing.

use std::time::Instant;

use memos_conformance::snapshot;
use memos_conformance::{Api, Backend, Format, Outcome, RunOptions};

use crate::common::{
    assert_exactly_the_listed_defects_fail, assert_one_file_per_case, assert_one_file_per_case_of,
    assert_skipped_only_for_want_of_a_directory, assert_snapshots, leftover_snapshot_files,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_suite_passes_against_the_embedded_mock() {
    let leftovers = leftover_snapshot_files(&snapshot::source_dir());
    assert!(
        leftovers.is_empty(),
        "unreviewed snapshot files in {}: {leftovers:?}; review them with `cargo insta review`",
        snapshot::source_dir().display()
    );

    let started = Instant::now();
    let output = memos_conformance::run(RunOptions::mock()).await;
    let elapsed = started.elapsed();
    let report = &output.report;
    println!("{}", report.render(Format::Text));
    println!("mocked suite wall time: {:.2} s", elapsed.as_secs_f64());

    let failed: Vec<_> = report
        .cases
        .iter()
        .filter(|c| c.outcome == Outcome::Fail)
        .map(|c| format!("{}: {}", c.name, c.reason.clone().unwrap_or_default()))
        .collect();
    assert!(
        failed.is_empty(),
        "cases failed against the mock:\n{}",
        failed.join("\n")
    );
    assert!(report.summary.success);
    assert_eq!(
        report.summary.fixed_defects, 0,
        "a known defect passes against its own recording"
    );
    assert_eq!(
        report.summary.skipped, 0,
        "the recording was made with every permission and directory"
    );
    assert_eq!(
        report.target.defect_list.as_deref(),
        Some(memos_conformance::REFERENCE_KEY)
    );
    assert_exactly_the_listed_defects_fail(report, "against the mock");

    // Every case has a snapshot, and every snapshot a case.
    assert_one_file_per_case(&snapshot::source_dir());
    assert_eq!(output.snapshots.len(), memos_conformance::cases().len());

    // What the mock replayed is what the files hold, request by request.
    assert_snapshots(&snapshot::source_dir(), &output.snapshots);
    for snap in &output.snapshots {
        let recorded = snapshot::SnapshotSet::embedded();
        let recorded = recorded.get(&snap.case).expect("recorded");
        assert_eq!(
            snap.verdict, recorded.verdict,
            "{}: verdict differs from the recording",
            snap.case
        );
    }
}

/// The mock of another backend replays that backend's recorded set: the run passes with
/// exactly that backend's known defects, skips only what one scratch directory cannot
/// keep apart (the recording had one), and replays every file as recorded.
async fn the_recorded_set_replays(backend: Backend) {
    let dir = snapshot::source_dir_for(backend);
    let leftovers = leftover_snapshot_files(&dir);
    assert!(
        leftovers.is_empty(),
        "unreviewed files in {}: {leftovers:?}",
        dir.display()
    );
    let output = memos_conformance::run(RunOptions::mock_for(backend)).await;
    let report = &output.report;
    println!("{}", report.render(Format::Text));
    assert_eq!(report.target.backend, Some(backend));
    assert_eq!(
        report.target.backend_learned.as_deref(),
        Some("the mock's snapshot set")
    );
    assert!(report.summary.success, "{}", report.summary.line());
    assert_eq!(report.summary.fixed_defects, 0);
    assert_skipped_only_for_want_of_a_directory(report);
    assert_exactly_the_listed_defects_fail(report, &format!("against the {backend} mock"));
    assert_one_file_per_case(&dir);
    assert_snapshots(&dir, &output.snapshots);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_general_text_mock_replays_its_recording() {
    the_recorded_set_replays(Backend::GeneralText).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tree_text_mock_replays_its_recording_and_lists_graphs() {
    the_recorded_set_replays(Backend::TreeText).await;
    // What the mock shows users: a tree_text server lists a cube as a graph.
    let recorded = snapshot::SnapshotSet::embedded_for(Backend::TreeText);
    let listing = recorded
        .get("list_memories.lists_cube_memories")
        .expect("recorded")
        .render();
    assert!(
        listing.contains("\"nodes\"") && listing.contains("\"edges\""),
        "{listing}"
    );
}

/// What a case concluded against the recorded server (the snapshot's `verdict`), as the
/// report shows it once the product server's known-defect list is applied.
fn reported_outcome(verdict: &str, listed_defect: bool) -> Outcome {
    match verdict {
        "pass" => Outcome::Pass,
        "warning" => Outcome::Warning,
        "skipped" => Outcome::Skipped,
        "not applicable" => Outcome::NotApplicable,
        _ if listed_defect => Outcome::KnownDefect,
        _ => Outcome::Fail,
    }
}

/// The product mock replays the recording of the product server: the API is learned from
/// the replayed `/openapi.json`, every file is replayed as recorded, and each case ends as
/// it did against the live server (the recorded verdict, with the known-defect list
/// applied), so the summary counts equal the live run's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_product_mock_replays_the_product_servers_recording() {
    let dir = snapshot::product_source_dir();
    let leftovers = leftover_snapshot_files(&dir);
    assert!(
        leftovers.is_empty(),
        "unreviewed files in {}: {leftovers:?}",
        dir.display()
    );
    let output = memos_conformance::run(RunOptions::product_mock()).await;
    let report = &output.report;
    let text = report.render(Format::Text);
    println!("{text}");
    assert_eq!(report.target.api, Api::Product, "{text}");
    assert_eq!(report.target.api_learned, "the mock's snapshot set");
    assert_eq!(
        report.target.backend, None,
        "the product API has no cube backend"
    );
    assert_eq!(
        report.target.defect_list.as_deref(),
        Some("MemOS Server REST APIs 1.0.1")
    );
    let failed: Vec<String> = report
        .cases
        .iter()
        .filter(|c| matches!(c.outcome, Outcome::Fail | Outcome::DefectFixed))
        .map(|c| format!("{}: {}", c.name, c.reason.clone().unwrap_or_default()))
        .collect();
    assert!(
        failed.is_empty(),
        "cases failed against the product mock:\n{}",
        failed.join("\n")
    );
    assert!(report.summary.success, "{}", report.summary.line());

    let listed: Vec<&str> = memos_conformance::known_defects("MemOS Server REST APIs 1.0.1")
        .expect("the product list")
        .defects
        .iter()
        .map(|d| d.case)
        .collect();
    let recorded = snapshot::SnapshotSet::embedded_product();
    for case in &report.cases {
        let verdict = &recorded
            .get(&case.name)
            .expect("a recorded snapshot")
            .verdict;
        assert_eq!(
            case.outcome,
            reported_outcome(verdict, listed.contains(&case.name.as_str())),
            "{}: recorded {verdict:?}",
            case.name
        );
    }
    assert_eq!(
        report.summary.known_defects,
        listed.len(),
        "every listed defect is recorded failing"
    );

    assert_one_file_per_case_of(Api::Product, &dir);
    assert_eq!(
        output.snapshots.len(),
        memos_conformance::select_for(Api::Product, &[]).len()
    );
    assert_snapshots(&dir, &output.snapshots);
}
