//! Search: what was added is found in the cube it was added to, and a search without a
//! query is refused.

use serde_json::json;

use super::{add_text, expect_envelope_success, expect_validation_error, memories_of, post};
use crate::cases::{case, Case};
use crate::context::{fail, CaseResult, Ctx, Verdict};

pub(super) fn cases() -> Vec<Case> {
    vec![
        case!(
            "search_memories",
            finds_added_memory,
            "a search for the words of an added memory finds it in text_mem of its cube"
        ),
        case!(
            "search_memories",
            rejects_missing_query,
            "a search without query is refused with 422 and detail"
        ),
    ]
}

async fn finds_added_memory(ctx: &mut Ctx) -> CaseResult {
    let user = ctx.user("u");
    let cube = ctx.cube("notes");
    let added = add_text(
        ctx,
        &user,
        &cube,
        &format!("{} moved to Lisbon in March.", ctx.namespace()),
    )
    .await?;
    let ex = ctx
        .send(
            post(
                &["search"],
                json!({
                    "user_id": user,
                    "query": "Where did they move in March? Lisbon",
                    "readable_cube_ids": [cube],
                    "mode": "fast",
                    "top_k": 10,
                    // Any similarity counts: the test is whether search sees the memory,
                    // not how a server's embedder scores it.
                    "relativity": 0,
                }),
            )
            .label("search the case's cube"),
        )
        .await;
    let body = expect_envelope_success(&ex)?;
    let found = memories_of(&body, "/data/text_mem", &cube);
    if !found.iter().any(|m| m.id == added[0].id) {
        return fail(format!(
            "POST /product/search found nothing of the added memory in text_mem of its cube ({} found)",
            found.len()
        ));
    }
    Ok(Verdict::Pass)
}

async fn rejects_missing_query(ctx: &mut Ctx) -> CaseResult {
    let user = ctx.user("u");
    let cube = ctx.cube("notes");
    let ex = ctx
        .send(
            post(
                &["search"],
                json!({"user_id": user, "readable_cube_ids": [cube]}),
            )
            .label("no query"),
        )
        .await;
    expect_validation_error(&ex)?;
    Ok(Verdict::Pass)
}
