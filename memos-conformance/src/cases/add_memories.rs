//! `POST /memories`.

use serde_json::json;

use super::definition::{case, Case};
use crate::context::{fail, CaseResult, Ctx, Verdict};
use crate::exchange::Req;

pub(super) fn cases() -> Vec<Case> {
    vec![
        case!(
            "add_memories",
            messages_are_listed,
            "added chat messages answer 200 and are then listed in the cube"
        ),
        case!(
            "add_memories",
            content_is_listed,
            "added memory_content answers 200 and is then listed in the cube"
        ),
        case!(
            "add_memories",
            doc_path_is_listed,
            "a server-side directory of documents (--doc-path) answers 200 and its content is then listed"
        ),
        case!(
            "add_memories",
            without_cube_targets_newest_cube,
            "without mem_cube_id the memory goes to the user's newest cube, as documented"
        ),
        case!(
            "add_memories",
            rejects_empty_request,
            "a request with no messages, memory_content or doc_path is refused with a documented 4xx and stores nothing"
        ),
        case!(
            "add_memories",
            rejects_unknown_user,
            "adding as a user that does not exist is refused with a documented 4xx"
        ),
        case!(
            "add_memories",
            rejects_unknown_cube,
            "adding to a cube id that does not exist is refused with a documented 4xx"
        ),
        case!(
            "add_memories",
            rejects_wrong_type,
            "a memory_content that is a number is refused with a documented 4xx and stores nothing"
        ),
        case!(
            "add_memories",
            rejects_message_without_content,
            "a message without its required content is refused with a documented 4xx and stores nothing"
        ),
        case!(
            "add_memories",
            rejects_malformed_json,
            "a body that is not valid JSON is refused with a documented 4xx"
        ),
    ]
}

async fn messages_are_listed(ctx: &mut Ctx) -> CaseResult {
    let (user, cube) = ctx.user_with_cube("owner").await?;
    let before = ctx.list(&user, &cube, "the cube before").await?;
    let ex = ctx
        .send(
            Req::post(&["memories"])
                .json(json!({
                    "user_id": user,
                    "mem_cube_id": cube,
                    "messages": [
                        {"role": "user", "content": "I moved to Lisbon in March."},
                        {"role": "assistant", "content": "Noted, you live in Lisbon now."}
                    ]
                }))
                .label("add two chat messages"),
        )
        .await;
    ex.expect_success()?;
    let after = ctx.list(&user, &cube, "the messages are listed").await?;
    if after.len() > before.len() && after.iter().any(|m| m.memory.contains("Lisbon")) {
        Ok(Verdict::Pass)
    } else {
        fail(format!(
            "after adding two messages about Lisbon the cube lists {} memories (before: {}), none mentioning Lisbon",
            after.len(),
            before.len()
        ))
    }
}

async fn content_is_listed(ctx: &mut Ctx) -> CaseResult {
    let (user, cube) = ctx.user_with_cube("owner").await?;
    let before = ctx.list(&user, &cube, "the cube before").await?;
    let ex = ctx
        .send(
            Req::post(&["memories"])
                .json(json!({"user_id": user, "mem_cube_id": cube, "memory_content": "Build 1432 passed in 4m12s."}))
                .label("add memory_content"),
        )
        .await;
    ex.expect_success()?;
    let after = ctx.list(&user, &cube, "the content is listed").await?;
    if after.len() > before.len() && after.iter().any(|m| m.memory.contains("1432")) {
        Ok(Verdict::Pass)
    } else {
        fail(format!(
            "after adding \"Build 1432 passed in 4m12s.\" the cube lists {} memories (before: {}), none with it",
            after.len(),
            before.len()
        ))
    }
}

async fn doc_path_is_listed(ctx: &mut Ctx) -> CaseResult {
    let doc_path = ctx.doc_path()?;
    let (user, cube) = ctx.user_with_cube("owner").await?;
    let before = ctx.list(&user, &cube, "the cube before").await?;
    let ex = ctx
        .send(
            Req::post(&["memories"])
                .json(json!({"user_id": user, "mem_cube_id": cube, "doc_path": doc_path}))
                .label("add the documents of --doc-path"),
        )
        .await;
    ex.expect_success()?;
    let after = ctx
        .list(&user, &cube, "the documents' content is listed")
        .await?;
    if after.len() > before.len() {
        Ok(Verdict::Pass)
    } else {
        fail(format!(
            "POST /memories with doc_path answered {} but stored nothing: the cube lists {} memories before and after",
            ex.status().unwrap_or_default(),
            after.len()
        ))
    }
}

