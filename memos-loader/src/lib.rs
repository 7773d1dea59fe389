//! Bulk imports into a [MemOS](https://github.com/MemTensor/MemOS) cube: chat sessions,
//! text such as command output, and documents, sent through [`memos_api::v1::Client`] (the v1
//! API) or [`memos_api::product::Client`] (the `/product` API of MemoryOS 2.x; see
//! [`Server`]) with bounded concurrency, validated before anything is sent, and resumable
//! after a crash.
//!
//! There are three input kinds ([`Source`]): **messages** (chat sessions from JSONL, a JSON
//! array of sessions or OpenAI-style `{"messages": [...]}` files; one record per session),
//! **content** (files or standard input cut into chunks of lines, or one record per line)
//! and **documents** (files and folders on this machine cut into chunks of paragraphs).
//! [`import_server_dir`] is the fourth way in, for a folder on the *server*.
//!
//! With a checkpoint file ([`LoadOptions::checkpoint`]) an import is exactly-once across
//! runs: an import stopped at any point (Ctrl-C, `kill -9`, a lost network) and started
//! again sends nothing the server acknowledged, and checks the records whose answer never
//! came against the cube's memories before sending them again ([`Reconciliation`]), so
//! nothing is lost and nothing is stored twice; a finished import run again sends nothing.
//!
//! ```no_run
//! use memos_loader::{self as loader, Input, LoadOptions, MessageOptions, Source, Target};
//!
//! # async fn demo(client: memos_api::v1::Client) -> Result<(), loader::LoadError> {
//! loader::ensure_user(&client, "alice").await?;
//! loader::ensure_cube(&client, "alice", "notes", "/srv/memos/cubes/notes").await?;
//! let source = Source::Messages {
//!     inputs: vec![Input::Path("chats.jsonl".into())],
//!     options: MessageOptions::default(),
//! };
//! let target = Target { user_id: "alice".into(), cube_id: "notes".into() };
//! let options = LoadOptions {
//!     concurrency: 8,
//!     checkpoint: Some("chats.checkpoint".into()),
//!     ..LoadOptions::default()
//! };
//! let summary = loader::import(&client, &target, &source, &options).await?;
//! println!("{} of {} records stored", summary.records_acked, summary.records_read);
//! # Ok(()) }
//! ```
//!
//! Errors ([`LoadError`]) name library options (`skip_invalid`, [`ensure_user`], ...);
//! [`LoadError::hint`] tells a front end which remedy applies, so that it can word it in its
//! own terms (the `memos` command names its flags).
//!
//! # The import patterns, and what one record is
//!
//! | pattern | input | one record | request |
//! |---|---|---|---|
//! | messages | JSONL, JSON array of sessions, OpenAI `{"messages": [...]}` ([`records`]) | one session | `messages` |
//! | content | files or standard input | a chunk of lines up to `chunk_size` characters, or one line (`per_line`) | `memory_content` |
//! | documents | files and folders on this machine | a chunk of paragraphs up to `chunk_size` characters | `memory_content` |
//!
//! `doc_path` (a folder on the *server*) is [`import_server_dir`]; the reference server
//! stores nothing for it, which that function detects and reports as a failure. On the
//! `/product` API it is refused: MemoryOS 2.0.33 stores `"[File: unknown]"` for it.
//!
//! # The two APIs
//!
//! [`import`] and the set-up functions take a [`Server`]: `&Client` (v1) and
//! `&product::Client` (`/product`) both convert into it.
//!
//! | | v1 ([`memos_api::v1::Client`]) | `/product` ([`memos_api::product::Client`]) |
//! |---|---|---|
//! | one record | `POST /memories` (`messages` or `memory_content`) | `POST /product/add` with `async_mode: sync`, `mode: fast`, `writable_cube_ids: [cube]` and the record's marker in `info` |
//! | acknowledged by | a 200 | a 200 envelope (`code` 200): sync mode answers once every node is stored |
//! | set-up ([`ensure_user`], [`ensure_cube`]) | creates the user, registers the cube | nothing to do ([`Ensured::NotNeeded`]): the server takes any user id, the first add creates the cube |
//! | roles of messages | any | `user`, `assistant`, `system` only ([`LoadError::UnsupportedRoles`] before anything is sent; `system` text is not stored) |
//! | records in doubt on resume | by the cube's texts (the table below) | by the marker, exactly |
//!
//! A checkpoint records its API; a checkpoint of one API is refused by an import through
//! the other.
//!
//! # Guarantees
//!
//! * **Validated first**: the whole input is read before anything is sent; an invalid
//!   record fails the import with its file, line and reason, unless `skip_invalid` is set
//!   (then every skipped record is reported).
//! * **Flat memory**: input is streamed, a few records per request in flight are held; the
//!   checkpoint stores ranges.
//! * **No duplicates from retries**: a record is sent again within a run only after an
//!   answer that proves the server did not take it (a 429, or a 503 with `Retry-After`);
//!   any other failure leaves it in doubt, to be checked on resume.
//! * **A fixed input**: every pass reads each file only up to the size it had when the
//!   import started, so a log appended to during an import is imported up to that point
//!   ([`Summary::grown_inputs`]); a file rewritten or truncated meanwhile stops the import
//!   ([`LoadError::InputChanged`]). Pipes are copied once, like standard input; devices are
//!   refused.
//! * **One import per checkpoint**: the checkpoint is locked for the whole import (a
//!   `<checkpoint>.lock` file next to it); a second import with it is refused, naming the
//!   holder.
//!
//! # Storage backends
//!
//! How records in doubt are found on resume depends on how the cube's backend lists its
//! memories; no check relies on the order of the listing, and what the cube held before
//! the import is left out by id (saved in the checkpoint when the import starts: only the
//! memories that hold a text of the input).
//!
//! | backend | a cube lists | a record in doubt is found by |
//! |---|---|---|
//! | `naive_text` | memories in insertion order, each text verbatim | counting copies of its texts; a session can be found in part and is then sent with only its missing messages |
//! | `general_text` | the same, in random order | the same |
//! | `tree_text` | a graph of nodes, newest first; each node's text is the extractor's | its nodes' `metadata.sources`, the messages they were extracted from; a session is found whole or not at all |
//!
//! On `tree_text`, copies of one record (the same messages, e.g. the same line imported
//! twice) cannot be told apart by their nodes: when such a copy is in doubt while another
//! was acknowledged, it is sent again and counted in [`Summary::possibly_duplicated`].
//! Nodes whose sources cannot be read are left out and counted
//! ([`Reconciliation::ignored_nodes`]).
//!
//! On the `/product` API every record's add carries a marker in `info`:
//! `{"memos_load_import": <import id>, "memos_load_record": <index>, "memos_load_run":
//! <run id>}`, flat strings. The
//! server keeps `info` verbatim in `metadata.info` of every node it makes of the add, and
//! the import id is random per import and saved in the checkpoint before the first record
//! is sent. A resume reads the cube once (`POST /product/get_memory`, only `text_mem`) and
//! counts a record in doubt as present when a node carries its marker: copies of one
//! record are told apart, what the cube held before needs no baseline, and
//! [`Summary::possibly_duplicated`] stays 0. A record the server makes no node of (a
//! session of `system` messages only) is never found: when in doubt it is sent again, and
//! stores nothing again.
//!
//! The server finishes an add even when the client that sent it is gone, and runs adds in
//! parallel, so an add a killed run had in flight can land after the next run found its
//! record missing and sent it again. The marker also names the run
//! (`"memos_load_run"`), and the checkpoint records every run's id before the run sends
//! anything: a resume, and the end of a run that resumed records in doubt, delete the
//! nodes of all runs but one of such a record ([`Reconciliation::duplicates_removed`]),
//! keeping the copy whose add was acknowledged. A node whose marker names a run the
//! checkpoint never recorded (or none) is not the import's: it is never deleted, a record
//! in doubt with only such nodes is sent again, and they are counted
//! ([`Reconciliation::foreign_markers`]).
//!
//! That read is one answer holding every node of the cube (MemoryOS 2.0.33 ignores `page`
//! and `page_size`; the loader turns off the three other buckets with the `include_*`
//! flags, which would repeat the text memories), about 1.3 KB per node of a short session:
//! the client's default cap of 64 MiB ([`memos_api::DEFAULT_MAX_RESPONSE_BYTES`]) holds a
//! cube of about 50,000 such nodes. A resume into a larger cube fails with
//! [`memos_api::Error::ResponseTooLarge`] before sending anything; raise the cap
//! ([`memos_api::ClientBuilder::max_response_bytes`]) to resume it.

