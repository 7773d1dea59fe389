//! Running an import: validate everything, then (with a checkpoint) reconcile what an
//! earlier run left in doubt, then stream the records to the server with bounded
//! concurrency.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use futures::stream::{FuturesUnordered, StreamExt};
use tokio::sync::mpsc;

use memos_api::v1::types;
use memos_api::RetryPolicy;

use crate::checkpoint::{Checkpoint, Expected, Saver, TargetRecord};
use crate::cube;
use crate::error::LoadError;
use crate::input::{fingerprint, Change};
use crate::item::{InvalidRecord, Location, Payload, Record};
use crate::rangeset::RangeSet;
use crate::reconcile::product::MarkerIds;
use crate::reconcile::{self, Plan};
use crate::request::{self, Request, RoleCheck};
use crate::server::{Api, Server};
use crate::setup::Target;
use crate::source::{Prepared, Source};
use crate::summary::{Event, FailedRecord, ProgressFn, Summary};
use tokio_util::sync::CancellationToken;

/// How an import runs.
#[derive(Clone)]
pub struct LoadOptions {
    /// Requests in flight at once (default 4; 1 to 1024). The reference server handles one
    /// request at a time, so more only helps servers that work in parallel.
    pub concurrency: usize,
    /// Leave out invalid records (each is reported) instead of failing before sending.
    pub skip_invalid: bool,
    /// Read, validate and count; send nothing and do not contact the server.
    pub dry_run: bool,
    /// The resume file (see the module docs); `None` imports without one.
    pub checkpoint: Option<PathBuf>,
    /// How many more rounds a record gets after the client gave up on an answer proving
    /// that the server did not take it (a 429, or a 503 with `Retry-After`; see
    /// [`Error::safe_to_retry`](memos_api::Error::safe_to_retry)), each after a longer wait (0.5 s doubling to 32 s, at least
    /// the `Retry-After`). Default 0: the client already retries such answers itself, within
    /// its [`RetryPolicy`], and each round here repeats those retries. Any other failure,
    /// such as a bare 503 (a proxy may send it after the server stored the record), is never
    /// sent again in the same run: it is counted in doubt and checked on resume.
    pub retries: u32,
    /// Stop after this many records in a row failed (default 20; 0 never stops).
    pub max_consecutive_failures: u32,
    /// How many invalid and failed records the summary lists (default 1000; all are
    /// reported through `progress`).
    pub max_details: usize,
    /// Stops the import early.
    pub cancel: CancellationToken,
    /// Called on each [`Event`].
    pub progress: Option<ProgressFn>,
}

impl Default for LoadOptions {
    fn default() -> Self {
        Self {
            concurrency: 4,
            skip_invalid: false,
            dry_run: false,
            checkpoint: None,
            retries: 0,
            max_consecutive_failures: 20,
            max_details: 1000,
            cancel: CancellationToken::new(),
            progress: None,
        }
    }
}

impl std::fmt::Debug for LoadOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadOptions")
            .field("concurrency", &self.concurrency)
            .field("skip_invalid", &self.skip_invalid)
            .field("dry_run", &self.dry_run)
            .field("checkpoint", &self.checkpoint)
            .field("retries", &self.retries)
            .field("max_consecutive_failures", &self.max_consecutive_failures)
            .finish_non_exhaustive()
    }
}

impl LoadOptions {
    fn emit(&self, event: &Event<'_>) {
        if let Some(progress) = &self.progress {
            progress(event);
        }
    }
}

/// The most concurrent requests allowed.
pub(crate) const MAX_CONCURRENCY: usize = 1024;

/// Runs a blocking closure off the async threads.
pub(crate) async fn blocking<T, F>(f: F) -> Result<T, LoadError>
where
    F: FnOnce() -> Result<T, LoadError> + Send + 'static,
    T: Send + 'static,
{
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|err| LoadError::Read {
            path: PathBuf::from("<input>"),
            reason: format!("the reader thread failed: {err}"),
        })?
}

struct Validation {
    records: u64,
    memories: u64,
    invalid: u64,
    details: Vec<InvalidRecord>,
    roles: RoleCheck,
}

