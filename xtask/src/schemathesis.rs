//! `cargo xtask schemathesis [--api product]`: drives the real reference server from the
//! API's spec (`openapi/memos.yaml`, or `openapi/memos-product.yaml`) with schemathesis
//! (property-based, fixed seed) and checks that everything it finds is a server defect the
//! spec names.
//!
//! The run passes when schemathesis reports no undocumented status, no schema-valid request
//! rejected with 422 and no response outside its schema, and when each server error or
//! other finding matches an entry of the API's expected list
//! (`openapi/schemathesis-expected.yaml`, `openapi/schemathesis-expected-product.yaml`).
//! What each API's run leaves out, and why, is in [`target`].

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use memos_refserver::{Api, ReferenceServer};
use memos_text::one_line;
use serde::Deserialize;

use crate::pins::SCHEMATHESIS;

pub mod target;

/// Characters of a finding's message shown in the summary (the whole message is in the
/// JUnit report).
const MAX_MESSAGE: usize = 90;

/// Options of `cargo xtask schemathesis`.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Which API: `v1` (openapi/memos.yaml against the 2.0.10 server) or `product`
    /// (openapi/memos-product.yaml against the 2.0.33 `/product` server, as shipped).
    #[arg(long, default_value = "v1", value_parser = parse_api)]
    pub api: Api,
    /// The hypothesis seed; fixed so that runs are repeatable.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Examples generated per operation and phase.
    #[arg(long, default_value_t = 25)]
    pub max_examples: u32,
    /// Where to keep schemathesis' JUnit reports (default: a temp dir).
    #[arg(long)]
    pub report_dir: Option<PathBuf>,
}

fn parse_api(s: &str) -> Result<Api, String> {
    s.parse()
        .map_err(|e: memos_refserver::UnknownApi| e.to_string())
}

/// One finding of schemathesis, as its JUnit report states it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// `METHOD /path`.
    pub operation: String,
    /// The check code, e.g. `ST101`.
    pub check: String,
    /// The check's title, e.g. `Server error`.
    pub title: String,
    /// The response status, when one was received.
    pub status: Option<u16>,
    /// The envelope's `message` or the `detail` string, else the raw body; for a finding
    /// about a request that should have been refused (ST201), which part of the request was
    /// invalid (`in body - page_size: Incorrect type`), since the answer is a plain success.
    pub message: String,
}

/// One kind of finding the spec names as a server defect.
#[derive(Debug, Clone, Deserialize)]
pub struct Expected {
    /// The check code.
    pub check: String,
    /// `METHOD /path`, or `*` for any operation.
    pub operation: String,
    /// The status.
    pub status: u16,
    /// A regular expression over the message.
    pub message: String,
    /// Which defect of the spec this is.
    pub reason: String,
}

impl Expected {
    fn matches(&self, finding: &Finding, pattern: &regex::Regex) -> bool {
        self.check == finding.check
            && (self.operation == "*" || self.operation == finding.operation)
            && Some(self.status) == finding.status
            && pattern.is_match(&finding.message)
    }
}

