//! `GET /users`.

use serde_json::{json, Value};

use super::definition::{case, Case};
use crate::context::{fail, CaseResult, Ctx, Stop, Verdict};
use crate::exchange::Req;

pub(super) fn cases() -> Vec<Case> {
    vec![case!(
        "list_users",
        lists_created_users_in_order,
        "users created by the run are listed, active, with their roles, in creation order"
    )]
}

/// Our users as listed by `GET /users`, in the server's order.
pub(super) async fn listed_users(ctx: &Ctx, label: &str) -> Result<Vec<Value>, Stop> {
    let ex = ctx.send(Req::get(&["users"]).label(label)).await;
    let body = ex.expect_success()?;
    let prefix = ctx.namespace().to_owned();
    Ok(body
        .get("data")
        .and_then(Value::as_array)
        .map(|users| {
            users
                .iter()
                .filter(|u| {
                    u.get("user_id")
                        .and_then(Value::as_str)
                        .is_some_and(|id| id.starts_with(&prefix))
                })
                .cloned()
                .collect()
        })
        .unwrap_or_default())
}

pub(super) fn find<'a>(users: &'a [Value], id: &str) -> Option<&'a Value> {
    users
        .iter()
        .find(|u| u.get("user_id").and_then(Value::as_str) == Some(id))
}

pub(super) fn field<'a>(user: &'a Value, key: &str) -> &'a str {
    user.get(key).and_then(Value::as_str).unwrap_or("(missing)")
}

async fn lists_created_users_in_order(ctx: &mut Ctx) -> CaseResult {
    let first = ctx.create_user("first").await?;
    let second = ctx
        .send(
            Req::post(&["users"])
                .json(json!({"user_id": ctx.user("second"), "role": "GUEST"}))
                .label("setup: create a GUEST user"),
        )
        .await;
    second.expect_success()?;
    let second = ctx.user("second");
    let users = listed_users(ctx, "both users are listed").await?;
    let ids: Vec<&str> = users.iter().map(|u| field(u, "user_id")).collect();
    if ids != [first.as_str(), second.as_str()] {
        return fail(format!(
            "GET /users lists the run's users as {ids:?}; expected [{first:?}, {second:?}]"
        ));
    }
    let roles: Vec<&str> = users.iter().map(|u| field(u, "role")).collect();
    if roles != ["USER", "GUEST"] {
        return fail(format!(
            "GET /users lists the roles {roles:?}; expected [\"USER\", \"GUEST\"]"
        ));
    }
    if users
        .iter()
        .any(|u| u.get("is_active") != Some(&json!(true)))
    {
        return fail("GET /users lists a new user as inactive");
    }
    Ok(Verdict::Pass)
}