/// Reads the whole input once: counts the records and collects (and reports) invalid ones.
fn validate(prepared: &Prepared, options: &LoadOptions) -> Result<Validation, LoadError> {
    let mut pass = prepared.pass();
    let mut out = Validation {
        records: 0,
        memories: 0,
        invalid: 0,
        details: Vec::new(),
        roles: RoleCheck::default(),
    };
    // Without skip_invalid the error lists a few; with it the summary lists more.
    let keep = if options.skip_invalid {
        options.max_details
    } else {
        20
    };
    while let Some(item) = pass.next_item()? {
        match item {
            Ok(record) => {
                out.records += 1;
                out.memories += record.payload.memory_count() as u64;
                out.roles.check(&record);
            }
            Err(invalid) => {
                out.invalid += 1;
                options.emit(&Event::Invalid {
                    record: &invalid,
                    skipped: options.skip_invalid,
                });
                if out.details.len() < keep {
                    out.details.push(invalid);
                }
            }
        }
    }
    options.emit(&Event::Validated {
        records: out.records,
        invalid: out.invalid,
    });
    Ok(out)
}

/// An input that was read and validated, ready to be sent: the first step of
/// [`import`], for callers that want to act between validating and sending (e.g. create
/// the user and cube only for valid input).
pub struct ValidatedImport {
    prepared: Prepared,
    /// The inputs' fingerprint when validation ended; sending checks it again.
    digest: String,
    options: LoadOptions,
    summary: Summary,
    started: Instant,
    roles: RoleCheck,
}

impl std::fmt::Debug for ValidatedImport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ValidatedImport")
            .field("kind", &self.prepared.kind)
            .field("records", &self.summary.records_read)
            .field("invalid", &self.summary.skipped)
            .finish_non_exhaustive()
    }
}

/// Reads and validates `source` (the first step of [`import`]).
///
/// With invalid records and without `skip_invalid`, fails with
/// [`LoadError::InvalidInput`], naming each record's file, line and reason.
///
/// Needs no server: a program can check its input before it has a client, and send it
/// later with [`ValidatedImport::send`].
///
/// ```
/// use memos_loader::{validate_source, ContentOptions, Input, LoadError, LoadOptions, Source};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), LoadError> {
/// let dir = tempfile::tempdir().unwrap();
/// let log = dir.path().join("build.log");
/// std::fs::write(&log, "compiling\nlinking\nbuild failed: missing symbol\n").unwrap();
///
/// let source = Source::Content {
///     inputs: vec![Input::Path(log)],
///     options: ContentOptions { per_line: true, ..ContentOptions::default() },
/// };
/// let validated = validate_source(&source, &LoadOptions::default()).await?;
/// assert_eq!(validated.dry_run_summary().records_read, 3);
/// # Ok(())
/// # }
/// ```
pub async fn validate_source(
    source: &Source,
    options: &LoadOptions,
) -> Result<ValidatedImport, LoadError> {
    let started = Instant::now();
    if options.concurrency == 0 || options.concurrency > MAX_CONCURRENCY {
        return Err(LoadError::Options(format!(
            "concurrency must be between 1 and {MAX_CONCURRENCY}, not {}",
            options.concurrency
        )));
    }
    let source = source.clone();
    let prepared = blocking(move || source.prepare()).await?;
    let (validation, digest) = {
        let (prepared, options) = (prepared.clone(), options.clone());
        blocking(move || {
            let validation = validate(&prepared, &options)?;
            Ok((validation, fingerprint(&prepared.files)?))
        })
        .await?
    };
    if validation.invalid > 0 && !options.skip_invalid {
        return Err(LoadError::InvalidInput {
            count: validation.invalid,
            first: validation.details,
        });
    }
    let summary = Summary {
        kind: prepared.kind.to_owned(),
        dry_run: options.dry_run,
        records_read: validation.records,
        memories_in_input: validation.memories,
        skipped: validation.invalid,
        skipped_records: validation.details,
        checkpoint: options.checkpoint.clone(),
        remaining: validation.records,
        skipped_links: prepared.skipped_links.clone(),
        ..Summary::default()
    };
    Ok(ValidatedImport {
        prepared,
        digest,
        options: options.clone(),
        summary,
        started,
        roles: validation.roles,
    })
}

impl ValidatedImport {
    /// What validation found, as the summary of a dry run (nothing sent).
    pub fn dry_run_summary(&self) -> Summary {
        let mut summary = self.summary.clone();
        summary.dry_run = true;
        summary.elapsed_secs = self.started.elapsed().as_secs_f64();
        summary
    }

