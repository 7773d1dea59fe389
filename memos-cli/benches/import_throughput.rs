//! Import throughput and memory of the loader, against a fast local stub server.
//!
//! For concurrency 1, 8 and 32 it measures:
//! * the loader: records per second of `loader::import` (content, one record per line,
//!   validation pass included), without and (at 32) with a checkpoint;
//! * the raw rate: requests per second the same stub serves to a minimal reqwest loop
//!   posting the same bodies at the same concurrency;
//! * the client rate: the same loop over `memos_api::v1::Client::add_memories`, which tells
//!   the client's share of the cost from the loader's;
//!
//! and their ratios. Then it runs the `memos` binary on a large generated JSONL file
//! (200 MB; 20 MB in quick mode) and on one a tenth of that size, and reports each run's
//! peak resident memory (VmHWM, from the command's `--json` summary).
//!
//! Run: `cargo bench -p memos-cli --bench import_throughput` (full, about 3 minutes) or
//! with `-- --quick` / `MEMOS_BENCH_QUICK=1` (about 30 s, after a release build).
//! `cargo test -p memos-cli --bench import_throughput` runs an unoptimised smoke run of
//! about 10 s (no release build: cheap enough for every CI run). `MEMOS_BENCH_JSON=FILE`
//! also writes the figures as JSON.

use std::io::Write;
use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::routing::{get, post};
use axum::Router;
use memos_api::v1::Client;
use memos_loader as loader;
use memos_loader::{ContentOptions, Input, LoadOptions, Source, Target};
use serde_json::{json, Value};

const OK: &str = r#"{"code":200,"message":"Memories added successfully","data":null}"#;
const USERS: &str = r#"{"code":200,"message":"Users retrieved successfully","data":[{"user_id":"bench","user_name":"bench","role":"USER","created_at":"2026-01-01T00:00:00","is_active":true}]}"#;
const EMPTY: &str = r#"{"code":200,"message":"Memories retrieved successfully","data":{"para_mem":[],"act_mem":[],"text_mem":[{"cube_id":"bench-cube","memories":[]}]}}"#;

/// A stub of the three endpoints an import uses, answering at once, on its own runtime
/// (its own threads) so that it does not share the measured client's scheduler.
fn start_stub() -> SocketAddr {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("stub runtime");
        runtime.block_on(async move {
            let json = |body: &'static str| ([("content-type", "application/json")], body);
            let app = Router::new()
                .route(
                    "/memories",
                    post(move |_body: axum::body::Bytes| async move { json(OK) }),
                )
                .route("/memories", get(move || async move { json(EMPTY) }))
                .route("/users", get(move || async move { json(USERS) }));
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind");
            tx.send(listener.local_addr().expect("address"))
                .expect("send address");
            axum::serve(listener, app).await.expect("stub serves");
        });
    });
    rx.recv().expect("the stub starts")
}

/// One line per record, about as long as a line of build output.
fn write_lines(path: &Path, count: usize) {
    let mut file = std::io::BufWriter::new(std::fs::File::create(path).expect("create"));
    for i in 0..count {
        writeln!(
            file,
            "{i:08} compiling crate-{i} v0.1.{i} (/work/crates/crate-{i}) in 0.{}s",
            i % 97
        )
        .expect("write");
    }
    file.flush().expect("flush");
}

/// Chat sessions of two messages, up to `bytes` bytes.
fn write_sessions(path: &Path, bytes: u64) -> u64 {
    let mut file = std::io::BufWriter::new(std::fs::File::create(path).expect("create"));
    let filler = "lorem ipsum dolor sit amet ".repeat(6);
    let (mut written, mut sessions) = (0u64, 0u64);
    while written < bytes {
        for (role, n) in [("user", 0), ("assistant", 1)] {
            let line = format!(
                "{{\"role\":\"{role}\",\"content\":\"session {sessions} message {n}: {filler}\",\"session_id\":{sessions}}}\n"
            );
            written += line.len() as u64;
            file.write_all(line.as_bytes()).expect("write");
        }
        sessions += 1;
    }
    file.flush().expect("flush");
    sessions
}

