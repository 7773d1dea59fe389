//! The everyday commands on the `/product` API (`--api product`, MemoryOS 2.0.33 and later):
//! the same commands and the same output as on v1 as far as the API allows, with the
//! server's known defects named where they change what a person sees.
//!
//! `users` and `cubes` have no routes there and are refused before anything is sent.

use memos_api::product;
use memos_api::product::types::{
    ChatRequest, CubeMemories, DeleteMemoryRequest, MemoryItem, SearchRequest,
};
use memos_text::one_line;
use serde_json::json;

use crate::commands::{done, memory_table_of, MemoryRow};
use crate::exit::{self, Failure};
use crate::output::{print_json, say, warn};

/// How many ids one `delete_memories` of `memories delete --all` sends.
const DELETE_BATCH: usize = 100;

/// The cube of this name the /product API finds memories by id in (the 2.0.33 defect).
const DEFAULT_CUBE: &str = "memos_default";

/// `memos users ...` on /product: there is nothing to call.
pub fn users_refused() -> Failure {
    Failure::new(
        exit::USAGE,
        "the /product API has no user routes, so `memos users` cannot be used with --api \
         product\n  hint: users are implicit there: any user id is taken as it is; pass it as \
         --user to memos load, memories, search or chat",
    )
}

/// `memos cubes ...` on /product: there is nothing to call.
pub fn cubes_refused() -> Failure {
    Failure::new(
        exit::USAGE,
        "the /product API has no routes to register, unregister or share cubes, so `memos \
         cubes` cannot be used with --api product\n  hint: a cube is created by the first \
         memory added to it (memos load ... --api product --cube CUBE); `memos --api product \
         memories list --cube CUBE` shows what it holds",
    )
}

/// A usage error for a value the /product API needs and v1 does not.
fn needs(command: &str, flag: &str, why: &str) -> Failure {
    Failure::new(
        exit::USAGE,
        format!("`memos {command}` with --api product needs {flag}: {why}"),
    )
}

/// The text memories of `cube` (the other buckets repeat them on 2.0.33).
async fn list(
    client: &product::Client,
    cube: &str,
    user: Option<&str>,
) -> Result<Vec<CubeMemories>, Failure> {
    Ok(client.get_text_memories(cube, user).await?)
}

fn rows(buckets: &[CubeMemories]) -> impl Iterator<Item = MemoryRow<'_>> {
    buckets.iter().flat_map(|bucket| {
        bucket.memories.iter().map(|m| MemoryRow {
            // `get_text_memories` lists only the asked cube's buckets, never a null cube.
            cube: bucket.cube_id.as_deref().unwrap_or_default(),
            id: &m.id,
            memory: &m.memory,
            source: m.metadata.source.as_deref(),
            updated_at: m.metadata.updated_at.as_deref(),
        })
    })
}

fn count(buckets: &[CubeMemories]) -> usize {
    buckets.iter().map(|bucket| bucket.memories.len()).sum()
}

/// The v1 shape of a list: `text_mem` (one entry per cube), and the empty `act_mem` and
/// `para_mem`.
fn list_json(text_mem: &[CubeMemories]) -> serde_json::Value {
    json!({"text_mem": text_mem, "act_mem": [], "para_mem": []})
}

pub async fn memories_list(
    cube: Option<String>,
    user: Option<String>,
    client: &product::Client,
    global: &crate::cli::Global,
) -> Result<i32, Failure> {
    let cube = cube.ok_or_else(|| {
        needs(
            "memories list",
            "--cube",
            "the /product API lists one named cube (it has no default cube of a user)",
        )
    })?;
    let text_mem = list(client, &cube, user.as_deref()).await?;
    if global.json {
        print_json(&list_json(&text_mem));
    } else {
        say(&memory_table_of(rows(&text_mem)));
        if !global.quiet {
            warn(&format!("{} memories", count(&text_mem)));
        }
    }
    Ok(exit::OK)
}

/// The failure of `memories get` for an id the server did not find.
fn not_found(cube: &str, id: &str) -> Failure {
    Failure::new(
        exit::SERVER_ERROR,
        format!(
            "the server found no memory with id {id:?}\n  hint: MemoryOS 2.0.33 finds by id only \
             the memories of its internal cube {DEFAULT_CUBE} (a known server defect), so a \
             memory of cube {cube:?} is not found this way; `memos --api product memories \
             list --cube {cube}` shows the memory"
        ),
    )
}

fn print_memory(memory: &MemoryItem, global: &crate::cli::Global) {
    if global.json {
        print_json(memory);
    } else {
        say(&format!(
            "id:      {}\nsource:  {}\nupdated: {}\n\n{}",
            one_line(&memory.id, 200),
            one_line(memory.metadata.source.as_deref().unwrap_or_default(), 200),
            one_line(
                memory.metadata.updated_at.as_deref().unwrap_or_default(),
                200
            ),
            memory.memory
        ));
    }
}

