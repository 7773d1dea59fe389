//! The everyday commands: users, cubes, memories, search and chat, each one call (or two)
//! of the client, printed as a table or as JSON.

use memos_api::v1::types::{self, MemoryItem, MemoryList, UserRole};
use memos_api::v1::Client;
use memos_text::one_line;
use serde_json::json;

use crate::cli::{CubesCommand, Global, MemoriesCommand, Role, UsersCommand};
use crate::exit::{self, Failure};
use crate::output::{print_json, row, say, table, warn};

/// Prints a sentence for people, or `{"ok": true, ...}` for scripts.
pub(crate) fn done(global: &Global, sentence: String, value: serde_json::Value) {
    if global.json {
        print_json(&value);
    } else if !global.quiet {
        say(&sentence);
    }
}

pub async fn users(
    command: UsersCommand,
    client: &Client,
    global: &Global,
) -> Result<i32, Failure> {
    match command {
        UsersCommand::List => {
            let users = client.list_users().await?;
            if global.json {
                print_json(&users);
            } else {
                let mut t = table(&["USER", "NAME", "ROLE", "CREATED"]);
                for u in &users {
                    row(
                        &mut t,
                        [
                            u.user_id.clone(),
                            u.user_name.clone(),
                            u.role.to_string(),
                            u.created_at.clone(),
                        ],
                    );
                }
                say(&t.to_string());
            }
        }
        UsersCommand::Create {
            user_id,
            name,
            role,
        } => {
            let role = match role {
                Role::Root => UserRole::Root,
                Role::Admin => UserRole::Admin,
                Role::User => UserRole::User,
                Role::Guest => UserRole::Guest,
            };
            let user_name = name.unwrap_or_else(|| user_id.clone());
            let created = client
                .create_user(types::UserCreate {
                    user_id: user_id.clone(),
                    user_name: Some(user_name.clone()),
                    role,
                })
                .await?;
            // The server's duplicate rules answer 200 in cases where nothing was created.
            match created.user_id.as_deref() {
                Some(id) if id == user_id => done(
                    global,
                    format!("user {user_id:?} exists (created now or before)"),
                    json!({"user_id": user_id}),
                ),
                Some(other) => {
                    return Err(Failure::new(
                        exit::SERVER_ERROR,
                        format!(
                            "user {user_id:?} was not created: the name {user_name:?} belongs to user {other:?}\n  \
                             hint: pass another --name"
                        ),
                    ))
                }
                None => {
                    return Err(Failure::new(
                        exit::SERVER_ERROR,
                        format!(
                            "user {user_id:?} was not created: the id exists with another name\n  \
                             hint: see `memos users list`"
                        ),
                    ))
                }
            }
        }
    }
    Ok(exit::OK)
}

pub async fn cubes(
    command: CubesCommand,
    client: &Client,
    global: &Global,
) -> Result<i32, Failure> {
    match command {
        CubesCommand::Register {
            cube_id,
            path,
            user,
        } => {
            client
                .register_cube(types::MemCubeRegister {
                    mem_cube_id: Some(cube_id.clone()),
                    mem_cube_name_or_path: path.clone(),
                    user_id: user.clone(),
                })
                .await?;
            done(
                global,
                format!("cube {cube_id:?} is registered from {path:?}"),
                json!({"cube_id": cube_id, "path": path, "user_id": user}),
            );
        }
        CubesCommand::Unregister { cube_id, user } => {
            client.unregister_cube(&cube_id, user.as_deref()).await?;
            done(
                global,
                format!("cube {cube_id:?} is unregistered"),
                json!({"cube_id": cube_id}),
            );
        }
        CubesCommand::Share {
            cube_id,
            with,
            user,
        } => {
            let shared = client
                .share_cube(
                    &cube_id,
                    types::CubeShare {
                        target_user_id: with.clone(),
                        user_id: user,
                    },
                )
                .await;
            if let Err(err) = shared {
                let mut failure = Failure::from(err);
                // The reference server checks the cube id as a user id (a known defect).
                if failure.message.contains("does not exist or is inactive") {
                    failure.message.push_str(&format!(
                        "\n  note: the reference server's share endpoint is broken (MemOS 2.0.10); \
                         register the cube for the user instead: memos cubes register {cube_id} \
                         --path DIR --user {with}"
                    ));
                }
                return Err(failure);
            }
            done(
                global,
                format!("cube {cube_id:?} is shared with {with:?}"),
                json!({"cube_id": cube_id, "target_user_id": with}),
            );
        }
    }
    Ok(exit::OK)
}

/// Every cube's memories, whether listed as a list or as a `tree_text` graph.
fn items(list: MemoryList) -> Result<Vec<(String, MemoryItem)>, Failure> {
    let mut out = Vec::new();
    for cube in list.text_mem {
        let memories = cube.memories.items().map_err(|e| {
            Failure::new(
                exit::SERVER_ERROR,
                format!("the server's answer for cube {:?}: {e}", cube.cube_id),
            )
        })?;
        out.extend(memories.into_iter().map(|m| (cube.cube_id.clone(), m)));
    }
    Ok(out)
}

fn memory_table(rows: &[(String, MemoryItem)]) -> String {
    memory_table_of(rows.iter().map(|(cube, m)| MemoryRow {
        cube,
        id: &m.id,
        memory: &m.memory,
        source: m.metadata.source.as_deref(),
        updated_at: m.metadata.updated_at.as_deref(),
    }))
}

/// The cells of one memory in the table of `memories list` and `search`, whatever the API.
pub(crate) struct MemoryRow<'a> {
    pub cube: &'a str,
    pub id: &'a str,
    pub memory: &'a str,
    pub source: Option<&'a str>,
    pub updated_at: Option<&'a str>,
}

