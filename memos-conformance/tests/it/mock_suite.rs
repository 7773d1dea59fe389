//! The whole suite against the embedded mock: every case replays its recorded exchanges,
//! insta verifies them against the snapshot files, and the run passes with exactly the
//! known defects failing.

use std::collections::BTreeSet;
use std::time::Instant;

use memos_conformance::snapshot;
use memos_conformance::{Format, Outcome, RunOptions};

use crate::common::{
    assert_exactly_the_listed_defects_fail, assert_snapshots, leftover_snapshot_files,
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
    let cases: BTreeSet<String> = memos_conformance::cases()
        .iter()
        .map(|c| c.name.to_owned())
        .collect();
    let files: BTreeSet<String> = std::fs::read_dir(snapshot::source_dir())
        .expect("the snapshot directory")
        .flatten()
        .filter_map(|e| {
            e.file_name()
                .to_str()
                .and_then(|n| n.strip_suffix(".snap"))
                .map(str::to_owned)
        })
        .collect();
    assert_eq!(cases, files, "snapshot files and cases differ");
    assert_eq!(output.snapshots.len(), cases.len());

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
