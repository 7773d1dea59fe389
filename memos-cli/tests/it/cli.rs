//! The `memos` command as a person or a script meets it: help, exit codes, error messages,
//! JSON output, and each command against the real reference server.

use crate::common;

use common::{dead_url, expect_code, json, run, server, stored, text};

#[test]
fn help_shows_commands_examples_and_exit_codes() {
    let output = common::memos().arg("--help").output().unwrap();
    expect_code(&output, 0);
    let help = text(&output.stdout);
    for needle in [
        "load",
        "users",
        "cubes",
        "memories",
        "search",
        "chat",
        "Examples:",
        "Exit codes:",
        "MEMOS_BASE_URL",
    ] {
        assert!(help.contains(needle), "{needle} missing from:\n{help}");
    }
    let output = common::memos()
        .args(["load", "content", "--help"])
        .output()
        .unwrap();
    let help = text(&output.stdout);
    assert!(
        help.contains("--per-line") && help.contains("memos load content -"),
        "{help}"
    );
    let output = common::memos()
        .args(["load", "docs", "--help"])
        .output()
        .unwrap();
    let help = text(&output.stdout);
    assert!(
        help.contains("--server-dir") && help.contains("stores nothing"),
        "{help}"
    );
}

#[test]
fn completions_bash_completes_every_command_and_option() {
    let output = common::memos()
        .args(["completions", "bash"])
        .output()
        .unwrap();
    expect_code(&output, 0);
    let script = text(&output.stdout);
    assert!(script.contains("complete -F _memos"), "{script}");
    for needle in [
        "load",
        "users",
        "cubes",
        "memories",
        "search",
        "chat",
        "completions",
        "memos__subcmd__load__subcmd__messages",
        "--base-url",
        "--resume",
    ] {
        assert!(script.contains(needle), "{needle} missing from:\n{script}");
    }
}

#[test]
fn completions_exist_for_every_shell_and_not_for_others() {
    for (shell, marker) in [
        ("zsh", "#compdef memos"),
        ("fish", "complete -c memos"),
        ("powershell", "Register-ArgumentCompleter"),
        ("elvish", "edit:completion:arg-completer[memos]"),
    ] {
        let output = common::memos()
            .args(["completions", shell])
            .output()
            .unwrap();
        expect_code(&output, 0);
        let script = text(&output.stdout);
        assert!(script.contains(marker), "{shell}: {marker} missing");
        assert!(script.contains("memories"), "{shell}: no subcommands");
    }
    let output = common::memos()
        .args(["completions", "tcsh"])
        .output()
        .unwrap();
    expect_code(&output, 2);
    let error = text(&output.stderr);
    assert!(
        error.contains("possible values: bash, elvish, fish, powershell, zsh"),
        "{error}"
    );
}

#[test]
fn usage_errors_exit_2() {
    let output = common::memos()
        .args(["load", "messages", "x.jsonl"])
        .output()
        .unwrap();
    expect_code(&output, 2);
    assert!(text(&output.stderr).contains("--user"));
    let output = common::memos()
        .args(["--base-url", "localhost:8000", "users", "list"])
        .output()
        .unwrap();
    expect_code(&output, 2);
    assert!(
        text(&output.stderr).contains("http://"),
        "{}",
        text(&output.stderr)
    );
}

#[test]
fn invalid_input_exits_3_before_contacting_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.jsonl");
    std::fs::write(
        &path,
        "{\"role\":\"user\",\"content\":\"ok\"}\n\n{\"role\":\"user\"}\n",
    )
    .unwrap();
    let file = path.to_str().unwrap();
    // The server URL is dead: reaching it would be exit 6, not 3.
    let output = run(
        &dead_url(),
        &["load", "messages", file, "--user", "u", "--cube", "c"],
        None,
    );
    expect_code(&output, 3);
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains(&format!("{file}:3: missing field 'content'")),
        "{stderr}"
    );
    assert!(
        stderr.contains("nothing was sent") && stderr.contains("--skip-invalid"),
        "{stderr}"
    );
}

#[test]
fn a_missing_file_exits_4() {
    let output = run(
        &dead_url(),
        &[
            "load",
            "content",
            "/nonexistent/file.log",
            "--user",
            "u",
            "--cube",
            "c",
        ],
        None,
    );
    expect_code(&output, 4);
    assert!(
        text(&output.stderr).contains("/nonexistent/file.log: no such file"),
        "{}",
        text(&output.stderr)
    );
}