async fn loader_rate(
    base: &str,
    file: &Path,
    records: usize,
    concurrency: usize,
    checkpoint: Option<&Path>,
) -> f64 {
    let client = Client::new(base).expect("client");
    let source = Source::Content {
        inputs: vec![Input::Path(file.to_path_buf())],
        options: ContentOptions {
            chunk_size: 2000,
            per_line: true,
        },
    };
    let target = Target {
        user_id: "bench".into(),
        cube_id: "bench-cube".into(),
    };
    if let Some(path) = checkpoint {
        let _ = std::fs::remove_file(path);
    }
    let options = LoadOptions {
        concurrency,
        checkpoint: checkpoint.map(Path::to_path_buf),
        ..LoadOptions::default()
    };
    let started = Instant::now();
    let summary = loader::import(&client, &target, &source, &options)
        .await
        .expect("import");
    let secs = started.elapsed().as_secs_f64();
    assert_eq!(summary.records_acked as usize, records, "{summary:?}");
    records as f64 / secs
}

/// Requests per second of a plain reqwest loop posting the same bodies.
async fn raw_rate(base: &str, file: &Path, records: usize, concurrency: usize) -> f64 {
    let bodies: Arc<Vec<String>> = Arc::new(
        std::fs::read_to_string(file)
            .expect("read")
            .lines()
            .map(|line| {
                json!({"user_id": "bench", "mem_cube_id": "bench-cube", "memory_content": line})
                    .to_string()
            })
            .collect(),
    );
    let http = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("reqwest");
    let url = format!("{base}/memories");
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (http, url, bodies, next) = (http.clone(), url.clone(), bodies.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= bodies.len() {
                    break;
                }
                let response = http
                    .post(&url)
                    .header("content-type", "application/json")
                    .body(bodies[i].clone())
                    .send()
                    .await
                    .expect("post");
                assert!(response.status().is_success());
                response.bytes().await.expect("body");
            }
        }));
    }
    for task in tasks {
        task.await.expect("task");
    }
    assert_eq!(bodies.len(), records);
    records as f64 / started.elapsed().as_secs_f64()
}

/// Requests per second of a loop over `memos_api::v1::Client::add_memories` (the client the
/// loader uses), to tell the client's cost from the loader's.
async fn client_rate(base: &str, file: &Path, records: usize, concurrency: usize) -> f64 {
    let lines: Arc<Vec<String>> = Arc::new(
        std::fs::read_to_string(file)
            .expect("read")
            .lines()
            .map(str::to_owned)
            .collect(),
    );
    let client = Client::new(base).expect("client");
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (client, lines, next) = (client.clone(), lines.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= lines.len() {
                    break;
                }
                client
                    .add_memories(memos_api::v1::types::MemoryCreate {
                        doc_path: None,
                        mem_cube_id: Some("bench-cube".into()),
                        memory_content: Some(lines[i].clone()),
                        messages: None,
                        user_id: Some("bench".into()),
                    })
                    .await
                    .expect("add_memories");
            }
        }));
    }
    for task in tasks {
        task.await.expect("task");
    }
    assert_eq!(lines.len(), records);
    records as f64 / started.elapsed().as_secs_f64()
}

