//! A conformance suite for MemOS REST servers.
//!
//! It tells the operator of a deployed MemOS server, in one command, whether the server
//! conforms to `openapi/memos.yaml`, and tells CI whether the client still matches the
//! real reference server.
//!
//! * [`cases`]: named cases grouped by endpoint: each operation's success path with the
//!   state it must leave, the error paths, auth, and security probes (warnings).
//! * [`check`]: the checks every exchange gets: answered, not a server error, status
//!   documented, content type documented, body valid against the spec's JSON Schema,
//!   envelope `code` equal to the status.
//! * [`snapshot`], [`normalize`], [`mock`]: each case's exchanges, normalised, are
//!   recorded from the reference server into `snapshots/<case>.snap`; insta verifies
//!   them and the embedded mock replays them.
//! * [`defects`]: known defects of a server version; a run passes when only those fail.
//! * [`runner`] and [`report`]: running with timeouts, and the text, JSON and JUnit
//!   reports.
//!
//! ```no_run
//! # async fn demo() {
//! use memos_conformance::{report::Format, runner};
//!
//! let output = runner::run(runner::RunOptions::mock()).await;
//! print!("{}", output.report.render(Format::Text));
//! assert!(output.report.summary.success);
//! # }
//! ```

#![warn(missing_docs)]

pub mod cases;
pub mod check;
pub mod context;
pub mod defects;
pub mod exchange;
pub mod json;
pub mod mock;
pub mod normalize;
pub mod proxy;
pub mod recorder;
pub mod report;
pub mod runner;
pub mod schema;
pub mod snapshot;
pub mod spec;
