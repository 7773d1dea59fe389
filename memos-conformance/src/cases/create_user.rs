//! `POST /users`.

use serde_json::{json, Value};

use super::definition::{case, Case};
use super::list_users::{field, find, listed_users};
use crate::context::{fail, CaseResult, Ctx, Verdict};
use crate::exchange::Req;

pub(super) fn cases() -> Vec<Case> {
    vec![
        case!(
            "create_user",
            creates_listed_user,
            "a new user (role USER, with a name) gets 200 with its id and is listed with that name and role"
        ),
        case!(
            "create_user",
            role_defaults_to_user,
            "a user created without role gets 200 and is listed with the documented default role USER"
        ),
        case!(
            "create_user",
            duplicate_keeps_existing,
            "creating the same user twice answers 200 with the same id both times and lists it once"
        ),
        case!(
            "create_user",
            rejects_invalid_role,
            "an invalid role value (\"wizard\") is refused with a documented 4xx and no user is created"
        ),
        case!(
            "create_user",
            rejects_missing_user_id,
            "a body without the required user_id is refused with a documented 4xx"
        ),
        case!(
            "create_user",
            rejects_wrong_type,
            "a user_id that is a number, not a string, is refused with a documented 4xx"
        ),
        case!(
            "create_user",
            rejects_malformed_json,
            "a body that is not valid JSON is refused with a documented 4xx"
        ),
    ]
}

async fn creates_listed_user(ctx: &mut Ctx) -> CaseResult {
    let id = ctx.user("alice");
    let name = format!("{id} display name");
    let ex = ctx
        .send(
            Req::post(&["users"])
                .json(json!({"user_id": id, "user_name": name, "role": "USER"}))
                .label("create the user"),
        )
        .await;
    let body = ex.expect_success()?;
    if body.pointer("/data/user_id").and_then(Value::as_str) != Some(id.as_str()) {
        return fail(format!(
            "POST /users answered data {} instead of user_id {id:?}",
            body["data"]
        ));
    }
    let users = listed_users(ctx, "the new user is listed").await?;
    let Some(user) = find(&users, &id) else {
        return fail(format!("GET /users does not list the new user {id}"));
    };
    if field(user, "user_name") != name
        || field(user, "role") != "USER"
        || user.get("is_active") != Some(&json!(true))
    {
        return fail(format!(
            "GET /users lists {id} as user_name {:?}, role {:?}, is_active {}; expected {name:?}, USER, true",
            field(user, "user_name"),
            field(user, "role"),
            user.get("is_active").cloned().unwrap_or(Value::Null)
        ));
    }
    Ok(Verdict::Pass)
}

async fn role_defaults_to_user(ctx: &mut Ctx) -> CaseResult {
    let id = ctx.user("norole");
    let ex = ctx
        .send(
            Req::post(&["users"])
                .json(json!({"user_id": id}))
                .label("create a user without role"),
        )
        .await;
    ex.expect_success()?;
    let users = listed_users(ctx, "the user is listed with role USER").await?;
    match find(&users, &id) {
        Some(u) if field(u, "role") == "USER" => Ok(Verdict::Pass),
        Some(u) => fail(format!(
            "the user is listed with role {:?}, not the default USER",
            field(u, "role")
        )),
        None => fail(format!("GET /users does not list {id}")),
    }
}

async fn duplicate_keeps_existing(ctx: &mut Ctx) -> CaseResult {
    let id = ctx.user("twice");
    for label in ["create the user", "create the same user again"] {
        let ex = ctx
            .send(
                Req::post(&["users"])
                    .json(json!({"user_id": id, "role": "USER"}))
                    .label(label),
            )
            .await;
        let body = ex.expect_success()?;
        if body.pointer("/data/user_id").and_then(Value::as_str) != Some(id.as_str()) {
            return fail(format!(
                "{label}: data is {}, expected user_id {id:?}",
                body["data"]
            ));
        }
    }
    let users = listed_users(ctx, "the user is listed once").await?;
    let count = users
        .iter()
        .filter(|u| u.get("user_id").and_then(Value::as_str) == Some(id.as_str()))
        .count();
    if count == 1 {
        Ok(Verdict::Pass)
    } else {
        fail(format!("GET /users lists {id} {count} times"))
    }
}

/// Sends a request that must be refused and checks that no user of the namespace
/// appeared.
async fn refused_creates_nothing(ctx: &Ctx, req: Req) -> CaseResult {
    let ex = ctx.send(req).await;
    ex.expect_client_error()?;
    let users = listed_users(ctx, "no user was created").await?;
    match users.first() {
        None => Ok(Verdict::Pass),
        Some(u) => fail(format!(
            "the refused request still created user {}",
            field(u, "user_id")
        )),
    }
}

async fn rejects_invalid_role(ctx: &mut Ctx) -> CaseResult {
    let req = Req::post(&["users"])
        .json(json!({"user_id": ctx.user("wizard"), "role": "wizard"}))
        .label("an invalid role");
    refused_creates_nothing(ctx, req).await
}

async fn rejects_missing_user_id(ctx: &mut Ctx) -> CaseResult {
    let req = Req::post(&["users"])
        .json(json!({"user_name": ctx.user("nameless"), "role": "USER"}))
        .label("no user_id");
    refused_creates_nothing(ctx, req).await
}

async fn rejects_wrong_type(ctx: &mut Ctx) -> CaseResult {
    let req = Req::post(&["users"])
        .json(json!({"user_id": 42, "user_name": ctx.user("number"), "role": "USER"}))
        .label("user_id as a number");
    refused_creates_nothing(ctx, req).await
}

async fn rejects_malformed_json(ctx: &mut Ctx) -> CaseResult {
    let text = format!("{{\"user_id\": \"{}\", \"role\": ", ctx.user("broken"));
    let req = Req::post(&["users"])
        .raw(Some("application/json"), text.as_bytes())
        .label("a body cut short");
    refused_creates_nothing(ctx, req).await
}
