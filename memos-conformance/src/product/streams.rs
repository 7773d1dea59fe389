//! Chat: the complete answer, and the stream's event grammar.

use serde_json::{json, Value};

use super::sse::{event_type, frames};
use super::{add_text, expect_validation_error, post};
use crate::api::Api;
use crate::cases::{case, Case};
use crate::context::{fail, CaseResult, Ctx, Stop, Verdict};
use crate::exchange::Req;
use crate::recorder::Exchange;
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
            "the stream is text/event-stream frames `data: <ChatStreamEvent>`: text and reasoning pieces only (2.0.33 sends no end frame here)"
        ),
        case!(
            "chat_stream_playground",
            frames_follow_grammar = playground_frames_follow_grammar,
            "the playground stream is frames of ChatStreamEvent with text pieces, ending with an end frame"
        ),
        case!(
            "chat_stream_business_user",
            rejects_invalid_business_key,
            "a business stream with a business_key the server does not know is refused with a 4xx"
        ),
        case!(
            "scheduler_wait_stream",
            idle_user_ends_idle,
            "the progress stream of a user without tasks is SchedulerProgressEvent frames ending idle"
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

/// The frames of a 200 stream, each valid against `components.schemas.<schema>`.
fn stream_frames(ex: &Exchange, schema: &str) -> Result<Vec<Value>, Stop> {
    let response = match &ex.outcome {
        Ok(r) if r.status == 200 => r,
        _ => {
            ex.expect_success()?;
            return fail(format!("{} did not answer 200", ex.name()));
        }
    };
    let event_schema = Spec::embedded_for(Api::Product)
        .and_then(|spec| spec.component(schema))
        .map_err(|e| Stop::Fail(format!("the product spec's {schema}: {e}")))?;
    let mut values = Vec::new();
    for (i, frame) in frames(&String::from_utf8_lossy(&response.body))
        .into_iter()
        .enumerate()
    {
        let value =
            frame.map_err(|e| Stop::Fail(format!("frame {} of {}: {e}", i + 1, ex.name())))?;
        let problems = event_schema.problems(&value);
        if !problems.is_empty() {
            return fail(format!(
                "frame {} of {} is not a {schema}: {}",
                i + 1,
                ex.name(),
                problems.join("; ")
            ));
        }
        values.push(value);
    }
    Ok(values)
}

/// How a chat stream ends, as the spec documents each route.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Ending {
    /// `/chat/stream`: `text` and `reasoning` frames only, the last one ends the stream.
    LastPiece,
    /// The playground: an `end` frame last.
    EndFrame,
}

/// A chat stream's frames: valid events, at least one text piece, and the ending the route
/// documents.
fn chat_frames_follow_grammar(ex: &Exchange, ending: Ending) -> CaseResult {
    let types: Vec<String> = stream_frames(ex, "ChatStreamEvent")?
        .iter()
        .map(|v| event_type(v).unwrap_or_default().to_owned())
        .collect();
    if !types.iter().any(|t| t == "text") {
        return fail(format!(
            "{} has no text frame (frame types: {})",
            ex.name(),
            types.join(", ")
        ));
    }
    if ending == Ending::LastPiece {
        if let Some(other) = types.iter().find(|t| *t != "text" && *t != "reasoning") {
            return fail(format!(
                "{} sent a {other:?} frame, where only text and reasoning pieces are documented (frame types: {})",
                ex.name(),
                types.join(", ")
            ));
        }
    } else if types.last().map(String::as_str) != Some("end") {
        return fail(format!(
            "{} ends without an `end` frame (frame types: {})",
            ex.name(),
            types.join(", ")
        ));
    }
    Ok(Verdict::Pass)
}

async fn frames_follow_grammar(ctx: &mut Ctx) -> CaseResult {
    let body = chat_body(ctx).await?;
    let ex = ctx
        .send(post(&["chat", "stream"], body).label("streamed chat over the case's cube"))
        .await;
    chat_frames_follow_grammar(&ex, Ending::LastPiece)
}

async fn playground_frames_follow_grammar(ctx: &mut Ctx) -> CaseResult {
    let body = chat_body(ctx).await?;
    let ex = ctx
        .send(
            post(&["chat", "stream", "playground"], body)
                .label("playground chat over the case's cube"),
        )
        .await;
    let verdict = chat_frames_follow_grammar(&ex, Ending::EndFrame);
    // 2.0.33 stores the turn in the background even with `add_message_on_answer: false`:
    // the question while it streams, then the question and the answer after the `end`
    // frame (three memories, beside the case's own one). Cleanup must find all of them,
    // and the recording must not depend on how far the background got: wait for all four.
    super::wait_for_background_store(ctx, &ctx.user("u"), &ctx.cube("notes"), 4).await;
    verdict
}

async fn rejects_invalid_business_key(ctx: &mut Ctx) -> CaseResult {
    let mut body = chat_body(ctx).await?;
    body["business_key"] = json!(format!("{}-not-a-key", ctx.namespace()));
    let ex = ctx
        .send(
            post(&["chat", "stream", "business_user"], body)
                .label("a business_key the server does not know"),
        )
        .await;
    ex.expect_client_error()?;
    Ok(Verdict::Pass)
}

async fn idle_user_ends_idle(ctx: &mut Ctx) -> CaseResult {
    let user = ctx.user("u");
    let ex = ctx
        .send(
            Req::get(&["product", "scheduler", "wait", "stream"])
                .query("user_name", &user)
                .query("timeout_seconds", "5")
                .label("progress of a user without tasks"),
        )
        .await;
    let frames = stream_frames(&ex, "SchedulerProgressEvent")?;
    match frames.last().and_then(|v| v.get("status")).and_then(Value::as_str) {
        Some("idle") => Ok(Verdict::Pass),
        other => fail(format!(
            "GET /product/scheduler/wait/stream for a user without tasks ended with status {other:?}, not \"idle\""
        )),
    }
}

async fn chat_stream_rejects_missing_query(ctx: &mut Ctx) -> CaseResult {
    let user = ctx.user("u");
    let ex = ctx
        .send(post(&["chat", "stream"], json!({"user_id": user})).label("no query"))
        .await;
    expect_validation_error(&ex)?;
    Ok(Verdict::Pass)
}
