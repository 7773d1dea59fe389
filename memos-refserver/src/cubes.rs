//! The JSON the reference server needs (the `/configure` body, cube `config.json`)
//! and the directories handed to tests (cubes, documents, an empty dir).

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use crate::backend::{Backend, Storage};
use crate::error::Error;
use crate::fake_llm::{CHAT_MODEL, EMBEDDING_MODEL};
use crate::private;

/// The user `/configure` is called with. On an empty user DB MemOS also creates
/// `root` with role ROOT, so this user exists and is the "current user".
pub const CONFIGURE_USER: &str = "root";
/// The fixed `session_id` of the configure body (MemOS would otherwise pick a uuid4).
pub const CONFIGURE_SESSION: &str = "memos-refserver-session";
/// The API key sent to the fake LLM (it accepts anything).
const FAKE_API_KEY: &str = "fake-key";

/// The `chat_model`/`llm` factory config pointing at the fake LLM.
pub fn llm_config(fake_llm_url: &str) -> Value {
    json!({
        "backend": "openai",
        "config": {
            "model_name_or_path": CHAT_MODEL,
            "api_key": FAKE_API_KEY,
            "api_base": fake_llm_url
        }
    })
}

/// The `POST /configure` body (a full `MOSConfig`) that works offline.
///
/// A `mem_reader` is mandatory: without it every endpoint answers 400. The chunker's
/// `"character"` tokenizer avoids downloading GPT-2's tokenizer.
pub fn configure_body(fake_llm_url: &str, user_id: &str) -> Value {
    let storage = Storage::naive(fake_llm_url);
    configure_body_for(&storage, user_id)
}

/// The `POST /configure` body for a server whose cubes use `storage`'s backend. The
/// reader's embedder matters only where adds embed (general_text, tree_text): there it
/// is the Ollama-style one, as in the cubes, since `universal_api` fails inside the
/// server's event loop.
pub(crate) fn configure_body_for(storage: &Storage, user_id: &str) -> Value {
    let fake_llm_url = storage.fake_llm_url.as_str();
    let embedder = if storage.backend == Backend::NaiveText {
        json!({
            "backend": "universal_api",
            "config": {
                "provider": "openai",
                "api_key": FAKE_API_KEY,
                "base_url": fake_llm_url,
                "model_name_or_path": EMBEDDING_MODEL
            }
        })
    } else {
        storage.embedder()
    };
    json!({
        "user_id": user_id,
        "session_id": CONFIGURE_SESSION,
        "chat_model": llm_config(fake_llm_url),
        "mem_reader": {
            "backend": "simple_struct",
            "config": {
                "llm": llm_config(fake_llm_url),
                "embedder": embedder,
                "chunker": {
                    "backend": "sentence",
                    "config": {
                        "tokenizer_or_token_counter": "character",
                        "chunk_size": 512,
                        "chunk_overlap": 128
                    }
                }
            }
        },
        "top_k": 5,
        "enable_textual_memory": true,
        "enable_activation_memory": false
    })
}

/// A cube directory's `config.json`: a `naive_text` cube whose extractor is the fake LLM.
pub fn cube_config(fake_llm_url: &str, user_id: &str, cube_id: &str) -> Value {
    let storage = Storage::naive(fake_llm_url);
    cube_config_for(&storage, Path::new(""), user_id, cube_id)
}

/// A cube directory's `config.json` for any backend; the storage is named after `dir`.
pub(crate) fn cube_config_for(
    storage: &Storage,
    dir: &Path,
    user_id: &str,
    cube_id: &str,
) -> Value {
    json!({
        "model_schema": "memos.configs.mem_cube.GeneralMemCubeConfig",
        "user_id": user_id,
        "cube_id": cube_id,
        "text_mem": storage.text_mem(dir)
    })
}

/// The file a `naive_text` cube loads its seed memories from when it is registered.
pub const MEMORY_FILE: &str = "textual_memory.json";

/// Writes `<dir>/config.json` for a `naive_text` cube and an empty [`MEMORY_FILE`],
/// creating `dir`.
///
/// The empty memory file only spares the server log a misleading
/// `Directory not found` ERROR on every registration. Replace it with a JSON list of
/// memory items (`{"id": <uuid>, "memory": ..., "metadata": {...}}`) to seed a cube;
/// the server reads it once, when the cube is registered, and never writes it.
pub fn write_cube_dir(
    dir: &Path,
    fake_llm_url: &str,
    user_id: &str,
    cube_id: &str,
) -> Result<(), Error> {
    let storage = Storage::naive(fake_llm_url);
    write_cube_dir_for(&storage, dir, user_id, cube_id)
}

