//! Runs the selected cases against a live server or the embedded mock, with timeouts
//! per request, per case and for the whole run, and turns what happened into the
//! report and the snapshots.
//!
//! [`run`] prepares the run, then [`Progress`] takes the cases one by one: it stops the
//! run at its time limit or when the server stops answering, learns the server version
//! (and so the known-defect list) from the first case, and collects the rows that
//! [`conclude`] makes of each case that [`case`] ran.

mod case;
mod conclude;
mod options;

use std::sync::Arc;
use std::time::Instant;

use memos_api::Auth;

use self::case::INTERRUPTED;
use crate::api::{Api, ApiSource};
use crate::backend::{Backend, BackendSource};
use crate::cases::{self, Case, SERVER_VERSION_CASE};
use crate::context::{RunShared, Settings};
use crate::defects::{self, DefectList};
use crate::exchange::human_duration;
use crate::json::Json;
use crate::normalize::{cube_path_placeholder, DOC_PATH_PLACEHOLDER, MOCK_RUN_PREFIX};
use crate::report::{CaseReport, Mode, Outcome, Report, Summary, Target as ReportTarget};
use crate::snapshot::{CaseSnapshot, SnapshotSet};
use crate::spec::Spec;
use case::CaseRunner;
use conclude::{conclude, millis};
pub use options::{RunOptions, RunOutput, Target};

/// The case whose recorded configure body the mock run sends.
const CONFIGURE_CASE: &str = "configure.applies_valid_config";
/// Why a run that was interrupted did not go on.
/// Consecutive cases whose first request got no answer before the run gives up.
const DEAD_SERVER_CASES: usize = 3;

/// The v1 cases `patterns` select, with the server-version case always first.
pub fn select(patterns: &[String]) -> Vec<Case> {
    select_for(Api::V1, patterns)
}

/// The cases of `api` that `patterns` select, with the server-version case always first.
pub fn select_for(api: Api, patterns: &[String]) -> Vec<Case> {
    cases::all_for(api)
        .into_iter()
        .filter(|c| {
            c.name == SERVER_VERSION_CASE
                || patterns.is_empty()
                || patterns.iter().any(|p| cases::matches(p, c.name))
        })
        .collect()
}

