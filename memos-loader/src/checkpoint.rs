//! The resume file: which records the server has acknowledged, and below which index
//! records may have been sent.
//!
//! Guarantees, and how:
//! * **Never corrupt**: every save writes a temporary file next to it, syncs it, renames
//!   it over the old one and syncs the folder; a crash at any point leaves the old or the
//!   new file, whole.
//! * **Nothing acknowledged is sent again**: `acked` only ever holds records the server
//!   answered 200 to.
//! * **Nothing sent is unaccounted for**: before a record at or above `sent_below` is sent,
//!   `sent_below` is raised (by a window of records, so the file is written once per window,
//!   not once per record) and saved. On resume, every record below `sent_below` that is not
//!   in `acked` is *in doubt* and is reconciled against the server.
//! * **Every run is known**: each run of a `/product` import adds its id to `runs` and
//!   saves it before it sends a record, with the records it acknowledges; a resume counts
//!   a marker as the import's own only if it names one of these runs (see
//!   `reconcile::product`).
//! * **Small**: `acked` is stored as ranges, so it stays a few bytes for an import that runs
//!   in order, however long.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::LoadError;
use crate::rangeset::RangeSet;
use crate::reconcile::Baseline;

const FORMAT: &str = "memos-load-checkpoint";
const VERSION: u32 = 1;

/// Where the import goes; a checkpoint only applies to the same target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct TargetRecord {
    pub base_url: String,
    pub user_id: String,
    pub cube_id: String,
}

/// The file's content.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct CheckpointData {
    pub format: String,
    pub version: u32,
    pub kind: String,
    /// The API the records went through (`v1` or `product`); absent in the files of older
    /// loaders, which spoke v1 only.
    #[serde(default = "v1")]
    pub api: String,
    /// `/product` imports: the id each record's memories carry in `metadata.info`
    /// (with the record's index), by which a resume finds the records in doubt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub import_id: Option<String>,
    /// `/product` imports: every run that went through this checkpoint, in order, with the
    /// records each acknowledged. Absent in the files of older loaders.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub runs: Vec<RunRecord>,
    /// The runs before the first one in `runs` were not recorded (the file was written by
    /// an older loader): their nodes cannot be told from copies of the marker made by
    /// others.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub earlier_runs_unknown: bool,
    pub target: TargetRecord,
    /// The input files, for people reading the file.
    pub inputs: Vec<String>,
    pub input_digest: String,
    pub options: String,
    pub records_total: u64,
    /// What the cube held before the first record was sent: on resume, those memories are
    /// not the import's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<Baseline>,
    /// Older loaders' baseline: how many memories the cube held before the import (read
    /// only, for resuming their checkpoints; see `reconcile`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline_memories: Option<u64>,
    /// Every record that may have been sent has a lower index.
    pub sent_below: u64,
    /// Acknowledged records as `[start, end)` ranges.
    pub acked: Vec<[u64; 2]>,
    /// Every record is acknowledged.
    pub complete: bool,
}

/// One run of an import (`/product`): the id its records' markers carry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct RunRecord {
    pub id: String,
    /// The records whose copy of this run is the one kept: the server answered 200 to this
    /// run's add, or a resume found the record stored by this run and kept its copy.
    #[serde(default)]
    pub acked: RangeSet,
}

fn v1() -> String {
    "v1".to_owned()
}

/// What a checkpoint must match to be used.
pub(crate) struct Expected<'a> {
    pub kind: &'a str,
    pub api: &'a str,
    pub target: &'a TargetRecord,
    pub input_digest: &'a str,
    pub options: &'a str,
    pub inputs: Vec<String>,
    pub records_total: u64,
}

/// A loaded or new checkpoint, with its acknowledged set in memory.
#[derive(Debug, Clone)]
pub(crate) struct Checkpoint {
    pub path: PathBuf,
    pub data: CheckpointData,
    pub acked: RangeSet,
    /// The file existed (this is a resume).
    pub resumed: bool,
    /// Held until the import ends (shared by the copies made for reconciliation).
    _lock: std::sync::Arc<CheckpointLock>,
}

