//! `POST /mem_cubes`.

use serde_json::{json, Value};

use super::definition::{case, Case};
use crate::context::{fail, CaseResult, Ctx, Verdict};
use crate::exchange::Req;

pub(super) fn cases() -> Vec<Case> {
    vec![
        case!(
            "register_cube",
            registered_cube_is_usable,
            "a registered cube answers 200 and then takes and lists memories"
        ),
        case!(
            "register_cube",
            second_user_gains_access,
            "registering an existing cube id for a second user gives that user access to the same cube"
        ),
        case!(
            "register_cube",
            rejects_unknown_user,
            "registering for a user that does not exist is refused with a documented 4xx"
        ),
        case!(
            "register_cube",
            rejects_missing_path,
            "a body without the required mem_cube_name_or_path is refused with a documented 4xx"
        ),
        case!(
            "register_cube",
            rejects_wrong_type,
            "a mem_cube_name_or_path that is a number is refused with a documented 4xx"
        ),
        case!(
            "register_cube",
            rejects_missing_directory,
            "a directory that does not exist on the server is refused with a documented 4xx (--destructive: the reference server runs git clone)"
        ),
    ]
}

async fn registered_cube_is_usable(ctx: &mut Ctx) -> CaseResult {
    let user = ctx.create_user("owner").await?;
    let path = ctx.cube_path()?;
    let cube = ctx.cube("main");
    let ex = ctx
        .send(
            Req::post(&["mem_cubes"])
                .json(json!({"mem_cube_name_or_path": path, "mem_cube_id": cube, "user_id": user}))
                .label("register the cube"),
        )
        .await;
    if ex.status().is_some_and(|s| (200..300).contains(&s)) {
        ctx.track_cube(&cube, &user);
    }
    ex.expect_success()?;
    ctx.prove_storage(&user, &cube).await?;
    let before = ctx
        .list(&user, &cube, "the cube lists its memories")
        .await?;
    ctx.add_content(&user, &cube, "The registered cube keeps this note.")
        .await?;
    let after = ctx.list(&user, &cube, "the new memory is listed").await?;
    if after.len() > before.len() && after.iter().any(|m| m.memory.contains("registered cube")) {
        Ok(Verdict::Pass)
    } else {
        fail(format!(
            "after adding a memory to the new cube it lists {} memories (before: {}), none with the added text",
            after.len(),
            before.len()
        ))
    }
}

async fn second_user_gains_access(ctx: &mut Ctx) -> CaseResult {
    let (alice, cube) = ctx.user_with_cube("alice").await?;
    ctx.add_content(&alice, &cube, "Alice keeps her notes in this shared cube.")
        .await?;
    let bob = ctx.create_user("bob").await?;
    let path = ctx.cube_path()?;
    let ex = ctx
        .send(
            Req::post(&["mem_cubes"])
                .json(json!({"mem_cube_name_or_path": path, "mem_cube_id": cube, "user_id": bob}))
                .label("register the same cube id for bob"),
        )
        .await;
    ex.expect_success()?;
    let seen = ctx.list(&bob, &cube, "bob lists the cube").await?;
    if seen
        .iter()
        .any(|m| m.memory.contains("Alice keeps her notes"))
    {
        Ok(Verdict::Pass)
    } else {
        fail(format!(
            "bob lists {} memories in the cube, without alice's memory: registering the id again did not give access to the same cube",
            seen.len()
        ))
    }
}

async fn rejects_unknown_user(ctx: &mut Ctx) -> CaseResult {
    let path = ctx.cube_path()?;
    let cube = ctx.cube("orphan");
    let nobody = ctx.user("nobody");
    let ex = ctx
        .send(
            Req::post(&["mem_cubes"])
                .json(
                    json!({"mem_cube_name_or_path": path, "mem_cube_id": cube, "user_id": nobody}),
                )
                .label("register for a user that was never created"),
        )
        .await;
    if ex.status().is_some_and(|s| (200..300).contains(&s)) {
        ctx.track_cube(&cube, &nobody);
    }
    ex.expect_client_error()?;
    Ok(Verdict::Pass)
}

async fn refused(ctx: &Ctx, body: Value, label: &str) -> CaseResult {
    let ex = ctx
        .send(Req::post(&["mem_cubes"]).json(body).label(label))
        .await;
    if ex.status().is_some_and(|s| (200..300).contains(&s)) {
        ctx.track_cube(&ctx.cube("main"), &ctx.user("owner"));
    }
    ex.expect_client_error()?;
    Ok(Verdict::Pass)
}

async fn rejects_missing_path(ctx: &mut Ctx) -> CaseResult {
    let user = ctx.create_user("owner").await?;
    let body = json!({"mem_cube_id": ctx.cube("main"), "user_id": user});
    refused(ctx, body, "no mem_cube_name_or_path").await
}

async fn rejects_wrong_type(ctx: &mut Ctx) -> CaseResult {
    let user = ctx.create_user("owner").await?;
    let body =
        json!({"mem_cube_name_or_path": 42, "mem_cube_id": ctx.cube("main"), "user_id": user});
    refused(ctx, body, "mem_cube_name_or_path as a number").await
}

async fn rejects_missing_directory(ctx: &mut Ctx) -> CaseResult {
    let path = ctx.cube_path()?;
    ctx.require_destructive()?;
    let user = ctx.create_user("owner").await?;
    let missing = format!("{}/{}-missing", path.trim_end_matches('/'), ctx.namespace());
    let body =
        json!({"mem_cube_name_or_path": missing, "mem_cube_id": ctx.cube("main"), "user_id": user});
    refused(ctx, body, "a directory that does not exist").await
}
