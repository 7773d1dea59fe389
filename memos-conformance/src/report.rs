//! The report of a run and its three renderings: a text table for people, JSON for
//! tools (its JSON Schema is generated from these types), and JUnit XML for CI.

use std::fmt::Write as _;

use schemars::JsonSchema;
use serde::Serialize;

use crate::check::{shorten, CheckKind};
use crate::exchange::AuthScheme;

/// The whole report of a run.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Report {
    /// `memos-conformance <version>`.
    pub tool: String,
    /// What was tested and how.
    pub target: Target,
    /// Every case that was selected, in run order.
    pub cases: Vec<CaseReport>,
    /// The counts and the verdict.
    pub summary: Summary,
    /// Run-level notes: what could not be cleaned up, why the run stopped early.
    pub notes: Vec<String>,
}

/// Where the suite ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// The embedded mock, replaying the recorded snapshots.
    Mock,
    /// A live server.
    Live,
}

/// What was tested and with which permissions.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Target {
    /// Mock or live.
    pub mode: Mode,
    /// The server's base URL (the mock's description in mock mode).
    pub base_url: String,
    /// `info.title info.version` from the server's `/openapi.json`, when it has one.
    pub server_version: Option<String>,
    /// The key of the known-defect list applied, if any.
    pub defect_list: Option<String>,
    /// The prefix of every user and cube id the run created.
    pub run_prefix: String,
    /// The auth scheme sent (never the token).
    pub auth: Option<AuthScheme>,
    /// `--allow-configure` was given.
    pub allow_configure: bool,
    /// `--destructive` was given.
    pub destructive: bool,
    /// How many `--cube-path` directories were given.
    pub cube_paths: usize,
    /// `--doc-path` was given.
    pub doc_path: bool,
    /// `--configure-body` was given.
    pub configure_body: bool,
}

/// The result of a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Every expectation and every check held.
    Pass,
    /// Something did not hold; fails the run.
    Fail,
    /// Failed as the known-defect list says this server version does; does not fail the run.
    KnownDefect,
    /// Listed as a known defect but passed: the list can shrink. Does not fail the run.
    DefectFixed,
    /// A security finding; does not fail the run.
    Warning,
    /// Needs something the run was not given (a flag, a directory).
    Skipped,
    /// Does not apply to this server (e.g. auth probes on a server without auth).
    NotApplicable,
}

impl Outcome {
    /// The label in the text table.
    pub fn label(self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::Fail => "FAIL",
            Outcome::KnownDefect => "known defect",
            Outcome::DefectFixed => "defect fixed",
            Outcome::Warning => "WARNING",
            Outcome::Skipped => "skipped",
            Outcome::NotApplicable => "n/a",
        }
    }
}

/// A security finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Finding {
    /// What was found, in a few words.
    pub title: String,
    /// The risk, in one line.
    pub risk: String,
    /// The fix, in one line.
    pub fix: String,
    /// What the probe saw.
    pub evidence: String,
}

/// A check that failed on one exchange.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct FailedCheck {
    /// The exchange's step.
    pub step: usize,
    /// `POST /memories` etc.
    pub request: String,
    /// The kind of check.
    pub kind: CheckKind,
    /// What was found.
    pub detail: String,
}

/// One exchange, briefly.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ExchangeSummary {
    /// 1-based position in the case.
    pub step: usize,
    /// What it was for.
    pub label: String,
    /// `POST /memories` etc.
    pub request: String,
    /// The status, if the server answered.
    pub status: Option<u16>,
    /// How long it took, in milliseconds.
    pub duration_ms: u64,
    /// Sent while cleaning up.
    pub cleanup: bool,
    /// How many checks ran and how many failed.
    pub checks_run: usize,
    /// How many of them failed.
    pub checks_failed: usize,
}

