//! `cargo xtask lint-external`: the specs (v1, then product) read by the tools other people
//! use, pinned.
//!
//! * redocly's recommended ruleset (`npx --yes @redocly/cli@<pin> lint`): fails on any error;
//!   warnings are printed and allowed;
//! * PyYAML (YAML 1.1, what most Python tools load YAML with) must load the spec, and to the
//!   same document as serde_yaml_ng (YAML 1.2), which progenitor and the conformance suite use.
//!
//! Not part of `cargo xtask check`, which stays offline and Rust-only: this one needs Node
//! (npx) and Python, and the first run fetches redocly into the npm cache and installs PyYAML
//! into `target/pyyaml-venv`. The offline lint (`lint.rs`) covers the same classes by rule;
//! this is the ground truth it is held to.

use std::io::ErrorKind;
use std::path::Path;
use std::process::Command;

use anyhow::Context as _;
use serde_json::Value;

use crate::check::{step, Step};

/// Whether an external tool that is not installed fails the run or is skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missing {
    /// CI: everything must run.
    Fail,
    /// A developer's machine: say so and go on.
    Skip,
}

impl Missing {
    /// `Fail` under CI (see [`memos_refserver::testing::in_ci`]), `Skip` elsewhere.
    pub fn from_env() -> Missing {
        if memos_refserver::testing::in_ci() {
            Missing::Fail
        } else {
            Missing::Skip
        }
    }
}
use crate::api::{Api, ApiFiles};
use crate::pins::PYYAML;
use crate::util;

/// The redocly CLI, pinned so a new release cannot fail CI overnight.
pub const REDOCLY: &str = "@redocly/cli@2.77.0";

/// Loads the file named by argv[1] with PyYAML's safe loader and prints it as JSON (a value
/// JSON cannot hold, such as a YAML 1.1 timestamp, fails with its type).
const LOAD_SCRIPT: &str = "import json, sys, yaml\n\
with open(sys.argv[1], encoding='utf-8') as f:\n    doc = yaml.safe_load(f)\n\
json.dump(doc, sys.stdout)\n";

/// How many differing places are listed.
const MAX_DIFFERENCES: usize = 10;

/// Runs both checks on each spec under `root`; a tool that is not installed fails under
/// [`Missing::Fail`].
pub fn run(root: &Path, missing: Missing) -> Vec<Step> {
    let spec = Api::Product.spec_path();
    vec![
        step("redocly lint (recommended ruleset)", || {
            redocly(root, missing, Api::V1.spec_path())
        }),
        step("PyYAML loads the spec as serde_yaml_ng does", || {
            pyyaml(root, missing, Api::V1.spec_path())
        }),
        step(
            "redocly lint of the product spec (recommended ruleset)",
            || redocly(root, missing, spec),
        ),
        step(
            "PyYAML loads the product spec as serde_yaml_ng does",
            || pyyaml(root, missing, spec),
        ),
    ]
}

fn unavailable(missing: Missing, what: String) -> (bool, String) {
    match missing {
        Missing::Fail => (false, format!("{what} (CI=true: this is a failure)")),
        Missing::Skip => (true, format!("skipped: {what}")),
    }
}

fn redocly(root: &Path, missing: Missing, spec: &str) -> anyhow::Result<(bool, String)> {
    let output = Command::new("npx")
        .current_dir(root)
        .args(["--yes", REDOCLY, "lint", spec, "--format=stylish"])
        // No usage data leaves the machine, and no update notice in the log.
        .env("REDOCLY_TELEMETRY", "off")
        .env("REDOCLY_SUPPRESS_UPDATE_NOTICE", "true")
        .env("NO_UPDATE_NOTIFIER", "1")
        .output();
    let output = match output {
        Ok(output) => output,
        Err(err) if err.kind() == ErrorKind::NotFound => {
            return Ok(unavailable(
                missing,
                "`npx` is not installed (Node.js 20.19 or later runs redocly)".to_owned(),
            ))
        }
        Err(err) => return Err(err).context("running npx"),
    };
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    Ok((output.status.success(), text))
}