    /// Fails unless `api` takes every record: on the `/product` API, every message's role
    /// must be `user`, `assistant` or `system` ([`LoadError::UnsupportedRoles`], naming
    /// each message's session and role). [`send`](Self::send) checks it first; a caller
    /// that sets up the server between validating and sending can check it before that.
    pub fn check_api(&self, api: Api) -> Result<(), LoadError> {
        if api == Api::Product && self.roles.count > 0 {
            return Err(LoadError::UnsupportedRoles {
                api,
                count: self.roles.count,
                first: self.roles.first.clone(),
            });
        }
        Ok(())
    }

    /// Sends the records (the second step of [`import`]) to `server` (a
    /// [`memos_api::v1::Client`] or [`memos_api::product::Client`], see [`Server`]). With
    /// `dry_run` set, sends nothing and returns [`dry_run_summary`](Self::dry_run_summary).
    pub async fn send(
        self,
        server: impl Into<Server>,
        target: &Target,
    ) -> Result<Summary, LoadError> {
        let server: Server = server.into();
        self.check_api(server.api())?;
        if self.options.dry_run {
            return Ok(self.dry_run_summary());
        }
        let ValidatedImport {
            prepared,
            digest,
            options,
            mut summary,
            started,
            roles: _,
        } = self;
        let records = summary.records_read;
        summary.grown_inputs = {
            let (prepared, digest) = (prepared.clone(), digest.clone());
            blocking(move || check_unchanged(&prepared, &digest)).await?
        };
        let mut checkpoint = match &options.checkpoint {
            Some(path) => Some(open_checkpoint(
                &server, target, &prepared, path, records, &digest,
            )?),
            None => None,
        };
        let mut plan = Plan::default();
        // When the cube was read to reconcile records in doubt.
        let mut reconciled_at = None;
        // This run's id, in the marker of every record it sends (`/product`).
        let run_id = random_id();
        if let Some(ck) = checkpoint.as_mut() {
            if let Server::Product(_) = &server {
                // Known to the checkpoint before any add carries it (saved below).
                ck.start_run(&run_id);
            }
            if !ck.resumed {
                match &server {
                    Server::V1(client) => {
                        // What the cube held before this import: on resume, those memories
                        // are not the import's.
                        let memories = cube::read(client, &target.user_id, &target.cube_id).await?;
                        let prepared = prepared.clone();
                        let baseline =
                            blocking(move || reconcile::capture_baseline(&memories, &prepared))
                                .await?;
                        ck.data.baseline = Some(baseline);
                    }
                    // The records' marker: on disk before the first record is sent.
                    Server::Product(_) => ck.data.import_id = Some(random_id()),
                }
            } else if ck.acked.gaps_below(ck.data.sent_below.min(records)).len() > 0 {
                let (report, new_plan) =
                    reconcile::reconcile(&server, target, &prepared, ck).await?;
                reconciled_at = Some(Instant::now());
                options.emit(&Event::Reconciled(&report));
                for &index in &new_plan.present {
                    ck.acked.insert(index);
                }
                for (index, run) in &new_plan.kept {
                    ck.ack(*index, run);
                }
                summary.possibly_duplicated = report.cannot_tell;
                summary.reconciliation = Some(report);
                plan = new_plan;
            }
            ck.save().await?;
        }

        summary.already_imported = checkpoint
            .as_ref()
            .map_or(0, |ck| ck.acked.count_below(records));
        options.emit(&Event::Started {
            total: records,
            done: summary.already_imported,
        });

        // Without a checkpoint nothing is resumed, but the marker costs nothing.
        let marker = Arc::new(MarkerIds {
            import: checkpoint
                .as_ref()
                .and_then(|ck| ck.data.import_id.clone())
                .unwrap_or_else(random_id),
            run: run_id,
        });
        let result = send_all(
            (&server, marker.clone()),
            target,
            &prepared,
            &options,
            &mut checkpoint,
            plan,
            &mut summary,
        )
        .await;
        // Whatever happened, keep what was acknowledged.
        if let Some(ck) = checkpoint.as_ref() {
            let saved = ck.save().await;
            result?;
            saved?;
            summary.remaining = records.saturating_sub(ck.acked.count_below(records));
        } else {
            result?;
            summary.remaining = records
                .saturating_sub(summary.already_imported)
                .saturating_sub(summary.records_acked);
        }
        if let (Server::Product(client), Some(report), Some(ck)) = (
            &server,
            summary.reconciliation.as_mut(),
            checkpoint.as_ref(),
        ) {
            // Adds the killed run had in flight land while this run sends (see
            // `reconcile::product`): remove the copies this run's sends made of them. The
            // server takes one add in well under a second; a short run gives such adds
            // [`LATE_ADD_GRACE`] after the reconciliation before the cube is read again.
            // One that lands later still is not seen.
            if report.in_doubt > 0 {
                if let Some(at) = reconciled_at.filter(|_| report.missing > 0) {
                    tokio::time::sleep(LATE_ADD_GRACE.saturating_sub(at.elapsed())).await;
                }
                let nodes = reconcile::product::read_nodes(client, target).await?;
                let runs = &ck.data.runs;
                let copies = reconcile::product::Copies::new(&nodes, &marker.import, runs);
                report.duplicates_removed +=
                    reconcile::product::remove_duplicates(client, target, &copies, runs).await?;
            }
        }
        summary.elapsed_secs = started.elapsed().as_secs_f64();
        summary.records_per_sec = if summary.elapsed_secs > 0.0 {
            summary.records_acked as f64 / summary.elapsed_secs
        } else {
            0.0
        };
        Ok(summary)
    }
}