/// Runs the suite: the server-version case first, which tells the API (unless `--api`
/// did), then the selected cases of that API, checked against its spec.
///
/// ```no_run
/// use std::time::Duration;
///
/// use memos_conformance::{run, Format, RunOptions};
///
/// # async fn demo() {
/// // The cases of two operations against a live server, 30 s at most per case.
/// let options = RunOptions {
///     patterns: vec!["list_users.*".into(), "search_memories.*".into()],
///     case_timeout: Duration::from_secs(30),
///     ..RunOptions::live("http://127.0.0.1:8000")
/// };
/// let output = run(options).await;
/// print!("{}", output.report.render(Format::Text));
/// if output.report.summary.failed > 0 {
///     std::process::exit(1);
/// }
///
/// // Without a server: the embedded mock replays what the reference server answered.
/// let mock = run(RunOptions::mock()).await;
/// assert_eq!(mock.report.summary.failed, 0);
/// # }
/// ```
pub async fn run(options: RunOptions) -> RunOutput {
    let started = Instant::now();
    let deadline = started + options.run_timeout;
    let settings = Arc::new(settings(&options));
    // The mock was recorded without credentials and must be replayed without them.
    let auth = match options.target {
        Target::Mock(_) => None,
        Target::Live(_) => options.auth.clone(),
    };
    let mut progress = Progress::new(report_target(&options, &settings, auth.as_ref()));
    progress.notes.extend(options.cleartext_warning());
    // `/openapi.json`, which the first case reads, is in neither spec: any spec does.
    let first_api = options.api.unwrap_or_default();
    let spec = match Spec::embedded_for(first_api) {
        Ok(spec) => spec,
        Err(e) => {
            progress.give_up(
                &select_for(first_api, &options.patterns),
                format!("the embedded OpenAPI document of the {first_api} API cannot be used: {e}"),
            );
            return progress.finish(started);
        }
    };
    progress.use_requested_defect_list(options.server_version.as_deref());
    let known_backend = match options.target {
        Target::Mock(_) => Some((options.backend.unwrap_or_default(), BackendSource::Mock)),
        Target::Live(_) => options.backend.map(|b| (b, BackendSource::Option)),
    };
    progress.backend = known_backend.clone();
    let mut runner = CaseRunner {
        options: &options,
        client: CaseRunner::shared_client(&options),
        spec,
        settings,
        run_shared: Arc::new(RunShared::knowing(known_backend)),
        auth,
    };
    let mut selected = select_for(first_api, &options.patterns).into_iter();
    if let Some(first) = selected.next() {
        progress.next(&runner, &first, deadline).await;
    }
    let api = progress.learn_api(&options);
    let selected: Vec<Case> = if api == first_api {
        selected.collect()
    } else {
        select_for(api, &options.patterns)
            .into_iter()
            .filter(|c| c.name != SERVER_VERSION_CASE)
            .collect()
    };
    match Spec::embedded_for(api) {
        Ok(spec) => runner.spec = spec,
        Err(e) => {
            let reason =
                format!("the embedded OpenAPI document of the {api} API cannot be used: {e}");
            progress.notes.push(reason.clone());
            progress.stopped = Some(reason);
        }
    }
    for case in &selected {
        progress.next(&runner, case, deadline).await;
    }
    progress.note_remaining_users();
    progress.note_remaining_memories(&runner.run_shared, &runner.settings);
    progress.finish(started)
}

/// What the cases get: the mock's settings, or what the operator gave.
fn settings(options: &RunOptions) -> Settings {
    let run_prefix = options.run_prefix.clone();
    match &options.target {
        Target::Mock(snapshots) => mock_settings(
            &run_prefix.unwrap_or_else(|| MOCK_RUN_PREFIX.to_owned()),
            snapshots,
        ),
        Target::Live(_) => Settings {
            run_prefix: run_prefix.unwrap_or_else(|| {
                format!("conf-{}", &uuid::Uuid::new_v4().simple().to_string()[..8])
            }),
            cube_paths: options.cube_paths.clone(),
            doc_path: options.doc_path.clone(),
            configure_body: options.configure_body.clone(),
            allow_configure: options.allow_configure,
            destructive: options.destructive,
        },
    }
}

/// The mock run's settings: the placeholders the recording was normalised to, and the
/// permissions it was recorded with (every one, but `--allow-configure` only for a set
/// with a configure case).
fn mock_settings(run_prefix: &str, snapshots: &SnapshotSet) -> Settings {
    let configure_body = snapshots.get(CONFIGURE_CASE).ok().and_then(|s| {
        s.exchanges
            .iter()
            .find(|e| e.request.method == "POST" && e.request.path == "/configure")
            .and_then(|e| e.request.body.as_ref())
            .map(Json::to_value)
    });
    // As many placeholders as the recording used directories (it may have used several
    // to keep a case's cubes apart on shared storage).
    let rendered: Vec<String> = snapshots
        .names()
        .filter_map(|n| snapshots.get(n).ok())
        .map(|s| s.render())
        .collect();
    let used = |i: usize| {
        let placeholder = cube_path_placeholder(i);
        rendered.iter().any(|r| r.contains(&placeholder))
    };
    // None for the product set: its cases register no cube directory.
    let cube_paths = (0..).take_while(|&i| used(i)).count();
    Settings {
        run_prefix: run_prefix.to_owned(),
        cube_paths: (0..cube_paths).map(cube_path_placeholder).collect(),
        doc_path: Some(DOC_PATH_PLACEHOLDER.to_owned()),
        // Only a recording with a configure case was made with `--allow-configure`.
        allow_configure: configure_body.is_some(),
        configure_body,
        destructive: true,
    }
}

