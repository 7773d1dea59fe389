//! Exit codes scripts can rely on (listed in `memos --help`), and turning errors into them.

use memos_loader::LoadError;

pub const OK: i32 = 0;
pub const INCOMPLETE: i32 = 1;
pub const USAGE: i32 = 2;
pub const INVALID_INPUT: i32 = 3;
pub const UNREADABLE_INPUT: i32 = 4;
pub const SERVER_ERROR: i32 = 5;
pub const UNREACHABLE: i32 = 6;
pub const CHECKPOINT: i32 = 7;
pub const INTERRUPTED: i32 = 130;

/// A failure of the command: the message printed to stderr and the exit code.
#[derive(Debug)]
pub struct Failure {
    pub code: i32,
    pub message: String,
}

impl Failure {
    pub fn new(code: i32, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

/// The exit code for an error of the client.
pub fn api_code(err: &memos_api::Error) -> i32 {
    match err {
        memos_api::Error::Transport { .. } => UNREACHABLE,
        memos_api::Error::Config(_) => USAGE,
        _ => SERVER_ERROR,
    }
}

impl From<memos_api::Error> for Failure {
    fn from(err: memos_api::Error) -> Self {
        Failure::new(api_code(&err), err.to_string())
    }
}

impl From<LoadError> for Failure {
    fn from(err: LoadError) -> Self {
        let code = match &err {
            LoadError::Read { .. } => UNREADABLE_INPUT,
            LoadError::Malformed { .. } | LoadError::InvalidInput { .. } => INVALID_INPUT,
            LoadError::Setup { source, .. } => api_code(source),
            LoadError::Api(source) => api_code(source),
            LoadError::Conflict(_) => SERVER_ERROR,
            LoadError::Checkpoint { .. } => CHECKPOINT,
            LoadError::StoredNothing { .. } => INCOMPLETE,
            LoadError::Options(_) => USAGE,
            _ => SERVER_ERROR,
        };
        Failure::new(code, err.to_string())
    }
}
