//! Chat: the complete answer, and the stream's event grammar.

use serde_json::{json, Value};

use super::sse::{event_type, frames};
use super::{add_text, expect_validation_error, post};
use crate::api::Api;
use crate::cases::{case, Case};
use crate::context::{fail, CaseResult, Ctx, Stop, Verdict};
use crate::spec::Spec;

pub(super) fn cases() -> Vec<Case> {
    vec![
        case!(
            "chat_complete",
            answers_query,
            "a chat over the case's cube answers {message, data: {response}} with a non-empty response"
        ),
        case!(
            "chat_complete",
            rejects_missing_query,
            "a chat without query is refused with 422 and detail"
        ),
        case!(
            "chat_stream",
            frames_follow_grammar,
            "the stream is text/event-stream frames `data: <ChatStreamEvent>`, text pieces, ending with an end frame"
        ),
        case!(
            "chat_stream",
            rejects_missing_query = chat_stream_rejects_missing_query,
            "a streamed chat without query is refused with 422 and detail before any stream"
        ),
    ]
}

/// A chat request over the case's own cube that stores nothing.
async fn chat_body(ctx: &Ctx) -> Result<Value, Stop> {
    let user = ctx.user("u");
    let cube = ctx.cube("notes");
    add_text(
        ctx,
        &user,
        &cube,
        &format!("{} lives in Lisbon.", ctx.namespace()),
    )
    .await?;
    Ok(json!({
        "user_id": user,
        "query": "Where do I live?",
        "readable_cube_ids": [cube],
        "writable_cube_ids": [cube],
        "add_message_on_answer": false,
    }))
}

async fn answers_query(ctx: &mut Ctx) -> CaseResult {
    let body = chat_body(ctx).await?;
    let ex = ctx
        .send(post(&["chat", "complete"], body).label("chat over the case's cube"))
        .await;
    let answer = ex.expect_success()?;
    match answer.pointer("/data/response").and_then(Value::as_str) {
        Some(text) if !text.trim().is_empty() => Ok(Verdict::Pass),
        _ => fail("POST /product/chat/complete answered no data.response text"),
    }
}

async fn rejects_missing_query(ctx: &mut Ctx) -> CaseResult {
    let user = ctx.user("u");
    let ex = ctx
        .send(post(&["chat", "complete"], json!({"user_id": user})).label("no query"))
        .await;
    expect_validation_error(&ex)?;
    Ok(Verdict::Pass)
}

async fn frames_follow_grammar(ctx: &mut Ctx) -> CaseResult {
    let body = chat_body(ctx).await?;
    let ex = ctx
        .send(post(&["chat", "stream"], body).label("streamed chat over the case's cube"))
        .await;
    let response = match &ex.outcome {
        Ok(r) if r.status == 200 => r,
        _ => {
            ex.expect_success()?;
            return fail("POST /product/chat/stream did not answer 200");
        }
    };
    let event_schema = Spec::embedded_for(Api::Product)
        .and_then(|spec| spec.component("ChatStreamEvent"))
        .map_err(|e| Stop::Fail(format!("the product spec's ChatStreamEvent: {e}")))?;
    let frames = frames(&String::from_utf8_lossy(&response.body));
    let mut types = Vec::new();
    for (i, frame) in frames.iter().enumerate() {
        let value = frame
            .as_ref()
            .map_err(|e| Stop::Fail(format!("frame {} of the chat stream: {e}", i + 1)))?;
        let problems = event_schema.problems(value);
        if !problems.is_empty() {
            return fail(format!(
                "frame {} of the chat stream is not a ChatStreamEvent: {}",
                i + 1,
                problems.join("; ")
            ));
        }
        types.push(event_type(value).unwrap_or_default().to_owned());
    }
    if !types.iter().any(|t| t == "text") {
        return fail(format!(
            "the chat stream has no text frame (frame types: {})",
            types.join(", ")
        ));
    }
    if types.last().map(String::as_str) != Some("end") {
        return fail(format!(
            "the chat stream ends without an `end` frame (frame types: {})",
            types.join(", ")
        ));
    }
    Ok(Verdict::Pass)
}

async fn chat_stream_rejects_missing_query(ctx: &mut Ctx) -> CaseResult {
    let user = ctx.user("u");
    let ex = ctx
        .send(post(&["chat", "stream"], json!({"user_id": user})).label("no query"))
        .await;
    expect_validation_error(&ex)?;
    Ok(Verdict::Pass)
}
