//! What varies from run to run in the product server's answers beyond what every answer's
//! normalisation already replaces, one named rule each. The snapshot's `note` names the
//! rules that applied to an answer, so a reader knows the value shown is a placeholder.
//!
//! | Rule | Where | Becomes | Why |
//! |---|---|---|---|
//! | `durations` | `total_time` (the chat streams' `time` frame), `elapsed_seconds` (the scheduler's progress stream), `waited_seconds` (`/product/scheduler/wait`) | `0.0` | wall-clock seconds; kept a number, so the replayed answer stays valid against its schema |
//! | `instance_id` | the scheduler's progress stream | `"<instance-id>"` | the server process (`host:pid:random`) |
//!
//! The rest is done by the rules every answer gets ([`crate::normalize`]): memory ids and
//! the `working_binding` ids inside `background` (UUIDs, numbered by first appearance),
//! `created_at`, `updated_at` and `[2026-12-02 02:30:26]` in memory text (`<timestamp>`),
//! `[03:45 AM on 02 December, 2026]` (`<chat-time>`), the run prefix and `--doc-path`.
//! What the playground chat stores in the background is not redacted but waited for
//! ([`super::wait_for_background_store`]), so the recorded steps see the final state.

use std::sync::LazyLock;

use regex::Regex;

use crate::json::Json;

/// What a rule puts in place of the value.
enum Replacement {
    /// The number `0.0`.
    Zero,
    /// This string.
    Text(&'static str),
}

/// One named rule: the keys whose values vary, and their placeholder.
struct Rule {
    name: &'static str,
    keys: &'static [&'static str],
    replacement: Replacement,
}

const RULES: [Rule; 2] = [
    Rule {
        name: "durations",
        keys: &["total_time", "elapsed_seconds", "waited_seconds"],
        replacement: Replacement::Zero,
    },
    Rule {
        name: "instance_id",
        keys: &["instance_id"],
        replacement: Replacement::Text("<instance-id>"),
    },
];

/// Per rule, the pattern of its keys' values inside a text body (the frames of a stream,
/// which are JSON inside `data:` lines), capturing the key and its colon.
static IN_TEXT: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    RULES
        .iter()
        .map(|rule| {
            let keys = rule.keys.join("|");
            let value = match rule.replacement {
                Replacement::Zero => r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?",
                Replacement::Text(_) => r#""(?:[^"\\]|\\.)*""#,
            };
            Regex::new(&format!(r#"("(?:{keys})"\s*:\s*){value}"#)).expect("valid regex")
        })
        .collect()
});

/// Applies every rule to an answer's body (JSON or text) and returns the names of the
/// rules whose keys it holds. A rule counts whether or not the value was already its
/// placeholder, so normalising a replayed answer gives the same note.
pub(crate) fn apply(body: &mut Option<Json>, body_text: &mut Option<String>) -> Vec<&'static str> {
    let mut applied = Vec::new();
    for (rule, pattern) in RULES.iter().zip(IN_TEXT.iter()) {
        let mut found = false;
        if let Some(json) = body.as_mut() {
            found |= replace_in_json(json, rule);
        }
        if let Some(text) = body_text.as_mut() {
            if pattern.is_match(text) {
                found = true;
                let with = match rule.replacement {
                    Replacement::Zero => "${1}0.0".to_owned(),
                    Replacement::Text(t) => format!("${{1}}\"{t}\""),
                };
                *text = pattern.replace_all(text, with.as_str()).into_owned();
            }
        }
        if found {
            applied.push(rule.name);
        }
    }
    applied
}

/// Replaces the values of the rule's keys at any depth; whether any was there.
fn replace_in_json(json: &mut Json, rule: &Rule) -> bool {
    match json {
        Json::Object(entries) => {
            let mut found = false;
            for (key, value) in entries.iter_mut() {
                if rule.keys.contains(&key.as_str()) {
                    if let Some(placeholder) = placeholder(value, &rule.replacement) {
                        *value = placeholder;
                        found = true;
                        continue;
                    }
                }
                found |= replace_in_json(value, rule);
            }
            found
        }
        Json::Array(items) => items
            .iter_mut()
            .fold(false, |found, item| replace_in_json(item, rule) | found),
        _ => false,
    }
}

/// The placeholder of `value`, when it is of the kind the rule replaces (a duration that
/// is not a number is left for the schema check to report, as received).
fn placeholder(value: &Json, replacement: &Replacement) -> Option<Json> {
    match (value, replacement) {
        (Json::Number(_), Replacement::Zero) => serde_json::Number::from_f64(0.0).map(Json::Number),
        (Json::String(_), Replacement::Text(t)) => Some(Json::String((*t).to_owned())),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_instance_ids_in_frames_become_placeholders_idempotently() {
        let frames = "data: {\"type\": \"time\", \"data\": {\"total_time\": 0.3, \"speed_improvement\": \"66.5%\"}}\n\n\
                      data: {\"user_name\": \"u\", \"active_tasks\": 0, \"elapsed_seconds\": 12.25, \"status\": \"idle\", \"instance_id\": \"vm:29974:5905\"}\n\n";
        let mut text = Some(frames.to_owned());
        assert_eq!(apply(&mut None, &mut text), ["durations", "instance_id"]);
        let once = text.clone().expect("text");
        assert_eq!(
            once,
            "data: {\"type\": \"time\", \"data\": {\"total_time\": 0.0, \"speed_improvement\": \"66.5%\"}}\n\n\
             data: {\"user_name\": \"u\", \"active_tasks\": 0, \"elapsed_seconds\": 0.0, \"status\": \"idle\", \"instance_id\": \"<instance-id>\"}\n\n"
        );
        assert_eq!(apply(&mut None, &mut text), ["durations", "instance_id"]);
        assert_eq!(text.as_deref(), Some(once.as_str()));
    }

    #[test]
    fn durations_in_json_become_zero_at_any_depth() {
        let mut body = Json::parse(
            br#"{"message":"idle","data":{"running_tasks":3,"waited_seconds":1.5,"timed_out":false}}"#,
        );
        assert_eq!(apply(&mut body, &mut None), ["durations"]);
        assert_eq!(
            body.expect("json").to_compact(),
            r#"{"message":"idle","data":{"running_tasks":3,"waited_seconds":0.0,"timed_out":false}}"#
        );
        let mut other = Json::parse(br#"{"data":{"total_nodes":4,"waited_seconds":"soon"}}"#);
        assert!(
            apply(&mut other, &mut None).is_empty(),
            "not a number: kept"
        );
    }
}
