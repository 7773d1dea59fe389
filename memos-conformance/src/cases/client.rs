//! Each operation through the typed `memos_api::v1::Client`: the client still matches the
//! real server when it sends what the server accepts and decodes what it answers into
//! the expected typed values. Its exchanges go through a recording proxy, so they get
//! the same checks and snapshots as the suite's own.

use memos_api::v1::types;
use serde_json::Value;

use super::definition::{case, Case};
use crate::context::{fail, CaseResult, Ctx, Listed, Stop, Verdict, DELETE_ALL_NEEDS};

pub(super) fn cases() -> Vec<Case> {
    vec![
        case!(
            "client",
            configure,
            "memos_api::Client::configure applies the --configure-body MOSConfig"
        ),
        case!(
            "client",
            create_user,
            "memos_api::Client::create_user returns the new id, and the user is listed typed"
        ),
        case!(
            "client",
            list_users,
            "memos_api::Client::list_users decodes the list into typed users"
        ),
        case!(
            "client",
            get_current_user,
            "memos_api::Client::get_current_user decodes the current user"
        ),
        case!(
            "client",
            register_cube,
            "memos_api::Client::register_cube registers a cube that then lists typed"
        ),
        case!(
            "client",
            unregister_cube,
            "memos_api::Client::unregister_cube unloads a registered cube"
        ),
        case!(
            "client",
            share_cube,
            "memos_api::Client::share_cube gives the target user access"
        ),
        case!(
            "client",
            add_memories,
            "memos_api::Client::add_memories stores messages that then list typed"
        ),
        case!(
            "client",
            list_memories,
            "memos_api::Client::list_memories decodes one cube's typed memories"
        ),
        case!(
            "client",
            get_memory,
            "memos_api::Client::get_memory returns the typed memory for a listed id"
        ),
        case!(
            "client",
            update_memory,
            "memos_api::Client::update_memory changes the text read back typed"
        ),
        case!(
            "client",
            delete_memory,
            "memos_api::Client::delete_memory removes the memory from the typed list"
        ),
        case!(
            "client",
            delete_all_memories,
            "memos_api::Client::delete_all_memories empties the cube"
        ),
        case!(
            "client",
            search_memories,
            "memos_api::Client::search_memories decodes typed results holding the match"
        ),
        case!(
            "client",
            chat,
            "memos_api::Client::chat returns the answer as a non-empty string"
        ),
    ]
}

fn api(op: &'static str) -> impl Fn(memos_api::Error) -> Stop {
    move |e| {
        Stop::Fail(format!(
            "memos_api::Client::{op}: {}",
            memos_text::with_causes(&e)
        ))
    }
}

async fn typed_user(ctx: &Ctx, client: &memos_api::v1::Client, name: &str) -> Result<String, Stop> {
    let id = ctx.user(name);
    let created = client
        .create_user(
            types::UserCreate::builder()
                .user_id(id.clone())
                .role(types::UserRole::User),
        )
        .await
        .map_err(api("create_user"))?;
    if created.user_id.as_deref() != Some(id.as_str()) {
        return fail(format!(
            "create_user returned user_id {:?}, expected {id:?}",
            created.user_id
        ));
    }
    Ok(id)
}

async fn typed_cube(
    ctx: &Ctx,
    client: &memos_api::v1::Client,
    user: &str,
    name: &str,
) -> Result<String, Stop> {
    let path = ctx.cube_path_for_new_cube()?;
    let id = ctx.cube(name);
    let registered = client
        .register_cube(
            types::MemCubeRegister::builder()
                .mem_cube_name_or_path(path.clone())
                .mem_cube_id(id.clone())
                .user_id(user.to_owned()),
        )
        .await;
    if let Err(e) = &registered {
        ctx.refuse_storage_in_use(&path, &e.to_string())?;
    }
    registered.map_err(api("register_cube"))?;
    ctx.track_cube_from(&id, user, &path);
    ctx.prove_storage(user, &id).await?;
    Ok(id)
}

