//! The checks every exchange gets, by kind, and the expectations cases state about
//! single exchanges ("a 4xx with a documented body", "a success").

use serde::Serialize;

use memos_text::one_line;

use crate::exchange::{ReceivedResponse, SentRequest};
use crate::spec::Operation;

/// The kinds of check run on every exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CheckKind {
    /// The server answered at all (no refused connection, timeout or oversized body).
    Answered,
    /// The status is not 5xx.
    NotServerError,
    /// The spec documents the status for this operation.
    StatusDocumented,
    /// The spec documents the response's content type for this status.
    ContentTypeDocumented,
    /// The body is valid against the spec's schema for this status (JSON Schema
    /// validation of the bytes received).
    BodyMatchesSchema,
    /// An envelope's `code` equals the HTTP status.
    EnvelopeCodeMatchesStatus,
}

impl CheckKind {
    /// Every kind, in the order they are run.
    pub const ALL: [CheckKind; 6] = [
        CheckKind::Answered,
        CheckKind::NotServerError,
        CheckKind::StatusDocumented,
        CheckKind::ContentTypeDocumented,
        CheckKind::BodyMatchesSchema,
        CheckKind::EnvelopeCodeMatchesStatus,
    ];

    /// The snake_case name.
    pub fn name(self) -> &'static str {
        match self {
            CheckKind::Answered => "answered",
            CheckKind::NotServerError => "not_server_error",
            CheckKind::StatusDocumented => "status_documented",
            CheckKind::ContentTypeDocumented => "content_type_documented",
            CheckKind::BodyMatchesSchema => "body_matches_schema",
            CheckKind::EnvelopeCodeMatchesStatus => "envelope_code_matches_status",
        }
    }
}

/// The result of one check on one exchange.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// What was checked.
    pub kind: CheckKind,
    /// Whether it held.
    pub passed: bool,
    /// What was found when it failed (empty on success).
    pub detail: String,
}

impl Check {
    fn pass(kind: CheckKind) -> Check {
        Check {
            kind,
            passed: true,
            detail: String::new(),
        }
    }

    fn fail(kind: CheckKind, detail: impl Into<String>) -> Check {
        Check {
            kind,
            passed: false,
            detail: detail.into(),
        }
    }
}

/// A 503 the spec gives the operation itself (the chat routes with chat off, the task queue
/// without Redis): the server saying that a feature is off, not an error. A 503 the
/// operation does not document (a proxy's) still fails.
fn deliberately_unavailable(op: &Operation, status: u16) -> bool {
    status == 503 && op.responses.contains_key("503")
}

