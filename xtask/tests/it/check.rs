//! `check`'s own steps: pending snapshots, and the reference document being absent.

use tempfile::TempDir;
use xtask::check::{self, Missing};

#[test]
fn pending_snapshots_are_found_outside_target() {
    let dir = TempDir::new().unwrap();
    let root = dir.path();
    for file in [
        "crate/tests/snapshots/a.snap.new",
        "crate/tests/.b.pending-snap",
        "crate/tests/snapshots/c.snap",
        "target/debug/d.snap.new",
        ".git/e.snap.new",
    ] {
        std::fs::create_dir_all(root.join(file).parent().unwrap()).unwrap();
        std::fs::write(root.join(file), "").unwrap();
    }
    let found = check::pending_snapshots(root).unwrap();
    let found: Vec<_> = found
        .iter()
        .map(|p| p.strip_prefix(root).unwrap().to_owned())
        .collect();
    assert_eq!(
        found,
        [
            std::path::PathBuf::from("crate/tests/.b.pending-snap"),
            std::path::PathBuf::from("crate/tests/snapshots/a.snap.new"),
        ]
    );
}

/// A tree with a fresh spec, README and artefacts, but no reference document beside it.
fn tree_without_reference() -> TempDir {
    let dir = TempDir::new().unwrap();
    let root = dir.path().join("main");
    std::fs::create_dir(&root).unwrap();
    crate::copy_into(
        &root,
        &[
            xtask::codegen::SPEC_PATH,
            xtask::codegen::README_PATH,
            xtask::drift::ALLOWLIST_PATH,
        ],
    );
    xtask::codegen::write(&root).unwrap();
    dir
}

#[test]
fn a_missing_reference_is_skipped_locally_and_fails_in_ci() {
    let dir = tree_without_reference();
    let root = dir.path().join("main");

    let steps = check::run(&root, Missing::Skip);
    assert!(steps.iter().all(|s| s.ok), "{steps:#?}");
    let drift = steps.iter().find(|s| s.name.starts_with("drift")).unwrap();
    assert!(drift.output.starts_with("skipped:"), "{}", drift.output);

    let steps = check::run(&root, Missing::Fail);
    let failed: Vec<_> = steps.iter().filter(|s| !s.ok).collect();
    assert_eq!(failed.len(), 1, "{steps:#?}");
    assert!(failed[0].output.contains("CI=true"), "{}", failed[0].output);
}

#[test]
fn every_step_runs_even_when_the_first_fails() {
    let dir = tree_without_reference();
    let root = dir.path().join("main");
    std::fs::remove_file(root.join(xtask::codegen::CLIENT_PATH)).unwrap();
    std::fs::write(root.join("x.snap.new"), "").unwrap();
    let reference = dir.path().join("shared/reference/memos-v1-openapi.json");
    std::fs::create_dir_all(reference.parent().unwrap()).unwrap();
    std::fs::copy(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/memos-v1-openapi.json"),
        &reference,
    )
    .unwrap();

    let steps = check::run(&root, Missing::Fail);
    let verdicts: Vec<_> = steps.iter().map(|s| (s.name, s.ok)).collect();
    assert_eq!(
        verdicts,
        [
            ("codegen --check", false),
            ("spec lint", true),
            ("pending snapshots", false),
            ("drift against the reference document", true),
        ]
    );
    assert!(steps[0].output.contains("cargo xtask codegen"));
    assert!(steps[2].output.contains("x.snap.new"));
}