async fn typed_add(
    client: &memos_api::v1::Client,
    user: &str,
    cube: &str,
    text: &str,
) -> Result<(), Stop> {
    client
        .add_memories(
            types::MemoryCreate::builder()
                .user_id(user.to_owned())
                .mem_cube_id(cube.to_owned())
                .memory_content(text.to_owned()),
        )
        .await
        .map_err(api("add_memories"))
}

/// The memories of `cube`, as `list_memories` decodes them.
async fn typed_list(
    client: &memos_api::v1::Client,
    user: &str,
    cube: &str,
) -> Result<Vec<Listed>, Stop> {
    let list = client
        .list_memories(Some(cube), Some(user))
        .await
        .map_err(api("list_memories"))?;
    memories_of(&list, cube)
}

/// The memories of `cube` in a typed list, in either shape: typed items of a list, or
/// the nodes of a `tree_text` graph (which the spec leaves free-form), each of which must
/// carry a string `id` and `memory`.
fn memories_of(list: &types::MemoryList, cube: &str) -> Result<Vec<Listed>, Stop> {
    let Some(entry) = list.text_mem.iter().find(|e| e.cube_id == cube) else {
        return fail(format!(
            "the typed MemoryList has no text_mem entry for cube {cube}"
        ));
    };
    match &entry.memories {
        types::MemoryCollection::Array(items) => Ok(items
            .iter()
            .map(|m| Listed {
                id: m.id.clone(),
                memory: m.memory.clone(),
            })
            .collect()),
        types::MemoryCollection::MemoryGraph(graph) => graph
            .nodes
            .iter()
            .enumerate()
            .map(|(i, node)| {
                let text = |key: &str| node.get(key).and_then(Value::as_str).map(str::to_owned);
                match (text("id"), text("memory")) {
                    (Some(id), Some(memory)) => Ok(Listed { id, memory }),
                    _ => fail(format!(
                        "node {i} of cube {cube}'s typed memory graph has no string id and memory"
                    )),
                }
            })
            .collect(),
    }
}

/// A user, a cube and one memory, all through the client; returns the memory's id.
async fn typed_setup(
    ctx: &Ctx,
    client: &memos_api::v1::Client,
    text: &str,
) -> Result<(String, String, String), Stop> {
    let user = typed_user(ctx, client, "owner").await?;
    let cube = typed_cube(ctx, client, &user, "main").await?;
    typed_add(client, &user, &cube, text).await?;
    let items = typed_list(client, &user, &cube).await?;
    match items.iter().find(|m| m.memory.contains(text)) {
        Some(m) => Ok((user, cube, m.id.clone())),
        None => fail(format!(
            "the added memory {text:?} is not in the typed list"
        )),
    }
}

async fn configure(ctx: &mut Ctx) -> CaseResult {
    ctx.require_allow_configure()?;
    let Some(body) = ctx.settings().configure_body.clone() else {
        return Err(Stop::Skip(
            "needs the server's configuration to apply: pass --configure-body FILE".into(),
        ));
    };
    let config: types::MosConfig = serde_json::from_value(body.clone()).map_err(|e| {
        Stop::Fail(format!(
            "the --configure-body is not a MosConfig of the spec: {e}"
        ))
    })?;
    let client = ctx.typed_client().await?;
    let applied = client.configure(config).await;
    ctx.forget_all_cubes();
    applied.map_err(api("configure"))?;
    let me = client
        .get_current_user()
        .await
        .map_err(api("get_current_user"))?;
    match body.get("user_id").and_then(Value::as_str) {
        Some(expected) if me.user_id != expected => fail(format!(
            "after configure with user_id {expected:?} the current user is {:?}",
            me.user_id
        )),
        _ => Ok(Verdict::Pass),
    }
}

async fn create_user(ctx: &mut Ctx) -> CaseResult {
    let client = ctx.typed_client().await?;
    let id = typed_user(ctx, &client, "alice").await?;
    let users = client.list_users().await.map_err(api("list_users"))?;
    match users.iter().find(|u| u.user_id == id) {
        Some(u) if u.role == types::UserRole::User => Ok(Verdict::Pass),
        Some(u) => fail(format!("the new user is listed with role {}", u.role)),
        None => fail(format!("list_users does not return the new user {id}")),
    }
}

