//! What the `/product` server (MemoryOS 2.0.33, `memos.api.server_api:app`) needs to run
//! offline: its configuration, which it reads from the environment only, and a launcher
//! that maps its one start-up download to something built in.

use std::path::Path;

use serde_json::json;

use crate::backend::{PG_DATABASE, PG_USER};
use crate::fake_llm::{CHAT_MODEL, EMBEDDING_DIM, EMBEDDING_MODEL};
use crate::postgres::Login;

/// The launcher, written into the server's temp dir and run as
/// `python LAUNCHER PORT [--pgvector-caster]`.
///
/// * `api/config.py` hard-codes chonkie's `"gpt2"` tokenizer, which chonkie fetches from
///   the Hugging Face hub when the app is built; offline it is mapped to chonkie's
///   built-in `"word"` tokenizer (token counts only size the document chunks).
/// * `--pgvector-caster` registers a psycopg2 type caster for pgvector's `vector` on each
///   pooled connection. Unpatched, MemoryOS 2.0.33's `postgres` graph backend gets
///   embeddings back as text and `/product/search` finds nothing (a server defect); the
///   caster is off unless asked for, so the server runs as upstream ships it. A server
///   that has it says so in its own document, as `info.x-memos-reference-server-patches`
///   of `/openapi.json` ([`PATCHES_KEY`]), where a conformance run reads and names it.
pub(crate) const LAUNCHER: &str = r#"
import sys

import memos.chunkers.sentence_chunker as _sentence

_original_init = _sentence.SentenceChunker.__init__


def _offline_init(self, config):
    if config.tokenizer_or_token_counter == "gpt2":
        config = config.model_copy(update={"tokenizer_or_token_counter": "word"})
    _original_init(self, config)


_sentence.SentenceChunker.__init__ = _offline_init

if "--pgvector-caster" in sys.argv[2:]:
    import psycopg2.extensions
    from memos.graph_dbs import postgres as _postgres

    def _to_floats(value, _cursor):
        if value is None:
            return None
        inner = value.strip("[]")
        return [float(x) for x in inner.split(",")] if inner else []

    _original_get_conn = _postgres.PostgresGraphDB._get_conn
    _vector_type = []

    def _get_conn_with_caster(self):
        # Registering is a cheap in-memory step; psycopg2's connections take no
        # attributes to remember it by, so it is done on every checkout.
        conn = _original_get_conn(self)
        if not _vector_type:
            with conn.cursor() as cur:
                cur.execute("SELECT oid FROM pg_type WHERE typname = 'vector'")
                row = cur.fetchone()
            if row is None:
                return conn
            _vector_type.append(psycopg2.extensions.new_type((row[0],), "VECTOR", _to_floats))
        psycopg2.extensions.register_type(_vector_type[0], conn)
        return conn

    _postgres.PostgresGraphDB._get_conn = _get_conn_with_caster

    # The patched server is not the server as upstream ships it: its own document says so.
    from memos.api.server_api import app as _app

    _original_openapi = _app.openapi

    def _openapi_naming_the_patch():
        document = _original_openapi()
        document.setdefault("info", {})["x-memos-reference-server-patches"] = ["pgvector-caster"]
        return document

    _app.openapi = _openapi_naming_the_patch

import uvicorn

uvicorn.run("memos.api.server_api:app", host="127.0.0.1", port=int(sys.argv[1]))
"#;

/// The `info` key of `/openapi.json` under which a patched server lists its patches.
pub const PATCHES_KEY: &str = "x-memos-reference-server-patches";

/// The directory (in the temp dir) of `FILE_LOCAL_PATH`: uploaded files, also served at
/// `/download`.
pub(crate) const FILES_DIR: &str = "files";

/// The file name of [`LAUNCHER`] in the temp dir.
pub(crate) const LAUNCHER_FILE: &str = "memos_product_launcher.py";

/// The variable that gives the server the database's password; it is set apart from
/// [`environment`], whose values may be shown.
pub(crate) const PASSWORD_VAR: &str = "POSTGRES_PASSWORD";

/// The server's configuration but the password ([`PASSWORD_VAR`], from
/// `postgres.password`): the fake LLM for chat, the reader and embeddings, the private
/// PostgreSQL as graph store, chat on, the internet, Redis and the reranker model off, and
/// state under `temp_root`.
pub(crate) fn environment(
    fake_llm_url: &str,
    postgres: &Login,
    temp_root: &Path,
) -> Vec<(&'static str, String)> {
    let key = "sk-fake".to_string();
    let chat_models = json!([{
        "backend": "openai",
        "api_base": fake_llm_url,
        "api_key": key,
        "model_name_or_path": CHAT_MODEL,
        "support_models": [CHAT_MODEL]
    }]);
    vec![
        ("GRAPH_DB_BACKEND", "postgres".into()),
        ("POSTGRES_HOST", "127.0.0.1".into()),
        ("POSTGRES_PORT", postgres.port.to_string()),
        ("POSTGRES_USER", PG_USER.into()),
        ("POSTGRES_DB", PG_DATABASE.into()),
        ("OPENAI_API_BASE", fake_llm_url.into()),
        ("OPENAI_API_KEY", key.clone()),
        ("MOS_CHAT_MODEL", CHAT_MODEL.into()),
        ("MEMRADER_API_BASE", fake_llm_url.into()),
        ("MEMRADER_API_KEY", key.clone()),
        ("MEMRADER_MODEL", CHAT_MODEL.into()),
        ("MOS_EMBEDDER_BACKEND", "universal_api".into()),
        ("MOS_EMBEDDER_API_BASE", fake_llm_url.into()),
        ("MOS_EMBEDDER_API_KEY", key),
        ("MOS_EMBEDDER_MODEL", EMBEDDING_MODEL.into()),
        ("EMBEDDING_DIMENSION", EMBEDDING_DIM.to_string()),
        ("CHAT_MODEL_LIST", chat_models.to_string()),
        ("ENABLE_CHAT_API", "true".into()),
        ("ENABLE_INTERNET", "false".into()),
        ("MEMSCHEDULER_USE_REDIS_QUEUE", "false".into()),
        ("MOS_RERANKER_BACKEND", "cosine_local".into()),
        (
            "FILE_LOCAL_PATH",
            temp_root.join(FILES_DIR).to_string_lossy().into_owned(),
        ),
    ]
}