/// How long after a `/product` reconciliation that found records missing the cube is read
/// again for copies made by adds the killed run had in flight (see `reconcile::product`).
const LATE_ADD_GRACE: Duration = Duration::from_secs(3);

/// Imports `source` into `target`: [`validate_source`], then [`ValidatedImport::send`].
///
/// Everything is read and validated first: with invalid records and without
/// `skip_invalid`, the import fails before anything is sent. With a checkpoint, records an
/// earlier run acknowledged are not sent again, and records it left in doubt are checked
/// against the cube's memories first (see [`Reconciliation`](crate::Reconciliation)).
///
/// The user and cube must exist ([`ensure_user`](crate::ensure_user),
/// [`ensure_cube`](crate::ensure_cube)). Failed records do not make this return an error:
/// they are counted in the [`Summary`] (see [`Summary::is_complete`]).
///
/// ```no_run
/// use memos_loader::{import, Input, LoadError, LoadOptions, MessageOptions, Source, Target};
///
/// # async fn demo() -> Result<(), LoadError> {
/// // The /product API: no user or cube to set up, the first add creates the cube.
/// let client = memos_api::product::Client::builder("http://127.0.0.1:8000").build()?;
/// let source = Source::Messages {
///     inputs: vec![Input::Path("sessions.jsonl".into())],
///     options: MessageOptions::default(),
/// };
/// let target = Target { user_id: "alice".into(), cube_id: "alice-notes".into() };
/// let options = LoadOptions {
///     // Run again after a crash: nothing is lost, nothing is stored twice.
///     checkpoint: Some("sessions.checkpoint".into()),
///     ..LoadOptions::default()
/// };
/// let summary = import(&client, &target, &source, &options).await?;
/// if !summary.is_complete() {
///     for failed in &summary.failures {
///         eprintln!("{}: {}", failed.location, failed.error);
///     }
/// }
/// # Ok(())
/// # }
/// ```
pub async fn import(
    server: impl Into<Server>,
    target: &Target,
    source: &Source,
    options: &LoadOptions,
) -> Result<Summary, LoadError> {
    validate_source(source, options)
        .await?
        .send(server, target)
        .await
}

/// A random id for the records' marker on the `/product` API (the import's and the run's).
fn random_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// Checks that no input changed since it was validated other than by growing (a live
/// log), and names those that grew: what was appended is not read by this import.
fn check_unchanged(prepared: &Prepared, digest: &str) -> Result<Vec<String>, LoadError> {
    let changed = |path: &str, what: &str| LoadError::InputChanged {
        path: PathBuf::from(path),
        reason: what.to_owned(),
    };
    let mut grown = Vec::new();
    for file in &prepared.files {
        match file.change()? {
            Change::None => {}
            Change::Grew(_) => grown.push(file.display.to_string()),
            Change::Rewritten => {
                return Err(changed(
                    &file.display,
                    "it was rewritten or truncated after it was validated",
                ))
            }
        }
    }
    if fingerprint(&prepared.files)? != digest {
        return Err(changed(
            match prepared.files.as_slice() {
                [only] => &only.display,
                _ => "one of the inputs",
            },
            "its content changed after it was validated",
        ));
    }
    Ok(grown)
}

fn open_checkpoint(
    server: &Server,
    target: &Target,
    prepared: &Prepared,
    path: &std::path::Path,
    records: u64,
    digest: &str,
) -> Result<Checkpoint, LoadError> {
    let target_record = TargetRecord {
        base_url: server.base_url().to_owned(),
        user_id: target.user_id.clone(),
        cube_id: target.cube_id.clone(),
    };
    let options = prepared.options_description();
    let expected = Expected {
        kind: prepared.kind,
        api: server.api().name(),
        target: &target_record,
        input_digest: digest,
        options: &options,
        inputs: prepared
            .files
            .iter()
            .map(|f| f.display.to_string())
            .collect(),
        records_total: records,
    };
    Checkpoint::open(path, expected)
}

