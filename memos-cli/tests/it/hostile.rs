//! `memos` against servers that misbehave: each case must end with a clear message and a
//! non-zero exit, without a panic, a hang past the timeout or unbounded memory; and text
//! from a server must not reach the terminal with its control characters.
//!
//! Each case prints one row (`MATRIX | case | exit | peak RSS | time | message`) to the
//! test's output; `cargo test -p memos-cli hostile -- --nocapture` shows the matrix.

use std::time::Duration;

use crate::common::{expect_code, text};
use crate::scripted::{answer, json_answer, run_measured, Measured, Scripted, Step};

const MIB: u64 = 1024 * 1024;

/// Longer than any run below may take with its `--timeout` and the client's retries;
/// reaching it is a hang.
const GUARD: Duration = Duration::from_secs(120);

/// Runs `memos` against `script` and checks what every hostile case must hold: the exit
/// code, no panic, the message, and memory under `max_rss`.
fn hostile(
    case: &str,
    script: Vec<Step>,
    args: &[&str],
    code: i32,
    needles: &[&str],
    max_rss: u64,
) -> (Scripted, Measured) {
    let server = Scripted::start(script);
    let measured = run_measured(&server.url, args, GUARD);
    let stderr = text(&measured.output.stderr);
    eprintln!(
        "MATRIX | {case} | {:?} | {:.1} MiB | {:.2} s | {}",
        measured.output.status.code(),
        measured.peak_rss as f64 / MIB as f64,
        measured.elapsed.as_secs_f64(),
        stderr.lines().next().unwrap_or_default()
    );
    expect_code(&measured.output, code);
    assert!(!stderr.contains("panicked"), "{stderr}");
    for needle in needles {
        assert!(
            stderr.contains(needle),
            "{needle:?} missing from:\n{stderr}"
        );
    }
    assert!(
        measured.peak_rss < max_rss,
        "peak RSS {} bytes is over {max_rss}",
        measured.peak_rss
    );
    assert_clean(&measured.output.stdout);
    assert_clean(&measured.output.stderr);
    (server, measured)
}

/// No ESC, BEL, CSI or other character a terminal acts on.
fn assert_clean(bytes: &[u8]) {
    let shown = text(bytes);
    assert!(
        !shown
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\t'),
        "raw control characters in: {shown:?}"
    );
}

fn endless_json(pause: Duration) -> Vec<Step> {
    answer(
        "200 OK",
        &[("content-type", "application/json")],
        vec![
            Step::Send(b"{\"code\":200,\"message\":\"ok\",\"data\":[\"".to_vec()),
            Step::Forever(vec![b'x'; 64 * 1024], pause),
        ],
    )
}

#[test]
fn an_endless_body_stops_at_the_default_cap() {
    // The case: `memos memories list --timeout 60` against an endless body.
    hostile(
        "endless body (default cap 64 MiB)",
        endless_json(Duration::ZERO),
        &["memories", "list", "--timeout", "60"],
        8,
        &["larger than 64 MiB", "--max-response-size"],
        400 * MIB,
    );
}

#[test]
fn an_endless_body_stops_at_the_cap_given_on_the_command_line() {
    hostile(
        "endless body, --max-response-size 1MiB",
        endless_json(Duration::ZERO),
        &[
            "memories",
            "list",
            "--timeout",
            "60",
            "--max-response-size",
            "1MiB",
        ],
        8,
        &[
            "larger than 1 MiB",
            "raise the cap with --max-response-size",
        ],
        100 * MIB,
    );
}

#[test]
fn a_trickling_endless_body_ends_at_the_timeout() {
    // Below the cap for far longer than the timeout: only the timeout can end it.
    hostile(
        "endless body, trickled (--timeout 2)",
        endless_json(Duration::from_millis(50)),
        &["memories", "list", "--timeout", "2"],
        6,
        &["no answer from the MemOS server in time"],
        100 * MIB,
    );
}

