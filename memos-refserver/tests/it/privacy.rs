//! What other local accounts can reach of a running server: its private PostgreSQL
//! (listening on a port everyone can see) accepts only the password of the start, which
//! is never shown, and the temp dir with the logs, configs and served files is the
//! server's accounts' only. Run as root, PostgreSQL runs as `nobody`, whose group may
//! traverse the temp root and nothing more.

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use memos_refserver::{testing, Api, Backend, Database, ReferenceServer, StartOptions};

/// How a client gives the password.
#[derive(Debug, Clone, Copy)]
enum Password<'a> {
    /// None at all (and no password file).
    Missing,
    /// `PGPASSWORD` with this text.
    Given(&'a str),
    /// The server's password file.
    FromPassfile,
}

/// `psql -c <sql>` against the server's database; the status, stdout and stderr, after
/// printing the command and what it answered (the record of a refusal).
fn psql(db: &Database, password: Password<'_>, sql: &str) -> (bool, String, String) {
    let psql = db.bin_dir().join("psql");
    let mut cmd = Command::new(&psql);
    cmd.args(["-h", "127.0.0.1", "-p", &db.port().to_string()])
        .args([
            "-U",
            db.user(),
            "-d",
            db.name(),
            "--no-password",
            "-tA",
            "-c",
            sql,
        ])
        .env_remove("PGPASSWORD")
        // A password file of the caller's own (~/.pgpass) must not count.
        .env("PGPASSFILE", "/nonexistent/pgpass")
        .env("PGCONNECT_TIMEOUT", "5");
    let shown = match password {
        Password::Missing => String::new(),
        Password::Given(text) => {
            cmd.env("PGPASSWORD", text);
            format!("PGPASSWORD={text} ")
        }
        Password::FromPassfile => {
            cmd.env("PGPASSFILE", db.passfile());
            format!("PGPASSFILE={} ", db.passfile().display())
        }
    };
    let output = cmd
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", psql.display()));
    let (out, err) = (
        String::from_utf8_lossy(&output.stdout).trim().to_owned(),
        String::from_utf8_lossy(&output.stderr).trim().to_owned(),
    );
    println!(
        "$ {shown}psql -h 127.0.0.1 -p {} -U {} -d {} --no-password -tA -c {sql:?}\n{out}{err}\n(exit: {})",
        db.port(),
        db.user(),
        db.name(),
        output.status
    );
    (output.status.success(), out, err)
}

/// The database refuses a client without the password and with a wrong one, accepts the
/// one in its password file, has no rule but `scram-sha-256`, and the password shows
/// neither in the server's `Debug` nor in its logs.
fn assert_database_needs_its_password(server: &ReferenceServer) {
    let db = server
        .database()
        .expect("a server with the private PostgreSQL");

    let (ok, _, err) = psql(db, Password::Missing, "select 1");
    assert!(!ok, "connected without a password");
    assert!(err.contains("no password supplied"), "{err}");

    let (ok, _, err) = psql(db, Password::Given("memos"), "select 1");
    assert!(!ok, "connected with the old fixed password");
    assert!(
        err.contains(r#"password authentication failed for user "memos""#),
        "{err}"
    );

    let (ok, methods, err) = psql(
        db,
        Password::FromPassfile,
        "select distinct auth_method from pg_hba_file_rules",
    );
    assert!(ok, "the password file does not let a client in: {err}");
    assert_eq!(methods, "scram-sha-256", "every pg_hba.conf rule");
    let (ok, stored, err) = psql(
        db,
        Password::FromPassfile,
        "select rolpassword like 'SCRAM-SHA-256$%' from pg_authid where rolname = current_user",
    );
    assert!(ok, "{err}");
    assert_eq!(stored, "t", "the password is stored as a SCRAM verifier");

    let password = passfile_password(db.passfile());
    assert!(password.len() >= 32, "a long random password");
    assert!(
        !format!("{server:?}").contains(&password),
        "the server's Debug shows the password"
    );
    for log in [
        server.server_log().to_path_buf(),
        server.temp_root().join("postgres.log"),
    ] {
        let text = fs::read_to_string(&log).unwrap_or_default();
        assert!(
            !text.contains(&password),
            "{} holds the password",
            log.display()
        );
    }
}

/// The password field of a libpq password file's one line.
fn passfile_password(passfile: &Path) -> String {
    let text = fs::read_to_string(passfile).expect("the password file");
    text.trim_end()
        .rsplit(':')
        .next()
        .expect("host:port:db:user:password")
        .to_owned()
}

/// `nobody`'s uid and gid.
fn nobody() -> (u32, u32) {
    // SAFETY: `getpwnam` returns a static entry, copied at once.
    unsafe {
        let pw = libc::getpwnam(c"nobody".as_ptr());
        assert!(!pw.is_null(), "no account nobody");
        ((*pw).pw_uid, (*pw).pw_gid)
    }
}

fn mode(meta: &fs::Metadata) -> u32 {
    meta.permissions().mode() & 0o7777
}

/// Every file and directory under `dir`, symbolic links and what vanished meanwhile left
/// out (the servers keep writing).
fn walk(dir: &Path, found: &mut Vec<(PathBuf, fs::Metadata)>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(meta) = fs::symlink_metadata(&path) else {
            continue;
        };
        if meta.file_type().is_symlink() {
            continue;
        }
        if meta.is_dir() {
            walk(&path, found);
        }
        found.push((path, meta));
    }
}

