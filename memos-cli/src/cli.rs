//! The command line, as clap types. Help texts are written for the person at the terminal:
//! each command says what it does, its defaults, and shows examples.

use std::path::PathBuf;

use clap::builder::{PossibleValuesParser, TypedValueParser as _};
use clap::{Args, Parser, Subcommand, ValueEnum};
use memos_api::AuthScheme;

#[derive(Debug, Parser)]
#[command(
    name = "memos",
    version,
    about = "Load data into a MemOS server and work with its users, cubes and memories",
    long_about = "Load data into a MemOS server (chat sessions, command output, documents) and \
                  work with its users, cubes and memories.",
    after_help = "Examples:
  memos users create alice
  memos load messages chats.jsonl --user alice --cube notes --create --cube-path /srv/cubes/notes
  make test 2>&1 | memos load content - --user alice --cube notes
  memos load docs ./handbook --user alice --cube notes --resume handbook.ckpt
  memos load messages chats.jsonl --api product --user alice --cube notes --resume chats.ckpt
  memos search 'where do I live' --user alice
  memos --api product memories list --cube notes --user alice

Environment: MEMOS_BASE_URL, MEMOS_TOKEN, MEMOS_API (instead of --base-url, --token, --api).",
    after_long_help = "Examples:
  memos users create alice
  memos load messages chats.jsonl --user alice --cube notes --create --cube-path /srv/cubes/notes
  make test 2>&1 | memos load content - --user alice --cube notes
  memos load docs ./handbook --user alice --cube notes --resume handbook.ckpt
  memos load messages chats.jsonl --api product --user alice --cube notes --resume chats.ckpt
  memos search 'where do I live' --user alice
  memos --api product memories list --cube notes --user alice

Environment: MEMOS_BASE_URL, MEMOS_TOKEN, MEMOS_API (instead of --base-url, --token, --api).

Exit codes:
  0    success (every record stored)
  1    the import finished, but some records failed or were not sent
       (run it again with the same --resume FILE to send just those)
  2    usage error (unknown option, bad value; with --api product, a missing --cube or
       --user it needs, or users/cubes, which it has no routes for)
  3    invalid input; nothing was sent (fix it, or pass --skip-invalid)
  4    an input file or folder cannot be read
  5    the server answered with an error (unknown user or cube, bad request, ...)
  6    the server could not be reached (not running, wrong --base-url, a redirect, timeout)
  7    the checkpoint (--resume FILE) cannot be used
  8    the server's answer was larger than --max-response-size
  130  interrupted (Ctrl-C); the same command with the same --resume FILE continues"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct Global {
    /// The server's base URL, with its path prefix if it has one (e.g. /api).
    #[arg(
        long,
        global = true,
        env = "MEMOS_BASE_URL",
        default_value = "http://127.0.0.1:8000"
    )]
    pub base_url: String,
    /// A credential sent with every request (see --auth).
    #[arg(long, global = true, env = "MEMOS_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// How the token is sent: `Authorization: Bearer <token>` or `Authorization: Token <key>`
    /// (the hosted service's API keys).
    #[arg(
        long,
        global = true,
        default_value = "bearer",
        value_parser = auth_scheme_parser(),
    )]
    pub auth: AuthScheme,
    /// The longest one try of a request may take, from connecting to the last byte of the
    /// answer, in seconds. A read that got no answer at all is tried up to 3 more times.
    #[arg(long, global = true, default_value_t = 60, value_name = "SECONDS")]
    pub timeout: u64,
    /// The largest answer read from the server, e.g. 64MiB, 500MB or a number of bytes; a
    /// larger one stops the command (exit code 8). Error answers are capped at 1 MiB.
    #[arg(
        long,
        global = true,
        default_value = DEFAULT_MAX_RESPONSE_SIZE,
        value_name = "SIZE",
        value_parser = parse_size,
    )]
    pub max_response_size: u64,
    /// The server's API: v1, or product for the /product routes of MemoryOS 2.x servers
    /// (2.0.33 and later). On /product, `users` and `cubes` have no routes and are refused,
    /// and `memories`, `search` and `chat` need a cube and a user as each command's help
    /// says. A checkpoint of `memos load` belongs to the API it was written through.
    #[arg(
        long,
        global = true,
        env = "MEMOS_API",
        value_enum,
        default_value_t = ApiArg::V1
    )]
    pub api: ApiArg,
    /// Print JSON on stdout instead of tables and sentences.
    #[arg(long, global = true)]
    pub json: bool,
    /// Print no progress and no summary (errors still go to stderr).
    #[arg(long, short, global = true)]
    pub quiet: bool,
}

