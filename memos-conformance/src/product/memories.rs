//! Adding and deleting memories: what is added is listed, what is deleted is gone, and
//! requests the server must refuse are refused.

use serde_json::json;

use super::{add_text, expect_envelope_success, expect_validation_error, list, post};
use crate::cases::{case, Case};
use crate::context::{fail, CaseResult, Ctx, Verdict};

pub(super) fn cases() -> Vec<Case> {
    vec![
        case!(
            "add_memories",
            added_is_listed,
            "a sync add answers each stored memory with its id, and get_memory lists it in the cube"
        ),
        case!(
            "add_memories",
            rejects_missing_user,
            "an add without user_id is refused with a 4xx"
        ),
        case!(
            "add_memories",
            rejects_cube_ids_not_a_list,
            "an add whose writable_cube_ids is not a list is refused with 422 and detail"
        ),
        case!(
            "delete_memories",
            deleted_is_gone,
            "deleting a memory by id answers status success and get_memory no longer lists it"
        ),
        case!(
            "delete_memories",
            rejects_ids_not_a_list,
            "a delete whose memory_ids is not a list is refused with 422 and detail"
        ),
    ]
}

async fn added_is_listed(ctx: &mut Ctx) -> CaseResult {
    let user = ctx.user("u");
    let cube = ctx.cube("notes");
    let text = format!("{} lives in Lisbon since March.", ctx.namespace());
    let added = add_text(ctx, &user, &cube, &text).await?;
    if !added.iter().any(|m| m.memory.contains(&text)) {
        return fail(format!(
            "POST /product/add stored {:?}, which does not hold the text sent",
            added.iter().map(|m| &m.memory).collect::<Vec<_>>()
        ));
    }
    let listed = list(ctx, &user, &cube, "list the cube").await?;
    for memory in &added {
        if !listed.iter().any(|m| m.id == memory.id) {
            return fail(format!(
                "POST /product/get_memory does not list the added memory {} ({} listed)",
                memory.id,
                listed.len()
            ));
        }
    }
    Ok(Verdict::Pass)
}

async fn rejects_missing_user(ctx: &mut Ctx) -> CaseResult {
    let cube = ctx.cube("notes");
    // Should the server store it after all, cleanup empties the cube (as nobody's user).
    ctx.track_product_cube(&cube, &ctx.user("u"));
    let ex = ctx
        .send(
            post(
                &["add"],
                json!({
                    "writable_cube_ids": [cube],
                    "async_mode": "sync",
                    "mode": "fast",
                    "messages": "an add without a user",
                }),
            )
            .label("an add without user_id"),
        )
        .await;
    ex.expect_client_error()?;
    Ok(Verdict::Pass)
}

async fn rejects_cube_ids_not_a_list(ctx: &mut Ctx) -> CaseResult {
    let user = ctx.user("u");
    let cube = ctx.cube("notes");
    ctx.track_product_cube(&cube, &user);
    let ex = ctx
        .send(
            post(
                &["add"],
                json!({
                    "user_id": user,
                    "writable_cube_ids": {"not": "a list"},
                    "async_mode": "sync",
                    "messages": "never stored",
                }),
            )
            .label("writable_cube_ids is an object"),
        )
        .await;
    expect_validation_error(&ex)?;
    Ok(Verdict::Pass)
}

async fn deleted_is_gone(ctx: &mut Ctx) -> CaseResult {
    let user = ctx.user("u");
    let cube = ctx.cube("notes");
    let added = add_text(
        ctx,
        &user,
        &cube,
        &format!("{} keeps a cat.", ctx.namespace()),
    )
    .await?;
    let ids: Vec<&str> = added.iter().map(|m| m.id.as_str()).collect();
    let ex = ctx
        .send(
            post(
                &["delete_memory"],
                // Only ids: `user_id` is another delete mode (everything of the user).
                json!({"writable_cube_ids": [cube], "memory_ids": ids}),
            )
            .label("delete the added memory"),
        )
        .await;
    let body = expect_envelope_success(&ex)?;
    let status = body.pointer("/data/status").and_then(|s| s.as_str());
    if status != Some("success") {
        return fail(format!(
            "POST /product/delete_memory answered data.status {status:?}, not \"success\""
        ));
    }
    let listed = list(ctx, &user, &cube, "list the cube after the delete").await?;
    if let Some(left) = listed.iter().find(|m| ids.contains(&m.id.as_str())) {
        return fail(format!(
            "POST /product/get_memory still lists the deleted memory {}",
            left.id
        ));
    }
    Ok(Verdict::Pass)
}

async fn rejects_ids_not_a_list(ctx: &mut Ctx) -> CaseResult {
    let cube = ctx.cube("notes");
    let ex = ctx
        .send(
            post(
                &["delete_memory"],
                json!({"writable_cube_ids": [cube], "memory_ids": "not-a-list"}),
            )
            .label("memory_ids is a string"),
        )
        .await;
    expect_validation_error(&ex)?;
    Ok(Verdict::Pass)
}