#[test]
fn a_100_mb_body_is_refused_from_its_length() {
    hostile(
        "100 MB body (Content-Length)",
        answer(
            "200 OK",
            &[
                ("content-type", "application/json"),
                ("content-length", "104857600"),
            ],
            vec![Step::Forever(vec![b' '; 64 * 1024], Duration::ZERO)],
        ),
        &["users", "list", "--timeout", "10"],
        8,
        &["larger than 64 MiB"],
        100 * MIB,
    );
}

#[test]
fn deep_nesting_is_an_invalid_answer() {
    // `act_mem` takes any JSON, so only the depth can make it fail.
    let depth = 100_000;
    let mut body =
        b"{\"code\":200,\"message\":\"ok\",\"data\":{\"text_mem\":[],\"para_mem\":[],\"act_mem\":"
            .to_vec();
    body.extend(std::iter::repeat_n(b'[', depth));
    body.extend(std::iter::repeat_n(b']', depth));
    body.extend(b"}}");
    hostile(
        "deep nesting (100 000 arrays)",
        json_answer("200 OK", &body),
        &["memories", "list", "--timeout", "10"],
        5,
        &["does not match the API spec", "recursion limit"],
        100 * MIB,
    );
}

#[test]
fn invalid_utf8_is_an_invalid_answer() {
    hostile(
        "invalid UTF-8",
        json_answer(
            "200 OK",
            b"{\"code\":200,\"message\":\"\xff\xfe\",\"data\":[]}",
        ),
        &["users", "list", "--timeout", "10"],
        5,
        &["does not match the API spec"],
        100 * MIB,
    );
}

#[test]
fn a_wrong_content_type_is_an_invalid_answer() {
    let page = b"<html><body>\x1b]0;pwned\x07Welcome to the captive portal</body></html>";
    hostile(
        "wrong content type (text/html)",
        answer(
            "200 OK",
            &[
                ("content-type", "text/html"),
                ("content-length", &page.len().to_string()),
            ],
            vec![Step::Send(page.to_vec())],
        ),
        &["users", "list", "--timeout", "10"],
        5,
        &["does not match the API spec", "captive portal"],
        100 * MIB,
    );
}

#[test]
fn a_200_with_an_error_envelope_is_an_error() {
    hostile(
        "200 with an error envelope",
        json_answer(
            "200 OK",
            b"{\"code\":500,\"message\":\"internal \\u001b[2Jerror\",\"data\":null}",
        ),
        &["users", "list", "--timeout", "10"],
        5,
        &["users"],
        100 * MIB,
    );
}

#[test]
fn a_reset_in_the_middle_of_a_body_is_a_broken_connection() {
    hostile(
        "reset in the middle of a body",
        answer(
            "200 OK",
            &[
                ("content-type", "application/json"),
                ("content-length", "1000"),
            ],
            vec![
                Step::Send(b"{\"code\":200,\"message\":\"ok\",\"data\":[".to_vec()),
                Step::Reset,
            ],
        ),
        &["users", "list", "--timeout", "10"],
        6,
        &["the connection broke before the answer was complete"],
        100 * MIB,
    );
}

#[test]
fn a_stall_after_the_head_ends_at_the_timeout() {
    hostile(
        "stall after the headers (--timeout 2)",
        answer(
            "200 OK",
            &[
                ("content-type", "application/json"),
                ("content-length", "1000"),
            ],
            vec![Step::Stall],
        ),
        &["users", "list", "--timeout", "2"],
        6,
        &["no answer from the MemOS server in time"],
        100 * MIB,
    );
}

#[test]
fn a_redirect_to_another_host_is_not_followed() {
    let (server, _) = hostile(
        "redirect to another host (307)",
        answer(
            "307 Temporary Redirect",
            &[
                ("location", "http://198.51.100.7:8000/users?steal=1"),
                ("content-length", "0"),
            ],
            vec![],
        ),
        &["--token", "s3cr3t-TOKEN-value", "users", "list"],
        6,
        &["198.51.100.7", "check --base-url"],
        100 * MIB,
    );
    let requests = server.requests.lock().unwrap();
    assert_eq!(requests.len(), 1, "{requests:?}");
}