/// The table of `memories list` and `search`.
pub(crate) fn memory_table_of<'a>(rows: impl IntoIterator<Item = MemoryRow<'a>>) -> String {
    let mut t = table(&["CUBE", "ID", "MEMORY", "SOURCE", "UPDATED"]);
    for m in rows {
        row(
            &mut t,
            [
                m.cube.to_owned(),
                m.id.to_owned(),
                one_line(m.memory, 80),
                m.source.unwrap_or_default().to_owned(),
                m.updated_at.unwrap_or_default().to_owned(),
            ],
        );
    }
    t.to_string()
}

/// Whether `id` is a whole UUID (8-4-4-4-12 hex digits).
fn is_uuid(id: &str) -> bool {
    let parts: Vec<&str> = id.split('-').collect();
    parts.len() == 5
        && parts
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(p, n)| p.len() == n && p.chars().all(|c| c.is_ascii_hexdigit()))
}

pub async fn memories(
    command: MemoriesCommand,
    client: &Client,
    global: &Global,
) -> Result<i32, Failure> {
    match command {
        MemoriesCommand::List { cube, user } => {
            let list = client
                .list_memories(cube.as_deref(), user.as_deref())
                .await?;
            if global.json {
                print_json(&list);
            } else {
                let rows = items(list)?;
                say(&memory_table(&rows));
                if !global.quiet {
                    warn(&format!("{} memories", rows.len()));
                }
            }
        }
        MemoriesCommand::Get {
            cube_id,
            memory_id,
            user,
        } => {
            let memory = match client
                .get_memory(&cube_id, &memory_id, user.as_deref())
                .await
            {
                Ok(memory) => memory,
                // The reference server never answers GET one (a known defect): find the
                // memory in the cube's list instead. Other failures are reported as they are.
                Err(err) if err.status().is_some_and(|s| s.as_u16() == 400) => {
                    let list = client
                        .list_memories(Some(&cube_id), user.as_deref())
                        .await?;
                    items(list)?
                        .into_iter()
                        .map(|(_, m)| m)
                        .find(|m| m.id == memory_id)
                        .ok_or_else(|| {
                            Failure::new(
                                exit::SERVER_ERROR,
                                format!("cube {cube_id:?} has no memory with id {memory_id:?}\n  hint: see `memos memories list --cube {cube_id}`"),
                            )
                        })?
                }
                Err(err) => return Err(err.into()),
            };
            if global.json {
                print_json(&memory);
            } else {
                say(&format!(
                    "id:      {}\nsource:  {}\nupdated: {}\n\n{}",
                    one_line(&memory.id, 200),
                    one_line(&memory.metadata.source.clone().unwrap_or_default(), 200),
                    one_line(&memory.metadata.updated_at.clone().unwrap_or_default(), 200),
                    memory.memory
                ));
            }
        }
        MemoriesCommand::Delete {
            cube_id,
            memory_id,
            all,
            user,
        } => {
            if all {
                client
                    .delete_all_memories(&cube_id, user.as_deref())
                    .await?;
                done(
                    global,
                    format!("every memory of cube {cube_id:?} is deleted"),
                    json!({"cube_id": cube_id, "deleted": "all"}),
                );
            } else {
                let memory_id = memory_id.unwrap_or_default();
                // The reference server deletes every memory whose id *contains* the given
                // text, so a partial id could delete many.
                if !is_uuid(&memory_id) {
                    return Err(Failure::new(
                        exit::USAGE,
                        format!(
                            "{memory_id:?} is not a whole memory id (a UUID such as \
                             5f0c2a52-0d2e-4f57-9d8c-2b9f0e6f1a11); the server deletes every \
                             memory whose id contains the text given, so only whole ids are sent"
                        ),
                    ));
                }
                client
                    .delete_memory(&cube_id, &memory_id, user.as_deref())
                    .await?;
                done(
                    global,
                    format!("memory {memory_id} of cube {cube_id:?} is deleted (if it existed)"),
                    json!({"cube_id": cube_id, "deleted": memory_id}),
                );
            }
        }
    }
    Ok(exit::OK)
}

pub async fn search(
    query: String,
    user: Option<String>,
    cubes: Vec<String>,
    client: &Client,
    global: &Global,
) -> Result<i32, Failure> {
    let found = client
        .search_memories(types::SearchRequest {
            query,
            user_id: user,
            install_cube_ids: (!cubes.is_empty()).then_some(cubes),
        })
        .await?;
    if global.json {
        print_json(&found);
    } else {
        let rows = items(found)?;
        say(&memory_table(&rows));
    }
    Ok(exit::OK)
}

pub async fn chat(
    message: String,
    user: Option<String>,
    client: &Client,
    global: &Global,
) -> Result<i32, Failure> {
    let answer = client
        .chat(types::ChatRequest {
            query: message,
            user_id: user,
        })
        .await?;
    if global.json {
        print_json(&json!({ "answer": answer }));
    } else {
        say(&answer);
    }
    Ok(exit::OK)
}

#[cfg(test)]
mod tests {
    use super::is_uuid;

    #[test]
    fn only_whole_uuids_pass() {
        assert!(is_uuid("5f0c2a52-0d2e-4f57-9d8c-2b9f0e6f1a11"));
        assert!(!is_uuid("5f0c2a52"));
        assert!(!is_uuid("5f0c2a52-0d2e-4f57-9d8c-2b9f0e6f1a1g"));
        assert!(!is_uuid("5f0c2a52-0d2e-4f57-9d8c-2b9f0e6f1a115f0c2a52"));
    }
}