#[test]
fn an_unreachable_server_exits_6_with_a_hint() {
    let output = run(&dead_url(), &["users", "list"], None);
    expect_code(&output, 6);
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("could not reach the MemOS server: error sending request")
            && stderr.ends_with(
                "\n  hint: is the server running at the base URL, and is the URL right?\n"
            ),
        "{stderr}"
    );
    // The cause is shown, and once.
    assert_eq!(
        stderr.matches("error sending request").count(),
        1,
        "{stderr}"
    );
}

#[test]
fn dry_run_counts_stdin_and_prints_json_without_a_server() {
    let input = b"line one\nline two\n\nline three\n";
    let output = run(
        &dead_url(),
        &[
            "--json",
            "load",
            "content",
            "-",
            "--user",
            "u",
            "--cube",
            "c",
            "--per-line",
            "--dry-run",
        ],
        Some(input),
    );
    expect_code(&output, 0);
    let summary = json(&output);
    assert_eq!(summary["dry_run"], true);
    assert_eq!(summary["records_read"], 3);
    assert_eq!(summary["records_sent"], 0);

    let output = run(
        &dead_url(),
        &["load", "content", "--user", "u", "--cube", "c", "--dry-run"],
        Some(input),
    );
    expect_code(&output, 0);
    assert!(
        text(&output.stdout).contains("Dry run: 1 valid records"),
        "{}",
        text(&output.stdout)
    );
}

#[tokio::test]
async fn everyday_commands_against_the_reference_server() {
    let Some(server) = server().await else { return };
    let base = server.base_url();
    let cube_dir = server.cube_dirs()[1].display().to_string();
    let (user, cube) = ("cli-walk", "cli-walk-cube");

    let output = run(base, &["--json", "users", "create", user], None);
    expect_code(&output, 0);
    assert_eq!(json(&output)["user_id"], user);
    let output = run(base, &["--json", "users", "list"], None);
    expect_code(&output, 0);
    assert!(json(&output)
        .as_array()
        .unwrap()
        .iter()
        .any(|u| u["user_id"] == user));
    let output = run(base, &["users", "list"], None);
    assert!(
        text(&output.stdout).contains(user),
        "{}",
        text(&output.stdout)
    );

    let output = run(
        base,
        &[
            "cubes", "register", cube, "--path", &cube_dir, "--user", user,
        ],
        None,
    );
    expect_code(&output, 0);

    // `some-command | memos load content -`
    let output = run(
        base,
        &[
            "--json",
            "load",
            "content",
            "-",
            "--user",
            user,
            "--cube",
            cube,
            "--per-line",
        ],
        Some(b"I moved to Lisbon in March.\nMy cat is called Miso.\n"),
    );
    expect_code(&output, 0);
    let summary = json(&output);
    assert_eq!(
        (
            summary["records_acked"].as_u64(),
            summary["complete"].as_bool()
        ),
        (Some(2), Some(true))
    );
    assert!(summary["peak_rss_bytes"].as_u64().unwrap_or(0) > 0);

    let output = run(
        base,
        &["--json", "memories", "list", "--cube", cube, "--user", user],
        None,
    );
    expect_code(&output, 0);
    let list = json(&output);
    let memories = list["text_mem"][0]["memories"].as_array().unwrap().clone();
    assert_eq!(memories.len(), 2);
    // Records are sent concurrently, so the server's order is not the input's.
    let lisbon = memories
        .iter()
        .find(|m| m["memory"] == "I moved to Lisbon in March.")
        .expect("the Lisbon memory is stored");
    let id = lisbon["id"].as_str().unwrap().to_owned();
    let output = run(
        base,
        &["memories", "list", "--cube", cube, "--user", user],
        None,
    );
    assert!(
        text(&output.stdout).contains("Lisbon"),
        "{}",
        text(&output.stdout)
    );

    // GET one never works on the reference server; the command falls back to the list.
    let output = run(base, &["memories", "get", cube, &id, "--user", user], None);
    expect_code(&output, 0);
    assert!(
        text(&output.stdout).contains("I moved to Lisbon in March."),
        "{}",
        text(&output.stdout)
    );

    let output = run(
        base,
        &["--json", "search", "Lisbon", "--user", user, "--cube", cube],
        None,
    );
    expect_code(&output, 0);
    assert_eq!(
        json(&output)["text_mem"][0]["memories"][0]["memory"],
        "I moved to Lisbon in March."
    );

    let output = run(
        base,
        &["--json", "chat", "Where do I live?", "--user", user],
        None,
    );
    expect_code(&output, 0);
    assert!(json(&output)["answer"]
        .as_str()
        .is_some_and(|a| !a.is_empty()));

    // A partial id would delete every memory whose id contains it: refused.
    let output = run(
        base,
        &["memories", "delete", cube, &id[..8], "--user", user],
        None,
    );
    expect_code(&output, 2);
    let output = run(
        base,
        &["memories", "delete", cube, &id, "--user", user],
        None,
    );
    expect_code(&output, 0);
    assert_eq!(stored(base, user, cube).await.len(), 1);

    let output = run(
        base,
        &["cubes", "share", cube, "--with", "root", "--user", user],
        None,
    );
    expect_code(&output, 5);
    assert!(
        text(&output.stderr).contains("share endpoint is broken"),
        "{}",
        text(&output.stderr)
    );

    let output = run(
        base,
        &["memories", "delete", cube, "--all", "--user", user],
        None,
    );
    expect_code(&output, 0);
    assert!(stored(base, user, cube).await.is_empty());
    let output = run(base, &["cubes", "unregister", cube, "--user", user], None);
    expect_code(&output, 0);
}

