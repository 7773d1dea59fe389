//! Snapshot files: one per case in `memos-conformance/snapshots/<case>.snap`, in insta's
//! file format, holding the case's normalised exchanges as indented JSON.
//!
//! The same files are the expectation (compared with insta by the tests) and what the
//! embedded mock replays. They are embedded in the binary at build time. `snapshots/`
//! holds the `naive_text` set; `snapshots/<backend>/` the set of another backend;
//! `snapshots/product/` the set of the product API (recorded from its reference server).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::backend::Backend;
use crate::json::Json;

/// The snapshots compiled into this build: `(backend directory, case name, file text)`.
mod embedded {
    include!(concat!(env!("OUT_DIR"), "/embedded_snapshots.rs"));
}

/// The directory the `naive_text` snapshot files live in, in the source tree.
pub fn source_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("snapshots")
}

/// The directory of `backend`'s snapshot set: [`source_dir`] for `naive_text`, its
/// `<backend>/` subdirectory for the others.
pub fn source_dir_for(backend: Backend) -> PathBuf {
    match backend_dir(backend) {
        "" => source_dir(),
        sub => source_dir().join(sub),
    }
}

/// The subdirectory of the product API's set.
const PRODUCT_DIR: &str = "product";

/// How the v1 sets are recorded again.
const RECORD_V1: &str =
    "MEMOS_CONFORMANCE_RECORD=1 cargo test -p memos-conformance --test it live_reference";
/// How the product set is recorded again.
const RECORD_PRODUCT: &str =
    "MEMOS_CONFORMANCE_RECORD=1 cargo test -p memos-conformance --test it live_product";

/// The directory of the product API's snapshot set, in the source tree.
pub fn product_source_dir() -> PathBuf {
    source_dir().join(PRODUCT_DIR)
}

/// The subdirectory of `backend`'s set (`""`: the top directory).
fn backend_dir(backend: Backend) -> &'static str {
    match backend {
        Backend::NaiveText => "",
        other => other.as_str(),
    }
}

/// One case's normalised exchanges.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseSnapshot {
    /// The case name.
    pub case: String,
    /// Its one-line purpose.
    pub purpose: String,
    /// What the case concluded against the recorded server (before the known-defect
    /// list is applied): `pass`, `fail`, `warning`, `skipped`, `not applicable`. The
    /// reason is in the report, not here: it quotes raw values, shortened.
    pub verdict: String,
    /// The exchanges in order.
    pub exchanges: Vec<SnapExchange>,
}

/// One normalised request and its answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SnapExchange {
    /// 1-based position in the case.
    pub step: usize,
    /// What the step is for.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub label: String,
    /// The request.
    pub request: SnapRequest,
    /// The answer, when there was one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<SnapResponse>,
    /// Why there was no answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// What normalisation left out, if anything.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// A normalised request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SnapRequest {
    /// The method.
    pub method: String,
    /// The path relative to the base URL, as sent.
    pub path: String,
    /// Query parameters, in order.
    #[serde(default = "empty_object", skip_serializing_if = "is_empty_object")]
    pub query: Json,
    /// `content-type` and (redacted) `authorization`.
    #[serde(default = "empty_object", skip_serializing_if = "is_empty_object")]
    pub headers: Json,
    /// A JSON body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<Json>,
    /// A body that is not JSON, as text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_text: Option<String>,
}

/// A normalised response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SnapResponse {
    /// The status code.
    pub status: u16,
    /// The kept headers.
    #[serde(default = "empty_object", skip_serializing_if = "is_empty_object")]
    pub headers: Json,
    /// A JSON body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<Json>,
    /// A body that is not JSON, as text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_text: Option<String>,
}

fn empty_object() -> Json {
    Json::Object(Vec::new())
}

fn is_empty_object(json: &Json) -> bool {
    matches!(json, Json::Object(entries) if entries.is_empty())
}

/// The bytes of a body as the snapshot holds it (compact JSON or the text).
pub(crate) fn body_bytes(body: &Option<Json>, body_text: &Option<String>) -> Option<Vec<u8>> {
    match (body, body_text) {
        (Some(json), _) => Some(json.to_compact().into_bytes()),
        (None, Some(text)) => Some(text.clone().into_bytes()),
        (None, None) => None,
    }
}

impl SnapRequest {
    /// One line for messages: `POST /users {"user_id":...}`.
    pub(crate) fn one_line(&self) -> String {
        let mut out = format!("{} {}", self.method, self.path);
        if let Json::Object(pairs) = &self.query {
            let q: Vec<String> = pairs
                .iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                .collect();
            if !q.is_empty() {
                out.push('?');
                out.push_str(&q.join("&"));
            }
        }
        if let Some(bytes) = body_bytes(&self.body, &self.body_text) {
            out.push(' ');
            out.push_str(&memos_text::one_line(&String::from_utf8_lossy(&bytes), 160));
        }
        out
    }
}