/// Runs the whole thing: install, start, seed, run the phases, classify.
pub fn run(root: &Path, args: &Args) -> Result<()> {
    let target = target::target(args.api);
    let expected = load_expected(&root.join(target.expected))?;
    let started = Instant::now();
    let venv_dir = root.join("target").join("schemathesis-venv");
    let install = memos_refserver::ensure_venv_with(&venv_dir, None, &SCHEMATHESIS)
        .with_context(|| format!("installing schemathesis into {}", venv_dir.display()))?;
    println!(
        "schemathesis venv: {} ({:?}, {:.1} s)",
        venv_dir.display(),
        install.action,
        install.duration.as_secs_f64()
    );

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("building a tokio runtime")?;
    let server = runtime
        .block_on(ReferenceServer::start(target::start_options(args.api)))
        .context("starting the reference server")?;
    // v1's lines read as they always did; the product run names its API.
    let api_note = match args.api {
        Api::V1 => String::new(),
        api => format!(" ({api})"),
    };
    println!("reference server{api_note}: {}", server.base_url());
    let sandbox = runtime.block_on(target::seed(args.api, &server))?;

    let temp = tempfile::tempdir().context("creating a temp dir for the reports")?;
    let report_dir = args
        .report_dir
        .clone()
        .unwrap_or_else(|| temp.path().to_path_buf());
    std::fs::create_dir_all(&report_dir)
        .with_context(|| format!("creating {}", report_dir.display()))?;

    let mut findings = Vec::new();
    for (name, filters) in target.phases {
        let junit = report_dir.join(format!("{name}.xml"));
        let mut command = Command::new(venv_dir.join("bin").join("schemathesis"));
        command
            .current_dir(root)
            .args([
                "--config-file",
                target.config,
                "--no-color",
                "run",
                target.spec,
            ])
            .args(["--url", server.base_url()])
            .args(["--seed", &args.seed.to_string()])
            .args(["--max-examples", &args.max_examples.to_string()])
            .args(["--workers", "1", "--report", "junit", "--report-junit-path"])
            .arg(&junit)
            .args(*filters)
            // Keeps hypothesis' example database out of the tree.
            .env(
                "HYPOTHESIS_STORAGE_DIRECTORY",
                temp.path().join("hypothesis"),
            );
        if let Some(hooks) = target.hooks {
            command
                .env("SCHEMATHESIS_HOOKS", root.join(hooks))
                .env(target::SPEC_ENV, root.join(target.spec));
        }
        if let Some(sandbox) = &sandbox {
            command.env(target::SANDBOX_ENV, sandbox);
        }
        println!("\n== schemathesis: {name} ==");
        let status = command
            .status()
            .with_context(|| format!("running {:?}", command.get_program()))?;
        // 0: nothing found, 1: findings (classified below); anything else is a crash.
        if !matches!(status.code(), Some(0 | 1)) {
            bail!("schemathesis ({name}) failed to run: {status}");
        }
        let xml = std::fs::read_to_string(&junit)
            .with_context(|| format!("reading the JUnit report {}", junit.display()))?;
        findings.extend(parse_junit(&xml).with_context(|| format!("parsing {}", junit.display()))?);
    }
    drop(server);

    let verdict = classify(&findings, &expected)?;
    println!("\n{}", verdict.render());
    println!(
        "schemathesis run{api_note} took {:.0} s (seed {}, {} examples per operation and phase)",
        started.elapsed().as_secs_f64(),
        args.seed,
        args.max_examples
    );
    if verdict.unexpected.is_empty() {
        Ok(())
    } else {
        bail!(
            "schemathesis found {} finding(s) that no spec-named defect explains: fix the spec \
             or the client, or, if the server is at fault, name the defect in {} and add it \
             to {}",
            verdict.unexpected.len(),
            target.spec,
            target.expected
        )
    }
}

fn load_expected(path: &Path) -> Result<Vec<Expected>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let entries: Vec<Expected> = serde_yaml_ng::from_str(&text)
        .with_context(|| format!("{} is not a list of expected findings", path.display()))?;
    for entry in &entries {
        regex::Regex::new(&entry.message).with_context(|| {
            format!(
                "{}: bad message pattern {:?}",
                path.display(),
                entry.message
            )
        })?;
    }
    Ok(entries)
}

/// Reads the findings out of a schemathesis JUnit report.
pub fn parse_junit(xml: &str) -> Result<Vec<Finding>> {
    let doc = roxmltree::Document::parse(xml).context("not well-formed XML")?;
    let errors: usize = doc
        .descendants()
        .filter(|node| node.has_tag_name("testsuite"))
        .filter_map(|node| node.attribute("errors")?.parse::<usize>().ok())
        .sum();
    if errors > 0 {
        bail!("schemathesis reported {errors} error(s) (not findings): see the report");
    }
    let case_start = regex::Regex::new(r"(?m)^\d+\. Test Case ID: \S+$").expect("valid regex");
    let check_line = regex::Regex::new(r"(?m)^- (ST\d+) (.+)$").expect("valid regex");
    let status_only = regex::Regex::new(r"(?m)^\[(\d{3})\] ").expect("valid regex");
    let component_line =
        regex::Regex::new(r"(?m)^\s*Invalid component: (.+)$").expect("valid regex");
    let status_line = regex::Regex::new(r"(?m)^\[(\d{3})\] [^\n]*:\s*\n\s*\n?\s*`(.*)`\s*$")
        .expect("valid regex");
    let mut findings = Vec::new();
    for testcase in doc.descendants().filter(|n| n.has_tag_name("testcase")) {
        let operation = testcase.attribute("name").unwrap_or("?").to_owned();
        for failure in testcase.children().filter(|n| n.has_tag_name("failure")) {
            let text = failure.text().unwrap_or_default();
            let mut starts: Vec<usize> = case_start.find_iter(text).map(|m| m.start()).collect();
            starts.push(text.len());
            let bounds = starts.windows(2).map(|pair| (pair[0], pair[1]));
            for (start, end) in bounds {
                let block = &text[start..end];
                // A streamed body spans several lines and does not fit `status_line`; its
                // status still counts.
                let (status, body) = match status_line.captures(block) {
                    Some(found) => (found[1].parse().ok(), found[2].to_owned()),
                    None => match status_only.captures(block) {
                        Some(found) => (found[1].parse().ok(), String::new()),
                        None => (None, String::new()),
                    },
                };
                let message = match component_line.captures(block) {
                    Some(found) => found[1].trim().to_owned(),
                    None => message_of(&body),
                };
                for check in check_line.captures_iter(block) {
                    findings.push(Finding {
                        operation: operation.clone(),
                        check: check[1].to_owned(),
                        title: check[2].trim().to_owned(),
                        status,
                        message: message.clone(),
                    });
                }
            }
        }
    }
    Ok(findings)
}

