//! What a run is given and what it gives back.

use std::time::Duration;

use memos_api::Auth;
use serde_json::Value;
use tokio::sync::watch;

use crate::api::Api;
use crate::backend::Backend;
use crate::report::Report;
use crate::snapshot::{CaseSnapshot, SnapshotSet};

/// What to run against.
#[derive(Debug, Clone)]
pub enum Target {
    /// The embedded mock, replaying these snapshots.
    Mock(SnapshotSet),
    /// A live server at this base URL.
    Live(String),
}

/// Everything a run needs.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Mock or live.
    pub target: Target,
    /// The credential to send (live only).
    pub auth: Option<Auth>,
    /// Server-side cube directories.
    pub cube_paths: Vec<String>,
    /// A server-side directory of documents.
    pub doc_path: Option<String>,
    /// The MOSConfig to apply in the configure cases.
    pub configure_body: Option<Value>,
    /// Allow the cases that call `/configure`.
    pub allow_configure: bool,
    /// Allow probes that change state outside the run's namespace.
    pub destructive: bool,
    /// `--case` patterns (any matches); empty selects every case.
    pub patterns: Vec<String>,
    /// Per-request timeout.
    pub request_timeout: Duration,
    /// Per-case timeout.
    pub case_timeout: Duration,
    /// Timeout of the whole run.
    pub run_timeout: Duration,
    /// The known-defect list key, instead of the one the server publishes.
    pub server_version: Option<String>,
    /// The server's storage backend (`--backend`; for the mock, the backend its snapshot
    /// set was recorded with). `None` on a live server: learned from its answers.
    pub backend: Option<Backend>,
    /// The API the server speaks (`--api`). `None`: learned from the server's
    /// `/openapi.json` (live, or as the mock replays it; v1 without a document).
    pub api: Option<Api>,
    /// The run prefix, instead of a fresh one (live) or `conf-RUN` (mock).
    pub run_prefix: Option<String>,
    /// Turns `true` to interrupt the run (Ctrl-C): the running case is stopped and
    /// cleaned up, and the remaining cases are not run.
    pub interrupt: Option<watch::Receiver<bool>>,
}

impl RunOptions {
    /// The whole suite against the embedded mock of a `naive_text` server.
    pub fn mock() -> RunOptions {
        RunOptions::mock_for(Backend::NaiveText)
    }

    /// The whole suite against the embedded mock of a server with `backend`, replaying
    /// the snapshots recorded from it.
    pub fn mock_for(backend: Backend) -> RunOptions {
        RunOptions {
            backend: Some(backend),
            ..RunOptions::new(Target::Mock(SnapshotSet::embedded_for(backend)))
        }
    }

    /// The product suite against the embedded mock of the product server, replaying the
    /// snapshots recorded from it (the run learns the API from the replayed
    /// `/openapi.json`, as a live run does).
    pub fn product_mock() -> RunOptions {
        RunOptions::new(Target::Mock(SnapshotSet::embedded_product()))
    }

    /// The whole suite against a live server, with the safe defaults.
    pub fn live(base_url: impl Into<String>) -> RunOptions {
        RunOptions::new(Target::Live(base_url.into()))
    }

    /// The whole suite against `target`, with the safe defaults.
    pub fn new(target: Target) -> RunOptions {
        RunOptions {
            target,
            auth: None,
            cube_paths: Vec::new(),
            doc_path: None,
            configure_body: None,
            allow_configure: false,
            destructive: false,
            patterns: Vec::new(),
            request_timeout: Duration::from_secs(15),
            case_timeout: Duration::from_secs(60),
            run_timeout: Duration::from_secs(600),
            server_version: None,
            backend: None,
            api: None,
            run_prefix: None,
            interrupt: None,
        }
    }

    /// Whether the run was interrupted.
    pub(crate) fn interrupted(&self) -> bool {
        self.interrupt.as_ref().is_some_and(|rx| *rx.borrow())
    }

    /// Resolves when the run is interrupted; never without an interrupt.
    pub(crate) async fn until_interrupted(&self) {
        match self.interrupt.clone() {
            Some(mut rx) => {
                if rx.wait_for(|interrupted| *interrupted).await.is_err() {
                    // The sender is gone: no interrupt can come any more.
                    std::future::pending::<()>().await;
                }
            }
            None => std::future::pending::<()>().await,
        }
    }

    /// A warning for people when the run would send its token over plain `http://` to a
    /// host that is not loopback, where anyone on the path can read and reuse it
    /// (`memos_api::v1::Client` decides, so the suite and the client agree). The binary
    /// prints it before the run, and the run puts it in the report's notes.
    pub fn cleartext_warning(&self) -> Option<String> {
        let Target::Live(url) = &self.target else {
            return None;
        };
        let auth = self.auth.clone()?;
        memos_api::v1::Client::builder(url.as_str())
            .auth(Some(auth))
            .build()
            .ok()?
            .cleartext_warning()
    }
}

/// The report and the snapshot of every case that ran.
#[derive(Debug, Clone)]
pub struct RunOutput {
    /// The report.
    pub report: Report,
    /// The normalised exchanges of each case (what record mode writes).
    pub snapshots: Vec<CaseSnapshot>,
}

#[cfg(test)]
mod tests {
    use memos_api::{AuthScheme, Secret};

    use super::*;

    #[test]
    fn only_a_token_over_plain_http_to_a_remote_host_is_warned_about() {
        let with_token = |url: &str| RunOptions {
            auth: Some(Auth::new(AuthScheme::Token, Secret::new("s3cr3t"))),
            ..RunOptions::live(url)
        };
        let warning = with_token("http://memos.example/api")
            .cleartext_warning()
            .expect("a warning");
        assert!(warning.contains("unencrypted"), "{warning}");
        assert!(!warning.contains("s3cr3t"), "{warning}");
        for quiet in [
            with_token("https://memos.example/api"),
            with_token("http://127.0.0.1:8000"),
            with_token("http://localhost:8000"),
            RunOptions::live("http://memos.example/api"),
            RunOptions {
                auth: with_token("http://memos.example").auth,
                ..RunOptions::mock()
            },
        ] {
            assert_eq!(quiet.cleartext_warning(), None, "{:?}", quiet.target);
        }
    }
}