pub async fn memories_get(
    cube: String,
    id: String,
    client: &product::Client,
    global: &crate::cli::Global,
) -> Result<i32, Failure> {
    match client.get_memory(&id).await? {
        Some(memory) => print_memory(&memory, global),
        None => return Err(not_found(&cube, &id)),
    }
    Ok(exit::OK)
}

/// Deletes `ids` of `cube`, by id (the one selector 2.0.33 reports truthfully).
async fn delete_ids(client: &product::Client, cube: &str, ids: &[String]) -> Result<(), Failure> {
    client
        .delete_memories(DeleteMemoryRequest {
            memory_ids: Some(ids.to_vec()),
            writable_cube_ids: Some(vec![cube.to_owned()]),
            ..DeleteMemoryRequest::default()
        })
        .await?;
    Ok(())
}

pub async fn memories_delete(
    cube: String,
    id: Option<String>,
    all: bool,
    client: &product::Client,
    global: &crate::cli::Global,
) -> Result<i32, Failure> {
    if !all {
        let id = id.unwrap_or_default();
        delete_ids(client, &cube, std::slice::from_ref(&id)).await?;
        done(
            global,
            format!("memory {id} of cube {cube:?} is deleted (if it existed)"),
            json!({"cube_id": cube, "deleted": id}),
        );
        return Ok(exit::OK);
    }
    // Exactly the ids listed: a filter-mode delete deletes and then reports a failure on
    // 2.0.33, and would reach memories added after the list.
    let text_mem = list(client, &cube, None).await?;
    let ids: Vec<String> = text_mem
        .iter()
        .filter(|bucket| bucket.cube_id.as_deref() == Some(&*cube))
        .flat_map(|bucket| bucket.memories.iter().map(|m| m.id.clone()))
        .collect();
    let mut deleted = 0;
    for batch in ids.chunks(DELETE_BATCH) {
        if let Err(mut failure) = delete_ids(client, &cube, batch).await {
            failure.message = format!(
                "{} of the {} memories of cube {cube:?} were deleted, then: {}",
                deleted,
                ids.len(),
                failure.message
            );
            return Err(failure);
        }
        deleted += batch.len();
    }
    done(
        global,
        format!("{deleted} memories of cube {cube:?} are deleted"),
        json!({"cube_id": cube, "deleted": deleted}),
    );
    Ok(exit::OK)
}

pub async fn search(
    query: String,
    user: Option<String>,
    cubes: Vec<String>,
    client: &product::Client,
    global: &crate::cli::Global,
) -> Result<i32, Failure> {
    let user = user.ok_or_else(|| {
        needs(
            "search",
            "--user",
            "the /product API searches as a named user",
        )
    })?;
    if cubes.is_empty() {
        return Err(needs(
            "search",
            "--cube CUBE (repeatable)",
            "the /product API searches the cubes named",
        ));
    }
    let request = SearchRequest::builder()
        .query(query)
        .user_id(user)
        .readable_cube_ids(Some(cubes));
    let found = client.search_memories(request).await?;
    let total = count(&found.text_mem);
    if global.json {
        print_json(&found);
    } else {
        say(&memory_table_of(rows(&found.text_mem)));
    }
    if total == 0 && !global.quiet {
        warn(
            "note: MemoryOS 2.0.33 on PostgreSQL finds nothing (a known server defect); \
             `memos --api product memories list --cube CUBE` lists a cube's memories",
        );
    }
    Ok(exit::OK)
}

pub async fn chat(
    message: String,
    user: Option<String>,
    cube: Option<String>,
    client: &product::Client,
    global: &crate::cli::Global,
) -> Result<i32, Failure> {
    let user =
        user.ok_or_else(|| needs("chat", "--user", "the /product API chats as a named user"))?;
    let cubes = cube.map(|cube| vec![cube]);
    let request = ChatRequest::builder()
        .query(message)
        .user_id(user)
        .readable_cube_ids(cubes.clone())
        .writable_cube_ids(cubes);
    let answer = match client.chat_complete(request).await {
        Ok(answer) => answer,
        Err(err) if err.status().is_some_and(|s| s.as_u16() == 503) => {
            let mut failure = Failure::from(err);
            failure.message.push_str(
                "\n  hint: chat is off on this server: it answers chat only when it runs with \
                 ENABLE_CHAT_API=true",
            );
            return Err(failure);
        }
        Err(err) => return Err(err.into()),
    };
    if global.json {
        let mut value = json!({ "answer": answer.response });
        if let Some(reasoning) = answer.reasoning.filter(|r| !r.is_empty()) {
            value["reasoning"] = json!(reasoning);
        }
        print_json(&value);
    } else {
        say(&answer.response);
    }
    Ok(exit::OK)
}
