//! `POST /search`.

use serde_json::{json, Value};

use super::definition::{case, Case};
use crate::context::{fail, listed_memories, CaseResult, Ctx, Verdict};
use crate::exchange::Req;

pub(super) fn cases() -> Vec<Case> {
    vec![
        case!(
            "search_memories",
            finds_added_memory,
            "a search answers 200 with the user's cube and the added memory that matches the query"
        ),
        case!(
            "search_memories",
            scoped_to_install_cube_ids,
            "install_cube_ids limits the search to the named cube"
        ),
        case!(
            "search_memories",
            rejects_missing_query,
            "a search without the required query is refused with a documented 4xx"
        ),
        case!(
            "search_memories",
            rejects_unknown_user,
            "searching as a user that does not exist is refused with a documented 4xx"
        ),
        case!(
            "search_memories",
            rejects_wrong_type,
            "install_cube_ids given as a string, not a list, is refused with a documented 4xx"
        ),
    ]
}

fn cube_ids(body: &Value) -> Vec<String> {
    body.pointer("/data/text_mem")
        .and_then(Value::as_array)
        .map(|entries| {
            entries
                .iter()
                .filter_map(|e| e.get("cube_id").and_then(Value::as_str).map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

async fn finds_added_memory(ctx: &mut Ctx) -> CaseResult {
    let (user, cube) = ctx.user_with_cube("owner").await?;
    ctx.require_no_leftovers(&cube)?;
    ctx.add_content(&user, &cube, "I moved to Lisbon in March.")
        .await?;
    ctx.add_content(&user, &cube, "Build 1432 passed in 4m12s.")
        .await?;
    let ex = ctx
        .send(
            Req::post(&["search"])
                .json(json!({"user_id": user, "query": "Where is Lisbon?"}))
                .label("search the user's cubes"),
        )
        .await;
    let body = ex.expect_success()?;
    let found = listed_memories(&ex, &body, &cube)?;
    if found.iter().any(|m| m.memory.contains("Lisbon")) {
        Ok(Verdict::Pass)
    } else {
        fail(format!(
            "the search for Lisbon returned {} memories of the cube, none mentioning Lisbon",
            found.len()
        ))
    }
}

async fn scoped_to_install_cube_ids(ctx: &mut Ctx) -> CaseResult {
    let user = ctx.create_user("owner").await?;
    let first = ctx.register_cube(&user, "first").await?;
    let second = ctx.register_cube(&user, "second").await?;
    ctx.add_content(&user, &first, "The first cube mentions tea.")
        .await?;
    ctx.add_content(&user, &second, "The second cube mentions tea too.")
        .await?;
    let ex = ctx
        .send(
            Req::post(&["search"])
                .json(json!({"user_id": user, "query": "tea", "install_cube_ids": [first]}))
                .label("search only the first cube"),
        )
        .await;
    let body = ex.expect_success()?;
    let ids = cube_ids(&body);
    if ids == [first.clone()] {
        Ok(Verdict::Pass)
    } else {
        fail(format!(
            "install_cube_ids [{first:?}] searched the cubes {ids:?}"
        ))
    }
}

async fn rejects_missing_query(ctx: &mut Ctx) -> CaseResult {
    let (user, _) = ctx.user_with_cube("owner").await?;
    let ex = ctx
        .send(
            Req::post(&["search"])
                .json(json!({"user_id": user}))
                .label("search without query"),
        )
        .await;
    ex.expect_client_error()?;
    Ok(Verdict::Pass)
}

async fn rejects_unknown_user(ctx: &mut Ctx) -> CaseResult {
    let ex = ctx
        .send(
            Req::post(&["search"])
                .json(json!({"user_id": ctx.user("nobody"), "query": "anything"}))
                .label("search as a user that was never created"),
        )
        .await;
    ex.expect_client_error()?;
    Ok(Verdict::Pass)
}

async fn rejects_wrong_type(ctx: &mut Ctx) -> CaseResult {
    let (user, cube) = ctx.user_with_cube("owner").await?;
    let ex = ctx
        .send(
            Req::post(&["search"])
                .json(json!({"user_id": user, "query": "anything", "install_cube_ids": cube}))
                .label("install_cube_ids as a string"),
        )
        .await;
    ex.expect_client_error()?;
    Ok(Verdict::Pass)
}
