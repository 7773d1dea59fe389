//! `check`'s own steps: pending snapshots, and every step running even after one fails.

use tempfile::TempDir;
use xtask::check;

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

/// A tree with both specs, the README, both allow-lists and reference documents, the pip
/// locks, and fresh artefacts.
fn fresh_tree() -> TempDir {
    let dir = TempDir::new().unwrap();
    let locks: Vec<&str> = xtask::pins::ALL.iter().map(|spec| spec.lock.path).collect();
    crate::copy_into(
        dir.path(),
        &[
            &[
                xtask::codegen::SPEC_PATH,
                xtask::codegen::README_PATH,
                xtask::drift::ALLOWLIST_PATH,
                xtask::drift::REFERENCE_DOC,
                xtask::api::Api::Product.spec_path(),
                xtask::api::Api::Product.allowlist_path(),
                xtask::api::Api::Product.reference_doc(),
            ][..],
            &locks,
        ]
        .concat(),
    );
    xtask::codegen::write(dir.path()).unwrap();
    dir
}

#[test]
fn a_fresh_tree_passes_every_step() {
    let dir = fresh_tree();
    let steps = check::run(dir.path());
    assert!(steps.iter().all(|s| s.ok), "{steps:#?}");
    assert_eq!(steps.len(), 7, "{steps:#?}");
}

#[test]
fn a_missing_reference_document_fails_the_drift_step() {
    let dir = fresh_tree();
    std::fs::remove_file(dir.path().join(xtask::drift::REFERENCE_DOC)).unwrap();

    let steps = check::run(dir.path());
    let failed: Vec<_> = steps.iter().filter(|s| !s.ok).collect();
    assert_eq!(failed.len(), 1, "{steps:#?}");
    assert!(failed[0].name.starts_with("drift"), "{steps:#?}");
    assert!(
        failed[0].output.contains(xtask::drift::REFERENCE_DOC),
        "{}",
        failed[0].output
    );
}

#[test]
fn every_step_runs_even_when_the_first_fails() {
    let dir = fresh_tree();
    let root = dir.path();
    std::fs::remove_file(root.join(xtask::codegen::CLIENT_PATH)).unwrap();
    std::fs::write(root.join("x.snap.new"), "").unwrap();

    let steps = check::run(root);
    let verdicts: Vec<_> = steps.iter().map(|s| (s.name, s.ok)).collect();
    assert_eq!(
        verdicts,
        [
            ("codegen --check", false),
            ("spec lint", true),
            ("pending snapshots", false),
            ("drift against the reference document", true),
            ("pip locks fit the pinned requirements", true),
            ("product spec lint", true),
            ("product drift against its reference document", true),
        ]
    );
    assert!(steps[0].output.contains("cargo xtask codegen"));
    assert!(steps[2].output.contains("x.snap.new"));
}

#[test]
fn a_lock_that_does_not_fit_the_requirements_fails_the_pins_step() {
    let dir = fresh_tree();
    let lock = dir.path().join(xtask::pins::PYYAML.lock.path);
    let text = std::fs::read_to_string(&lock).unwrap();
    std::fs::write(&lock, text.replace("PyYAML==6.0.3", "PyYAML==6.0.2")).unwrap();

    let steps = check::run(dir.path());
    let failed: Vec<_> = steps.iter().filter(|s| !s.ok).collect();
    assert_eq!(failed.len(), 1, "{steps:#?}");
    assert!(failed[0].name.starts_with("pip locks"), "{steps:#?}");
    assert!(
        failed[0].output.contains("cargo xtask pin"),
        "{}",
        failed[0].output
    );
}

#[test]
fn a_broken_product_spec_fails_its_lint_and_leaves_the_v1_steps_alone() {
    let dir = fresh_tree();
    let spec = dir.path().join(xtask::api::Api::Product.spec_path());
    let text = std::fs::read_to_string(&spec).unwrap();
    // An example that does not fit its schema: a lint error, nothing else.
    let from = "example: {mem_cube_id: alice-notes}";
    assert_eq!(text.matches(from).count(), 1, "plant site");
    std::fs::write(&spec, text.replace(from, "example: {mem_cube_id: 7}")).unwrap();

    let steps = check::run(dir.path());
    let failed: Vec<_> = steps.iter().filter(|s| !s.ok).map(|s| s.name).collect();
    // The review copy of the product client is stale too if progenitor puts the example in
    // its docs; every other step passes.
    assert!(failed.contains(&"product spec lint"), "{steps:#?}");
    assert!(
        failed
            .iter()
            .all(|name| ["product spec lint", "codegen --check"].contains(name)),
        "{steps:#?}"
    );
    let lint = steps
        .iter()
        .find(|s| s.name == "product spec lint")
        .unwrap();
    assert!(
        lint.output.starts_with("openapi/memos-product.yaml: "),
        "{}",
        lint.output
    );
    assert!(lint.output.contains("exist_mem_cube_id"), "{}", lint.output);
}
