//! `GET /memories`.

use serde_json::Value;

use super::definition::{case, Case};
use crate::context::{fail, listed_memories, CaseResult, Ctx, Verdict};
use crate::exchange::Req;

pub(super) fn cases() -> Vec<Case> {
    vec![
        case!(
            "list_memories",
            lists_cube_memories,
            "lists the given cube's memories, in exactly one text_mem entry for that cube"
        ),
        case!(
            "list_memories",
            rejects_unknown_user,
            "listing as a user that does not exist is refused with a documented 4xx"
        ),
        case!(
            "list_memories",
            rejects_unknown_cube,
            "listing a cube id that does not exist is refused with a documented 4xx"
        ),
        case!(
            "list_memories",
            rejects_user_without_access,
            "listing another user's cube without access is refused with a documented 4xx"
        ),
        case!(
            "list_memories",
            unloaded_cube_is_4xx,
            "listing a cube that was unregistered is refused with a documented 4xx, not a server error"
        ),
    ]
}

async fn lists_cube_memories(ctx: &mut Ctx) -> CaseResult {
    let (user, cube) = ctx.user_with_cube("owner").await?;
    ctx.add_content(&user, &cube, "First note: the kettle is blue.")
        .await?;
    ctx.add_content(&user, &cube, "Second note: the mug is green.")
        .await?;
    let ex = ctx
        .send(
            Req::get(&["memories"])
                .query("mem_cube_id", &cube)
                .query("user_id", &user)
                .label("list the cube"),
        )
        .await;
    let body = ex.expect_success()?;
    let entries = body
        .pointer("/data/text_mem")
        .and_then(Value::as_array)
        .map(Vec::len)
        .unwrap_or_default();
    if entries != 1 {
        return fail(format!(
            "data.text_mem has {entries} entries; the spec says exactly one, for the cube"
        ));
    }
    let listed = listed_memories(&ex, &body, &cube)?;
    for text in ["kettle is blue", "mug is green"] {
        if !listed.iter().any(|m| m.memory.contains(text)) {
            return fail(format!(
                "the cube's list lacks the added memory mentioning {text:?}"
            ));
        }
    }
    if listed.iter().any(|m| m.id.is_empty()) {
        return fail("a listed memory has no id");
    }
    Ok(Verdict::Pass)
}

async fn refused_list(ctx: &Ctx, user: &str, cube: &str, label: &str) -> CaseResult {
    let ex = ctx
        .send(
            Req::get(&["memories"])
                .query("mem_cube_id", cube)
                .query("user_id", user)
                .label(label),
        )
        .await;
    ex.expect_client_error()?;
    Ok(Verdict::Pass)
}

async fn rejects_unknown_user(ctx: &mut Ctx) -> CaseResult {
    let (_, cube) = ctx.user_with_cube("owner").await?;
    refused_list(
        ctx,
        &ctx.user("nobody"),
        &cube,
        "list as a user that was never created",
    )
    .await
}

async fn rejects_unknown_cube(ctx: &mut Ctx) -> CaseResult {
    let user = ctx.create_user("owner").await?;
    refused_list(
        ctx,
        &user,
        &ctx.cube("never-registered"),
        "list a cube that does not exist",
    )
    .await
}

async fn rejects_user_without_access(ctx: &mut Ctx) -> CaseResult {
    let (alice, cube) = ctx.user_with_cube("alice").await?;
    ctx.add_content(&alice, &cube, "Only alice may read this.")
        .await?;
    let bob = ctx.create_user("bob").await?;
    refused_list(ctx, &bob, &cube, "bob lists alice's cube").await
}

async fn unloaded_cube_is_4xx(ctx: &mut Ctx) -> CaseResult {
    let (user, cube) = ctx.user_with_cube("owner").await?;
    let ex = ctx
        .send(
            Req::delete(&["mem_cubes", &cube])
                .query("user_id", &user)
                .label("setup: unregister the cube"),
        )
        .await;
    ex.expect_success()?;
    ctx.forget_cube(&cube);
    refused_list(ctx, &user, &cube, "list the unregistered cube").await
}
