//! `memos load` on hostile input: devices, links out of a documents folder.

use crate::common::{dead_url, expect_code, run, text};

#[test]
fn a_device_is_refused_with_exit_4() {
    let output = run(
        &dead_url(),
        &[
            "load",
            "content",
            "/dev/zero",
            "--user",
            "u",
            "--cube",
            "c",
            "--dry-run",
        ],
        None,
    );
    expect_code(&output, 4);
    assert!(
        text(&output.stderr).contains("/dev/zero: is a device"),
        "{}",
        text(&output.stderr)
    );
    assert!(
        !text(&output.stderr).contains("  "),
        "{}",
        text(&output.stderr)
    );
}

#[test]
fn links_out_of_a_documents_folder_are_listed_unless_followed() {
    let dir = tempfile::tempdir().unwrap();
    let docs = dir.path().join("repo");
    std::fs::create_dir_all(&docs).unwrap();
    std::fs::write(dir.path().join("credentials"), "secret\n").unwrap();
    std::fs::write(docs.join("a.md"), "alpha\n").unwrap();
    std::os::unix::fs::symlink(dir.path().join("credentials"), docs.join("notes.md")).unwrap();
    let docs_arg = docs.display().to_string();
    let plain = [
        "load",
        "docs",
        &docs_arg,
        "--user",
        "u",
        "--cube",
        "c",
        "--dry-run",
    ];
    let output = run(&dead_url(), &plain, None);
    expect_code(&output, 0);
    let stdout = text(&output.stdout);
    assert!(stdout.contains("Dry run: 1 valid records"), "{stdout}");
    assert!(
        stdout
            .contains("left out 1 link(s) to files outside the folder (--follow-links reads them)"),
        "{stdout}"
    );
    assert!(stdout.contains("notes.md"), "{stdout}");

    let followed = [
        "load",
        "docs",
        &docs_arg,
        "--user",
        "u",
        "--cube",
        "c",
        "--dry-run",
        "--follow-links",
    ];
    let output = run(&dead_url(), &followed, None);
    expect_code(&output, 0);
    let stdout = text(&output.stdout);
    assert!(stdout.contains("Dry run: 2 valid records"), "{stdout}");
    assert!(!stdout.contains("left out"), "{stdout}");
}
