//! `drift` passes against the reference document and fails, with the right class, on each
//! kind of planted drift. The spec and allow-list are the real ones; the server document is a
//! copy of the reference server's own document (`drift::REFERENCE_DOC`) with one difference
//! planted.

use serde_json::{json, Value};
use xtask::drift::{self, Class, Finding, Kind, Report};

fn reference() -> Value {
    drift::load_reference(&crate::workspace()).unwrap().1
}

fn run(doc: &Value) -> Report {
    drift::run(&crate::workspace(), "planted", doc).unwrap()
}

/// The findings no allow-list entry covers, as (class, kind, operation, place).
fn failures(report: &Report) -> Vec<(Class, Kind, String, String)> {
    report
        .failures()
        .map(|f: &Finding| (f.class, f.kind, f.operation(), f.place()))
        .collect()
}

fn fails_with(doc: &Value, expected: &[(Class, Kind, &str, &str)]) -> Report {
    let report = run(doc);
    let table = drift::render_table(&report, false);
    assert!(!report.ok(), "drift passed:\n{table}");
    let expected: Vec<_> = expected
        .iter()
        .map(|(class, kind, op, place)| (*class, *kind, op.to_string(), place.to_string()))
        .collect();
    assert_eq!(failures(&report), expected, "\n{table}");
    assert!(table.contains("drift: FAILED"), "{table}");
    report
}

fn schema<'a>(doc: &'a mut Value, name: &str) -> &'a mut Value {
    &mut doc["components"]["schemas"][name]
}

#[test]
fn the_reference_document_passes() {
    let report = run(&reference());
    let table = drift::render_table(&report, true);
    assert!(report.ok(), "{table}");
    assert!(
        report.findings.iter().any(|f| f.class == Class::Breaking),
        "nothing allow-listed?"
    );
    assert!(table.contains("drift: ok"), "{table}");
}

#[test]
fn a_renamed_request_field_is_breaking() {
    let mut doc = reference();
    let chat = schema(&mut doc, "ChatRequest");
    let query = chat["properties"]
        .as_object_mut()
        .unwrap()
        .remove("query")
        .unwrap();
    chat["properties"]["question"] = query;
    chat["required"] = json!(["question"]);
    fails_with(
        &doc,
        &[
            (
                Class::Breaking,
                Kind::FieldRemoved,
                "POST /chat",
                "request body query",
            ),
            (
                Class::Breaking,
                Kind::FieldAdded,
                "POST /chat",
                "request body question",
            ),
        ],
    );
}

#[test]
fn a_removed_path_is_breaking_and_leaves_its_allow_list_items_stale() {
    let mut doc = reference();
    doc["paths"].as_object_mut().unwrap().remove("/chat");
    let report = fails_with(
        &doc,
        &[(
            Class::Breaking,
            Kind::PathRemoved,
            "POST /chat",
            "operation",
        )],
    );
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.contains("`POST /chat` in `operations` matches no finding")),
        "{:?}",
        report.problems
    );
}

#[test]
fn a_removed_method_is_breaking() {
    let mut doc = reference();
    doc["paths"]["/users"]
        .as_object_mut()
        .unwrap()
        .remove("get");
    fails_with(
        &doc,
        &[(
            Class::Breaking,
            Kind::OperationRemoved,
            "GET /users",
            "operation",
        )],
    );
}

#[test]
fn a_type_change_is_breaking() {
    let mut doc = reference();
    schema(&mut doc, "SearchRequest")["properties"]["query"]["type"] = json!("integer");
    fails_with(
        &doc,
        &[(
            Class::Breaking,
            Kind::TypeChanged,
            "POST /search",
            "request body query",
        )],
    );
}

#[test]
fn a_newly_required_field_is_breaking() {
    let mut doc = reference();
    schema(&mut doc, "MemCubeRegister")["required"] = json!(["mem_cube_name_or_path", "user_id"]);
    fails_with(
        &doc,
        &[(
            Class::Breaking,
            Kind::FieldNowRequired,
            "POST /mem_cubes",
            "request body user_id",
        )],
    );
}

#[test]
fn a_new_required_parameter_is_breaking() {
    let mut doc = reference();
    let parameters = doc["paths"]["/memories"]["get"]["parameters"]
        .as_array_mut()
        .unwrap();
    parameters.push(
        json!({"name": "limit", "in": "query", "required": true, "schema": {"type": "integer"}}),
    );
    fails_with(
        &doc,
        &[(
            Class::Breaking,
            Kind::ParameterAdded,
            "GET /memories",
            "query limit",
        )],
    );
}

