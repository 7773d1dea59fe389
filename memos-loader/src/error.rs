//! The loader's error type: what failed, where, and what to do about it.
//!
//! The advice is a [`Hint`] in terms of this crate's options and functions, kept apart from
//! the message, so that a front end (such as the `memos` command) can word it in its own
//! terms (its flags) with [`LoadError::message`] and [`LoadError::hint`].

use std::fmt;
use std::path::PathBuf;

use crate::item::InvalidRecord;

/// Why an import (or its set-up) could not be carried out.
///
/// Failures of single records during an import are not errors: they are counted in the
/// [`Summary`](crate::Summary). These are the failures that stop the whole import, most of
/// them before anything is sent.
///
/// The text (`Display`) is [`message`](Self::message), then the [`hint`](Self::hint), if
/// any, on a last line of its own starting with `  hint: `.
#[derive(Debug)]
#[non_exhaustive]
pub enum LoadError {
    /// An input file or directory could not be opened or read.
    Read {
        /// The path, as the user gave it (or `<stdin>`).
        path: PathBuf,
        /// The OS error or what is wrong.
        reason: String,
    },
    /// The input's structure is broken beyond one record (e.g. an unterminated JSON array),
    /// so no further record can be read. Nothing was sent.
    Malformed {
        /// The file.
        path: PathBuf,
        /// The line where reading stopped.
        line: u64,
        /// What is wrong.
        reason: String,
    },
    /// Some records are invalid and `skip_invalid` is off. Nothing was sent.
    InvalidInput {
        /// How many records are invalid.
        count: u64,
        /// The first of them (at most 20).
        first: Vec<InvalidRecord>,
    },
    /// Some sessions hold messages whose role the API does not take (the `/product` API
    /// takes `user`, `assistant` and `system`). Nothing was sent; `skip_invalid` does not
    /// leave them out (the check is the API's, not the input format's).
    UnsupportedRoles {
        /// The API the import goes through.
        api: crate::Api,
        /// How many messages have such a role.
        count: u64,
        /// The first of them (at most 20), each with its session's place and its role.
        first: Vec<InvalidRecord>,
    },
    /// The user or cube is missing or unreachable, or creating it failed.
    Setup {
        /// What was being checked or done.
        what: String,
        /// The server's answer (boxed: the client's error is large).
        source: Box<memos_api::Error>,
        /// What to do.
        hint: Option<Hint>,
    },
    /// The user does not exist on the server (see [`ensure_user`](crate::ensure_user)).
    UnknownUser {
        /// The user's id.
        user_id: String,
    },
    /// The server's answer makes the requested set-up impossible (e.g. the user name
    /// belongs to another user).
    Conflict(String),
    /// A request of the import itself (not of one record) failed.
    Api(Box<memos_api::Error>),
    /// The checkpoint file cannot be read or written.
    Checkpoint {
        /// The checkpoint file.
        path: PathBuf,
        /// What is wrong and what to do.
        reason: String,
    },
    /// The server answered a `doc_path` import with success but stored nothing.
    StoredNothing {
        /// The server-side directory.
        dir: String,
        /// Memories before.
        before: usize,
        /// Memories after.
        after: usize,
    },
    /// The options make no sense (e.g. a chunk size of 0).
    Options(String),
    /// An input changed between validation and sending other than by growing (it was
    /// rewritten or truncated), so the records validated are not the records that would be
    /// sent. What was sent before the change was noticed is in the checkpoint, if any.
    InputChanged {
        /// The file.
        path: PathBuf,
        /// What changed.
        reason: String,
    },
}

/// What to do about a [`LoadError`], in terms of this crate's options and functions.
///
/// Its `Display` is that advice; a front end matches on the variant to name its own flags
/// or commands instead.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Hint {
    /// Fix the invalid records, or set [`LoadOptions::skip_invalid`](crate::LoadOptions)
    /// to import the valid ones and report the others.
    SkipInvalid,
    /// Create the user first ([`ensure_user`](crate::ensure_user)).
    CreateUser {
        /// The user's id.
        user_id: String,
    },
    /// Register the cube for the user first ([`ensure_cube`](crate::ensure_cube)), from a
    /// folder on the server that holds the cube's `config.json`.
    RegisterCube {
        /// The user's id.
        user_id: String,
        /// The cube's id.
        cube_id: String,
    },
    /// Import the files from this machine instead, as
    /// [`Source::Documents`](crate::Source::Documents).
    ImportLocalDocuments,
    /// Other advice, which names nothing a front end would word differently.
    Text(String),
}

impl fmt::Display for Hint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Hint::SkipInvalid => f.write_str(
                "fix them, or set the skip_invalid option to import the valid records and \
                 report the others",
            ),
            Hint::CreateUser { user_id } => {
                write!(f, "create user {user_id:?} first (ensure_user)")
            }
            Hint::RegisterCube { user_id, cube_id } => write!(
                f,
                "register cube {cube_id:?} for user {user_id:?} first (ensure_cube, with a \
                 folder on the server holding the cube's config.json)"
            ),
            Hint::ImportLocalDocuments => f.write_str(
                "import the files from this machine instead (a Source::Documents import)",
            ),
            Hint::Text(text) => f.write_str(text),
        }
    }
}

