//! The storage backends a cube's textual memory can use, and the `text_mem` config of each.

use std::fmt;
use std::path::Path;
use std::str::FromStr;

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::cubes::llm_config;
use crate::fake_llm::{EMBEDDING_DIM, EMBEDDING_MODEL};
use crate::postgres::Login;

/// A cube's textual memory backend (`text_mem.backend` in its `config.json`).
///
/// All three run offline on loopback: `naive_text` in the server's memory,
/// `general_text` in an embedded Qdrant (files in the cube directory), `tree_text` in a
/// private PostgreSQL with pgvector that the reference server starts beside MemOS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Backend {
    /// An in-process list; nothing is stored on disk (the default).
    #[default]
    NaiveText,
    /// Vectors in Qdrant (embedded mode, under `<cube dir>/qdrant`), embedded by the fake
    /// LLM's Ollama-style `/api/embed`.
    GeneralText,
    /// A memory graph in PostgreSQL + pgvector (memos' `postgres` graph backend).
    TreeText,
}

impl Backend {
    /// Every backend, in the order of their names.
    pub const ALL: [Backend; 3] = [Backend::NaiveText, Backend::GeneralText, Backend::TreeText];

    /// The name MemOS uses: `naive_text`, `general_text` or `tree_text`.
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::NaiveText => "naive_text",
            Backend::GeneralText => "general_text",
            Backend::TreeText => "tree_text",
        }
    }

    /// Whether this backend needs the private PostgreSQL.
    pub(crate) fn needs_postgres(self) -> bool {
        self == Backend::TreeText
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error of parsing an unknown backend name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown storage backend `{0}`: expected naive_text, general_text or tree_text")]
pub struct UnknownBackend(String);

impl FromStr for Backend {
    type Err = UnknownBackend;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Backend::ALL
            .into_iter()
            .find(|b| b.as_str() == s)
            .ok_or_else(|| UnknownBackend(s.to_string()))
    }
}

/// Where a cube's storage lives, besides the cube directory itself.
#[derive(Debug, Clone)]
pub(crate) struct Storage {
    pub backend: Backend,
    /// The fake LLM's OpenAI-style base URL (`http://127.0.0.1:PORT/v1`).
    pub fake_llm_url: String,
    /// The private PostgreSQL's port and password (tree_text only).
    pub postgres: Option<Login>,
}

/// PostgreSQL account and database of the private server (password auth, loopback only).
pub(crate) const PG_USER: &str = "memos";
pub(crate) const PG_DATABASE: &str = "memos";

impl Storage {
    /// In-memory `naive_text` storage (nothing but the fake LLM).
    pub fn naive(fake_llm_url: &str) -> Storage {
        Storage {
            backend: Backend::NaiveText,
            fake_llm_url: fake_llm_url.to_string(),
            postgres: None,
        }
    }

    /// The Ollama-style embedder config: the fake LLM answers `/api/embed` and
    /// `/api/tags` at its root (the `universal_api` embedder would call `asyncio.run()`
    /// inside the server's event loop and fail every add).
    pub fn embedder(&self) -> Value {
        let root = self
            .fake_llm_url
            .strip_suffix("/v1")
            .unwrap_or(&self.fake_llm_url);
        json!({
            "backend": "ollama",
            "config": {"model_name_or_path": EMBEDDING_MODEL, "api_base": root}
        })
    }

    /// The cube's `text_mem` value. Storage names derive from the directory, so each
    /// directory has its own storage and every cube registered from it shares that.
    /// For `tree_text` it holds the database's password: write it to private files only.
    pub fn text_mem(&self, dir: &Path) -> Value {
        let llm = llm_config(&self.fake_llm_url);
        let config = match self.backend {
            Backend::NaiveText => json!({"extractor_llm": llm}),
            Backend::GeneralText => json!({
                "extractor_llm": llm,
                "embedder": self.embedder(),
                "vector_db": {"backend": "qdrant", "config": {
                    "collection_name": storage_name(dir),
                    "vector_dimension": EMBEDDING_DIM,
                    "distance_metric": "cosine",
                    "path": dir.join("qdrant"),
                }}
            }),
            Backend::TreeText => {
                let (port, password) = self
                    .postgres
                    .as_ref()
                    .map(|login| (login.port, login.password.expose()))
                    .unwrap_or_default();
                json!({
                "extractor_llm": llm,
                "dispatcher_llm": llm,
                "embedder": self.embedder(),
                "reorganize": false,
                "graph_db": {"backend": "postgres", "config": {
                    "host": "127.0.0.1",
                    "port": port,
                    "user": PG_USER,
                    "password": password,
                    "db_name": PG_DATABASE,
                    "schema_name": storage_name(dir),
                    "user_name": storage_name(dir),
                    "embedding_dimension": EMBEDDING_DIM,
                }}
                })
            }
        };
        json!({"backend": self.backend.as_str(), "config": config})
    }
}

/// A name for a directory's storage that is a plain SQL identifier and a Qdrant
/// collection name: `m` and 16 hex digits of the path's hash (memos puts the schema name
/// into SQL unquoted, so a cube id such as `cube-0` would not do).
fn storage_name(dir: &Path) -> String {
    let digest = Sha256::digest(dir.as_os_str().as_encoded_bytes());
    let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("m{hex}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::postgres::Password;

    #[test]
    fn names_round_trip() {
        for b in Backend::ALL {
            assert_eq!(b.as_str().parse::<Backend>(), Ok(b));
            assert_eq!(b.to_string(), b.as_str());
        }
        let err = "neo4j".parse::<Backend>().unwrap_err().to_string();
        assert!(
            err.contains("`neo4j`") && err.contains("tree_text"),
            "{err}"
        );
    }

    #[test]
    fn storage_names_are_identifiers_and_differ_per_directory() {
        let a = storage_name(Path::new("/tmp/x/cube-0"));
        let b = storage_name(Path::new("/tmp/x/cube-1"));
        assert_ne!(a, b);
        assert!(a.len() == 17 && a.starts_with('m'));
        assert!(a
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()));
    }

    #[test]
    fn tree_text_points_at_the_private_postgres() {
        let password = Password::generate().expect("a password");
        let storage = Storage {
            backend: Backend::TreeText,
            fake_llm_url: "http://127.0.0.1:7/v1".into(),
            postgres: Some(Login {
                port: 5555,
                password: password.clone(),
            }),
        };
        let v = storage.text_mem(Path::new("/d"));
        assert_eq!(v["backend"], "tree_text");
        assert_eq!(v["config"]["graph_db"]["config"]["port"], 5555);
        assert_eq!(
            v["config"]["graph_db"]["config"]["password"],
            password.expose()
        );
        assert!(
            !format!("{storage:?}").contains(password.expose()),
            "Debug shows no password"
        );
        assert_eq!(
            v["config"]["embedder"]["config"]["api_base"],
            "http://127.0.0.1:7"
        );
    }
}