/// The default of `--max-response-size`: the client's own cap, as people write it.
const DEFAULT_MAX_RESPONSE_SIZE: &str = "64MiB";

/// A size with an optional unit: `1048576`, `64MiB`, `1.5 GiB`, `500MB` (KB, MB, ... are
/// powers of 1000; KiB, MiB, ... of 1024).
fn parse_size(text: &str) -> Result<u64, String> {
    let size: bytesize::ByteSize = text
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a size; expected e.g. 64MiB, 500MB or 1048576"))?;
    match size.as_u64() {
        0 => Err("the size must be more than 0 bytes".to_owned()),
        bytes => Ok(bytes),
    }
}

/// `--auth` takes the client's own scheme names; listing them as possible values keeps them
/// in `--help` and in the error for a wrong one.
fn auth_scheme_parser() -> impl clap::builder::TypedValueParser<Value = AuthScheme> {
    PossibleValuesParser::new(AuthScheme::ALL.map(AuthScheme::name))
        .try_map(|name| name.parse::<AuthScheme>())
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Import chat sessions, text or documents into a cube.
    #[command(subcommand)]
    Load(LoadCommand),
    /// List and create users (v1 only: the /product API has no user routes).
    #[command(
        subcommand,
        after_help = "With --api product this command is refused: the /product API has no user routes.
Users are implicit there: any --user id is taken as it is by load, memories, search and chat."
    )]
    Users(UsersCommand),
    /// Register, unregister and share cubes (v1 only: the /product API has no such routes).
    #[command(
        subcommand,
        after_help = "With --api product this command is refused: the /product API has no routes to register,
unregister or share cubes. A cube is created by the first memory added to it
(memos load ... --api product --cube CUBE); memos memories list --cube CUBE shows it."
    )]
    Cubes(CubesCommand),
    /// List, show and delete memories.
    #[command(subcommand)]
    Memories(MemoriesCommand),
    /// Search the memories of a user's cubes.
    #[command(
        after_help = "With --api product, --user and at least one --cube are required (the API searches only
the cubes named). MemoryOS 2.0.33 on PostgreSQL finds nothing (a known server defect):
the search answers with no memories.

Examples:
  memos search 'Lisbon' --user alice
  memos search 'build failed' --user alice --cube ci-logs --json
  memos --api product search 'Lisbon' --user alice --cube notes"
    )]
    Search {
        /// The query.
        query: String,
        /// The acting user (default: the server's current user; required with --api product).
        #[arg(long)]
        user: Option<String>,
        /// Search only these cubes (repeatable; at least one with --api product).
        #[arg(long = "cube", value_name = "CUBE")]
        cubes: Vec<String>,
    },
    /// Ask the server's chat model, with the user's memories as context.
    #[command(
        after_help = "With --api product, --user is required, and --cube names the cube searched for context
