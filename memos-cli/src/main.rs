//! `memos`: bulk imports into a MemOS server, and everyday commands over the same client.
//! See `memos --help`.

mod cli;
mod commands;
mod exit;
mod load;
mod output;
mod progress;

use std::time::Duration;

use clap::Parser;
use memos_api::{AuthScheme, Client};

use cli::{Cli, Command};
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

fn client(cli: &Cli) -> Result<Client, Failure> {
    let global = &cli.global;
    let mut builder = Client::builder(global.base_url.clone())
        .timeout(Duration::from_secs(global.timeout.max(1)))
        .max_response_bytes(global.max_response_size)
        .user_agent(concat!("memos-cli/", env!("CARGO_PKG_VERSION")));
    if let Some(token) = &global.token {
        builder = match global.auth {
            AuthScheme::Bearer => builder.bearer_token(token.clone()),
            AuthScheme::Token => builder.api_key(token.clone()),
        };
    }
    let client = builder
        .build()
        .map_err(|err| Failure::new(exit::USAGE, err.to_string()))?;
    // Once per run, whatever --quiet says: the token can be read by anyone on the path.
    if let Some(warning) = client.cleartext_warning() {
        output::warn(&format!("memos: {warning}"));
    }
    Ok(client)
}

async fn run(cli: Cli) -> Result<i32, Failure> {
    let client = client(&cli)?;
    let global = &cli.global;
    match cli.command {
        Command::Load(command) => load::run(command, &client, global).await,
        Command::Users(command) => commands::users(command, &client, global).await,
        Command::Cubes(command) => commands::cubes(command, &client, global).await,
        Command::Memories(command) => commands::memories(command, &client, global).await,
        Command::Search { query, user, cubes } => {
            commands::search(query, user, cubes, &client, global).await
        }
        Command::Chat { message, user } => commands::chat(message, user, &client, global).await,
    }
}
