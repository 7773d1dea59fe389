//! Liveness and the scheduler's read-only routes.
//!
//! `scheduler_task_queue_status` runs only with `--destructive`: on a server whose queue is
//! not Redis, 2.0.33 first tries to start `redis-server` (a process on the server, started
//! by a request) before it answers 503.

use serde_json::Value;

use super::{expect_envelope_success, get, require_destructive};
use crate::cases::{case, Case};
use crate::context::{fail, CaseResult, Ctx, Verdict};
use crate::exchange::Req;

pub(super) fn cases() -> Vec<Case> {
    vec![
        case!(
            "health_check",
            answers_healthy,
            "GET /health answers 200 with status \"healthy\""
        ),
        case!(
            "scheduler_all_status",
            summarises_tasks,
            "GET /product/scheduler/allstatus answers the task summary envelope"
        ),
        case!(
            "scheduler_status",
            lists_user_tasks,
            "GET /product/scheduler/status lists the tasks of the case's own user (a list)"
        ),
        case!(
            "scheduler_status",
            unknown_task_is_404,
            "GET /product/scheduler/status with a task_id nobody has answers 404, an envelope"
        ),
        case!(
            "scheduler_wait",
            idle_user_answers_at_once,
            "POST /product/scheduler/wait for a user without tasks answers idle"
        ),
        case!(
            "scheduler_task_queue_status",
            reports_backlog_or_no_queue,
            "GET /product/scheduler/task_queue_status of the case's own user answers its backlog (404: none), or 503 when the queue is not Redis (--destructive)"
        ),
    ]
}

/// Why the queue status needs `--destructive`.
const MAY_START_REDIS: &str =
    "on a server without Redis it makes the server try to start redis-server";

async fn answers_healthy(ctx: &mut Ctx) -> CaseResult {
    let ex = ctx.send(Req::get(&["health"]).label("liveness")).await;
    let body = ex.expect_success()?;
    match body.get("status").and_then(Value::as_str) {
        Some("healthy") => Ok(Verdict::Pass),
        other => fail(format!(
            "GET /health answered status {other:?}, not \"healthy\""
        )),
    }
}

async fn summarises_tasks(ctx: &mut Ctx) -> CaseResult {
    let ex = ctx
        .send(get(&["scheduler", "allstatus"]).label("the scheduler's summary"))
        .await;
    let body = expect_envelope_success(&ex)?;
    if body.pointer("/data/scheduler_summary").is_none() {
        return fail("GET /product/scheduler/allstatus has no data.scheduler_summary");
    }
    Ok(Verdict::Pass)
}

async fn lists_user_tasks(ctx: &mut Ctx) -> CaseResult {
    let user = ctx.user("u");
    let ex = ctx
        .send(
            get(&["scheduler", "status"])
                .query("user_id", &user)
                .label("the tasks of a user of the case"),
        )
        .await;
    let body = expect_envelope_success(&ex)?;
    if !body.get("data").is_some_and(Value::is_array) {
        return fail("GET /product/scheduler/status answered a data that is not a list");
    }
    Ok(Verdict::Pass)
}

async fn unknown_task_is_404(ctx: &mut Ctx) -> CaseResult {
    let user = ctx.user("u");
    let task = format!("{}-no-such-task", ctx.namespace());
    let ex = ctx
        .send(
            get(&["scheduler", "status"])
                .query("user_id", &user)
                .query("task_id", &task)
                .label("a task nobody has"),
        )
        .await;
    ex.expect_client_error()?;
    if ex.status() != Some(404) {
        return fail(format!(
            "{} answered {} for an unknown task_id; expected 404",
            ex.name(),
            ex.status().unwrap_or_default()
        ));
    }
    Ok(Verdict::Pass)
}

async fn idle_user_answers_at_once(ctx: &mut Ctx) -> CaseResult {
    let user = ctx.user("u");
    let ex = ctx
        .send(
            Req::post(&["product", "scheduler", "wait"])
                .query("user_name", &user)
                .query("timeout_seconds", "5")
                .label("wait for a user without tasks"),
        )
        .await;
    let body = ex.expect_success()?;
    match body.get("message").and_then(Value::as_str) {
        Some("idle") => Ok(Verdict::Pass),
        other => fail(format!(
            "POST /product/scheduler/wait for a user without tasks answered message {other:?}, not \"idle\""
        )),
    }
}

async fn reports_backlog_or_no_queue(ctx: &mut Ctx) -> CaseResult {
    require_destructive(ctx, MAY_START_REDIS)?;
    let user = ctx.user("u");
    let ex = ctx
        .send(
            get(&["scheduler", "task_queue_status"])
                .query("user_id", &user)
                .label("the queue backlog of a user of the case"),
        )
        .await;
    // 503 is the contract of a queue that is not Redis; 404 that of a user with no task
    // stream, as the case's new user is on a Redis queue. Each is an error envelope.
    if let Some(status @ (503 | 404)) = ex.status() {
        let body = ex.json().unwrap_or(Value::Null);
        return match body.get("code").and_then(Value::as_u64) {
            Some(code) if code == u64::from(status) => Ok(Verdict::Pass),
            _ => fail(format!(
                "{} answered {status} without the error envelope (code {status})",
                ex.name()
            )),
        };
    }
    let body = expect_envelope_success(&ex)?;
    match body.pointer("/data/user_id").and_then(Value::as_str) {
        Some(got) if got == user => Ok(Verdict::Pass),
        other => fail(format!(
            "GET /product/scheduler/task_queue_status answered data.user_id {other:?}, not the user asked for"
        )),
    }
}
