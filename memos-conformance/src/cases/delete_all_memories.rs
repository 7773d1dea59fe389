//! `DELETE /memories/{mem_cube_id}`.

use super::definition::{case, Case};
use crate::context::{fail, CaseResult, Ctx, Verdict, DELETE_ALL_NEEDS};
use crate::exchange::Req;

pub(super) fn cases() -> Vec<Case> {
    vec![
        case!(
            "delete_all_memories",
            cube_is_empty_after,
            "deleting all memories answers 200 and the cube then lists none"
        ),
        case!(
            "delete_all_memories",
            rejects_user_without_access,
            "deleting all of another user's memories without access is refused with a documented 4xx and keeps them"
        ),
        case!(
            "delete_all_memories",
            rejects_unknown_cube,
            "deleting all memories of a cube id that does not exist is refused with a documented 4xx"
        ),
    ]
}

async fn cube_is_empty_after(ctx: &mut Ctx) -> CaseResult {
    ctx.require_destructive_for(DELETE_ALL_NEEDS)?;
    let (user, cube) = ctx.user_with_cube("owner").await?;
    ctx.add_content(&user, &cube, "Soon to be deleted, one.")
        .await?;
    ctx.add_content(&user, &cube, "Soon to be deleted, two.")
        .await?;
    let ex = ctx
        .send(
            Req::delete(&["memories", &cube])
                .query("user_id", &user)
                .label("delete every memory of the cube"),
        )
        .await;
    ex.expect_success()?;
    let after = ctx.list(&user, &cube, "the cube is empty").await?;
    if after.is_empty() {
        Ok(Verdict::Pass)
    } else {
        fail(format!("the cube still lists {} memories", after.len()))
    }
}

async fn rejects_user_without_access(ctx: &mut Ctx) -> CaseResult {
    ctx.require_destructive_for(DELETE_ALL_NEEDS)?;
    let (alice, cube) = ctx.user_with_cube("alice").await?;
    ctx.add_content(&alice, &cube, "Alice's memory must survive bob.")
        .await?;
    let bob = ctx.create_user("bob").await?;
    let ex = ctx
        .send(
            Req::delete(&["memories", &cube])
                .query("user_id", &bob)
                .label("bob deletes all of alice's memories"),
        )
        .await;
    ex.expect_client_error()?;
    let after = ctx
        .list(&alice, &cube, "alice's memory is still there")
        .await?;
    if after.iter().any(|m| m.memory.contains("must survive bob")) {
        Ok(Verdict::Pass)
    } else {
        fail("the refused delete still removed alice's memories")
    }
}

async fn rejects_unknown_cube(ctx: &mut Ctx) -> CaseResult {
    ctx.require_destructive_for(DELETE_ALL_NEEDS)?;
    let user = ctx.create_user("owner").await?;
    let ex = ctx
        .send(
            Req::delete(&["memories", &ctx.cube("never-registered")])
                .query("user_id", &user)
                .label("delete all in a cube that does not exist"),
        )
        .await;
    ex.expect_client_error()?;
    Ok(Verdict::Pass)
}
