//! The proof that a cube the run registered from `--cube-path` uses storage of its own.
//!
//! Cubes registered from one directory share its storage (a `tree_text` graph, a
//! `general_text` vector collection), so emptying the run's cube could empty an
//! operator's cube. Right after registering, before anything is added or deleted, the
//! suite lists the new cube: it must hold nothing, or only memories naming the run
//! prefix. The listing goes outside the case's steps, so the snapshots (and the requests
//! the mock replays) stay those of the case; the mock answers it with an empty cube.

use std::collections::HashSet;

use serde_json::{json, Value};

use crate::backend::Backend;
use crate::exchange::Req;
use crate::listing::cube_memories;

/// The step header value of the proof's listing.
pub const PROOF_STEP: &str = "storage-proof";

/// The listing that proves the storage of `cube` (registered for `user`).
pub fn request(user: &str, cube: &str) -> Req {
    Req::get(&["memories"])
        .query("mem_cube_id", cube)
        .query("user_id", user)
        .label("storage proof: the new cube lists nothing but the run's memories")
}

/// What the proof found.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The cube holds nothing that is not the run's.
    Own,
    /// The storage holds others' memories: the whole run must stop.
    Foreign(String),
    /// The listing could not be read: the case cannot go on, and the cube is left alone.
    Unproved(String),
}

/// Judges the answer to [`request`] for a cube registered from `cube_path`. `own_ids`
/// are the memories of cubes this case already proved: on storage shared by the
/// directory's cubes they show up in the new cube too, and they are the run's.
pub fn judge(
    answer: Result<(u16, Value), String>,
    cube: &str,
    cube_path: &str,
    run_prefix: &str,
    own_ids: &HashSet<String>,
) -> Verdict {
    let unproved = |why: String| {
        Verdict::Unproved(format!(
            "cannot prove that the storage of --cube-path {cube_path} is the run's own ({why}); \
             nothing was added to or deleted from the cube"
        ))
    };
    let (status, body) = match answer {
        Ok((status, body)) if (200..300).contains(&status) => (status, body),
        Ok((status, _)) => {
            return unproved(format!("listing the new cube {cube} answered {status}"))
        }
        Err(e) => return unproved(format!("listing the new cube {cube}: {e}")),
    };
    let memories = match cube_memories(&body, cube) {
        Ok(m) => m,
        Err(e) => {
            return unproved(format!(
                "listing the new cube {cube} answered {status}: {e}"
            ))
        }
    };
    let foreign = memories
        .iter()
        .filter(|m| !m.memory.contains(run_prefix) && !own_ids.contains(&m.id))
        .count();
    if foreign == 0 {
        return Verdict::Own;
    }
    Verdict::Foreign(format!(
        "stopped: the cube directory --cube-path {cube_path} is not empty scratch storage: the freshly \
         registered cube {cube} lists {foreign} memor{} the run did not add. Cubes registered from one \
         directory share its storage, so the suite added and deleted nothing there, unregistered its \
         cube and ran no further cases. Pass an empty scratch directory as --cube-path",
        if foreign == 1 { "y" } else { "ies" }
    ))
}

/// The mock's answer to [`request`]: the snapshots were recorded from fresh cubes, which
/// list nothing (`tree_text` lists an empty graph).
pub fn empty_listing(cube: &str, backend: Backend) -> Value {
    let memories = match backend {
        Backend::TreeText => json!({"nodes": [], "edges": [], "total_nodes": 0, "total_edges": 0}),
        Backend::NaiveText | Backend::GeneralText => json!([]),
    };
    json!({
        "code": 200,
        "message": "Memories retrieved successfully",
        "data": {"para_mem": [], "act_mem": [], "text_mem": [{"cube_id": cube, "memories": memories}]}
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listing(cube: &str, memories: Value) -> Result<(u16, Value), String> {
        Ok((
            200,
            json!({"data": {"text_mem": [{"cube_id": cube, "memories": memories}]}}),
        ))
    }

    #[test]
    fn an_empty_cube_or_the_runs_own_memories_are_own() {
        assert_eq!(
            judge(
                listing("c", json!([])),
                "c",
                "/d",
                "conf-1",
                &HashSet::new()
            ),
            Verdict::Own
        );
        let own = json!([{"id": "1", "memory": "note conf-1-x"}]);
        assert_eq!(
            judge(listing("c", own), "c", "/d", "conf-1", &HashSet::new()),
            Verdict::Own
        );
    }

    #[test]
    fn foreign_memories_in_either_shape_stop_the_run_naming_the_directory() {
        let list = json!([{"id": "1", "memory": "prod"}, {"id": "2", "memory": "prod 2"}]);
        let graph = json!({"nodes": [{"id": "1", "memory": "prod"}], "edges": []});
        for (memories, count) in [(list, "2 memories"), (graph, "1 memory ")] {
            let Verdict::Foreign(message) = judge(
                listing("c", memories),
                "c",
                "/srv/prod",
                "conf-1",
                &HashSet::new(),
            ) else {
                panic!("foreign memories were taken as the run's");
            };
            assert!(message.contains("--cube-path /srv/prod"), "{message}");
            assert!(message.contains(count), "{message}");
            assert!(message.contains("empty scratch directory"), "{message}");
        }
    }

    #[test]
    fn memories_of_cubes_the_case_proved_are_its_own() {
        let shared =
            json!([{"id": "1", "memory": "added by the case"}, {"id": "2", "memory": "prod"}]);
        let own: HashSet<String> = ["1".to_owned()].into();
        let Verdict::Foreign(message) = judge(listing("c", shared), "c", "/d", "conf-1", &own)
        else {
            panic!("a foreign memory was taken as the run's");
        };
        assert!(message.contains("1 memory "), "{message}");
    }

    #[test]
    fn an_unreadable_listing_proves_nothing() {
        for answer in [
            Ok((500, json!({}))),
            Ok((200, json!({"data": {"text_mem": []}}))),
            Err("timed out".to_owned()),
        ] {
            assert!(matches!(
                judge(answer, "c", "/d", "conf-1", &HashSet::new()),
                Verdict::Unproved(_)
            ));
        }
    }
}
