//! `POST /mem_cubes/{cube_id}/share`.

use serde_json::json;

use super::definition::{case, Case};
use crate::context::{fail, listed_memories, CaseResult, Ctx, Verdict};
use crate::exchange::Req;

pub(super) fn cases() -> Vec<Case> {
    vec![
        case!(
            "share_cube",
            target_user_gains_access,
            "sharing a cube answers 200 and the target user can then list its memories"
        ),
        case!(
            "share_cube",
            rejects_missing_target,
            "a share body without the required target_user_id is refused with a documented 4xx"
        ),
        case!(
            "share_cube",
            rejects_unknown_cube,
            "sharing a cube id that does not exist is refused with a documented 4xx"
        ),
    ]
}

async fn target_user_gains_access(ctx: &mut Ctx) -> CaseResult {
    let (alice, cube) = ctx.user_with_cube("alice").await?;
    ctx.add_content(&alice, &cube, "Alice shares this memory with bob.")
        .await?;
    let bob = ctx.create_user("bob").await?;
    let ex = ctx
        .send(
            Req::post(&["mem_cubes", &cube, "share"])
                .json(json!({"target_user_id": bob, "user_id": alice}))
                .label("alice shares the cube with bob"),
        )
        .await;
    ex.expect_success()?;
    let list = ctx
        .send(
            Req::get(&["memories"])
                .query("mem_cube_id", &cube)
                .query("user_id", &bob)
                .label("bob lists the shared cube"),
        )
        .await;
    let body = list.expect_success()?;
    let seen = listed_memories(&list, &body, &cube)?;
    if seen.iter().any(|m| m.memory.contains("Alice shares")) {
        Ok(Verdict::Pass)
    } else {
        fail("bob can list the shared cube but does not see alice's memory")
    }
}

async fn rejects_missing_target(ctx: &mut Ctx) -> CaseResult {
    let (alice, cube) = ctx.user_with_cube("alice").await?;
    let ex = ctx
        .send(
            Req::post(&["mem_cubes", &cube, "share"])
                .json(json!({"user_id": alice}))
                .label("share without target_user_id"),
        )
        .await;
    ex.expect_client_error()?;
    Ok(Verdict::Pass)
}

async fn rejects_unknown_cube(ctx: &mut Ctx) -> CaseResult {
    let alice = ctx.create_user("alice").await?;
    let bob = ctx.create_user("bob").await?;
    let ex = ctx
        .send(
            Req::post(&["mem_cubes", &ctx.cube("never-registered"), "share"])
                .json(json!({"target_user_id": bob, "user_id": alice}))
                .label("share a cube that does not exist"),
        )
        .await;
    ex.expect_client_error()?;
    Ok(Verdict::Pass)
}
