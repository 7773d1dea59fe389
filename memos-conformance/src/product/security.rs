//! Security probes of the product API, reported as warnings with a risk and a fix. Each
//! acts only on user and cube ids of its own namespace.

use serde_json::json;

use super::{add_text, expect_envelope_success, list, post, require_destructive};
use crate::cases::{case, Case};
use crate::check::describe_outcome;
use crate::context::{fail, warning, CaseResult, Ctx, Verdict};
use crate::exchange::AuthMode;

/// Why the doc_path probe needs `--destructive`.
const READS_A_DIRECTORY: &str =
    "names a server-side directory as doc_path, which a server whose doc_path works ingests";

pub(super) fn cases() -> Vec<Case> {
    vec![
        case!(
            "security",
            unauthenticated_requests_accepted,
            "warns when a request without credentials is answered instead of refused with 401/403"
        ),
        case!(
            "security",
            other_users_cube_readable,
            "warns when a user_id reads another user's cube: the user_id of the body is trusted as sent"
        ),
        case!(
            "security",
            delete_by_id_ignores_cube,
            "warns when a delete by memory id removes a memory of a cube the request does not name"
        ),
        case!(
            "security",
            doc_path_reads_server_files,
            "warns when doc_path makes the server store what a server-side path holds (--destructive, --doc-path)"
        ),
    ]
}

async fn unauthenticated_requests_accepted(ctx: &mut Ctx) -> CaseResult {
    let user = ctx.user("u");
    let cube = ctx.cube("notes");
    let ex = ctx
        .send(
            post(
                &["get_memory"],
                json!({"mem_cube_id": cube, "user_id": user}),
            )
            .auth(AuthMode::Omit)
            .auth_probe()
            .label("list a cube without credentials"),
        )
        .await;
    match ex.status() {
        Some(401 | 403) => Ok(Verdict::Pass),
        Some(s) if (200..300).contains(&s) => warning(
            "requests without credentials are accepted",
            "anyone who can reach the server can read, change and delete every user's memories",
            "put an authenticating reverse proxy in front of the server and expose it only to trusted networks",
            format!(
                "POST /product/get_memory without an Authorization header answered {}",
                describe_outcome(&ex.outcome)
            ),
        ),
        _ => fail(format!(
            "POST /product/get_memory without credentials answered {}; expected 401/403 or a success",
            describe_outcome(&ex.outcome)
        )),
    }
}

async fn other_users_cube_readable(ctx: &mut Ctx) -> CaseResult {
    let (alice, bob) = (ctx.user("alice"), ctx.user("bob"));
    let cube = ctx.cube("alice");
    let added = add_text(
        ctx,
        &alice,
        &cube,
        &format!("{} alice's secret.", ctx.namespace()),
    )
    .await?;
    let seen = list(ctx, &bob, &cube, "bob lists alice's cube").await?;
    if seen.iter().any(|m| m.id == added[0].id) {
        warning(
            "any caller can act as any user_id",
            "the user_id in the body alone picks the acting user, so one caller reads every user's memories",
            "derive the acting user from an authenticated credential and check it against the cube's owner",
            format!("POST /product/get_memory as {bob} listed the memory {alice} added to {cube}"),
        )
    } else {
        Ok(Verdict::Pass)
    }
}

async fn delete_by_id_ignores_cube(ctx: &mut Ctx) -> CaseResult {
    let alice = ctx.user("alice");
    let (alice_cube, bob_cube) = (ctx.cube("alice"), ctx.cube("bob"));
    let added = add_text(
        ctx,
        &alice,
        &alice_cube,
        &format!("{} kept.", ctx.namespace()),
    )
    .await?;
    let ex = ctx
        .send(
            post(
                &["delete_memory"],
                json!({"writable_cube_ids": [bob_cube], "memory_ids": [added[0].id]}),
            )
            .label("delete alice's memory naming bob's cube"),
        )
        .await;
    expect_envelope_success(&ex).or_else(|_| ex.expect_client_error().map(|()| json!(null)))?;
    let left = list(ctx, &alice, &alice_cube, "alice lists her cube").await?;
    if left.iter().any(|m| m.id == added[0].id) {
        return Ok(Verdict::Pass);
    }
    warning(
        "a delete by id reaches any cube",
        "a caller deletes any memory whose id it learns, whatever cube it names",
        "delete only memories of the cubes in writable_cube_ids that the acting user may write",
        format!(
            "POST /product/delete_memory naming only {bob_cube} deleted the memory {alice} added to {alice_cube}"
        ),
    )
}

async fn doc_path_reads_server_files(ctx: &mut Ctx) -> CaseResult {
    require_destructive(ctx, READS_A_DIRECTORY)?;
    let doc_path = ctx.doc_path()?;
    let user = ctx.user("u");
    let cube = ctx.cube("docs");
    ctx.track_product_cube(&cube, &user);
    let ex = ctx
        .send(
            post(
                &["add"],
                json!({
                    "user_id": user,
                    "writable_cube_ids": [cube],
                    "async_mode": "sync",
                    "mode": "fast",
                    "doc_path": doc_path,
                }),
            )
            .label("doc_path names a server-side directory"),
        )
        .await;
    if ex.status().is_some_and(|s| (400..500).contains(&s)) {
        return Ok(Verdict::Pass);
    }
    expect_envelope_success(&ex)?;
    let stored = list(ctx, &user, &cube, "what the doc_path add stored").await?;
    // What a server that does not read the path stores: a placeholder, or the request's
    // empty messages.
    let read = stored
        .iter()
        .filter(|m| !m.memory.contains("[File: unknown]") && !m.memory.contains("[None]"))
        .count();
    if read == 0 {
        return Ok(Verdict::Pass);
    }
    warning(
        "doc_path reads server-side files",
        "a caller makes the server ingest files it can read (configs, keys) and reads them back as memories",
        "refuse doc_path from API callers, or confine it to an upload directory",
        format!("POST /product/add with doc_path {doc_path:?} stored {read} memories from it"),
    )
}
