//! `memos`: bulk imports into a MemOS server, and everyday commands over the same client.
//! See `memos --help`.

mod cli;
mod commands;
mod exit;
mod load;
mod output;
mod product;
mod progress;

use std::time::Duration;

use clap::Parser;
use memos_api::{v1, AuthScheme, ClientBuilder};
use memos_loader::Server;

use cli::{ApiArg, Cli, Command, Global, MemoriesCommand};
use exit::Failure;

fn main() {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("memos: cannot start the async runtime: {err}");
            std::process::exit(exit::SERVER_ERROR);
        }
    };
    let code = match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(failure) => {
            output::warn(&format!("memos: {}", failure.message));
            failure.code
        }
    };
    // Do not wait for a blocked stdin reader or a signal task.
    runtime.shutdown_timeout(Duration::from_millis(100));
    std::process::exit(code);
}

/// The global flags' settings, for a client of either API.
fn configure<C>(mut builder: ClientBuilder<C>, global: &Global) -> ClientBuilder<C> {
    builder = builder
        .timeout(Duration::from_secs(global.timeout.max(1)))
        .max_response_bytes(global.max_response_size)
        .user_agent(concat!("memos-cli/", env!("CARGO_PKG_VERSION")));
    if let Some(token) = &global.token {
        builder = match global.auth {
            AuthScheme::Bearer => builder.bearer_token(token.clone()),
            AuthScheme::Token => builder.api_key(token.clone()),
        };
    }
    builder
}

/// Once per run, whatever --quiet says: the token can be read by anyone on the path.
fn warn_cleartext(warning: Option<String>) {
    if let Some(warning) = warning {
        output::warn(&format!("memos: {warning}"));
    }
}

fn client(global: &Global) -> Result<v1::Client, Failure> {
    let client = configure(v1::Client::builder(global.base_url.clone()), global)
        .build()
        .map_err(|err| Failure::new(exit::USAGE, err.to_string()))?;
    warn_cleartext(client.cleartext_warning());
    Ok(client)
}

fn product_client(global: &Global) -> Result<memos_api::product::Client, Failure> {
    let client = configure(
        memos_api::product::Client::builder(global.base_url.clone()),
        global,
    )
    .build()
    .map_err(|err| Failure::new(exit::USAGE, err.to_string()))?;
    warn_cleartext(client.cleartext_warning());
    Ok(client)
}

async fn run(cli: Cli) -> Result<i32, Failure> {
    let global = &cli.global;
    // A route the server does not have most likely means it speaks the other API. The
    // loader checks the API itself and says what to pass.
    let is_load = matches!(cli.command, Command::Load(_));
    let (result, hint) = match global.api {
        ApiArg::V1 => (
            run_v1(cli.command, global).await,
            "MemoryOS 2.0.33 and later speak only the /product API: pass --api product (or \
             set MEMOS_API=product)",
        ),
        ApiArg::Product => (
            run_product(cli.command, global).await,
            "the server has no /product routes; if it speaks the v1 API (MemoryOS 2.0.10 and \
             older), drop --api product",
        ),
    };
    if is_load {
        result
    } else {
        result.map_err(|failure| failure.hint_if_missing_route(hint))
    }
}

/// The commands with `--api v1` (the default).
async fn run_v1(command: Command, global: &Global) -> Result<i32, Failure> {
    match command {
        Command::Load(command) => load::run(command, Server::V1(client(global)?), global).await,
        Command::Users(command) => commands::users(command, &client(global)?, global).await,
        Command::Cubes(command) => commands::cubes(command, &client(global)?, global).await,
        Command::Memories(command) => commands::memories(command, &client(global)?, global).await,
        Command::Search { query, user, cubes } => {
            commands::search(query, user, cubes, &client(global)?, global).await
        }
        Command::Chat {
            message,
            user,
            cube,
        } => {
            if cube.is_some() {
                return Err(Failure::new(
                    exit::USAGE,
                    "--cube of `memos chat` needs --api product: the v1 chat answers from \
                     the user's cubes",
                ));
            }
            commands::chat(message, user, &client(global)?, global).await
        }
        Command::Completions { shell } => Ok(completions(shell)),
    }
}

/// The commands with `--api product`. What cannot be done there (users, cubes, a missing
/// --cube or --user) is refused before anything is sent.
async fn run_product(command: Command, global: &Global) -> Result<i32, Failure> {
    match command {
        Command::Load(command) => {
            load::run(command, Server::Product(product_client(global)?), global).await
        }
        Command::Users(_) => Err(product::users_refused()),
        Command::Cubes(_) => Err(product::cubes_refused()),
        Command::Memories(MemoriesCommand::List { cube, user }) => {
            product::memories_list(cube, user, &product_client(global)?, global).await
        }
        Command::Memories(MemoriesCommand::Get {
            cube_id, memory_id, ..
        }) => product::memories_get(cube_id, memory_id, &product_client(global)?, global).await,
        Command::Memories(MemoriesCommand::Delete {
            cube_id,
            memory_id,
            all,
            ..
        }) => {
            product::memories_delete(cube_id, memory_id, all, &product_client(global)?, global)
                .await
        }
        Command::Search { query, user, cubes } => {
            product::search(query, user, cubes, &product_client(global)?, global).await
        }
        Command::Chat {
            message,
            user,
            cube,
        } => product::chat(message, user, cube, &product_client(global)?, global).await,
        Command::Completions { shell } => Ok(completions(shell)),
    }
}

/// `memos completions SHELL`: the same on either API.
fn completions(shell: clap_complete::Shell) -> i32 {
    let mut command = <Cli as clap::CommandFactory>::command();
    clap_complete::generate(shell, &mut command, "memos", &mut std::io::stdout());
    exit::OK
}
