//! The binary: no arguments replays the embedded mock and exits 0; a server that is
//! down exits 1 with a clear report; bad arguments exit 2.

use std::process::Command;
use std::time::{Duration, Instant};

fn bin() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_memos-conformance"));
    cmd.env_remove("MEMOS_TOKEN");
    cmd
}

#[test]
fn no_arguments_runs_the_mock_and_exits_zero() {
    let out = bin().output().expect("run the binary");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("embedded mock"), "{stdout}");
    assert!(stdout.contains("known defect"), "{stdout}");
    assert!(stdout.trim_end().ends_with("PASS"), "{stdout}");
}

#[test]
fn mock_tree_text_replays_what_a_graph_backed_server_answers() {
    let out = bin()
        .args([
            "--mock",
            "tree_text",
            "--case",
            "list_memories.lists_cube_memories",
        ])
        .output()
        .expect("run the binary");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("backend: tree_text (the mock's snapshot set)"),
        "{stdout}"
    );
    let out = bin()
        .args(["--mock", "general_text", "--base-url", "http://127.0.0.1:9"])
        .output()
        .expect("run the binary");
    assert_eq!(out.status.code(), Some(2));
    let out = bin()
        .args(["--mock", "qdrant"])
        .output()
        .expect("run the binary");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("naive_text, general_text, tree_text"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_server_that_is_down_exits_one_quickly() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let dir = tempfile::tempdir().expect("tempdir");
    let junit = dir.path().join("report.xml");
    let started = Instant::now();
    let out = bin()
        .args([
            "--base-url",
            &format!("http://127.0.0.1:{port}"),
            "--format",
            "junit",
            "--output",
        ])
        .arg(&junit)
        .output()
        .expect("run the binary");
    assert!(started.elapsed() < Duration::from_secs(20));
    assert_eq!(out.status.code(), Some(1));
    let xml = std::fs::read_to_string(&junit).expect("the report file");
    assert!(
        xml.contains("<testsuites") && xml.contains("could not connect"),
        "{xml}"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("FAIL"), "{stderr}");
}

#[test]
fn bad_arguments_exit_two_with_a_reason() {
    let out = bin()
        .args(["--case", "no-such-case-anywhere"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--list"));
    let out = bin()
        .args(["--base-url", "localhost:8000"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("http://"));
}

#[test]
fn json_output_of_a_selection_parses() {
    let out = bin()
        .args(["--case", "chat.*", "--format", "json"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let names: Vec<&str> = report["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert!(
        names.contains(&"chat.answers_query") && names.contains(&"meta.server_version"),
        "{names:?}"
    );
    assert!(!names.iter().any(|n| n.starts_with("add_memories")));
    assert_eq!(report["target"]["backend"], "naive_text");
    assert_eq!(
        report["target"]["backend_learned"],
        "the mock's snapshot set"
    );
}

#[test]
fn a_token_sent_in_cleartext_to_a_remote_host_is_warned_about() {
    // 192.0.2.1 (TEST-NET-1) is never routed: the run stops at its first request.
    let mut cmd = bin();
    for proxy in [
        "HTTP_PROXY",
        "http_proxy",
        "HTTPS_PROXY",
        "https_proxy",
        "ALL_PROXY",
        "all_proxy",
    ] {
        cmd.env_remove(proxy);
    }
    let out = cmd
        .env("MEMOS_TOKEN", "s3cr3t-cleartext-token")
        .args([
            "--base-url",
            "http://192.0.2.1:9",
            "--timeout",
            "1",
            "--case",
            "auth.configured_scheme_is_sent",
        ])
        .output()
        .expect("run the binary");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    for (what, text) in [("stderr", &stderr), ("the report", &stdout)] {
        assert!(
            text.contains("bearer credential is sent unencrypted to http://192.0.2.1:9"),
            "{what}: {text}"
        );
        assert!(!text.contains("s3cr3t"), "{what}: {text}");
    }
}

#[test]
fn help_says_to_pass_a_scratch_cube_directory_and_what_destructive_allows() {
    let out = bin().arg("--help").output().expect("run the binary");
    assert_eq!(out.status.code(), Some(0));
    // clap wraps long help to the terminal width: compare words, not lines.
    let help = String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    for needed in [
        "pass an empty scratch directory as --cube-path",
        "shares its storage",
        "delete-all",
        "doc_path naming the cube directory",
        "130 when interrupted",
        "--backend <BACKEND>",
        "--mock <BACKEND>",
        "a case that needs several cubes at once takes each from its own directory",
    ] {
        assert!(
            help.contains(needed),
            "{needed:?} missing from --help: {help}"
        );
    }
    assert!(!help.contains("never changes anything outside"), "{help}");
}

#[test]
fn api_option_lists_product_cases_and_replays_the_product_mock() {
    let out = bin()
        .args(["--list", "--api", "product"])
        .output()
        .expect("run the binary");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("chat_stream.frames_follow_grammar"),
        "{stdout}"
    );
    assert!(
        !stdout.contains("create_user."),
        "v1 cases listed: {stdout}"
    );
    // Without --base-url the product mock replays the product server's recording and
    // tells what the live run does.
    let out = bin()
        .args(["--api", "product"])
        .output()
        .expect("run the binary");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("embedded mock"), "{stdout}");
    assert!(stdout.contains("API: product (--api)"), "{stdout}");
    assert!(
        stdout.contains("41 cases: 29 passed, 0 failed, 9 known defects, 3 warnings, 0 skipped, 0 not applicable; 565 checks on exchanges, 6 failed;"),
        "{stdout}"
    );
    // The product mock has one recording, of no v1 backend.
    let out = bin()
        .args(["--api", "product", "--mock", "tree_text"])
        .output()
        .expect("run the binary");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("drop --mock"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = bin()
        .args(["--api", "v2"])
        .output()
        .expect("run the binary");
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn the_text_report_names_the_api() {
    let out = bin()
        .args(["--case", "get_current_user.*"])
        .output()
        .expect("run the binary");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("API: v1 (the mock's snapshot set)"),
        "{stdout}"
    );
}

#[test]
fn completions_print_a_script_with_every_option_and_run_nothing() {
    let out = bin()
        .args(["--completions", "bash"])
        .output()
        .expect("run the binary");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("complete -F _memos__conformance"),
        "{stdout}"
    );
    for option in ["--base-url", "--mock", "--cube-path", "--completions"] {
        assert!(stdout.contains(option), "{option} missing from:\n{stdout}");
    }
    assert!(!stdout.contains("embedded mock"), "the suite ran: {stdout}");

    // Alone or not at all: with other options it is a usage error.
    let out = bin()
        .args(["--completions", "bash", "--list"])
        .output()
        .expect("run the binary");
    assert_eq!(out.status.code(), Some(2));
}