/// Writes `<dir>/config.json` for `storage`'s backend, creating `dir`; for `naive_text`
/// also an empty [`MEMORY_FILE`] (see [`write_cube_dir`]).
pub(crate) fn write_cube_dir_for(
    storage: &Storage,
    dir: &Path,
    user_id: &str,
    cube_id: &str,
) -> Result<(), Error> {
    private::create_dir_all(dir).map_err(|e| Error::io("creating a cube directory", dir, e))?;
    let path = dir.join("config.json");
    let config = cube_config_for(storage, dir, user_id, cube_id);
    let text = serde_json::to_string_pretty(&config)
        .map_err(|e| Error::io("serialising a cube config", &path, std::io::Error::other(e)))?;
    private::write(&path, text).map_err(|e| Error::io("writing a cube config", &path, e))?;
    if storage.backend != Backend::NaiveText {
        return Ok(());
    }
    let memories = dir.join(MEMORY_FILE);
    private::write(&memories, "[]\n")
        .map_err(|e| Error::io("writing an empty memory file", &memories, e))
}

/// The directories created under the server's temp root.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    pub cube_dirs: Vec<PathBuf>,
    pub docs_dir: PathBuf,
    pub empty_dir: PathBuf,
}

/// Documents for `doc_path` tests: a Markdown file, a text file and a nested one,
/// because the server walks the directory recursively.
const DOCS: &[(&str, &str)] = &[
    (
        "guide.md",
        "# Tea guide\n\nGreen tea is steeped at 80 degrees for two minutes.\n\nBlack tea is steeped at 95 degrees for four minutes.\n",
    ),
    ("facts.txt", "The capital of Norway is Oslo.\nOslo lies at the end of the Oslofjord.\n"),
    ("nested/notes.md", "# Notes\n\nThe reference server walks doc_path recursively.\n"),
];

/// Creates `cubes/cube-0..cube-{n-1}`, `docs/` and `empty-dir/` under `root`.
pub(crate) fn write_layout(
    root: &Path,
    storage: &Storage,
    cube_count: usize,
) -> Result<Layout, Error> {
    let mut cube_dirs = Vec::with_capacity(cube_count);
    for i in 0..cube_count {
        let id = format!("cube-{i}");
        let dir = root.join("cubes").join(&id);
        write_cube_dir_for(storage, &dir, CONFIGURE_USER, &id)?;
        cube_dirs.push(dir);
    }
    let docs_dir = root.join("docs");
    for (name, text) in DOCS {
        let path = docs_dir.join(name);
        if let Some(parent) = path.parent() {
            private::create_dir_all(parent)
                .map_err(|e| Error::io("creating the docs directory", parent, e))?;
        }
        private::write(&path, text).map_err(|e| Error::io("writing a document", &path, e))?;
    }
    let empty_dir = root.join("empty-dir");
    private::create_dir_all(&empty_dir)
        .map_err(|e| Error::io("creating the empty directory", &empty_dir, e))?;
    Ok(Layout {
        cube_dirs,
        docs_dir,
        empty_dir,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn layout_is_written() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let storage = Storage::naive("http://127.0.0.1:1/v1");
        let layout = write_layout(tmp.path(), &storage, 3).expect("layout");
        assert_eq!(layout.cube_dirs.len(), 3);
        let text = fs::read_to_string(layout.cube_dirs[2].join("config.json")).expect("config");
        let v: Value = serde_json::from_str(&text).expect("json");
        assert_eq!(v["cube_id"], "cube-2");
        assert_eq!(v["text_mem"]["backend"], "naive_text");
        assert!(layout.docs_dir.join("nested/notes.md").is_file());
        assert!(fs::read_dir(&layout.empty_dir)
            .expect("dir")
            .next()
            .is_none());
    }

    #[test]
    fn configure_body_has_a_mem_reader() {
        let body = configure_body("http://x/v1", "root");
        assert_eq!(body["mem_reader"]["backend"], "simple_struct");
        assert_eq!(body["chat_model"]["config"]["api_base"], "http://x/v1");
    }
}
