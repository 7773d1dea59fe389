//! From what a case did to its report row and its snapshot: the failed checks, the
//! cleanup problems, the outcome (a failed check fails a case that otherwise ended
//! well), and then the known-defect list.

use std::time::Duration;

use memos_text::one_line;

use crate::backend::Backend;
use crate::cases::Case;
use crate::check::describe_outcome;
use crate::context::{CaseResult, Stop, Verdict};
use crate::defects::{DefectList, KnownDefect};
use crate::recorder::Exchange;
use crate::report::{CaseReport, ExchangeSummary, FailedCheck, Finding, Outcome};
use crate::snapshot::CaseSnapshot;

/// The longest reason kept in the report.
const MAX_REASON_CHARS: usize = 2000;

/// What a case concluded before checks and the defect list are applied.
pub(super) enum Raw {
    Result(CaseResult),
    Crashed(String),
}

/// What the case did, as the runner saw it.
pub(super) struct Ran {
    pub(super) raw: Raw,
    pub(super) exchanges: Vec<Exchange>,
    pub(super) duration: Duration,
}

/// The report row and the snapshot of a case that ran.
pub(super) fn conclude(
    case: &Case,
    ran: Ran,
    defect_list: Option<&'static DefectList>,
    backend: Backend,
) -> (CaseReport, CaseSnapshot) {
    let exchanges = &ran.exchanges;
    let failed_checks = failed_checks(exchanges);
    let (outcome, reason, finding) = checked(first_conclusion(ran.raw), &failed_checks);
    let snapshot = CaseSnapshot {
        case: case.name.to_owned(),
        purpose: case.purpose.to_owned(),
        verdict: outcome.verdict().to_owned(),
        exchanges: exchanges.iter().map(|e| e.snap.clone()).collect(),
    };
    let defect = defect_list.and_then(|l| l.get(case.name, backend));
    let (outcome, reason) = match defect {
        Some(d) => apply_defect(d, outcome, reason, &failed_checks),
        None => (outcome, reason),
    };
    let report = CaseReport {
        name: case.name.to_owned(),
        group: case.group.to_owned(),
        purpose: case.purpose.to_owned(),
        outcome,
        reason: reason.map(|r| one_line(&r, MAX_REASON_CHARS)),
        duration_ms: millis(ran.duration),
        finding,
        known_defect: defect.map(|d| d.behaviour.to_owned()),
        failed_checks,
        cleanup_problems: cleanup_problems(exchanges),
        exchanges: exchanges.iter().map(summary).collect(),
    };
    (report, snapshot)
}

/// Every check that failed on the case's own exchanges (not cleanup).
fn failed_checks(exchanges: &[Exchange]) -> Vec<FailedCheck> {
    exchanges
        .iter()
        .filter(|e| !e.cleanup)
        .flat_map(|e| {
            e.checks.iter().filter(|c| !c.passed).map(|c| FailedCheck {
                step: e.step,
                request: e.name(),
                kind: c.kind,
                detail: c.detail.clone(),
            })
        })
        .collect()
}

/// Each cleanup exchange that did not succeed cleanly, in one line.
fn cleanup_problems(exchanges: &[Exchange]) -> Vec<String> {
    exchanges
        .iter()
        .filter(|e| e.cleanup)
        .filter_map(|e| {
            let failed: Vec<String> = e
                .checks
                .iter()
                .filter(|c| !c.passed)
                .map(|c| format!("{}: {}", c.kind.name(), c.detail))
                .collect();
            match e.status() {
                Some(s) if (200..300).contains(&s) && failed.is_empty() => None,
                _ => Some(format!(
                    "step {} {} ({}): {}",
                    e.step,
                    e.name(),
                    e.label,
                    if failed.is_empty() {
                        describe_outcome(&e.outcome)
                    } else {
                        failed.join("; ")
                    }
                )),
            }
        })
        .collect()
}

/// What the case itself said.
fn first_conclusion(raw: Raw) -> (Outcome, Option<String>, Option<Finding>) {
    match raw {
        Raw::Crashed(m) | Raw::Result(Err(Stop::Fail(m))) => (Outcome::Fail, Some(m), None),
        Raw::Result(Err(Stop::Skip(m))) => (Outcome::Skipped, Some(m), None),
        Raw::Result(Err(Stop::NotApplicable(m))) => (Outcome::NotApplicable, Some(m), None),
        Raw::Result(Ok(Verdict::Pass)) => (Outcome::Pass, None, None),
        Raw::Result(Ok(Verdict::Warning(f))) => {
            (Outcome::Warning, Some(f.evidence.clone()), Some(f))
        }
    }
}

/// A failed check fails a case that did not fail by itself, with the first failed
/// check as the reason.
fn checked(
    (outcome, reason, finding): (Outcome, Option<String>, Option<Finding>),
    failed_checks: &[FailedCheck],
) -> (Outcome, Option<String>, Option<Finding>) {
    let Some(first) = failed_checks.first().filter(|_| outcome != Outcome::Fail) else {
        return (outcome, reason, finding);
    };
    let more = if failed_checks.len() > 1 {
        format!(" (and {} more failed checks)", failed_checks.len() - 1)
    } else {
        String::new()
    };
    let reason = format!("{}: {}{more}", first.at(), first.detail);
    (Outcome::Fail, Some(reason), finding)
}

/// A listed defect turns a failure that matches it into a known defect, and a pass into
/// a fixed defect; a failure that does not match stays a failure and says so.
fn apply_defect(
    defect: &KnownDefect,
    outcome: Outcome,
    reason: Option<String>,
    failed_checks: &[FailedCheck],
) -> (Outcome, Option<String>) {
    match outcome {
        Outcome::Fail => {
            let mut text = reason.clone().unwrap_or_default();
            for c in failed_checks {
                text.push('\n');
                text.push_str(&c.detail);
            }
            if defect.matches(&text) {
                (Outcome::KnownDefect, reason)
            } else {
                let reason = format!(
                    "{} — listed as a known defect (\"{}\") but it failed differently",
                    reason.unwrap_or_default(),
                    defect.behaviour
                );
                (Outcome::Fail, Some(reason))
            }
        }
        Outcome::Pass => (
            Outcome::DefectFixed,
            Some(format!(
                "passes, but is listed as a known defect of this server version (\"{}\"): remove it from the list",
                defect.behaviour
            )),
        ),
        _ => (outcome, reason),
    }
}

fn summary(e: &Exchange) -> ExchangeSummary {
    ExchangeSummary {
        step: e.step,
        label: e.label.clone(),
        request: e.name(),
        status: e.status(),
        duration_ms: millis(e.elapsed),
        cleanup: e.cleanup,
        checks_run: e.checks.len(),
        checks_failed: e.checks.iter().filter(|c| !c.passed).count(),
    }
}

/// Milliseconds for the report; saturates instead of wrapping on absurd durations.
pub(super) fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