impl CaseSnapshot {
    /// The snapshot's text, as stored after insta's header.
    pub fn render(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Parses a snapshot file (insta's header, then the JSON).
    pub(crate) fn parse_file(text: &str) -> Result<CaseSnapshot, String> {
        let body = strip_insta_header(text);
        serde_json::from_str(body).map_err(|e| format!("not a conformance snapshot: {e}"))
    }
}

/// The content of an insta snapshot file without its `---` header.
pub(crate) fn strip_insta_header(text: &str) -> &str {
    let text = text.trim_start_matches('\u{feff}');
    if let Some(rest) = text.strip_prefix("---\n") {
        if let Some(end) = rest.find("\n---\n") {
            return rest[end + 5..].trim();
        }
    }
    text.trim()
}

/// The `source` line of insta's header in every recorded file. Insta compares only the
/// contents, so the path the files were first recorded from stays, and re-recording does
/// not touch the 89 headers (the assertion now lives in `tests/it/common.rs`).
const INSTA_SOURCE: &str = "memos-conformance/tests/common/mod.rs";

/// The text of a snapshot file as insta writes it.
pub(crate) fn file_text(snapshot: &CaseSnapshot) -> String {
    format!("---\nsource: {INSTA_SOURCE}\n---\n{}\n", snapshot.render())
}

/// The file name of a case's snapshot.
pub(crate) fn file_name(case: &str) -> String {
    format!("{case}.snap")
}

/// Writes a case's snapshot into `dir` (record mode).
pub fn write(dir: &Path, snapshot: &CaseSnapshot) -> Result<PathBuf, String> {
    std::fs::create_dir_all(dir).map_err(|e| {
        format!(
            "cannot create the snapshot directory {}: {e}",
            dir.display()
        )
    })?;
    let path = dir.join(file_name(&snapshot.case));
    std::fs::write(&path, file_text(snapshot))
        .map_err(|e| format!("cannot write the snapshot {}: {e}", path.display()))?;
    Ok(path)
}

/// A set of snapshots, by case name.
#[derive(Debug, Clone, Default)]
pub struct SnapshotSet {
    by_case: BTreeMap<String, Result<CaseSnapshot, String>>,
    /// The command that records the set again, for the message about a missing file
    /// (empty for a directory, which may hold either API's set: both commands).
    record_with: &'static str,
}

impl SnapshotSet {
    /// The `naive_text` snapshots embedded in this build.
    pub fn embedded() -> SnapshotSet {
        SnapshotSet::embedded_for(Backend::NaiveText)
    }

    /// The snapshots of `backend` embedded in this build (empty when none were
    /// recorded).
    pub fn embedded_for(backend: Backend) -> SnapshotSet {
        SnapshotSet::embedded_in(backend_dir(backend), backend.as_str(), RECORD_V1)
    }

    /// The snapshots of the product API embedded in this build (empty when none were
    /// recorded).
    pub fn embedded_product() -> SnapshotSet {
        SnapshotSet::embedded_in(PRODUCT_DIR, "product", RECORD_PRODUCT)
    }

    /// The embedded set of the subdirectory `dir`, called `what` in messages.
    fn embedded_in(dir: &str, what: &str, record_with: &'static str) -> SnapshotSet {
        let mut by_case = BTreeMap::new();
        for (_, name, text) in embedded::EMBEDDED.iter().filter(|(d, _, _)| *d == dir) {
            by_case.insert(
                (*name).to_owned(),
                CaseSnapshot::parse_file(text)
                    .map_err(|e| format!("embedded snapshot {name}.snap ({what}): {e}")),
            );
        }
        SnapshotSet {
            by_case,
            record_with,
        }
    }

    /// Whether the set holds no snapshot at all.
    pub fn is_empty(&self) -> bool {
        self.by_case.is_empty()
    }

    /// The snapshots in a directory (`*.snap`).
    pub fn from_dir(dir: &Path) -> Result<SnapshotSet, String> {
        let entries = std::fs::read_dir(dir)
            .map_err(|e| format!("cannot read the snapshot directory {}: {e}", dir.display()))?;
        let mut by_case = BTreeMap::new();
        for entry in entries.flatten() {
            let path = entry.path();
            let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
                continue;
            };
            let Some(case) = name.strip_suffix(".snap") else {
                continue;
            };
            let parsed = std::fs::read_to_string(&path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))
                .and_then(|t| {
                    CaseSnapshot::parse_file(&t).map_err(|e| format!("{}: {e}", path.display()))
                });
            by_case.insert(case.to_owned(), parsed);
        }
        Ok(SnapshotSet {
            by_case,
            record_with: "",
        })
    }

    /// The snapshot of a case, or why there is none.
    pub fn get(&self, case: &str) -> Result<&CaseSnapshot, String> {
        match self.by_case.get(case) {
            Some(Ok(s)) => Ok(s),
            Some(Err(e)) => Err(e.clone()),
            None if self.record_with.is_empty() => Err(format!(
                "no recorded snapshot {} for this case; record the snapshots from the reference server \
                 (v1: {RECORD_V1}; product: {RECORD_PRODUCT})",
                file_name(case)
            )),
            None => Err(format!(
                "no recorded snapshot {} for this case; record the snapshots from the reference server \
                 ({})",
                file_name(case),
                self.record_with
            )),
        }
    }

    /// The case names that have a snapshot.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.by_case.keys().map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_snapshot_survives_its_file_format() {
        let snap = CaseSnapshot {
            case: "x.y".into(),
            purpose: "p".into(),
            verdict: "pass".into(),
            exchanges: vec![SnapExchange {
                step: 1,
                label: "setup".into(),
                request: SnapRequest {
                    method: "POST".into(),
                    path: "/users".into(),
                    query: Json::Object(vec![
                        ("b".into(), Json::String("1".into())),
                        ("a".into(), Json::String("2".into())),
                    ]),
                    headers: Json::Object(vec![]),
                    body: Json::parse(br#"{"z":1,"a":[true,null]}"#),
                    body_text: None,
                },
                response: Some(SnapResponse {
                    status: 422,
                    headers: Json::Object(vec![(
                        "content-type".into(),
                        Json::String("application/json".into()),
                    )]),
                    body: None,
                    body_text: Some("null".into()),
                }),
                error: None,
                note: None,
            }],
        };
        let parsed = CaseSnapshot::parse_file(&file_text(&snap)).expect("parses");
        assert_eq!(parsed, snap);
    }
}
