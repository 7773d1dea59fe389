//! The resume guarantee under `kill -9` on the `/product` API (MemoryOS 2.0.33): `memos load
//! messages --api product` imports 1,000 chat sessions with concurrency 4 and a checkpoint,
//! is killed at random moments (a seeded RNG; set MEMOS_KILL_SEED to replay a run) 10
//! times, each time started again with the same command, and then runs to the end.
//! Afterwards the cube must hold as many nodes as the same import, uninterrupted, leaves
//! in a fresh cube (measured first, in the same test), made by the same records (each
//! node's marker names its record); no run may have sent a record it could not check.
//!
//! The input repeats sessions (0, 21, 42, ... are the same session `["ok"]`): on this API
//! the records' markers tell such copies apart.
//!
//! Without Python the test fails with a clear message when `CI=true` and is skipped (with
//! the reason printed) otherwise.

use crate::common;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use crate::kill_resume::{kill_repeatedly, KillPlan, KILLS};
use common::{expect_code, json, run};
use memos_api::product;
use memos_refserver::{Api, StartOptions};

const SESSIONS: usize = 1000;

/// The nodes of the cube, counted by the record their marker names (`None`: no marker).
async fn nodes_by_record(base_url: &str, user: &str, cube: &str) -> BTreeMap<Option<u64>, usize> {
    let client = product::Client::new(base_url).unwrap();
    let entries = client.get_text_memories(cube, Some(user)).await.unwrap();
    let mut counts = BTreeMap::new();
    for entry in entries {
        for node in entry.memories {
            let record = node
                .metadata
                .info
                .as_ref()
                .and_then(|info| info.get("memos_load_record")?.as_str()?.parse().ok());
            *counts.entry(record).or_insert(0) += 1;
        }
    }
    counts
}

fn load_args(file: &Path, (user, cube): (&str, &str), ck: &Path) -> Vec<String> {
    [
        "--json",
        "load",
        "messages",
        file.to_str().unwrap(),
        "--api",
        "product",
        "--user",
        user,
        "--cube",
        cube,
        "--concurrency",
        "4",
        "--resume",
        ck.to_str().unwrap(),
    ]
    .map(str::to_owned)
    .to_vec()
}

#[tokio::test]
async fn killed_product_imports_resume_to_the_uninterrupted_result() {
    let Some(server) = memos_refserver::testing::start_or_skip(StartOptions {
        api: Api::Product,
        ..StartOptions::default()
    })
    .await
    else {
        return;
    };
    let base = server.base_url();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sessions.jsonl");
    std::fs::write(&file, crate::kill_resume::input(SESSIONS, false).0).unwrap();

    // The same load without --api product meets the server's 404 for the v1 routes, and
    // says what to pass.
    let output = run(
        base,
        &[
            "load",
            "messages",
            file.to_str().unwrap(),
            "--user",
            "u",
            "--cube",
            "c",
        ],
        None,
    );
    expect_code(&output, 5);
    let stderr = common::text(&output.stderr);
    assert!(stderr.contains("pass --api product"), "{stderr}");

    // The same import, uninterrupted, into a fresh cube: what the resumed one must leave.
    let started = Instant::now();
    let clean = ("kill-product-clean", "kill-product-clean-cube");
    let args = load_args(&file, clean, &dir.path().join("clean.ckpt"));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let output = run(base, &args, None);
    expect_code(&output, 0);
    let uninterrupted = started.elapsed();
    let expected = nodes_by_record(base, clean.0, clean.1).await;
    let expected_total: usize = expected.values().sum();
    assert!(
        expected.keys().all(Option::is_some) && expected.len() == SESSIONS,
        "every record made nodes with its marker: {} records",
        expected.len()
    );

    let (user, cube) = ("kill-product", "kill-product-cube");
    let ck = dir.path().join("import.ckpt");
    let args = load_args(&file, (user, cube), &ck);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let killed = kill_repeatedly(
        base,
        &args,
        &ck,
        KillPlan {
            label: "product",
            default_seed: 20_251_202,
            uninterrupted,
        },
        dir.path(),
    );

    // Run to the end.
    let output = run(base, &args, None);
    expect_code(&output, 0);
    let stderr = common::text(&output.stderr);
    assert!(
        !stderr.contains("may be duplicated"),
        "the last run sent records it could not check:\n{stderr}"
    );
    let summary = json(&output);
    assert_eq!(summary["complete"], true, "{summary}");
    assert_eq!(summary["possibly_duplicated"], 0, "{summary}");
    assert_eq!(summary["api"], "product", "{summary}");
    let got = nodes_by_record(base, user, cube).await;
    let got_total: usize = got.values().sum();
    eprintln!(
        "product: {SESSIONS} sessions, {expected_total} nodes uninterrupted in {:.1} s; {KILLS} \
         kills in {:.1} s, then the last run sent {} of {} records ({} already imported, \
         reconciliation {}): {got_total} nodes; {:.1} s in all",
        uninterrupted.as_secs_f64(),
        killed.as_secs_f64(),
        summary["records_sent"],
        summary["records_read"],
        summary["already_imported"],
        summary["reconciliation"],
        started.elapsed().as_secs_f64()
    );
    assert_eq!(
        got_total, expected_total,
        "as many nodes as the uninterrupted import"
    );
    assert_eq!(
        got, expected,
        "each record made the same nodes as uninterrupted"
    );

    // Run again: nothing is sent.
    let output = run(base, &args, None);
    expect_code(&output, 0);
    let summary = json(&output);
    assert_eq!(summary["records_sent"], 0, "{summary}");
    assert_eq!(summary["already_imported"].as_u64(), Some(SESSIONS as u64));
}
