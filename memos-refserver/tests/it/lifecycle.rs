//! Starting and stopping: a private server is cleaned up on drop, and the binary's
//! uvicorn child never outlives it, whether the binary is stopped or killed.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::ok;
use memos_refserver::testing::{skip_for_missing_python, start_or_skip};
use memos_refserver::StartOptions;
use reqwest::Method;

/// Whether a process exists and is not a zombie (Linux `/proc`).
fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit_once(')')
            .map(|(_, rest)| !rest.trim_start().starts_with('Z'))
            .unwrap_or(false),
        Err(_) => false,
    }
}

fn wait_until_dead(pid: u32, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if !alive(pid) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    !alive(pid)
}

#[tokio::test]
async fn private_server_is_cleaned_up_on_drop() {
    let options = StartOptions {
        cube_count: 1,
        ..StartOptions::default()
    };
    let Some(server) = start_or_skip(options).await else {
        return;
    };
    let pid = server.pid();
    let root = server.temp_root().to_path_buf();
    assert!(alive(pid));
    assert_eq!(server.cube_dirs().len(), 1);
    assert!(server.cube_dirs()[0].join("config.json").is_file());

    // Re-configuring with the recorded body works (and is allowed on a private server).
    let http = crate::http();
    ok(
        &http,
        Method::POST,
        &format!("{}/configure", server.base_url()),
        Some(server.configure_body().clone()),
    )
    .await;

    drop(server);
    assert!(
        wait_until_dead(pid, Duration::from_secs(5)),
        "uvicorn {pid} survived the drop"
    );
    assert!(!root.exists(), "{} was not removed", root.display());
}

/// The binary with its stdout parsed until `MEMOS_READY=1`.
struct RunningBinary {
    child: Child,
    base_url: String,
    server_pid: u32,
    temp_root: PathBuf,
}

/// `None` when Python is missing and the test is skipped.
fn start_binary() -> Option<RunningBinary> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_memos-reference-server"))
        .arg("--cubes")
        .arg("1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("running memos-reference-server");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut vars = std::collections::HashMap::new();
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => {
                if let Some((k, v)) = line.split_once('=') {
                    vars.insert(k.to_string(), v.to_string());
                }
                if line == "MEMOS_READY=1" {
                    break;
                }
            }
            Err(_) => {
                // Ended or timed out: report what the binary said.
                let _ = child.kill();
                let out = child.wait_with_output().expect("binary output");
                let stderr = String::from_utf8_lossy(&out.stderr);
                if stderr.contains("no usable Python") {
                    let err = memos_refserver::Error::PythonMissing {
                        detail: stderr.to_string(),
                    };
                    if skip_for_missing_python(&err) {
                        return None;
                    }
                }
                panic!("memos-reference-server did not become ready: {stderr}");
            }
        }
    }
    let get = |k: &str| {
        vars.get(k)
            .cloned()
            .unwrap_or_else(|| panic!("no {k} line"))
    };
    Some(RunningBinary {
        child,
        base_url: get("MEMOS_BASE_URL"),
        server_pid: get("MEMOS_SERVER_PID").parse().expect("pid"),
        temp_root: PathBuf::from(get("MEMOS_TEMP_ROOT")),
    })
}

#[tokio::test]
async fn binary_stops_cleanly_on_sigterm_and_its_server_dies_on_sigkill() {
    // Started one after the other: two cold Python starts at once are slow on 2 cores.
    let Some(mut bin) = start_binary() else {
        return;
    };
    let http = crate::http();
    let users = ok(&http, Method::GET, &format!("{}/users", bin.base_url), None).await;
    assert!(users.to_string().contains("\"root\""), "{users}");

    // SIGTERM: the binary stops uvicorn, removes its temp dir and exits 0.
    unsafe {
        libc::kill(bin.child.id() as libc::pid_t, libc::SIGTERM);
    }
    let status = bin.child.wait().expect("binary exit");
    assert!(status.success(), "exit status {status}");
    assert!(!alive(bin.server_pid), "uvicorn survived a clean stop");
    assert!(
        !bin.temp_root.exists(),
        "{} left behind",
        bin.temp_root.display()
    );

    // SIGKILL: no cleanup code runs, but the kernel kills uvicorn (PR_SET_PDEATHSIG).
    let Some(mut bin) = start_binary() else {
        return;
    };
    unsafe {
        libc::kill(bin.child.id() as libc::pid_t, libc::SIGKILL);
    }
    let _ = bin.child.wait();
    assert!(
        wait_until_dead(bin.server_pid, Duration::from_secs(5)),
        "uvicorn {} outlived its killed parent",
        bin.server_pid
    );
    // No cleanup ran in the killed binary; a later start() would sweep its temp dir.
    let _ = std::fs::remove_dir_all(&bin.temp_root);
}

#[test]
fn completions_print_a_script_and_start_nothing() {
    let out = Command::new(env!("CARGO_BIN_EXE_memos-reference-server"))
        .args(["--completions", "fish"])
        .stdin(Stdio::null())
        .output()
        .expect("running memos-reference-server");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    for needle in [
        "complete -c memos-reference-server",
        "backend",
        "install-only",
    ] {
        assert!(stdout.contains(needle), "{needle} missing from:\n{stdout}");
    }
    assert!(
        !stdout.contains("MEMOS_READY"),
        "a server started: {stdout}"
    );
}
