//! The resume guarantee under `kill -9`, on every storage backend of the reference server:
//! the `memos` binary imports chat sessions with concurrency 4 and a checkpoint, is killed
//! at random moments (a seeded RNG; set MEMOS_KILL_SEED to replay a run) 10 times, each
//! time started again with the same command, and then runs to the end. Afterwards the cube
//! must hold what the same import, uninterrupted, leaves in a fresh cube of the same
//! server (measured first, in the same test): on a list backend every text as often as in
//! the input; on `tree_text` the same nodes (by the messages each was extracted from). No
//! run may have sent a record it could not check ("may be duplicated").

use crate::common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{expect_code, json, run, server, stored};
use memos_api::v1::types::MemoryCollection;
use memos_api::v1::Client;
use memos_refserver::{Backend, ReferenceServer};

pub(crate) const KILLS: usize = 10;
/// Enough sessions for the import to be still running after 1.5 s.
const CTRL_C_SESSIONS: usize = 1500;

/// Sessions per backend, so that each test takes under a minute on an idle machine (the
/// whole test is about 2.3 times the uninterrupted import): per session, an import
/// takes about 10 ms on `naive_text`, 30 ms on `tree_text` (the extractor and
/// PostgreSQL) and 50 to 70 ms on `general_text` (the embedded Qdrant).
fn sessions(backend: Backend) -> usize {
    match backend {
        Backend::NaiveText => 600,
        Backend::GeneralText => 200,
        Backend::TreeText => 300,
    }
}

/// The input: sessions of 1-3 messages; most texts are unique, every seventh session ends
/// with the same "ok" (repeated texts are the hard case for reconciliation), so sessions
/// 0, 21, 42, ... are the same session `["ok"]`. With `unique_sessions` those have a
/// question first: a graph (`tree_text`) cannot tell copies of one session apart, so its
/// test keeps the repeated texts but not the repeated sessions.
pub(crate) fn input(sessions: usize, unique_sessions: bool) -> (String, BTreeMap<String, usize>) {
    let mut text = String::new();
    let mut expected = BTreeMap::new();
    for s in 0..sessions {
        let mut count = 1 + s % 3;
        if unique_sessions && count == 1 && s % 7 == 0 {
            count = 2;
        }
        for m in 0..count {
            let content = if m + 1 == count && s % 7 == 0 {
                "ok".to_owned()
            } else {
                format!(
                    "session {s} message {m}: the quick brown fox {}",
                    s * 31 + m
                )
            };
            let role = if m % 2 == 0 { "user" } else { "assistant" };
            text.push_str(
                &serde_json::json!({"role": role, "content": content, "session_id": s}).to_string(),
            );
            text.push('\n');
            *expected.entry(content).or_insert(0) += 1;
        }
    }
    (text, expected)
}

/// What a cube holds, counted: each memory's text (list backends), or the texts of the
/// messages each node was extracted from (`tree_text`, whose node texts carry the time of
/// the add).
async fn contents(base_url: &str, user: &str, cube: &str) -> BTreeMap<String, usize> {
    let client = Client::new(base_url).unwrap();
    let list = client.list_memories(Some(cube), Some(user)).await.unwrap();
    let mut counts = BTreeMap::new();
    for entry in list.text_mem {
        match entry.memories {
            MemoryCollection::Array(items) => {
                for item in items {
                    *counts.entry(item.memory).or_insert(0) += 1;
                }
            }
            MemoryCollection::MemoryGraph(graph) => {
                for node in graph.nodes {
                    let sources: Vec<String> = node["metadata"]["sources"]
                        .as_array()
                        .expect("every node has sources")
                        .iter()
                        .map(|s| {
                            let s: serde_json::Value =
                                serde_json::from_str(s.as_str().unwrap()).unwrap();
                            s["content"].as_str().unwrap().to_owned()
                        })
                        .collect();
                    *counts.entry(sources.join(" / ")).or_insert(0) += 1;
                }
            }
        }
    }
    counts
}

/// The `memos load` arguments (after `--base-url`) importing `file` into `cube`, in a cube
/// directory of its own on `server` (which deletes it when it stops), with the checkpoint
/// `ck`.
fn load_args(
    server: &ReferenceServer,
    file: &Path,
    (user, cube): (&str, &str),
    ck: &Path,
) -> Vec<String> {
    let dir = server.temp_root().join("kill-test-cubes").join(cube);
    server.write_cube_dir(&dir, user, cube).unwrap();
    [
        "--json",
        "load",
        "messages",
        file.to_str().unwrap(),
        "--user",
        user,
        "--cube",
        cube,
        "--create",
        "--cube-path",
        dir.to_str().unwrap(),
        "--concurrency",
        "4",
        "--resume",
        ck.to_str().unwrap(),
    ]
    .map(str::to_owned)
    .to_vec()
}

