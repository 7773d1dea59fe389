//! Spec lint: the rules `openapi/memos.yaml` must keep that no parser enforces, so that every
//! OpenAPI tool reads the spec as progenitor does. Part of `cargo xtask check`; offline and
//! Rust-only (`cargo xtask lint-external` runs the real redocly and PyYAML).
//!
//! Here:
//! * it parses as OpenAPI 3.0 (`openapiv3`) and says `openapi: 3.0.x`: progenitor reads 3.0;
//! * every operation has an `operationId` (the client's method name), a `summary` (the
//!   README table and the docs) and an example (request body or success response); the
//!   operationIds are unique;
//! * every `$ref` points at something that exists.
//!
//! And one module per class of problem that other tools see and progenitor does not:
//! * [`examples`]: every example (media type, parameter, header, schema) is valid against its
//!   schema, with undeclared properties refused (redocly's `no-invalid-media-type-examples`,
//!   `no-invalid-parameter-examples`, `no-invalid-schema-examples`);
//! * [`structure`]: OpenAPI 3.0 rules openapiv3 tolerates and redocly's recommended ruleset
//!   rejects (`nullable` without `type`, `enum` values of another type, undeclared path
//!   parameters, ...; the module lists each with its redocly rule);
//! * [`yaml`]: the text loads to the same document under YAML 1.1 (PyYAML) and 1.2
//!   (serde_yaml_ng): no `, ? : [ ] { }` in unquoted flow scalars, no flow mapping entry
//!   without a value, no unquoted scalar that the two versions type differently.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use crate::api::Api;
use crate::util;

mod document;
pub mod examples;
pub mod structure;
mod walk;
pub mod yaml;

pub use document::{resolve_ref, LintError, METHODS};

/// Lints the v1 spec under `root`. An error means the file could not be read.
pub fn run(root: &Path) -> anyhow::Result<Vec<LintError>> {
    run_api(root, Api::V1)
}

/// Lints `api`'s spec under `root` with the same rules.
pub fn run_api(root: &Path, api: Api) -> anyhow::Result<Vec<LintError>> {
    let text = util::read_text(&root.join(api.spec_path()))?;
    Ok(lint_spec(&text))
}

/// Lints spec text. Returns every problem found, not just the first.
pub fn lint_spec(text: &str) -> Vec<LintError> {
    let mut errors = Vec::new();
    let mut error = |location: &str, message: String| {
        errors.push(LintError {
            location: location.to_owned(),
            message,
        })
    };

    let doc = match util::parse_yaml_or_json(text) {
        Ok(doc) => doc,
        Err(err) => {
            error("(document)", format!("is not valid YAML: {err}"));
            return errors;
        }
    };
    match doc.get("openapi").and_then(Value::as_str) {
        Some(version) if version.starts_with("3.0") => {}
        Some(version) => error(
            "openapi",
            format!("is `{version}`; the spec must stay OpenAPI 3.0.x (progenitor reads 3.0)"),
        ),
        None => error("openapi", "is missing; set `openapi: 3.0.3`".to_owned()),
    }
    if let Err(err) = memos_codegen::parse_spec(text) {
        error(
            "(document)",
            format!("does not parse as OpenAPI 3.0 (openapiv3): {err}"),
        );
    }

    let mut refs = Vec::new();
    collect_refs(&doc, &mut String::new(), &mut refs);
    let mut refs_resolve = true;
    for (location, target) in refs {
        if let Err(problem) = resolve_ref(&doc, &target) {
            error(&location, problem);
            refs_resolve = false;
        }
    }

    let mut ids: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let paths = doc.get("paths").and_then(Value::as_object);
    for (path, item) in paths.into_iter().flatten() {
        for method in METHODS {
            let Some(operation) = item.get(method) else {
                continue;
            };
            let here = format!("{} {path}", method.to_uppercase());
            match non_empty_str(operation, "operationId") {
                Some(id) => ids.entry(id.to_owned()).or_default().push(here.clone()),
                None => error(
                    &here,
                    "has no operationId (it names the client method)".into(),
                ),
            }
            if non_empty_str(operation, "summary").is_none() {
                error(
                    &here,
                    "has no summary (the README table and docs show it)".into(),
                );
            }
            if !has_example(&doc, operation) {
                error(
                    &here,
                    "has no example: give its request body or a success (2XX) response an \
                     `example` or `examples`"
                        .into(),
                );
            }
        }
    }
    for (id, mut places) in ids {
        if places.len() > 1 {
            places.sort();
            error(
                &places.join(", "),
                format!("share the operationId `{id}`; operationIds must be unique"),
            );
        }
    }
    let walk = walk::walk(&doc);
    // A schema with a dangling `$ref` cannot be compiled; that is reported once, above.
    if refs_resolve {
        errors.extend(examples::check(&doc, &walk));
    }
    errors.extend(structure::check(&doc, &walk));
    errors.extend(yaml::check(text));
    errors
}

