//! Turning recorded exchanges into their stable snapshot form: values that vary between
//! runs are replaced by placeholders.
//!
//! | What varies | Placeholder |
//! |---|---|
//! | the run prefix of users and cubes (`conf-1a2b3c4d`) | `conf-RUN` |
//! | the `--cube-path` directories | `<cube-path-0>`, `<cube-path-1>`, ... |
//! | the `--doc-path` directory | `<doc-path>` |
//! | values under secret-looking keys in request bodies (`api_key`, `*_token`, `*secret*`, `*password*`) | `<redacted>` |
//! | loopback ports (`http://127.0.0.1:40981/v1` in a configure body) | `127.0.0.1:<port>` |
//! | UUIDs (memory ids) | `00000000-0000-4000-8000-000000000001`, `...0002`, ... by first appearance |
//! | the id prefix in the get-one error (`TextualMemoryItem(id='847...`) | `id='<id>...` |
//! | timestamps (`2026-11-26T10:17:30.730991`) | `<timestamp>` |
//! | `tree_text`'s chat times (`01:32 AM on 02 December, 2026`, also cut after the day) | `<chat-time>` |
//! | temp dirs of the server (`/tmp/tmpab12cd34`) | `<tmp-dir>` |
//! | `Authorization` values | `Bearer <redacted>` |
//! | the configured token wherever the server echoes it (replaced as it arrives, see `redact.rs`) | `<redacted>` |
//! | users of other cases or other callers in `GET /users` | left out |
//! | durations and the server process in `/product/...` answers | see `product/varying.rs` |
//!
//! The placeholders are chosen so that normalising is idempotent, and so that the mock
//! mode can *send* them: the mock run uses `conf-RUN` as its prefix and the placeholder
//! paths as its directories, and learns placeholder UUIDs from the replayed answers, so
//! its requests are byte-identical to the recorded (normalised) ones. UUID placeholders
//! are themselves UUIDs (the `00000000-0000-4000-8000-` range is never renumbered), so
//! they can go back into paths.

use std::collections::HashMap;
use std::sync::LazyLock;

use regex::{Captures, Regex};

use crate::exchange::{ReceivedResponse, SentRequest};
use crate::json::Json;
use crate::redact::REDACTED;
use crate::snapshot::{SnapRequest, SnapResponse};

/// The run prefix used in mock mode and as the placeholder of live prefixes.
pub const MOCK_RUN_PREFIX: &str = "conf-RUN";
/// The placeholder of the `--doc-path` directory.
pub const DOC_PATH_PLACEHOLDER: &str = "<doc-path>";
/// UUIDs starting with this are placeholders and never renumbered.
pub const UUID_PLACEHOLDER_PREFIX: &str = "00000000-0000-4000-8000-";

/// The placeholder of the `i`-th `--cube-path`.
pub fn cube_path_placeholder(i: usize) -> String {
    format!("<cube-path-{i}>")
}

static UUID: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b")
        .expect("valid regex")
});
/// A UUID anywhere, also inside a longer word: where a numbered id occurs, it is replaced.
static UUID_ANYWHERE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
        .expect("valid regex")
});
static TIMESTAMP: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})?")
        .expect("valid regex")
});
/// The time `tree_text` stamps on each message (`chat_time`, and the memory text and key
/// made of it), which its keys cut after the day.
static CHAT_TIME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b\d{1,2}:\d{2} [AP]M on \d{1,2}( [A-Z][a-z]+, \d{4})?").expect("valid regex")
});
/// A `tempfile.mkdtemp()` directory (`tmp` and 8 characters), with its parents.
static TMP_DIR: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?:/[\w.-]+)*/tmp[a-z0-9_]{6,12}\b").expect("valid regex"));
static LOOPBACK_PORT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b(127\.0\.0\.1|localhost):\d+").expect("valid regex"));
static SECRET_KEY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^(key|api_?key|.*_key|.*token|.*secret.*|.*password.*|authorization)$")
        .expect("valid regex")
});
static ID_PREFIX: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\(id='[^'.]{1,8}\.\.\.").expect("valid regex"));

