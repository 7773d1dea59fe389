//! Class (a): every example validated against its schema.
//!
//! Checked: the `example` and each `examples.<name>.value` (a `$ref` to
//! `components.examples` is followed) of every media type, parameter and header, in paths and
//! components alike, and the `example` of every schema object, nested ones included. The
//! OpenAPI 3.0 schema is turned into JSON Schema by the conformance suite's conversion
//! (`memos_conformance::schema`), the one its response checks use.
//!
//! Examples are held to the letter of their schema: an object schema with `properties` and no
//! `additionalProperties` is closed for them (`unevaluatedProperties: false`), as redocly does.
//! An extra key in an example is nearly always a typo or a YAML accident (a comma in a flow
//! mapping splits a value into a second key), while a server that ignores unknown fields makes
//! an open schema the honest contract.

use serde_json::{json, Map, Value};

use memos_conformance::{convert_components, CompiledSchema};

use super::document::LintError;
use super::walk::{child, Walk};

pub fn check(doc: &Value, walk: &Walk<'_>) -> Vec<LintError> {
    let defs = closed_defs(doc);
    let mut errors = Vec::new();
    let mut validate = |location: String, schema: &Value, example: &Value| {
        let problems = match CompiledSchema::compile(&close(schema), &defs) {
            Ok(compiled) => without_echoes(compiled.problems(example)),
            Err(err) => vec![err],
        };
        if !problems.is_empty() {
            errors.push(LintError {
                location,
                message: format!("does not match its schema: {}", problems.join("; ")),
            });
        }
    };

    for holder in &walk.holders {
        let Some(schema) = holder.value.get("schema") else {
            continue;
        };
        if let Some(example) = holder.value.get("example") {
            validate(child(&holder.location, "example"), schema, example);
        }
        let named = holder.value.get("examples").and_then(Value::as_object);
        for (name, entry) in named.into_iter().flatten() {
            let here = child(&child(&holder.location, "examples"), name);
            let entry = match entry.get("$ref").and_then(Value::as_str) {
                Some(target) => match super::document::resolve_ref(doc, target) {
                    Ok(found) => found,
                    // The `$ref` check reports it.
                    Err(_) => continue,
                },
                None => entry,
            };
            if let Some(value) = entry.get("value") {
                validate(child(&here, "value"), schema, value);
            }
        }
    }
    for at in &walk.schemas {
        if let Some(example) = at.value.get("example") {
            validate(child(&at.location, "example"), at.value, example);
        }
    }
    errors
}

/// Drops the "unevaluated property" echoes of a deeper problem: a property whose value fails
/// its schema counts as unevaluated in the object around it, so `/messages/1: ...` would
/// come with a misleading `/: ... ('messages' was unexpected)`. Problems read
/// `<pointer>: <message>`.
fn without_echoes(problems: Vec<String>) -> Vec<String> {
    let pointer = |problem: &str| problem.split_once(": ").map_or("", |(p, _)| p).to_owned();
    let pointers: Vec<String> = problems.iter().map(|p| pointer(p)).collect();
    problems
        .into_iter()
        .filter(|problem| {
            let here = pointer(problem);
            let prefix = if here == "/" {
                "/".to_owned()
            } else {
                format!("{here}/")
            };
            !(problem.contains("Unevaluated properties")
                && pointers.iter().any(|other| other.starts_with(&prefix)))
        })
        .collect()
}

/// The document's `components.schemas`, closed and converted.
fn closed_defs(doc: &Value) -> Value {
    let mut closed = doc.clone();
    if let Some(Value::Object(schemas)) = closed.pointer_mut("/components/schemas") {
        for schema in schemas.values_mut() {
            *schema = close(schema);
        }
    }
    convert_components(&closed)
}

/// `schema` with every object schema that lists `properties` and says nothing about others
/// closed to them.
fn close(schema: &Value) -> Value {
    let Some(map) = schema.as_object() else {
        return schema.clone();
    };
    let mut out = Map::new();
    for (key, value) in map {
        let value = match key.as_str() {
            "properties" | "patternProperties" => match value.as_object() {
                Some(props) => Value::Object(
                    props
                        .iter()
                        .map(|(name, s)| (name.clone(), close(s)))
                        .collect(),
                ),
                None => value.clone(),
            },
            "items" | "additionalProperties" | "not" => close(value),
            "allOf" | "anyOf" | "oneOf" => match value.as_array() {
                Some(list) => Value::Array(list.iter().map(close).collect()),
                None => value.clone(),
            },
            _ => value.clone(),
        };
        out.insert(key.clone(), value);
    }
    if out.contains_key("properties")
        && !out.contains_key("additionalProperties")
        && !out.contains_key("unevaluatedProperties")
    {
        out.insert("unevaluatedProperties".into(), json!(false));
    }
    Value::Object(out)
}
