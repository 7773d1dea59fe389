//! Installs and runs the reference MemOS server (`memos.api.start_api:app` from PyPI
//! `MemoryOS==2.0.10`) offline on 127.0.0.1, with a fake OpenAI-compatible LLM written
//! in Rust, for tests and for people.
//!
//! ```no_run
//! # async fn demo() -> Result<(), memos_refserver::Error> {
//! use memos_refserver::{ReferenceServer, StartOptions};
//!
//! // One server per test binary ...
//! let server = ReferenceServer::shared().await?;
//! // ... or a private one, stopped when dropped.
//! let own = ReferenceServer::start(StartOptions::default()).await?;
//! println!("{} {:?}", server.base_url(), own.cube_dirs());
//! # Ok(()) }
//! ```
//!
//! In a test, skip (or, in CI, fail) when Python is missing; [`testing::shared_or_skip`]
//! does this in one call:
//!
//! ```no_run
//! # async fn demo() {
//! use memos_refserver::{testing, ReferenceServer};
//!
//! let server = match ReferenceServer::shared().await {
//!     Ok(server) => server,
//!     Err(e) if e.is_python_missing() && !testing::in_ci() => {
//!         eprintln!("skipped: {e}");
//!         return;
//!     }
//!     Err(e) => panic!("{e}"),
//! };
//! // One reqwest client per test: a client is tied to the runtime it first ran on.
//! let http = reqwest::Client::builder().no_proxy().build().unwrap();
//! let users = http.get(format!("{}/users", server.base_url())).send().await.unwrap();
//! # let _ = users; }
//! ```
//!
//! The first call installs the venv (about 90 s cold, then reused) and each server
//! start takes about 5 s, so prefer `shared()` and give each test its own cube ids
//! and users; use `start()` for tests that reconfigure the server or need it empty.
//!
//! The server needs `POST /configure` before anything else works; `start()` does it
//! as `root` with [`ReferenceServer::configure_body`]. How the server behaves on the wire,
//! defects included, is written down in the project's spec, `openapi/memos.yaml`.

#![warn(missing_docs)]

// `cli.rs` is compiled here and into the binary, and names this library the same way in both.
extern crate self as memos_refserver;

// Only the binary reads the parsed fields; here the module only describes the command.
#[allow(dead_code)]
mod cli;

/// The `memos-reference-server` command line (its clap definition), for its man page and completions.
pub fn command() -> clap::Command {
    <cli::Args as clap::CommandFactory>::command()
}

mod api;
mod backend;
mod cubes;
mod error;
pub mod fake_llm;
mod postgres;
mod private;
mod process;
mod product;
mod server;
mod stale;
pub mod testing;
pub mod venv;

pub use api::{Api, UnknownApi};
pub use backend::{Backend, UnknownBackend};
pub use cubes::{
    configure_body, cube_config, llm_config, write_cube_dir, CONFIGURE_SESSION, CONFIGURE_USER,
    MEMORY_FILE,
};
pub use error::Error;
pub use fake_llm::{FakeLlm, RecordedRequest, RequestKind};
pub use postgres::Database;
pub use product::PATCHES_KEY;
pub use server::{ReferenceServer, StartOptions, StartTimings, APP};
pub use venv::{
    ensure_venv, ensure_venv_for, ensure_venv_with, workspace_root, InstallAction, InstallOptions,
    InstallReport, VenvSpec,
};
