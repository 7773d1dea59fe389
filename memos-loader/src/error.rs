//! The loader's error type: what failed, where, and what to do about it.

use std::path::PathBuf;

use crate::item::InvalidRecord;

/// Why an import (or its set-up) could not be carried out.
///
/// Failures of single records during an import are not errors: they are counted in the
/// [`Summary`](crate::Summary). These are the failures that stop the whole import, most of
/// them before anything is sent.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// An input file or directory could not be opened or read.
    #[error("cannot read {path}: {reason}")]
    Read {
        /// The path, as the user gave it (or `<stdin>`).
        path: PathBuf,
        /// The OS error or what is wrong.
        reason: String,
    },
    /// The input's structure is broken beyond one record (e.g. an unterminated JSON array),
    /// so no further record can be read. Nothing was sent.
    #[error("{path}:{line}: {reason}\n  hint: fix the file; nothing was sent")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// The line where reading stopped.
        line: u64,
        /// What is wrong.
        reason: String,
    },
    /// Some records are invalid and `skip_invalid` is off. Nothing was sent.
    #[error("{}", invalid_message(*.count, .first))]
    InvalidInput {
        /// How many records are invalid.
        count: u64,
        /// The first of them (at most 20).
        first: Vec<InvalidRecord>,
    },
    /// The user or cube is missing or unreachable, or creating it failed.
    #[error("{what}: {source}{}", hint.as_ref().map(|h| format!("\n  hint: {h}")).unwrap_or_default())]
    Setup {
        /// What was being checked or done.
        what: String,
        /// The server's answer (boxed: the client's error is large).
        #[source]
        source: Box<memos_api::Error>,
        /// What to do.
        hint: Option<String>,
    },
    /// The server's answer makes the requested set-up impossible (e.g. the user name
    /// belongs to another user).
    #[error("{0}")]
    Conflict(String),
    /// A request of the import itself (not of one record) failed.
    #[error(transparent)]
    Api(Box<memos_api::Error>),
    /// The checkpoint file cannot be read or written.
    #[error("checkpoint {path}: {reason}")]
    Checkpoint {
        /// The checkpoint file.
        path: PathBuf,
        /// What is wrong and what to do.
        reason: String,
    },
    /// The server answered a `doc_path` import with success but stored nothing.
    #[error(
        "the server answered 200 to the doc_path import of {dir:?} but stored nothing \
         (the cube held {before} memories before and {after} after); this is a known defect of \
         the reference server's document reader (MemOS 2.0.10), whose error goes only to the \
         server log\n  hint: import the files from this machine instead: memos load docs PATH"
    )]
    StoredNothing {
        /// The server-side directory.
        dir: String,
        /// Memories before.
        before: usize,
        /// Memories after.
        after: usize,
    },
    /// The options make no sense (e.g. a chunk size of 0).
    #[error("invalid option: {0}")]
    Options(String),
}

impl From<memos_api::Error> for LoadError {
    fn from(err: memos_api::Error) -> Self {
        LoadError::Api(Box::new(err))
    }
}

fn invalid_message(count: u64, first: &[InvalidRecord]) -> String {
    let mut out = format!(
        "{count} invalid record{} in the input; nothing was sent",
        if count == 1 { "" } else { "s" }
    );
    for record in first {
        out.push_str(&format!("\n  {record}"));
    }
    if count > first.len() as u64 {
        out.push_str(&format!("\n  ... and {} more", count - first.len() as u64));
    }
    out.push_str("\n  hint: fix them, or pass --skip-invalid to import the valid records and report the others");
    out
}