and the cube the exchange is then added to (default: the user's own cube). The server
answers 503 when it runs without ENABLE_CHAT_API=true.

Examples:
  memos chat 'Where do I live?' --user alice
  memos --api product chat 'Where do I live?' --user alice --cube notes"
    )]
    Chat {
        /// The message.
        message: String,
        /// The acting user (default: the server's current user; required with --api product).
        #[arg(long)]
        user: Option<String>,
        /// --api product only: the cube to search and to add the exchange to.
        #[arg(long)]
        cube: Option<String>,
    },
    /// Print the completion script of a shell.
    #[command(after_help = "Examples:
  memos completions bash > ~/.local/share/bash-completion/completions/memos
  memos completions zsh > ~/.zfunc/_memos      # with fpath+=(~/.zfunc) before compinit
  memos completions fish > ~/.config/fish/completions/memos.fish")]
    Completions {
        /// The shell: bash, zsh, fish, powershell or elvish.
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Subcommand)]
pub enum LoadCommand {
    /// Import chat sessions: one session is one request, each message one memory.
    #[command(
        after_help = "Input formats (detected from the first bytes of each file):
  JSONL of messages, one per line: {\"role\": \"user\", \"content\": \"...\", \"session_id\": \"s1\"}
    consecutive lines with the same session field form a session; a blank line or a new
    session value starts the next one (lines without the field are grouped by blank lines)
  OpenAI style, one conversation per line or per file: {\"messages\": [{\"role\": ..., \"content\": ...}]}
  a JSON array of sessions: [{\"messages\": [...]}, [...messages...], ...]

Examples:
  memos load messages chats.jsonl --user alice --cube notes
  memos load messages export.json --user alice --cube notes --dry-run
  memos load messages *.jsonl --user alice --cube notes --concurrency 8 --resume chats.ckpt"
    )]
    Messages {
        /// JSONL or JSON files (- for standard input).
        #[arg(required = true, value_name = "FILE")]
        files: Vec<String>,
        /// The field of a JSONL line that names its session.
        #[arg(long, default_value = "session_id", value_name = "NAME")]
        session_field: String,
        /// The most messages one session may have (a larger one is an invalid record).
        #[arg(long, default_value_t = 1000, value_name = "N")]
        max_session_messages: usize,
        #[command(flatten)]
        load: LoadArgs,
    },
    /// Import text such as command output or logs: each chunk of lines is one memory.
    #[command(after_help = "What one record (one memory) is:
  by default, consecutive lines joined, as many as fit in --chunk-size characters (blank lines
  at a chunk's edges are dropped); with --per-line, each non-blank line. A line longer than
  --chunk-size is cut into pieces. Standard input is read to its end before anything is sent.

Examples:
  make test 2>&1 | memos load content - --user alice --cube ci-logs
  memos load content app.log --user alice --cube logs --per-line --resume app.ckpt
  journalctl -u nginx --since today | memos load content --user ops --cube nginx")]
    Content {
        /// Text files, or - (the default) for standard input.
        #[arg(value_name = "FILE|-")]
        files: Vec<String>,
        /// The most characters of one memory.
        #[arg(long, default_value_t = 2000, value_name = "CHARS")]
        chunk_size: usize,
        /// One memory per non-blank line.
        #[arg(long)]
        per_line: bool,
        #[command(flatten)]
        load: LoadArgs,
    },
    /// Import documents: files and folders on THIS machine are read here, cut into chunks
    /// at paragraph boundaries, and sent as text.
    #[command(
        after_help = "Folders are read recursively in name order, leaving out hidden entries. Every file
must be UTF-8 text (plain text, Markdown, code, ...); others are invalid records
(--skip-invalid leaves them out).

--server-dir DIR instead asks the server to read DIR from ITS OWN disk (the API's doc_path).
The reference server (MemOS 2.0.10) answers 200 to that but stores nothing; this command
counts the cube's memories before and after and reports such an import as a failure.
With --api product it is refused: MemoryOS 2.0.33 stores \"[File: unknown]\" for doc_path and
never reads the folder.

Examples:
  memos load docs ./handbook README.md --user alice --cube notes
  memos load docs ./wiki --user alice --cube wiki --chunk-size 1500 --skip-invalid
  memos load docs --server-dir /srv/shared/handbook --user alice --cube notes"
    )]
    Docs {
        /// Files and folders on this machine.
        #[arg(value_name = "PATH", required_unless_present = "server_dir")]
        paths: Vec<PathBuf>,
        /// A folder on the SERVER's disk to import with doc_path (not this machine's).
        #[arg(long, value_name = "DIR", conflicts_with = "paths")]
        server_dir: Option<String>,
        /// The most characters of one memory.
        #[arg(long, default_value_t = 2000, value_name = "CHARS")]
        chunk_size: usize,
        /// Also read links to files outside the folders named (by default they are left
        /// out and listed, so that a link such as notes.md -> ~/.aws/credentials is not
        /// uploaded).
        #[arg(long, conflicts_with = "server_dir")]
        follow_links: bool,
        #[command(flatten)]
        load: LoadArgs,
    },
}

/// The API every command speaks (`--api`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ApiArg {
    /// The v1 API (/users, /mem_cubes, /memories; MemoryOS up to 2.0.10).
    V1,
    /// The /product API (MemoryOS 2.0.33 and later, `memos.api.server_api:app`): each
    /// record of `memos load` is one synchronous /product/add.
    Product,
}

#[derive(Debug, Args)]
pub struct LoadArgs {
    /// The user the memories belong to.
    #[arg(long)]
    pub user: String,
    /// The cube the memories go to.
    #[arg(long)]
    pub cube: String,
    /// Create the user if missing, and register the cube if the user cannot reach it
    /// (needs --cube-path). With --api product there is nothing to create: the server takes
    /// any user id, and the first memory creates the cube.
    #[arg(long)]
    pub create: bool,
    /// With --create: the cube's folder on the SERVER (it holds the cube's config.json).
    #[arg(long, value_name = "DIR", requires = "create")]
    pub cube_path: Option<String>,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 4, value_name = "N")]
    pub concurrency: usize,
    /// A checkpoint file: an interrupted import run again with it sends only what is
    /// missing; a finished one sends nothing. It is locked while the import runs (FILE.lock
    /// next to it): a second import with the same file is refused.
    #[arg(long, value_name = "FILE")]
    pub resume: Option<PathBuf>,
    /// Read, validate and count; send nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Leave out invalid records (each is reported) instead of stopping before sending.
    #[arg(long)]
    pub skip_invalid: bool,
    /// Stop after this many records in a row failed (0: never).
    #[arg(long, default_value_t = 20, value_name = "N")]
    pub max_failures: u32,
}