async fn list_users(ctx: &mut Ctx) -> CaseResult {
    let client = ctx.typed_client().await?;
    let id = typed_user(ctx, &client, "listed").await?;
    let users = client.list_users().await.map_err(api("list_users"))?;
    match users.iter().find(|u| u.user_id == id) {
        Some(u) if u.is_active && u.user_name == id => Ok(Verdict::Pass),
        Some(u) => fail(format!(
            "the user is listed with user_name {:?} and is_active {}; expected {id:?} and true",
            u.user_name, u.is_active
        )),
        None => fail(format!("list_users does not return {id}")),
    }
}

async fn get_current_user(ctx: &mut Ctx) -> CaseResult {
    let client = ctx.typed_client().await?;
    let me = client
        .get_current_user()
        .await
        .map_err(api("get_current_user"))?;
    if me.user_id.is_empty() {
        return fail("get_current_user returned an empty user_id");
    }
    Ok(Verdict::Pass)
}

async fn register_cube(ctx: &mut Ctx) -> CaseResult {
    let client = ctx.typed_client().await?;
    let user = typed_user(ctx, &client, "owner").await?;
    let cube = typed_cube(ctx, &client, &user, "main").await?;
    typed_list(&client, &user, &cube).await?;
    Ok(Verdict::Pass)
}

async fn unregister_cube(ctx: &mut Ctx) -> CaseResult {
    let client = ctx.typed_client().await?;
    let user = typed_user(ctx, &client, "owner").await?;
    let cube = typed_cube(ctx, &client, &user, "main").await?;
    client
        .unregister_cube(&cube, Some(&user))
        .await
        .map_err(api("unregister_cube"))?;
    ctx.forget_cube(&cube);
    Ok(Verdict::Pass)
}

async fn share_cube(ctx: &mut Ctx) -> CaseResult {
    let client = ctx.typed_client().await?;
    let alice = typed_user(ctx, &client, "alice").await?;
    let cube = typed_cube(ctx, &client, &alice, "main").await?;
    typed_add(&client, &alice, &cube, "Shared through the typed client.").await?;
    let bob = typed_user(ctx, &client, "bob").await?;
    client
        .share_cube(
            &cube,
            types::CubeShare::builder()
                .target_user_id(bob.clone())
                .user_id(alice.clone()),
        )
        .await
        .map_err(api("share_cube"))?;
    let items = typed_list(&client, &bob, &cube).await?;
    if items.iter().any(|m| m.memory.contains("Shared through")) {
        Ok(Verdict::Pass)
    } else {
        fail("bob's typed list of the shared cube lacks alice's memory")
    }
}

async fn add_memories(ctx: &mut Ctx) -> CaseResult {
    let client = ctx.typed_client().await?;
    let user = typed_user(ctx, &client, "owner").await?;
    let cube = typed_cube(ctx, &client, &user, "main").await?;
    client
        .add_memories(
            types::MemoryCreate::builder()
                .user_id(user.clone())
                .mem_cube_id(cube.clone())
                .messages(vec![
                    types::Message {
                        role: "user".into(),
                        content: "I moved to Lisbon in March.".into(),
                    },
                    types::Message {
                        role: "assistant".into(),
                        content: "Noted, you live in Lisbon now.".into(),
                    },
                ]),
        )
        .await
        .map_err(api("add_memories"))?;
    let items = typed_list(&client, &user, &cube).await?;
    if items.iter().any(|m| m.memory.contains("Lisbon")) {
        Ok(Verdict::Pass)
    } else {
        fail("the typed list lacks the added messages")
    }
}

async fn list_memories(ctx: &mut Ctx) -> CaseResult {
    let client = ctx.typed_client().await?;
    let (user, cube, id) = typed_setup(ctx, &client, "Typed list memory.").await?;
    let list = client
        .list_memories(Some(&cube), Some(&user))
        .await
        .map_err(api("list_memories"))?;
    if list.text_mem.len() != 1 {
        return fail(format!(
            "text_mem has {} entries; expected exactly one",
            list.text_mem.len()
        ));
    }
    let items = memories_of(&list, &cube)?;
    if items.iter().any(|m| m.id == id) {
        Ok(Verdict::Pass)
    } else {
        fail("the typed list lacks the memory")
    }
}

