//! The suite for the `/product` API of MemoryOS 2.0.33 and later
//! (`openapi/memos-product.yaml`): its cases, grouped by operation, run by the same runner
//! and checked by the same exchange checks as the v1 cases.
//!
//! Safety: every user id and cube id a case sends starts with the case's namespace (the
//! run prefix and the case name). Cube ids are free-form partitions on this server: adding
//! to a cube id nobody created works, so each case writes only to cube ids of its own, and
//! cleanup deletes exactly what those cubes list (see [`cleanup`]). What cannot be undone
//! (a cube created in the server's user database, which no route removes) runs only with
//! `--destructive`.

pub(crate) mod cleanup;
mod cubes;
pub(crate) mod defects;
mod internal;
mod memories;
mod probes;
mod reads;
mod search;
mod security;
mod sse;
mod streams;
pub(crate) mod varying;

use serde_json::{json, Value};

use crate::cases::Case;
use crate::context::{fail, Ctx, Stop};
use crate::exchange::Req;
use crate::recorder::Exchange;

/// Every product case after `meta.server_version`, in run order.
pub fn cases() -> Vec<Case> {
    let mut cases = Vec::new();
    cases.extend(probes::cases());
    cases.extend(memories::cases());
    cases.extend(reads::cases());
    cases.extend(search::cases());
    cases.extend(cubes::cases());
    cases.extend(internal::cases());
    cases.extend(streams::cases());
    cases.extend(security::cases());
    cases
}

/// A `/product/...` request.
fn product<'a>(route: &[&'a str]) -> Vec<&'a str> {
    let mut segments = vec!["product"];
    segments.extend_from_slice(route);
    segments
}

/// `POST /product/<route>` with a JSON body.
pub(crate) fn post(route: &[&str], body: Value) -> Req {
    Req::post(&product(route)).json(body)
}

/// `GET /product/<route>`.
pub(crate) fn get(route: &[&str]) -> Req {
    Req::get(&product(route))
}

/// A memory the server stored: its id and text.
#[derive(Debug, Clone)]
pub(crate) struct Stored {
    pub(crate) id: String,
    pub(crate) memory: String,
}

/// Adds `text` to `cube` as `user`, synchronously and without the LLM extraction
/// (`mode: fast`), so that what is stored is the text and it is stored when the call
/// returns; the cube is cleaned up after the case. Returns what the answer lists.
pub(crate) async fn add_text(
    ctx: &Ctx,
    user: &str,
    cube: &str,
    text: &str,
) -> Result<Vec<Stored>, Stop> {
    ctx.track_product_cube(cube, user);
    let ex = ctx
        .send(
            post(
                &["add"],
                json!({
                    "user_id": user,
                    "writable_cube_ids": [cube],
                    "async_mode": "sync",
                    "mode": "fast",
                    "messages": [{"role": "user", "content": text}],
                }),
            )
            .label("add a memory to the case's cube"),
        )
        .await;
    let body = expect_envelope_success(&ex)?;
    let added: Vec<Stored> = body
        .get("data")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|item| {
            Some(Stored {
                id: item.get("memory_id")?.as_str()?.to_owned(),
                memory: item.get("memory")?.as_str()?.to_owned(),
            })
        })
        .collect();
    if added.is_empty() {
        return fail(format!(
            "{} answered 200 but listed no stored memory",
            ex.name()
        ));
    }
    Ok(added)
}

/// The text memories `cube` lists (`POST /product/get_memory`).
pub(crate) async fn list(
    ctx: &Ctx,
    user: &str,
    cube: &str,
    label: &str,
) -> Result<Vec<Stored>, Stop> {
    let ex = ctx
        .send(cleanup::list_request(cube, user).label(label))
        .await;
    let body = expect_envelope_success(&ex)?;
    Ok(memories_of(&body, "/data/text_mem", cube))
}

/// How often, and how far apart, [`wait_for_background_store`] lists the cube: up to 20 s.
const BACKGROUND_POLLS: usize = 200;
const BACKGROUND_POLL_INTERVAL: std::time::Duration = std::time::Duration::from_millis(100);

