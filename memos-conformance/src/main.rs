//! `memos-conformance`: does a MemOS server conform to the spec?
//!
//! Without arguments the whole suite runs against the embedded mock (the snapshots
//! recorded from the reference server). With `--base-url` it runs against a live server.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::Parser;
use memos_api::{Auth, AuthScheme, Secret};
use memos_conformance::snapshot::{self, SnapshotSet};
use memos_conformance::{Api, Backend, Format, RunOptions, Target};

/// Checks a MemOS REST server against openapi/memos.yaml: every operation's success
/// path and the state it leaves, the error paths, the response checks (status, content
/// type, JSON Schema, envelope) on every exchange, auth, and security findings.
///
/// By default it works only inside users and cubes it creates under a unique run
/// prefix, cleans up what the API allows and never calls /configure. Cubes registered
/// from one directory share its storage, so pass an empty scratch directory as
/// --cube-path, never a directory a real cube uses: the suite lists each cube it
/// registers and stops, touching nothing, when the cube holds memories it did not add.
#[derive(Debug, Parser)]
#[command(name = "memos-conformance", version, after_help = AFTER_HELP)]
struct Args {
    /// The server to test, e.g. http://127.0.0.1:8000 (include a path prefix such as /api
    /// if the deployment has one). Without it the suite runs against the embedded mock.
    #[arg(long, value_name = "URL")]
    base_url: Option<String>,

    /// A token to send with every request (also read from MEMOS_TOKEN). Never printed.
    #[arg(long, env = "MEMOS_TOKEN", hide_env_values = true, value_name = "T", value_parser = parse_secret)]
    token: Option<Secret>,

    /// How the token is sent: `Authorization: Bearer <T>` or `Authorization: Token <T>`.
    #[arg(long, default_value = "bearer", value_parser = auth_scheme_parser())]
    auth: AuthScheme,

    /// A scratch cube directory on the server (holding only a cube config.json), needed
    /// to register cubes; never one a real cube uses, since every cube registered from a
    /// directory shares its storage (general_text, tree_text). The run stops if a cube
    /// registered from it holds memories the run did not add, or if another cube holds
    /// its storage. Repeatable: on general_text and tree_text a case that needs several
    /// cubes at once takes each from its own directory (with one, such cases are skipped).
    #[arg(long = "cube-path", value_name = "DIR")]
    cube_paths: Vec<String>,

    /// The server's storage backend (a cube config's text_mem.backend). Without it the
    /// suite learns it from the server's answers about the run's own first cube (a graph
    /// listing is tree_text; a GET of an id the cube does not hold tells general_text
    /// from naive_text). It chooses the known-defect entries. With --snapshots: the
    /// backend the snapshots were recorded from.
    #[arg(long, value_enum, value_name = "BACKEND")]
    backend: Option<Backend>,

    /// Replay the embedded snapshots recorded from a reference server with BACKEND (the
    /// default, without --base-url, is naive_text), to see what such a server answers.
    /// With --api product and no --base-url, the product server's recording is replayed.
    #[arg(long, value_enum, value_name = "BACKEND", conflicts_with_all = ["base_url", "snapshots", "backend"])]
    mock: Option<Backend>,

    /// A directory on the server holding documents, for the doc_path case.
    #[arg(long, value_name = "DIR")]
    doc_path: Option<String>,

    /// A JSON file with the server's MOSConfig, for the cases that apply a configuration
    /// (with --allow-configure).
    #[arg(long, value_name = "FILE")]
    configure_body: Option<PathBuf>,

    /// Allow the cases that call POST /configure (this replaces the whole server's
    /// configuration and unloads every cube).
    #[arg(long)]
    allow_configure: bool,

    /// Allow probes that may change server state outside the run's own users and cubes:
    /// delete-all on the run's cubes (it empties the storage every cube of the
    /// --cube-path directory shares), doc_path naming the cube directory (a server whose
    /// doc_path works ingests its config.json), registering a missing directory (the
    /// reference server runs git clone).
    #[arg(long)]
    destructive: bool,

    /// Run only the cases matching PATTERN (`*` and `?` wildcards; without them, a
    /// substring). Repeatable.
    #[arg(long = "case", value_name = "PATTERN")]
    cases: Vec<String>,

    /// The report format.
    #[arg(long, value_enum, default_value = "text")]
    format: Format,

    /// Write the report to FILE instead of standard output.
    #[arg(long, value_name = "FILE")]
    output: Option<PathBuf>,

    /// Seconds one request may take.
    #[arg(long, value_name = "SECS", default_value_t = 15)]
    timeout: u64,

    /// Seconds one case may take.
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    case_timeout: u64,

    /// Seconds the whole run may take.
    #[arg(long, value_name = "SECS", default_value_t = 600)]
    run_timeout: u64,

    /// The known-defect list to apply (e.g. "MemOS REST APIs 1.0.0"), instead of the one
    /// matching the server's /openapi.json.
    #[arg(long, value_name = "KEY")]
    server_version: Option<String>,

    /// Record mode: write each case's normalised exchanges as snapshot files into DIR
    /// (meant for the reference server; see the README).
    #[arg(long, value_name = "DIR", requires = "base_url")]
    record: Option<PathBuf>,

    /// Replay the snapshots in DIR instead of the embedded ones (mock mode).
    #[arg(long, value_name = "DIR", conflicts_with = "base_url")]
    snapshots: Option<PathBuf>,

    /// The API the server speaks: v1 (MemoryOS up to 2.0.10, openapi/memos.yaml) or
    /// product (the /product routes of MemoryOS 2.0.33 and later, openapi/memos-product.yaml).
    /// Without it the suite learns it from info.title of the server's /openapi.json
    /// ("MemOS Server REST APIs" is product). With --list: whose cases to list. Without
    /// --base-url: whose embedded mock to replay.
    #[arg(long, value_enum, value_name = "API")]
    api: Option<Api>,

    /// List the cases and exit.
    #[arg(long)]
    list: bool,
}

const AFTER_HELP: &str = "\
Exit code: 0 when no case failed other than a listed known defect, 1 otherwise, 2 for
bad arguments, 130 when interrupted (Ctrl-C stops the running case, cleans up what it
created and runs no more cases; a second Ctrl-C quits at once).

Examples:
  memos-conformance
  memos-conformance --mock tree_text
  memos-conformance --api product
  memos-conformance --base-url http://127.0.0.1:8000 --cube-path /srv/memos/cubes/conformance-scratch
  memos-conformance --base-url https://memos.example/api --token \"$T\" --auth token --format junit --output memos.xml";

/// `bearer` or `token`, listed in `--help` and in the error for anything else.
fn auth_scheme_parser() -> impl TypedValueParser<Value = AuthScheme> {
    PossibleValuesParser::new(AuthScheme::ALL.map(AuthScheme::name))
        .try_map(|name| name.parse::<AuthScheme>())
}

fn main() -> ExitCode {
    let args = Args::parse();
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

/// The token, trimmed; never echoed in errors or `Debug`.
fn parse_secret(value: &str) -> Result<Secret, String> {
    let value = value.trim();
    if value.is_empty() {
        Err("the token is empty".into())
    } else {
        Ok(Secret::new(value))
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
