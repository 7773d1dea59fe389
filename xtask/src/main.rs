//! `cargo xtask codegen [--check]`, `cargo xtask drift`, `cargo xtask check`,
//! `cargo xtask lint-external`, `cargo xtask schemathesis`, `cargo xtask exercise`,
//! `cargo xtask pin [--check]`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

use xtask::api::Api;
use xtask::{check, codegen, drift, exercise, external, pins, schemathesis};

#[derive(Parser)]
#[command(
    name = "cargo xtask",
    bin_name = "cargo xtask",
    about = "Project automation for memos-rs"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Regenerate every file derived from openapi/memos.yaml (and the JSON Schemas).
    Codegen {
        /// Write nothing; fail if any generated file is stale or missing.
        #[arg(long)]
        check: bool,
    },
    /// Compare a server's OpenAPI document (by default the reference server's, checked in
    /// under openapi/reference/) with openapi/memos.yaml (exit 1 on any finding that
    /// openapi/drift-allowlist.yaml does not allow); `--api product` compares with
    /// openapi/memos-product.yaml under openapi/drift-allowlist-product.yaml.
    Drift {
        /// Which API's spec to compare (and whose reference document and allow-list to use).
        #[arg(long, default_value = "v1", value_parser = parse_api)]
        api: Api,
        #[command(flatten)]
        source: Source,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
        /// List every allow-listed documentation finding instead of one row per entry.
        #[arg(long, short)]
        verbose: bool,
    },
    /// Everything CI checks beyond tests: codegen --check, spec lint, pending snapshots, drift,
    /// pip locks, the files each package carries.
    Check,
    /// The spec read by other tools, pinned: redocly's recommended lint (0 errors) and PyYAML
    /// (loads it, to the same document as serde_yaml_ng). Needs npx and python3.
    LintExternal,
    /// Drive the reference server from the spec with schemathesis (fixed seed); fail on any
    /// finding that is not a server defect the spec names.
    Schemathesis(schemathesis::Args),
    /// Start the reference server and send every optional field and mode of each operation;
    /// fail on any request the server accepts that the spec rejects, any answer outside the
    /// spec, and any body the typed client cannot decode.
    Exercise {
        /// Which API to exercise (only `product` has an exercise).
        #[arg(long, default_value = "product", value_parser = parse_api)]
        api: Api,
    },
    /// Regenerate the hashed pip locks of every Python environment (needs the network).
    Pin {
        /// Write nothing and use no network; fail if a lock does not fit the Rust constants.
        #[arg(long)]
        check: bool,
    },
}

/// Where the server's document comes from: at most one of the two; neither means the
/// checked-in reference document of the API (`Api::reference_doc`).
#[derive(Args)]
#[group(required = false, multiple = false)]
struct Source {
    /// Fetch URL/openapi.json from a running server.
    #[arg(long, value_name = "URL")]
    server: Option<String>,
    /// Read the document from a file (JSON or YAML).
    #[arg(long, value_name = "PATH")]
    file: Option<PathBuf>,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Table,
    Json,
}

fn parse_api(s: &str) -> Result<Api, String> {
    s.parse()
        .map_err(|e: memos_refserver::UnknownApi| e.to_string())
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// `Ok(false)` is a check that ran and failed (already reported).
fn run(cli: Cli) -> anyhow::Result<bool> {
    let root = memos_refserver::workspace_root();
    match cli.command {
        Command::Codegen { check: true } => {
            let stale = codegen::check(&root)?;
            if stale.is_empty() {
                out("codegen: every generated file is up to date\n");
                return Ok(true);
            }
            eprint!("{}", codegen::report(&stale));
            Ok(false)
        }
        Command::Codegen { check: false } => {
            for (path, outcome) in codegen::write(&root)? {
                let verb = match outcome {
                    codegen::Outcome::Unchanged => "unchanged",
                    codegen::Outcome::Written => "written",
                    codegen::Outcome::Removed => "removed (no registry entry makes it)",
                };
                out(&format!("{path}: {verb}\n"));
            }
            Ok(true)
        }
        Command::Drift {
            api,
            source,
            format,
            verbose,
        } => {
            let (source, doc) = match (source.server, source.file) {
                (Some(url), _) => drift::fetch(&url)?,
                (None, Some(path)) => (path.display().to_string(), drift::load_file(&path)?),
                (None, None) => drift::load_reference_of(&root, api)?,
            };
            let report = drift::run_api(&root, api, &source, &doc)?;
            match format {
                Format::Table => out(&drift::render_table(&report, verbose)),
                Format::Json => out(&format!("{}\n", drift::render_json(&report))),
            }
            Ok(report.ok())
        }
        Command::Exercise { api } => {
            let summary = exercise::run(&root, api)?;
            out(&summary.render());
            Ok(summary.ok())
        }
        Command::Pin { check: true } => {
            let problems = pins::check(&root)?;
            for problem in &problems {
                eprintln!("{problem}");
            }
            if problems.is_empty() {
                out("pin: every lock fits the code\n");
            }
            Ok(problems.is_empty())
        }
        Command::Pin { check: false } => {
            for path in pins::write(&root)? {
                out(&format!("{path}: written\n"));
            }
            Ok(true)
        }
        Command::Schemathesis(args) => {
            schemathesis::run(&root, &args)?;
            Ok(true)
        }
        Command::Check => Ok(report(&check::run(&root), "check")),
        Command::LintExternal => Ok(report(
            &external::run(&root, external::Missing::from_env()),
            "lint-external",
        )),
    }
}

/// Prints each step and a closing line; true when every step passed.
fn report(steps: &[check::Step], command: &str) -> bool {
    for step in steps {
        let verdict = if step.ok { "ok" } else { "FAILED" };
        out(&format!("== {}: {verdict}\n", step.name));
        if !step.output.is_empty() {
            out(&format!("{}\n", step.output.trim_end()));
        }
    }
    let failed: Vec<&str> = steps.iter().filter(|s| !s.ok).map(|s| s.name).collect();
    if failed.is_empty() {
        out(&format!("{command}: ok\n"));
        true
    } else {
        out(&format!("{command}: FAILED ({})\n", failed.join(", ")));
        false
    }
}

/// Prints to stdout, ignoring a closed pipe (`cargo xtask drift | head` must not panic); the
/// exit status still tells the outcome.
fn out(text: &str) {
    use std::io::Write as _;
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
}
