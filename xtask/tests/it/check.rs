//! `check`'s own steps: pending snapshots, and every step running even after one fails.

use tempfile::TempDir;
use xtask::api::ApiFiles;
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
/// locks, the LICENSE, the files each package carries (as copies), and fresh artefacts.
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
                xtask::package::LICENSE_PATH,
            ][..],
            &locks,
        ]
        .concat(),
    );
    link_packages(dir.path());
    xtask::codegen::write(dir.path()).unwrap();
    dir
}

/// Each package's `openapi/` and `LICENSE` as in the repository: symlinks to the workspace's.
#[cfg(unix)]
fn link_packages(root: &std::path::Path) {
    let link = |target: &str, at: std::path::PathBuf| {
        std::fs::create_dir_all(at.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink(target, at).unwrap();
    };
    for package in xtask::package::SPEC_PACKAGES {
        link("../openapi", root.join(package).join("openapi"));
    }
    for package in xtask::package::PACKAGES {
        link("../LICENSE", root.join(package).join("LICENSE"));
    }
}

/// Without symlinks, copies (which a change to the workspace file leaves behind).
#[cfg(not(unix))]
fn link_packages(root: &std::path::Path) {
    for (path, source, _) in xtask::package::carried() {
        let to = root.join(path);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(root.join(source), to).unwrap();
    }
}

#[test]
fn a_fresh_tree_passes_every_step() {
    let dir = fresh_tree();
    let steps = check::run(dir.path());
    assert!(steps.iter().all(|s| s.ok), "{steps:#?}");
    assert_eq!(steps.len(), 8, "{steps:#?}");
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
            ("packages carry the workspace's specs and LICENSE", true),
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

#[test]
fn a_package_spec_that_differs_fails_the_package_step_with_the_fix() {
    let dir = fresh_tree();
    // The link replaced by a directory holding another spec.
    let copy = dir.path().join("memos-conformance/openapi");
    std::fs::remove_file(&copy).unwrap_or_else(|_| std::fs::remove_dir_all(&copy).unwrap());
    std::fs::create_dir(&copy).unwrap();
    for spec in ["memos.yaml", "memos-product.yaml"] {
        std::fs::copy(dir.path().join("openapi").join(spec), copy.join(spec)).unwrap();
    }
    std::fs::write(copy.join("memos-product.yaml"), "openapi: 3.0.3\n").unwrap();
    std::fs::remove_file(dir.path().join("memos-cli/LICENSE")).unwrap();

    let steps = check::run(dir.path());
    let failed: Vec<_> = steps.iter().filter(|s| !s.ok).collect();
    assert_eq!(failed.len(), 1, "{steps:#?}");
    let output = &failed[0].output;
    assert!(failed[0].name.starts_with("packages carry"), "{steps:#?}");
    assert!(
        output.contains(
            "memos-conformance/openapi/memos-product.yaml differs from openapi/memos-product.yaml"
        ),
        "{output}"
    );
    assert!(
        output.contains(
            "fix: rm -rf memos-conformance/openapi && ln -s ../openapi memos-conformance/openapi"
        ),
        "{output}"
    );
    assert!(output.contains("memos-cli/LICENSE is missing"), "{output}");
    assert!(!output.contains("memos-api/"), "{output}");
}
