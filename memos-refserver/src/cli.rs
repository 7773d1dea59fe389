//! The command line, as clap types: compiled into the binary, which reads it, and into the
//! library, whose `memos_refserver::command` gives it to `cargo xtask codegen` for the man page.
//! Paths name the library as `memos_refserver` in both (the library calls itself so).

use std::path::PathBuf;

use clap::Parser;
use memos_refserver::{Api, Backend};

/// Run a reference MemOS REST server offline on 127.0.0.1, backed by a deterministic fake
/// LLM: the v1 API (MemoryOS 2.0.10) or the /product API (MemoryOS 2.0.33).
#[derive(Debug, Parser)]
#[command(name = "memos-reference-server", version)]
pub struct Args {
    /// Only install (or verify) the Python venv, print how long it took, and exit.
    #[arg(long)]
    pub install_only: bool,

    /// Port for the MemOS server (default: a free port).
    #[arg(long)]
    pub port: Option<u16>,

    /// Venv directory (default: $MEMOS_REFSERVER_VENV, else
    /// <workspace>/target/refserver-venv; with --api product $MEMOS_REFSERVER_PRODUCT_VENV,
    /// else <workspace>/target/refserver-product-venv).
    // Not `env = "MEMOS_REFSERVER_VENV"`: with `--api product` that would point the product
    // install at the v1 venv, and rebuild it with the product's lock. Each API's default
    // reads its own variable (memos_refserver::ensure_venv_for).
    // The doc comment is the --help text, where `<workspace>` is a placeholder, not HTML.
    #[allow(rustdoc::invalid_html_tags)]
    #[arg(long)]
    pub venv: Option<PathBuf>,

    /// Python used to create the venv (default: python3).
    #[arg(long, env = "MEMOS_PYTHON")]
    pub python: Option<PathBuf>,

    /// Number of cube directories to create.
    #[arg(long, default_value_t = 8)]
    pub cubes: usize,

    /// The API the server speaks: v1 (MemoryOS 2.0.10, `memos.api.start_api:app`) or
    /// product (MemoryOS 2.0.33, `memos.api.server_api:app`, the `/product` routes, with
    /// its memories in a private PostgreSQL). Each has its own venv.
    #[arg(long, default_value = "v1", value_parser = parse_api)]
    pub api: Api,

    /// With --api product: register a psycopg2 type caster for pgvector's `vector` in the
    /// server, which makes /product/search work on PostgreSQL. Off by default: it hides a
    /// defect of MemoryOS 2.0.33 as shipped.
    #[arg(long)]
    pub pgvector_caster: bool,

    /// Storage backend of the cube directories: naive_text (in memory), general_text
    /// (embedded Qdrant in each cube directory) or tree_text (a private PostgreSQL with
    /// pgvector, started here and deleted on stop).
    #[arg(long, default_value = "naive_text", value_parser = parse_backend)]
    pub backend: Backend,

    /// Seconds to wait for the server to answer /openapi.json.
    #[arg(long, default_value_t = 120)]
    pub startup_timeout: u64,

    /// Print the completion script of SHELL (bash, zsh, fish, powershell or elvish) and exit.
    #[arg(long, value_name = "SHELL", exclusive = true)]
    pub completions: Option<clap_complete::Shell>,
}

fn parse_api(s: &str) -> Result<Api, String> {
    s.parse()
        .map_err(|e: memos_refserver::UnknownApi| e.to_string())
}

fn parse_backend(s: &str) -> Result<Backend, String> {
    s.parse()
        .map_err(|e: memos_refserver::UnknownBackend| e.to_string())
}
