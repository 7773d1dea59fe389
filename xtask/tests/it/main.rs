//! xtask's integration tests, in one binary (one link of progenitor instead of five).
//!
//! Everything except `fresh` runs on temporary copies of the tree, through the root-dir
//! parameter every command takes.

mod check;
mod codegen;
mod drift;
mod drift_product;
mod exercise;
mod external;
mod fresh;
mod lint;

use std::path::{Path, PathBuf};

/// The real workspace root.
pub fn workspace() -> PathBuf {
    memos_refserver::workspace_root()
}

/// Copies files (relative paths) from the real workspace into `root`.
pub fn copy_into(root: &Path, files: &[&str]) {
    for file in files {
        let to = root.join(file);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(workspace().join(file), &to)
            .unwrap_or_else(|err| panic!("cannot copy {file}: {err}"));
    }
}
