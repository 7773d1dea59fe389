//! Runs the selected cases against a live server or the embedded mock, with timeouts
//! per request, per case and for the whole run, and turns what happened into the
//! report and the snapshots.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::cases::{self, Case, SERVER_VERSION_CASE};
use crate::check::shorten;
use crate::context::{namespace, CaseResult, CaseShared, Ctx, RunShared, Settings, Stop, Verdict};
use crate::defects::{self, DefectList};
use crate::exchange::{Credentials, SharedClient, Transport};
use crate::json::Json;
use crate::mock::MockReplay;
use crate::normalize::{cube_path_placeholder, Normaliser, DOC_PATH_PLACEHOLDER, MOCK_RUN_PREFIX};
use crate::recorder::{Exchange, Recorder};
use crate::report::{
    CaseReport, ExchangeSummary, FailedCheck, Mode, Outcome, Report, Summary,
    Target as ReportTarget,
};
use crate::snapshot::{CaseSnapshot, SnapshotSet};
use crate::spec::Spec;

/// The case whose recorded configure body the mock run sends.
const CONFIGURE_CASE: &str = "configure.applies_valid_config";
/// Consecutive cases whose first request got no answer before the run gives up.
const DEAD_SERVER_CASES: usize = 3;

/// What to run against.
#[derive(Debug, Clone)]
pub enum Target {
    /// The embedded mock, replaying these snapshots.
    Mock(SnapshotSet),
    /// A live server at this base URL.
    Live(String),
}

/// Everything a run needs.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Mock or live.
    pub target: Target,
    /// The credential to send (live only).
    pub credentials: Option<Credentials>,
    /// Server-side cube directories.
    pub cube_paths: Vec<String>,
    /// A server-side directory of documents.
    pub doc_path: Option<String>,
    /// The MOSConfig to apply in the configure cases.
    pub configure_body: Option<Value>,
    /// Allow the cases that call `/configure`.
    pub allow_configure: bool,
    /// Allow probes that change state outside the run's namespace.
    pub destructive: bool,
    /// `--case` patterns (any matches); empty selects every case.
    pub patterns: Vec<String>,
    /// Per-request timeout.
    pub request_timeout: Duration,
    /// Per-case timeout.
    pub case_timeout: Duration,
    /// Timeout of the whole run.
    pub run_timeout: Duration,
    /// The known-defect list key, instead of the one the server publishes.
    pub server_version: Option<String>,
    /// The run prefix, instead of a fresh one (live) or `conf-RUN` (mock).
    pub run_prefix: Option<String>,
}

impl RunOptions {
    /// The whole suite against the embedded mock.
    pub fn mock() -> RunOptions {
        RunOptions::new(Target::Mock(SnapshotSet::embedded()))
    }

    /// The whole suite against a live server, with the safe defaults.
    pub fn live(base_url: impl Into<String>) -> RunOptions {
        RunOptions::new(Target::Live(base_url.into()))
    }

    /// The whole suite against `target`, with the safe defaults.
    pub fn new(target: Target) -> RunOptions {
        RunOptions {
            target,
            credentials: None,
            cube_paths: Vec::new(),
            doc_path: None,
            configure_body: None,
            allow_configure: false,
            destructive: false,
            patterns: Vec::new(),
            request_timeout: Duration::from_secs(15),
            case_timeout: Duration::from_secs(60),
            run_timeout: Duration::from_secs(600),
            server_version: None,
            run_prefix: None,
        }
    }
}

/// The report and the snapshot of every case that ran.
#[derive(Debug, Clone)]
pub struct RunOutput {
    /// The report.
    pub report: Report,
    /// The normalised exchanges of each case (what record mode writes).
    pub snapshots: Vec<CaseSnapshot>,
}

/// The cases `patterns` select, with the server-version case always first.
pub fn select(patterns: &[String]) -> Vec<Case> {
    cases::all()
        .into_iter()
        .filter(|c| {
            c.name == SERVER_VERSION_CASE
                || patterns.is_empty()
                || patterns.iter().any(|p| cases::matches(p, c.name))
        })
        .collect()
}

