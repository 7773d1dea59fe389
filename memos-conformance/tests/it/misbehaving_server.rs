//! The suite must be able to fail: servers that misbehave in each way a check looks for
//! make the runner report a failure (never a panic or a hang), and the known-defect
//! rules and the mock's replay check work as documented.

use std::time::{Duration, Instant};

use httpmock::{Method, MockServer};
use memos_api::{Auth, AuthScheme, Secret};
use memos_conformance::snapshot::{self, SnapshotSet};
use memos_conformance::{CaseReport, CheckKind, Format, Outcome, Report, RunOptions, Target};
use serde_json::json;

const PREFIX: &str = "conf-test";

fn options(server: &MockServer, patterns: &[&str]) -> RunOptions {
    let mut options = RunOptions::live(server.base_url());
    options.patterns = patterns.iter().map(|p| (*p).to_owned()).collect();
    options.cube_paths = vec!["/srv/cubes/demo".into()];
    options.run_prefix = Some(PREFIX.into());
    options.request_timeout = Duration::from_secs(2);
    options.case_timeout = Duration::from_secs(10);
    options.run_timeout = Duration::from_secs(30);
    options
}

fn case<'a>(report: &'a Report, name: &str) -> &'a CaseReport {
    report
        .cases
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("case {name} is not in the report"))
}

fn failed_kinds(case: &CaseReport) -> Vec<CheckKind> {
    case.failed_checks.iter().map(|c| c.kind).collect()
}

/// Every request gets the same answer.
async fn answering_everything(status: u16, content_type: &str, body: &str) -> MockServer {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.any_request();
            then.status(status)
                .header("content-type", content_type)
                .body(body);
        })
        .await;
    server
}

async fn list_users_against(status: u16, content_type: &str, body: &str) -> CaseReport {
    let server = answering_everything(status, content_type, body).await;
    let output =
        memos_conformance::run(options(&server, &["get_current_user.returns_current_user"])).await;
    let report = output.report;
    assert!(!report.summary.success, "{}", report.render(Format::Text));
    case(&report, "get_current_user.returns_current_user").clone()
}

#[tokio::test]
async fn an_undocumented_status_fails() {
    let c = list_users_against(
        418,
        "application/json",
        r#"{"code":418,"message":"teapot","data":null}"#,
    )
    .await;
    assert_eq!(c.outcome, Outcome::Fail);
    assert!(
        failed_kinds(&c).contains(&CheckKind::StatusDocumented),
        "{c:#?}"
    );
}

#[tokio::test]
async fn a_server_error_fails() {
    let c = list_users_against(
        500,
        "application/json",
        r#"{"code":500,"message":"boom","data":null}"#,
    )
    .await;
    assert_eq!(c.outcome, Outcome::Fail);
    assert!(
        failed_kinds(&c).contains(&CheckKind::NotServerError),
        "{c:#?}"
    );
    assert!(
        c.reason.as_deref().unwrap_or_default().contains("500"),
        "{c:#?}"
    );
}

#[tokio::test]
async fn a_body_that_violates_the_schema_fails() {
    let c = list_users_against(
        200,
        "application/json",
        r#"{"code":200,"message":"ok","data":{"users":[]}}"#,
    )
    .await;
    assert_eq!(c.outcome, Outcome::Fail);
    assert!(
        failed_kinds(&c).contains(&CheckKind::BodyMatchesSchema),
        "{c:#?}"
    );
    let detail = &c.failed_checks[0].detail;
    assert!(
        detail.contains("/data"),
        "the schema problem names where it is: {detail}"
    );
}

#[tokio::test]
async fn an_undocumented_content_type_fails() {
    let c = list_users_against(200, "text/html", "<h1>MemOS</h1>").await;
    assert_eq!(c.outcome, Outcome::Fail);
    assert!(
        failed_kinds(&c).contains(&CheckKind::ContentTypeDocumented),
        "{c:#?}"
    );
}