#[test]
fn unauthorized_and_forbidden_say_to_check_the_token() {
    for (status, case) in [
        ("401 Unauthorized", "401 Unauthorized"),
        ("403 Forbidden", "403 Forbidden"),
    ] {
        hostile(
            case,
            json_answer(status, b"{\"detail\":\"Not authenticated\"}"),
            &["--token", "wrong", "users", "list"],
            5,
            &["Not authenticated", "check the token"],
            100 * MIB,
        );
    }
}

#[test]
fn an_echoed_token_is_redacted() {
    let token = "s3cr3t-TOKEN-value";
    let (_, measured) = hostile(
        "echoed token (400)",
        json_answer(
            "400 Bad Request",
            format!(
                "{{\"code\":400,\"message\":\"bad credential: Bearer {token}\",\"data\":null}}"
            )
            .as_bytes(),
        ),
        &["--token", token, "users", "list"],
        5,
        &["<redacted>"],
        100 * MIB,
    );
    for stream in [&measured.output.stdout, &measured.output.stderr] {
        assert!(!text(stream).contains(token), "{}", text(stream));
    }
}

/// A memory whose text would set the window title and clear the screen.
const PWNED: &str = "hello \\u001b]0;pwned\\u0007 \\u001b[2J\\u009b31m world";

fn memory_list() -> Vec<u8> {
    format!(
        "{{\"code\":200,\"message\":\"ok\",\"data\":{{\"text_mem\":[{{\"cube_id\":\"c\\u001b[31m\",\
         \"memories\":[{{\"id\":\"5f0c2a52-0d2e-4f57-9d8c-2b9f0e6f1a11\",\"memory\":\"{PWNED}\",\
         \"metadata\":{{\"source\":\"\\u001b[1m\"}}}}]}}],\"act_mem\":[],\"para_mem\":[]}}}}"
    )
    .into_bytes()
}

#[test]
fn control_characters_from_the_server_are_escaped_in_text_output() {
    let cases: Vec<(&str, Vec<u8>, Vec<&str>)> = vec![
        ("memories list", memory_list(), vec!["memories", "list"]),
        (
            "memories get",
            format!(
                "{{\"code\":200,\"message\":\"ok\",\"data\":{{\"id\":\"5f0c2a52-0d2e-4f57-9d8c-2b9f0e6f1a11\",\
                 \"memory\":\"{PWNED}\\nsecond line\",\"metadata\":{{}}}}}}"
            )
            .into_bytes(),
            vec!["memories", "get", "c", "5f0c2a52-0d2e-4f57-9d8c-2b9f0e6f1a11"],
        ),
        ("search", memory_list(), vec!["search", "q"]),
        (
            "chat",
            format!("{{\"code\":200,\"message\":\"ok\",\"data\":\"{PWNED}\"}}").into_bytes(),
            vec!["chat", "hi"],
        ),
        (
            "users list",
            format!(
                "{{\"code\":200,\"message\":\"ok\",\"data\":[{{\"user_id\":\"{PWNED}\",\
                 \"user_name\":\"\\u001b[8m\",\"role\":\"USER\",\"created_at\":\"\\u0007\",\
                 \"is_active\":true}}]}}"
            )
            .into_bytes(),
            vec!["users", "list"],
        ),
    ];
    for (case, body, args) in cases {
        let server = Scripted::start(json_answer("200 OK", &body));
        let measured = run_measured(&server.url, &args, GUARD);
        expect_code(&measured.output, 0);
        let stdout = text(&measured.output.stdout);
        assert_clean(&measured.output.stdout);
        assert_clean(&measured.output.stderr);
        // Shown, not dropped: a person sees that the server sent something odd.
        assert!(stdout.contains("\\u{1b}"), "{case}: {stdout}");
        eprintln!("MATRIX | control characters ({case}) | 0 | escaped");
    }
}

