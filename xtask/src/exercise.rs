//! `cargo xtask exercise --api product`: the live exercise of the `/product` spec.
//!
//! Starts the product reference server, sends a matrix of requests covering every optional
//! field and mode of each operation (`matrix`), and holds every exchange against the spec
//! and the typed client (`session`): a request the server accepted must be valid under the
//! spec (and one it refused with 422 invalid), every answer must be a documented status,
//! content type and body, and every body (each event of a stream) must decode into the
//! generated type of its schema (`decode`).
//!
//! Schemathesis drives the server from the spec; this drives it from the server's own
//! request models, so it finds what the spec leaves out, where schemathesis finds only
//! what the spec says wrongly.

mod decode;
mod matrix;
mod session;
mod spec;

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::Path;

use anyhow::{bail, Context as _};

use memos_refserver::{Api, ReferenceServer, StartOptions};

use crate::api::ApiFiles as _;
use crate::util::{parse_yaml_or_json, read_text};

pub use session::Exchange;

/// The exchanges of one run.
pub struct Summary {
    pub exchanges: Vec<Exchange>,
    /// The operations the spec has.
    pub spec_operations: BTreeSet<String>,
}

impl Summary {
    /// True when no exchange has a spec problem or a decode failure and every operation of
    /// the spec was exercised.
    pub fn ok(&self) -> bool {
        self.spec_problem_count() == 0
            && self.decode_failure_count() == 0
            && self.unexercised().is_empty()
    }

    pub fn spec_problem_count(&self) -> usize {
        self.exchanges.iter().map(|e| e.spec_problems.len()).sum()
    }

    pub fn decode_failure_count(&self) -> usize {
        self.exchanges.iter().map(|e| e.decode_failures.len()).sum()
    }

    /// The operations exercised.
    pub fn operations(&self) -> BTreeSet<&str> {
        self.exchanges
            .iter()
            .map(|e| e.operation.as_str())
            .collect()
    }

    /// The spec's operations no exchange exercised.
    pub fn unexercised(&self) -> Vec<&str> {
        let done = self.operations();
        self.spec_operations
            .iter()
            .map(String::as_str)
            .filter(|op| !done.contains(op))
            .collect()
    }

    /// Every finding, then the counts.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for exchange in &self.exchanges {
            let at = format!(
                "{} [{}] {}",
                exchange.operation, exchange.case, exchange.status
            );
            for problem in &exchange.spec_problems {
                let _ = writeln!(out, "spec problem: {at}: {problem}");
            }
            for failure in &exchange.decode_failures {
                let _ = writeln!(out, "decode failure: {at}: {failure}");
            }
        }
        for op in self.unexercised() {
            let _ = writeln!(out, "not exercised: {op}");
        }
        let statuses: BTreeSet<(&str, u16)> = self
            .exchanges
            .iter()
            .map(|e| (e.operation.as_str(), e.status))
            .collect();
        let _ = writeln!(
            out,
            "exchanges: {} ({} operations of {}, {} operation and status pairs)",
            self.exchanges.len(),
            self.operations().len(),
            self.spec_operations.len(),
            statuses.len()
        );
        let _ = writeln!(out, "spec problems: {}", self.spec_problem_count());
        let _ = writeln!(out, "decode failures: {}", self.decode_failure_count());
        out
    }
}

/// Starts the reference server of `api`, runs the matrix and returns every exchange.
pub fn run(root: &Path, api: Api) -> anyhow::Result<Summary> {
    if api != Api::Product {
        bail!("the live exercise covers the product API only (--api product)");
    }
    let spec_path = root.join(api.spec_path());
    let doc = parse_yaml_or_json(&read_text(&spec_path)?)
        .with_context(|| format!("parsing {}", spec_path.display()))?;
    let index = spec::SpecIndex::new(&doc)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("building a tokio runtime")?;
    let server = runtime
        .block_on(ReferenceServer::start(StartOptions {
            api,
            ..StartOptions::default()
        }))
        .context("starting the reference server")?;
    run_against(&runtime, server.base_url(), &index)
        .with_context(|| format!("the last lines of the server log:\n{}", server.log_tail(20)))
}

fn run_against(
    runtime: &tokio::runtime::Runtime,
    base_url: &str,
    index: &spec::SpecIndex,
) -> anyhow::Result<Summary> {
    let mut session = session::Session::new(base_url, index)?;
    let names = matrix::Names::new(&format!("exercise-{}", std::process::id()));
    runtime.block_on(matrix::run(&mut session, &names))?;
    Ok(Summary {
        exchanges: session.exchanges,
        spec_operations: index.operations.keys().cloned().collect(),
    })
}
