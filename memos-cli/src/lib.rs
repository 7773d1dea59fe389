//! The `memos` command is the binary; this library only gives its command line to
//! `cargo xtask codegen`, which writes the man pages from it. It is not an API to build on:
//! use `memos-api` and `memos-loader`.

// Only the binary reads the parsed fields; here the module only describes the command.
#[allow(dead_code)]
mod cli;

/// The `memos` command line (its clap definition), for its man pages and completions.
pub fn command() -> clap::Command {
    <cli::Cli as clap::CommandFactory>::command()
}
