//! The product suite against the real product server (MemoryOS 2.0.33, `memos.api.server_api:app`,
//! offline on PostgreSQL with the fake LLM, as shipped: no pgvector type caster). The run
//! learns the API from the server's `/openapi.json`, no case fails other than the known
//! defects of that version, which are exactly those that fail, and what the run added is
//! gone afterwards.
//!
//! The run's normalised exchanges equal the files in `memos-conformance/snapshots/product/`,
//! which the embedded product mock replays (`memos-conformance --api product`). Record mode:
//! `MEMOS_CONFORMANCE_RECORD=1 cargo test -p memos-conformance --test it live_product`
//! rewrites them from the live server.
//!
//! Without Python the test fails with a clear message when `CI=true` and is skipped (with
//! the reason printed) otherwise.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use memos_conformance::snapshot;
use memos_conformance::{Api, Format, Outcome, RunOptions};
use memos_refserver::{Api as ServerApi, StartOptions};
use serde_json::{json, Value};

use crate::common;

/// The run prefix, so that the cubes the run used can be found again after it (the
/// snapshots hold the normalised `conf-RUN`).
fn run_prefix() -> String {
    format!("conf-{}", &uuid::Uuid::new_v4().simple().to_string()[..8])
}

/// Every `writable_cube_ids` entry the run's requests named, with the real prefix.
fn cubes_written(output: &memos_conformance::RunOutput, prefix: &str) -> BTreeSet<String> {
    output
        .snapshots
        .iter()
        .flat_map(|s| &s.exchanges)
        .filter_map(|e| e.request.body.as_ref().map(|b| b.to_value()))
        .filter_map(|body| body.get("writable_cube_ids").cloned())
        .filter_map(|ids| ids.as_array().cloned())
        .flatten()
        .filter_map(|id| id.as_str().map(|s| s.replace("conf-RUN", prefix)))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_product_suite_passes_on_the_real_server() {
    let Some(server) = memos_refserver::testing::start_or_skip(StartOptions {
        api: ServerApi::Product,
        ..StartOptions::default()
    })
    .await
    else {
        return;
    };
    let prefix = run_prefix();
    let mut options = RunOptions::live(server.base_url());
    options.destructive = true;
    options.doc_path = Some(server.docs_dir().display().to_string());
    options.run_prefix = Some(prefix.clone());
    options.request_timeout = Duration::from_secs(30);

    let started = Instant::now();
    let output = memos_conformance::run(options).await;
    let elapsed = started.elapsed();
    let report = &output.report;
    println!("{}", report.render(Format::Text));
    println!(
        "live product suite wall time: {:.2} s",
        elapsed.as_secs_f64()
    );

    assert_eq!(report.target.api, Api::Product, "the API detected");
    assert!(
        report.target.api_learned.contains("/openapi.json"),
        "{}",
        report.target.api_learned
    );
    assert_eq!(
        report.target.server_version.as_deref(),
        Some("MemOS Server REST APIs 1.0.1")
    );
    assert_eq!(
        report.target.backend, None,
        "the product API has no cube backend"
    );
    let failed: Vec<String> = report
        .cases
        .iter()
        .filter(|c| c.outcome == Outcome::Fail)
        .map(|c| format!("{}: {}", c.name, c.reason.as_deref().unwrap_or_default()))
        .collect();
    assert!(failed.is_empty(), "cases failed: {failed:#?}");
    assert!(report.summary.success);

    let listed: BTreeSet<&str> = memos_conformance::known_defects("MemOS Server REST APIs 1.0.1")
        .expect("the product list")
        .defects
        .iter()
        .map(|d| d.case)
        .collect();
    let known: BTreeSet<&str> = report
        .cases
        .iter()
        .filter(|c| c.outcome == Outcome::KnownDefect)
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(known, listed, "exactly the listed known defects fail");
    let warned: BTreeSet<&str> = report
        .cases
        .iter()
        .filter(|c| c.outcome == Outcome::Warning)
        .map(|c| c.name.as_str())
        .collect();
    for finding in [
        "security.unauthenticated_requests_accepted",
        "security.other_users_cube_readable",
        "security.delete_by_id_ignores_cube",
    ] {
        assert!(warned.contains(finding), "no warning {finding}: {warned:?}");
    }
    let skipped: Vec<(&str, Option<&str>)> = report
        .cases
        .iter()
        .filter(|c| c.outcome == Outcome::Skipped)
        .map(|c| (c.name.as_str(), c.reason.as_deref()))
        .collect();
    assert!(
        skipped.is_empty(),
        "skipped with every permission given: {skipped:?}"
    );

    let dir = snapshot::product_source_dir();
    if common::record_mode() {
        // A case renamed or removed must not leave its old file behind.
        if let Ok(entries) = std::fs::read_dir(&dir) {
            for entry in entries.flatten() {
                if entry.path().extension().is_some_and(|e| e == "snap") {
                    std::fs::remove_file(entry.path()).expect("remove an old snapshot");
                }
            }
        }
        common::record(&dir, &output.snapshots);
    } else {
        common::assert_snapshots(&dir, &output.snapshots);
    }
    common::assert_one_file_per_case_of(Api::Product, &dir);

    // Everything the run added is gone: each cube it wrote to lists nothing.
    let cubes = cubes_written(&output, &prefix);
    assert!(!cubes.is_empty(), "the run wrote to no cube");
    let http = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client");
    for cube in &cubes {
        assert!(
            cube.starts_with(&prefix),
            "{cube} is outside the run's namespace"
        );
        let listing: Value = http
            .post(format!("{}/product/get_memory", server.base_url()))
            .json(&json!({"mem_cube_id": cube}))
            .send()
            .await
            .expect("list a cube of the run")
            .json()
            .await
            .expect("a JSON listing");
        let left = listing
            .pointer("/data/text_mem/0/memories")
            .and_then(Value::as_array)
            .map_or(0, Vec::len);
        assert_eq!(left, 0, "{cube} still holds {left} memories after the run");
    }
}