/// The report's account of what is tested and how, before the server version is known.
fn report_target(options: &RunOptions, settings: &Settings, auth: Option<&Auth>) -> ReportTarget {
    let (mode, base_url) = match &options.target {
        Target::Mock(_) => (Mode::Mock, "embedded mock".to_owned()),
        Target::Live(url) => (Mode::Live, url.trim_end_matches('/').to_owned()),
    };
    ReportTarget {
        mode,
        base_url,
        server_version: None,
        server_patches: Vec::new(),
        defect_list: None,
        api: Api::default(),
        api_learned: String::new(),
        backend: None,
        backend_learned: None,
        isolation: None,
        run_prefix: settings.run_prefix.clone(),
        auth: auth.map(Auth::scheme),
        allow_configure: settings.allow_configure,
        destructive: settings.destructive,
        cube_paths: settings.cube_paths.len(),
        doc_path: settings.doc_path.is_some(),
        configure_body: settings.configure_body.is_some(),
    }
}

/// The run so far: the report's rows, the snapshots, the notes, and whether (and why)
/// the remaining cases are not run.
struct Progress {
    target: ReportTarget,
    /// The known-defect list applied: the one asked for, else the server version's.
    defect_list: Option<&'static DefectList>,
    /// `--server-version` was given, so the server's own version does not choose the list.
    list_requested: bool,
    /// The backend, once known (it chooses the list's entries).
    backend: Option<(Backend, BackendSource)>,
    notes: Vec<String>,
    reports: Vec<CaseReport>,
    snapshots: Vec<CaseSnapshot>,
    stopped: Option<String>,
    unanswered_in_a_row: usize,
}

impl Progress {
    fn new(target: ReportTarget) -> Progress {
        Progress {
            target,
            defect_list: None,
            list_requested: false,
            backend: None,
            notes: Vec::new(),
            reports: Vec::new(),
            snapshots: Vec::new(),
            stopped: None,
            unanswered_in_a_row: 0,
        }
    }