/// The temp root is the owner's (0700), or, as root, open to `nobody`'s group for
/// traversal only (0710); nothing in it grants anything to group or others but the copy
/// of PostgreSQL's binaries `nobody` runs; the logs are 0600, the database directory
/// 0700 and `nobody`'s when run as root; `expected` names what must be there.
fn assert_temp_dir_is_private(server: &ReferenceServer, expected: &[&str]) {
    let root = server.temp_root();
    let meta = fs::metadata(root).expect("the temp root");
    // SAFETY: plain syscall.
    let as_root = unsafe { libc::geteuid() } == 0;
    if as_root {
        let (uid, gid) = nobody();
        assert_eq!(
            (mode(&meta), meta.gid()),
            (0o710, gid),
            "as root the temp root is open to nobody's group for traversal only"
        );
        let data = fs::metadata(root.join("postgres")).expect("the database directory");
        assert_eq!((data.uid(), mode(&data)), (uid, 0o700));
    } else {
        assert_eq!(mode(&meta), 0o700, "the temp root");
    }
    for name in expected {
        assert!(root.join(name).exists(), "{name} is in the temp root");
    }
    for log in ["server.log", "postgres.log", "pgpass"] {
        let meta = fs::metadata(root.join(log)).expect(log);
        assert_eq!(mode(&meta), 0o600, "{log}");
    }
    assert!(
        !root.join("postgres-pwfile").exists(),
        "initdb's password file is removed"
    );

    let mut found = Vec::new();
    walk(root, &mut found);
    let binaries = root.join("pgserver");
    let open: Vec<String> = found
        .iter()
        .filter(|(path, _)| !path.starts_with(&binaries))
        .filter(|(_, meta)| mode(meta) & 0o077 != 0)
        .map(|(path, meta)| format!("{:o} {}", mode(meta), path.display()))
        .collect();
    assert!(open.is_empty(), "open to group or others: {open:#?}");
    println!(
        "{} entries in {} (mode {:o}), none open to group or others",
        found.len(),
        root.display(),
        mode(&meta)
    );
}

#[tokio::test]
async fn a_tree_text_servers_database_refuses_connections_without_its_password() {
    let Some(server) = testing::shared_or_skip_for(Backend::TreeText).await else {
        return;
    };
    assert_database_needs_its_password(server);
}

#[tokio::test]
async fn a_tree_text_servers_temp_dir_and_logs_are_its_accounts_only() {
    let Some(server) = testing::shared_or_skip_for(Backend::TreeText).await else {
        return;
    };
    assert_temp_dir_is_private(server, &["cubes/cube-0/config.json", "docs", "empty-dir"]);
    // The cube configs hold the password.
    let config = server.cube_dirs()[0].join("config.json");
    let text = fs::read_to_string(&config).expect("a cube config");
    let password = passfile_password(server.database().expect("database").passfile());
    assert!(text.contains(&password), "MemOS gets the password");
}

#[tokio::test]
async fn a_product_servers_database_and_temp_dir_are_its_accounts_only() {
    let Some(server) = testing::start_or_skip(StartOptions {
        api: Api::Product,
        ..StartOptions::default()
    })
    .await
    else {
        return;
    };
    // The server connects with the password: an add reaches the graph store.
    let http = crate::http();
    let added = crate::ok(
        &http,
        reqwest::Method::POST,
        &format!("{}/product/add", server.base_url()),
        Some(serde_json::json!({
            "user_id": "root", "session_id": "s-privacy", "writable_cube_ids": ["t-privacy"],
            "messages": [{"role": "user", "content": "Ada locks her door"}],
            "async_mode": "sync", "mode": "fast"
        })),
    )
    .await;
    assert!(added[0]["memory_id"].is_string(), "{added}");

    assert_database_needs_its_password(&server);
    assert_temp_dir_is_private(&server, &["files", "docs"]);
}
