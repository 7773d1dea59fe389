//! The report model: what a run found, as the JSON report serialises it (its JSON
//! Schema is generated from these types).

use std::fmt::Write as _;

use memos_api::AuthScheme;
use schemars::JsonSchema;
use serde::Serialize;

use crate::api::Api;
use crate::backend::Backend;
use crate::check::CheckKind;
use crate::exchange::human_duration;

use super::outcome::Outcome;

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
    /// Patches the server says it runs with that its upstream does not ship (listed under
    /// `info.x-memos-reference-server-patches` of its `/openapi.json`, as
    /// `memos-reference-server --pgvector-caster` does). A known defect such a patch hides
    /// shows as fixed: the server is not the one the defect list describes.
    pub server_patches: Vec<String>,
    /// The key of the known-defect list applied, if any.
    pub defect_list: Option<String>,
    /// The API the server speaks, whose spec and cases the run used.
    pub api: Api,
    /// How the run learned the API (`--api`, the server's `/openapi.json`, or assumed).
    pub api_learned: String,
    /// The server's storage backend, whose entries of the known-defect list apply.
    pub backend: Option<Backend>,
    /// How the run learned the backend (`--backend`, the mock's set, detected from an
    /// answer, or assumed).
    pub backend_learned: Option<String>,
    /// How the run kept its cases apart in the storage of the `--cube-path` directories.
    pub isolation: Option<String>,
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

impl FailedCheck {
    /// Where and which check: `step 2 POST /users: status_documented`; the reports
    /// follow it with `: ` and the detail, cut or not.
    pub(crate) fn at(&self) -> String {
        format!("step {} {}: {}", self.step, self.request, self.kind.name())
    }
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
    /// Why, for anything but a pass (for a case not run: why the run stopped).
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
    /// Not run because the run stopped early (its time limit, Ctrl-C, a server that
    /// stopped answering, storage that is not the run's own); these fail the run too.
    pub not_run: usize,
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
    /// True when every case ran and none failed other than a listed known defect (exit
    /// code 0).
    pub success: bool,
}

impl Summary {
    /// Counts the outcomes of `cases`.
    pub(crate) fn of(cases: &[CaseReport], duration_ms: u64) -> Summary {
        let count = |o: Outcome| cases.iter().filter(|c| c.outcome == o).count();
        let failed = count(Outcome::Fail);
        let not_run = count(Outcome::NotRun);
        Summary {
            total: cases.len(),
            passed: count(Outcome::Pass),
            failed,
            not_run,
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
            success: failed == 0 && not_run == 0,
        }
    }

    /// The one-line summary.
    pub fn line(&self) -> String {
        let mut line = format!(
            "{} cases: {} passed, {} failed, ",
            self.total, self.passed, self.failed
        );
        if self.not_run > 0 {
            let _ = write!(line, "{} not run, ", self.not_run);
        }
        let _ = write!(
            line,
            "{} known defects, {} warnings, {} skipped, {} not applicable",
            self.known_defects, self.warnings, self.skipped, self.not_applicable
        );
        if self.fixed_defects > 0 {
            let _ = write!(line, ", {} known defects fixed", self.fixed_defects);
        }
        let _ = write!(
            line,
            "; {} checks on exchanges, {} failed; {} — {}",
            self.checks_run,
            self.checks_failed,
            human_duration(std::time::Duration::from_millis(self.duration_ms)),
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