async fn get_memory(ctx: &mut Ctx) -> CaseResult {
    let client = ctx.typed_client().await?;
    let text = "Typed get memory.";
    let (user, cube, id) = typed_setup(ctx, &client, text).await?;
    let item = client
        .get_memory(&cube, &id, Some(&user))
        .await
        .map_err(api("get_memory"))?;
    if item.id == id && item.memory == text {
        Ok(Verdict::Pass)
    } else {
        fail(format!(
            "get_memory returned {:?} / {:?}; expected {id:?} / {text:?}",
            item.id, item.memory
        ))
    }
}

async fn update_memory(ctx: &mut Ctx) -> CaseResult {
    let client = ctx.typed_client().await?;
    let (user, cube, id) = typed_setup(ctx, &client, "Typed memory before the update.").await?;
    client
        .update_memory(
            &cube,
            &id,
            Some(&user),
            types::MemoryUpdate::builder()
                .memory_content("Typed memory after the update.".to_owned()),
        )
        .await
        .map_err(api("update_memory"))?;
    let items = typed_list(&client, &user, &cube).await?;
    match items.iter().find(|m| m.id == id) {
        Some(m) if m.memory == "Typed memory after the update." => Ok(Verdict::Pass),
        Some(m) => fail(format!(
            "after update_memory the memory reads {:?}",
            m.memory
        )),
        None => fail("after update_memory the memory is gone"),
    }
}

async fn delete_memory(ctx: &mut Ctx) -> CaseResult {
    let client = ctx.typed_client().await?;
    let (user, cube, id) = typed_setup(ctx, &client, "Typed memory to delete.").await?;
    client
        .delete_memory(&cube, &id, Some(&user))
        .await
        .map_err(api("delete_memory"))?;
    let items = typed_list(&client, &user, &cube).await?;
    if items.iter().any(|m| m.id == id) {
        fail("the deleted memory is still in the typed list")
    } else {
        Ok(Verdict::Pass)
    }
}

async fn delete_all_memories(ctx: &mut Ctx) -> CaseResult {
    ctx.require_destructive_for(DELETE_ALL_NEEDS)?;
    let client = ctx.typed_client().await?;
    let (user, cube, _) =
        typed_setup(ctx, &client, "Typed memory to delete with all others.").await?;
    client
        .delete_all_memories(&cube, Some(&user))
        .await
        .map_err(api("delete_all_memories"))?;
    let items = typed_list(&client, &user, &cube).await?;
    if items.is_empty() {
        Ok(Verdict::Pass)
    } else {
        fail(format!("the typed list still has {} memories", items.len()))
    }
}

async fn search_memories(ctx: &mut Ctx) -> CaseResult {
    let client = ctx.typed_client().await?;
    let (user, cube, id) = typed_setup(ctx, &client, "Typed search finds Lisbon.").await?;
    ctx.require_no_leftovers(&cube)?;
    let found = client
        .search_memories(
            types::SearchRequest::builder()
                .user_id(user.clone())
                .query("Lisbon"),
        )
        .await
        .map_err(api("search_memories"))?;
    let items = memories_of(&found, &cube)?;
    if items.iter().any(|m| m.id == id) {
        Ok(Verdict::Pass)
    } else {
        fail("the typed search results lack the matching memory")
    }
}

async fn chat(ctx: &mut Ctx) -> CaseResult {
    let client = ctx.typed_client().await?;
    let (user, _, _) = typed_setup(ctx, &client, "I moved to Lisbon in March.").await?;
    let answer = client
        .chat(
            types::ChatRequest::builder()
                .user_id(user)
                .query("Where do I live?"),
        )
        .await
        .map_err(api("chat"))?;
    if answer.trim().is_empty() {
        fail("chat returned an empty answer")
    } else {
        Ok(Verdict::Pass)
    }
}