#[tokio::test]
async fn an_envelope_code_that_differs_from_the_status_fails() {
    let body = r#"{"code":400,"message":"ok","data":{"user_id":"root","user_name":"root","role":"ROOT","created_at":"x","accessible_cubes":[]}}"#;
    let c = list_users_against(200, "application/json", body).await;
    assert_eq!(c.outcome, Outcome::Fail);
    assert_eq!(
        failed_kinds(&c),
        [CheckKind::EnvelopeCodeMatchesStatus],
        "{c:#?}"
    );
}

#[tokio::test]
async fn garbage_fails_without_a_panic() {
    let c = list_users_against(200, "application/json", "\u{1}\u{2}garbage<<<}").await;
    assert_eq!(c.outcome, Outcome::Fail);
    assert!(
        failed_kinds(&c).contains(&CheckKind::BodyMatchesSchema),
        "{c:#?}"
    );
}

#[tokio::test]
async fn a_stalled_server_fails_each_case_within_the_time_limits() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.any_request();
            then.status(200).delay(Duration::from_secs(20)).body("{}");
        })
        .await;
    let mut opts = options(&server, &[]);
    opts.request_timeout = Duration::from_millis(500);
    let started = Instant::now();
    let report = memos_conformance::run(opts).await.report;
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_secs(5), "the run took {elapsed:?}");
    assert!(!report.summary.success);
    assert_eq!(
        report.summary.failed + report.summary.not_run,
        report.summary.total,
        "{}",
        report.render(Format::Text)
    );
    let first = &report.cases[0];
    assert!(
        first
            .reason
            .as_deref()
            .unwrap_or_default()
            .contains("no answer within"),
        "{first:#?}"
    );
    assert!(failed_kinds(first).contains(&CheckKind::Answered));
    let later = case(&report, "chat.answers_query");
    assert_eq!(later.outcome, Outcome::NotRun, "{later:#?}");
    assert!(
        later
            .reason
            .as_deref()
            .unwrap_or_default()
            .starts_with("the server at"),
        "{later:#?}"
    );
    assert!(report.render(Format::Text).contains("FAIL"));
}

#[tokio::test]
async fn a_slow_case_is_cut_at_the_case_timeout() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.path("/openapi.json");
            then.status(404).body(r#"{"detail":"Not Found"}"#);
        })
        .await;
    server
        .mock_async(|when, then| {
            when.any_request();
            then.status(200)
                .header("content-type", "application/json")
                .delay(Duration::from_millis(700))
                .body(format!(
                    r#"{{"code":200,"message":"ok","data":{{"user_id":"{PREFIX}-create_user.duplicate_keeps_existing-twice"}}}}"#
                ));
        })
        .await;
    let mut opts = options(&server, &["create_user.duplicate_keeps_existing"]);
    opts.case_timeout = Duration::from_secs(1);
    let started = Instant::now();
    let report = memos_conformance::run(opts).await.report;
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "took {:?}",
        started.elapsed()
    );
    let c = case(&report, "create_user.duplicate_keeps_existing");
    assert_eq!(c.outcome, Outcome::Fail);
    assert!(
        c.reason
            .as_deref()
            .unwrap_or_default()
            .contains("did not finish within"),
        "{c:#?}"
    );
    assert!(
        !c.exchanges.is_empty(),
        "the exchanges before the cut are reported: {c:#?}"
    );
}

#[tokio::test]
async fn a_server_that_is_down_fails_fast_with_a_clear_summary() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr").port()
    };
    let mut opts = RunOptions::live(format!("http://127.0.0.1:{port}"));
    opts.request_timeout = Duration::from_secs(2);
    let started = Instant::now();
    let report = memos_conformance::run(opts).await.report;
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(
        report.summary.failed + report.summary.not_run,
        report.summary.total
    );
    let text = report.render(Format::Text);
    assert!(text.contains("could not connect"), "{text}");
    assert!(
        report.notes.iter().any(|n| n.contains("does not answer")),
        "{:?}",
        report.notes
    );
}

#[tokio::test]
async fn an_error_path_that_succeeds_fails() {
    let server = answering_everything(
        200,
        "application/json",
        r#"{"code":200,"message":"ok","data":[]}"#,
    )
    .await;
    let report = memos_conformance::run(options(&server, &["create_user.rejects_invalid_role"]))
        .await
        .report;
    let c = case(&report, "create_user.rejects_invalid_role");
    assert_eq!(c.outcome, Outcome::Fail, "{c:#?}");
    assert!(
        c.reason
            .as_deref()
            .unwrap_or_default()
            .contains("expected a 4xx"),
        "{c:#?}"
    );
}