/// The report of one case.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct CaseReport {
    /// Stable name, `<group>.<what>`.
    pub name: String,
    /// The endpoint (operationId) or theme the case belongs to.
    pub group: String,
    /// One line saying what the case checks.
    pub purpose: String,
    /// The result.
    pub outcome: Outcome,
    /// Why, for anything but a pass.
    pub reason: Option<String>,
    /// Wall time, in milliseconds.
    pub duration_ms: u64,
    /// The security finding, for warnings.
    pub finding: Option<Finding>,
    /// The known-defect entry's description of the real server's behaviour.
    pub known_defect: Option<String>,
    /// Every check that failed, on any exchange.
    pub failed_checks: Vec<FailedCheck>,
    /// Problems while cleaning up (do not change the outcome).
    pub cleanup_problems: Vec<String>,
    /// The exchanges, briefly.
    pub exchanges: Vec<ExchangeSummary>,
}

/// The counts and the verdict.
#[derive(Debug, Clone, Default, Serialize, JsonSchema)]
pub struct Summary {
    /// Cases selected.
    pub total: usize,
    /// Passed.
    pub passed: usize,
    /// Failed (these fail the run).
    pub failed: usize,
    /// Failed as listed known defects.
    pub known_defects: usize,
    /// Listed known defects that passed.
    pub fixed_defects: usize,
    /// Security findings.
    pub warnings: usize,
    /// Skipped for want of a flag or directory.
    pub skipped: usize,
    /// Not applicable to this server.
    pub not_applicable: usize,
    /// Checks run on exchanges.
    pub checks_run: usize,
    /// Checks that failed.
    pub checks_failed: usize,
    /// Wall time of the run, in milliseconds.
    pub duration_ms: u64,
    /// True when no case failed other than a listed known defect (exit code 0).
    pub success: bool,
}

impl Summary {
    /// Counts the outcomes of `cases`.
    pub fn of(cases: &[CaseReport], duration_ms: u64) -> Summary {
        let count = |o: Outcome| cases.iter().filter(|c| c.outcome == o).count();
        let failed = count(Outcome::Fail);
        Summary {
            total: cases.len(),
            passed: count(Outcome::Pass),
            failed,
            known_defects: count(Outcome::KnownDefect),
            fixed_defects: count(Outcome::DefectFixed),
            warnings: count(Outcome::Warning),
            skipped: count(Outcome::Skipped),
            not_applicable: count(Outcome::NotApplicable),
            checks_run: cases
                .iter()
                .flat_map(|c| &c.exchanges)
                .map(|e| e.checks_run)
                .sum(),
            checks_failed: cases
                .iter()
                .flat_map(|c| &c.exchanges)
                .map(|e| e.checks_failed)
                .sum(),
            duration_ms,
            success: failed == 0,
        }
    }

    /// The one-line summary.
    pub fn line(&self) -> String {
        let mut line = format!(
            "{} cases: {} passed, {} failed, {} known defects, {} warnings, {} skipped, {} not applicable",
            self.total,
            self.passed,
            self.failed,
            self.known_defects,
            self.warnings,
            self.skipped,
            self.not_applicable
        );
        if self.fixed_defects > 0 {
            let _ = write!(line, ", {} known defects fixed", self.fixed_defects);
        }
        let _ = write!(
            line,
            "; {} checks on exchanges, {} failed; {} — {}",
            self.checks_run,
            self.checks_failed,
            crate::check::duration_text(std::time::Duration::from_millis(self.duration_ms)),
            if self.success { "PASS" } else { "FAIL" }
        );
        line
    }
}

/// The output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A table for people.
    Text,
    /// The report as JSON.
    Json,
    /// JUnit XML for CI.
    Junit,
}

impl Report {
    /// Renders the report.
    pub fn render(&self, format: Format) -> String {
        match format {
            Format::Text => self.to_text(),
            Format::Json => serde_json::to_string_pretty(self).unwrap_or_default() + "\n",
            Format::Junit => self.to_junit(),
        }
    }