/// Runs the `memos` binary on `file` and returns its JSON summary.
fn run_memos(base: &str, file: &Path) -> Value {
    let output = Command::new(env!("CARGO_BIN_EXE_memos"))
        .args(["--base-url", base, "--quiet", "--json", "load", "messages"])
        .arg(file)
        .args([
            "--user",
            "bench",
            "--cube",
            "bench-cube",
            "--concurrency",
            "32",
        ])
        .output()
        .expect("memos runs");
    assert!(
        output.status.success(),
        "memos failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("JSON summary")
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(|a, b| a.total_cmp(b));
    values[values.len() / 2]
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick")
        || std::env::var("MEMOS_BENCH_QUICK").is_ok_and(|v| !v.is_empty() && v != "0");
    // `cargo test --benches` builds without optimisations: then the run is only a smoke
    // test of the harness, kept short, and its figures mean nothing.
    let smoke = cfg!(debug_assertions);
    let records = match (smoke, quick) {
        (true, _) => 1_000,
        (false, true) => 10_000,
        (false, false) => 50_000,
    };
    // Each figure is the median of this many runs (two shared cores make single runs noisy).
    let reps = if smoke { 1 } else { 3 };
    let big_bytes: u64 = match (smoke, quick) {
        (true, _) => 2_000_000,
        (false, true) => 20_000_000,
        (false, false) => 200_000_000,
    };
    if smoke {
        println!("unoptimised build: a smoke run only, the figures are not meaningful");
    }
    println!(
        "import throughput ({} mode): {records} content records per run, stub server on 127.0.0.1",
        match (smoke, quick) {
            (true, _) => "smoke",
            (false, true) => "quick",
            (false, false) => "full",
        }
    );

    let address = start_stub();
    let base = format!("http://{address}");
    let dir = tempfile::tempdir().expect("tempdir");
    let lines = dir.path().join("lines.txt");
    write_lines(&lines, records);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");

    let mut rows = Vec::new();
    println!(
        "{:>11} {:>14} {:>14} {:>14} {:>13} {:>13}",
        "concurrency", "loader rec/s", "raw req/s", "client req/s", "loader/raw", "client/raw"
    );
    for concurrency in [1usize, 8, 32] {
        // Warm up connections and caches once, then measure, interleaved.
        runtime.block_on(raw_rate(&base, &lines, records, concurrency));
        let (mut raws, mut clients, mut loaders) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..reps {
            raws.push(runtime.block_on(raw_rate(&base, &lines, records, concurrency)));
            clients.push(runtime.block_on(client_rate(&base, &lines, records, concurrency)));
            loaders.push(runtime.block_on(loader_rate(&base, &lines, records, concurrency, None)));
        }
        let (raw, client, loader) = (median(raws), median(clients), median(loaders));
        let ratio = loader / raw;
        println!(
            "{concurrency:>11} {loader:>14.0} {raw:>14.0} {client:>14.0} {ratio:>13.2} {:>13.2}",
            client / raw
        );
        rows.push(json!({"concurrency": concurrency, "loader_records_per_sec": loader, "raw_requests_per_sec": raw,
                         "client_requests_per_sec": client, "ratio": ratio, "client_ratio": client / raw}));
    }
    let checkpoint = dir.path().join("bench.ckpt");
    let with_checkpoint = median(
        (0..reps)
            .map(|_| runtime.block_on(loader_rate(&base, &lines, records, 32, Some(&checkpoint))))
            .collect(),
    );
    println!(
        "{:>11} {with_checkpoint:>14.0}   (loader with a checkpoint file)",
        32
    );

    let mut memory = Vec::new();
    for bytes in [big_bytes / 10, big_bytes] {
        let file = dir.path().join(format!("sessions-{bytes}.jsonl"));
        let sessions = write_sessions(&file, bytes);
        let size = std::fs::metadata(&file).expect("metadata").len();
        let summary = run_memos(&base, &file);
        assert_eq!(
            summary["records_acked"].as_u64(),
            Some(sessions),
            "{summary}"
        );
        let peak = summary["peak_rss_bytes"].as_u64().unwrap_or(0);
        let rate = summary["records_per_sec"].as_f64().unwrap_or(0.0);
        println!(
            "memos load messages: {:.0} MB JSONL, {sessions} sessions: peak RSS {:.1} MB, {rate:.0} sessions/s (concurrency 32)",
            size as f64 / 1e6,
            peak as f64 / 1e6
        );
        memory.push(json!({"input_bytes": size, "sessions": sessions, "peak_rss_bytes": peak, "records_per_sec": rate}));
        let _ = std::fs::remove_file(&file);
    }
    if let (Some(small), Some(large)) = (memory.first(), memory.last()) {
        let ratio = large["peak_rss_bytes"].as_f64().unwrap_or(0.0)
            / small["peak_rss_bytes"].as_f64().unwrap_or(1.0);
        println!("peak memory grows {ratio:.2}x for a 10x larger input");
    }

    if let Ok(path) = std::env::var("MEMOS_BENCH_JSON") {
        let report = json!({"quick": quick, "records": records, "throughput": rows,
                            "checkpoint_records_per_sec_at_32": with_checkpoint, "memory": memory});
        std::fs::write(&path, serde_json::to_vec_pretty(&report).expect("json"))
            .expect("write report");
    }
    // Stop the stub's thread with the process.
    drop(runtime);
    std::thread::sleep(Duration::from_millis(10));
}