#[test]
fn a_removed_parameter_is_breaking() {
    let mut doc = reference();
    let parameters = doc["paths"]["/mem_cubes/{mem_cube_id}"]["delete"]["parameters"]
        .as_array_mut()
        .unwrap();
    parameters.retain(|p| p["name"] != "user_id");
    fails_with(
        &doc,
        &[(
            Class::Breaking,
            Kind::ParameterRemoved,
            "DELETE /mem_cubes/{mem_cube_id}",
            "query user_id",
        )],
    );
}

#[test]
fn a_new_optional_field_is_additive_and_still_fails_until_allowed() {
    let mut doc = reference();
    schema(&mut doc, "SearchRequest")["properties"]["top_k"] =
        json!({"anyOf": [{"type": "integer"}, {"type": "null"}], "title": "Top K"});
    fails_with(
        &doc,
        &[(
            Class::Additive,
            Kind::FieldAdded,
            "POST /search",
            "request body top_k",
        )],
    );
}

#[test]
fn a_response_field_the_client_requires_going_away_is_breaking() {
    let mut doc = reference();
    // The server's UserResponse gains typed `data` that lacks the spec's `user_id`.
    schema(&mut doc, "UserResponse")["properties"]["data"] =
        json!({"type": "object", "properties": {"uid": {"type": "string"}}, "required": ["uid"]});
    let report = run(&doc);
    let failures = failures(&report);
    assert!(
        failures.contains(&(
            Class::Breaking,
            Kind::FieldRemoved,
            "POST /users".into(),
            "response 200 data.user_id".into()
        )),
        "{failures:?}"
    );
    assert!(
        failures.contains(&(
            Class::Additive,
            Kind::FieldAdded,
            "POST /users".into(),
            "response 200 data.uid".into()
        )),
        "{failures:?}"
    );
}

#[test]
fn a_status_only_the_server_documents_is_documentation_but_fails_until_allowed() {
    let mut doc = reference();
    doc["paths"]["/users"]["post"]["responses"]["409"] = json!({"description": "Conflict"});
    fails_with(
        &doc,
        &[(
            Class::Documentation,
            Kind::StatusOnlyOnServer,
            "POST /users",
            "response 409",
        )],
    );
}

#[test]
fn the_3_1_null_union_matches_the_3_0_nullable() {
    // MemoryCreate's optional fields are `anyOf [T, null]` on the server and `nullable: true`
    // in the spec; nothing about them may be reported except wording.
    let report = run(&reference());
    let structural: Vec<_> = report
        .findings
        .iter()
        .filter(|f| f.path == "/memories" && f.method == "POST" && f.location == "request body")
        .filter(|f| f.class != Class::Documentation)
        .collect();
    assert!(structural.is_empty(), "{structural:?}");
}

#[test]
fn json_output_lists_every_finding_with_its_verdict() {
    let mut doc = reference();
    schema(&mut doc, "SearchRequest")["properties"]["query"]["type"] = json!("integer");
    let report = run(&doc);
    let json: Value = serde_json::from_str(&drift::render_json(&report)).unwrap();
    assert_eq!(json["ok"], false);
    let findings = json["findings"].as_array().unwrap();
    assert_eq!(findings.len(), report.findings.len());
    let failing: Vec<_> = findings
        .iter()
        .filter(|f| f["allowed_by"].is_null())
        .collect();
    assert_eq!(failing.len(), 1);
    assert_eq!(failing[0]["class"], "breaking");
    assert_eq!(failing[0]["kind"], "type-changed");
    assert_eq!(failing[0]["field"], "query");
    assert!(findings.iter().any(|f| f["reason"].is_string()));
}

#[test]
fn fetch_reads_openapi_json_from_a_server() {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    let body = serde_json::to_string(&reference()).unwrap();
    let server = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut request = [0u8; 4096];
        let read = stream.read(&mut request).unwrap();
        let request = String::from_utf8_lossy(&request[..read]).into_owned();
        write!(stream, "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}", body.len()).unwrap();
        request
    });
    let (url, doc) = drift::fetch(&format!("http://{address}/")).unwrap();
    assert_eq!(url, format!("http://{address}/openapi.json"));
    assert_eq!(doc, reference());
    assert!(server.join().unwrap().starts_with("GET /openapi.json "));
}

#[test]
fn fetch_from_nowhere_says_what_failed() {
    // Bind and drop to get a port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let err = drift::fetch(&format!("http://127.0.0.1:{port}")).unwrap_err();
    let message = format!("{err:#}");
    assert!(
        message.contains("openapi.json") && message.contains("is the server running"),
        "{message}"
    );
}

#[test]
fn a_document_without_paths_is_an_error_not_a_panic() {
    let err = drift::run(&crate::workspace(), "empty", &json!({"openapi": "3.1.0"})).unwrap_err();
    assert!(format!("{err:#}").contains("no `paths`"), "{err:#}");
}