impl LoadError {
    /// What to do about it, if the loader can tell.
    pub fn hint(&self) -> Option<Hint> {
        match self {
            LoadError::Malformed { .. } => {
                Some(Hint::Text("fix the file; nothing was sent".to_owned()))
            }
            LoadError::InvalidInput { .. } => Some(Hint::SkipInvalid),
            LoadError::UnsupportedRoles { .. } => Some(Hint::Text(format!(
                "give those messages one of the roles {} (or leave them out of the input); \
                 the /product API answers any other role with a 422 (`tool` needs a \
                 tool_call_id, which chat exports rarely carry)",
                crate::request::PRODUCT_ROLES.join(", ")
            ))),
            LoadError::Setup { hint, .. } => hint.clone(),
            LoadError::UnknownUser { user_id } => Some(Hint::CreateUser {
                user_id: user_id.clone(),
            }),
            LoadError::StoredNothing { .. } => Some(Hint::ImportLocalDocuments),
            LoadError::InputChanged { .. } => Some(Hint::Text(
                "import a copy that does not change while it is imported (files that only \
                 grow, such as logs, are fine: what is appended is left for a later import)"
                    .to_owned(),
            )),
            _ => None,
        }
    }

    /// The text without its hint: what failed and where.
    pub fn message(&self) -> String {
        match self {
            LoadError::Read { path, reason } => format!("cannot read {}: {reason}", path.display()),
            LoadError::Malformed { path, line, reason } => {
                format!("{}:{line}: {reason}", path.display())
            }
            LoadError::InvalidInput { count, first } => invalid_message(*count, first),
            LoadError::UnsupportedRoles { api, count, first } => {
                let mut out = format!(
                    "{count} message{} of the input ha{} a role the {api} API does not take; \
                     nothing was sent",
                    if *count == 1 { "" } else { "s" },
                    if *count == 1 { "s" } else { "ve" },
                );
                for record in first {
                    out.push_str(&format!("\n  {record}"));
                }
                if *count > first.len() as u64 {
                    out.push_str(&format!("\n  ... and {} more", count - first.len() as u64));
                }
                out
            }
            LoadError::Setup { what, source, .. } => format!("{what}: {source}"),
            LoadError::UnknownUser { user_id } => {
                format!("user {user_id:?} does not exist on the server")
            }
            LoadError::Conflict(message) => message.clone(),
            LoadError::Api(err) => err.to_string(),
            LoadError::Checkpoint { path, reason } => {
                format!("checkpoint {}: {reason}", path.display())
            }
            LoadError::StoredNothing { dir, before, after } => format!(
                "the server answered 200 to the doc_path import of {dir:?} but stored nothing \
                 (the cube held {before} memories before and {after} after); this is a known \
                 defect of the reference server's document reader (MemOS 2.0.10), whose error \
                 goes only to the server log"
            ),
            LoadError::Options(message) => format!("invalid option: {message}"),
            LoadError::InputChanged { path, reason } => {
                format!("{} changed during the import: {reason}", path.display())
            }
        }
    }
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message())?;
        if let Some(hint) = self.hint() {
            write!(f, "\n  hint: {hint}")?;
        }
        Ok(())
    }
}

impl std::error::Error for LoadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            LoadError::Setup { source, .. } => Some(source.as_ref()),
            // The client's error stands for this one (its text is this one's), so its cause
            // is this one's cause.
            LoadError::Api(err) => std::error::Error::source(err.as_ref()),
            _ => None,
        }
    }
}

impl From<memos_api::Error> for LoadError {
    fn from(err: memos_api::Error) -> Self {
        LoadError::Api(Box::new(err))
    }
}

fn invalid_message(count: u64, first: &[InvalidRecord]) -> String {
    let mut out = format!(
        "{count} invalid record{} in the input; nothing was sent",
        if count == 1 { "" } else { "s" }
    );
    for record in first {
        out.push_str(&format!("\n  {record}"));
    }
    if count > first.len() as u64 {
        out.push_str(&format!("\n  ... and {} more", count - first.len() as u64));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_is_the_message_then_the_hint_in_terms_of_options() {
        let err = LoadError::InvalidInput {
            count: 3,
            first: Vec::new(),
        };
        assert_eq!(err.hint(), Some(Hint::SkipInvalid));
        assert_eq!(
            err.to_string(),
            format!("{}\n  hint: {}", err.message(), Hint::SkipInvalid)
        );
        assert!(err.to_string().contains("skip_invalid"), "{err}");
        assert!(!err.to_string().contains("--"), "{err}");

        let err = LoadError::Options("the chunk size is 0".into());
        assert_eq!(err.hint(), None);
        assert_eq!(err.to_string(), err.message());
    }
}
