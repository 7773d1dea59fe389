//! The installer's life cycle on a real Python, with a lock that installs nothing (so no
//! network and a few seconds per venv): which directories it creates, reuses, rebuilds
//! and refuses.

use std::fs;
use std::path::Path;

use memos_refserver::testing::skip_for_missing_python;
use memos_refserver::venv::{Lock, VenvSpec};
use memos_refserver::{ensure_venv_with, Error, InstallAction, InstallReport};

const EMPTY: VenvSpec = VenvSpec {
    name: "empty",
    packages: &[],
    lock: Lock {
        path: "tests/it/empty-lock.txt",
        text: "# nothing to install\n",
    },
    min_python: (3, 8),
    // Standard library: proves the venv's interpreter runs.
    modules: &["json"],
};

/// `None` when Python is missing outside CI (the test is then skipped, saying why).
fn install(dir: &Path, spec: &VenvSpec) -> Option<Result<InstallReport, Error>> {
    match ensure_venv_with(dir, None, spec) {
        Err(err) if skip_for_missing_python(&err) => None,
        other => Some(other),
    }
}

/// One venv through its whole life (each venv creation takes seconds, so one test).
#[cfg(unix)]
#[test]
fn creates_reuses_and_rebuilds_only_its_own_venv() {
    let temp = tempfile::tempdir().unwrap();
    // An empty directory may be used.
    let dir = temp.path().join("venv");
    fs::create_dir(&dir).unwrap();
    let Some(first) = install(&dir, &EMPTY) else {
        return;
    };
    assert_eq!(first.unwrap().action, InstallAction::Created);
    assert!(dir.join("memos-refserver-owned").is_file());

    let again = install(&dir, &EMPTY).unwrap().unwrap();
    assert_eq!(again.action, InstallAction::Reused);

    // An interrupted install (no completion marker), reached through a symlink: the venv
    // is replaced whole, where it really is, and the link is kept.
    let link = temp.path().join("link");
    std::os::unix::fs::symlink(&dir, &link).unwrap();
    fs::remove_file(dir.join("memos-refserver-installed")).unwrap();
    fs::write(dir.join("left-over"), "x").unwrap();
    let repaired = install(&link, &EMPTY).unwrap().unwrap();
    assert_eq!(repaired.action, InstallAction::Rebuilt);
    assert!(!dir.join("left-over").exists());
    assert!(dir.join("memos-refserver-installed").is_file());
    assert!(fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());

    // Another lock: rebuilt too.
    let relocked = VenvSpec {
        lock: Lock {
            text: "# still nothing, but another lock\n",
            ..EMPTY.lock
        },
        ..EMPTY
    };
    let report = install(&dir, &relocked).unwrap().unwrap();
    assert_eq!(report.action, InstallAction::Rebuilt);
}

/// Before the ownership rule, this directory was emptied and a venv made in it.
#[test]
fn a_foreign_directory_is_refused_untouched() {
    let temp = tempfile::tempdir().unwrap();
    fs::write(temp.path().join("thesis.tex"), "years of work").unwrap();
    let err = ensure_venv_with(temp.path(), None, &EMPTY).unwrap_err();
    assert!(matches!(err, Error::VenvNotOwned { .. }), "{err}");
    let entries: Vec<_> = fs::read_dir(temp.path()).unwrap().collect();
    assert_eq!(entries.len(), 1, "the refused directory was changed");
}
