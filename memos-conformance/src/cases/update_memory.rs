//! `PUT /memories/{mem_cube_id}/{memory_id}`.

use serde_json::json;

use super::definition::{case, Case};
use super::get_memory::{user_cube_memory, UNKNOWN_MEMORY_ID};
use crate::context::{fail, CaseResult, Ctx, Verdict};
use crate::exchange::Req;

pub(super) fn cases() -> Vec<Case> {
    vec![
        case!(
            "update_memory",
            update_reads_back,
            "an update answers 200 and the list then shows the memory's new text under the same id"
        ),
        case!(
            "update_memory",
            rejects_non_object_body,
            "a body that is a JSON array, not an object, is refused with a documented 4xx and changes nothing"
        ),
        case!(
            "update_memory",
            rejects_malformed_json,
            "a body that is not valid JSON is refused with a documented 4xx and changes nothing"
        ),
        case!(
            "update_memory",
            rejects_unknown_cube,
            "updating in a cube id that does not exist is refused with a documented 4xx"
        ),
    ]
}

async fn update_reads_back(ctx: &mut Ctx) -> CaseResult {
    let (user, cube, id) = user_cube_memory(ctx, "owner", "I moved to Lisbon in March.").await?;
    let ex = ctx
        .send(
            Req::put(&["memories", &cube, &id])
                .query("user_id", &user)
                .json(json!({"memory_content": "I moved to Porto in May."}))
                .label("update the memory's text"),
        )
        .await;
    ex.expect_success()?;
    let listed = ctx
        .list(&user, &cube, "the list shows the new text")
        .await?;
    match listed.iter().find(|m| m.id == id) {
        Some(m) if m.memory == "I moved to Porto in May." => Ok(Verdict::Pass),
        Some(m) => fail(format!("after the update the memory reads {:?}", m.memory)),
        None => fail("after the update the memory's id is no longer listed"),
    }
}

async fn refused_changes_nothing(ctx: &Ctx, user: &str, cube: &str, req: Req) -> CaseResult {
    let before = ctx.list(user, cube, "the cube before").await?;
    let ex = ctx.send(req).await;
    ex.expect_client_error()?;
    let after = ctx.list(user, cube, "the cube is unchanged").await?;
    if after == before {
        Ok(Verdict::Pass)
    } else {
        fail("the refused update still changed the cube's memories")
    }
}

async fn rejects_non_object_body(ctx: &mut Ctx) -> CaseResult {
    let (user, cube, id) = user_cube_memory(ctx, "owner", "This text must stay.").await?;
    let req = Req::put(&["memories", &cube, &id])
        .query("user_id", &user)
        .json(json!(["not", "an", "object"]))
        .label("a JSON array as the body");
    refused_changes_nothing(ctx, &user, &cube, req).await
}

async fn rejects_malformed_json(ctx: &mut Ctx) -> CaseResult {
    let (user, cube, id) = user_cube_memory(ctx, "owner", "This text must stay.").await?;
    let req = Req::put(&["memories", &cube, &id])
        .query("user_id", &user)
        .raw(Some("application/json"), b"{\"memory_content\": \"cut")
        .label("a body cut short");
    refused_changes_nothing(ctx, &user, &cube, req).await
}

async fn rejects_unknown_cube(ctx: &mut Ctx) -> CaseResult {
    let user = ctx.create_user("owner").await?;
    let ex = ctx
        .send(
            Req::put(&["memories", &ctx.cube("never-registered"), UNKNOWN_MEMORY_ID])
                .query("user_id", &user)
                .json(json!({"memory_content": "Nowhere to go."}))
                .label("update in a cube that does not exist"),
        )
        .await;
    ex.expect_client_error()?;
    Ok(Verdict::Pass)
}
