//! `GET /users/me`.

use serde_json::Value;

use super::definition::{case, Case};
use crate::context::{fail, CaseResult, Ctx, Verdict};
use crate::exchange::Req;

pub(super) fn cases() -> Vec<Case> {
    vec![case!(
        "get_current_user",
        returns_current_user,
        "GET /users/me answers 200 with a user and its accessible cubes"
    )]
}

async fn returns_current_user(ctx: &mut Ctx) -> CaseResult {
    let ex = ctx
        .send(Req::get(&["users", "me"]).label("the current user"))
        .await;
    let body = ex.expect_success()?;
    match body.pointer("/data/user_id").and_then(Value::as_str) {
        Some(id) if !id.is_empty() => Ok(Verdict::Pass),
        _ => fail("GET /users/me answered without a user_id"),
    }
}
