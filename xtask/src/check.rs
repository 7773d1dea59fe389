//! `cargo xtask check`: everything CI checks beyond `cargo test`.
//!
//! Runs every step even after one fails, so one CI run shows every problem.

use std::path::{Path, PathBuf};

use anyhow::Context as _;

use crate::api::{Api, ApiFiles};
use crate::{codegen, drift, lint, package, pins};

/// One step's outcome.
#[derive(Debug)]
pub struct Step {
    pub name: &'static str,
    pub ok: bool,
    /// What to show: problems, or a notice.
    pub output: String,
}

/// Runs every step under `root`; see [`Step`]. Never stops early.
///
/// Every input is in the repository (the reference document included), so nothing is
/// skipped: a missing input fails its step, on a developer's machine as in CI.
pub fn run(root: &Path) -> Vec<Step> {
    vec![
        step("codegen --check", || codegen_step(root)),
        step("spec lint", || lint_step_of(root, Api::V1)),
        step("pending snapshots", || snapshot_step(root)),
        step("drift against the reference document", || {
            drift_step_of(root, Api::V1)
        }),
        step("pip locks fit the pinned requirements", || pins_step(root)),
        step("product spec lint", || lint_step_of(root, Api::Product)),
        step("product drift against its reference document", || {
            drift_step_of(root, Api::Product)
        }),
        step("packages carry the workspace's specs and LICENSE", || {
            package_step(root)
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

fn package_step(root: &Path) -> anyhow::Result<(bool, String)> {
    let mismatches = package::check(root)?;
    Ok(if mismatches.is_empty() {
        (true, String::new())
    } else {
        (false, package::report(&mismatches))
    })
}

fn pins_step(root: &Path) -> anyhow::Result<(bool, String)> {
    let problems = pins::check(root)?;
    let output = problems.iter().map(|p| format!("{p}\n")).collect();
    Ok((problems.is_empty(), output))
}

fn lint_step_of(root: &Path, api: Api) -> anyhow::Result<(bool, String)> {
    let errors = lint::run_api(root, api)?;
    let output = errors
        .iter()
        .map(|error| format!("{}: {error}\n", api.spec_path()))
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

fn drift_step_of(root: &Path, api: Api) -> anyhow::Result<(bool, String)> {
    let (source, doc) = drift::load_reference_of(root, api)?;
    let report = drift::run_api(root, api, &source, &doc)?;
    Ok(if report.ok() {
        (true, String::new())
    } else {
        (false, drift::render_table(&report, false))
    })
}
