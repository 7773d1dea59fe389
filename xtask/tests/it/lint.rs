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
fn the_product_spec_passes() {
    let errors = xtask::lint::run_api(&crate::workspace(), xtask::api::Api::Product).unwrap();
    assert_eq!(errors, []);
}

#[test]
fn a_product_example_that_breaks_its_schema_is_caught() {
    let path = crate::workspace().join(xtask::api::Api::Product.spec_path());
    let text = std::fs::read_to_string(path).unwrap();
    let from = "example: {mem_cube_id: alice-notes}";
    assert_eq!(text.matches(from).count(), 1, "plant site `{from}`");
    let errors = lint_spec(&text.replace(from, "example: {mem_cube_id: 7}"));
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert!(
        errors[0].location.contains("/product/exist_mem_cube_id"),
        "{errors:#?}"
    );
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

// The classes other tools see and progenitor does not: examples against their schemas, 3.0
// structure rules redocly enforces, YAML that loads alike under 1.1 and 1.2.

fn spec_text() -> String {
    std::fs::read_to_string(crate::workspace().join(xtask::codegen::SPEC_PATH)).unwrap()
}

/// The spec text with `from` (which must occur exactly once) replaced.
fn planted(from: &str, to: &str) -> Vec<LintError> {
    let text = spec_text();
    assert_eq!(text.matches(from).count(), 1, "plant site `{from}`");
    lint_spec(&text.replace(from, to))
}

fn line_of(needle: &str) -> usize {
    spec_text()
        .lines()
        .position(|line| line.contains(needle))
        .expect("the line is in the spec")
        + 1
}

#[test]
fn a_request_example_of_the_wrong_type_is_caught() {
    let mut doc = spec();
    doc["paths"]["/chat"]["post"]["requestBody"]["content"]["application/json"]["example"]
        ["query"] = json!(5);
    only(
        &lint(&doc),
        "paths./chat.post.requestBody.content.application/json.example",
        "/query: 5 is not of type \"string\"",
    );
}

#[test]
fn a_named_example_with_a_property_split_off_by_a_comma_is_caught() {
    // The add example as it was: YAML reads `content: Noted` and a key `you live in Lisbon.`.
    let errors = planted(
        "content: 'Noted, you live in Lisbon.'",
        "content: Noted, you live in Lisbon.",
    );
    assert_eq!(errors.len(), 2, "{errors:#?}");
    let example = errors
        .iter()
        .find(|e| e.location.ends_with("examples.messages.value"))
        .expect("the example check reports it");
    assert_eq!(
        example.location,
        "paths./memories.post.requestBody.content.application/json.examples.messages.value"
    );
    assert!(
        example.message.ends_with(
            "does not match its schema: /messages/1: Unevaluated properties are not allowed \
             ('you live in Lisbon.' was unexpected)"
        ),
        "{example:?}"
    );
    let yaml = errors
        .iter()
        .find(|e| e.location.starts_with("line "))
        .expect("the YAML check reports it");
    let line = line_of("content: 'Noted, you live in Lisbon.'");
    assert!(
        yaml.location.starts_with(&format!("line {line}, ")),
        "{yaml:?}"
    );
    assert!(yaml.message.contains("without `: value`"), "{yaml:?}");
}

#[test]
fn a_schema_example_of_the_wrong_type_is_caught() {
    let mut doc = spec();
    doc["components"]["schemas"]["EmptyResponse"]["properties"]["code"]["example"] = json!("200");
    only(
        &lint(&doc),
        "components.schemas.EmptyResponse.properties.code.example",
        "is not of type \"integer\"",
    );
}

#[test]
fn a_parameter_example_of_the_wrong_type_is_caught() {
    let mut doc = spec();
    doc["components"]["parameters"]["MemoryIdPath"]["example"] = json!(["not", "a", "string"]);
    only(
        &lint(&doc),
        "components.parameters.MemoryIdPath.example",
        "is not of type \"string\"",
    );
}

#[test]
fn nullable_without_a_type_is_caught() {
    let mut doc = spec();
    let schema = &mut doc["components"]["schemas"]["MemoryMetadata"]["properties"]["status"];
    schema.as_object_mut().unwrap().remove("type");
    only(
        &lint(&doc),
        "components.schemas.MemoryMetadata.properties.status.nullable",
        "has no `type` beside it",
    );
}

#[test]
fn an_enum_value_of_another_type_is_caught() {
    let mut doc = spec();
    doc["components"]["schemas"]["UserRole"]["enum"]
        .as_array_mut()
        .unwrap()
        .push(json!(7));
    only(
        &lint(&doc),
        "components.schemas.UserRole.enum",
        "has 7, which is not of type `string`",
    );
}

#[test]
fn a_required_property_that_is_not_declared_is_caught() {
    let mut doc = spec();
    doc["components"]["schemas"]["Message"]["required"] = json!(["role", "contnet"]);
    let errors = lint(&doc);
    let structural: Vec<_> = errors
        .iter()
        .filter(|e| e.location == "components.schemas.Message.required")
        .collect();
    assert_eq!(structural.len(), 1, "{errors:#?}");
    assert!(structural[0].message.contains("`contnet`"), "{errors:#?}");
}

#[test]
fn an_undeclared_path_parameter_is_caught() {
    let mut doc = spec();
    doc["paths"]["/mem_cubes/{cube_id}/share"]["post"]
        .as_object_mut()
        .unwrap()
        .remove("parameters");
    only(
        &lint(&doc),
        "paths./mem_cubes/{cube_id}/share.post",
        "has no path parameter `cube_id`",
    );
}

#[test]
fn an_undefined_security_scheme_is_caught() {
    let mut doc = spec();
    doc["security"]
        .as_array_mut()
        .unwrap()
        .push(json!({"cookieAuth": []}));
    let index = doc["security"].as_array().unwrap().len() - 1;
    only(
        &lint(&doc),
        &format!("security[{index}]"),
        "names `cookieAuth`",
    );
}

#[test]
fn an_operation_without_security_is_caught() {
    let mut doc = spec();
    doc.as_object_mut().unwrap().remove("security");
    // Every operation is reported; an operation's own `security` (even `[]`) is enough.
    let errors = lint(&doc);
    assert!(errors.len() > 1, "{errors:#?}");
    assert!(
        errors
            .iter()
            .all(|e| e.message.contains("declares no security")),
        "{errors:#?}"
    );
    let paths = doc["paths"].as_object_mut().unwrap();
    for item in paths.values_mut() {
        for (_, operation) in item.as_object_mut().unwrap().iter_mut() {
            operation["security"] = json!([]);
        }
    }
    assert_eq!(lint(&doc), []);
}

#[test]
fn a_server_url_with_a_trailing_slash_is_caught() {
    let mut doc = spec();
    doc["servers"][0]["url"] = json!("http://127.0.0.1:8000/");
    only(&lint(&doc), "servers[0].url", "ends with `/`");
}

#[test]
fn a_question_mark_in_an_unquoted_flow_scalar_is_caught() {
    // The chat example as it was: PyYAML fails on it ("expected ',' or '}', but got '?'").
    let line = line_of("query: 'Where do I live?'");
    let errors = planted("query: 'Where do I live?'", "query: Where do I live?");
    only(
        &errors,
        &format!("line {line}, column 46"),
        "contains `?`, where a YAML 1.1 loader (PyYAML) ends it",
    );
}

#[test]
fn a_colon_in_an_unquoted_flow_scalar_is_caught() {
    let line = line_of("base_url: 'http://127.0.0.1:9000/v1'");
    let errors = planted(
        "base_url: 'http://127.0.0.1:9000/v1'",
        "base_url: http://127.0.0.1:9000/v1",
    );
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert!(
        errors[0].location.starts_with(&format!("line {line}, ")),
        "{errors:#?}"
    );
    assert!(errors[0].message.contains("contains `:`"), "{errors:#?}");
}

#[test]
fn a_scalar_that_yaml_1_1_reads_as_a_boolean_is_caught() {
    let line = line_of("query: 'Where do I live?'");
    let errors = planted("query: 'Where do I live?'", "query: yes");
    only(
        &errors,
        &format!("line {line}, column 46"),
        "`yes` is the boolean true under YAML 1.1 (PyYAML) but a string under YAML 1.2",
    );
}

#[test]
fn a_scalar_that_yaml_1_1_reads_as_a_timestamp_is_caught() {
    let mut text = spec_text();
    text.push_str("x-release: 2026-11-26\n");
    let errors = lint_spec(&text);
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert!(
        errors[0].message.contains("a timestamp under YAML 1.1"),
        "{errors:#?}"
    );
}

#[test]
fn the_spec_text_passes() {
    // `the_spec_passes` lints the document re-serialised as JSON; the YAML rules need the text.
    assert_eq!(lint_spec(&spec_text()), []);
}

#[test]
fn two_paths_that_differ_only_in_parameter_names_are_caught() {
    let mut doc = spec();
    let item = doc["paths"]["/memories/{mem_cube_id}"].clone();
    let mut renamed = serde_json::to_string(&item)
        .unwrap()
        .replace("MemCubeIdPath", "CubeIdPath");
    renamed = renamed.replace("delete_all_memories", "delete_all_memories_again");
    doc["paths"]["/memories/{cube_id}"] = serde_json::from_str(&renamed).unwrap();
    let mut parameter = doc["components"]["parameters"]["MemCubeIdPath"].clone();
    parameter["name"] = json!("cube_id");
    doc["components"]["parameters"]["CubeIdPath"] = parameter;
    only(
        &lint(&doc),
        "paths./memories/{cube_id}, paths./memories/{mem_cube_id}",
        "are the same path with other parameter names",
    );
}