#![warn(missing_docs)]

mod checkpoint;
mod chunk;
mod content;
mod cube;
mod docs;
mod engine;
mod error;
#[cfg(test)]
mod fuzz;
mod input;
mod item;
mod jsonscan;
mod lines;
mod messages;
mod rangeset;
mod reader;
mod reconcile;
pub mod records;
mod request;
mod server;
mod setup;
mod source;
mod summary;

pub use content::ContentOptions;
pub use docs::DocumentOptions;
pub use engine::{import, import_server_dir, validate_source, LoadOptions, ValidatedImport};
pub use error::{Hint, LoadError};
pub use input::Input;
pub use item::{InvalidRecord, Location, Payload, Record};
pub use messages::MessageOptions;
pub use server::{Api, Server};
pub use setup::{ensure_cube, ensure_user, verify_cube, verify_user, Ensured, Target};
pub use source::Source;
pub use summary::{Event, FailedRecord, ProgressFn, Reconciliation, Summary};
/// Asks a running import to stop ([`LoadOptions::cancel`]): no new record is sent, those in
/// flight are waited for, the checkpoint is saved and the summary says `interrupted`.
pub use tokio_util::sync::CancellationToken;

/// Reads `source` without sending anything: each record (`Ok`) or invalid record (`Err`),
/// in input order, numbered as an import numbers them. Blocking; standard input is read
/// to its end first.
pub fn read(source: &Source) -> Result<Records, LoadError> {
    let prepared = source.prepare()?;
    let pass = prepared.pass();
    Ok(Records { pass })
}

/// The records of a [`read`].
pub struct Records {
    pass: source::Pass,
}

impl Iterator for Records {
    type Item = Result<Result<Record, InvalidRecord>, LoadError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.pass.next_item().transpose()
    }
}
