//! `GET /memories/{mem_cube_id}/{memory_id}`.

use serde_json::Value;

use super::definition::{case, Case};
use crate::context::{fail, CaseResult, Ctx, Stop, Verdict};
use crate::exchange::Req;

/// A memory id that no server generated: a UUID in the placeholder range, which the
/// normaliser leaves as it is (so the mock run sends the same id).
pub(super) const UNKNOWN_MEMORY_ID: &str = "00000000-0000-4000-8000-0000deadbeef";

pub(super) fn cases() -> Vec<Case> {
    vec![
        case!(
            "get_memory",
            returns_listed_memory,
            "a memory learnt from the list is fetched by id: 200 with that id and text"
        ),
        case!(
            "get_memory",
            unknown_id_is_4xx,
            "fetching a memory id that does not exist is refused with a documented 4xx"
        ),
        case!(
            "get_memory",
            rejects_unknown_cube,
            "fetching from a cube id that does not exist is refused with a documented 4xx"
        ),
        case!(
            "get_memory",
            rejects_user_without_access,
            "fetching another user's memory without access is refused with a documented 4xx"
        ),
    ]
}

/// A user, a cube with one memory, and that memory's id from the list.
pub(super) async fn user_cube_memory(
    ctx: &Ctx,
    name: &str,
    text: &str,
) -> Result<(String, String, String), Stop> {
    let (user, cube) = ctx.user_with_cube(name).await?;
    ctx.add_content(&user, &cube, text).await?;
    let listed = ctx
        .list(&user, &cube, "setup: learn the memory's id")
        .await?;
    match listed.iter().find(|m| m.memory.contains(text)) {
        Some(m) if !m.id.is_empty() => Ok((user, cube, m.id.clone())),
        _ => fail(format!(
            "setup: the added memory {text:?} is not listed with an id"
        )),
    }
}

async fn get(
    ctx: &Ctx,
    cube: &str,
    id: &str,
    user: &str,
    label: &str,
) -> crate::recorder::Exchange {
    ctx.send(
        Req::get(&["memories", cube, id])
            .query("user_id", user)
            .label(label),
    )
    .await
}

async fn returns_listed_memory(ctx: &mut Ctx) -> CaseResult {
    let text = "The spare key is under the blue pot.";
    let (user, cube, id) = user_cube_memory(ctx, "owner", text).await?;
    let ex = get(ctx, &cube, &id, &user, "fetch the memory by id").await;
    let body = ex.expect_success()?;
    let got_id = body.pointer("/data/id").and_then(Value::as_str);
    let got_text = body.pointer("/data/memory").and_then(Value::as_str);
    if got_id != Some(id.as_str()) || got_text != Some(text) {
        return fail(format!(
            "GET answered memory {got_id:?} with text {got_text:?}; expected {id:?} with {text:?}"
        ));
    }
    Ok(Verdict::Pass)
}

async fn unknown_id_is_4xx(ctx: &mut Ctx) -> CaseResult {
    let (user, cube) = ctx.user_with_cube("owner").await?;
    let ex = get(
        ctx,
        &cube,
        UNKNOWN_MEMORY_ID,
        &user,
        "fetch an id that does not exist",
    )
    .await;
    ex.expect_client_error()?;
    Ok(Verdict::Pass)
}

async fn rejects_unknown_cube(ctx: &mut Ctx) -> CaseResult {
    let user = ctx.create_user("owner").await?;
    let ex = get(
        ctx,
        &ctx.cube("never-registered"),
        UNKNOWN_MEMORY_ID,
        &user,
        "fetch from a cube that does not exist",
    )
    .await;
    ex.expect_client_error()?;
    Ok(Verdict::Pass)
}

async fn rejects_user_without_access(ctx: &mut Ctx) -> CaseResult {
    let (_, cube, id) = user_cube_memory(ctx, "alice", "Alice's private memory.").await?;
    let bob = ctx.create_user("bob").await?;
    let ex = get(ctx, &cube, &id, &bob, "bob fetches alice's memory").await;
    ex.expect_client_error()?;
    Ok(Verdict::Pass)
}