/// A server that accepts every write but never lists anything: the stateful checks fail
/// although every exchange on its own is valid.
#[tokio::test]
async fn a_server_that_forgets_what_was_added_fails_the_state_check() {
    let server = MockServer::start_async().await;
    let ns = format!("{PREFIX}-add_memories.content_is_listed");
    let user = format!("{ns}-owner");
    let cube = format!("{ns}-cube-owner");
    let user_body = json!({"code": 200, "message": "ok", "data": {"user_id": user}}).to_string();
    let empty = r#"{"code":200,"message":"ok","data":null}"#;
    let listed = json!({"code": 200, "message": "ok", "data": {"para_mem": [], "act_mem": [], "text_mem": [{"cube_id": cube, "memories": []}]}}).to_string();
    server
        .mock_async(|when, then| {
            when.method(Method::POST).path("/users");
            then.status(200)
                .header("content-type", "application/json")
                .body(&user_body);
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(Method::GET).path("/memories");
            then.status(200)
                .header("content-type", "application/json")
                .body(&listed);
        })
        .await;
    server
        .mock_async(|when, then| {
            when.any_request();
            then.status(200)
                .header("content-type", "application/json")
                .body(empty);
        })
        .await;
    let report = memos_conformance::run(options(&server, &["add_memories.content_is_listed"]))
        .await
        .report;
    let c = case(&report, "add_memories.content_is_listed");
    assert_eq!(c.outcome, Outcome::Fail, "{c:#?}");
    assert!(
        c.failed_checks.is_empty(),
        "every exchange is valid on its own: {c:#?}"
    );
    assert!(
        c.reason
            .as_deref()
            .unwrap_or_default()
            .contains("none with it"),
        "{c:#?}"
    );
}

async fn reference_like(chat_status: u16, chat_body: &str) -> MockServer {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.path("/openapi.json");
            then.status(200)
                .header("content-type", "application/json")
                .body(
                    r#"{"openapi":"3.1.0","info":{"title":"MemOS REST APIs","version":"1.0.0"}}"#,
                );
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(Method::POST).path("/chat");
            then.status(chat_status)
                .header("content-type", "application/json")
                .body(chat_body);
        })
        .await;
    server
}

#[tokio::test]
async fn a_known_defect_that_passes_is_reported_as_fixed() {
    let server = reference_like(
        400,
        r#"{"code":400,"message":"User does not exist","data":null}"#,
    )
    .await;
    let report = memos_conformance::run(options(&server, &["chat.rejects_unknown_user"]))
        .await
        .report;
    assert_eq!(
        report.target.defect_list.as_deref(),
        Some("MemOS REST APIs 1.0.0")
    );
    let c = case(&report, "chat.rejects_unknown_user");
    assert_eq!(c.outcome, Outcome::DefectFixed, "{c:#?}");
    assert!(
        report.summary.success,
        "a fixed defect does not fail the run"
    );
    assert!(report.render(Format::Text).contains("no longer reproduce"));
}

#[tokio::test]
async fn a_known_defect_fails_as_listed_and_the_run_passes() {
    let server = reference_like(
        200,
        r#"{"code":200,"message":"Chat response generated","data":"hi"}"#,
    )
    .await;
    let report = memos_conformance::run(options(&server, &["chat.rejects_unknown_user"]))
        .await
        .report;
    let c = case(&report, "chat.rejects_unknown_user");
    assert_eq!(c.outcome, Outcome::KnownDefect, "{c:#?}");
    assert!(report.summary.success);
}