fn pyyaml(root: &Path, missing: Missing, spec: &str) -> anyhow::Result<(bool, String)> {
    let spec_path = root.join(spec);
    let ours = util::parse_yaml_or_json(&util::read_text(&spec_path)?)?;
    let venv_dir = root.join("target").join("pyyaml-venv");
    let venv = match memos_refserver::ensure_venv_with(&venv_dir, None, &PYYAML) {
        Ok(report) => report.venv,
        Err(err) => {
            return Ok(unavailable(
                missing,
                format!(
                    "PyYAML could not be installed into {}: {err}",
                    venv_dir.display()
                ),
            ))
        }
    };
    let output = Command::new(venv.python())
        .arg("-c")
        .arg(LOAD_SCRIPT)
        .arg(&spec_path)
        .output()
        .context("running the venv's python")?;
    if !output.status.success() {
        // The traceback's last lines hold the error and where it is.
        let stderr = String::from_utf8_lossy(&output.stderr);
        let lines: Vec<&str> = stderr.trim_end().lines().collect();
        let tail = lines[lines.len().saturating_sub(5)..].join("\n");
        return Ok((false, format!("PyYAML cannot load {spec}:\n{tail}")));
    }
    let theirs: Value =
        serde_json::from_slice(&output.stdout).context("reading PyYAML's document as JSON")?;
    let mut differences = Vec::new();
    differ(&ours, &theirs, &mut String::new(), &mut differences);
    if differences.is_empty() {
        return Ok((true, String::new()));
    }
    let mut text = format!(
        "{spec} loads differently under PyYAML (YAML 1.1) and serde_yaml_ng (YAML 1.2); \
         quote the scalars at:\n"
    );
    for line in differences.iter().take(MAX_DIFFERENCES) {
        text.push_str(&format!("  {line}\n"));
    }
    if differences.len() > MAX_DIFFERENCES {
        text.push_str(&format!(
            "  ... and {} more\n",
            differences.len() - MAX_DIFFERENCES
        ));
    }
    Ok((false, text))
}

/// The JSON pointers where the two documents differ, with both values (shortened).
pub fn differ(ours: &Value, theirs: &Value, pointer: &mut String, out: &mut Vec<String>) {
    match (ours, theirs) {
        (Value::Object(a), Value::Object(b)) => {
            for key in a.keys().chain(b.keys().filter(|k| !a.contains_key(*k))) {
                let len = pointer.len();
                pointer.push('/');
                pointer.push_str(&key.replace('~', "~0").replace('/', "~1"));
                match (a.get(key), b.get(key)) {
                    (Some(x), Some(y)) => differ(x, y, pointer, out),
                    (x, y) => out.push(format!(
                        "{pointer}: serde_yaml_ng {}, PyYAML {}",
                        shown(x),
                        shown(y)
                    )),
                }
                pointer.truncate(len);
            }
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (index, (x, y)) in a.iter().zip(b).enumerate() {
                let len = pointer.len();
                pointer.push_str(&format!("/{index}"));
                differ(x, y, pointer, out);
                pointer.truncate(len);
            }
        }
        _ if same_scalar(ours, theirs) => {}
        _ => out.push(format!(
            "{}: serde_yaml_ng {}, PyYAML {}",
            if pointer.is_empty() { "/" } else { pointer },
            shown(Some(ours)),
            shown(Some(theirs))
        )),
    }
}

/// Equal, counting an integer and a float of the same value as equal (JSON does not tell
/// them apart, and neither loader's reading of `1.0` is wrong).
fn same_scalar(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x == y || x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

fn shown(value: Option<&Value>) -> String {
    match value {
        None => "(absent)".to_owned(),
        Some(value) => memos_text::one_line(&value.to_string(), 60),
    }
}
