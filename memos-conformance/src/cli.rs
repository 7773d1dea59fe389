//! The command line, as clap types: compiled into the binary, which reads it, and into the
//! library, whose [`command`](crate::command) gives it to `cargo xtask codegen` for the man page.
//! Paths name the library as `memos_conformance` in both (the library calls itself so).

use std::path::PathBuf;

use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::Parser;
use memos_api::{AuthScheme, Secret};
use memos_conformance::{Api, Backend, Format};

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
pub struct Args {
    /// The server to test, e.g. http://127.0.0.1:8000 (include a path prefix such as /api
    /// if the deployment has one). Without it the suite runs against the embedded mock.
    #[arg(long, value_name = "URL")]
    pub base_url: Option<String>,

    /// A token to send with every request (also read from MEMOS_TOKEN). Never printed.
    #[arg(long, env = "MEMOS_TOKEN", hide_env_values = true, value_name = "T", value_parser = parse_secret)]
    pub token: Option<Secret>,

    /// How the token is sent: `Authorization: Bearer <T>` or `Authorization: Token <T>`.
    #[arg(long, default_value = "bearer", value_parser = auth_scheme_parser())]
    pub auth: AuthScheme,

    /// A scratch cube directory on the server (holding only a cube config.json), needed
    /// to register cubes; never one a real cube uses, since every cube registered from a
    /// directory shares its storage (general_text, tree_text). The run stops if a cube
    /// registered from it holds memories the run did not add, or if another cube holds
    /// its storage. Repeatable: on general_text and tree_text a case that needs several
    /// cubes at once takes each from its own directory (with one, such cases are skipped).
    #[arg(long = "cube-path", value_name = "DIR")]
    pub cube_paths: Vec<String>,

    /// The server's storage backend (a cube config's text_mem.backend). Without it the
    /// suite learns it from the server's answers about the run's own first cube (a graph
    /// listing is tree_text; a GET of an id the cube does not hold tells general_text
    /// from naive_text). It chooses the known-defect entries. With --snapshots: the
    /// backend the snapshots were recorded from.
    #[arg(long, value_enum, value_name = "BACKEND")]
    pub backend: Option<Backend>,

    /// Replay the embedded snapshots recorded from a reference server with BACKEND (the
    /// default, without --base-url, is naive_text), to see what such a server answers.
    /// With --api product and no --base-url, the product server's recording is replayed.
    #[arg(long, value_enum, value_name = "BACKEND", conflicts_with_all = ["base_url", "snapshots", "backend"])]
    pub mock: Option<Backend>,

    /// A directory on the server holding documents, for the doc_path case.
    #[arg(long, value_name = "DIR")]
    pub doc_path: Option<String>,

    /// A JSON file with the server's MOSConfig, for the cases that apply a configuration
    /// (with --allow-configure).
    #[arg(long, value_name = "FILE")]
    pub configure_body: Option<PathBuf>,

    /// Allow the cases that call POST /configure (this replaces the whole server's
    /// configuration and unloads every cube).
    #[arg(long)]
    pub allow_configure: bool,

    /// Allow probes that may change server state outside the run's own users and cubes:
    /// delete-all on the run's cubes (it empties the storage every cube of the
    /// --cube-path directory shares), doc_path naming the cube directory (a server whose
    /// doc_path works ingests its config.json), registering a missing directory (the
    /// reference server runs git clone).
    #[arg(long)]
    pub destructive: bool,

    /// Run only the cases matching PATTERN (`*` and `?` wildcards; without them, a
    /// substring). Repeatable.
    #[arg(long = "case", value_name = "PATTERN")]
    pub cases: Vec<String>,

    /// The report format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,

    /// Write the report to FILE instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Seconds one request may take.
    #[arg(long, value_name = "SECS", default_value_t = 15)]
    pub timeout: u64,

    /// Seconds one case may take.
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    pub case_timeout: u64,

    /// Seconds the whole run may take.
    #[arg(long, value_name = "SECS", default_value_t = 600)]
    pub run_timeout: u64,

    /// The known-defect list to apply (e.g. "MemOS REST APIs 1.0.0"), instead of the one
    /// matching the server's /openapi.json.
    #[arg(long, value_name = "KEY")]
    pub server_version: Option<String>,

    /// Record mode: write each case's normalised exchanges as snapshot files into DIR
    /// (meant for the reference server; see the README).
    #[arg(long, value_name = "DIR", requires = "base_url")]
    pub record: Option<PathBuf>,

    /// Replay the snapshots in DIR instead of the embedded ones (mock mode).
    #[arg(long, value_name = "DIR", conflicts_with = "base_url")]
    pub snapshots: Option<PathBuf>,

    /// The API the server speaks: v1 (MemoryOS up to 2.0.10, openapi/memos.yaml) or
    /// product (the /product routes of MemoryOS 2.0.33 and later, openapi/memos-product.yaml).
    /// Without it the suite learns it from info.title of the server's /openapi.json
    /// ("MemOS Server REST APIs" is product). With --list: whose cases to list. Without
    /// --base-url: whose embedded mock to replay.
    #[arg(long, value_enum, value_name = "API")]
    pub api: Option<Api>,

    /// List the cases and exit.
    #[arg(long)]
    pub list: bool,

    /// Print the completion script of SHELL (bash, zsh, fish, powershell or elvish) and exit,
    /// e.g. `memos-conformance --completions bash > ~/.local/share/bash-completion/completions/memos-conformance`.
    #[arg(long, value_name = "SHELL", exclusive = true)]
    pub completions: Option<clap_complete::Shell>,
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

/// The token, trimmed; never echoed in errors or `Debug`.
fn parse_secret(value: &str) -> Result<Secret, String> {
    let value = value.trim();
    if value.is_empty() {
        Err("the token is empty".into())
    } else {
        Ok(Secret::new(value))
    }
}
