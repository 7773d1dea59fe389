//! Running one case: where its requests go (the live server, or a mock replaying its
//! snapshot), its context, its time budget, and its cleanup.

use std::sync::Arc;
use std::time::{Duration, Instant};

use memos_api::Auth;

use super::conclude::{Ran, Raw};
use super::options::{RunOptions, Target};
use crate::case_state::CaseShared;
use crate::cases::Case;
use crate::context::{namespace, Ctx, RunShared, Settings};
use crate::exchange::{human_duration, SharedClient, Transport};
use crate::mock::MockReplay;
use crate::normalize::Normaliser;
use crate::recorder::Recorder;
use crate::snapshot::SnapExchange;
use crate::spec::Spec;

/// Why a run ended early after Ctrl-C.
pub(super) const INTERRUPTED: &str = "the run was interrupted (Ctrl-C)";

/// What every case of a run shares.
pub(super) struct CaseRunner<'a> {
    pub(super) options: &'a RunOptions,
    /// The HTTP client every transport of the run reuses (building one is slow).
    pub(super) client: Option<SharedClient>,
    pub(super) spec: &'static Spec,
    pub(super) settings: Arc<Settings>,
    pub(super) run_shared: Arc<RunShared>,
    pub(super) auth: Option<Auth>,
}

/// Where a case's requests go; the mock, if any, stops when this is dropped.
struct Destination {
    base_url: String,
    /// The recorded exchanges the mock replays.
    replay: Option<Vec<SnapExchange>>,
    _mock: Option<MockReplay>,
}

impl CaseRunner<'_> {
    /// A client to share between the transports of a run against `options`' target.
    pub(super) fn shared_client(options: &RunOptions) -> Option<SharedClient> {
        let url = match &options.target {
            Target::Live(url) => url.as_str(),
            // Every mock is on loopback.
            Target::Mock(_) => "http://127.0.0.1",
        };
        Transport::shared_client(url, options.request_timeout).ok()
    }

    /// Runs `case` within its budget (and what is left of the run's), then cleans up.
    pub(super) async fn run_case(&self, case: &Case, deadline: Instant) -> Ran {
        let started = Instant::now();
        let crashed = |reason: String| Ran {
            raw: Raw::Crashed(reason),
            exchanges: Vec::new(),
            duration: started.elapsed(),
        };
        let destination = match self.destination(case).await {
            Ok(d) => d,
            Err(e) => return crashed(e),
        };
        let shared = match self.case_shared(
            case,
            destination.base_url.as_str(),
            destination.replay.clone(),
        ) {
            Ok(s) => s,
            Err(e) => return crashed(e),
        };
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
        let raw = run_within(case, ctx, budget, self.options).await;
        self.clean_up(&shared).await;
        drop(destination);
        Ran {
            raw,
            exchanges: shared.recorder.exchanges(),
            duration: started.elapsed(),
        }
    }

    /// The live server, or a mock started for the case's snapshot.
    async fn destination(&self, case: &Case) -> Result<Destination, String> {
        match &self.options.target {
            Target::Live(url) => Ok(Destination {
                base_url: url.clone(),
                replay: None,
                _mock: None,
            }),
            Target::Mock(snapshots) => {
                let snapshot = snapshots.get(case.name)?;
                let mock = MockReplay::start(snapshot, self.options.backend.unwrap_or_default())
                    .await
                    .map_err(|e| format!("the mock cannot replay this case: {e}"))?;
                Ok(Destination {
                    base_url: mock.base_url(),
                    replay: Some(snapshot.exchanges.clone()),
                    _mock: Some(mock),
                })
            }
        }
    }

    /// The recorder of the case, sending to `base_url`, inside the case's namespace.
    fn case_shared(
        &self,
        case: &Case,
        base_url: &str,
        replay: Option<Vec<SnapExchange>>,
    ) -> Result<Arc<CaseShared>, String> {
        let transport = Transport::with_client(
            base_url,
            self.auth.clone(),
            self.options.request_timeout,
            self.client.clone(),
        )?;
        let run_prefix = &self.settings.run_prefix;
        let normaliser = Normaliser::new(
            run_prefix,
            &self.settings.cube_paths,
            self.settings.doc_path.as_deref(),
        );
        let recorder = Recorder::new(
            transport,
            self.spec,
            normaliser,
            replay,
            namespace(run_prefix, case.name),
        );
        Ok(CaseShared::new(
            recorder,
            self.settings.destructive,
            self.run_shared.memories.clone(),
        ))
    }

    /// Best-effort cleanup within its own budget: what does not finish shows up as
    /// cleanup exchanges that failed.
    async fn clean_up(&self, shared: &CaseShared) {
        let budget = (self.options.request_timeout * 4).min(Duration::from_secs(60));
        let _ = tokio::time::timeout(budget, shared.cleanup()).await;
    }
}

/// Runs the case on its own task, so that a panic or a hang is reported as the case's
/// failure instead of ending the run, and an interrupt stops it in time for its cleanup.
async fn run_within(case: &Case, ctx: Ctx, budget: Duration, options: &RunOptions) -> Raw {
    let run = case.run;
    let mut handle = tokio::spawn(async move {
        let mut ctx = ctx;
        run(&mut ctx).await
    });
    let finished = tokio::select! {
        finished = tokio::time::timeout(budget, &mut handle) => finished,
        () = options.until_interrupted() => {
            handle.abort();
            return Raw::Crashed(format!("{INTERRUPTED}; the case was stopped and cleaned up"));
        }
    };
    match finished {
        Ok(Ok(result)) => Raw::Result(result),
        Ok(Err(join)) => Raw::Crashed(format!("the case crashed: {}", panic_text(join))),
        Err(_) => {
            handle.abort();
            Raw::Crashed(format!(
                "the case did not finish within {} (per-case limit --case-timeout, or what was left of --run-timeout)",
                human_duration(budget)
            ))
        }
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
