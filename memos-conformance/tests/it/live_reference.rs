//! The whole suite against the real reference server (MemoryOS 2.0.10, offline, with
//! the fake LLM), once per storage backend, each with one scratch `--cube-path`: every
//! case passes, fails as a known defect of that backend, or (where cubes share their
//! directory's storage) is skipped for want of a second directory, and the normalised
//! exchanges equal that backend's snapshot files.
//!
//! Record mode: `MEMOS_CONFORMANCE_RECORD=1 cargo test -p memos-conformance --test it
//! live_reference` rewrites `memos-conformance/snapshots/` (naive_text) and
//! `snapshots/general_text/`, `snapshots/tree_text/` from the live servers.
//!
//! Without Python the tests fail with a clear message when `CI=true` and are skipped
//! (with the reason printed) otherwise.

use std::time::{Duration, Instant};

use memos_api::{Auth, AuthScheme, Secret};
use memos_conformance::snapshot;
use memos_conformance::{Backend, Format, Outcome, RunOptions};
use memos_refserver::ReferenceServer;

use crate::common;

/// Whether `backend` answers `case` with exchanges that differ from run to run after
/// normalising: general_text lists a cube's memories in random order (and placeholder
/// ids are numbered by first appearance); tree_text's `/search` ranks the two memories
/// of this case in either order.
fn exchanges_vary(backend: Backend, case: &str) -> bool {
    match backend {
        Backend::NaiveText => false,
        Backend::GeneralText => true,
        Backend::TreeText => case == "search_memories.finds_added_memory",
    }
}

fn live_options(server: &ReferenceServer) -> RunOptions {
    let mut options = RunOptions::live(server.base_url());
    // One scratch directory, as an operator would pass.
    options.cube_paths = vec![server.cube_dirs()[0].display().to_string()];
    options.doc_path = Some(server.docs_dir().display().to_string());
    options.configure_body = Some(server.configure_body().clone());
    options.allow_configure = true;
    options.destructive = true;
    options.request_timeout = Duration::from_secs(30);
    options
}