impl Checkpoint {
    /// Loads `path` if it exists and checks that it belongs to this import; otherwise
    /// starts a new one (not yet saved).
    pub(crate) fn open(path: &Path, expected: Expected<'_>) -> Result<Checkpoint, LoadError> {
        let lock = std::sync::Arc::new(CheckpointLock::acquire(path)?);
        let fail = |reason: String| LoadError::Checkpoint {
            path: path.to_path_buf(),
            reason,
        };
        let text = match fs::read(path) {
            Ok(text) => Some(text),
            Err(err) if err.kind() == io::ErrorKind::NotFound => None,
            Err(err) => return Err(fail(format!("cannot read it: {err}"))),
        };
        let Some(text) = text else {
            return Ok(Checkpoint {
                path: path.to_path_buf(),
                data: CheckpointData {
                    format: FORMAT.to_owned(),
                    version: VERSION,
                    kind: expected.kind.to_owned(),
                    api: expected.api.to_owned(),
                    import_id: None,
                    runs: Vec::new(),
                    earlier_runs_unknown: false,
                    target: expected.target.clone(),
                    inputs: expected.inputs,
                    input_digest: expected.input_digest.to_owned(),
                    options: expected.options.to_owned(),
                    records_total: expected.records_total,
                    baseline: None,
                    baseline_memories: None,
                    sent_below: 0,
                    acked: Vec::new(),
                    complete: false,
                },
                acked: RangeSet::new(),
                resumed: false,
                _lock: lock,
            });
        };
        let data: CheckpointData = serde_json::from_slice(&text).map_err(|err| {
            fail(format!(
                "it is not a checkpoint of the loader ({err}); name another file, or delete \
                 this one to start over"
            ))
        })?;
        if data.format != FORMAT || data.version != VERSION {
            return Err(fail(format!(
                "it is a {:?} file of version {}, this loader writes {FORMAT:?} version {VERSION}",
                data.format, data.version
            )));
        }
        let other = |what: &str, theirs: &str, ours: &str| {
            fail(format!(
                "it belongs to another import: its {what} is {theirs}, this import's is {ours}; \
                 use another checkpoint file, or delete this one to start over (records it \
                 acknowledged would then be sent again)"
            ))
        };
        if data.api != expected.api {
            return Err(fail(format!(
                "it belongs to an import through the {} API, and this import goes through the \
                 {} API; resume it through the {} API, or use another checkpoint file for \
                 this one",
                data.api, expected.api, data.api
            )));
        }
        if data.kind != expected.kind {
            return Err(other("kind", &data.kind, expected.kind));
        }
        if &data.target != expected.target {
            let show = |t: &TargetRecord| {
                format!(
                    "cube {:?} of user {:?} at {}",
                    t.cube_id, t.user_id, t.base_url
                )
            };
            return Err(other("target", &show(&data.target), &show(expected.target)));
        }
        if data.options != expected.options {
            return Err(other("options", &data.options, expected.options));
        }
        if data.input_digest != expected.input_digest
            || data.records_total != expected.records_total
        {
            return Err(fail(format!(
                "the input changed since it was written ({} records then, {} now, or the files' \
                 content differs); an import can only resume over the same input. Use another \
                 checkpoint file, or delete this one to start over",
                data.records_total, expected.records_total
            )));
        }
        let mut data = data;
        // A `/product` checkpoint with an import id but no runs was written by a loader
        // that did not record them (or rewritten by one): whatever its runs sent is not
        // known to be the import's.
        if data.import_id.is_some() && data.runs.is_empty() {
            data.earlier_runs_unknown = true;
        }
        let acked = RangeSet::from_pairs(&data.acked);
        Ok(Checkpoint {
            path: path.to_path_buf(),
            data,
            acked,
            resumed: true,
            _lock: lock,
        })
    }

    /// Records `id` as the run now going through this checkpoint (saved with the next
    /// save, which must come before the run sends anything).
    pub(crate) fn start_run(&mut self, id: &str) {
        self.data.runs.push(RunRecord {
            id: id.to_owned(),
            acked: RangeSet::new(),
        });
    }

    /// Records `index` as acknowledged, the copy of run `run` (if recorded) as its kept one.
    pub(crate) fn ack(&mut self, index: u64, run: &str) {
        self.acked.insert(index);
        if let Some(record) = self.data.runs.iter_mut().rev().find(|r| r.id == run) {
            record.acked.insert(index);
        }
    }