/// Runs every check on one exchange. `operation` is `None` for requests outside the
/// spec (e.g. `/openapi.json`), which get only [`CheckKind::Answered`].
/// `extra_statuses` are statuses a probe expects although the spec lists none (401/403).
pub fn check_exchange(
    operation: Option<&Operation>,
    outcome: &Result<ReceivedResponse, String>,
    extra_statuses: &[u16],
) -> Vec<Check> {
    let response = match outcome {
        Ok(r) => r,
        Err(e) => return vec![Check::fail(CheckKind::Answered, e.clone())],
    };
    let mut checks = vec![Check::pass(CheckKind::Answered)];
    let Some(op) = operation else {
        return checks;
    };
    let status = response.status;
    checks.push(if status >= 500 && !deliberately_unavailable(op, status) {
        Check::fail(
            CheckKind::NotServerError,
            format!(
                "HTTP {status} (a server error){}",
                message_suffix(&response.body)
            ),
        )
    } else {
        Check::pass(CheckKind::NotServerError)
    });
    if extra_statuses.contains(&status) {
        // An auth probe's 401/403: expected by the probe, not described by the spec.
        return checks;
    }
    let Some(documented) = op.response(status) else {
        checks.push(Check::fail(
            CheckKind::StatusDocumented,
            format!(
                "HTTP {status} is not documented for {} (documented: {}){}",
                op.id,
                op.status_keys().join(", "),
                message_suffix(&response.body)
            ),
        ));
        return checks;
    };
    checks.push(Check::pass(CheckKind::StatusDocumented));
    let media_types = documented.media_types();
    if media_types.is_empty() {
        // The spec documents no body: nothing more to check.
        return checks;
    }
    let essence = response.content_type().map(|ct| {
        ct.split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase()
    });
    match &essence {
        Some(e) if media_types.iter().any(|m| m.eq_ignore_ascii_case(e)) => {
            checks.push(Check::pass(CheckKind::ContentTypeDocumented));
        }
        other => {
            checks.push(Check::fail(
                CheckKind::ContentTypeDocumented,
                format!(
                    "content type {} is not documented for {} {status} (documented: {})",
                    other
                        .as_deref()
                        .map_or_else(|| "(none)".to_owned(), |e| format!("{e:?}")),
                    op.id,
                    media_types.join(", ")
                ),
            ));
            return checks;
        }
    }
    if essence.as_deref().is_some_and(|e| !is_json_media_type(e)) {
        // A documented text body. For `text/event-stream` (the product API's streams) the
        // schema describes one event as an SSE reader sees it (`{data: <text>}`, as
        // OpenAPI 3.2's `itemSchema` reads it), so each event is checked; any other text
        // body is one string. The frames' JSON and grammar are the case's to check. There
        // is no envelope.
        let text = String::from_utf8_lossy(&response.body);
        let values = if essence.as_deref() == Some("text/event-stream") {
            sse_events(&text)
        } else {
            vec![serde_json::Value::String(text.into_owned())]
        };
        let problems: Vec<String> = essence
            .as_deref()
            .and_then(|e| documented.schema_for(e))
            .map(|schema| {
                values
                    .iter()
                    .enumerate()
                    .flat_map(|(i, value)| {
                        let at = (values.len() > 1).then(|| format!("event {}: ", i + 1));
                        schema
                            .problems(value)
                            .into_iter()
                            .map(move |p| format!("{}{p}", at.clone().unwrap_or_default()))
                    })
                    .collect()
            })
            .unwrap_or_default();
        checks.push(if problems.is_empty() {
            Check::pass(CheckKind::BodyMatchesSchema)
        } else {
            Check::fail(
                CheckKind::BodyMatchesSchema,
                format!(
                    "the body does not match the spec's schema for {} {}: {}",
                    op.id,
                    documented.status_key,
                    problems.join("; ")
                ),
            )
        });
        return checks;
    }
    let body: serde_json::Value = match serde_json::from_slice(&response.body) {
        Ok(v) => v,
        Err(e) => {
            checks.push(Check::fail(
                CheckKind::BodyMatchesSchema,
                format!(
                    "the body is not JSON ({e}); it starts with {:?}",
                    one_line(&String::from_utf8_lossy(&response.body), 80)
                ),
            ));
            return checks;
        }
    };
    match essence.as_deref().and_then(|e| documented.schema_for(e)) {
        Some(schema) => {
            let problems = schema.problems(&body);
            checks.push(if problems.is_empty() {
                Check::pass(CheckKind::BodyMatchesSchema)
            } else {
                Check::fail(
                    CheckKind::BodyMatchesSchema,
                    format!(
                        "the body does not match the spec's schema for {} {}: {}",
                        op.id,
                        documented.status_key,
                        problems.join("; ")
                    ),
                )
            });
        }
        None => checks.push(Check::pass(CheckKind::BodyMatchesSchema)),
    }
    if let Some(code) = body.get("code") {
        checks.push(if code.as_u64() == Some(u64::from(status)) {
            Check::pass(CheckKind::EnvelopeCodeMatchesStatus)
        } else {
            Check::fail(
                CheckKind::EnvelopeCodeMatchesStatus,
                format!("the envelope's code is {code} but the HTTP status is {status}"),
            )
        });
    }
    checks
}

/// `application/json` and the `+json` structured syntax suffix.
fn is_json_media_type(essence: &str) -> bool {
    essence == "application/json" || essence.ends_with("+json")
}

fn message_suffix(body: &[u8]) -> String {
    message_of(body).map_or_else(String::new, |m| format!(": {:?}", one_line(&m, 200)))
}

/// The envelope's `message`, or a `detail` (string, or the first issue's `msg` and
/// location), or the start of a body that is not JSON.
pub fn message_of(body: &[u8]) -> Option<String> {
    let value: serde_json::Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(_) if body.is_empty() => return None,
        Err(_) => return Some(one_line(&String::from_utf8_lossy(body), 120)),
    };
    if let Some(m) = value.get("message").and_then(|m| m.as_str()) {
        return Some(m.to_owned());
    }
    match value.get("detail") {
        Some(serde_json::Value::String(s)) => Some(s.clone()),
        Some(serde_json::Value::Array(issues)) => {
            let parts: Vec<String> = issues
                .iter()
                .map(|i| {
                    let loc: Vec<String> = i
                        .get("loc")
                        .and_then(|l| l.as_array())
                        .map(|l| {
                            l.iter()
                                .map(|p| p.as_str().map_or_else(|| p.to_string(), str::to_owned))
                                .collect()
                        })
                        .unwrap_or_default();
                    format!(
                        "{} at {}",
                        i.get("type").and_then(|t| t.as_str()).unwrap_or("?"),
                        loc.join(".")
                    )
                })
                .collect();
            Some(parts.join(", "))
        }
        _ => None,
    }
}

/// How an exchange is named in messages: `POST /memories` or, for path templates,
/// `DELETE /memories/{mem_cube_id}/{memory_id}`.
pub fn describe_request(operation: Option<&Operation>, sent: &SentRequest) -> String {
    match operation {
        Some(op) => format!("{} {}", op.method, op.path),
        None => format!("{} {}", sent.method, sent.path),
    }
}

/// A one-line account of an answer for messages: `400 "message"`, or the transport error.
pub fn describe_outcome(outcome: &Result<ReceivedResponse, String>) -> String {
    match outcome {
        Ok(r) => match message_of(&r.body) {
            Some(m) => format!("{} {:?}", r.status, one_line(&m, 160)),
            None => r.status.to_string(),
        },
        Err(e) => format!("no answer: {e}"),
    }
}