#[tokio::test]
async fn load_creates_user_and_cube_resumes_and_explains_setup_errors() {
    let Some(server) = server().await else { return };
    let base = server.base_url();
    let cube_dir = server.cube_dirs()[2].display().to_string();
    let (user, cube) = ("cli-load", "cli-load-cube");
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("chats.jsonl");
    std::fs::write(
        &input,
        "{\"role\":\"user\",\"content\":\"hello\",\"session_id\":1}\n{\"role\":\"assistant\",\"content\":\"hi\",\"session_id\":1}\n{\"role\":\"user\",\"content\":\"bye\",\"session_id\":2}\n",
    )
    .unwrap();
    let file = input.to_str().unwrap();
    let ck = dir.path().join("ck.json");
    let ck = ck.to_str().unwrap();

    let output = run(
        base,
        &["load", "messages", file, "--user", user, "--cube", cube],
        None,
    );
    expect_code(&output, 5);
    assert!(
        text(&output.stderr).contains("does not exist")
            && text(&output.stderr).contains("--create")
    );

    let output = run(
        base,
        &[
            "load", "messages", file, "--user", user, "--cube", cube, "--create",
        ],
        None,
    );
    expect_code(&output, 5);
    assert!(
        text(&output.stderr).contains("add --cube-path DIR"),
        "{}",
        text(&output.stderr)
    );

    let args = [
        "--json",
        "load",
        "messages",
        file,
        "--user",
        user,
        "--cube",
        cube,
        "--create",
        "--cube-path",
        &cube_dir,
        "--resume",
        ck,
    ];
    let output = run(base, &args, None);
    expect_code(&output, 0);
    let summary = json(&output);
    assert_eq!(
        (
            summary["records_sent"].as_u64(),
            summary["memories_in_input"].as_u64()
        ),
        (Some(2), Some(3))
    );

    // Again: everything is acknowledged already.
    let output = run(base, &args, None);
    expect_code(&output, 0);
    let summary = json(&output);
    assert_eq!(
        (
            summary["records_sent"].as_u64(),
            summary["already_imported"].as_u64()
        ),
        (Some(0), Some(2))
    );
    assert_eq!(stored(base, user, cube).await.values().sum::<usize>(), 3);

    // A damaged checkpoint is refused with exit code 7.
    std::fs::write(ck, "{ not a checkpoint").unwrap();
    let output = run(base, &args, None);
    expect_code(&output, 7);
    assert!(
        text(&output.stderr).contains("not a checkpoint"),
        "{}",
        text(&output.stderr)
    );

    // doc_path stores nothing on the reference server: reported, exit code 1.
    let docs = server.docs_dir().display().to_string();
    let output = run(
        base,
        &[
            "load",
            "docs",
            "--server-dir",
            &docs,
            "--user",
            user,
            "--cube",
            cube,
        ],
        None,
    );
    expect_code(&output, 1);
    assert!(
        text(&output.stderr).contains("stored nothing"),
        "{}",
        text(&output.stderr)
    );
}
