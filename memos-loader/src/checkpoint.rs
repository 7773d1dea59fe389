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
//! * **Small**: `acked` is stored as ranges, so it stays a few bytes for an import that runs
//!   in order, however long.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::LoadError;
use crate::rangeset::RangeSet;

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
    pub target: TargetRecord,
    /// The input files, for people reading the file.
    pub inputs: Vec<String>,
    pub input_digest: String,
    pub options: String,
    pub records_total: u64,
    /// How many memories the cube held before the first record was sent (`None` when the
    /// cube could not be listed as a list); on resume, the listing after these is what this
    /// import added.
    pub baseline_memories: Option<u64>,
    /// Every record that may have been sent has a lower index.
    pub sent_below: u64,
    /// Acknowledged records as `[start, end)` ranges.
    pub acked: Vec<[u64; 2]>,
    /// Every record is acknowledged.
    pub complete: bool,
}

/// What a checkpoint must match to be used.
pub(crate) struct Expected<'a> {
    pub kind: &'a str,
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
}

impl Checkpoint {
    /// Loads `path` if it exists and checks that it belongs to this import; otherwise
    /// starts a new one (not yet saved).
    pub(crate) fn open(path: &Path, expected: Expected<'_>) -> Result<Checkpoint, LoadError> {
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
                    target: expected.target.clone(),
                    inputs: expected.inputs,
                    input_digest: expected.input_digest.to_owned(),
                    options: expected.options.to_owned(),
                    records_total: expected.records_total,
                    baseline_memories: None,
                    sent_below: 0,
                    acked: Vec::new(),
                    complete: false,
                },
                acked: RangeSet::new(),
                resumed: false,
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
        let acked = RangeSet::from_pairs(&data.acked);
        Ok(Checkpoint {
            path: path.to_path_buf(),
            data,
            acked,
            resumed: true,
        })
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

/// Writes the checkpoint in the background, one write at a time (two writers would share
/// the temporary file), and knows which `sent_below` is durably on disk.
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
/// content: temporary file, fsync, rename, fsync of the folder.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "checkpoint".to_owned());
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut file = File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        fs::rename(&tmp, path)?;
        // The rename is durable only once the folder's entry is on disk.
        if let Ok(dir) = File::open(&dir) {
            let _ = dir.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expected<'a>(target: &'a TargetRecord) -> Expected<'a> {
        Expected {
            kind: "content",
            target,
            input_digest: "abc",
            options: "content chunk_size=10 per_line=false",
            inputs: vec!["a.txt".into()],
            records_total: 5,
        }
    }

    #[test]
    fn round_trip_and_mismatch() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ck.json");
        let target = TargetRecord {
            base_url: "http://127.0.0.1:1".into(),
            user_id: "u".into(),
            cube_id: "c".into(),
        };
        let mut ck = Checkpoint::open(&path, expected(&target)).unwrap();
        assert!(!ck.resumed);
        ck.acked.insert(0);
        ck.acked.insert(1);
        ck.data.sent_below = 4;
        Checkpoint::save_blocking(&path, &ck.snapshot().unwrap()).unwrap();
        let again = Checkpoint::open(&path, expected(&target)).unwrap();
        assert!(again.resumed);
        assert_eq!(again.acked.to_pairs(), vec![[0, 2]]);
        assert_eq!(again.data.sent_below, 4);

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
}
