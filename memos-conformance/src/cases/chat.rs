//! `POST /chat`.

use serde_json::{json, Value};

use super::definition::{case, Case};
use crate::context::{fail, CaseResult, Ctx, Verdict};
use crate::exchange::Req;

pub(super) fn cases() -> Vec<Case> {
    vec![
        case!(
            "chat",
            answers_query,
            "a chat for a user with memories answers 200 with the model's answer as a non-empty string"
        ),
        case!(
            "chat",
            rejects_unknown_user,
            "chatting as a user that does not exist is refused with a documented 4xx"
        ),
        case!(
            "chat",
            rejects_missing_query,
            "a chat without the required query is refused with a documented 4xx"
        ),
        case!(
            "chat",
            rejects_malformed_json,
            "a body that is not valid JSON is refused with a documented 4xx"
        ),
    ]
}

async fn answers_query(ctx: &mut Ctx) -> CaseResult {
    let (user, cube) = ctx.user_with_cube("owner").await?;
    ctx.add_content(&user, &cube, "I moved to Lisbon in March.")
        .await?;
    let ex = ctx
        .send(
            Req::post(&["chat"])
                .json(json!({"user_id": user, "query": "Where do I live?"}))
                .label("ask about a memory"),
        )
        .await;
    let body = ex.expect_success()?;
    match body.get("data").and_then(Value::as_str) {
        Some(answer) if !answer.trim().is_empty() => Ok(Verdict::Pass),
        _ => fail(format!(
            "the chat answer is not a non-empty string: data is {}",
            body["data"]
        )),
    }
}

async fn rejects_unknown_user(ctx: &mut Ctx) -> CaseResult {
    let ex = ctx
        .send(
            Req::post(&["chat"])
                .json(json!({"user_id": ctx.user("nobody"), "query": "Who am I?"}))
                .label("chat as a user that was never created"),
        )
        .await;
    ex.expect_client_error()?;
    Ok(Verdict::Pass)
}

async fn rejects_missing_query(ctx: &mut Ctx) -> CaseResult {
    let user = ctx.create_user("owner").await?;
    let ex = ctx
        .send(
            Req::post(&["chat"])
                .json(json!({"user_id": user, "message": "the published reference's field name"}))
                .label("chat without query"),
        )
        .await;
    ex.expect_client_error()?;
    Ok(Verdict::Pass)
}

async fn rejects_malformed_json(ctx: &mut Ctx) -> CaseResult {
    let user = ctx.create_user("owner").await?;
    let text = format!("{{\"user_id\": \"{user}\", \"query\": ");
    let ex = ctx
        .send(
            Req::post(&["chat"])
                .raw(Some("application/json"), text.as_bytes())
                .label("a body cut short"),
        )
        .await;
    ex.expect_client_error()?;
    Ok(Verdict::Pass)
}