/// The envelope's `message` or a `detail` string; otherwise the body as it is.
fn message_of(body: &str) -> String {
    match serde_json::from_str::<serde_json::Value>(body) {
        Ok(value) => value
            .get("message")
            .or_else(|| value.get("detail"))
            .and_then(|m| m.as_str())
            .map_or_else(|| body.to_owned(), str::to_owned),
        Err(_) => body.to_owned(),
    }
}

/// Which findings are named defects, which are not, and which defects were not seen.
#[derive(Debug, Default)]
pub struct Verdict {
    /// Findings explained by an expected entry, with its reason.
    pub explained: Vec<(Finding, String)>,
    /// Findings no entry explains: each fails the run.
    pub unexpected: Vec<Finding>,
    /// Entries that matched nothing this run.
    pub unseen: Vec<Expected>,
}

/// Sorts findings against the expected list.
pub fn classify(findings: &[Finding], expected: &[Expected]) -> Result<Verdict> {
    let patterns = expected
        .iter()
        .map(|entry| regex::Regex::new(&entry.message))
        .collect::<Result<Vec<_>, _>>()
        .context("bad message pattern")?;
    let mut seen = vec![false; expected.len()];
    let mut verdict = Verdict::default();
    for finding in findings {
        let hit = expected
            .iter()
            .zip(&patterns)
            .position(|(entry, pattern)| entry.matches(finding, pattern));
        match hit {
            Some(index) => {
                seen[index] = true;
                verdict
                    .explained
                    .push((finding.clone(), expected[index].reason.clone()));
            }
            None => verdict.unexpected.push(finding.clone()),
        }
    }
    verdict.unseen = expected
        .iter()
        .zip(seen)
        .filter(|(_, seen)| !seen)
        .map(|(entry, _)| entry.clone())
        .collect();
    Ok(verdict)
}