#[tokio::test]
async fn a_known_defect_that_fails_differently_is_a_failure() {
    let server = reference_like(500, r#"{"code":500,"message":"new breakage","data":null}"#).await;
    let report = memos_conformance::run(options(&server, &["chat.rejects_unknown_user"]))
        .await
        .report;
    let c = case(&report, "chat.rejects_unknown_user");
    assert_eq!(c.outcome, Outcome::Fail, "{c:#?}");
    assert!(
        c.reason
            .as_deref()
            .unwrap_or_default()
            .contains("failed differently"),
        "{c:#?}"
    );
    assert!(!report.summary.success);
}

#[tokio::test]
async fn the_mock_refuses_a_request_that_differs_from_the_recording() {
    let dir = tempfile::tempdir().expect("tempdir");
    let name = "create_user.creates_listed_user";
    let mut snap = SnapshotSet::embedded().get(name).expect("recorded").clone();
    if let Some(body) = snap.exchanges[0].request.body.as_mut() {
        body.map_strings(&mut |s| {
            if s == "USER" {
                "ADMIN".to_owned()
            } else {
                s.to_owned()
            }
        });
    }
    snapshot::write(dir.path(), &snap).expect("write");
    let server_version = SnapshotSet::embedded()
        .get("meta.server_version")
        .expect("recorded")
        .clone();
    snapshot::write(dir.path(), &server_version).expect("write");
    let mut opts = RunOptions::new(Target::Mock(
        SnapshotSet::from_dir(dir.path()).expect("dir"),
    ));
    opts.patterns = vec![name.into()];
    let report = memos_conformance::run(opts).await.report;
    let c = case(&report, name);
    assert_eq!(c.outcome, Outcome::Fail);
    assert!(
        c.reason
            .as_deref()
            .unwrap_or_default()
            .contains("changed since the snapshots were recorded"),
        "{c:#?}"
    );
}

/// A server that requires a Bearer token: the configured scheme reaches it from the
/// suite and from memos_api::v1::Client, a missing or wrong token is refused, and the token
/// is in no report and no snapshot.
#[tokio::test]
async fn a_server_that_requires_auth_gets_the_configured_scheme() {
    for (scheme, word) in [(AuthScheme::Bearer, "Bearer"), (AuthScheme::Token, "Token")] {
        let secret = "s3cr3t-token-value";
        let server = MockServer::start_async().await;
        let authorised = server
            .mock_async(|when, then| {
                when.method(Method::GET)
                    .path("/users")
                    .header("authorization", format!("{word} {secret}"));
                then.status(200)
                    .header("content-type", "application/json")
                    .body(r#"{"code":200,"message":"Users retrieved successfully","data":[]}"#);
            })
            .await;
        server
            .mock_async(|when, then| {
                when.any_request();
                then.status(401)
                    .header("content-type", "application/json")
                    .body(r#"{"detail":"Not authenticated"}"#);
            })
            .await;
        let mut opts = options(
            &server,
            &["auth.*", "security.unauthenticated_requests_accepted"],
        );
        opts.auth = Some(Auth::new(scheme, Secret::new(secret)));
        let output = memos_conformance::run(opts).await;
        let report = &output.report;
        for name in [
            "auth.configured_scheme_is_sent",
            "auth.missing_token_rejected",
            "auth.wrong_token_rejected",
            "security.unauthenticated_requests_accepted",
        ] {
            assert_eq!(
                case(report, name).outcome,
                Outcome::Pass,
                "{word}: {:#?}",
                case(report, name)
            );
        }
        assert_eq!(
            authorised.calls_async().await,
            2,
            "the suite and memos_api::Client each sent the {word} token"
        );
        for format in [Format::Text, Format::Json, Format::Junit] {
            assert!(!report.render(format).contains(secret));
        }
        assert!(output
            .snapshots
            .iter()
            .all(|s| !s.render().contains(secret)));
        assert!(!format!("{report:?}").contains(secret));
    }
}

#[tokio::test]
async fn reports_render_in_every_format() {
    let server = answering_everything(
        500,
        "application/json",
        r#"{"code":500,"message":"a <b> & \"c\"","data":null}"#,
    )
    .await;
    let report = memos_conformance::run(options(&server, &["get_current_user.*"]))
        .await
        .report;
    let json: serde_json::Value =
        serde_json::from_str(&report.render(Format::Json)).expect("JSON report");
    assert_eq!(json["summary"]["success"], false);
    let junit = report.render(Format::Junit);
    assert!(junit.starts_with("<?xml"));
    assert!(junit.contains("<failure message="));
    assert!(junit.contains("&lt;b&gt; &amp;"), "{junit}");
    assert!(!junit.contains("<b>"));
    let text = report.render(Format::Text);
    assert!(
        text.contains("CASE")
            && text.contains("RESULT")
            && text.contains("TIME")
            && text.contains("REASON")
    );
    assert!(text.trim_end().ends_with("FAIL"), "{text}");
}

/// A server that echoes the credential: in its error `message` (as JSON escapes it and
/// percent-encoded) and in the `www-authenticate` and `location` headers. The token is
/// in no output format, no snapshot and no `Debug`, from the suite's own requests and
/// from memos_api::v1::Client's.
#[tokio::test]
async fn a_server_that_echoes_the_token_does_not_put_it_into_any_output() {
    // `"` and `/` have JSON escapes, `/`, `+` and `"` percent-encodings; `s3cr3t` is what
    // a partial leak would still show.
    let secret = r#"s3cr3t/To+ken"x-42"#;
    let escaped = serde_json::to_string(secret).expect("json");
    let escaped = escaped.trim_matches('"');
    let percent: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
    let body = format!(
        r#"{{"code":400,"message":"invalid credential 'Bearer {escaped}' (as sent: {percent})","data":null}}"#
    );
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.any_request();
            then.status(400)
                .header("content-type", "application/json")
                .header(
                    "www-authenticate",
                    format!(r#"Bearer error="invalid_token", token="{escaped}""#),
                )
                .header("location", format!("/login?token={percent}"))
                .body(&body);
        })
        .await;
    let mut opts = options(
        &server,
        &[
            "get_current_user.*",
            "create_user.rejects_invalid_role",
            "client.list_users",
        ],
    );
    opts.auth = Some(Auth::new(AuthScheme::Bearer, Secret::new(secret)));
    let output = memos_conformance::run(opts).await;
    let report = &output.report;
    let text = report.render(Format::Text);
    assert!(!report.summary.success, "{text}");
    assert!(
        text.contains("<redacted>"),
        "the echoed token shows as <redacted>: {text}"
    );
    let mut outputs: Vec<(String, String)> = [Format::Text, Format::Json, Format::Junit]
        .into_iter()
        .map(|f| (format!("{f:?} report"), report.render(f)))
        .collect();
    outputs.push(("report Debug".into(), format!("{report:?}")));
    for snap in &output.snapshots {
        outputs.push((format!("snapshot {}", snap.case), snap.render()));
    }
    for (what, out) in &outputs {
        for form in [secret, escaped, percent.as_str(), "s3cr3t"] {
            assert!(!out.contains(form), "{what} holds {form:?}:\n{out}");
        }
    }
}

/// Control characters a server sends (a terminal escape sequence, a bell) are shown
/// escaped in the text report, never written to the terminal as they are: here in the
/// server version of the header and in a body that is not JSON.
#[tokio::test]
async fn control_characters_from_the_server_are_escaped_in_the_text_report() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(Method::GET).path("/openapi.json");
            then.status(200)
                .header("content-type", "application/json")
                .body(r#"{"openapi":"3.1.0","info":{"title":"MemOS \u001b]0;pwned\u0007\u009b2J","version":"1.0.0"}}"#);
        })
        .await;
    server
        .mock_async(|when, then| {
            when.any_request();
            then.status(200)
                .header("content-type", "application/json")
                .body("\u{1b}[2J not json");
        })
        .await;
    let report =
        memos_conformance::run(options(&server, &["get_current_user.returns_current_user"]))
            .await
            .report;
    let text = report.render(Format::Text);
    assert!(
        !text.chars().any(|ch| ch.is_control() && ch != '\n'),
        "{text:?}"
    );
    assert!(
        text.contains(r"MemOS \u{1b}]0;pwned\u{7}\u{9b}2J 1.0.0"),
        "{text}"
    );
    assert!(text.contains(r"\u{1b}[2J not json"), "{text}");
    // serde_json escapes C0 itself; the one-character CSI (U+009B) is the report's job.
    let json = report.render(Format::Json);
    assert!(
        !json.chars().any(|ch| ch.is_control() && ch != '\n'),
        "{json:?}"
    );
    assert!(json.contains(r"\u009b2J"), "{json}");
}