#[test]
fn control_characters_in_a_server_error_are_escaped() {
    hostile(
        "control characters in an error message",
        json_answer(
            "400 Bad Request",
            b"{\"code\":400,\"message\":\"no \\u001b]0;pwned\\u0007 \\u001b[2J such user\",\"data\":null}",
        ),
        &["users", "list"],
        5,
        &["no \\u{1b}]0;pwned\\u{7} \\u{1b}[2J such user"],
        100 * MIB,
    );
}

#[test]
fn json_output_escapes_control_characters_itself() {
    let server = Scripted::start(json_answer("200 OK", &memory_list()));
    let measured = run_measured(&server.url, &["--json", "memories", "list"], GUARD);
    expect_code(&measured.output, 0);
    assert_clean(&measured.output.stdout);
    assert!(text(&measured.output.stdout).contains("\\u001b]0;pwned"));
}

#[test]
fn a_token_over_plain_http_to_a_remote_host_is_warned_about_once() {
    // TEST-NET-1: nothing answers there; the warning comes before any request.
    let remote = crate::scripted::run_measured(
        "http://192.0.2.1:9",
        &["--token", "t0k3n", "--timeout", "1", "users", "list"],
        GUARD,
    );
    let stderr = text(&remote.output.stderr);
    assert_eq!(stderr.matches("sent unencrypted").count(), 1, "{stderr}");
    assert!(stderr.contains("use https"), "{stderr}");
    assert!(!stderr.contains("t0k3n"), "{stderr}");

    // Loopback, or no token: nothing to warn about.
    let server = Scripted::start(json_answer(
        "200 OK",
        b"{\"code\":200,\"message\":\"ok\",\"data\":[]}",
    ));
    for args in [
        &["--token", "t0k3n", "users", "list"][..],
        &["users", "list"][..],
    ] {
        let local = run_measured(&server.url, args, GUARD);
        expect_code(&local.output, 0);
        assert!(
            !text(&local.output.stderr).contains("unencrypted"),
            "{}",
            text(&local.output.stderr)
        );
    }
}

#[test]
fn max_response_size_takes_units_and_refuses_nonsense() {
    for bad in ["0", "lots", "-1"] {
        let output = crate::common::memos()
            .arg(format!("--max-response-size={bad}"))
            .args(["users", "list"])
            .output()
            .unwrap();
        expect_code(&output, 2);
        assert!(
            text(&output.stderr).contains("--max-response-size"),
            "{}",
            text(&output.stderr)
        );
    }
    let server = Scripted::start(json_answer(
        "200 OK",
        b"{\"code\":200,\"message\":\"ok\",\"data\":[]}",
    ));
    for good in ["100", "64MiB", "2 MB", "1.5GiB"] {
        let measured = run_measured(
            &server.url,
            &["--max-response-size", good, "users", "list"],
            GUARD,
        );
        expect_code(&measured.output, 0);
    }
}

#[test]
fn help_names_the_size_flag_and_its_exit_code() {
    let output = crate::common::memos().arg("--help").output().unwrap();
    expect_code(&output, 0);
    let help = text(&output.stdout);
    assert!(
        help.contains("--max-response-size <SIZE>")
            && help.contains("[default: 64MiB]")
            && help.contains("  8    the server's answer was larger than --max-response-size"),
        "{help}"
    );
}

#[test]
fn a_stall_before_the_head_ends_after_the_timeout_of_each_try() {
    // Nothing at all comes back. A read may be tried again (the client's retry policy), so
    // the run takes a few timeouts, each of them bounded.
    hostile(
        "stall before the headers (--timeout 2)",
        vec![Step::Stall],
        &["users", "list", "--timeout", "2"],
        6,
        &["no answer from the MemOS server in time"],
        100 * MIB,
    );
}
