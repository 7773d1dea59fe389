//! The server's textual-memory storage backend, and how the run learned it.
//!
//! The same server version behaves differently per backend (the reference server's PUT,
//! single DELETE and list shape differ), and cubes registered from one directory share its
//! storage on every backend but `naive_text`, so both the known-defect list and the way
//! the suite keeps its cases apart depend on it.

use std::fmt;
use std::str::FromStr;

use schemars::JsonSchema;
use serde::Serialize;

/// A MemOS textual-memory backend (a cube `config.json`'s `text_mem.backend`).
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, JsonSchema, clap::ValueEnum,
)]
#[serde(rename_all = "snake_case")]
#[value(rename_all = "snake_case")]
pub enum Backend {
    /// Memories in memory, loaded per registration; lists are lists. The default.
    #[default]
    NaiveText,
    /// A vector store (Qdrant) in the cube directory; lists are lists.
    GeneralText,
    /// A graph database; lists are graphs of `nodes` and `edges`.
    TreeText,
}

impl Backend {
    /// Every backend, the default first.
    pub const ALL: [Backend; 3] = [Backend::NaiveText, Backend::GeneralText, Backend::TreeText];

    /// `naive_text`, `general_text` or `tree_text`.
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::NaiveText => "naive_text",
            Backend::GeneralText => "general_text",
            Backend::TreeText => "tree_text",
        }
    }

    /// Whether every cube registered from one directory uses that directory's storage,
    /// so that a case's cubes are apart only when they come from different directories
    /// (`general_text`'s embedded Qdrant even refuses a second registration while the
    /// first is loaded).
    pub fn shares_directory_storage(self) -> bool {
        self != Backend::NaiveText
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Backend {
    type Err = String;

    fn from_str(s: &str) -> Result<Backend, String> {
        Backend::ALL
            .into_iter()
            .find(|b| b.as_str() == s)
            .ok_or_else(|| {
                format!("unknown backend {s:?} (known: naive_text, general_text, tree_text)")
            })
    }
}

/// How the run came to know the backend.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum BackendSource {
    /// `--backend` named it.
    Option,
    /// The mock replays the snapshots recorded from a server with this backend.
    Mock,
    /// The server answered in a way only this backend does (the text says how).
    Detected(String),
    /// No cube was registered to learn it from, so the default was assumed.
    Assumed,
}

impl BackendSource {
    /// For people: how the backend was learned.
    pub fn describe(&self) -> String {
        match self {
            BackendSource::Option => "given with --backend".to_owned(),
            BackendSource::Mock => "the mock's snapshot set".to_owned(),
            BackendSource::Detected(how) => format!("detected: {how}"),
            BackendSource::Assumed => {
                "assumed: no cube of the run was listed to learn it from (pass --backend)"
                    .to_owned()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for b in Backend::ALL {
            assert_eq!(b.as_str().parse::<Backend>(), Ok(b));
            assert_eq!(b.to_string(), b.as_str());
        }
        assert!("qdrant".parse::<Backend>().is_err());
        assert!(!Backend::NaiveText.shares_directory_storage());
        assert!(Backend::TreeText.shares_directory_storage());
    }
}
