//! Sends a case's requests and keeps every exchange: the raw bytes (for the checks and
//! the report), the checks' results, and the normalised form (for the snapshot).
//!
//! In mock mode the recorder also holds the case's recorded exchanges and refuses to
//! send a request that differs from the recorded one at that step, with a message that
//! says how they differ, so a changed case is reported clearly instead of as a 404 of
//! the mock.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::check::{self, Check};
use crate::exchange::{ReceivedResponse, Req, SentRequest, Transport};
use crate::normalize::Normaliser;
use crate::snapshot::{SnapExchange, SnapRequest};
use crate::spec::{Operation, Spec};

/// One request, its answer, and what the checks found.
#[derive(Debug, Clone)]
pub struct Exchange {
    /// 1-based position in the case.
    pub step: usize,
    /// What the step is for.
    pub label: String,
    /// Sent while cleaning up after the case.
    pub cleanup: bool,
    /// The spec operation, when the request is one.
    pub operation: Option<&'static Operation>,
    /// The request as sent.
    pub sent: SentRequest,
    /// The answer, or why there was none.
    pub outcome: Result<ReceivedResponse, String>,
    /// How long it took.
    pub elapsed: Duration,
    /// The checks run on it.
    pub checks: Vec<Check>,
    /// The normalised form.
    pub snap: SnapExchange,
}

struct State {
    step: usize,
    cleanup: bool,
    normaliser: Normaliser,
    exchanges: Vec<Exchange>,
}

/// The recorder of one case.
pub struct Recorder {
    transport: Transport,
    spec: &'static Spec,
    replay: Option<Vec<SnapExchange>>,
    keep_prefix: String,
    state: Mutex<State>,
}

impl Recorder {
    /// A recorder sending through `transport`. `replay` holds the recorded exchanges in
    /// mock mode. `keep_prefix` is the case's namespace (see [`Normaliser::response`]).
    pub fn new(
        transport: Transport,
        spec: &'static Spec,
        normaliser: Normaliser,
        replay: Option<Vec<SnapExchange>>,
        keep_prefix: String,
    ) -> Recorder {
        Recorder {
            transport,
            spec,
            replay,
            keep_prefix,
            state: Mutex::new(State {
                step: 0,
                cleanup: false,
                normaliser,
                exchanges: Vec::new(),
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic elsewhere cannot leave the state half-written in a way that matters here.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The transport (for its base URL and credentials).
    pub fn transport(&self) -> &Transport {
        &self.transport
    }

    /// Marks the following exchanges as cleanup.
    pub fn start_cleanup(&self) {
        self.lock().cleanup = true;
    }

    /// Every exchange so far.
    pub fn exchanges(&self) -> Vec<Exchange> {
        self.lock().exchanges.clone()
    }

    /// Sends `req` and records the exchange.
    pub async fn send(&self, req: Req) -> Exchange {
        let prepared = self.transport.prepare(&req);
        let (sent, url) = match prepared {
            Ok(p) => p,
            Err(e) => {
                let sent = SentRequest {
                    method: req.method.as_str().to_owned(),
                    path: String::new(),
                    query: req.query.clone(),
                    content_type: None,
                    authorization: None,
                    body: None,
                };
                return self.finish(
                    &req,
                    sent,
                    Err(format!("the request could not be built: {e}")),
                    Duration::ZERO,
                    None,
                );
            }
        };
        let (step, snap_request) = {
            let mut state = self.lock();
            state.step += 1;
            let snap_request = state.normaliser.request(&sent);
            (state.step, snap_request)
        };
        if let Some(refusal) = self.replay_refusal(step, &snap_request) {
            return self.finish(
                &req,
                sent,
                Err(refusal),
                Duration::ZERO,
                Some((step, snap_request)),
            );
        }
        let started = Instant::now();
        let outcome = self
            .transport
            .send(&req, &sent, url, &step.to_string())
            .await;
        let elapsed = started.elapsed();
        self.finish(&req, sent, outcome, elapsed, Some((step, snap_request)))
    }

    /// Sends `req` outside the case's steps: it is neither checked nor part of the
    /// snapshot, and goes out with `tag` as its step header (the mock answers such
    /// requests separately). For the suite's own bookkeeping, never for what a case tests.
    pub async fn send_unrecorded(&self, req: &Req, tag: &str) -> Result<ReceivedResponse, String> {
        let (sent, url) = self.transport.prepare(req)?;
        self.transport.send(req, &sent, url, tag).await
    }

    /// In mock mode: why this request cannot be replayed, if it cannot.
    fn replay_refusal(&self, step: usize, request: &SnapRequest) -> Option<String> {
        let replay = self.replay.as_ref()?;
        let Some(recorded) = replay.get(step - 1) else {
            return Some(format!(
                "the mock has no recording for step {step} ({}): the case sends more requests than were \
                 recorded; re-record the snapshots",
                request.one_line()
            ));
        };
        if recorded.request != *request {
            return Some(format!(
                "the mock cannot answer step {step}: the case sent `{}` but the recording has `{}`; the case \
                 changed since the snapshots were recorded: re-record them",
                request.one_line(),
                recorded.request.one_line()
            ));
        }
        recorded
            .error
            .as_ref()
            .map(|e| format!("(replayed from the recording) {e}"))
    }

    fn finish(
        &self,
        req: &Req,
        sent: SentRequest,
        outcome: Result<ReceivedResponse, String>,
        elapsed: Duration,
        normalised: Option<(usize, SnapRequest)>,
    ) -> Exchange {
        let operation = self.spec.find(&sent.method, &sent.path);
        let checks = check::check_exchange(operation, &outcome, &req.extra_statuses);
        let mut state = self.lock();
        let (step, snap_request) = match normalised {
            Some(n) => n,
            None => {
                state.step += 1;
                let r = state.normaliser.request(&sent);
                (state.step, r)
            }
        };
        let (response, error, note) = match &outcome {
            Ok(received) => {
                let path = sent.path.clone();
                let (response, note) = state.normaliser.response(
                    received,
                    operation.map(|o| o.id.as_str()),
                    &path,
                    &self.keep_prefix,
                );
                (Some(response), None, note)
            }
            Err(e) => (None, Some(state.normaliser.text(e)), None),
        };
        let exchange = Exchange {
            step,
            label: req.label.clone(),
            cleanup: state.cleanup,
            operation,
            sent,
            outcome,
            elapsed,
            checks,
            snap: SnapExchange {
                step,
                label: req.label.clone(),
                request: snap_request,
                response,
                error,
                note,
            },
        };
        state.exchanges.push(exchange.clone());
        exchange
    }
}