/// Replaces varying values consistently within one case.
#[derive(Debug, Clone, Default)]
pub struct Normaliser {
    literals: Vec<(String, String)>,
    /// Each id seen in the case and its placeholder.
    uuids: HashMap<String, String>,
}

impl Normaliser {
    /// A normaliser for one case of a run.
    pub fn new(run_prefix: &str, cube_paths: &[String], doc_path: Option<&str>) -> Normaliser {
        let mut literals: Vec<(String, String)> = cube_paths
            .iter()
            .enumerate()
            .map(|(i, p)| (p.clone(), cube_path_placeholder(i)))
            .collect();
        if let Some(doc) = doc_path {
            literals.push((doc.to_owned(), DOC_PATH_PLACEHOLDER.to_owned()));
        }
        literals.push((run_prefix.to_owned(), MOCK_RUN_PREFIX.to_owned()));
        literals.retain(|(from, _)| !from.is_empty());
        // Longest first, so a cube path is replaced before a prefix inside it.
        literals.sort_by_key(|l| std::cmp::Reverse(l.0.len()));
        Normaliser {
            literals,
            uuids: HashMap::new(),
        }
    }

    /// Gives `uuid` the next placeholder if it has none yet; placeholders themselves
    /// are never renumbered.
    fn number_uuid(&mut self, uuid: &str) {
        if uuid
            .to_ascii_lowercase()
            .starts_with(UUID_PLACEHOLDER_PREFIX)
            || self.uuids.contains_key(uuid)
        {
            return;
        }
        let placeholder = format!("{UUID_PLACEHOLDER_PREFIX}{:012}", self.uuids.len() + 1);
        self.uuids.insert(uuid.to_owned(), placeholder);
    }