/// The step header of [`wait_for_background_store`]'s listings, which are outside the
/// case's steps; the mock answers them with the cube's last recorded listing.
pub(crate) const BACKGROUND_POLL_STEP: &str = "background-poll";

/// Waits until `cube` lists at least `expected` memories (the case's own and what the
/// server stores in the background after a call), or until the polls run out. Not a
/// check, and not a step of the case: how many polls it takes varies from run to run, so
/// they are neither checked nor recorded, and the steps after it (cleanup's listing
/// included) see the cube as the background left it, the same in every run.
pub(crate) async fn wait_for_background_store(ctx: &Ctx, user: &str, cube: &str, expected: usize) {
    let listing = cleanup::list_request(cube, user);
    for _ in 0..BACKGROUND_POLLS {
        match ctx.send_unrecorded(&listing, BACKGROUND_POLL_STEP).await {
            Ok((200, body)) if memories_of(&body, "/data/text_mem", cube).len() >= expected => {
                return
            }
            Ok((200, _)) => tokio::time::sleep(BACKGROUND_POLL_INTERVAL).await,
            _ => return,
        }
    }
}

/// The memories of `cube` in the buckets at `pointer` (a list of `{cube_id, memories}`).
pub(crate) fn memories_of(body: &Value, pointer: &str, cube: &str) -> Vec<Stored> {
    body.pointer(pointer)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|entry| entry.get("cube_id").and_then(Value::as_str) == Some(cube))
        .filter_map(|entry| entry.get("memories").and_then(Value::as_array))
        .flatten()
        .filter_map(|m| {
            Some(Stored {
                id: m.get("id")?.as_str()?.to_owned(),
                memory: m.get("memory")?.as_str().unwrap_or_default().to_owned(),
            })
        })
        .collect()
}

/// Skips the case unless `--destructive` was given; `what` says what it would change.
pub(crate) fn require_destructive(ctx: &Ctx, what: &str) -> Result<(), Stop> {
    if ctx.settings().destructive {
        Ok(())
    } else {
        Err(Stop::Skip(format!("{what}: pass --destructive")))
    }
}

/// A 200 whose envelope says success (`code` 200 where there is one); its body.
pub(crate) fn expect_envelope_success(ex: &Exchange) -> Result<Value, Stop> {
    let body = ex.expect_success()?;
    match body.get("code") {
        Some(code) if code.as_u64() != Some(200) => fail(format!(
            "{} answered HTTP {} with envelope code {code}",
            ex.name(),
            ex.status().unwrap_or_default()
        )),
        _ => Ok(body),
    }
}

/// A 422 validation error in the product API's envelope: `code` 422, a `message`, and
/// FastAPI's `detail` list.
pub(crate) fn expect_validation_error(ex: &Exchange) -> Result<(), Stop> {
    ex.expect_client_error()?;
    if ex.status() != Some(422) {
        return fail(format!(
            "{} answered {}; expected 422 for a request the schema refuses",
            ex.name(),
            crate::check::describe_outcome(&ex.outcome)
        ));
    }
    let body = ex.json().unwrap_or(Value::Null);
    if !body.get("detail").is_some_and(Value::is_array) {
        return fail(format!(
            "{} answered 422 without the `detail` list of the problems",
            ex.name()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_has_a_case() {
        let spec = crate::spec::Spec::embedded_for(crate::api::Api::Product).expect("spec");
        let cases = cases();
        let missing: Vec<&str> = spec
            .operations
            .iter()
            .map(|op| op.id.as_str())
            .filter(|id| !cases.iter().any(|c| c.group == *id))
            .collect();
        assert_eq!(missing, Vec::<&str>::new());
    }

    #[test]
    fn product_case_names_are_unique_and_grouped_by_an_operation_of_the_spec() {
        let spec = crate::spec::Spec::embedded_for(crate::api::Api::Product).expect("spec");
        let cases = cases();
        for (i, c) in cases.iter().enumerate() {
            assert!(c.name.starts_with(&format!("{}.", c.group)), "{}", c.name);
            assert!(!cases[..i].iter().any(|d| d.name == c.name), "{}", c.name);
            assert!(
                c.group == "security" || spec.operations.iter().any(|op| op.id == c.group),
                "{} is grouped by no operation",
                c.name
            );
        }
    }
}
