//! OpenAPI 3.0 schema objects turned into JSON Schema (draft 2020-12) and validated
//! with the `jsonschema` crate.
//!
//! The conversion: `components.schemas` go under `$defs` and `#/components/schemas/X`
//! references point there; `nullable: true` adds `"null"` to `type` (or to `enum`), or
//! wraps a type-less composition in `anyOf: [{type: null}, ...]`; OpenAPI-only keywords
//! (`example`, `examples`, `discriminator`, `xml`, `externalDocs`, `deprecated`,
//! `readOnly`, `writeOnly`) are dropped.

use std::fmt;

use memos_text::one_line;
use serde_json::{json, Map, Value};

/// How many validation errors are reported per body.
const MAX_ERRORS: usize = 5;
/// The longest validation message kept: 200 characters and the `…` of a cut.
const MAX_MESSAGE_CHARS: usize = 201;

/// The `components.schemas` of an OpenAPI document, converted, as a `$defs` object.
pub fn convert_components(doc: &Value) -> Value {
    let mut defs = Map::new();
    if let Some(schemas) = doc
        .pointer("/components/schemas")
        .and_then(Value::as_object)
    {
        for (name, schema) in schemas {
            defs.insert(name.clone(), convert(schema));
        }
    }
    Value::Object(defs)
}

/// Converts one OpenAPI 3.0 schema object to JSON Schema.
pub fn convert(schema: &Value) -> Value {
    let Some(object) = schema.as_object() else {
        // `true`/`false` schemas and malformed entries are passed through.
        return schema.clone();
    };
    let mut out = Map::new();
    for (key, value) in object {
        let converted = match key.as_str() {
            "example" | "examples" | "discriminator" | "xml" | "externalDocs" | "deprecated"
            | "readOnly" | "writeOnly" | "nullable" => continue,
            "$ref" => match value.as_str() {
                Some(r) => Value::String(r.replace("#/components/schemas/", "#/$defs/")),
                None => value.clone(),
            },
            "properties" | "patternProperties" => match value.as_object() {
                Some(props) => Value::Object(
                    props
                        .iter()
                        .map(|(name, s)| (name.clone(), convert(s)))
                        .collect(),
                ),
                None => value.clone(),
            },
            "items" | "additionalProperties" | "not" | "contains" | "propertyNames" => {
                convert(value)
            }
            "allOf" | "anyOf" | "oneOf" => match value.as_array() {
                Some(list) => Value::Array(list.iter().map(convert).collect()),
                None => value.clone(),
            },
            _ => value.clone(),
        };
        out.insert(key.clone(), converted);
    }
    if object.get("nullable").and_then(Value::as_bool) == Some(true) {
        make_nullable(out)
    } else {
        Value::Object(out)
    }
}

fn make_nullable(mut out: Map<String, Value>) -> Value {
    if let Some(Value::Array(values)) = out.get_mut("enum") {
        if !values.contains(&Value::Null) {
            values.push(Value::Null);
        }
    }
    match out.get("type").cloned() {
        Some(Value::String(t)) => {
            out.insert("type".into(), json!([t, "null"]));
            Value::Object(out)
        }
        Some(Value::Array(mut types)) => {
            if !types.contains(&json!("null")) {
                types.push(json!("null"));
            }
            out.insert("type".into(), Value::Array(types));
            Value::Object(out)
        }
        _ if ["allOf", "anyOf", "oneOf", "$ref"]
            .iter()
            .any(|k| out.contains_key(*k)) =>
        {
            // Keep annotations outside, constraints inside the non-null branch.
            let mut outer = Map::new();
            for key in ["description", "title", "default"] {
                if let Some(v) = out.remove(key) {
                    outer.insert(key.into(), v);
                }
            }
            outer.insert(
                "anyOf".into(),
                json!([{"type": "null"}, Value::Object(out)]),
            );
            Value::Object(outer)
        }
        // No type and no composition: the schema already accepts null.
        _ => Value::Object(out),
    }
}

/// A response schema, converted and compiled.
pub struct CompiledSchema {
    /// The converted JSON Schema (with `$defs`), as validated.
    pub json_schema: Value,
    validator: jsonschema::Validator,
}

