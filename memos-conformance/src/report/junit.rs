//! The JUnit XML report for CI, written with `quick-junit`: one `testsuite` per group.
//! Failed cases carry a `<failure>` with every failed check; known defects, skipped,
//! not-applicable and not-run cases are `<skipped>` (each suite also says how many in a
//! `skipped` attribute); warnings and fixed defects pass, with the finding or the note in
//! `<system-out>`. A run that stopped before its last case has one more suite, `run`,
//! whose one case fails with why: a CI that reads only the JUnit file sees the run fail,
//! as the exit code says, even when no case that ran failed.

use std::fmt::Write as _;
use std::time::Duration;

use memos_text::one_line;
use quick_junit::{NonSuccessKind, Property, TestCase, TestCaseStatus, TestSuite, XmlString};

use super::model::{CaseReport, Report};
use super::outcome::{JunitKind, Outcome};

/// The JUnit document.
pub(super) fn render(report: &Report) -> String {
    let mut junit = quick_junit::Report::new("memos-conformance");
    junit.set_time(Duration::from_millis(report.summary.duration_ms));
    for group in groups(&report.cases) {
        let cases: Vec<&CaseReport> = report.cases.iter().filter(|c| c.group == group).collect();
        let mut suite = suite(group, &cases);
        target_properties(&mut suite, report);
        junit.add_test_suite(suite);
    }
    if let Some(mut suite) = stopped_run(report) {
        target_properties(&mut suite, report);
        junit.add_test_suite(suite);
    }
    junit.to_string().unwrap_or_else(|e| {
        // Writing into memory fails only on a bug in the writer; say so in the file CI
        // reads rather than leave it empty.
        format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!-- the JUnit report could not be written: {e} -->\n")
    })
}

/// What was tested, as each suite's properties (JUnit has no report-level ones).
fn target_properties(suite: &mut TestSuite, report: &Report) {
    let t = &report.target;
    let pairs = [
        ("server_version", t.server_version.clone()),
        ("defect_list", t.defect_list.clone()),
        (
            "server_patches",
            (!t.server_patches.is_empty()).then(|| t.server_patches.join(",")),
        ),
        ("api", Some(t.api.as_str().to_owned())),
        ("api_learned", Some(t.api_learned.clone())),
        ("backend", t.backend.map(|b| b.as_str().to_owned())),
        ("backend_learned", t.backend_learned.clone()),
        ("isolation", t.isolation.clone()),
    ];
    for (name, value) in pairs {
        if let Some(value) = value {
            suite.add_property(Property::new(name, value));
        }
    }
}

/// The suite that fails a run that stopped before its last case, or `None` when every
/// selected case ran.
fn stopped_run(report: &Report) -> Option<TestSuite> {
    let not_run = report.summary.not_run;
    if not_run == 0 {
        return None;
    }
    // Each case not run carries why the run stopped; the first says it for all.
    let why = report
        .cases
        .iter()
        .find(|c| c.outcome == Outcome::NotRun)
        .and_then(|c| c.reason.as_deref())
        .unwrap_or("the run stopped early");
    let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
    status
        .set_message(one_line(
            &format!(
                "the run stopped early, {not_run} of {} cases not run: {why}",
                report.summary.total
            ),
            300,
        ))
        .set_type("stopped")
        .set_description(format!("{why}\n{}\n", report.notes.join("\n")));
    let mut test = TestCase::new("run.completed", status);
    test.set_classname("memos-conformance.run");
    let mut suite = TestSuite::new("run");
    suite.add_test_case(test);
    Some(suite)
}

/// The groups in order of first appearance.
fn groups(cases: &[CaseReport]) -> Vec<&str> {
    let mut groups: Vec<&str> = Vec::new();
    for c in cases {
        if !groups.contains(&c.group.as_str()) {
            groups.push(&c.group);
        }
    }
    groups
}

fn suite(group: &str, cases: &[&CaseReport]) -> TestSuite {
    let mut suite = TestSuite::new(group);
    suite.set_time(Duration::from_millis(
        cases.iter().map(|c| c.duration_ms).sum(),
    ));
    let skipped = cases
        .iter()
        .filter(|c| c.outcome.junit() == JunitKind::Skipped)
        .count();
    suite.extra.insert(
        XmlString::new("skipped"),
        XmlString::new(skipped.to_string()),
    );
    for case in cases {
        suite.add_test_case(test_case(group, case));
    }
    suite
}

fn test_case(group: &str, case: &CaseReport) -> TestCase {
    let reason = case.reason.as_deref().unwrap_or_default();
    let mut test = TestCase::new(case.name.as_str(), status(case, reason));
    test.set_classname(format!("memos-conformance.{group}"));
    test.set_time(Duration::from_millis(case.duration_ms));
    if let Some(out) = system_out(case, reason) {
        test.set_system_out(out);
    }
    test
}

fn status(case: &CaseReport, reason: &str) -> TestCaseStatus {
    match case.outcome.junit() {
        JunitKind::Success => TestCaseStatus::success(),
        JunitKind::Failure => {
            let mut detail = format!("{}\n{reason}\n", case.purpose);
            for c in &case.failed_checks {
                let _ = writeln!(detail, "{}: {}", c.at(), c.detail);
            }
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
            status
                .set_message(one_line(reason, 300))
                .set_type("conformance")
                .set_description(detail);
            status
        }
        JunitKind::Skipped => {
            // A known defect is explained by its list entry; the run's reason goes to
            // system-out.
            let why = match case.outcome {
                Outcome::KnownDefect => case.known_defect.as_deref().unwrap_or_default(),
                _ => reason,
            };
            let mut status = TestCaseStatus::skipped();
            status.set_message(format!("{}: {why}", case.outcome.label()));
            status
        }
    }
}

fn system_out(case: &CaseReport, reason: &str) -> Option<String> {
    match case.outcome {
        Outcome::KnownDefect => Some(reason.to_owned()),
        Outcome::DefectFixed => Some(format!(
            "listed as a known defect ({}) but passes now: remove it from the list",
            case.known_defect.as_deref().unwrap_or_default()
        )),
        Outcome::Warning => case.finding.as_ref().map(|f| {
            format!(
                "WARNING: {}\nrisk: {}\nfix: {}\nevidence: {}",
                f.title, f.risk, f.fix, f.evidence
            )
        }),
        Outcome::Pass
        | Outcome::Fail
        | Outcome::Skipped
        | Outcome::NotApplicable
        | Outcome::NotRun => None,
    }
}