fn no_unchecked_sends(stderr: &str, run: &str) {
    assert!(
        !stderr.contains("may be duplicated"),
        "{run} sent records it could not check:\n{stderr}"
    );
}

/// How [`kill_repeatedly`] picks its kill points.
pub(crate) struct KillPlan<'a> {
    /// Names the test in what it prints.
    pub label: &'a str,
    /// The seed when MEMOS_KILL_SEED is not set.
    pub default_seed: u64,
    /// How long the same import took uninterrupted.
    pub uninterrupted: Duration,
}

/// Starts `memos --base-url base <args>` and kills it with SIGKILL, [`KILLS`] times, at
/// seeded random points from 20 ms (validation, set-up, reconciliation) to an eighth of
/// the uninterrupted import: ten kills cover less than two thirds of it on average (less
/// still, as each run starts and reconciles first), so every run is cut short on a slow
/// machine as on a fast one. After each kill: no run sent a record it could not check, and
/// the checkpoint `ck` is whole (written by rename). Prints, per kill, the checkpoint's
/// state and what the run found in doubt. Returns the time the kills took.
pub(crate) fn kill_repeatedly(
    base: &str,
    args: &[&str],
    ck: &Path,
    plan: KillPlan<'_>,
    logs: &Path,
) -> Duration {
    let seed: u64 = std::env::var("MEMOS_KILL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(plan.default_seed);
    let label = plan.label;
    eprintln!("{label} kill test seed: {seed} (set MEMOS_KILL_SEED to replay)");
    let mut rng = fastrand::Rng::with_seed(seed);
    let latest = (plan.uninterrupted.as_millis() as u64 / 8).max(60);
    let started = Instant::now();
    for kill in 1..=KILLS {
        let log = logs.join(format!("run-{kill}.stderr"));
        let mut child = common::memos()
            .arg("--base-url")
            .arg(base)
            .args(args)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let after = rng.u64(20..=latest);
        std::thread::sleep(Duration::from_millis(after));
        assert!(
            child.try_wait().unwrap().is_none(),
            "the import finished before kill {kill}; add sessions for {label}"
        );
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let stderr = std::fs::read_to_string(&log).unwrap();
        no_unchecked_sends(&stderr, &format!("run {kill}"));
        let resumed = stderr
            .lines()
            .find(|l| l.starts_with("memos: resuming:"))
            .unwrap_or("memos: nothing in doubt at its start");
        let state = match std::fs::read(ck) {
            Ok(bytes) => {
                let ck: serde_json::Value = serde_json::from_slice(&bytes)
                    .unwrap_or_else(|e| panic!("the checkpoint is damaged after kill {kill}: {e}"));
                format!(
                    "{} acknowledged, {} in doubt",
                    acknowledged(&ck),
                    in_doubt(&ck)
                )
            }
            Err(_) => "no checkpoint yet".to_owned(),
        };
        eprintln!("{label}: kill {kill} after {after} ms: {state} ({resumed})");
    }
    started.elapsed()
}

/// The records a checkpoint says the server acknowledged.
fn acknowledged(ck: &serde_json::Value) -> u64 {
    ck["acked"]
        .as_array()
        .unwrap()
        .iter()
        .map(|pair| pair[1].as_u64().unwrap() - pair[0].as_u64().unwrap())
        .sum()
}

/// The records a run left in doubt, as its checkpoint says: not acknowledged, below
/// `sent_below`.
fn in_doubt(ck: &serde_json::Value) -> u64 {
    let total = ck["records_total"].as_u64().unwrap();
    let below = ck["sent_below"].as_u64().unwrap().min(total);
    let acked: u64 = ck["acked"]
        .as_array()
        .unwrap()
        .iter()
        .map(|pair| {
            let (start, end) = (pair[0].as_u64().unwrap(), pair[1].as_u64().unwrap());
            end.min(below).saturating_sub(start)
        })
        .sum();
    below - acked
}

async fn killed_imports_resume_to_the_uninterrupted_result(backend: Backend) {
    let Some(server) = common::server_for(backend).await else {
        return;
    };
    let base = server.base_url();
    let dir = tempfile::tempdir().unwrap();
    let sessions = sessions(backend);
    let file = dir.path().join("sessions.jsonl");
    std::fs::write(&file, input(sessions, backend == Backend::TreeText).0).unwrap();

    // The same import, uninterrupted, into a fresh cube: what the resumed one must leave.
    let started = Instant::now();
    let name = format!("kill-{backend}");
    let clean = (format!("{name}-clean"), format!("{name}-clean-cube"));
    let args = load_args(
        server,
        &file,
        (&clean.0, &clean.1),
        &dir.path().join("clean.ckpt"),
    );
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let output = run(base, &args, None);
    expect_code(&output, 0);
    let uninterrupted = started.elapsed();
    let expected = contents(base, &clean.0, &clean.1).await;
    let expected_total: usize = expected.values().sum();

    let (user, cube) = (name.clone(), format!("{name}-cube"));
    let ck = dir.path().join("import.ckpt");
    let args = load_args(server, &file, (&user, &cube), &ck);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let killed = kill_repeatedly(
        base,
        &args,
        &ck,
        KillPlan {
            label: backend.as_str(),
            default_seed: 20_251_126,
            uninterrupted,
        },
        dir.path(),
    );

    // Run to the end.
    let output = run(base, &args, None);
    expect_code(&output, 0);
    no_unchecked_sends(&common::text(&output.stderr), "the last run");
    let summary = json(&output);
    assert_eq!(summary["complete"], true, "{summary}");
    assert_eq!(summary["possibly_duplicated"], 0, "{summary}");
    let got = contents(base, &user, &cube).await;
    eprintln!(
        "{backend}: {sessions} sessions, {} memories uninterrupted in {:.1} s; {KILLS} kills in \
         {:.1} s, then the last run sent {} of {} records ({} already imported, reconciliation \
         {}): {} memories; {:.1} s in all",
        expected_total,
        uninterrupted.as_secs_f64(),
        killed.as_secs_f64(),
        summary["records_sent"],
        summary["records_read"],
        summary["already_imported"],
        summary["reconciliation"],
        got.values().sum::<usize>(),
        started.elapsed().as_secs_f64()
    );
    assert_eq!(
        got.values().sum::<usize>(),
        expected_total,
        "as many memories as the uninterrupted import"
    );
    assert_eq!(
        got, expected,
        "the same memories as the uninterrupted import"
    );

    // Run again: nothing is sent.
    let output = run(base, &args, None);
    expect_code(&output, 0);
    let summary = json(&output);
    assert_eq!(summary["records_sent"], 0, "{summary}");
    assert_eq!(summary["already_imported"].as_u64(), Some(sessions as u64));
}

#[tokio::test]
async fn killed_imports_resume_exactly_on_naive_text() {
    killed_imports_resume_to_the_uninterrupted_result(Backend::NaiveText).await;
}

#[tokio::test]
async fn killed_imports_resume_exactly_on_general_text() {
    killed_imports_resume_to_the_uninterrupted_result(Backend::GeneralText).await;
}

#[tokio::test]
async fn killed_imports_resume_exactly_on_tree_text() {
    killed_imports_resume_to_the_uninterrupted_result(Backend::TreeText).await;
}

/// Ctrl-C (SIGINT) stops sending, waits for the requests in flight, saves the checkpoint
/// and exits with 130; the same command then finishes the import, each message once.
#[tokio::test]
async fn ctrl_c_stops_cleanly_and_the_same_command_finishes() {
    let Some(server) = server().await else { return };
    let base = server.base_url();
    let (user, cube) = ("sigint-test", "sigint-test-cube");
    let cube_dir = server.cube_dirs()[4].display().to_string();
    let dir = tempfile::tempdir().unwrap();
    let (text, expected) = input(CTRL_C_SESSIONS, false);
    let file = dir.path().join("sessions.jsonl");
    std::fs::write(&file, text).unwrap();
    let ck = dir.path().join("import.ckpt");
    let args = [
        "--quiet",
        "--json",
        "load",
        "messages",
        file.to_str().unwrap(),
        "--user",
        user,
        "--cube",
        cube,
        "--create",
        "--cube-path",
        &cube_dir,
        "--concurrency",
        "4",
        "--resume",
        ck.to_str().unwrap(),
    ];
    let child = common::memos()
        .arg("--base-url")
        .arg(base)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let output = child.wait_with_output().unwrap();
    expect_code(&output, 130);
    let summary = json(&output);
    assert_eq!(summary["interrupted"], true, "{summary}");
    let acked = summary["records_acked"].as_u64().unwrap();
    assert!(acked > 0 && acked < CTRL_C_SESSIONS as u64, "{summary}");

    let output = run(base, &args, None);
    expect_code(&output, 0);
    let summary = json(&output);
    // Everything in flight was waited for, so nothing is in doubt.
    assert_eq!(
        summary["already_imported"].as_u64(),
        Some(acked),
        "{summary}"
    );
    assert!(summary.get("reconciliation").is_none(), "{summary}");
    assert_eq!(stored(base, user, cube).await, expected);
}
