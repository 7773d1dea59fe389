//! The spec lint passes on the real spec and catches each planted problem.

use serde_json::{json, Value};
use xtask::lint::{lint_spec, LintError};

fn spec() -> Value {
    let text = std::fs::read_to_string(crate::workspace().join(xtask::codegen::SPEC_PATH)).unwrap();
    xtask::util::parse_yaml_or_json(&text).unwrap()
}

fn lint(doc: &Value) -> Vec<LintError> {
    // JSON is YAML, so the mutated document can be linted as text.
    lint_spec(&serde_json::to_string_pretty(doc).unwrap())
}

fn only(errors: &[LintError], location: &str, message: &str) {
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert_eq!(errors[0].location, location, "{errors:#?}");
    assert!(errors[0].message.contains(message), "{errors:#?}");
}

#[test]
fn the_spec_passes() {
    assert_eq!(lint(&spec()), []);
}

#[test]
fn a_missing_operation_id_is_caught() {
    let mut doc = spec();
    doc["paths"]["/users"]["get"]
        .as_object_mut()
        .unwrap()
        .remove("operationId");
    only(&lint(&doc), "GET /users", "no operationId");
}

#[test]
fn a_missing_summary_is_caught() {
    let mut doc = spec();
    doc["paths"]["/chat"]["post"]
        .as_object_mut()
        .unwrap()
        .remove("summary");
    only(&lint(&doc), "POST /chat", "no summary");
}

#[test]
fn a_missing_example_is_caught() {
    let mut doc = spec();
    // GET /users has no body; its only example is on the 200 response.
    let media =
        &mut doc["paths"]["/users"]["get"]["responses"]["200"]["content"]["application/json"];
    media.as_object_mut().unwrap().remove("example");
    only(&lint(&doc), "GET /users", "no example");
}

#[test]
fn a_dangling_ref_is_caught() {
    let mut doc = spec();
    doc["paths"]["/chat"]["post"]["requestBody"]["content"]["application/json"]["schema"] =
        json!({"$ref": "#/components/schemas/NoSuchSchema"});
    let errors = lint(&doc);
    // openapiv3 parses dangling references fine; the lint's own walk must catch it.
    only(
        &errors,
        "paths./chat.post.requestBody.content.application/json.schema.$ref",
        "#/components/schemas/NoSuchSchema` points at nothing",
    );
}

#[test]
fn a_duplicate_operation_id_is_caught() {
    let mut doc = spec();
    doc["paths"]["/chat"]["post"]["operationId"] = json!("search_memories");
    only(
        &lint(&doc),
        "POST /chat, POST /search",
        "share the operationId `search_memories`",
    );
}

#[test]
fn an_openapi_3_1_version_is_caught() {
    let mut doc = spec();
    doc["openapi"] = json!("3.1.0");
    let errors = lint(&doc);
    assert!(
        errors
            .iter()
            .any(|e| e.location == "openapi" && e.message.contains("3.0")),
        "{errors:#?}"
    );
}
