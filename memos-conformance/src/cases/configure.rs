//! `POST /configure`. Every case here needs `--allow-configure`: even a rejected call
//! goes to the endpoint that replaces the whole server's configuration.

use serde_json::{json, Value};

use super::definition::{case, Case};
use crate::context::{fail, CaseResult, Ctx, Stop, Verdict};
use crate::exchange::Req;

pub(super) fn cases() -> Vec<Case> {
    vec![
        case!(
            "configure",
            applies_valid_config,
            "a valid MOSConfig (--configure-body) is applied: 200, and /users/me then answers with its user_id"
        ),
        case!(
            "configure",
            rejects_unknown_field,
            "a config with an unknown field is refused with a documented 4xx and the current user stays the same"
        ),
        case!(
            "configure",
            rejects_wrong_type,
            "a config with a wrong-typed field (top_k as a string) is refused with a documented 4xx"
        ),
    ]
}

fn configure_body(ctx: &Ctx) -> Result<Value, Stop> {
    ctx.settings().configure_body.clone().ok_or_else(|| {
        Stop::Skip(
            "needs the server's configuration to apply: pass --configure-body FILE (a MOSConfig JSON)".into(),
        )
    })
}

async fn current_user(ctx: &Ctx, label: &str) -> Result<Option<String>, Stop> {
    let ex = ctx.send(Req::get(&["users", "me"]).label(label)).await;
    let body = ex.expect_success()?;
    Ok(body
        .pointer("/data/user_id")
        .and_then(Value::as_str)
        .map(str::to_owned))
}

async fn applies_valid_config(ctx: &mut Ctx) -> CaseResult {
    ctx.require_allow_configure()?;
    let body = configure_body(ctx)?;
    let ex = ctx
        .send(
            Req::post(&["configure"])
                .json(body.clone())
                .label("apply the operator's configuration"),
        )
        .await;
    // Loaded cubes are dropped by a configure, whatever the answer.
    ctx.forget_all_cubes();
    ex.expect_success()?;
    let user = current_user(ctx, "the configured user is now the current user").await?;
    if let Some(expected) = body.get("user_id").and_then(Value::as_str) {
        if user.as_deref() != Some(expected) {
            return fail(format!(
                "after /configure with user_id {expected:?}, GET /users/me answers user {user:?}"
            ));
        }
    }
    Ok(Verdict::Pass)
}

/// Sends a bad config and expects a refusal that leaves the server as it was. If the
/// server accepts it anyway, the operator's configuration is applied again.
async fn refuses_bad_config(ctx: &Ctx, bad: Value, what: &str) -> CaseResult {
    let before = current_user(ctx, "the current user before").await?;
    let ex = ctx
        .send(
            Req::post(&["configure"])
                .json(bad)
                .label(format!("a config with {what}")),
        )
        .await;
    if ex.status().is_some_and(|s| (200..300).contains(&s)) {
        ctx.forget_all_cubes();
        if let Some(body) = ctx.settings().configure_body.clone() {
            ctx.send(
                Req::post(&["configure"])
                    .json(body)
                    .label("restore the operator's configuration"),
            )
            .await;
        }
    }
    ex.expect_client_error()?;
    let after = current_user(ctx, "the current user after").await?;
    if before != after {
        return fail(format!(
            "the refused config still changed the current user from {before:?} to {after:?}"
        ));
    }
    Ok(Verdict::Pass)
}

/// The operator's configuration with one field changed, so the refusal can only be
/// for that field; without `--configure-body`, a minimal config (which the reference
/// server also refuses for its missing `mem_reader`).
fn with_field(ctx: &Ctx, key: &str, value: Value) -> Value {
    let mut body = match ctx.settings().configure_body.clone() {
        Some(Value::Object(map)) => Value::Object(map),
        _ => json!({"user_id": ctx.user("config")}),
    };
    if let Some(map) = body.as_object_mut() {
        map.insert(key.to_owned(), value);
    }
    body
}

async fn rejects_unknown_field(ctx: &mut Ctx) -> CaseResult {
    ctx.require_allow_configure()?;
    let bad = with_field(ctx, "memos_conformance_unknown_field", json!(true));
    refuses_bad_config(ctx, bad, "an unknown field").await
}

async fn rejects_wrong_type(ctx: &mut Ctx) -> CaseResult {
    ctx.require_allow_configure()?;
    let bad = with_field(ctx, "top_k", json!("five"));
    refuses_bad_config(ctx, bad, "top_k as a string").await
}