/// The result of sending one record.
struct Outcome {
    index: u64,
    location: Location,
    result: Result<(), FailedSend>,
}

struct FailedSend {
    error: String,
    answer_lost: bool,
}

/// How many records `sent_below` is raised by at a time: the checkpoint is written about
/// once per window (in the background, half a window ahead, so sending rarely waits for
/// the disk), and a crash leaves at most about this many records in doubt.
fn window(concurrency: usize) -> u64 {
    (concurrency as u64 * 32).max(512)
}

/// Streams the records to the server, `concurrency` at a time.
async fn send_all(
    (server, marker): (&Server, Arc<MarkerIds>),
    target: &Target,
    prepared: &Prepared,
    options: &LoadOptions,
    checkpoint: &mut Option<Checkpoint>,
    plan: Plan,
    summary: &mut Summary,
) -> Result<(), LoadError> {
    // Records travel from the reader thread in batches: one wake-up per batch, not per
    // record. The channel holds a few batches, so memory stays flat.
    let (tx, mut rx) = mpsc::channel::<Batch>(4);
    let batch_size = (options.concurrency * 2).clamp(16, 256);
    let skip = checkpoint
        .as_ref()
        .map(|ck| ck.acked.clone())
        .unwrap_or_default();
    let reader = spawn_reader(prepared.clone(), skip, summary.records_read, batch_size, tx);

    let mut sending = Sending::new((server, marker), target, options, checkpoint, plan, summary);
    // The loop returns early only on checkpoint errors; the write in flight is waited for
    // below in every case, so that no two writes of the file overlap.
    let looped = sending.run(&mut rx).await;
    let waited = sending.saver.wait().await;
    if looped.is_ok() {
        sending.release_unsent();
    }
    let fatal = sending.fatal.take();
    drop(rx);
    let _ = reader.await;
    looped?;
    waited?;
    fatal.map_or(Ok(()), Err)
}

/// What the reader thread hands over: a batch of records, or the error that ended reading.
type Batch = Result<Vec<Record>, LoadError>;

/// Reads the valid records below `records` (the count validation found) not in `skip` on
/// a blocking thread and sends them in batches of `batch_size`, until that count, the end
/// of the input, a read error or until the receiver is gone.
///
/// Reads are bounded by the files' stamps, so the count is reached exactly; the bound here
/// makes sure that no pass ever sends a record validation did not count, whatever the
/// files do.
fn spawn_reader(
    prepared: Prepared,
    skip: RangeSet,
    records: u64,
    batch_size: usize,
    tx: mpsc::Sender<Batch>,
) -> tokio::task::JoinHandle<()> {
    tokio::task::spawn_blocking(move || {
        let mut pass = prepared.pass();
        let mut batch = Vec::with_capacity(batch_size);
        let mut seen = 0;
        loop {
            let item = if seen < records {
                pass.next_item()
            } else {
                Ok(None)
            };
            match item {
                Ok(Some(Ok(record))) => {
                    seen = record.index + 1;
                    if skip.contains(record.index) {
                        continue;
                    }
                    batch.push(record);
                    if batch.len() < batch_size {
                        continue;
                    }
                }
                Ok(Some(Err(_))) => continue,
                Ok(None) if seen < records => {
                    if !batch.is_empty()
                        && tx.blocking_send(Ok(std::mem::take(&mut batch))).is_err()
                    {
                        return;
                    }
                    let _ = tx.blocking_send(Err(LoadError::InputChanged {
                        path: prepared
                            .files
                            .first()
                            .map(|f| PathBuf::from(&*f.display))
                            .unwrap_or_default(),
                        reason: format!(
                            "it holds {seen} records now, {records} when it was validated"
                        ),
                    }));
                    return;
                }
                Ok(None) => {
                    if !batch.is_empty() {
                        let _ = tx.blocking_send(Ok(batch));
                    }
                    return;
                }
                Err(err) => {
                    if !batch.is_empty()
                        && tx.blocking_send(Ok(std::mem::take(&mut batch))).is_err()
                    {
                        return;
                    }
                    let _ = tx.blocking_send(Err(err));
                    return;
                }
            }
            let full = std::mem::replace(&mut batch, Vec::with_capacity(batch_size));
            // A closed channel means the import stopped: stop reading.
            if tx.blocking_send(Ok(full)).is_err() {
                return;
            }
        }
    })
}

