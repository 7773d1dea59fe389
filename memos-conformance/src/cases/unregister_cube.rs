//! `DELETE /mem_cubes/{mem_cube_id}`.

use serde_json::{json, Value};

use super::definition::{case, Case};
use crate::context::{fail, CaseResult, Ctx, Verdict};
use crate::exchange::Req;

pub(super) fn cases() -> Vec<Case> {
    vec![
        case!(
            "unregister_cube",
            unloaded_cube_no_longer_answers,
            "an unregistered cube answers 200, then refuses new memories with a 4xx and drops out of search"
        ),
        case!(
            "unregister_cube",
            rejects_unknown_cube,
            "unregistering a cube id that does not exist is refused with a documented 4xx"
        ),
    ]
}

async fn unloaded_cube_no_longer_answers(ctx: &mut Ctx) -> CaseResult {
    let (user, cube) = ctx.user_with_cube("owner").await?;
    ctx.add_content(&user, &cube, "This memory goes away with its cube.")
        .await?;
    ctx.remember_before_unregister(&user, &cube).await;
    let ex = ctx
        .send(
            Req::delete(&["mem_cubes", &cube])
                .query("user_id", &user)
                .label("unregister the cube"),
        )
        .await;
    ex.expect_success()?;
    ctx.forget_cube(&cube);
    let add = ctx
        .send(
            Req::post(&["memories"])
                .json(json!({"user_id": user, "mem_cube_id": cube, "memory_content": "Too late."}))
                .label("adding to the unregistered cube is refused"),
        )
        .await;
    add.expect_client_error()?;
    let search = ctx
        .send(
            Req::post(&["search"])
                .json(json!({"user_id": user, "query": "memory", "install_cube_ids": [cube]}))
                .label("searching the unregistered cube finds nothing"),
        )
        .await;
    let body = search.expect_success()?;
    let still = body
        .pointer("/data/text_mem")
        .and_then(Value::as_array)
        .is_some_and(|entries| {
            entries
                .iter()
                .any(|e| e.get("cube_id").and_then(Value::as_str) == Some(cube.as_str()))
        });
    if still {
        return fail("POST /search still returns an entry for the unregistered cube");
    }
    Ok(Verdict::Pass)
}

async fn rejects_unknown_cube(ctx: &mut Ctx) -> CaseResult {
    let user = ctx.create_user("owner").await?;
    let ex = ctx
        .send(
            Req::delete(&["mem_cubes", &ctx.cube("never-registered")])
                .query("user_id", &user)
                .label("unregister a cube that does not exist"),
        )
        .await;
    ex.expect_client_error()?;
    Ok(Verdict::Pass)
}
