//! `cargo xtask check`: everything CI checks beyond `cargo test`.
//!
//! Runs every step even after one fails, so one CI run shows every problem.

use std::path::{Path, PathBuf};

use anyhow::Context as _;

use crate::{codegen, drift, lint};

/// The reference server's own OpenAPI document, relative to the workspace root (the shared
/// folder sits beside the repository, in CI too).
pub const REFERENCE_DOC: &str = "../shared/reference/memos-v1-openapi.json";

/// Whether a check that cannot run (a missing input) fails or is skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missing {
    /// CI: everything must run.
    Fail,
    /// A developer's machine: say so and go on.
    Skip,
}

impl Missing {
    /// `Fail` when the environment says CI (`CI=true`, as CI sets it).
    pub fn from_env() -> Missing {
        match std::env::var("CI") {
            Ok(value) if value.eq_ignore_ascii_case("true") || value == "1" => Missing::Fail,
            _ => Missing::Skip,
        }
    }
}

/// One step's outcome.
#[derive(Debug)]
pub struct Step {
    pub name: &'static str,
    pub ok: bool,
    /// What to show: problems, or a notice.
    pub output: String,
}

/// Runs every step under `root`; see [`Step`]. Never stops early.
pub fn run(root: &Path, missing: Missing) -> Vec<Step> {
    vec![
        step("codegen --check", || codegen_step(root)),
        step("spec lint", || lint_step(root)),
        step("pending snapshots", || snapshot_step(root)),
        step("drift against the reference document", || {
            drift_step(root, missing)
        }),
    ]
}

/// Runs one step, turning an error into a failed step.
pub fn step(name: &'static str, run: impl FnOnce() -> anyhow::Result<(bool, String)>) -> Step {
    match run() {
        Ok((ok, output)) => Step { name, ok, output },
        Err(err) => Step {
            name,
            ok: false,
            output: format!("error: {err:#}"),
        },
    }
}

fn codegen_step(root: &Path) -> anyhow::Result<(bool, String)> {
    let stale = codegen::check(root)?;
    Ok(if stale.is_empty() {
        (true, String::new())
    } else {
        (false, codegen::report(&stale))
    })
}

fn lint_step(root: &Path) -> anyhow::Result<(bool, String)> {
    let errors = lint::run(root)?;
    let output = errors
        .iter()
        .map(|error| format!("{}: {error}\n", codegen::SPEC_PATH))
        .collect();
    Ok((errors.is_empty(), output))
}

fn snapshot_step(root: &Path) -> anyhow::Result<(bool, String)> {
    let pending = pending_snapshots(root)?;
    if pending.is_empty() {
        return Ok((true, String::new()));
    }
    let mut output = String::from("insta snapshots are waiting for review:\n");
    for path in &pending {
        let shown = path.strip_prefix(root).unwrap_or(path);
        output.push_str(&format!("  {}\n", shown.display()));
    }
    output.push_str(
        "review them with `cargo insta review` (accept or reject), or delete them if they are \
         leftovers\n",
    );
    Ok((false, output))
}

/// `*.snap.new` and `.pending-snap` files anywhere under `root`, except in `target/` (build
/// output) and `.git/`. Symlinks are not followed.
pub fn pending_snapshots(root: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        let entries =
            std::fs::read_dir(&dir).with_context(|| format!("cannot list {}", dir.display()))?;
        for entry in entries {
            let entry = entry.with_context(|| format!("cannot list {}", dir.display()))?;
            let name = entry.file_name();
            let name = name.to_string_lossy();
            let kind = entry
                .file_type()
                .with_context(|| format!("cannot stat {}", entry.path().display()))?;
            if kind.is_dir() {
                if name != "target" && name != ".git" {
                    dirs.push(entry.path());
                }
            } else if name.ends_with(".snap.new") || name.ends_with(".pending-snap") {
                found.push(entry.path());
            }
        }
    }
    found.sort();
    Ok(found)
}

fn drift_step(root: &Path, missing: Missing) -> anyhow::Result<(bool, String)> {
    let path = root.join(REFERENCE_DOC);
    if !path.exists() {
        let message = format!(
            "the reference document {} does not exist (expected at {REFERENCE_DOC} from the \
             workspace root)",
            path.display()
        );
        return Ok(match missing {
            Missing::Fail => (
                false,
                format!("{message}; CI=true, so this is an error: lay out shared/ beside the repository\n"),
            ),
            Missing::Skip => (true, format!("skipped: {message}; CI would fail here\n")),
        });
    }
    let doc = drift::load_file(&path)?;
    let report = drift::run(root, &path.display().to_string(), &doc)?;
    Ok(if report.ok() {
        (true, String::new())
    } else {
        (false, drift::render_table(&report, false))
    })
}