    /// Normalises free text (a message, a path, a reason).
    pub fn text(&mut self, input: &str) -> String {
        let mut out = input.to_owned();
        for (from, to) in &self.literals {
            if out.contains(from.as_str()) {
                out = out.replace(from.as_str(), to);
            }
        }
        out = ID_PREFIX.replace_all(&out, "(id='<id>...").into_owned();
        // Two passes, whatever the number of ids: the ids standing as words are numbered
        // by first appearance, then every occurrence of a numbered id is replaced, also
        // where it is not a word of its own (two ids run together). Each id is looked
        // up, never searched for over the whole text again.
        for found in UUID.find_iter(&out) {
            self.number_uuid(found.as_str());
        }
        out = UUID_ANYWHERE
            .replace_all(&out, |found: &Captures<'_>| {
                let id = &found[0];
                self.uuids
                    .get(id)
                    .map_or_else(|| id.to_owned(), Clone::clone)
            })
            .into_owned();
        out = TIMESTAMP.replace_all(&out, "<timestamp>").into_owned();
        out = CHAT_TIME.replace_all(&out, "<chat-time>").into_owned();
        out = LOOPBACK_PORT.replace_all(&out, "$1:<port>").into_owned();
        TMP_DIR.replace_all(&out, "<tmp-dir>").into_owned()
    }

    fn json(&mut self, json: &mut Json) {
        json.map_strings(&mut |s| self.text(s));
    }

    fn body(&mut self, bytes: &[u8], is_request: bool) -> (Option<Json>, Option<String>) {
        if bytes.is_empty() {
            return (None, None);
        }
        match Json::parse(bytes) {
            Some(Json::Null) | None => (None, Some(self.text(&String::from_utf8_lossy(bytes)))),
            Some(mut json) => {
                if is_request {
                    redact_secrets(&mut json);
                }
                self.json(&mut json);
                (Some(json), None)
            }
        }
    }

    /// The snapshot form of a request.
    pub fn request(&mut self, sent: &SentRequest) -> SnapRequest {
        let path = self.text(&sent.path);
        let query = Json::Object(
            sent.query
                .iter()
                .map(|(k, v)| (k.clone(), Json::String(self.text(v))))
                .collect(),
        );
        let mut headers = Vec::new();
        if let Some(ct) = &sent.content_type {
            headers.push(("content-type".to_owned(), Json::String(ct.clone())));
        }
        if let Some(auth) = &sent.authorization {
            headers.push(("authorization".to_owned(), Json::String(auth.clone())));
        }
        let (body, body_text) = match &sent.body {
            Some(bytes) => self.body(bytes, true),
            None => (None, None),
        };
        SnapRequest {
            method: sent.method.clone(),
            path,
            query,
            headers: Json::Object(headers),
            body,
            body_text,
        }
    }

    /// The snapshot form of a response. For `list_users`, users outside `keep_prefix`
    /// (other cases', other callers') are left out, so the snapshot does not depend on
    /// what else the server holds; of `/openapi.json` only `openapi` and `info` are kept.
    pub fn response(
        &mut self,
        received: &ReceivedResponse,
        operation: Option<&str>,
        path: &str,
        keep_prefix: &str,
    ) -> (SnapResponse, Option<String>) {
        let headers = Json::Object(
            received
                .headers
                .iter()
                .map(|(k, v)| (k.clone(), Json::String(self.text(v))))
                .collect(),
        );
        let (mut body, mut body_text) = self.body(&received.body, false);
        let mut note = None;
        if path.starts_with("/product/") {
            let applied = crate::product::varying::apply(&mut body, &mut body_text);
            if !applied.is_empty() {
                note = Some(format!(
                    "values that vary from run to run replaced (rules: {})",
                    applied.join(", ")
                ));
            }
        }
        let keep_prefix = self.text(keep_prefix);
        if path == "/openapi.json" {
            if let Some(Json::Object(entries)) = body.as_mut() {
                entries.retain(|(k, _)| k == "openapi" || k == "info");
                note = Some(
                    "only `openapi` and `info` of the document are kept in this record".to_owned(),
                );
            }
        }
        if operation == Some("list_users") && (200..300).contains(&received.status) {
            if let Some(Json::Object(entries)) = body.as_mut() {
                if let Some((_, Json::Array(users))) = entries.iter_mut().find(|(k, _)| k == "data")
                {
                    users.retain(|u| {
                        u.get("user_id")
                            .and_then(Json::as_str)
                            .is_some_and(|id| id.starts_with(&keep_prefix))
                    });
                    // Always, so the note does not depend on what else the server holds.
                    note = Some(format!(
                        "only users whose id starts with {keep_prefix} are kept in this record"
                    ));
                }
            }
        }
        (
            SnapResponse {
                status: received.status,
                headers,
                body,
                body_text,
            },
            note,
        )
    }
}