    /// Applies the list `--server-version` names, with a note when there is none.
    fn use_requested_defect_list(&mut self, key: Option<&str>) {
        let Some(key) = key else {
            return;
        };
        self.list_requested = true;
        self.defect_list = defects::list_for(key);
        if self.defect_list.is_none() {
            self.notes.push(format!(
                "--server-version {key:?} has no known-defect list (known: {})",
                defects::LISTS
                    .iter()
                    .map(|l| l.key)
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
    }

    /// Runs the next case, or records that it was not run.
    async fn next(&mut self, runner: &CaseRunner<'_>, case: &Case, deadline: Instant) {
        if let Some(reason) = self.stop_reason(runner.options, deadline) {
            self.reports.push(not_run(case, &reason));
            return;
        }
        let ran = runner.run_case(case, deadline).await;
        self.watch_storage(&runner.run_shared);
        if case.name == SERVER_VERSION_CASE {
            self.learn_server_version(&runner.run_shared);
        }
        if self.backend.is_none() {
            // Learned during this case, so its own row already uses the backend's entries.
            self.backend = runner.run_shared.backend();
        }
        self.watch_for_silence(
            case,
            ran.exchanges.first().and_then(|e| e.outcome.as_ref().err()),
        );
        let backend = self.backend.as_ref().map(|(b, _)| *b).unwrap_or_default();
        let (report, snapshot) = conclude(case, ran, self.defect_list, backend);
        self.reports.push(report);
        self.snapshots.push(snapshot);
    }

    /// Why the remaining cases are not run, if they are not: an interrupt or the run's
    /// time limit (noted once, when reached), a server that stopped answering, or
    /// storage that is not the run's own.
    fn stop_reason(&mut self, options: &RunOptions, deadline: Instant) -> Option<String> {
        if self.stopped.is_none() && options.interrupted() {
            self.notes.push(format!(
                "{INTERRUPTED}: the running case was cleaned up and the remaining cases were not run"
            ));
            self.stopped = Some(INTERRUPTED.to_owned());
        }
        if self.stopped.is_none() && Instant::now() >= deadline {
            let reason = format!(
                "the run's time limit of {} was reached (raise it with --run-timeout)",
                human_duration(options.run_timeout)
            );
            self.notes.push(reason.clone());
            self.stopped = Some(reason);
        }
        self.stopped.clone()
    }

    /// Storage that is not the run's own stops the run: every later case is not run,
    /// so nothing more reaches the directory's storage.
    fn watch_storage(&mut self, run_shared: &RunShared) {
        if self.stopped.is_some() {
            return;
        }
        if let Some(message) = run_shared.storage_not_own() {
            self.notes.push(message.clone());
            self.stopped = Some(message);
        }
    }

    /// The version the server-version case read, and with it the known-defect list.
    fn learn_server_version(&mut self, run_shared: &RunShared) {
        let detected = run_shared
            .server_version
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        if !self.list_requested {
            self.defect_list = detected.as_deref().and_then(defects::list_for);
        }
        self.target.server_version = detected;
        self.target.server_patches = run_shared
            .server_patches
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        self.target.defect_list = self.defect_list.map(|l| l.key.to_owned());
    }

    /// A live server that does not answer the first request of the server-version
    /// case, or of several cases in a row, is taken to be down: the run stops.
    fn watch_for_silence(&mut self, case: &Case, first_unanswered: Option<&String>) {
        match first_unanswered {
            Some(err) if self.target.mode == Mode::Live => {
                self.unanswered_in_a_row += 1;
                if case.name == SERVER_VERSION_CASE || self.unanswered_in_a_row >= DEAD_SERVER_CASES
                {
                    let reason = format!(
                        "the server at {} does not answer ({err})",
                        self.target.base_url
                    );
                    self.notes
                        .push(format!("{reason}; the remaining cases were not run"));
                    self.stopped = Some(reason);
                }
            }
            _ => self.unanswered_in_a_row = 0,
        }
    }

    /// Every selected case is reported as not run, for `reason`.
    fn give_up(&mut self, selected: &[Case], reason: String) {
        self.reports = selected.iter().map(|c| not_run(c, &reason)).collect();
        self.notes.push(reason);
    }

    /// The API cannot delete users (v1) or cubes (product): a live run says which it left
    /// behind.
    fn note_remaining_users(&mut self) {
        if self.target.mode != Mode::Live {
            return;
        }
        let created = self.successes_of("POST", "/users");
        if created > 0 {
            self.notes.push(format!(
                "users with ids starting {}- remain on the server ({created} created): the API has no way to delete users; their cubes were unloaded",
                self.target.run_prefix
            ));
        }
        let cubes = self.successes_of("POST", "/product/create_cube");
        if cubes > 0 {
            self.notes.push(format!(
                "cubes with ids starting {}- remain in the server's user database, owned by root ({cubes} created): no /product operation removes cubes (the run added nothing to them)",
                self.target.run_prefix
            ));
        }
    }

    /// How many requests `method path` the run's cases sent got a success.
    fn successes_of(&self, method: &str, path: &str) -> usize {
        self.snapshots
            .iter()
            .flat_map(|s| &s.exchanges)
            .filter(|e| {
                e.request.method == method
                    && e.request.path == path
                    && e.response
                        .as_ref()
                        .is_some_and(|r| (200..300).contains(&r.status))
            })
            .count()
    }

    /// The API the rest of the run speaks: `--api`, else the one the server-version
    /// case read (from the live server, or as the mock replayed it; v1 for a server
    /// without a document).
    fn learn_api(&mut self, options: &RunOptions) -> Api {
        let (api, source) = match (options.api, &options.target, &self.target.server_version) {
            (Some(api), _, _) => (api, ApiSource::Option),
            (None, Target::Mock(_), Some(key)) => (Api::from_server_version(key), ApiSource::Mock),
            (None, Target::Mock(_), None) => (Api::V1, ApiSource::Mock),
            (None, Target::Live(_), Some(key)) => {
                (Api::from_server_version(key), ApiSource::Detected)
            }
            (None, Target::Live(_), None) => (Api::V1, ApiSource::Assumed),
        };
        self.target.api = api;
        self.target.api_learned = source.describe().to_owned();
        api
    }

    /// The backend (or the default, assumed) and how the run keeps cases apart on it.
    /// The product API has no storage backend of cube directories: none is named.
    fn describe_backend(&mut self, cube_paths: usize) {
        if self.target.api == Api::Product {
            return;
        }
        let (backend, source) = self
            .backend
            .clone()
            .unwrap_or((Backend::default(), BackendSource::Assumed));
        self.target.backend = Some(backend);
        self.target.backend_learned = Some(source.describe());
        self.target.isolation = Some(isolation(backend, cube_paths));
    }

    /// On a backend whose storage outlives its cubes, without `--destructive` the
    /// memories the run added stay in the scratch storage (single deletes do not delete
    /// there), and a later run would find them: the report says so.
    fn note_remaining_memories(&mut self, run_shared: &RunShared, settings: &Settings) {
        let left = run_shared.memories.count();
        let shares = self
            .backend
            .as_ref()
            .is_some_and(|(b, _)| b.shares_directory_storage());
        if self.target.mode != Mode::Live || settings.destructive || !shares || left == 0 {
            return;
        }
        let backend = self.backend.as_ref().map(|(b, _)| *b).unwrap_or_default();
        self.notes.push(format!(
            "up to {left} memories the run added stay in the storage of --cube-path {}: on {backend} a \
             single DELETE does not delete and the storage outlives its cubes. A later run needs a fresh \
             scratch directory (it would stop at these memories), or pass --destructive, whose cleanup \
             empties the run's scratch storage after each case",
            settings.cube_paths.join(", ")
        ));
    }

    fn finish(mut self, started: Instant) -> RunOutput {
        self.describe_backend(self.target.cube_paths);
        let duration_ms = millis(started.elapsed());
        RunOutput {
            report: Report {
                tool: concat!("memos-conformance ", env!("CARGO_PKG_VERSION")).to_owned(),
                target: self.target,
                summary: Summary::of(&self.reports, duration_ms),
                cases: self.reports,
                notes: self.notes,
            },
            snapshots: self.snapshots,
        }
    }
}

/// How the run keeps its cases apart on `backend`, given `cube_paths` directories.
fn isolation(backend: Backend, cube_paths: usize) -> String {
    if !backend.shares_directory_storage() {
        return format!(
            "{backend} loads its own copy of a directory's memories for every registration: each \
             case registers its own cubes, all from the first --cube-path"
        );
    }
    format!(
        "on {backend} every cube registered from one directory uses its storage: each case registers \
         its own cubes, holds at most one cube per --cube-path at a time ({cube_paths} given; a case \
         that needs more cubes at once is skipped), proves each cube holds nothing but the run's \
         memories before using it, and recognises by id what earlier cases left in that storage"
    )
}

/// The report row of a case the run did not get to, with why the run stopped.
fn not_run(case: &Case, reason: &str) -> CaseReport {
    CaseReport {
        name: case.name.to_owned(),
        group: case.group.to_owned(),
        purpose: case.purpose.to_owned(),
        outcome: Outcome::NotRun,
        reason: Some(reason.to_owned()),
        duration_ms: 0,
        finding: None,
        known_defect: None,
        failed_checks: Vec::new(),
        cleanup_problems: Vec::new(),
        exchanges: Vec::new(),
    }
}