impl fmt::Debug for CompiledSchema {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CompiledSchema")
            .field("json_schema", &self.json_schema)
            .finish_non_exhaustive()
    }
}

impl CompiledSchema {
    /// Converts an OpenAPI schema and compiles it with `defs` (from
    /// [`convert_components`]) available under `#/$defs`.
    pub fn compile(openapi_schema: &Value, defs: &Value) -> Result<CompiledSchema, String> {
        let mut root = match convert(openapi_schema) {
            Value::Object(map) => map,
            other => {
                let mut map = Map::new();
                map.insert("allOf".into(), json!([other]));
                map
            }
        };
        root.insert(
            "$schema".into(),
            json!("https://json-schema.org/draft/2020-12/schema"),
        );
        root.insert("$defs".into(), defs.clone());
        let json_schema = Value::Object(root);
        let validator = jsonschema::draft202012::new(&json_schema)
            .map_err(|e| format!("the schema does not compile: {e}"))?;
        Ok(CompiledSchema {
            json_schema,
            validator,
        })
    }

    /// The problems of `instance`, each as `<json pointer>: <message>`; empty when valid.
    pub fn problems(&self, instance: &Value) -> Vec<String> {
        self.validator
            .iter_errors(instance)
            .take(MAX_ERRORS)
            .map(|e| {
                let at = e.instance_path.to_string();
                let at = if at.is_empty() { "/".to_owned() } else { at };
                format!("{at}: {}", one_line(&e.to_string(), MAX_MESSAGE_CHARS))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{Spec, SPEC_YAML};

    #[test]
    fn nullable_becomes_a_null_type() {
        assert_eq!(
            convert(&json!({"type": "string", "nullable": true, "example": "x"})),
            json!({"type": ["string", "null"]})
        );
        assert_eq!(
            convert(
                &json!({"nullable": true, "allOf": [{"$ref": "#/components/schemas/B"}], "description": "d"})
            ),
            json!({"description": "d", "anyOf": [{"type": "null"}, {"allOf": [{"$ref": "#/$defs/B"}]}]})
        );
        assert_eq!(
            convert(&json!({"nullable": true, "enum": ["a"], "type": "string"})),
            json!({"type": ["string", "null"], "enum": ["a", null]})
        );
    }

    #[test]
    fn properties_named_like_keywords_are_kept() {
        let converted =
            convert(&json!({"type": "object", "properties": {"example": {"type": "string"}}}));
        assert_eq!(
            converted["properties"]["example"],
            json!({"type": "string"})
        );
    }

    /// Every response example in the spec must be valid against its own schema; this
    /// proves the conversion on the real document.
    #[test]
    fn every_response_example_of_the_spec_validates() {
        let doc: Value = serde_yaml_ng::from_str(SPEC_YAML).expect("yaml");
        let spec = Spec::embedded().expect("spec");
        let mut checked = 0;
        for op in &spec.operations {
            let path_item = &doc["paths"][&op.path][op.method.to_lowercase()];
            for (status, response) in &op.responses {
                let mut raw = &path_item["responses"][status];
                if let Some(r) = raw.get("$ref").and_then(Value::as_str) {
                    raw = doc.pointer(r.trim_start_matches('#')).expect("ref");
                }
                let Some(example) = raw.pointer("/content/application~1json/example") else {
                    continue;
                };
                let schema = response.schema_for("application/json").expect("schema");
                let problems = schema.problems(example);
                assert!(problems.is_empty(), "{} {status}: {problems:?}", op.id);
                checked += 1;
            }
        }
        assert!(checked >= 20, "only {checked} examples checked");
    }

    #[test]
    fn a_wrong_body_is_reported_with_its_location() {
        let spec = Spec::embedded().expect("spec");
        let schema = spec
            .operation("list_users")
            .and_then(|op| op.response(200))
            .and_then(|r| r.schema_for("application/json"))
            .expect("schema");
        let problems =
            schema.problems(&json!({"code": 200, "message": "ok", "data": [{"user_id": 1}]}));
        assert!(
            problems.iter().any(|p| p.starts_with("/data/0")),
            "{problems:?}"
        );
        assert!(schema
            .problems(&json!({"code": 200, "message": "ok", "data": []}))
            .is_empty());
    }
}