    /// The bytes of the file as it would be saved now.
    pub(crate) fn snapshot(&self) -> Result<Vec<u8>, LoadError> {
        let mut data = self.data.clone();
        data.acked = self.acked.to_pairs();
        data.complete = self.acked.covers(data.records_total);
        let mut bytes = serde_json::to_vec_pretty(&data).map_err(|err| LoadError::Checkpoint {
            path: self.path.clone(),
            reason: format!("cannot encode it: {err}"),
        })?;
        bytes.push(b'\n');
        Ok(bytes)
    }

    /// Saves the current state (blocking: call it from a blocking thread).
    pub(crate) fn save_blocking(path: &Path, bytes: &[u8]) -> Result<(), LoadError> {
        write_atomic(path, bytes).map_err(|err| LoadError::Checkpoint {
            path: path.to_path_buf(),
            reason: format!("cannot write it: {err}; check that its folder exists and is writable"),
        })
    }

    /// Saves the current state on a blocking thread.
    pub(crate) async fn save(&self) -> Result<(), LoadError> {
        let bytes = self.snapshot()?;
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || Checkpoint::save_blocking(&path, &bytes))
            .await
            .map_err(|err| LoadError::Checkpoint {
                path: self.path.clone(),
                reason: format!("the writer thread failed: {err}"),
            })?
    }
}

/// Writes the checkpoint in the background, one write at a time (so that an older state
/// never lands after a newer one), and knows which `sent_below` is durably on disk.
pub(crate) struct Saver {
    pending: Option<(u64, tokio::task::JoinHandle<Result<(), LoadError>>)>,
    /// The `sent_below` of the last completed write.
    pub durable_sent_below: u64,
    last_start: std::time::Instant,
}

impl Saver {
    pub(crate) fn new(durable_sent_below: u64) -> Self {
        Self {
            pending: None,
            durable_sent_below,
            last_start: std::time::Instant::now(),
        }
    }

    pub(crate) fn busy(&self) -> bool {
        self.pending.is_some()
    }

    pub(crate) fn since_last_start(&self) -> std::time::Duration {
        self.last_start.elapsed()
    }

    /// Starts writing the current state; the caller checks that no write is in flight.
    pub(crate) fn start(&mut self, ck: &Checkpoint) -> Result<(), LoadError> {
        debug_assert!(self.pending.is_none());
        let bytes = ck.snapshot()?;
        let path = ck.path.clone();
        let handle = tokio::task::spawn_blocking(move || Checkpoint::save_blocking(&path, &bytes));
        self.pending = Some((ck.data.sent_below, handle));
        self.last_start = std::time::Instant::now();
        Ok(())
    }

    /// Waits for the write in flight, if any.
    pub(crate) async fn wait(&mut self) -> Result<(), LoadError> {
        let Some((sent_below, handle)) = self.pending.take() else {
            return Ok(());
        };
        handle.await.map_err(|err| LoadError::Checkpoint {
            path: PathBuf::new(),
            reason: format!("the writer thread failed: {err}"),
        })??;
        self.durable_sent_below = self.durable_sent_below.max(sent_below);
        Ok(())
    }

    /// Collects a finished write without waiting for an unfinished one.
    pub(crate) async fn collect(&mut self) -> Result<(), LoadError> {
        if self.pending.as_ref().is_some_and(|(_, h)| h.is_finished()) {
            self.wait().await?;
        }
        Ok(())
    }
}

/// Writes `bytes` to `path` so that a crash at any moment leaves either the old or the new
/// content: temporary file, fsync, rename, fsync of the folder. The temporary file is
/// created exclusively under a random name (`O_EXCL`), so a link planted next to the
/// checkpoint cannot redirect the write.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = folder_of(path);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "checkpoint".to_owned());
    let mut tmp = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".tmp")
        .tempfile_in(&dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    // On failure the temporary file is removed when the error drops it.
    tmp.persist(path).map_err(|err| err.error)?;
    // The rename is durable only once the folder's entry is on disk.
    if let Ok(dir) = File::open(&dir) {
        let _ = dir.sync_all();
    }
    Ok(())
}

fn folder_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// The lock of a checkpoint, held for a whole import: a file `<checkpoint>.lock` next to
/// it, locked with `flock` (released by the system when the process ends, however it
/// ends), holding the holder's process id and start time so that a refusal can name it.
///
/// The checkpoint itself cannot be locked: every save replaces it with a new file. The
/// lock file is left in place: deleting it would let a third import lock a new file while
/// a second still waits on the old one.
#[derive(Debug)]
pub(crate) struct CheckpointLock {
    _file: File,
}

