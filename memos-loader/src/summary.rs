//! What an import reports: progress events while it runs, a summary at the end.

use std::path::PathBuf;
use std::sync::Arc;

use serde::Serialize;

use crate::item::{InvalidRecord, Location};

/// Something that happened during an import, for progress displays.
#[derive(Debug)]
#[non_exhaustive]
pub enum Event<'a> {
    /// An invalid record was found while validating (before anything is sent). `skipped`
    /// is true when the import goes on without it.
    Invalid {
        /// The record and why it is invalid.
        record: &'a InvalidRecord,
        /// Whether it is skipped (`skip_invalid`) rather than stopping the import.
        skipped: bool,
    },
    /// Validation finished.
    Validated {
        /// Valid records.
        records: u64,
        /// Invalid records.
        invalid: u64,
    },
    /// Records in doubt from an interrupted run were checked against the server.
    Reconciled(&'a Reconciliation),
    /// Sending starts.
    Started {
        /// Valid records in the input.
        total: u64,
        /// Of which acknowledged by earlier runs (not sent again).
        done: u64,
    },
    /// The server acknowledged a record.
    Acked {
        /// The record's index.
        index: u64,
    },
    /// A record failed for good (after retries).
    Failed {
        /// The record's index.
        index: u64,
        /// Where it is in the input.
        location: &'a Location,
        /// What the server (or the network) said.
        error: &'a str,
    },
    /// A record is sent again after an answer that proves the server did not take it (a 429,
    /// or a 503 with `Retry-After`), once the client's own retries were spent.
    Retrying {
        /// Where it is in the input.
        location: &'a Location,
        /// The answer.
        error: &'a str,
    },
    /// The import stops before the end (interrupted, or too many failures in a row).
    Stopping {
        /// Why.
        reason: &'a str,
    },
}

/// A progress callback. It is called from the import's tasks and threads, so it must be
/// quick and thread-safe.
pub type ProgressFn = Arc<dyn Fn(&Event<'_>) + Send + Sync>;

/// The outcome of checking records in doubt (sent by an interrupted run, but not known to
/// be acknowledged) against the memories the server lists.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Reconciliation {
    /// Records in doubt.
    pub in_doubt: u64,
    /// Found on the server: not sent again.
    pub present: u64,
    /// Not found: sent.
    pub missing: u64,
    /// Sessions of which some messages were found: only the others are sent.
    pub partial: u64,
    /// Could not be checked: sent, so they may be duplicated.
    pub cannot_tell: u64,
    /// `/product` only: records of which the cube held a second copy (an add of a killed
    /// run that the server carried out after a later run had found the record missing and
    /// sent it again); the nodes of all copies but one were deleted.
    #[serde(skip_serializing_if = "is_zero")]
    pub duplicates_removed: u64,
    /// `/product` only: memories carrying this import's marker with a run the checkpoint
    /// never recorded (or no run): copies anyone who can read and write the cube may have
    /// made. They are never deleted and never make a record count as stored: a record in
    /// doubt with only such memories is sent again.
    #[serde(skip_serializing_if = "is_zero")]
    pub foreign_markers: u64,
    /// Graph nodes (`tree_text`) whose `metadata.sources` could not be read: left out of
    /// the check.
    #[serde(skip_serializing_if = "is_zero")]
    pub ignored_nodes: u64,
    /// Why they could not be checked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// A record the server did not acknowledge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FailedRecord {
    /// The record's index.
    pub index: u64,
    /// Where it is in the input.
    pub location: Location,
    /// What the server (or the network) said.
    pub error: String,
    /// The record is in doubt: the server may have stored it (the answer was lost to a
    /// reset or a timeout, or was a 5xx such as a bare 503 that does not prove otherwise;
    /// see `memos_api::Error::may_have_been_applied`). An import resumed from its
    /// checkpoint checks such records against the server before sending them again.
    pub answer_lost: bool,
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Summary {
    /// `messages`, `content`, `documents` or `server-documents`.
    pub kind: String,
    /// Nothing was sent (`dry_run`).
    pub dry_run: bool,
    /// Valid records read from the input.
    pub records_read: u64,
    /// The memories those records make on a `naive_text` or `general_text` server (one per
    /// message, one per content record; on `tree_text` the extractor decides).
    pub memories_in_input: u64,
    /// Records sent in this run (each once; retries after a refusal not counted).
    pub records_sent: u64,
    /// Records the server acknowledged in this run.
    pub records_acked: u64,
    /// Records acknowledged by earlier runs (from the checkpoint), not sent.
    pub already_imported: u64,
    /// Invalid records left out (`skip_invalid`).
    pub skipped: u64,
    /// Records that failed in this run.
    pub failed: u64,
    /// Of the failed records, those in doubt (they may be stored; see
    /// [`FailedRecord::answer_lost`]).
    pub answer_lost: u64,
    /// Records sent although they may already have been stored (see `reconciliation`).
    pub possibly_duplicated: u64,
    /// Records not acknowledged at the end (failed, or not sent because the run stopped).
    pub remaining: u64,
    /// The doc_path import's effect: memories added to the cube.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memories_added: Option<u64>,
    /// The check of records in doubt, on resume.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reconciliation: Option<Reconciliation>,
    /// The run was cancelled.
    pub interrupted: bool,
    /// Why the run stopped before the end, if it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped_early: Option<String>,
    /// Wall time of the whole import, in seconds.
    pub elapsed_secs: f64,
    /// Acknowledged records per second of wall time.
    pub records_per_sec: f64,
    /// The checkpoint file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<PathBuf>,
    /// The invalid records left out (the first `max_details`).
    pub skipped_records: Vec<InvalidRecord>,
    /// The failed records (the first `max_details`).
    pub failures: Vec<FailedRecord>,
    /// Links in documents folders that point outside them, left out (see
    /// [`DocumentOptions::follow_links`](crate::DocumentOptions::follow_links)).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub skipped_links: Vec<PathBuf>,
    /// Inputs that grew after they were validated (a live log): only what they held when
    /// the import started was imported; what was appended is for a later import.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub grown_inputs: Vec<String>,
}

impl Summary {
    /// Every record is acknowledged (now or before) and the run was not cut short.
    pub fn is_complete(&self) -> bool {
        self.remaining == 0 && self.failed == 0 && !self.interrupted && self.stopped_early.is_none()
    }
}