fn non_empty_str<'a>(value: &'a Value, key: &str) -> Option<&'a str> {
    value
        .get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
}

/// Every `$ref` string with the dotted location of the object that holds it.
fn collect_refs(value: &Value, location: &mut String, out: &mut Vec<(String, String)>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                let len = location.len();
                if !location.is_empty() {
                    location.push('.');
                }
                location.push_str(key);
                if key == "$ref" {
                    if let Value::String(target) = child {
                        out.push((location.clone(), target.clone()));
                    }
                } else {
                    collect_refs(child, location, out);
                }
                location.truncate(len);
            }
        }
        Value::Array(items) => {
            for (index, child) in items.iter().enumerate() {
                let len = location.len();
                location.push_str(&format!("[{index}]"));
                collect_refs(child, location, out);
                location.truncate(len);
            }
        }
        _ => {}
    }
}

/// Follows `$ref` chains (bounded, so a reference loop cannot hang the lint).
fn deref<'a>(doc: &'a Value, mut value: &'a Value) -> Option<&'a Value> {
    for _ in 0..16 {
        match value.get("$ref").and_then(Value::as_str) {
            Some(target) => value = resolve_ref(doc, target).ok()?,
            None => return Some(value),
        }
    }
    None
}

fn media_has_example(doc: &Value, holder: &Value) -> bool {
    let Some(holder) = deref(doc, holder) else {
        return false;
    };
    let content = holder.get("content").and_then(Value::as_object);
    content.into_iter().flatten().any(|(_, media)| {
        media.get("example").is_some()
            || media
                .get("examples")
                .and_then(Value::as_object)
                .is_some_and(|examples| !examples.is_empty())
    })
}

/// An example of the operation itself: on the request body or a success response. Error
/// responses do not count: they are shared components that say nothing about the operation.
fn has_example(doc: &Value, operation: &Value) -> bool {
    let in_body = operation
        .get("requestBody")
        .is_some_and(|body| media_has_example(doc, body));
    let responses = operation.get("responses").and_then(Value::as_object);
    in_body
        || responses
            .into_iter()
            .flatten()
            .filter(|(status, _)| status.starts_with('2'))
            .any(|(_, response)| media_has_example(doc, response))
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r##"
openapi: 3.0.3
info: {title: t, version: '1'}
security: [{}]
paths:
  /a:
    post:
      operationId: post_a
      summary: Post a
      requestBody:
        $ref: '#/components/requestBodies/A'
      responses:
        '200': {description: ok}
components:
  requestBodies:
    A:
      content:
        application/json:
          schema: {type: object}
          example: {}
"##;

    #[test]
    fn a_good_spec_passes() {
        assert_eq!(lint_spec(GOOD), []);
    }

    #[test]
    fn a_3_1_spec_is_refused() {
        let errors = lint_spec(&GOOD.replace("3.0.3", "3.1.0"));
        assert!(errors.iter().any(|e| e.location == "openapi"), "{errors:?}");
    }

    #[test]
    fn invalid_yaml_is_an_error_not_a_panic() {
        let errors = lint_spec("openapi: [unclosed");
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(errors[0].message.contains("not valid YAML"));
    }

    #[test]
    fn duplicate_operation_ids_are_reported() {
        let spec = GOOD.replace(
            "components:",
            "  /b:\n    get:\n      operationId: post_a\n      summary: b\n      responses:\n        \
             '200': {description: ok, content: {application/json: {example: 1}}}\ncomponents:",
        );
        let errors = lint_spec(&spec);
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(errors[0].message.contains("share the operationId `post_a`"));
    }
}
