//! Cubes: creating one, and asking whether an id exists.
//!
//! A created cube stays in the server's user database (no operation removes cubes), and
//! only `root` can own one on a fresh server, so every case that sends `create_cube` runs
//! only with `--destructive`, with an id of the case's namespace: even the one that
//! expects a refusal, since a server that accepts it keeps the cube.

use serde_json::{json, Value};

use super::{expect_envelope_success, post};
use crate::cases::{case, Case};
use crate::context::{fail, CaseResult, Ctx, Verdict};

/// Why creating a cube needs `--destructive`.
const CREATES_A_CUBE: &str = "creates a cube owned by root that no operation can remove";
/// The one owner a fresh server has (no operation creates users).
const OWNER: &str = "root";

pub(super) fn cases() -> Vec<Case> {
    vec![
        case!(
            "create_cube",
            creates_cube,
            "creating a cube with a given id answers that id, and the id then exists (--destructive)"
        ),
        case!(
            "create_cube",
            rejects_duplicate_id,
            "creating a cube whose id exists is refused with a 4xx (--destructive)"
        ),
        case!(
            "create_cube",
            rejects_unknown_owner,
            "creating a cube for an owner that does not exist is refused with a 4xx (--destructive)"
        ),
        case!(
            "exist_mem_cube_id",
            unknown_cube_is_false,
            "an id nobody created answers {<id>: false}"
        ),
    ]
}

async fn create(ctx: &Ctx, cube: &str, label: &str) -> crate::recorder::Exchange {
    ctx.send(
        post(
            &["create_cube"],
            json!({"cube_name": cube, "owner_id": OWNER, "cube_id": cube}),
        )
        .label(label),
    )
    .await
}

/// The `{<id>: bool}` answer of `exist_mem_cube_id` for `cube`.
async fn exists(ctx: &Ctx, cube: &str, label: &str) -> Result<Option<bool>, crate::context::Stop> {
    let ex = ctx
        .send(post(&["exist_mem_cube_id"], json!({"mem_cube_id": cube})).label(label))
        .await;
    let body = expect_envelope_success(&ex)?;
    Ok(body
        .pointer("/data")
        .and_then(|d| d.get(cube))
        .and_then(Value::as_bool))
}

async fn creates_cube(ctx: &mut Ctx) -> CaseResult {
    super::require_destructive(ctx, CREATES_A_CUBE)?;
    let cube = ctx.cube("created");
    let ex = create(ctx, &cube, "create a cube").await;
    let body = expect_envelope_success(&ex)?;
    if body.pointer("/data/cube_id").and_then(Value::as_str) != Some(cube.as_str()) {
        return fail("POST /product/create_cube did not answer the cube_id it was given");
    }
    match exists(ctx, &cube, "the created cube exists").await? {
        Some(true) => Ok(Verdict::Pass),
        other => fail(format!(
            "POST /product/exist_mem_cube_id of the created cube answered {other:?}, not true"
        )),
    }
}

async fn rejects_duplicate_id(ctx: &mut Ctx) -> CaseResult {
    super::require_destructive(ctx, CREATES_A_CUBE)?;
    let cube = ctx.cube("twice");
    expect_envelope_success(&create(ctx, &cube, "create a cube").await)?;
    let again = create(ctx, &cube, "create it again").await;
    again.expect_client_error()?;
    Ok(Verdict::Pass)
}

async fn rejects_unknown_owner(ctx: &mut Ctx) -> CaseResult {
    // A server that accepts the unknown owner keeps the cube, as for its siblings.
    super::require_destructive(ctx, CREATES_A_CUBE)?;
    let cube = ctx.cube("orphan");
    let owner = ctx.user("nobody");
    let ex = ctx
        .send(
            post(
                &["create_cube"],
                json!({"cube_name": cube, "owner_id": owner, "cube_id": cube}),
            )
            .label("an owner that does not exist"),
        )
        .await;
    ex.expect_client_error()?;
    Ok(Verdict::Pass)
}

async fn unknown_cube_is_false(ctx: &mut Ctx) -> CaseResult {
    let cube = ctx.cube("never-created");
    match exists(ctx, &cube, "an id nobody created").await? {
        Some(false) => Ok(Verdict::Pass),
        other => fail(format!(
            "POST /product/exist_mem_cube_id of an id nobody created answered {other:?}, not false"
        )),
    }
}
