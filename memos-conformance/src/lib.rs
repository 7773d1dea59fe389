//! A conformance suite for MemOS REST servers.
//!
//! It tells the operator of a deployed MemOS server, in one command, whether the server
//! conforms to `openapi/memos.yaml`, and tells CI whether the client still matches the
//! real reference server.
//!
//! The suite is a list of named [`cases`], grouped by endpoint: each operation's success
//! path with the state it must leave, the error paths, auth, and security probes
//! (warnings). Every exchange is also checked against the spec ([`CheckKind`]): answered,
//! not a server error, status and content type documented, body valid against the
//! spec's JSON Schema, envelope `code` equal to the status. Each case's exchanges,
//! normalised, are recorded from the reference server into `snapshots/<case>.snap`
//! ([`snapshot`]; the product suite's from the product server into
//! `snapshots/product/`); the tests compare them with insta and the embedded mock
//! replays them ([`RunOptions::mock`], [`RunOptions::product_mock`]).
//! A server version's known defects on its storage [`Backend`] (learned from the server's
//! answers about the run's own first cube, or given) fail as [`Outcome::KnownDefect`] and
//! do not fail the run.
//!
//! [`run`] runs the cases selected by [`RunOptions`] against a [`Target`] and returns
//! the [`Report`] (text, JSON or JUnit, see [`Format`]) and the snapshots.
//!
//! ```no_run
//! # async fn demo() {
//! use memos_conformance::{run, Format, RunOptions};
//!
//! let output = run(RunOptions::mock()).await;
//! print!("{}", output.report.render(Format::Text));
//! assert!(output.report.summary.success);
//! # }
//! ```

#![warn(missing_docs)]

// `cli.rs` is compiled here and into the binary, and names this library the same way in both.
extern crate self as memos_conformance;

// Only the binary reads the parsed fields; here the module only describes the command.
#[allow(dead_code)]
mod cli;

/// The `memos-conformance` command line (its clap definition), for its man page and completions.
pub fn command() -> clap::Command {
    <cli::Args as clap::CommandFactory>::command()
}

mod api;
mod backend;
mod backend_probe;
mod case_state;
mod cases;
mod check;
mod context;
mod defects;
mod exchange;
mod json;
mod listing;
mod mock;
mod normalize;
mod product;
mod proxy;
mod recorder;
mod redact;
pub mod report;
mod runner;
mod schema;
pub mod snapshot;
mod spec;
mod storage_proof;

pub use api::Api;
pub use backend::{Backend, BackendSource};
pub use cases::{all as cases, Case};
pub use check::CheckKind;
pub use defects::{list_for as known_defects, DefectList, KnownDefect, REFERENCE_KEY};
pub use exchange::parse_base_url;
pub use json::Json;
pub use report::{CaseReport, Format, Outcome, Report};
pub use runner::{run, select, select_for, RunOptions, RunOutput, Target};
/// The spec's OpenAPI 3.0 schemas as JSON Schema, for xtask's check of the spec's examples.
pub use schema::{convert_components, CompiledSchema};