/// Runs the suite.
pub async fn run(options: RunOptions) -> RunOutput {
    let started = Instant::now();
    let deadline = started + options.run_timeout;
    let selected = select(&options.patterns);
    let (mode, base_url) = match &options.target {
        Target::Mock(_) => (Mode::Mock, "embedded mock".to_owned()),
        Target::Live(url) => (Mode::Live, url.trim_end_matches('/').to_owned()),
    };
    let run_prefix = options.run_prefix.clone().unwrap_or_else(|| match mode {
        Mode::Mock => MOCK_RUN_PREFIX.to_owned(),
        Mode::Live => format!("conf-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]),
    });
    let settings = Arc::new(match &options.target {
        Target::Mock(snapshots) => mock_settings(&run_prefix, snapshots),
        Target::Live(_) => Settings {
            run_prefix: run_prefix.clone(),
            cube_paths: options.cube_paths.clone(),
            doc_path: options.doc_path.clone(),
            configure_body: options.configure_body.clone(),
            allow_configure: options.allow_configure,
            destructive: options.destructive,
            mock: false,
        },
    });
    let credentials = match mode {
        Mode::Mock => None,
        Mode::Live => options.credentials.clone(),
    };
    let mut target = ReportTarget {
        mode,
        base_url: base_url.clone(),
        server_version: None,
        defect_list: None,
        run_prefix: run_prefix.clone(),
        auth: credentials.as_ref().map(|c| c.scheme),
        allow_configure: settings.allow_configure,
        destructive: settings.destructive,
        cube_paths: settings.cube_paths.len(),
        doc_path: settings.doc_path.is_some(),
        configure_body: settings.configure_body.is_some(),
    };
    let mut notes = Vec::new();
    let spec = match Spec::embedded() {
        Ok(spec) => spec,
        Err(e) => {
            let reason = format!("the embedded OpenAPI document cannot be used: {e}");
            let cases: Vec<CaseReport> = selected.iter().map(|c| not_run(c, &reason)).collect();
            notes.push(reason);
            return finish(target, cases, Vec::new(), notes, started);
        }
    };
    let run_shared = Arc::new(RunShared::default());
    let mut defect_list: Option<&'static DefectList> = options
        .server_version
        .as_deref()
        .and_then(defects::list_for);
    if let Some(key) = &options.server_version {
        if defect_list.is_none() {
            notes.push(format!(
                "--server-version {key:?} has no known-defect list (known: {})",
                defects::LISTS
                    .iter()
                    .map(|l| l.key)
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
    }
    let live_client = match &options.target {
        Target::Live(url) => Transport::shared_client(url, options.request_timeout).ok(),
        Target::Mock(_) => None,
    };
    let mock_client = match &options.target {
        Target::Mock(_) => {
            Transport::shared_client("http://127.0.0.1", options.request_timeout).ok()
        }
        Target::Live(_) => None,
    };
    let runner = CaseRunner {
        options: &options,
        live_client,
        mock_client,
        spec,
        settings: settings.clone(),
        run_shared: run_shared.clone(),
        credentials,
        run_prefix: run_prefix.clone(),
    };
    let mut reports = Vec::new();
    let mut snapshots = Vec::new();
    let mut stopped: Option<String> = None;
    let mut unanswered_in_a_row = 0;
    for case in &selected {
        if let Some(reason) = &stopped {
            reports.push(not_run(case, reason));
            continue;
        }
        if Instant::now() >= deadline {
            let reason = format!(
                "the run's time limit of {} was reached (raise it with --run-timeout)",
                crate::check::duration_text(options.run_timeout)
            );
            notes.push(reason.clone());
            reports.push(not_run(case, &reason));
            stopped = Some(reason);
            continue;
        }
        let (raw, exchanges, duration) = runner.run_case(case, deadline).await;
        if case.name == SERVER_VERSION_CASE {
            let detected = run_shared
                .server_version
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone();
            target.server_version = detected.clone();
            if options.server_version.is_none() {
                defect_list = detected.as_deref().and_then(defects::list_for);
            }
            target.defect_list = defect_list.map(|l| l.key.to_owned());
        }
        let first_unanswered = exchanges
            .first()
            .and_then(|e| e.outcome.as_ref().err())
            .cloned();
        match &first_unanswered {
            Some(err) if mode == Mode::Live => {
                unanswered_in_a_row += 1;
                if case.name == SERVER_VERSION_CASE || unanswered_in_a_row >= DEAD_SERVER_CASES {
                    let reason = format!("the server at {base_url} does not answer ({err})");
                    notes.push(format!("{reason}; the remaining cases were not run"));
                    stopped = Some(reason);
                }
            }
            _ => unanswered_in_a_row = 0,
        }
        let (report, snapshot) = runner.conclude(case, raw, &exchanges, duration, defect_list);
        reports.push(report);
        snapshots.push(snapshot);
    }
    if mode == Mode::Live {
        let created = snapshots
            .iter()
            .flat_map(|s| &s.exchanges)
            .filter(|e| {
                e.request.method == "POST"
                    && e.request.path == "/users"
                    && e.response
                        .as_ref()
                        .is_some_and(|r| (200..300).contains(&r.status))
            })
            .count();
        if created > 0 {
            notes.push(format!(
                "users with ids starting {run_prefix}- remain on the server ({created} created): the API has no way to delete users; their cubes were unloaded"
            ));
        }
    }
    finish(target, reports, snapshots, notes, started)
}

fn finish(
    target: ReportTarget,
    cases: Vec<CaseReport>,
    snapshots: Vec<CaseSnapshot>,
    notes: Vec<String>,
    started: Instant,
) -> RunOutput {
    let duration_ms = started.elapsed().as_millis() as u64;
    RunOutput {
        report: Report {
            tool: concat!("memos-conformance ", env!("CARGO_PKG_VERSION")).to_owned(),
            target,
            summary: Summary::of(&cases, duration_ms),
            cases,
            notes,
        },
        snapshots,
    }
}

/// The mock run's settings: the placeholders the recording was normalised to, and
/// every permission (the snapshots were recorded with all of them).
fn mock_settings(run_prefix: &str, snapshots: &SnapshotSet) -> Settings {
    let configure_body = snapshots.get(CONFIGURE_CASE).ok().and_then(|s| {
        s.exchanges
            .iter()
            .find(|e| e.request.method == "POST" && e.request.path == "/configure")
            .and_then(|e| e.request.body.as_ref())
            .map(Json::to_value)
    });
    Settings {
        run_prefix: run_prefix.to_owned(),
        cube_paths: vec![cube_path_placeholder(0)],
        doc_path: Some(DOC_PATH_PLACEHOLDER.to_owned()),
        configure_body,
        allow_configure: true,
        destructive: true,
        mock: true,
    }
}

fn not_run(case: &Case, reason: &str) -> CaseReport {
    CaseReport {
        name: case.name.to_owned(),
        group: case.group.to_owned(),
        purpose: case.purpose.to_owned(),
        outcome: Outcome::Fail,
        reason: Some(format!("not run: {reason}")),
        duration_ms: 0,
        finding: None,
        known_defect: None,
        failed_checks: Vec::new(),
        cleanup_problems: Vec::new(),
        exchanges: Vec::new(),
    }
}

/// What a case concluded before checks and the defect list are applied.
enum Raw {
    Result(CaseResult),
    Crashed(String),
}

struct CaseRunner<'a> {
    options: &'a RunOptions,
    live_client: Option<SharedClient>,
    mock_client: Option<SharedClient>,
    spec: &'static Spec,
    settings: Arc<Settings>,
    run_shared: Arc<RunShared>,
    credentials: Option<Credentials>,
    run_prefix: String,
}

impl CaseRunner<'_> {
    async fn run_case(&self, case: &Case, deadline: Instant) -> (Raw, Vec<Exchange>, Duration) {
        let started = Instant::now();
        let mut _mock = None;
        let (base_url, replay) = match &self.options.target {
            Target::Live(url) => (url.clone(), None),
            Target::Mock(snapshots) => match snapshots.get(case.name) {
                Ok(snapshot) => match MockReplay::start(snapshot).await {
                    Ok(mock) => {
                        let url = mock.base_url();
                        _mock = Some(mock);
                        (url, Some(snapshot.exchanges.clone()))
                    }
                    Err(e) => {
                        return (
                            Raw::Crashed(format!("the mock cannot replay this case: {e}")),
                            Vec::new(),
                            started.elapsed(),
                        )
                    }
                },
                Err(e) => return (Raw::Crashed(e), Vec::new(), started.elapsed()),
            },
        };
        let shared_client = match &self.options.target {
            Target::Live(_) => self.live_client.clone(),
            // Every mock is on loopback.
            Target::Mock(_) => self.mock_client.clone(),
        };
        let transport = match Transport::with_client(
            &base_url,
            self.credentials.clone(),
            self.options.request_timeout,
            shared_client,
        ) {
            Ok(t) => t,
            Err(e) => return (Raw::Crashed(e), Vec::new(), started.elapsed()),
        };
        let namespace = namespace(&self.run_prefix, case.name);
        let normaliser = Normaliser::new(
            &self.run_prefix,
            &self.settings.cube_paths,
            self.settings.doc_path.as_deref(),
        );
        let recorder = Recorder::new(transport, self.spec, normaliser, replay, namespace);
        let shared = CaseShared::new(recorder);
        let ctx = Ctx::new(
            case.name,
            shared.clone(),
            self.run_shared.clone(),
            self.settings.clone(),
        );
        let budget = self
            .options
            .case_timeout
            .min(deadline.saturating_duration_since(Instant::now()));
        let run = case.run;
        let mut handle = tokio::spawn(async move {
            let mut ctx = ctx;
            run(&mut ctx).await
        });
        let raw = match tokio::time::timeout(budget, &mut handle).await {
            Ok(Ok(result)) => Raw::Result(result),
            Ok(Err(join)) => Raw::Crashed(format!("the case crashed: {}", panic_text(join))),
            Err(_) => {
                handle.abort();
                Raw::Crashed(format!(
                    "the case did not finish within {} (per-case limit --case-timeout, or what was left of --run-timeout)",
                    crate::check::duration_text(budget)
                ))
            }
        };
        let cleanup_budget = (self.options.request_timeout * 4).min(Duration::from_secs(60));
        if tokio::time::timeout(cleanup_budget, shared.cleanup())
            .await
            .is_err()
        {
            // Reported through the cleanup exchanges that did not finish.
        }
        (raw, shared.recorder.exchanges(), started.elapsed())
    }

    fn conclude(
        &self,
        case: &Case,
        raw: Raw,
        exchanges: &[Exchange],
        duration: Duration,
        defect_list: Option<&'static DefectList>,
    ) -> (CaseReport, CaseSnapshot) {
        let failed_checks: Vec<FailedCheck> = exchanges
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
            .collect();
        let cleanup_problems: Vec<String> = exchanges
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
                            crate::check::describe_outcome(&e.outcome)
                        } else {
                            failed.join("; ")
                        }
                    )),
                }
            })
            .collect();
        let (mut outcome, mut reason, finding) = match raw {
            Raw::Crashed(m) => (Outcome::Fail, Some(m), None),
            Raw::Result(Err(Stop::Fail(m))) => (Outcome::Fail, Some(m), None),
            Raw::Result(Err(Stop::Skip(m))) => (Outcome::Skipped, Some(m), None),
            Raw::Result(Err(Stop::NotApplicable(m))) => (Outcome::NotApplicable, Some(m), None),
            Raw::Result(Ok(Verdict::Pass)) => (Outcome::Pass, None, None),
            Raw::Result(Ok(Verdict::Warning(f))) => {
                (Outcome::Warning, Some(f.evidence.clone()), Some(f))
            }
        };
        if outcome != Outcome::Fail {
            if let Some(first) = failed_checks.first() {
                let more = if failed_checks.len() > 1 {
                    format!(" (and {} more failed checks)", failed_checks.len() - 1)
                } else {
                    String::new()
                };
                reason = Some(format!(
                    "step {} {}: {}: {}{more}",
                    first.step,
                    first.request,
                    first.kind.name(),
                    first.detail
                ));
                outcome = Outcome::Fail;
            }
        }
        let verdict_label = match outcome {
            Outcome::Pass => "pass",
            Outcome::Warning => "warning",
            Outcome::Skipped => "skipped",
            Outcome::NotApplicable => "not applicable",
            _ => "fail",
        };
        let snapshot = CaseSnapshot {
            case: case.name.to_owned(),
            purpose: case.purpose.to_owned(),
            verdict: verdict_label.to_owned(),
            exchanges: exchanges.iter().map(|e| e.snap.clone()).collect(),
        };
        let defect = defect_list.and_then(|l| l.get(case.name));
        let mut known_defect = None;
        if let Some(d) = defect {
            known_defect = Some(d.behaviour.to_owned());
            match outcome {
                Outcome::Fail => {
                    let mut text = reason.clone().unwrap_or_default();
                    for c in &failed_checks {
                        text.push('\n');
                        text.push_str(&c.detail);
                    }
                    if d.matches(&text) {
                        outcome = Outcome::KnownDefect;
                    } else {
                        reason = Some(format!(
                            "{} — listed as a known defect (\"{}\") but it failed differently",
                            reason.unwrap_or_default(),
                            d.behaviour
                        ));
                    }
                }
                Outcome::Pass => {
                    outcome = Outcome::DefectFixed;
                    reason = Some(format!(
                        "passes, but is listed as a known defect of this server version (\"{}\"): remove it from the list",
                        d.behaviour
                    ));
                }
                _ => {}
            }
        }
        let report = CaseReport {
            name: case.name.to_owned(),
            group: case.group.to_owned(),
            purpose: case.purpose.to_owned(),
            outcome,
            reason: reason.map(|r| shorten(&r, 2000)),
            duration_ms: duration.as_millis() as u64,
            finding,
            known_defect,
            failed_checks,
            cleanup_problems,
            exchanges: exchanges
                .iter()
                .map(|e| ExchangeSummary {
                    step: e.step,
                    label: e.label.clone(),
                    request: e.name(),
                    status: e.status(),
                    duration_ms: e.elapsed.as_millis() as u64,
                    cleanup: e.cleanup,
                    checks_run: e.checks.len(),
                    checks_failed: e.checks.iter().filter(|c| !c.passed).count(),
                })
                .collect(),
        };
        (report, snapshot)
    }
}

fn panic_text(join: tokio::task::JoinError) -> String {
    if join.is_cancelled() {
        return "it was cancelled".into();
    }
    match join.try_into_panic() {
        Ok(payload) => payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic without a message".into()),
        Err(e) => e.to_string(),
    }
}