impl CheckpointLock {
    pub(crate) fn acquire(checkpoint: &Path) -> Result<Self, LoadError> {
        let mut lock_path = checkpoint.as_os_str().to_owned();
        lock_path.push(".lock");
        let lock_path = PathBuf::from(lock_path);
        let fail = |reason: String| LoadError::Checkpoint {
            path: checkpoint.to_path_buf(),
            reason,
        };
        // Writing through a planted link would truncate whatever it points to.
        if fs::symlink_metadata(&lock_path).is_ok_and(|m| m.file_type().is_symlink()) {
            return Err(fail(format!(
                "its lock file {} is a symbolic link; remove it",
                lock_path.display()
            )));
        }
        let mut file = fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&lock_path)
            .map_err(|err| {
                fail(format!(
                    "cannot open its lock file {}: {err}",
                    lock_path.display()
                ))
            })?;
        match file.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = io::Read::read_to_string(&mut file, &mut holder);
                return Err(fail(format!(
                    "it is in use by another import ({}); wait for that import to end, or use \
                     another checkpoint file",
                    describe_holder(&holder)
                )));
            }
            Err(fs::TryLockError::Error(err)) => {
                return Err(fail(format!("cannot lock {}: {err}", lock_path.display())))
            }
        }
        let started = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        // Best effort: the lock holds without the note.
        let _ = file
            .set_len(0)
            .and_then(|()| writeln!(file, "pid={} started={started}", std::process::id()));
        Ok(Self { _file: file })
    }
}