    /// The text table: case, result, time, reason; then details and the summary line.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let t = &self.target;
        let _ = match t.mode {
            Mode::Mock => writeln!(
                out,
                "memos-conformance against the embedded mock (replaying the snapshots recorded from the reference server)"
            ),
            Mode::Live => writeln!(out, "memos-conformance against {}", t.base_url),
        };
        let _ = writeln!(
            out,
            "server version: {}; known-defect list: {}",
            t.server_version.as_deref().unwrap_or("unknown"),
            t.defect_list.as_deref().unwrap_or("none")
        );
        let _ = writeln!(
            out,
            "run prefix: {}; auth: {}; --allow-configure: {}; --destructive: {}; cube paths: {}; doc path: {}",
            t.run_prefix,
            t.auth.map_or("none", AuthScheme::word),
            yes_no(t.allow_configure),
            yes_no(t.destructive),
            t.cube_paths,
            yes_no(t.doc_path)
        );
        out.push('\n');
        let width = self
            .cases
            .iter()
            .map(|c| c.name.chars().count())
            .max()
            .unwrap_or(4)
            .max(4);
        let _ = writeln!(
            out,
            "{:<width$}  {:<12}  {:>8}  REASON",
            "CASE", "RESULT", "TIME"
        );
        for case in &self.cases {
            let reason = match (&case.finding, &case.reason) {
                (Some(f), _) => f.title.clone(),
                (None, Some(r)) => shorten(r, 150),
                (None, None) => String::new(),
            };
            let _ = writeln!(
                out,
                "{:<width$}  {:<12}  {:>8}  {}",
                case.name,
                case.outcome.label(),
                crate::check::duration_text(std::time::Duration::from_millis(case.duration_ms)),
                reason
            );
        }
        let is_not_run = |c: &CaseReport| {
            c.reason
                .as_deref()
                .is_some_and(|r| r.starts_with("not run:"))
        };
        let failures: Vec<&CaseReport> = self
            .cases
            .iter()
            .filter(|c| c.outcome == Outcome::Fail && !is_not_run(c))
            .collect();
        let not_run = self.cases.iter().filter(|c| is_not_run(c)).count();
        if !failures.is_empty() || not_run > 0 {
            out.push_str("\nFailures:\n");
            if not_run > 0 {
                let _ = writeln!(out, "  {not_run} cases were not run (see the notes below)");
            }
            for case in failures {
                let _ = writeln!(out, "  {} — {}", case.name, case.purpose);
                if let Some(r) = &case.reason {
                    let _ = writeln!(out, "      {}", shorten(r, 400));
                }
                for check in case.failed_checks.iter().take(4) {
                    let _ = writeln!(
                        out,
                        "      step {} {}: {}: {}",
                        check.step,
                        check.request,
                        check.kind.name(),
                        shorten(&check.detail, 300)
                    );
                }
            }
        }
        let findings: Vec<&CaseReport> =
            self.cases.iter().filter(|c| c.finding.is_some()).collect();
        if !findings.is_empty() {
            out.push_str("\nSecurity findings (warnings, not failures):\n");
            for case in findings {
                if let Some(f) = &case.finding {
                    let _ = writeln!(out, "  {}: {}", case.name, f.title);
                    let _ = writeln!(out, "      risk: {}", f.risk);
                    let _ = writeln!(out, "      fix:  {}", f.fix);
                }
            }
        }
        let fixed: Vec<&CaseReport> = self
            .cases
            .iter()
            .filter(|c| c.outcome == Outcome::DefectFixed)
            .collect();
        if !fixed.is_empty() {
            out.push_str("\nKnown defects that no longer reproduce (remove them from the list):\n");
            for case in fixed {
                let _ = writeln!(
                    out,
                    "  {}: listed as \"{}\"",
                    case.name,
                    case.known_defect.as_deref().unwrap_or_default()
                );
            }
        }
        let cleanup: Vec<String> = self
            .cases
            .iter()
            .flat_map(|c| {
                c.cleanup_problems
                    .iter()
                    .map(move |p| format!("{}: {p}", c.name))
            })
            .collect();
        if !cleanup.is_empty() || !self.notes.is_empty() {
            out.push_str("\nNotes:\n");
            for note in self.notes.iter().chain(cleanup.iter()) {
                let _ = writeln!(out, "  {}", shorten(note, 300));
            }
        }
        let _ = writeln!(out, "\n{}", self.summary.line());
        out
    }

    /// JUnit XML: one `testsuite` per group. Known defects, skipped and not-applicable
    /// cases are `<skipped>`; warnings pass with the finding in `<system-out>`.
    pub fn to_junit(&self) -> String {
        let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        let secs = |ms: u64| format!("{:.3}", ms as f64 / 1000.0);
        let skipped_like = |o: Outcome| {
            matches!(
                o,
                Outcome::KnownDefect | Outcome::Skipped | Outcome::NotApplicable
            )
        };
        let _ = writeln!(
            out,
            "<testsuites name=\"memos-conformance\" tests=\"{}\" failures=\"{}\" skipped=\"{}\" time=\"{}\">",
            self.summary.total,
            self.summary.failed,
            self.cases.iter().filter(|c| skipped_like(c.outcome)).count(),
            secs(self.summary.duration_ms)
        );
        let mut groups: Vec<&str> = Vec::new();
        for c in &self.cases {
            if !groups.contains(&c.group.as_str()) {
                groups.push(&c.group);
            }
        }
        for group in groups {
            let cases: Vec<&CaseReport> = self.cases.iter().filter(|c| c.group == group).collect();
            let _ = writeln!(
                out,
                "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" skipped=\"{}\" time=\"{}\">",
                xml(group),
                cases.len(),
                cases.iter().filter(|c| c.outcome == Outcome::Fail).count(),
                cases.iter().filter(|c| skipped_like(c.outcome)).count(),
                secs(cases.iter().map(|c| c.duration_ms).sum())
            );
            for case in cases {
                let _ = write!(
                    out,
                    "    <testcase name=\"{}\" classname=\"memos-conformance.{}\" time=\"{}\"",
                    xml(&case.name),
                    xml(group),
                    secs(case.duration_ms)
                );
                let reason = case.reason.clone().unwrap_or_default();
                let body = match case.outcome {
                    Outcome::Pass => None,
                    Outcome::Fail => {
                        let mut detail = format!("{}\n{reason}\n", case.purpose);
                        for c in &case.failed_checks {
                            let _ = writeln!(detail, "step {} {}: {}: {}", c.step, c.request, c.kind.name(), c.detail);
                        }
                        Some(format!(
                            "      <failure message=\"{}\" type=\"conformance\">{}</failure>\n",
                            xml(&shorten(&reason, 300)),
                            xml(&detail)
                        ))
                    }
                    Outcome::KnownDefect => Some(format!(
                        "      <skipped message=\"known defect: {}\"/>\n      <system-out>{}</system-out>\n",
                        xml(case.known_defect.as_deref().unwrap_or_default()),
                        xml(&reason)
                    )),
                    Outcome::Skipped | Outcome::NotApplicable => Some(format!(
                        "      <skipped message=\"{}: {}\"/>\n",
                        case.outcome.label(),
                        xml(&reason)
                    )),
                    Outcome::DefectFixed => Some(format!(
                        "      <system-out>{}</system-out>\n",
                        xml(&format!(
                            "listed as a known defect ({}) but passes now: remove it from the list",
                            case.known_defect.as_deref().unwrap_or_default()
                        ))
                    )),
                    Outcome::Warning => case.finding.as_ref().map(|f| {
                        format!(
                            "      <system-out>{}</system-out>\n",
                            xml(&format!(
                                "WARNING: {}\nrisk: {}\nfix: {}\nevidence: {}",
                                f.title, f.risk, f.fix, f.evidence
                            ))
                        )
                    }),
                };
                match body {
                    Some(b) => {
                        out.push_str(">\n");
                        out.push_str(&b);
                        out.push_str("    </testcase>\n");
                    }
                    None => out.push_str("/>\n"),
                }
            }
            out.push_str("  </testsuite>\n");
        }
        out.push_str("</testsuites>\n");
        out
    }
}

fn yes_no(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

/// Escapes text for XML attributes and content; drops characters XML 1.0 forbids.
pub fn xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(ch),
            c if (c as u32) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_json_report_has_a_schema() {
        let schema = serde_json::to_value(schemars::schema_for!(Report)).expect("schema");
        let text = schema.to_string();
        for name in [
            "summary",
            "cases",
            "failed_checks",
            "known_defect",
            "body_matches_schema",
            "defect_fixed",
        ] {
            assert!(text.contains(name), "the schema lacks {name}");
        }
    }

    #[test]
    fn xml_is_escaped() {
        assert_eq!(xml("a<b>&\"c'\u{1}"), "a&lt;b&gt;&amp;&quot;c&apos;");
    }
}
