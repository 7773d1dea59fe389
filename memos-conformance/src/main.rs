//! `memos-conformance`: does a MemOS server conform to the spec?
//!
//! Without arguments the whole suite runs against the embedded mock (the snapshots
//! recorded from the reference server). With `--base-url` it runs against a live server.

use std::process::ExitCode;
use std::time::Duration;

use clap::{CommandFactory as _, Parser as _};
use memos_api::Auth;
use memos_conformance::snapshot::{self, SnapshotSet};
use memos_conformance::{Api, RunOptions, Target};

mod cli;

use cli::Args;

fn main() -> ExitCode {
    let args = Args::parse();
    if let Some(shell) = args.completions {
        let mut command = Args::command();
        clap_complete::generate(
            shell,
            &mut command,
            "memos-conformance",
            &mut std::io::stdout(),
        );
        return ExitCode::SUCCESS;
    }
    if args.list {
        for case in memos_conformance::select_for(args.api.unwrap_or_default(), &[]) {
            println!("{:<55} {}", case.name, case.purpose);
        }
        return ExitCode::SUCCESS;
    }
    let mut options = match options(&args) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    // Before the run, so it shows even when the report goes to a file.
    if let Some(warning) = options.cleartext_warning() {
        eprintln!("{warning}");
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    // The runner keeps to --run-timeout itself; this is the last resort.
    let hard_limit = options.run_timeout + Duration::from_secs(60);
    let (interrupt, interrupted) = tokio::sync::watch::channel(false);
    options.interrupt = Some(interrupted.clone());
    let output = match runtime.block_on(async {
        tokio::spawn(on_ctrl_c(interrupt));
        tokio::time::timeout(hard_limit, memos_conformance::run(options)).await
    }) {
        Ok(o) => o,
        Err(_) => {
            eprintln!(
                "error: the run did not end within {} s; giving up (is the server hanging?)",
                hard_limit.as_secs()
            );
            return ExitCode::FAILURE;
        }
    };
    if let Some(dir) = &args.record {
        if output.snapshots.len() < output.report.cases.len() {
            eprintln!(
                "error: not recording: {} of {} cases did not run (see the report); the snapshots were left as they were",
                output.report.cases.len() - output.snapshots.len(),
                output.report.cases.len()
            );
            print!("{}", output.report.render(args.format));
            return ExitCode::FAILURE;
        }
        for snap in &output.snapshots {
            if let Err(e) = snapshot::write(dir, snap) {
                eprintln!("error: {e}");
                return ExitCode::FAILURE;
            }
        }
        eprintln!(
            "recorded {} snapshots into {}",
            output.snapshots.len(),
            dir.display()
        );
    }
    let rendered = output.report.render(args.format);
    let was_interrupted = *interrupted.borrow();
    match &args.output {
        Some(path) => {
            if let Err(e) = std::fs::write(path, &rendered) {
                eprintln!("error: cannot write the report to {}: {e}", path.display());
                return ExitCode::FAILURE;
            }
            eprintln!("{}", output.report.summary.line());
            eprintln!("report written to {}", path.display());
        }
        None => print!("{rendered}"),
    }
    if was_interrupted {
        ExitCode::from(130)
    } else if output.report.summary.success {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// The first Ctrl-C interrupts the run, which still cleans up what the running case
/// created; a second one quits at once.
async fn on_ctrl_c(interrupt: tokio::sync::watch::Sender<bool>) {
    if tokio::signal::ctrl_c().await.is_err() {
        return;
    }
    eprintln!("interrupted: cleaning up what the run created (Ctrl-C again to quit at once)");
    interrupt.send_replace(true);
    if tokio::signal::ctrl_c().await.is_ok() {
        eprintln!("quit without cleaning up: cubes of the run may still be registered");
        std::process::exit(130);
    }
}

fn options(args: &Args) -> Result<RunOptions, String> {
    let mut options = match (&args.base_url, &args.snapshots) {
        (Some(url), _) => {
            memos_conformance::parse_base_url(url)?;
            RunOptions::live(url.clone())
        }
        (None, Some(dir)) => RunOptions::new(Target::Mock(SnapshotSet::from_dir(dir)?)),
        (None, None) if args.api == Some(Api::Product) => {
            if args.mock.is_some() {
                return Err(
                    "--mock chooses a v1 storage backend; the product mock has one recording: drop --mock"
                        .into(),
                );
            }
            let options = RunOptions::product_mock();
            if let Target::Mock(set) = &options.target {
                if set.is_empty() {
                    return Err(
                        "no snapshots of the product API are embedded in this build: pass --base-url of a product server"
                            .into(),
                    );
                }
            }
            options
        }
        (None, None) => {
            let backend = args.mock.unwrap_or_default();
            let options = RunOptions::mock_for(backend);
            if let Target::Mock(set) = &options.target {
                if set.is_empty() {
                    return Err(format!(
                        "no snapshots of {backend} are embedded in this build; record them first"
                    ));
                }
            }
            options
        }
    };
    if let Some(backend) = args.backend {
        options.backend = Some(backend);
    }
    if args.base_url.is_none()
        && (!args.cube_paths.is_empty()
            || args.doc_path.is_some()
            || args.configure_body.is_some()
            || args.token.is_some())
    {
        eprintln!("note: without --base-url the suite replays the embedded mock; server options are ignored");
    }
    if let Some(token) = &args.token {
        options.auth = Some(Auth::new(args.auth, token.clone()));
    }
    options.cube_paths = args.cube_paths.clone();
    options.doc_path = args.doc_path.clone();
    if let Some(path) = &args.configure_body {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read --configure-body {}: {e}", path.display()))?;
        let value: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| format!("--configure-body {} is not JSON: {e}", path.display()))?;
        if !value.is_object() {
            return Err(format!(
                "--configure-body {} must hold a JSON object (a MOSConfig)",
                path.display()
            ));
        }
        options.configure_body = Some(value);
    }
    options.allow_configure = args.allow_configure;
    options.destructive = args.destructive;
    options.patterns = args.cases.clone();
    for (name, secs) in [
        ("--timeout", args.timeout),
        ("--case-timeout", args.case_timeout),
        ("--run-timeout", args.run_timeout),
    ] {
        if secs == 0 {
            return Err(format!("{name} must be at least 1 second"));
        }
    }
    options.request_timeout = Duration::from_secs(args.timeout);
    options.case_timeout = Duration::from_secs(args.case_timeout);
    options.run_timeout = Duration::from_secs(args.run_timeout);
    options.server_version = args.server_version.clone();
    options.api = args.api;
    // Before the server is asked, a pattern must match a case of the API given, or of
    // either API when the server will tell.
    let matches_any = |api: Api| memos_conformance::select_for(api, &args.cases).len() > 1;
    let matched = match args.api {
        Some(api) => matches_any(api),
        None => matches_any(Api::V1) || matches_any(Api::Product),
    };
    if !args.cases.is_empty() && !matched {
        return Err(format!(
            "no case matches {:?}; list the cases with --list",
            args.cases
        ));
    }
    Ok(options)
}