/// What woke the sending loop.
enum Wake {
    /// The import was cancelled.
    Cancelled,
    /// A request finished.
    Answered(Outcome),
    /// The reader handed over a batch, an error, or (`None`) the end of the input.
    Read(Option<Batch>),
}

/// The state of [`send_all`]'s loop: records read but not yet sent, requests in flight,
/// and what the summary and the checkpoint must learn.
struct Sending<'a> {
    server: &'a Server,
    /// The ids of the records' marker (`/product` only).
    marker: Arc<MarkerIds>,
    target: Arc<Target>,
    options: &'a LoadOptions,
    checkpoint: &'a mut Option<Checkpoint>,
    plan: Plan,
    summary: &'a mut Summary,
    saver: Saver,
    /// See [`window`].
    window: u64,
    queued: VecDeque<Record>,
    inflight: FuturesUnordered<BoxFuture<'static, Outcome>>,
    input_done: bool,
    stopping: bool,
    /// The read error that stopped the import.
    fatal: Option<LoadError>,
    consecutive_failures: u32,
    /// Acknowledgements not yet saved.
    dirty: bool,
    /// One past the highest record sent in this run.
    next_unsent: u64,
}

impl<'a> Sending<'a> {
    fn new(
        (server, marker): (&'a Server, Arc<MarkerIds>),
        target: &Target,
        options: &'a LoadOptions,
        checkpoint: &'a mut Option<Checkpoint>,
        plan: Plan,
        summary: &'a mut Summary,
    ) -> Self {
        let saver = Saver::new(checkpoint.as_ref().map_or(0, |ck| ck.data.sent_below));
        Self {
            server,
            marker,
            target: Arc::new(target.clone()),
            options,
            checkpoint,
            plan,
            summary,
            saver,
            window: window(options.concurrency),
            queued: VecDeque::new(),
            inflight: FuturesUnordered::new(),
            input_done: false,
            stopping: false,
            fatal: None,
            consecutive_failures: 0,
            dirty: false,
            next_unsent: 0,
        }
    }

    /// Sends, and takes in answers and batches, until nothing is left to do. Returns early
    /// only on checkpoint errors.
    async fn run(&mut self, rx: &mut mpsc::Receiver<Batch>) -> Result<(), LoadError> {
        let cancelled = self.options.cancel.cancelled();
        tokio::pin!(cancelled);
        loop {
            self.start_requests().await?;
            let need_more = self.queued.is_empty()
                && !self.input_done
                && !self.stopping
                && self.inflight.len() < self.options.concurrency;
            if !need_more && self.inflight.is_empty() {
                return Ok(());
            }
            let wake = tokio::select! {
                biased;
                () = &mut cancelled, if !self.stopping => Wake::Cancelled,
                Some(outcome) = self.inflight.next(), if !self.inflight.is_empty() => {
                    Wake::Answered(outcome)
                }
                batch = rx.recv(), if need_more => Wake::Read(batch),
            };
            match wake {
                Wake::Cancelled => self.cancel(),
                Wake::Answered(outcome) => self.take_outcome(outcome),
                Wake::Read(None) => self.input_done = true,
                Wake::Read(Some(Ok(records))) => self.queued.extend(records),
                Wake::Read(Some(Err(err))) => {
                    self.fatal = Some(err);
                    self.stopping = true;
                }
            }
            self.save_acks().await?;
        }
    }

    /// Starts requests for queued records until `concurrency` are in flight.
    async fn start_requests(&mut self) -> Result<(), LoadError> {
        while !self.stopping && self.inflight.len() < self.options.concurrency {
            let Some(mut record) = self.queued.pop_front() else {
                break;
            };
            if let Some(ck) = self.checkpoint.as_mut() {
                cover(ck, &mut self.saver, record.index, self.window).await?;
            }
            if let Some(keep) = self.plan.partial.remove(&record.index) {
                if let Payload::Messages(messages) = &mut record.payload {
                    let mut position = 0;
                    messages.retain(|_| {
                        let kept = keep.contains(&position);
                        position += 1;
                        kept
                    });
                }
            }
            self.summary.records_sent += 1;
            self.next_unsent = self.next_unsent.max(record.index + 1);
            let (index, location) = (record.index, record.location.clone());
            // A task per request, so that requests run on every worker thread.
            let task = tokio::spawn(send_record(
                self.server.clone(),
                self.marker.clone(),
                self.target.clone(),
                record,
                self.options.retries,
                self.options.progress.clone(),
            ));
            self.inflight.push(Box::pin(async move {
                task.await.unwrap_or_else(|err| Outcome {
                    index,
                    location,
                    result: Err(FailedSend {
                        error: format!("the request task failed: {err}"),
                        answer_lost: true,
                    }),
                })
            }));
        }
        Ok(())
    }

    /// Stops sending new records; those in flight are still waited for.
    fn cancel(&mut self) {
        self.stopping = true;
        self.summary.interrupted = true;
        self.options.emit(&Event::Stopping {
            reason: "interrupted",
        });
    }

    /// Counts one answer, and stops after too many failures in a row.
    fn take_outcome(&mut self, outcome: Outcome) {
        let index = outcome.index;
        let failed = match outcome.result {
            Ok(()) => {
                self.consecutive_failures = 0;
                self.summary.records_acked += 1;
                if let Some(ck) = self.checkpoint.as_mut() {
                    ck.ack(index, &self.marker.run);
                    self.dirty = true;
                }
                self.options.emit(&Event::Acked { index });
                return;
            }
            Err(failed) => failed,
        };
        self.consecutive_failures += 1;
        self.summary.failed += 1;
        if failed.answer_lost {
            self.summary.answer_lost += 1;
        }
        self.options.emit(&Event::Failed {
            index,
            location: &outcome.location,
            error: &failed.error,
        });
        let limit = self.options.max_consecutive_failures;
        if limit > 0 && self.consecutive_failures >= limit && !self.stopping {
            self.stopping = true;
            let reason = format!(
                "stopped after {} records in a row failed; the last error: {}",
                self.consecutive_failures, failed.error
            );
            self.options.emit(&Event::Stopping { reason: &reason });
            self.summary.stopped_early = Some(reason);
        }
        if self.summary.failures.len() < self.options.max_details {
            self.summary.failures.push(FailedRecord {
                index,
                location: outcome.location,
                error: failed.error,
                answer_lost: failed.answer_lost,
            });
        }
    }

    /// Notes a finished checkpoint write, and starts one for new acknowledgements at most
    /// once a second.
    async fn save_acks(&mut self) -> Result<(), LoadError> {
        let Some(ck) = self.checkpoint.as_ref() else {
            return Ok(());
        };
        self.saver.collect().await?;
        if self.dirty
            && !self.saver.busy()
            && self.saver.since_last_start() >= Duration::from_secs(1)
        {
            self.saver.start(ck)?;
            self.dirty = false;
        }
        Ok(())
    }

    /// Once nothing is in flight: records at or above `next_unsent` were not sent by this
    /// run, so the final save need not leave them in doubt (except sessions planned to be
    /// sent in part, whose other messages are on the server).
    fn release_unsent(&mut self) {
        let Some(ck) = self.checkpoint.as_mut() else {
            return;
        };
        let floor = self
            .plan
            .partial
            .keys()
            .map(|&index| index + 1)
            .fold(self.next_unsent, u64::max);
        ck.data.sent_below = ck.data.sent_below.min(floor);
    }
}

/// Makes sure the checkpoint on disk covers record `index` as possibly sent before it is
/// sent: raises `sent_below` half a window ahead in the background, and waits for the
/// disk only when sending has caught up with it.
async fn cover(
    ck: &mut Checkpoint,
    saver: &mut Saver,
    index: u64,
    window: u64,
) -> Result<(), LoadError> {
    let total = ck.data.records_total;
    loop {
        if !saver.busy() && index + window / 2 >= ck.data.sent_below && ck.data.sent_below < total {
            ck.data.sent_below = (ck.data.sent_below.max(index) + window).min(total);
            saver.start(ck)?;
        }
        if index < saver.durable_sent_below {
            return Ok(());
        }
        if !saver.busy() {
            ck.data.sent_below = ck.data.sent_below.max((index + window).min(total));
            saver.start(ck)?;
        }
        saver.wait().await?;
    }
}

/// The waits between the loader's rounds for one record: 0.5 s, 1 s, 2 s, ... up to 32 s,
/// with jitter, so that the retries of many records spread out, and never shorter than
/// the server's `Retry-After`. Only the back-off is used: how often is
/// `LoadOptions::retries`, and what is retried is what the client calls
/// [`Error::safe_to_retry`](memos_api::Error::safe_to_retry).
const RECORD_RETRY: RetryPolicy = RetryPolicy {
    max_retries: 0,
    initial_backoff: Duration::from_millis(500),
    max_backoff: Duration::from_secs(32),
    max_retry_after: Duration::ZERO,
};

async fn send_record(
    server: Server,
    marker: Arc<MarkerIds>,
    target: Arc<Target>,
    record: Record,
    retries: u32,
    progress: Option<ProgressFn>,
) -> Outcome {
    let Record {
        index,
        location,
        payload,
    } = record;
    let request = match server {
        Server::V1(client) => Request::V1(client, request::v1(&target, payload)),
        Server::Product(client) => match request::product(&target, &marker, index, payload) {
            Ok(body) => Request::Product(client, Box::new(body)),
            Err(error) => {
                return Outcome {
                    index,
                    location,
                    result: Err(FailedSend {
                        error,
                        answer_lost: false,
                    }),
                }
            }
        },
    };
    let mut attempt = 0;
    loop {
        let sent = match &request {
            Request::V1(client, body) => client.add_memories(body.clone()).await,
            // A 200 envelope: every node of the record is stored (sync mode).
            Request::Product(client, body) => client
                .add_memories(body.as_ref().clone())
                .await
                .map(|_added| ()),
        };
        match sent {
            Ok(()) => {
                return Outcome {
                    index,
                    location,
                    result: Ok(()),
                }
            }
            // The client has already spent its own quick retries on such an answer; this is
            // a slower round on top, for overloads that last.
            Err(err) if attempt < retries && err.safe_to_retry() => {
                if let Some(progress) = &progress {
                    let error = memos_text::with_causes(&err);
                    progress(&Event::Retrying {
                        location: &location,
                        error: &error,
                    });
                }
                let wait = RECORD_RETRY
                    .delay(attempt)
                    .max(err.retry_after().unwrap_or_default());
                tokio::time::sleep(wait).await;
                attempt += 1;
            }
            Err(err) => {
                return Outcome {
                    index,
                    location,
                    result: Err(FailedSend {
                        answer_lost: err.may_have_been_applied(),
                        error: memos_text::with_causes(&err),
                    }),
                }
            }
        }
    }
}

/// Imports the documents of `server_dir`, a folder on the *server*, with `doc_path`.
///
/// The reference server (MemOS 2.0.10) answers 200 to such an import yet stores nothing (a
/// known defect of its document reader). So the cube's memories are counted before and
/// after, and an import that added none fails with [`LoadError::StoredNothing`].
///
/// On the `/product` API this is refused ([`LoadError::Options`]): MemoryOS 2.0.33 stores
/// `"[File: unknown]"` for a `doc_path` and never reads the folder.
pub async fn import_server_dir(
    server: impl Into<Server>,
    target: &Target,
    server_dir: &str,
    options: &LoadOptions,
) -> Result<Summary, LoadError> {
    let client = match server.into() {
        Server::V1(client) => client,
        Server::Product(_) => {
            return Err(LoadError::Options(
                "a folder on the server (doc_path) cannot be imported through the /product \
                 API: MemoryOS 2.0.33 stores \"[File: unknown]\" for it and never reads the \
                 files; import the files from this machine instead (a Source::Documents \
                 import)"
                    .to_owned(),
            ))
        }
    };
    let client = &client;
    let started = Instant::now();
    let mut summary = Summary {
        kind: "server-documents".to_owned(),
        dry_run: options.dry_run,
        records_read: 1,
        ..Summary::default()
    };
    if options.dry_run {
        summary.remaining = 1;
        return Ok(summary);
    }
    let before = cube::read(client, &target.user_id, &target.cube_id)
        .await?
        .len();
    let body = types::MemoryCreate {
        doc_path: Some(server_dir.to_owned()),
        mem_cube_id: Some(target.cube_id.clone()),
        memory_content: None,
        messages: None,
        user_id: Some(target.user_id.clone()),
    };
    summary.records_sent = 1;
    client.add_memories(body).await?;
    let after = cube::read(client, &target.user_id, &target.cube_id)
        .await?
        .len();
    if after <= before {
        return Err(LoadError::StoredNothing {
            dir: server_dir.to_owned(),
            before,
            after,
        });
    }
    summary.memories_added = Some((after - before) as u64);
    summary.records_acked = 1;
    summary.elapsed_secs = started.elapsed().as_secs_f64();
    summary.records_per_sec = 1.0 / summary.elapsed_secs.max(f64::EPSILON);
    Ok(summary)
}
