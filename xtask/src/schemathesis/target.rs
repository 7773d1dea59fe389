//! What `cargo xtask schemathesis` runs for each API: the spec, the schemathesis settings,
//! the expected findings, the phases, and the state seeded before the run.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use memos_refserver::{Api, ReferenceServer, StartOptions};

/// Environment variable through which the product hooks learn the directory that generated
/// paths are pointed at (see `xtask/schemathesis/product_hooks.py`).
pub const SANDBOX_ENV: &str = "MEMOS_SCHEMATHESIS_SANDBOX";

/// Environment variable that names the spec to the hooks, whose event check reads the
/// `x-event-schema` of stream responses from it.
pub const SPEC_ENV: &str = "MEMOS_SCHEMATHESIS_SPEC";

/// The files and phases of one API's run, relative to the workspace root.
#[derive(Debug, Clone)]
pub struct Target {
    /// The spec schemathesis reads.
    pub spec: &'static str,
    /// The schemathesis config file.
    pub config: &'static str,
    /// The expected findings.
    pub expected: &'static str,
    /// A schemathesis hooks file, if the run needs one.
    pub hooks: Option<&'static str>,
    /// Named phases, run in order, each with its operation filters.
    pub phases: &'static [(&'static str, &'static [&'static str])],
}

/// The v1 run.
///
/// `/configure` is left out: it replaces the server's global configuration (it would
/// unload every cube and point the chat model at generated URLs), and its body is a deep
/// polymorphic config that the spec models as open objects. The conformance suite covers
/// it. Unregistering unloads the seeded cube, after which most operations hit the
/// unloaded-cube defect; it runs last, on its own.
const V1: Target = Target {
    spec: "openapi/memos.yaml",
    config: "openapi/schemathesis.toml",
    expected: "openapi/schemathesis-expected.yaml",
    hooks: None,
    phases: &[
        (
            "operations",
            &[
                "--exclude-operation-id",
                "configure",
                "--exclude-operation-id",
                "unregister_cube",
            ],
        ),
        ("unregister", &["--include-operation-id", "unregister_cube"]),
    ],
};

/// The `/product` run, against the server as shipped (no pgvector caster).
///
/// Deleting by `user_id`, `session_id` or `filter` can empty the seeded cube, so
/// `delete_memories` runs last, on its own, and the reads before it see the seeded memory.
/// The stateful phase is left out: it chains adds and reads for minutes (252 s of a 348 s
/// run) and found nothing the other phases do not.
/// The hooks keep every generated path and URL inside the server's temp dir or on a dead
/// loopback port (the server reads local files named in `doc_path` and in file parts).
const PRODUCT: Target = Target {
    spec: "openapi/memos-product.yaml",
    config: "openapi/schemathesis-product.toml",
    expected: "openapi/schemathesis-expected-product.yaml",
    hooks: Some("xtask/schemathesis/product_hooks.py"),
    phases: &[
        (
            "operations",
            &[
                "--exclude-operation-id",
                "delete_memories",
                "--phases",
                "examples,coverage,fuzzing",
            ],
        ),
        (
            "delete",
            &[
                "--include-operation-id",
                "delete_memories",
                "--phases",
                "examples,coverage,fuzzing",
            ],
        ),
    ],
};

/// The run of `api`.
pub fn target(api: Api) -> &'static Target {
    match api {
        Api::V1 => &V1,
        Api::Product => &PRODUCT,
    }
}

/// How to start the reference server for `api`: as shipped, with default settings.
pub fn start_options(api: Api) -> StartOptions {
    StartOptions {
        api,
        ..StartOptions::default()
    }
}

/// Creates what the API's schemathesis config names; returns the sandbox directory the
/// hooks point generated paths at, when the API has one.
pub async fn seed(api: Api, server: &ReferenceServer) -> Result<Option<PathBuf>> {
    match api {
        Api::V1 => {
            seed_v1(server).await?;
            Ok(None)
        }
        Api::Product => {
            let sandbox = sandbox(server.temp_root())?;
            post_all(server, &product_steps()).await?;
            Ok(Some(sandbox))
        }
    }
}

/// The identities of `openapi/schemathesis.toml`: user `alice` with the loaded cube `notes`
/// holding one memory.
async fn seed_v1(server: &ReferenceServer) -> Result<()> {
    let cube_dir = server
        .cube_dirs()
        .first()
        .context("the reference server wrote no cube directory")?
        .display()
        .to_string();
    let steps = [
        (
            "/users",
            serde_json::json!({"user_id": "alice", "role": "USER"}),
        ),
        (
            "/mem_cubes",
            serde_json::json!({"user_id": "alice", "mem_cube_id": "notes", "mem_cube_name_or_path": cube_dir}),
        ),
        (
            "/memories",
            serde_json::json!({"user_id": "alice", "mem_cube_id": "notes", "memory_content": "I moved to Lisbon in March."}),
        ),
    ];
    post_all(server, &steps).await
}

/// The state of `openapi/schemathesis-product.toml`: one memory of user `alice` in cube
/// `alice-notes`, stored synchronously so that it is there when the run starts. No user or
/// cube needs creating (cube ids are free-form on this server).
fn product_steps() -> [(&'static str, serde_json::Value); 1] {
    [(
        "/product/add",
        serde_json::json!({
            "user_id": "alice",
            "writable_cube_ids": ["alice-notes"],
            "async_mode": "sync",
            "mode": "fast",
            "messages": "I moved to Lisbon in March."
        }),
    )]
}

/// A directory inside the server's temp dir, holding one small text file, that the hooks
/// substitute for every generated path.
fn sandbox(temp_root: &Path) -> Result<PathBuf> {
    let dir = temp_root.join("schemathesis-sandbox");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let note = dir.join("note.txt");
    std::fs::write(&note, "I moved to Lisbon in March.\n")
        .with_context(|| format!("writing {}", note.display()))?;
    Ok(dir)
}

async fn post_all(server: &ReferenceServer, steps: &[(&str, serde_json::Value)]) -> Result<()> {
    let http = reqwest::Client::builder()
        .no_proxy()
        .build()
        .context("building an HTTP client")?;
    let base = server.base_url();
    for (path, body) in steps {
        let response = http
            .post(format!("{base}{path}"))
            .json(body)
            .send()
            .await
            .with_context(|| format!("seeding: POST {path}"))?;
        if !response.status().is_success() {
            let status = response.status();
            let text = response.text().await.unwrap_or_default();
            bail!("seeding: POST {path} answered {status}: {text}");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_a_target_names_is_in_the_repository() {
        let root = memos_refserver::workspace_root();
        for api in Api::ALL {
            let target = target(api);
            let files = [target.spec, target.config, target.expected]
                .into_iter()
                .chain(target.hooks);
            for file in files {
                assert!(root.join(file).is_file(), "{api}: {file} is missing");
            }
        }
    }

    #[test]
    fn the_sandbox_is_inside_the_given_dir() {
        let temp = tempfile::tempdir().unwrap();
        let dir = sandbox(temp.path()).unwrap();
        assert!(dir.starts_with(temp.path()));
        assert!(dir.join("note.txt").is_file());
    }
}
