//! Helpers shared by the suite tests.

use std::collections::BTreeSet;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

use memos_conformance::snapshot::{self, CaseSnapshot};
use memos_conformance::{Api, Backend, Outcome, Report};
use tokio::sync::{Mutex, MutexGuard};

/// The reference-server backend of the same name.
pub fn refserver_backend(backend: Backend) -> memos_refserver::Backend {
    backend
        .as_str()
        .parse()
        .expect("memos-refserver knows every backend")
}

/// Held by every test that uses the shared reference server of `backend` in a way
/// another such test must not see: the whole suite calls `/configure`, which unloads
/// every cube, and the production-cube tests need their cube loaded throughout.
pub async fn exclusive(backend: Backend) -> MutexGuard<'static, ()> {
    static LOCKS: [Mutex<()>; 3] = [
        Mutex::const_new(()),
        Mutex::const_new(()),
        Mutex::const_new(()),
    ];
    let i = Backend::ALL
        .iter()
        .position(|b| *b == backend)
        .expect("a known backend");
    LOCKS[i].lock().await
}

/// Asserts that the cases failing as known defects are exactly those the reference
/// server's list names for the report's backend, less the cases that were skipped
/// (`against` says where the run was, for the message).
pub fn assert_exactly_the_listed_defects_fail(report: &Report, against: &str) {
    let backend = report.target.backend.expect("the report names the backend");
    let skipped: BTreeSet<&str> = report
        .cases
        .iter()
        .filter(|c| c.outcome == Outcome::Skipped)
        .map(|c| c.name.as_str())
        .collect();
    let listed: BTreeSet<&str> = memos_conformance::known_defects(memos_conformance::REFERENCE_KEY)
        .expect("the reference list")
        .for_backend(backend)
        .map(|d| d.case)
        .filter(|c| !skipped.contains(c))
        .collect();
    let known: BTreeSet<&str> = report
        .cases
        .iter()
        .filter(|c| c.outcome == Outcome::KnownDefect)
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(
        known, listed,
        "exactly the listed known defects of {backend} fail {against}"
    );
}

/// Why a case may be skipped on a backend whose cubes share their directory's storage,
/// with the one `--cube-path` the recordings and live runs pass.
const NEEDS_ANOTHER_DIRECTORY: &str = "needs one more scratch --cube-path (1 given)";

/// Asserts that the only skipped cases are those one scratch directory cannot keep
/// apart on a backend whose cubes share their directory's storage.
pub fn assert_skipped_only_for_want_of_a_directory(report: &Report) {
    let backend = report.target.backend.expect("the report names the backend");
    for case in report
        .cases
        .iter()
        .filter(|c| c.outcome == Outcome::Skipped)
    {
        let reason = case.reason.as_deref().unwrap_or_default();
        assert!(
            backend.shares_directory_storage() && reason.contains(NEEDS_ANOTHER_DIRECTORY),
            "{} skipped on {backend}: {reason}",
            case.name
        );
    }
}

/// Asserts that `dir` holds one snapshot file per v1 case, and no other.
pub fn assert_one_file_per_case(dir: &Path) {
    assert_one_file_per_case_of(Api::V1, dir);
}

/// Asserts that `dir` holds one snapshot file per case of `api`, and no other.
pub fn assert_one_file_per_case_of(api: Api, dir: &Path) {
    let cases: BTreeSet<String> = memos_conformance::select_for(api, &[])
        .iter()
        .map(|c| c.name.to_owned())
        .collect();
    let files: BTreeSet<String> = std::fs::read_dir(dir)
        .expect("the snapshot directory")
        .flatten()
        .filter_map(|e| {
            e.file_name()
                .to_str()
                .and_then(|n| n.strip_suffix(".snap"))
                .map(str::to_owned)
        })
        .collect();
    assert_eq!(
        cases,
        files,
        "snapshot files and cases differ in {}",
        dir.display()
    );
}

/// `.snap.new` and `.pending-snap` files in a snapshot directory.
pub fn leftover_snapshot_files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .filter_map(|e| e.file_name().to_str().map(str::to_owned))
                .filter(|n| n.ends_with(".snap.new") || n.ends_with(".pending-snap"))
                .collect()
        })
        .unwrap_or_default()
}

/// Asserts every snapshot with insta against the files in `dir`, collecting every
/// mismatch before failing.
pub fn assert_snapshots(dir: &Path, snapshots: &[CaseSnapshot]) {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(dir);
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    let mut mismatched = Vec::new();
    for snap in snapshots {
        let text = snap.render();
        let name = snap.case.clone();
        let result = catch_unwind(AssertUnwindSafe(|| {
            settings.bind(|| insta::assert_snapshot!(name.as_str(), text));
        }));
        if result.is_err() {
            mismatched.push(snap.case.clone());
        }
    }
    assert!(
        mismatched.is_empty(),
        "{} snapshots differ from the recorded ones (review the .snap.new files with `cargo insta review`): {mismatched:?}",
        mismatched.len()
    );
}

/// Whether the live tests record the snapshots instead of comparing them
/// (`MEMOS_CONFORMANCE_RECORD=1`).
pub fn record_mode() -> bool {
    std::env::var("MEMOS_CONFORMANCE_RECORD").is_ok_and(|v| v == "1")
}

/// Writes the run's snapshots into `dir` (record mode).
pub fn record(dir: &Path, snapshots: &[CaseSnapshot]) {
    for snap in snapshots {
        snapshot::write(dir, snap).expect("write snapshot");
    }
    println!(
        "recorded {} snapshots into {}",
        snapshots.len(),
        dir.display()
    );
}