async fn without_cube_targets_newest_cube(ctx: &mut Ctx) -> CaseResult {
    let user = ctx.create_user("owner").await?;
    let older = ctx.register_cube(&user, "older").await?;
    let newer = ctx.register_cube(&user, "newer").await?;
    let ex = ctx
        .send(
            Req::post(&["memories"])
                .json(json!({"user_id": user, "memory_content": "Stored without naming a cube."}))
                .label("add without mem_cube_id"),
        )
        .await;
    ex.expect_success()?;
    let in_newer = ctx.list(&user, &newer, "the newest cube has it").await?;
    let in_older = ctx.list(&user, &older, "the older cube does not").await?;
    let has = |list: &[crate::context::Listed]| {
        list.iter()
            .any(|m| m.memory.contains("without naming a cube"))
    };
    match (has(&in_newer), has(&in_older)) {
        (true, false) => Ok(Verdict::Pass),
        (false, true) => fail("the memory went to the older cube, not the user's newest"),
        (true, true) => fail("the memory went to both cubes"),
        (false, false) => fail("the memory is in neither of the user's cubes"),
    }
}

/// Sends a request that must be refused, then checks the cube holds what it held.
async fn refused_stores_nothing(ctx: &Ctx, user: &str, cube: &str, req: Req) -> CaseResult {
    let before = ctx.list(user, cube, "the cube before").await?;
    let ex = ctx.send(req).await;
    ex.expect_client_error()?;
    let after = ctx.list(user, cube, "the cube is unchanged").await?;
    if after == before {
        Ok(Verdict::Pass)
    } else {
        fail(format!(
            "the refused request still changed the cube: {} memories before, {} after",
            before.len(),
            after.len()
        ))
    }
}

async fn rejects_empty_request(ctx: &mut Ctx) -> CaseResult {
    let (user, cube) = ctx.user_with_cube("owner").await?;
    let req = Req::post(&["memories"])
        .json(json!({"user_id": user, "mem_cube_id": cube}))
        .label("nothing to add");
    refused_stores_nothing(ctx, &user, &cube, req).await
}

async fn rejects_unknown_user(ctx: &mut Ctx) -> CaseResult {
    let (_, cube) = ctx.user_with_cube("owner").await?;
    let ex = ctx
        .send(
            Req::post(&["memories"])
                .json(json!({"user_id": ctx.user("nobody"), "mem_cube_id": cube, "memory_content": "From nobody."}))
                .label("add as a user that was never created"),
        )
        .await;
    ex.expect_client_error()?;
    Ok(Verdict::Pass)
}

async fn rejects_unknown_cube(ctx: &mut Ctx) -> CaseResult {
    let user = ctx.create_user("owner").await?;
    let ex = ctx
        .send(
            Req::post(&["memories"])
                .json(json!({"user_id": user, "mem_cube_id": ctx.cube("never-registered"), "memory_content": "Lost."}))
                .label("add to a cube that does not exist"),
        )
        .await;
    ex.expect_client_error()?;
    Ok(Verdict::Pass)
}

async fn rejects_wrong_type(ctx: &mut Ctx) -> CaseResult {
    let (user, cube) = ctx.user_with_cube("owner").await?;
    let req = Req::post(&["memories"])
        .json(json!({"user_id": user, "mem_cube_id": cube, "memory_content": 42}))
        .label("memory_content as a number");
    refused_stores_nothing(ctx, &user, &cube, req).await
}

async fn rejects_message_without_content(ctx: &mut Ctx) -> CaseResult {
    let (user, cube) = ctx.user_with_cube("owner").await?;
    let req = Req::post(&["memories"])
        .json(json!({"user_id": user, "mem_cube_id": cube, "messages": [{"role": "user"}]}))
        .label("a message without content");
    refused_stores_nothing(ctx, &user, &cube, req).await
}

async fn rejects_malformed_json(ctx: &mut Ctx) -> CaseResult {
    let (user, cube) = ctx.user_with_cube("owner").await?;
    let text = format!(
        "{{\"user_id\": \"{user}\", \"mem_cube_id\": \"{cube}\", \"memory_content\": \"cut"
    );
    let req = Req::post(&["memories"])
        .raw(Some("application/json"), text.as_bytes())
        .label("a body cut short");
    refused_stores_nothing(ctx, &user, &cube, req).await
}