/// Runs the whole suite against the shared reference server of `backend`; `None` when
/// the test is skipped.
async fn the_whole_suite_on(
    backend: Backend,
) -> Option<(&'static ReferenceServer, memos_conformance::RunOutput)> {
    let server =
        memos_refserver::testing::shared_or_skip_for(common::refserver_backend(backend)).await?;
    let started = Instant::now();
    let output = memos_conformance::run(live_options(server)).await;
    let elapsed = started.elapsed();
    let report = &output.report;
    println!("{}", report.render(Format::Text));
    println!(
        "live suite wall time on {backend}: {:.2} s",
        elapsed.as_secs_f64()
    );

    // Leave the server configured as it started (the configure cases re-applied it too).
    let http = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client");
    let restored = http
        .post(format!("{}/configure", server.base_url()))
        .json(server.configure_body())
        .send()
        .await
        .expect("re-configure the reference server");
    assert!(restored.status().is_success());

    assert_eq!(report.target.backend, Some(backend), "the detected backend");
    assert!(
        report
            .target
            .backend_learned
            .as_deref()
            .is_some_and(|l| l.starts_with("detected: ")),
        "{:?}",
        report.target.backend_learned
    );
    let failed: Vec<String> = report
        .cases
        .iter()
        .filter(|c| matches!(c.outcome, Outcome::Fail | Outcome::DefectFixed))
        .map(|c| {
            format!(
                "{} ({:?}): {}",
                c.name,
                c.outcome,
                c.reason.clone().unwrap_or_default()
            )
        })
        .collect();
    assert!(
        failed.is_empty(),
        "against the {backend} reference server every case must pass or fail as a listed known defect:\n{}\n--- server log ---\n{}",
        failed.join("\n"),
        server.log_tail(40)
    );
    assert_eq!(report.summary.failed, 0);
    common::assert_exactly_the_listed_defects_fail(
        report,
        &format!("on the {backend} reference server"),
    );
    common::assert_skipped_only_for_want_of_a_directory(report);

    if common::record_mode() {
        common::record(&snapshot::source_dir_for(backend), &output.snapshots);
    } else {
        let (varying, stable): (Vec<_>, Vec<_>) = output
            .snapshots
            .iter()
            .cloned()
            .partition(|s| exchanges_vary(backend, &s.case));
        common::assert_snapshots(&snapshot::source_dir_for(backend), &stable);
        // Those the backend does not repeat: the recorded set is checked by the mock
        // run, and here each case's verdict.
        let recorded = snapshot::SnapshotSet::embedded_for(backend);
        for snap in &varying {
            let expected = recorded.get(&snap.case).expect("a recorded snapshot");
            assert_eq!(
                snap.verdict, expected.verdict,
                "{}: the verdict differs from the recording",
                snap.case
            );
        }
    }
    Some((server, output))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_suite_against_the_naive_text_reference_server() {
    let _alone = common::exclusive(Backend::NaiveText).await;
    let Some((server, output)) = the_whole_suite_on(Backend::NaiveText).await else {
        return;
    };
    assert_eq!(output.report.summary.skipped, 0);
    a_configured_token_is_sent_and_never_shown(server).await;
    a_default_run_deletes_only_what_it_added(server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_suite_against_the_general_text_reference_server() {
    let _alone = common::exclusive(Backend::GeneralText).await;
    the_whole_suite_on(Backend::GeneralText).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_suite_against_the_tree_text_reference_server() {
    let _alone = common::exclusive(Backend::TreeText).await;
    the_whole_suite_on(Backend::TreeText).await;
}

/// With a token (Bearer, then Token), the auth cases run: the scheme is sent by the
/// suite and by memos_api::v1::Client, and the token appears in no report or snapshot.
async fn a_configured_token_is_sent_and_never_shown(server: &ReferenceServer) {
    let secret = "s3cr3t-reference-token-value";
    for scheme in [AuthScheme::Bearer, AuthScheme::Token] {
        let mut options = live_options(server);
        options.patterns = vec!["auth.*".into(), "client.list_users".into()];
        options.auth = Some(Auth::new(scheme, Secret::new(secret)));
        let output = memos_conformance::run(options).await;
        let report = &output.report;
        let case = |name: &str| {
            report
                .cases
                .iter()
                .find(|c| c.name == name)
                .unwrap_or_else(|| panic!("{name} ran"))
        };
        assert_eq!(
            case("auth.configured_scheme_is_sent").outcome,
            Outcome::Pass,
            "{scheme:?}"
        );
        assert_eq!(
            case("auth.missing_token_rejected").outcome,
            Outcome::NotApplicable
        );
        assert_eq!(
            case("auth.wrong_token_rejected").outcome,
            Outcome::NotApplicable
        );
        for format in [Format::Text, Format::Json, Format::Junit] {
            assert!(
                !report.render(format).contains(secret),
                "the token shows in the {format:?} report"
            );
        }
        for snap in &output.snapshots {
            let text = snap.render();
            assert!(
                !text.contains(secret),
                "the token shows in the snapshot of {}",
                snap.case
            );
            if snap.case == "auth.configured_scheme_is_sent" {
                assert!(
                    text.contains(&format!("\"{} <redacted>\"", scheme.word())),
                    "{text}"
                );
            }
        }
    }
}

/// Without --destructive: the storage proof passes on the reference server's fresh
/// cubes, delete-all and the doc_path probe on the cube directory are skipped, and
/// cleanup deletes what each case added one memory at a time, without a problem.
async fn a_default_run_deletes_only_what_it_added(server: &ReferenceServer) {
    let mut options = live_options(server);
    options.destructive = false;
    options.allow_configure = false;
    options.patterns = vec![
        "add_memories.content_is_listed".into(),
        "delete_memory.*".into(),
        "client.add_memories".into(),
        "delete_all_memories.*".into(),
        "security.doc_path*".into(),
    ];
    let output = memos_conformance::run(options).await;
    let report = &output.report;
    let text = report.render(Format::Text);
    for case in &report.cases {
        let expected = if case.name.starts_with("delete_all_memories.")
            || case.name.starts_with("security.doc_path")
        {
            vec![Outcome::Skipped]
        } else {
            vec![Outcome::Pass, Outcome::KnownDefect]
        };
        assert!(
            expected.contains(&case.outcome),
            "{}: {:?}\n{text}",
            case.name,
            case.outcome
        );
        assert!(
            case.cleanup_problems.is_empty(),
            "{}: {:?}",
            case.name,
            case.cleanup_problems
        );
    }
    let requests: Vec<_> = output
        .snapshots
        .iter()
        .flat_map(|s| &s.exchanges)
        .map(|e| (e.request.method.as_str(), e.request.path.as_str()))
        .collect();
    let deletes_in = |segments: usize| {
        requests
            .iter()
            .filter(|(m, p)| {
                *m == "DELETE" && p.starts_with("/memories/") && p.matches('/').count() == segments
            })
            .count()
    };
    assert_eq!(deletes_in(2), 0, "delete-all sent: {requests:?}");
    assert!(
        deletes_in(3) > 0,
        "no memory deleted one by one: {requests:?}"
    );
    assert!(
        output
            .snapshots
            .iter()
            .flat_map(|s| &s.exchanges)
            .any(|e| e.label == "cleanup: delete a memory the case added"
                && e.response.as_ref().is_some_and(|r| r.status == 200)),
        "cleanup deleted no memory one by one"
    );
}