/// The holder as its lock file names it: `process 1234, started 2026-... (unix time)`.
fn describe_holder(note: &str) -> String {
    let field = |name: &str| {
        note.split_whitespace()
            .find_map(|part| part.strip_prefix(name)?.strip_prefix('='))
            .and_then(|value| value.parse::<u64>().ok())
    };
    match (field("pid"), field("started")) {
        (Some(pid), Some(started)) => {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            format!(
                "process {pid}, started {} s ago",
                now.saturating_sub(started)
            )
        }
        (Some(pid), None) => format!("process {pid}"),
        _ => "a process that has not named itself yet".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The target every test's checkpoint is for.
    fn target() -> TargetRecord {
        TargetRecord {
            base_url: "http://127.0.0.1:1".into(),
            user_id: "u".into(),
            cube_id: "c".into(),
        }
    }

    fn expected<'a>(target: &'a TargetRecord) -> Expected<'a> {
        Expected {
            kind: "content",
            api: "v1",
            target,
            input_digest: "abc",
            options: "content chunk_size=10 per_line=false",
            inputs: vec!["a.txt".into()],
            records_total: 5,
        }
    }

    /// The temporary file is created exclusively under a random name: a link planted at a
    /// predictable name (before: `.<name>.<pid>.tmp`, opened with `File::create`, which
    /// follows links) cannot redirect the write.
    #[test]
    fn a_planted_link_does_not_redirect_the_write() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ck.json");
        let victim = dir.path().join("victim");
        fs::write(&victim, b"keep me").unwrap();
        let planted = dir
            .path()
            .join(format!(".ck.json.{}.tmp", std::process::id()));
        std::os::unix::fs::symlink(&victim, &planted).unwrap();
        write_atomic(&path, b"{}").unwrap();
        assert_eq!(fs::read(&victim).unwrap(), b"keep me");
        assert_eq!(fs::read(&path).unwrap(), b"{}");
    }

    #[test]
    fn round_trip_and_mismatch() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ck.json");
        let target = target();
        let mut ck = Checkpoint::open(&path, expected(&target)).unwrap();
        assert!(!ck.resumed);
        ck.acked.insert(0);
        ck.acked.insert(1);
        ck.data.sent_below = 4;
        Checkpoint::save_blocking(&path, &ck.snapshot().unwrap()).unwrap();
        let err = Checkpoint::open(&path, expected(&target))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(&format!(
                "in use by another import (process {}",
                std::process::id()
            )),
            "{err}"
        );
        assert!(!err.contains("  "), "one line, single spaces: {err}");
        drop(ck);
        let again = Checkpoint::open(&path, expected(&target)).unwrap();
        assert!(again.resumed);
        assert_eq!(again.acked.to_pairs(), vec![[0, 2]]);
        assert_eq!(again.data.sent_below, 4);
        drop(again);

        let other = TargetRecord {
            cube_id: "d".into(),
            ..target.clone()
        };
        let err = Checkpoint::open(&path, expected(&other))
            .unwrap_err()
            .to_string();
        assert!(err.contains("another import"), "{err}");
        let mut changed = expected(&target);
        changed.input_digest = "def";
        let err = Checkpoint::open(&path, changed).unwrap_err().to_string();
        assert!(err.contains("input changed"), "{err}");

        fs::write(&path, b"{not json").unwrap();
        let err = Checkpoint::open(&path, expected(&target))
            .unwrap_err()
            .to_string();
        assert!(err.contains("not a checkpoint"), "{err}");
    }

    #[test]
    fn a_checkpoint_of_one_api_is_refused_by_the_other_and_old_ones_are_v1() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ck.json");
        let target = target();
        let mut ck = Checkpoint::open(&path, expected(&target)).unwrap();
        ck.data.import_id = Some("imp".into());
        Checkpoint::save_blocking(&path, &ck.snapshot().unwrap()).unwrap();
        drop(ck);
        let mut product = expected(&target);
        product.api = "product";
        let err = Checkpoint::open(&path, product).unwrap_err().to_string();
        assert!(
            err.contains("through the v1 API, and this import goes through the product API"),
            "{err}"
        );
        let again = Checkpoint::open(&path, expected(&target)).unwrap();
        assert_eq!(again.data.import_id.as_deref(), Some("imp"));
        drop(again);

        // A checkpoint of a loader that knew only v1 has no `api`: it is a v1 one.
        let mut value: serde_json::Value =
            serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
        let object = value.as_object_mut().unwrap();
        object.remove("api");
        object.remove("import_id");
        fs::write(&path, serde_json::to_vec(&value).unwrap()).unwrap();
        let old = Checkpoint::open(&path, expected(&target)).unwrap();
        assert!(old.resumed);
        assert_eq!(
            (old.data.api.as_str(), old.data.import_id.as_deref()),
            ("v1", None)
        );
    }

    #[test]
    fn runs_are_saved_and_an_older_loaders_file_knows_none() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ck.json");
        let target = target();
        let mut product = expected(&target);
        product.api = "product";
        let mut ck = Checkpoint::open(&path, product).unwrap();
        ck.data.import_id = Some("imp".into());
        ck.start_run("run-a");
        ck.ack(0, "run-a");
        ck.ack(1, "run-a");
        ck.start_run("run-b");
        ck.ack(3, "run-b");
        ck.ack(4, "not-a-run");
        Checkpoint::save_blocking(&path, &ck.snapshot().unwrap()).unwrap();
        drop(ck);
        let mut product = expected(&target);
        product.api = "product";
        let again = Checkpoint::open(&path, product).unwrap();
        assert_eq!(again.acked.to_pairs(), vec![[0, 2], [3, 5]]);
        let runs: Vec<_> = again
            .data
            .runs
            .iter()
            .map(|r| (r.id.as_str(), r.acked.to_pairs()))
            .collect();
        assert_eq!(runs, [("run-a", vec![[0, 2]]), ("run-b", vec![[3, 4]])]);
        assert!(!again.data.earlier_runs_unknown);
        drop(again);

        // An older loader wrote no runs: the runs before this one are unknown, and stay so.
        let mut value: serde_json::Value =
            serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
        value.as_object_mut().unwrap().remove("runs");
        fs::write(&path, serde_json::to_vec(&value).unwrap()).unwrap();
        let mut product = expected(&target);
        product.api = "product";
        let mut old = Checkpoint::open(&path, product).unwrap();
        assert!(old.data.earlier_runs_unknown && old.data.runs.is_empty());
        old.start_run("run-c");
        Checkpoint::save_blocking(&path, &old.snapshot().unwrap()).unwrap();
        drop(old);
        let mut product = expected(&target);
        product.api = "product";
        let again = Checkpoint::open(&path, product).unwrap();
        assert!(again.data.earlier_runs_unknown);
        assert_eq!(again.data.runs.len(), 1);
    }
}
