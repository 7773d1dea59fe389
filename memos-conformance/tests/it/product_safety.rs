//! What a default run of the product suite leaves on a server: no `create_cube`, whose
//! cube no route removes, unless `--destructive` is given (even the case that expects a
//! refusal, since a server that accepts it keeps the cube).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use memos_conformance::{Api, Outcome, Report, RunOptions};
use serde_json::json;

/// A server that says it is the product server and records the path of every request;
/// it answers every route but `/openapi.json` with a 404 envelope.
struct RecordingServer {
    url: String,
    paths: Arc<Mutex<Vec<String>>>,
}

impl RecordingServer {
    async fn start() -> RecordingServer {
        let paths = Arc::new(Mutex::new(Vec::new()));
        let app = Router::new()
            .fallback(answer)
            .with_state(Arc::clone(&paths));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        tokio::spawn(async move { axum::serve(listener, app).await });
        RecordingServer { url, paths }
    }

    /// A run against it with `destructive`, bounded in time.
    async fn run(&self, destructive: bool, patterns: &[&str]) -> Report {
        let mut options = RunOptions::live(self.url.clone());
        options.destructive = destructive;
        options.patterns = patterns.iter().map(|p| (*p).to_owned()).collect();
        options.run_prefix = Some("conf-test".into());
        options.request_timeout = Duration::from_secs(2);
        options.case_timeout = Duration::from_secs(10);
        options.run_timeout = Duration::from_secs(120);
        memos_conformance::run(options).await.report
    }

    fn create_cube_requests(&self) -> usize {
        let paths = self.paths.lock().unwrap_or_else(|e| e.into_inner());
        paths
            .iter()
            .filter(|p| p.as_str() == "/product/create_cube")
            .count()
    }
}

async fn answer(State(paths): State<Arc<Mutex<Vec<String>>>>, request: Request) -> Response {
    let path = request.uri().path().to_owned();
    paths
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(path.clone());
    let (status, body) = if path == "/openapi.json" {
        (
            StatusCode::OK,
            json!({"openapi": "3.1.0", "info": {"title": "MemOS Server REST APIs", "version": "9.9.9"}, "paths": {}}),
        )
    } else {
        (
            StatusCode::NOT_FOUND,
            json!({"code": 404, "message": "Not Found", "data": null}),
        )
    };
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

fn outcome<'a>(report: &'a Report, name: &str) -> (Outcome, &'a str) {
    let case = report
        .cases
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no case {name}"));
    (case.outcome, case.reason.as_deref().unwrap_or_default())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_default_product_run_sends_no_create_cube() {
    let server = RecordingServer::start().await;
    let report = server.run(false, &[]).await;
    assert_eq!(report.target.api, Api::Product);
    assert!(
        report.cases.len() > 10,
        "the whole product suite ran: {} cases",
        report.cases.len()
    );
    assert_eq!(
        server.create_cube_requests(),
        0,
        "a default run sent create_cube"
    );
    for name in [
        "create_cube.creates_cube",
        "create_cube.rejects_duplicate_id",
        "create_cube.rejects_unknown_owner",
    ] {
        let (outcome, reason) = outcome(&report, name);
        assert_eq!(outcome, Outcome::Skipped, "{name}: {reason}");
        assert!(reason.contains("--destructive"), "{name}: {reason}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_destructive_the_create_cube_cases_send_it() {
    let server = RecordingServer::start().await;
    let report = server.run(true, &["create_cube.*"]).await;
    let (outcome, reason) = outcome(&report, "create_cube.rejects_unknown_owner");
    assert_ne!(outcome, Outcome::Skipped, "{reason}");
    assert_eq!(
        server.create_cube_requests(),
        3,
        "one create_cube of each case (the 404 ends the two that would send more)"
    );
}