/// Replaces the values of secret-looking keys, at any depth.
fn redact_secrets(json: &mut Json) {
    match json {
        Json::Object(entries) => {
            for (k, v) in entries.iter_mut() {
                if SECRET_KEY.is_match(k) && matches!(v, Json::String(_)) {
                    *v = Json::String(REDACTED.into());
                } else {
                    redact_secrets(v);
                }
            }
        }
        Json::Array(items) => items.iter_mut().for_each(redact_secrets),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varying_values_become_placeholders_idempotently() {
        let mut live =
            Normaliser::new("conf-1a2b3c4d", &["/tmp/memos-x/cubes/cube-0".into()], None);
        let text = "conf-1a2b3c4d-alice 34850daa-e4e9-4f6e-bf3a-70091b6ceeea 6f0dcf87-3e71-4cef-bdb7-7f9a48a269aa \
                    34850daa-e4e9-4f6e-bf3a-70091b6ceeea 2026-11-26T10:17:30.730991 '/tmp/memos-x/cubes/cube-0/config.json' \
                    /tmp/tmpab12_cd34 /tmp/memos-x/tmpoyc_sjz1' TextualMemoryItem(id='348..., x)";
        let once = live.text(text);
        assert_eq!(
            once,
            "conf-RUN-alice 00000000-0000-4000-8000-000000000001 00000000-0000-4000-8000-000000000002 \
             00000000-0000-4000-8000-000000000001 <timestamp> '<cube-path-0>/config.json' \
             <tmp-dir> <tmp-dir>' TextualMemoryItem(id='<id>..., x)"
        );
        let chat =
            live.text("user: [01:32 AM on 02 December, 2026]: hi / key: user: [9:05 PM on 2");
        assert_eq!(chat, "user: [<chat-time>]: hi / key: user: [<chat-time>");
        assert_eq!(live.text(&chat), chat);
        let mut mock = Normaliser::new(MOCK_RUN_PREFIX, &[cube_path_placeholder(0)], None);
        assert_eq!(mock.text(&once), once);
    }

    #[test]
    fn secrets_and_ports_in_request_bodies_are_redacted() {
        let body = serde_json::json!({
            "user_id": "root",
            "chat_model": {"config": {"api_key": "sk-secret", "api_base": "http://127.0.0.1:40981/v1"}},
            "chunker": {"tokenizer_or_token_counter": "character"}
        });
        let mut n = Normaliser::new("conf-0a1b2c3d", &[], None);
        let sent = SentRequest {
            method: "POST".into(),
            path: "/configure".into(),
            query: vec![],
            content_type: Some("application/json".into()),
            authorization: None,
            body: Some(serde_json::to_vec(&body).expect("json")),
        };
        let text = n.request(&sent).body.expect("json body").to_compact();
        assert!(!text.contains("sk-secret"), "{text}");
        assert!(text.contains("\"api_key\":\"<redacted>\""), "{text}");
        assert!(text.contains("http://127.0.0.1:<port>/v1"), "{text}");
        assert!(text.contains("\"character\""), "{text}");
        let again = Normaliser::new("conf-0a1b2c3d", &[], None).request(&SentRequest {
            body: Some(text.clone().into_bytes()),
            ..sent
        });
        assert_eq!(again.body.expect("json").to_compact(), text);
    }

    /// 200,000 distinct ids (a 7 MiB body) are numbered by first appearance; repeats
    /// get the same number. Each id used to cost a pass over the whole body.
    #[test]
    fn a_body_of_many_distinct_uuids_is_normalised() {
        let n = 200_000u64;
        let id = |i: u64| format!("{:08x}-e4e9-4f6e-bf3a-{i:012x}", i + 1);
        let placeholder = |i: u64| format!("{UUID_PLACEHOLDER_PREFIX}{:012}", i + 1);
        let mut text: Vec<String> = (0..n).map(id).collect();
        text.push(id(7));
        let mut normaliser = Normaliser::new("conf-1a2b3c4d", &[], None);
        let mut expected: Vec<String> = (0..n).map(placeholder).collect();
        expected.push(placeholder(7));
        assert_eq!(normaliser.text(&text.join(" ")), expected.join(" "));

        // The same ids as a JSON list, each string normalised on its own, in a fresh case.
        let body = serde_json::to_vec(&serde_json::json!({ "data": text })).expect("json");
        let received = ReceivedResponse {
            status: 200,
            headers: vec![],
            body,
        };
        let mut normaliser = Normaliser::new("conf-1a2b3c4d", &[], None);
        let (snap, _) = normaliser.response(&received, None, "/memories", "conf-RUN");
        let expected = Json::Object(vec![(
            "data".into(),
            Json::Array(expected.into_iter().map(Json::String).collect()),
        )]);
        assert_eq!(snap.body, Some(expected));
    }

    #[test]
    fn ids_run_together_are_replaced_once_numbered() {
        let (a, b) = (
            "34850daa-e4e9-4f6e-bf3a-70091b6ceeea",
            "6f0dcf87-3e71-4cef-bdb7-7f9a48a269aa",
        );
        let mut n = Normaliser::new("conf-1a2b3c4d", &[], None);
        assert_eq!(
            n.text(&format!("{a}{b}")),
            format!("{a}{b}"),
            "not words: not numbered"
        );
        n.text(&format!("{a} {b}"));
        assert_eq!(
            n.text(&format!("x{a}{b}")),
            format!("x{UUID_PLACEHOLDER_PREFIX}000000000001{UUID_PLACEHOLDER_PREFIX}000000000002")
        );
    }
}
