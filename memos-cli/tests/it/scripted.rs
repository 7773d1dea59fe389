//! A scripted HTTP server that misbehaves on purpose, and a run of `memos` that measures the
//! process's peak memory.
//!
//! The server is raw TCP rather than axum: the hostile cases (a reset in the middle of a
//! body, a stall after the head, an endless body) are about the bytes on the wire, which a
//! framework would tidy up.

use std::io::Read as _;
use std::path::Path;
use std::process::{Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

/// One step of an answer.
#[derive(Clone)]
pub enum Step {
    /// Writes these bytes.
    Send(Vec<u8>),
    /// Writes this chunk again and again, pausing between writes, until the client goes away.
    Forever(Vec<u8>, Duration),
    /// Resets the connection (RST, not a clean close).
    Reset,
    /// Keeps the connection open and sends nothing more.
    Stall,
}

/// An answer: a status line and headers, then steps.
pub fn answer(status: &str, headers: &[(&str, &str)], steps: Vec<Step>) -> Vec<Step> {
    let mut head = format!("HTTP/1.1 {status}\r\nconnection: close\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    let mut all = vec![Step::Send(head.into_bytes())];
    all.extend(steps);
    all
}

/// A whole JSON answer with its length.
pub fn json_answer(status: &str, body: &[u8]) -> Vec<Step> {
    answer(
        status,
        &[
            ("content-type", "application/json"),
            ("content-length", &body.len().to_string()),
        ],
        vec![Step::Send(body.to_vec())],
    )
}

/// A server on 127.0.0.1 that answers every request with the same script; it stops when
/// dropped.
pub struct Scripted {
    pub url: String,
    /// The head of every request received (to check what the client sent).
    pub requests: Arc<Mutex<Vec<String>>>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl Scripted {
    pub fn start(script: Vec<Step>) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("a runtime for the scripted server");
        let listener = runtime
            .block_on(TcpListener::bind("127.0.0.1:0"))
            .expect("binding 127.0.0.1:0");
        let url = format!("http://{}", listener.local_addr().expect("local address"));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = requests.clone();
        let script = Arc::new(script);
        runtime.spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let script = script.clone();
                let seen = seen.clone();
                tokio::spawn(async move {
                    let _ = serve(stream, &script, &seen).await;
                });
            }
        });
        Self {
            url,
            requests,
            runtime: Some(runtime),
        }
    }
}

impl Drop for Scripted {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            // Stalled connections would otherwise keep the drop waiting.
            runtime.shutdown_background();
        }
    }
}

async fn serve(
    mut stream: TcpStream,
    script: &[Step],
    seen: &Mutex<Vec<String>>,
) -> std::io::Result<()> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte).await? == 0 {
            return Ok(());
        }
        head.push(byte[0]);
    }
    seen.lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(String::from_utf8_lossy(&head).into_owned());
    // A request body, if any, is left unread: every answer ends the connection.
    for step in script {
        match step {
            Step::Send(bytes) => stream.write_all(bytes).await?,
            Step::Forever(chunk, pause) => loop {
                stream.write_all(chunk).await?;
                if !pause.is_zero() {
                    tokio::time::sleep(*pause).await;
                }
            },
            Step::Reset => {
                stream.flush().await?;
                // SO_LINGER 0: closing sends RST.
                stream.set_zero_linger()?;
                return Ok(());
            }
            Step::Stall => {
                std::future::pending::<()>().await;
            }
        }
    }
    stream.shutdown().await
}

/// What a measured run of `memos` gave.
pub struct Measured {
    pub output: Output,
    /// The largest `VmHWM` (peak resident set) seen while the process ran, in bytes. It is
    /// sampled, so it is a lower bound of the true peak.
    pub peak_rss: u64,
    pub elapsed: Duration,
}

/// Runs `memos --base-url URL ARGS...`, sampling its peak memory. A run still going after
/// `guard` is killed and fails the test: that is a hang, not a slow run (the guard is far
/// above any `--timeout` the tests pass).
pub fn run_measured(base_url: &str, args: &[&str], guard: Duration) -> Measured {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let stdout_path = dir.path().join("stdout");
    let stderr_path = dir.path().join("stderr");
    let mut command = crate::common::memos();
    command
        .arg("--base-url")
        .arg(base_url)
        .args(args)
        .stdout(Stdio::from(
            std::fs::File::create(&stdout_path).expect("stdout file"),
        ))
        .stderr(Stdio::from(
            std::fs::File::create(&stderr_path).expect("stderr file"),
        ));
    let started = Instant::now();
    let mut child = command.spawn().expect("memos runs");
    let status_file = format!("/proc/{}/status", child.id());
    let mut peak_rss = 0;
    let status = loop {
        if let Some(rss) = vm_hwm(Path::new(&status_file)) {
            peak_rss = peak_rss.max(rss);
        }
        if let Some(status) = child.try_wait().expect("waiting for memos") {
            break status;
        }
        if started.elapsed() > guard {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "memos {args:?} still ran after {guard:?} (a hang); stderr so far:\n{}",
                read(&stderr_path)
            );
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let elapsed = started.elapsed();
    Measured {
        output: Output {
            status,
            stdout: read_bytes(&stdout_path),
            stderr: read_bytes(&stderr_path),
        },
        peak_rss,
        elapsed,
    }
}

/// `VmHWM` of a running process, in bytes (None once it has exited, or off Linux).
fn vm_hwm(status_file: &Path) -> Option<u64> {
    let status = std::fs::read_to_string(status_file).ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    let kib: u64 = line
        .trim_start_matches("VmHWM:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kib * 1024)
}

fn read_bytes(path: &Path) -> Vec<u8> {
    let mut bytes = Vec::new();
    if let Ok(mut file) = std::fs::File::open(path) {
        let _ = file.read_to_end(&mut bytes);
    }
    bytes
}

fn read(path: &Path) -> String {
    String::from_utf8_lossy(&read_bytes(path)).into_owned()
}
