//! `DELETE /memories/{mem_cube_id}/{memory_id}`.

use super::definition::{case, Case};
use super::get_memory::{user_cube_memory, UNKNOWN_MEMORY_ID};
use crate::context::{fail, CaseResult, Ctx, Listed, Stop, Verdict};
use crate::exchange::Req;

pub(super) fn cases() -> Vec<Case> {
    vec![
        case!(
            "delete_memory",
            deleted_memory_is_gone,
            "deleting one of two memories answers 200; the list then has only the other"
        ),
        case!(
            "delete_memory",
            unknown_id_changes_nothing,
            "deleting an id that does not exist answers 200 (documented no-op) or a 4xx, and keeps every memory"
        ),
        case!(
            "delete_memory",
            matches_whole_ids_only,
            "a memory_id that is two real ids concatenated deletes neither memory"
        ),
        case!(
            "delete_memory",
            rejects_user_without_access,
            "deleting another user's memory without access is refused with a documented 4xx and keeps it"
        ),
        case!(
            "delete_memory",
            rejects_unknown_cube,
            "deleting in a cube id that does not exist is refused with a documented 4xx"
        ),
    ]
}

/// A user and a cube with two memories, as listed.
async fn two_memories(ctx: &Ctx) -> Result<(String, String, Vec<Listed>), Stop> {
    let (user, cube) = ctx.user_with_cube("owner").await?;
    ctx.add_content(&user, &cube, "Memory one: the garden gate squeaks.")
        .await?;
    ctx.add_content(&user, &cube, "Memory two: the boiler is serviced in May.")
        .await?;
    let listed = ctx.list(&user, &cube, "setup: learn the ids").await?;
    if listed.len() < 2 || listed.iter().any(|m| m.id.is_empty()) {
        return fail(format!(
            "setup: expected two listed memories with ids, got {}",
            listed.len()
        ));
    }
    Ok((user, cube, listed))
}

async fn deleted_memory_is_gone(ctx: &mut Ctx) -> CaseResult {
    let (user, cube, listed) = two_memories(ctx).await?;
    let (gone, kept) = (&listed[0], &listed[1]);
    let ex = ctx
        .send(
            Req::delete(&["memories", &cube, &gone.id])
                .query("user_id", &user)
                .label("delete the first memory"),
        )
        .await;
    ex.expect_success()?;
    let after = ctx
        .list(&user, &cube, "only the second memory is left")
        .await?;
    if after.iter().any(|m| m.id == gone.id) {
        return fail("the deleted memory is still listed");
    }
    if !after.iter().any(|m| m.id == kept.id) {
        return fail("deleting one memory also removed the other");
    }
    Ok(Verdict::Pass)
}

async fn unknown_id_changes_nothing(ctx: &mut Ctx) -> CaseResult {
    let (user, cube, listed) = two_memories(ctx).await?;
    let ex = ctx
        .send(
            Req::delete(&["memories", &cube, UNKNOWN_MEMORY_ID])
                .query("user_id", &user)
                .label("delete an id that does not exist"),
        )
        .await;
    if ex.status().is_some_and(|s| !(400..500).contains(&s)) {
        ex.expect_success()?;
    }
    let after = ctx
        .list(&user, &cube, "both memories are still listed")
        .await?;
    if after == listed {
        Ok(Verdict::Pass)
    } else {
        fail(format!(
            "deleting an unknown id changed the cube: {} memories before, {} after",
            listed.len(),
            after.len()
        ))
    }
}

async fn matches_whole_ids_only(ctx: &mut Ctx) -> CaseResult {
    let (user, cube, listed) = two_memories(ctx).await?;
    let joined = format!("{}{}", listed[0].id, listed[1].id);
    let ex = ctx
        .send(
            Req::delete(&["memories", &cube, &joined])
                .query("user_id", &user)
                .label("delete the two ids concatenated"),
        )
        .await;
    if ex.status().is_some_and(|s| !(400..500).contains(&s)) {
        ex.expect_success()?;
    }
    let after = ctx
        .list(&user, &cube, "both memories are still listed")
        .await?;
    let lost = listed
        .iter()
        .filter(|m| !after.iter().any(|a| a.id == m.id))
        .count();
    if lost == 0 {
        Ok(Verdict::Pass)
    } else {
        fail(format!(
            "deleting the id {joined:?} (two real ids concatenated, no such memory) deleted {lost} memories: ids are matched by substring"
        ))
    }
}

async fn rejects_user_without_access(ctx: &mut Ctx) -> CaseResult {
    let (alice, cube, id) = user_cube_memory(ctx, "alice", "Alice keeps this one.").await?;
    let bob = ctx.create_user("bob").await?;
    let ex = ctx
        .send(
            Req::delete(&["memories", &cube, &id])
                .query("user_id", &bob)
                .label("bob deletes alice's memory"),
        )
        .await;
    ex.expect_client_error()?;
    let after = ctx
        .list(&alice, &cube, "alice's memory is still there")
        .await?;
    if after.iter().any(|m| m.id == id) {
        Ok(Verdict::Pass)
    } else {
        fail("the refused delete still removed alice's memory")
    }
}

async fn rejects_unknown_cube(ctx: &mut Ctx) -> CaseResult {
    let user = ctx.create_user("owner").await?;
    let ex = ctx
        .send(
            Req::delete(&["memories", &ctx.cube("never-registered"), UNKNOWN_MEMORY_ID])
                .query("user_id", &user)
                .label("delete in a cube that does not exist"),
        )
        .await;
    ex.expect_client_error()?;
    Ok(Verdict::Pass)
}