impl Verdict {
    /// A plain-text summary for the terminal and the CI log.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let status = |s: Option<u16>| s.map_or_else(|| "-".to_owned(), |s| s.to_string());
        let _ = writeln!(out, "Findings explained by defects the spec names:");
        for (finding, reason) in &self.explained {
            let _ = writeln!(
                out,
                "  {} {} [{}] {}: {}",
                finding.check,
                finding.operation,
                status(finding.status),
                one_line(&finding.message, MAX_MESSAGE),
                reason
            );
        }
        if self.explained.is_empty() {
            let _ = writeln!(out, "  (none)");
        }
        let _ = writeln!(out, "Findings no named defect explains:");
        for finding in &self.unexpected {
            let _ = writeln!(
                out,
                "  {} {} ({}) [{}] {}",
                finding.check,
                finding.operation,
                finding.title,
                status(finding.status),
                one_line(&finding.message, MAX_MESSAGE)
            );
        }
        if self.unexpected.is_empty() {
            let _ = writeln!(out, "  (none)");
        }
        if !self.unseen.is_empty() {
            let _ = writeln!(
                out,
                "Named defects not seen this run (fixed on the server, or not reached):"
            );
            for entry in &self.unseen {
                let _ = writeln!(
                    out,
                    "  {} {} [{}]: {}",
                    entry.check, entry.operation, entry.status, entry.reason
                );
            }
        }
        let _ = write!(
            out,
            "{} explained, {} unexpected",
            self.explained.len(),
            self.unexpected.len()
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const REPORT: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<testsuites errors="0" failures="2" skipped="0" tests="3" time="1.0">
  <testsuite name="schemathesis" hostname="vm" errors="0" failures="2" skipped="0" tests="3" time="1.0">
    <testcase name="PUT /memories/{mem_cube_id}/{memory_id}" time="0.1">
      <failure type="failure" message="ST101">1. Test Case ID: Eg1juQ

- ST101 Server error

[500] Internal Server Error:

    `{"code":500,"message":"NaiveTextMemory.update() got an unexpected keyword argument 'memories'","data":null}`

Reproduce with:

    curl -X PUT http://127.0.0.1:1/memories/notes/x

2. Test Case ID: Zz9Yy8

- ST101 Server error
- ST002 Undocumented HTTP status code

[502] Bad Gateway:

    `oops`

Reproduce with:

    curl -X PUT http://127.0.0.1:1/memories/notes/y</failure>
    </testcase>
    <testcase name="GET /users" time="0.1" />
  </testsuite>
</testsuites>"#;

    fn expected() -> Vec<Expected> {
        vec![Expected {
            check: "ST101".into(),
            operation: "PUT /memories/{mem_cube_id}/{memory_id}".into(),
            status: 500,
            message: "^NaiveTextMemory.update\\(\\) got an unexpected keyword argument".into(),
            reason: "update_memory defect".into(),
        }]
    }

    #[test]
    fn junit_failures_become_findings_with_status_and_message() {
        let findings = parse_junit(REPORT).unwrap();
        assert_eq!(findings.len(), 3);
        assert_eq!(findings[0].check, "ST101");
        assert_eq!(findings[0].status, Some(500));
        assert_eq!(
            findings[0].message,
            "NaiveTextMemory.update() got an unexpected keyword argument 'memories'"
        );
        assert_eq!(findings[1].status, Some(502));
        assert_eq!(findings[2].check, "ST002");
        assert_eq!(findings[2].message, "oops");
    }

    #[test]
    fn an_accepted_invalid_request_is_named_by_its_invalid_component() {
        let xml = r#"<testsuites errors="0"><testsuite errors="0">
    <testcase name="POST /product/add">
      <failure type="failure" message="ST201">1. Test Case ID: hHcnT7

- ST201 Schema-violating request accepted

    Invalid data should have been rejected
    Expected: 400, 401, 403, 404, 405, 406, 409, 415, 422, 428, 429, 5xx
    Invalid component: in body - is_upload_skill: Incorrect type

[200] OK:

    `{"code":200,"message":"Memory added successfully","data":[]}`

Reproduce with:

    curl -X POST http://127.0.0.1:1/product/add</failure>
    </testcase>
  </testsuite>
</testsuites>"#;
        let findings = parse_junit(xml).unwrap();
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].check, "ST201");
        assert_eq!(findings[0].status, Some(200));
        assert_eq!(
            findings[0].message,
            "in body - is_upload_skill: Incorrect type"
        );
    }

    #[test]
    fn a_streamed_answer_keeps_its_status() {
        let xml = r#"<testsuites errors="0"><testsuite errors="0">
    <testcase name="POST /product/chat/stream">
      <failure type="failure" message="ST201">1. Test Case ID: rMoo4U

- ST201 Schema-violating request accepted

    Invalid component: in body - moscube: Incorrect type

[200] OK:

    `data: {"type": "text", "data": "Hi"}
    `

Reproduce with:

    curl -X POST http://127.0.0.1:1/product/chat/stream</failure>
    </testcase>
  </testsuite>
</testsuites>"#;
        let findings = parse_junit(xml).unwrap();
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].status, Some(200));
        assert_eq!(findings[0].message, "in body - moscube: Incorrect type");
    }

    #[test]
    fn only_named_defects_are_explained() {
        let findings = parse_junit(REPORT).unwrap();
        let verdict = classify(&findings, &expected()).unwrap();
        assert_eq!(verdict.explained.len(), 1);
        assert_eq!(verdict.unexpected.len(), 2, "{}", verdict.render());
        assert!(verdict.unseen.is_empty());
    }

    #[test]
    fn a_named_defect_that_no_longer_shows_is_reported_as_unseen() {
        let verdict = classify(&[], &expected()).unwrap();
        assert_eq!(verdict.unseen.len(), 1);
        assert!(verdict.render().contains("not seen this run"));
    }

    #[test]
    fn a_long_message_is_shown_on_one_bounded_line() {
        let finding = Finding {
            operation: "POST /chat".into(),
            check: "ST101".into(),
            title: "Server error".into(),
            status: Some(500),
            message: format!("Traceback:\n{}", "x".repeat(200)),
        };
        let verdict = classify(&[finding], &[]).unwrap();
        let rendered = verdict.render();
        let line = rendered
            .lines()
            .find(|line| line.contains("POST /chat"))
            .unwrap();
        assert!(
            line.ends_with(&format!("Traceback: {}…", "x".repeat(78))),
            "{line}"
        );
    }

    #[test]
    fn a_report_with_errors_is_refused() {
        let xml = REPORT.replacen(
            "errors=\"0\" failures=\"2\" skipped",
            "errors=\"1\" failures=\"2\" skipped",
            2,
        );
        assert!(parse_junit(&xml).is_err());
    }

    #[test]
    fn the_checked_in_expected_list_parses() {
        let root = memos_refserver::workspace_root();
        for api in Api::ALL {
            let entries = load_expected(&root.join(target::target(api).expected)).unwrap();
            assert!(entries.iter().all(|e| !e.reason.is_empty()), "{api}");
        }
    }
}