/// The events of a `text/event-stream` body as an SSE reader sees them: `{data: <text>}`
/// per event (blank-line separated; several `data:` lines joined by newlines), with any
/// other field kept by name. Lenient on purpose: the grammar is checked elsewhere.
fn sse_events(body: &str) -> Vec<serde_json::Value> {
    body.replace("\r\n", "\n")
        .split("\n\n")
        .filter(|block| !block.trim().is_empty())
        .map(|block| {
            let mut event = serde_json::Map::new();
            let mut data: Vec<&str> = Vec::new();
            for line in block.lines().filter(|l| !l.starts_with(':')) {
                let (field, value) = line.split_once(':').unwrap_or((line, ""));
                let value = value.strip_prefix(' ').unwrap_or(value);
                if field == "data" {
                    data.push(value);
                } else {
                    event.insert(
                        field.to_owned(),
                        serde_json::Value::String(value.to_owned()),
                    );
                }
            }
            if !data.is_empty() {
                event.insert("data".into(), serde_json::Value::String(data.join("\n")));
            }
            serde_json::Value::Object(event)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::Spec;

    fn response(
        status: u16,
        content_type: Option<&str>,
        body: &str,
    ) -> Result<ReceivedResponse, String> {
        Ok(ReceivedResponse {
            status,
            headers: content_type
                .map(|c| vec![("content-type".to_owned(), c.to_owned())])
                .unwrap_or_default(),
            body: body.as_bytes().to_vec(),
        })
    }

    fn failed(op: &str, outcome: &Result<ReceivedResponse, String>) -> Vec<CheckKind> {
        let spec = Spec::embedded().expect("spec");
        check_exchange(spec.operation(op), outcome, &[])
            .into_iter()
            .filter(|c| !c.passed)
            .map(|c| c.kind)
            .collect()
    }

    #[test]
    fn a_503_is_a_server_error_unless_the_operation_documents_it() {
        let spec = Spec::embedded_for(crate::api::Api::Product).expect("product spec");
        let unavailable = response(
            503,
            Some("application/json"),
            r#"{"code":503,"message":"Scheduler queue not connected to Redis","data":null}"#,
        );
        let failed_on = |op: &str| -> Vec<CheckKind> {
            check_exchange(spec.operation(op), &unavailable, &[])
                .into_iter()
                .filter(|c| !c.passed)
                .map(|c| c.kind)
                .collect()
        };
        // The queue without Redis: documented, a feature that is off.
        assert_eq!(failed_on("scheduler_task_queue_status"), []);
        // A 503 on an operation that does not document one (a proxy's) still fails.
        assert!(failed_on("add_memories").contains(&CheckKind::NotServerError));
    }

    #[test]
    fn a_conforming_answer_passes_every_check() {
        let ok = response(
            200,
            Some("application/json"),
            r#"{"code":200,"message":"ok","data":[]}"#,
        );
        assert!(failed("list_users", &ok).is_empty());
        let spec = Spec::embedded().expect("spec");
        let kinds: Vec<CheckKind> = check_exchange(spec.operation("list_users"), &ok, &[])
            .into_iter()
            .map(|c| c.kind)
            .collect();
        assert_eq!(kinds, CheckKind::ALL.to_vec());
    }

    #[test]
    fn each_kind_of_check_can_fail() {
        let json = Some("application/json");
        assert_eq!(
            failed("list_users", &Err("refused".into())),
            [CheckKind::Answered]
        );
        assert_eq!(
            failed(
                "list_users",
                &response(500, json, r#"{"code":500,"message":"boom","data":null}"#)
            ),
            [CheckKind::NotServerError]
        );
        assert_eq!(
            failed("list_users", &response(418, json, "{}")),
            [CheckKind::StatusDocumented]
        );
        assert_eq!(
            failed(
                "list_users",
                &response(200, Some("text/html"), "<h1>hi</h1>")
            ),
            [CheckKind::ContentTypeDocumented]
        );
        assert_eq!(
            failed(
                "list_users",
                &response(
                    200,
                    json,
                    r#"{"code":200,"message":"ok","data":{"users":[]}}"#
                )
            ),
            [CheckKind::BodyMatchesSchema]
        );
        assert_eq!(
            failed("list_users", &response(200, json, "not json")),
            [CheckKind::BodyMatchesSchema]
        );
        assert_eq!(
            failed(
                "list_users",
                &response(200, json, r#"{"code":400,"message":"ok","data":[]}"#)
            ),
            [CheckKind::EnvelopeCodeMatchesStatus]
        );
    }

    #[test]
    fn messages_are_found_in_every_error_shape() {
        assert_eq!(
            message_of(br#"{"code":400,"message":"bad","data":null}"#).as_deref(),
            Some("bad")
        );
        assert_eq!(
            message_of(br#"{"detail":"Not Found"}"#).as_deref(),
            Some("Not Found")
        );
        assert_eq!(
            message_of(
                br#"{"detail":[{"type":"missing","loc":["body","query"],"msg":"Field required"}]}"#
            )
            .as_deref(),
            Some("missing at body.query")
        );
    }
}
