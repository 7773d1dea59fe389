//! `lint-external`'s comparison of the two loaders' documents (the tools themselves run in CI,
//! `cargo xtask lint-external`).

use serde_json::json;
use xtask::external::differ;

fn differences(ours: serde_json::Value, theirs: serde_json::Value) -> Vec<String> {
    let mut out = Vec::new();
    differ(&ours, &theirs, &mut String::new(), &mut out);
    out
}

#[test]
fn equal_documents_have_no_differences() {
    let doc = json!({"a": [1, {"b/c": "x"}], "n": null, "f": 1.0});
    assert_eq!(differences(doc.clone(), doc), Vec::<String>::new());
}

#[test]
fn a_scalar_yaml_1_1_types_differently_is_named_by_pointer() {
    let found = differences(
        json!({"paths": {"/chat": {"example": {"query": "yes"}}}}),
        json!({"paths": {"/chat": {"example": {"query": true}}}}),
    );
    assert_eq!(
        found,
        ["/paths/~1chat/example/query: serde_yaml_ng \"yes\", PyYAML true"]
    );
}

#[test]
fn a_key_only_one_loader_sees_is_named() {
    let found = differences(
        json!({"m": {"content": "Noted, you live here."}}),
        json!({"m": {"content": "Noted", "you live here.": null}}),
    );
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(found[1].starts_with("/m/you live here.: serde_yaml_ng (absent), PyYAML null"));
}

#[test]
fn an_integer_and_an_equal_float_are_the_same() {
    assert_eq!(differences(json!(1), json!(1.0)), Vec::<String>::new());
}
