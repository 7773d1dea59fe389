//! The one error type of this crate.
//!
//! Every variant says what failed, where (a path, a URL or a log file) and, where
//! there is one, what to do about it, so a failing test prints something actionable.

use std::path::PathBuf;

/// Everything that can go wrong while installing, starting or stopping the reference server.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No Python interpreter that can build the venv was found.
    #[error(
        "no usable Python for the MemOS reference server: {detail}. \
         Install python3 >= 3.10 with the venv and pip modules \
         (Debian/Ubuntu: `apt-get install python3 python3-venv python3-pip`), \
         or set MEMOS_PYTHON to such an interpreter"
    )]
    PythonMissing {
        /// What was tried and what it answered.
        detail: String,
    },

    /// Creating the venv or `pip install` failed.
    #[error(
        "installing the MemOS reference server into {venv} failed: {detail}\n\
         (full log: {log}; the next run rebuilds {venv}, or set MEMOS_REFSERVER_VENV to another dir)\n\
         --- last lines of the log ---\n{tail}"
    )]
    Install {
        /// The venv directory.
        venv: PathBuf,
        /// The step that failed.
        detail: String,
        /// The install log.
        log: PathBuf,
        /// The end of the install log.
        tail: String,
    },

    /// The venv path names something this crate did not create; it is left untouched.
    #[error(
        "refusing to install the Python environment into {dir}: {reason}. \
         The installer only uses a path that does not exist or an empty directory, and only \
         rebuilds or deletes directories it created itself. Choose another path \
         (--venv or MEMOS_REFSERVER_VENV), or empty that directory yourself"
    )]
    VenvNotOwned {
        /// The path as given.
        dir: PathBuf,
        /// Why it is refused.
        reason: String,
    },

    /// A filesystem or process operation failed.
    #[error("{what} ({path}): {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The path involved.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },

    /// The uvicorn process died or never answered `/openapi.json`.
    #[error(
        "the MemOS reference server did not come up: {detail}\n\
         (server log: {log})\n--- last lines of the server log ---\n{tail}"
    )]
    Startup {
        /// What went wrong (exit status, timeout, ...).
        detail: String,
        /// The captured stdout/stderr of uvicorn.
        log: PathBuf,
        /// The end of that log.
        tail: String,
    },

    /// `POST /configure` did not answer 200.
    #[error("POST {url} failed: {detail}\n(server log: {log})\n--- last lines of the server log ---\n{tail}")]
    Configure {
        /// The configure URL.
        url: String,
        /// Status and body, or the transport error.
        detail: String,
        /// The captured stdout/stderr of uvicorn.
        log: PathBuf,
        /// The end of that log.
        tail: String,
    },

    /// The fake LLM could not be started.
    #[error("the fake LLM could not start: {0}")]
    FakeLlm(String),

    /// The process-wide shared server failed to start; the first error is kept for all callers.
    #[error("the shared MemOS reference server failed to start: {message}")]
    Shared {
        /// The original error's text.
        message: String,
        /// Whether the original error was [`Error::PythonMissing`].
        python_missing: bool,
    },
}

impl Error {
    /// True when the cause is a missing or unusable Python (tests may skip then).
    pub fn is_python_missing(&self) -> bool {
        match self {
            Error::PythonMissing { .. } => true,
            Error::Shared { python_missing, .. } => *python_missing,
            _ => false,
        }
    }

    /// Builds an [`Error::Io`] from an `io::Error` with context.
    pub(crate) fn io(
        what: impl Into<String>,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> Self {
        Error::Io {
            what: what.into(),
            path: path.into(),
            source,
        }
    }
}

/// Returns the last `max_lines` lines of a text file, or a note saying why it could not be read.
///
/// Used for error messages only, so it never fails.
pub(crate) fn tail_of_file(path: &std::path::Path, max_lines: usize) -> String {
    match std::fs::read(path) {
        Ok(bytes) => {
            let text = String::from_utf8_lossy(&bytes);
            let lines: Vec<&str> = text.lines().collect();
            let start = lines.len().saturating_sub(max_lines);
            lines[start..].join("\n")
        }
        Err(e) => format!("(could not read {}: {e})", path.display()),
    }
}
