//! Cleanup of a `/product` cube the case wrote to: list it, then delete exactly the ids
//! it lists.
//!
//! Cube ids are free-form partitions on the product server (nothing creates or removes
//! them), so emptying the case's own cube is all there is to undo. The ids come from the
//! listing of that cube alone, never from a search or another cube: the server deletes
//! by id whatever cube the id is in (`writable_cube_ids` is ignored), so an id that is
//! not the cube's own must never be sent.

use serde_json::{json, Value};

use crate::exchange::Req;
use crate::recorder::Recorder;

/// The ids of the text memories a `get_memories` answer lists for `cube`.
pub fn listed_ids(body: &Value, cube: &str) -> Vec<String> {
    body.pointer("/data/text_mem")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|entry| entry.get("cube_id").and_then(Value::as_str) == Some(cube))
        .filter_map(|entry| entry.get("memories").and_then(Value::as_array))
        .flatten()
        .filter_map(|m| m.get("id").and_then(Value::as_str))
        .map(str::to_owned)
        .collect()
}

/// The `get_memories` request listing `cube`.
pub fn list_request(cube: &str, user: &str) -> Req {
    Req::post(&["product", "get_memory"]).json(json!({
        "mem_cube_id": cube,
        "user_id": user,
    }))
}

/// Deletes every memory `cube` lists; best effort, each step recorded as cleanup.
pub async fn empty_cube(recorder: &Recorder, cube: &str, user: &str) {
    let listing = recorder
        .send(list_request(cube, user).label("cleanup: list what the case added"))
        .await;
    let ids = match listing.json() {
        Some(body) if listing.status() == Some(200) => listed_ids(&body, cube),
        _ => return,
    };
    if ids.is_empty() {
        return;
    }
    recorder
        .send(
            Req::post(&["product", "delete_memory"])
                // No `user_id`: with ids it is a second delete mode the server refuses,
                // and alone it would delete everything of that user.
                .json(json!({
                    "writable_cube_ids": [cube],
                    "memory_ids": ids,
                }))
                .label("cleanup: delete what the case added"),
        )
        .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_cubes_own_text_memories_are_listed() {
        let body = json!({"code": 200, "data": {
            "text_mem": [
                {"cube_id": "mine", "memories": [{"id": "a"}, {"id": "b"}], "total_nodes": 2},
                {"cube_id": "other", "memories": [{"id": "x"}], "total_nodes": 1}
            ],
            "pref_mem": [{"cube_id": "mine", "memories": [{"id": "p"}]}]
        }});
        assert_eq!(listed_ids(&body, "mine"), ["a", "b"]);
        assert!(listed_ids(&json!({"data": null}), "mine").is_empty());
    }
}
