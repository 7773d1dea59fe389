//! Learning a live server's backend from answers about the run's own cube, read-only.
//!
//! The first cube the run proves is its own is listed anyway (the storage proof): a
//! graph of `nodes` and `edges` is `tree_text`, the only backend that lists one. A list is
//! `naive_text` or `general_text`; they differ in what a GET of a memory id the cube does
//! not hold answers: `general_text` looks the id up and says `Memory with ID <id> not
//! found`, `naive_text` fails validating its own answer (`dict_type`). That GET reads
//! nothing but the run's own, freshly proved cube and changes nothing.

use serde_json::Value;

use crate::backend::Backend;
use crate::exchange::Req;

/// The step header value of the probe's request.
pub const PROBE_STEP: &str = "backend-probe";

/// A memory id no cube holds (the nil-like UUID the cases use for unknown ids, so the
/// probe's answer is the one the cases see).
const UNKNOWN_ID: &str = "00000000-0000-4000-8000-0000deadbeef";

/// `tree_text` when the cube's listing is a graph; `None` for a list (or anything else).
pub fn from_listing(body: &Value, cube: &str) -> Option<(Backend, String)> {
    let entry = body
        .pointer("/data/text_mem")?
        .as_array()?
        .iter()
        .find(|e| e.get("cube_id").and_then(Value::as_str) == Some(cube))?;
    entry.get("memories")?.get("nodes")?;
    Some((
        Backend::TreeText,
        "the run's cube listed its memories as a graph of nodes and edges".to_owned(),
    ))
}

/// The GET of a memory id the run's cube `cube` (of `user`) does not hold.
pub fn unknown_id_request(user: &str, cube: &str) -> Req {
    Req::get(&["memories", cube, UNKNOWN_ID])
        .query("user_id", user)
        .label("backend probe: a memory id the run's cube does not hold")
}

/// The backend a list-shaped server has, from its answer to [`unknown_id_request`];
/// `None` when the answer tells neither (a timeout, a 5xx, another message).
pub fn from_unknown_id(answer: Result<(u16, Value), String>) -> Option<(Backend, String)> {
    let (status, body) = answer.ok()?;
    let message = body
        .get("message")
        .or_else(|| body.get("detail"))
        .map(|m| match m {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
        .unwrap_or_default();
    let said = |what: &str| {
        format!("GET of a memory id the run's cube does not hold answered {status} {what}")
    };
    if !(400..500).contains(&status) {
        return None;
    }
    if message.contains("not found") {
        Some((Backend::GeneralText, said("\"Memory with ID … not found\"")))
    } else if message.contains("dict_type") {
        Some((
            Backend::NaiveText,
            said("with a dict_type validation error"),
        ))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_graph_listing_is_tree_text_and_a_list_tells_nothing() {
        let graph = json!({"data": {"text_mem": [{"cube_id": "c", "memories": {"nodes": [], "edges": []}}]}});
        assert_eq!(
            from_listing(&graph, "c").map(|d| d.0),
            Some(Backend::TreeText)
        );
        let list = json!({"data": {"text_mem": [{"cube_id": "c", "memories": []}]}});
        assert_eq!(from_listing(&list, "c"), None);
        assert_eq!(from_listing(&graph, "other"), None);
    }

    #[test]
    fn the_unknown_id_message_tells_general_from_naive() {
        let answer =
            |status: u16, message: &str| Ok((status, json!({"code": status, "message": message})));
        let general = from_unknown_id(answer(400, "Memory with ID x not found")).unwrap();
        assert_eq!(general.0, Backend::GeneralText);
        assert!(general.1.contains("400"), "{}", general.1);
        let naive = from_unknown_id(answer(
            400,
            "1 validation error for MemoryResponse data Input should be a valid dictionary [type=dict_type",
        ));
        assert_eq!(naive.map(|d| d.0), Some(Backend::NaiveText));
        assert_eq!(from_unknown_id(answer(500, "not found")), None);
        assert_eq!(from_unknown_id(answer(404, "Not Found?")), None);
        assert_eq!(from_unknown_id(Err("timed out".into())), None);
    }
}
