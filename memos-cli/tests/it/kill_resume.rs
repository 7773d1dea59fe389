//! The resume guarantee under `kill -9`: the `memos` binary imports chat sessions into the
//! real reference server with concurrency 4 and a checkpoint, and is killed at random
//! moments (a seeded RNG; set MEMOS_KILL_SEED to replay a run) at least 12 times, each
//! time started again with the same command. Afterwards the cube must hold exactly the
//! input's messages: every text as often as in the input, N memories for N messages.

use crate::common;

use std::collections::BTreeMap;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{expect_code, json, run, server, stored};

const SESSIONS: usize = 1500;
const KILLS: usize = 12;

/// The input: sessions of 1-3 messages; most texts are unique, every seventh session ends
/// with the same "ok" (repeated texts are the hard case for reconciliation).
fn input() -> (String, BTreeMap<String, usize>) {
    let mut text = String::new();
    let mut expected = BTreeMap::new();
    for s in 0..SESSIONS {
        let count = 1 + s % 3;
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

#[tokio::test]
async fn killed_imports_resume_to_exactly_the_input() {
    let Some(server) = server().await else { return };
    let base = server.base_url();
    let (user, cube) = ("kill-test", "kill-test-cube");
    let cube_dir = server.cube_dirs()[3].display().to_string();
    let dir = tempfile::tempdir().unwrap();
    let (text, expected) = input();
    let file = dir.path().join("sessions.jsonl");
    std::fs::write(&file, text).unwrap();
    let ck = dir.path().join("import.ckpt");
    let args = [
        "--base-url",
        base,
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

    let seed: u64 = std::env::var("MEMOS_KILL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_251_126);
    eprintln!("kill test seed: {seed} (set MEMOS_KILL_SEED to replay)");
    let mut rng = fastrand::Rng::with_seed(seed);
    let started = Instant::now();
    let mut kills = 0;
    let mut finished_early = false;
    while kills < KILLS {
        let mut child = common::memos()
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Random points: during validation, set-up, reconciliation and sending.
        let delay = Duration::from_millis(rng.u64(40..=800));
        std::thread::sleep(delay);
        if child.try_wait().unwrap().is_some() {
            finished_early = true;
            break;
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        kills += 1;
        // The checkpoint is whole after every kill (written by rename).
        if ck.exists() {
            let bytes = std::fs::read(&ck).unwrap();
            serde_json::from_slice::<serde_json::Value>(&bytes)
                .unwrap_or_else(|e| panic!("the checkpoint is damaged after kill {kills}: {e}"));
        }
    }
    assert!(
        !finished_early && kills >= 10,
        "only {kills} kills before the import finished; raise SESSIONS"
    );

    // Run to the end.
    let output = run(base, &args[2..], None);
    expect_code(&output, 0);
    let summary = json(&output);
    assert_eq!(summary["complete"], true, "{summary}");
    eprintln!(
        "after {kills} kills: last run sent {} of {} records, {} were already imported, reconciliation {}; {:.1} s in all",
        summary["records_sent"], summary["records_read"], summary["already_imported"],
        summary["reconciliation"], started.elapsed().as_secs_f64()
    );

    let got = stored(base, user, cube).await;
    let total: usize = expected.values().sum();
    assert_eq!(
        got.values().sum::<usize>(),
        total,
        "N memories for N messages"
    );
    assert_eq!(got, expected, "every text exactly as often as in the input");

    // Run again: nothing is sent.
    let output = run(base, &args[2..], None);
    expect_code(&output, 0);
    let summary = json(&output);
    assert_eq!(summary["records_sent"], 0, "{summary}");
    assert_eq!(summary["already_imported"].as_u64(), Some(SESSIONS as u64));
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
    let (text, expected) = input();
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
    assert!(acked > 0 && acked < SESSIONS as u64, "{summary}");

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
