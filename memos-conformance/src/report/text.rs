//! The text report for people: what ran against what, one table row per case, then
//! the failures, security findings, fixed defects and notes in detail, and the summary
//! line.
//!
//! It goes to a terminal, and much of it is the server's text (its version, messages,
//! bodies): every value is written with its control characters escaped ([`shown`]), so
//! a server cannot drive the terminal of the person reading it.

use std::fmt::Write as _;
use std::time::Duration;

use memos_api::AuthScheme;
use memos_text::{escape_controls, one_line};

use super::model::{CaseReport, Finding, Mode, Report};
use super::outcome::Outcome;
use crate::exchange::human_duration;

/// The whole text report.
pub(super) fn render(report: &Report) -> String {
    let mut out = String::new();
    header(&mut out, report);
    table(&mut out, &report.cases);
    failures(&mut out, &report.cases);
    findings(&mut out, &report.cases);
    fixed_defects(&mut out, &report.cases);
    notes(&mut out, report);
    let _ = writeln!(out, "\n{}", report.summary.line());
    out
}

/// What was tested, with which version, list and permissions.
fn header(out: &mut String, report: &Report) {
    let t = &report.target;
    let _ = match t.mode {
        Mode::Mock => writeln!(
            out,
            "memos-conformance against the embedded mock (replaying the snapshots recorded from the reference server)"
        ),
        Mode::Live => writeln!(out, "memos-conformance against {}", shown(&t.base_url)),
    };
    let _ = writeln!(
        out,
        "server version: {}; known-defect list: {}",
        shown(t.server_version.as_deref().unwrap_or("unknown")),
        shown(t.defect_list.as_deref().unwrap_or("none"))
    );
    if !t.server_patches.is_empty() {
        let _ = writeln!(
            out,
            "server patches: {} (not the server as its upstream ships it: a known defect a \
             patch hides shows as fixed)",
            shown(&t.server_patches.join(", "))
        );
    }
    let _ = writeln!(out, "API: {} ({})", t.api, shown(&t.api_learned));
    if let Some(backend) = t.backend {
        let _ = writeln!(
            out,
            "backend: {backend} ({})",
            shown(t.backend_learned.as_deref().unwrap_or_default())
        );
    }
    if let Some(isolation) = &t.isolation {
        let _ = writeln!(out, "isolation: {}", shown(isolation));
    }
    let _ = writeln!(
        out,
        "run prefix: {}; auth: {}; --allow-configure: {}; --destructive: {}; cube paths: {}; doc path: {}",
        shown(&t.run_prefix),
        t.auth.map_or("none", AuthScheme::word),
        yes_no(t.allow_configure),
        yes_no(t.destructive),
        t.cube_paths,
        yes_no(t.doc_path)
    );
    out.push('\n');
}

/// One row per case: name, result, time, reason.
fn table(out: &mut String, cases: &[CaseReport]) {
    let width = cases
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
    for case in cases {
        let reason = match (&case.finding, &case.reason) {
            (Some(f), _) => shown(&f.title).into_owned(),
            (None, Some(r)) => shown_line(r, 150),
            (None, None) => String::new(),
        };
        let _ = writeln!(
            out,
            "{:<width$}  {:<12}  {:>8}  {}",
            shown(&case.name),
            case.outcome.label(),
            human_duration(Duration::from_millis(case.duration_ms)),
            reason
        );
    }
}

/// The failed cases with their first failed checks; cases not run are only counted
/// (the notes say why).
fn failures(out: &mut String, cases: &[CaseReport]) {
    let failed: Vec<&CaseReport> = cases
        .iter()
        .filter(|c| c.outcome == Outcome::Fail)
        .collect();
    let not_run = cases
        .iter()
        .filter(|c| c.outcome == Outcome::NotRun)
        .count();
    if failed.is_empty() && not_run == 0 {
        return;
    }
    out.push_str("\nFailures:\n");
    if not_run > 0 {
        let _ = writeln!(out, "  {not_run} cases were not run (see the notes below)");
    }
    for case in failed {
        let _ = writeln!(out, "  {} — {}", shown(&case.name), shown(&case.purpose));
        if let Some(r) = &case.reason {
            let _ = writeln!(out, "      {}", shown_line(r, 400));
        }
        for check in case.failed_checks.iter().take(4) {
            let _ = writeln!(
                out,
                "      {}: {}",
                shown(&check.at()),
                shown_line(&check.detail, 300)
            );
        }
    }
}

/// Security findings with their risk and fix.
fn findings(out: &mut String, cases: &[CaseReport]) {
    let found: Vec<(&str, &Finding)> = cases
        .iter()
        .filter_map(|c| c.finding.as_ref().map(|f| (c.name.as_str(), f)))
        .collect();
    if found.is_empty() {
        return;
    }
    out.push_str("\nSecurity findings (warnings, not failures):\n");
    for (name, f) in found {
        let _ = writeln!(out, "  {}: {}", shown(name), shown(&f.title));
        let _ = writeln!(out, "      risk: {}", shown(&f.risk));
        let _ = writeln!(out, "      fix:  {}", shown(&f.fix));
    }
}

/// Listed known defects that passed: the list can shrink.
fn fixed_defects(out: &mut String, cases: &[CaseReport]) {
    let fixed: Vec<&CaseReport> = cases
        .iter()
        .filter(|c| c.outcome == Outcome::DefectFixed)
        .collect();
    if fixed.is_empty() {
        return;
    }
    out.push_str("\nKnown defects that no longer reproduce (remove them from the list):\n");
    for case in fixed {
        let _ = writeln!(
            out,
            "  {}: listed as \"{}\"",
            shown(&case.name),
            shown(case.known_defect.as_deref().unwrap_or_default())
        );
    }
}

/// The run's notes, then every case's cleanup problems.
fn notes(out: &mut String, report: &Report) {
    let cleanup: Vec<String> = report
        .cases
        .iter()
        .flat_map(|c| {
            c.cleanup_problems
                .iter()
                .map(move |p| format!("{}: {p}", c.name))
        })
        .collect();
    if cleanup.is_empty() && report.notes.is_empty() {
        return;
    }
    out.push_str("\nNotes:\n");
    for note in report.notes.iter().chain(cleanup.iter()) {
        let _ = writeln!(out, "  {}", shown_line(note, 300));
    }
}

/// `text` with its control characters escaped.
fn shown(text: &str) -> std::borrow::Cow<'_, str> {
    escape_controls(text)
}

/// `text` on one line of at most `max` characters (whitespace folded first, so a
/// newline stays a space), then with its control characters escaped.
fn shown_line(text: &str, max: usize) -> String {
    escape_controls(&one_line(text, max)).into_owned()
}

fn yes_no(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}