#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// List the active users.
    List,
    /// Create a user (nothing changes if it exists with the same name).
    #[command(after_help = "Example:
  memos users create alice --name 'Alice Liddell'")]
    Create {
        /// The new user's id.
        user_id: String,
        /// The display name (default: the id).
        #[arg(long)]
        name: Option<String>,
        /// The role.
        #[arg(long, value_enum, default_value_t = Role::User)]
        role: Role,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Role {
    Root,
    Admin,
    User,
    Guest,
}

#[derive(Debug, Subcommand)]
pub enum CubesCommand {
    /// Register (load) a cube from a folder on the server.
    #[command(after_help = "Example:
  memos cubes register notes --path /srv/cubes/notes --user alice")]
    Register {
        /// The cube id to register it under.
        cube_id: String,
        /// The cube's folder on the SERVER (it holds config.json).
        #[arg(long, value_name = "DIR")]
        path: String,
        /// The owner (or, for a cube another user owns, the user who gains access).
        #[arg(long)]
        user: Option<String>,
    },
    /// Unregister (unload) a cube; its memories are dropped by the reference server.
    Unregister {
        /// The cube id.
        cube_id: String,
        /// The acting user.
        #[arg(long)]
        user: Option<String>,
    },
    /// Share a cube with another user.
    #[command(
        after_help = "The reference server's share endpoint is broken (MemOS 2.0.10). If it fails, register the
cube id for the other user instead: memos cubes register CUBE --path DIR --user OTHER"
    )]
    Share {
        /// The cube id.
        cube_id: String,
        /// The user who gains access.
        #[arg(long = "with", value_name = "USER")]
        with: String,
        /// The acting user.
        #[arg(long)]
        user: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum MemoriesCommand {
    /// List the memories of a cube, in the server's order.
    #[command(
        after_help = "With --api product, --cube is required; --user is sent but MemoryOS 2.0.33 ignores it
(every memory of the cube is listed). Only the text memories are listed.

Examples:
  memos memories list --cube notes --user alice --json
  memos --api product memories list --cube notes --user alice"
    )]
    List {
        /// The cube (default: the user's newest cube; required with --api product).
        #[arg(long)]
        cube: Option<String>,
        /// The acting user.
        #[arg(long)]
        user: Option<String>,
    },
    /// Show one memory.
    #[command(
        after_help = "With --api product the memory is looked up by id alone (--user is not sent). MemoryOS
2.0.33 finds by id only the memories of its internal cube memos_default (a known server
defect): for any other cube it answers \"not found\"; memos memories list --cube CUBE
shows the memory."
    )]
    Get {
        /// The cube.
        cube_id: String,
        /// The memory's id (a UUID).
        memory_id: String,
        /// The acting user.
        #[arg(long)]
        user: Option<String>,
    },
    /// Delete one memory, or every memory of the cube with --all.
    #[command(
        after_help = "With --api product, --all lists the cube and deletes exactly the memories listed, by id,
in batches (never by filter: MemoryOS 2.0.33 deletes by filter and then reports a failure),
and says how many. --user is not sent. MemoryOS 2.0.33 deletes an id whatever its cube
(a known server defect), so check the id with memos memories list --cube CUBE first.

Examples:
  memos memories delete notes 5f0c2a52-0d2e-4f57-9d8c-2b9f0e6f1a11 --user alice
  memos memories delete notes --all --user alice"
    )]
    Delete {
        /// The cube.
        cube_id: String,
        /// The memory's full id (a UUID).
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        memory_id: Option<String>,
        /// Delete every memory of the cube.
        #[arg(long)]
        all: bool,
        /// The acting user.
        #[arg(long)]
        user: Option<String>,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_size_is_the_clients_cap() {
        assert_eq!(
            parse_size(DEFAULT_MAX_RESPONSE_SIZE),
            Ok(memos_api::DEFAULT_MAX_RESPONSE_BYTES)
        );
    }

    #[test]
    fn sizes_take_units() {
        assert_eq!(parse_size("100"), Ok(100));
        assert_eq!(parse_size("1MiB"), Ok(1024 * 1024));
        assert_eq!(parse_size("2 MB"), Ok(2_000_000));
        assert_eq!(parse_size(" 1.5GiB "), Ok(1536 * 1024 * 1024));
        assert!(parse_size("0").is_err());
        assert!(parse_size("0MiB").is_err());
        assert!(parse_size("lots").is_err());
        assert!(parse_size("-1").is_err());
    }
}
