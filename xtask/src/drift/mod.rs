//! `cargo xtask drift`: compares the server's OpenAPI document with our spec of that API
//! (`openapi/memos.yaml` for v1, `openapi/memos-product.yaml` with `--api product`).
//!
//! The server (FastAPI) publishes OpenAPI 3.1; our spec is 3.0 and deliberately more precise.
//! Both are read into one model ([`model`]), compared ([`compare`]), and every difference is
//! classified as breaking, additive or documentation for the client generated from our spec.
//! Deliberate differences are named in the allow-list ([`allowlist`]); anything else fails.
//!
//! The server's document comes from a running server, a file, or by default the reference
//! server's own document checked in at [`Api::reference_doc`] ([`REFERENCE_DOC`] for v1).

pub mod allowlist;
pub mod compare;
pub mod finding;
pub mod model;
mod render;
mod report;

use std::path::Path;
use std::time::Duration;

use anyhow::Context as _;
use serde_json::Value;

pub use allowlist::{AllowList, ALLOWLIST_PATH};
pub use finding::{Class, Finding, Kind};
pub use render::{render_json, render_table};
pub use report::Report;

use crate::api::Api;
use crate::util;

/// The reference server's own OpenAPI document (what `memos.api.start_api:app` of PyPI
/// `MemoryOS==2.0.10` serves at `/openapi.json`), relative to the workspace root. Named by
/// server version so that a newer server's document sits beside it rather than over it; see
/// `openapi/reference/README.md` for how to refresh it.
pub const REFERENCE_DOC: &str = Api::V1.reference_doc();

/// Reads the v1 reference document under `root`: its path relative to `root` (the report's
/// source) and the document.
pub fn load_reference(root: &Path) -> anyhow::Result<(String, Value)> {
    load_reference_of(root, Api::V1)
}

/// Reads `api`'s reference document under `root`, as [`load_reference`] does for v1.
pub fn load_reference_of(root: &Path, api: Api) -> anyhow::Result<(String, Value)> {
    let relative = api.reference_doc();
    let doc = load_file(&root.join(relative))?;
    Ok((relative.to_owned(), doc))
}

/// Reads a server document from a file: JSON, or YAML if it does not parse as JSON.
pub fn load_file(path: &Path) -> anyhow::Result<Value> {
    let text = util::read_text(path)?;
    serde_json::from_str(&text)
        .or_else(|_| util::parse_yaml_or_json(&text))
        .with_context(|| format!("{} is neither JSON nor YAML", path.display()))
}

/// Fetches `URL/openapi.json` (FastAPI's document) from a running server.
pub fn fetch(base_url: &str) -> anyhow::Result<(String, Value)> {
    let url = format!("{}/openapi.json", base_url.trim_end_matches('/'));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let text = runtime.block_on(async {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()?;
        let response = client.get(&url).send().await?.error_for_status()?;
        response.text().await
    });
    let text = text.with_context(|| format!("cannot fetch {url}; is the server running there?"))?;
    let doc = serde_json::from_str(&text)
        .with_context(|| format!("{url} did not return JSON (is this a FastAPI server?)"))?;
    Ok((url, doc))
}

/// Compares `server_doc` with the v1 spec under `root`, applying the v1 allow-list.
pub fn run(root: &Path, source: &str, server_doc: &Value) -> anyhow::Result<Report> {
    run_api(root, Api::V1, source, server_doc)
}

/// Compares `server_doc` with `api`'s spec under `root`, applying `api`'s allow-list.
pub fn run_api(root: &Path, api: Api, source: &str, server_doc: &Value) -> anyhow::Result<Report> {
    let spec_path = api.spec_path();
    let spec_text = util::read_text(&root.join(spec_path))?;
    let spec_doc = util::parse_yaml_or_json(&spec_text)
        .with_context(|| format!("cannot parse {spec_path}"))?;
    let spec = model::read_api(&spec_doc).map_err(|err| anyhow::anyhow!("{spec_path}: {err}"))?;
    let server = model::read_api(server_doc).map_err(|err| anyhow::anyhow!("{source}: {err}"))?;
    let allow_list = AllowList::load_from(root, api.allowlist_path())?;
    let findings = compare::compare(&spec, &server);
    let verdict = allow_list.apply(&findings);
    Ok(Report {
        api,
        source: source.to_owned(),
        findings,
        allowed_by: verdict.allowed_by,
        allow_list,
        problems: verdict.problems,
    })
}
