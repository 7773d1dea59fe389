//! Exit codes scripts can rely on (listed in `memos --help`), and turning errors into them.

use memos_loader::{Hint, LoadError};

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
            LoadError::Read { .. } | LoadError::InputChanged { .. } => UNREADABLE_INPUT,
            LoadError::Malformed { .. } | LoadError::InvalidInput { .. } => INVALID_INPUT,
            LoadError::Setup { source, .. } => api_code(source),
            LoadError::Api(source) => api_code(source),
            LoadError::UnknownUser { .. } | LoadError::Conflict(_) => SERVER_ERROR,
            LoadError::Checkpoint { .. } => CHECKPOINT,
            LoadError::StoredNothing { .. } => INCOMPLETE,
            LoadError::Options(_) => USAGE,
            _ => SERVER_ERROR,
        };
        Failure::new(code, load_message(&err))
    }
}

/// The loader's error as this command's users need it: its hint names flags and commands
/// where the loader names options and functions.
fn load_message(err: &LoadError) -> String {
    match err.hint() {
        Some(hint) => format!("{}\n  hint: {}", err.message(), flag_hint(&hint)),
        None => err.message(),
    }
}

fn flag_hint(hint: &Hint) -> String {
    match hint {
        Hint::SkipInvalid => "fix them, or pass --skip-invalid to import the valid records and \
                              report the others"
            .to_owned(),
        Hint::CreateUser { user_id } => format!(
            "create it with `memos users create {user_id}`, or pass --create to the load command"
        ),
        Hint::RegisterCube { user_id, cube_id } => format!(
            "register it with `memos cubes register {cube_id} --user {user_id} --path DIR`, or \
             pass --create --cube-path DIR to the load command (DIR is a folder on the server \
             holding the cube's config.json)"
        ),
        Hint::ImportLocalDocuments => {
            "import the files from this machine instead: memos load docs PATH".to_owned()
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loader_hints_name_the_flags() {
        let failure = Failure::from(LoadError::InvalidInput {
            count: 1,
            first: Vec::new(),
        });
        assert_eq!(failure.code, INVALID_INPUT);
        assert!(
            failure.message.contains("pass --skip-invalid"),
            "{}",
            failure.message
        );
        assert!(
            !failure.message.contains("skip_invalid"),
            "{}",
            failure.message
        );

        let failure = Failure::from(LoadError::UnknownUser {
            user_id: "alice".into(),
        });
        assert!(
            failure.message.ends_with(
                "\n  hint: create it with `memos users create alice`, or pass --create to the \
                 load command"
            ),
            "{}",
            failure.message
        );
    }
}
