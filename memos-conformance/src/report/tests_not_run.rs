//! A run that stopped early: the case that stopped it is a failure, the cases it did not
//! get to are "not run" in every rendering (not a failure), and the run still fails.

use super::{CaseReport, Format, Mode, Outcome, Report, Summary, Target};
use crate::api::Api;

const STOP: &str = "--cube-path /srv/cubes/prod is not empty scratch storage";

fn case(name: &str, outcome: Outcome, reason: &str) -> CaseReport {
    CaseReport {
        name: name.to_owned(),
        group: name.split('.').next().unwrap_or_default().to_owned(),
        purpose: format!("what {name} checks"),
        outcome,
        reason: Some(reason.to_owned()),
        duration_ms: 0,
        finding: None,
        known_defect: None,
        failed_checks: Vec::new(),
        cleanup_problems: Vec::new(),
        exchanges: Vec::new(),
    }
}

fn stopped_report() -> Report {
    let cases = vec![
        case("add_memories.content_is_listed", Outcome::Fail, STOP),
        case(
            "delete_memory.deleted_memory_is_gone",
            Outcome::NotRun,
            STOP,
        ),
        case("update_memory.update_reads_back", Outcome::NotRun, STOP),
    ];
    Report {
        tool: "memos-conformance test".to_owned(),
        target: Target {
            mode: Mode::Live,
            base_url: "http://127.0.0.1:8000".to_owned(),
            server_version: None,
            server_patches: Vec::new(),
            defect_list: None,
            api: Api::V1,
            api_learned: "assumed".to_owned(),
            backend: None,
            backend_learned: None,
            isolation: None,
            run_prefix: "conf-00000000".to_owned(),
            auth: None,
            allow_configure: false,
            destructive: false,
            cube_paths: 1,
            doc_path: false,
            configure_body: false,
        },
        summary: Summary::of(&cases, 0),
        cases,
        notes: vec![STOP.to_owned()],
    }
}

#[test]
fn the_summary_counts_cases_not_run_apart_and_fails_the_run() {
    let summary = stopped_report().summary;
    assert_eq!((summary.failed, summary.not_run), (1, 2));
    assert!(!summary.success);
    let line = summary.line();
    assert!(
        line.starts_with("3 cases: 0 passed, 1 failed, 2 not run, "),
        "{line}"
    );
    assert!(line.ends_with("FAIL"), "{line}");
}

#[test]
fn only_cases_not_run_fail_the_run_too() {
    let cases = vec![case("chat.answers_query", Outcome::NotRun, "interrupted")];
    let summary = Summary::of(&cases, 0);
    assert_eq!((summary.failed, summary.not_run), (0, 1));
    assert!(!summary.success, "{}", summary.line());
}

#[test]
fn the_text_table_says_not_run_and_lists_no_failure_for_them() {
    let text = stopped_report().render(Format::Text);
    let row = |name: &str| {
        text.lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_default()
            .to_owned()
    };
    let not_run = row("delete_memory.deleted_memory_is_gone");
    assert!(not_run.contains("  not run  "), "{text}");
    assert!(!not_run.contains("FAIL"), "{text}");
    // The reason is why the run stopped, with no prefix in front of it.
    assert!(not_run.ends_with(STOP), "{not_run}");
    assert!(
        row("add_memories.content_is_listed").contains("  FAIL  "),
        "{text}"
    );
    assert!(
        text.contains("2 cases were not run (see the notes below)"),
        "{text}"
    );
    assert!(
        !text.contains("  delete_memory.deleted_memory_is_gone — "),
        "{text}"
    );
}

#[test]
fn the_json_report_says_not_run() {
    let json: serde_json::Value =
        serde_json::from_str(&stopped_report().render(Format::Json)).expect("JSON report");
    let outcomes: Vec<&str> = json["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .filter_map(|c| c["outcome"].as_str())
        .collect();
    assert_eq!(outcomes, ["fail", "not_run", "not_run"]);
    assert_eq!(json["cases"][1]["reason"], STOP);
    assert_eq!(json["summary"]["failed"], 1);
    assert_eq!(json["summary"]["not_run"], 2);
    assert_eq!(json["summary"]["success"], false);
}

#[test]
fn junit_skips_the_cases_not_run_and_fails_the_case_and_the_run_that_stopped() {
    let junit = stopped_report().render(Format::Junit);
    let skipped = format!(r#"<skipped message="not run: {STOP}"/>"#);
    assert_eq!(junit.matches(&skipped).count(), 2, "{junit}");
    // The case that stopped the run, and the run itself.
    assert_eq!(junit.matches("<failure").count(), 2, "{junit}");
    assert!(junit.contains(r#"failures="2""#), "{junit}");
    assert!(
        junit.contains(&format!(
            r#"<failure message="the run stopped early, 2 of 3 cases not run: {STOP}" type="stopped">"#
        )),
        "{junit}"
    );
}

#[test]
fn junit_of_a_run_stopped_with_no_failed_case_still_fails() {
    // Ctrl-C or the time limit: no case failed, but the run did not finish.
    let mut report = stopped_report();
    report.cases[0].outcome = Outcome::Pass;
    report.summary = Summary::of(&report.cases, 0);
    let junit = report.render(Format::Junit);
    assert!(junit.contains(r#"failures="1""#), "{junit}");
    assert!(
        junit.contains(r#"<testcase name="run.completed""#),
        "{junit}"
    );
}

#[test]
fn junit_of_a_complete_run_has_no_run_suite() {
    let mut report = stopped_report();
    for case in &mut report.cases {
        case.outcome = Outcome::Pass;
    }
    report.summary = Summary::of(&report.cases, 0);
    let junit = report.render(Format::Junit);
    assert!(!junit.contains("run.completed"), "{junit}");
    assert!(!junit.contains("<failure"), "{junit}");
}
