//! The operations upstream marks "(inner)" and the other reads of a cube: the dashboard,
//! user names by memory id, deletes and recovery by record id, registration, feedback.
//! Each names only ids of the case's namespace; a record id nobody has deletes nothing.

use serde_json::{json, Value};

use super::{add_text, expect_envelope_success, expect_validation_error, memories_of, post};
use crate::cases::{case, Case};
use crate::context::{fail, CaseResult, Ctx, Verdict};

pub(super) fn cases() -> Vec<Case> {
    vec![
        case!(
            "get_memory_dashboard",
            lists_added_memory,
            "the dashboard of the case's cube lists an added memory in text_mem"
        ),
        case!(
            "get_user_names_by_memory_ids",
            names_added_memory,
            "the user name of an added memory's id is answered (a map from id to name)"
        ),
        case!(
            "delete_memory_by_record_id",
            unknown_record_deletes_nothing,
            "a delete by a record id nobody has answers a success and the cube keeps its memory"
        ),
        case!(
            "recover_memory_by_record_id",
            unknown_record_answers,
            "a recovery of a record id nobody deleted answers a success and changes nothing"
        ),
        case!(
            "register_cube",
            rejects_unknown_user,
            "registering a cube for a user that does not exist is refused with a 4xx"
        ),
        case!(
            "get_suggestions",
            rejects_missing_cube,
            "suggestions without mem_cube_id are refused with 422 and detail"
        ),
        case!(
            "feedback_memories",
            accepts_feedback,
            "feedback on an answer over the case's cube answers the success envelope"
        ),
    ]
}

async fn lists_added_memory(ctx: &mut Ctx) -> CaseResult {
    let user = ctx.user("u");
    let cube = ctx.cube("notes");
    let added = add_text(
        ctx,
        &user,
        &cube,
        &format!("{} drinks tea.", ctx.namespace()),
    )
    .await?;
    let ex = ctx
        .send(
            post(
                &["get_memory_dashboard"],
                json!({"mem_cube_id": cube, "user_id": user}),
            )
            .label("the cube's dashboard"),
        )
        .await;
    let body = expect_envelope_success(&ex)?;
    let listed = memories_of(&body, "/data/text_mem", &cube);
    if !listed.iter().any(|m| m.id == added[0].id) {
        return fail(format!(
            "POST /product/get_memory_dashboard does not list the added memory {} ({} listed)",
            added[0].id,
            listed.len()
        ));
    }
    Ok(Verdict::Pass)
}

async fn names_added_memory(ctx: &mut Ctx) -> CaseResult {
    let user = ctx.user("u");
    let cube = ctx.cube("notes");
    let added = add_text(
        ctx,
        &user,
        &cube,
        &format!("{} walks daily.", ctx.namespace()),
    )
    .await?;
    let id = &added[0].id;
    let ex = ctx
        .send(
            post(
                &["get_user_names_by_memory_ids"],
                json!({"memory_ids": [id]}),
            )
            .label("the user name of the added memory"),
        )
        .await;
    let body = expect_envelope_success(&ex)?;
    match body.pointer("/data").and_then(|d| d.get(id)) {
        Some(Value::String(_)) => Ok(Verdict::Pass),
        other => fail(format!(
            "POST /product/get_user_names_by_memory_ids answered {other:?} for the added memory, not a name"
        )),
    }
}

/// A record id of the case's namespace, which nobody has.
fn unknown_record(ctx: &Ctx) -> String {
    format!("{}-no-such-record", ctx.namespace())
}

async fn unknown_record_deletes_nothing(ctx: &mut Ctx) -> CaseResult {
    let user = ctx.user("u");
    let cube = ctx.cube("notes");
    let added = add_text(ctx, &user, &cube, &format!("{} stays.", ctx.namespace())).await?;
    let record = unknown_record(ctx);
    let ex = ctx
        .send(
            post(
                &["delete_memory_by_record_id"],
                json!({"mem_cube_id": cube, "record_id": record, "hard_delete": false}),
            )
            .label("delete by a record id nobody has"),
        )
        .await;
    expect_envelope_success(&ex)?;
    let left = super::list(ctx, &user, &cube, "the cube keeps its memory").await?;
    if !left.iter().any(|m| m.id == added[0].id) {
        return fail("a delete by a record id nobody has removed the cube's memory");
    }
    Ok(Verdict::Pass)
}

async fn unknown_record_answers(ctx: &mut Ctx) -> CaseResult {
    let cube = ctx.cube("notes");
    let record = unknown_record(ctx);
    let ex = ctx
        .send(
            post(
                &["recover_memory_by_record_id"],
                json!({"mem_cube_id": cube, "delete_record_id": record}),
            )
            .label("recover a record id nobody deleted"),
        )
        .await;
    expect_envelope_success(&ex)?;
    Ok(Verdict::Pass)
}

async fn rejects_unknown_user(ctx: &mut Ctx) -> CaseResult {
    let user = ctx.user("nobody");
    let cube = ctx.cube("registered");
    let ex = ctx
        .send(
            post(
                &["register_cube"],
                json!({
                    "mem_cube_name_or_path": format!("{}-no-such-directory", ctx.namespace()),
                    "mem_cube_id": cube,
                    "user_id": user,
                }),
            )
            .label("register a cube for a user that does not exist"),
        )
        .await;
    ex.expect_client_error()?;
    Ok(Verdict::Pass)
}

async fn accepts_feedback(ctx: &mut Ctx) -> CaseResult {
    let user = ctx.user("u");
    let cube = ctx.cube("notes");
    add_text(
        ctx,
        &user,
        &cube,
        &format!("{} lives in Porto.", ctx.namespace()),
    )
    .await?;
    let ex = ctx
        .send(
            post(
                &["feedback"],
                json!({
                    "user_id": user,
                    "writable_cube_ids": [cube],
                    "history": [
                        {"role": "user", "content": "Where do I live?"},
                        {"role": "assistant", "content": "You live in Lisbon."}
                    ],
                    "feedback_content": "Wrong: I live in Porto.",
                }),
            )
            .label("feedback on an answer"),
        )
        .await;
    expect_envelope_success(&ex)?;
    Ok(Verdict::Pass)
}

// Only the error path: the suggestions are what the server's LLM writes as JSON, which a
// test server's fake model does not (2.0.33 then answers 400 "Expecting value ...").
async fn rejects_missing_cube(ctx: &mut Ctx) -> CaseResult {
    let user = ctx.user("u");
    let ex = ctx
        .send(
            post(&["suggestions"], json!({"user_id": user, "language": "en"}))
                .label("no mem_cube_id"),
        )
        .await;
    expect_validation_error(&ex)?;
    Ok(Verdict::Pass)
}
