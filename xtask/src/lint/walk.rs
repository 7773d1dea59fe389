//! One walk over an OpenAPI 3.0 document that finds every schema object and every object that
//! holds a `schema` (media types, parameters, headers), each with its dotted location in the
//! style of the `$ref` check (`paths./chat.post.requestBody.content.application/json.schema`).
//!
//! Example values (`example`, `examples`) and schema data keywords (`enum`, `default`) are not
//! entered: they are data, and a key named `schema` inside them is not a schema.

use serde_json::Value;

/// A value of the document and where it is.
pub struct At<'a> {
    pub location: String,
    pub value: &'a Value,
}

/// What one walk found.
#[derive(Default)]
pub struct Walk<'a> {
    /// Every schema object, nested ones included, in document order.
    pub schemas: Vec<At<'a>>,
    /// Every object outside a schema with a `schema` key: its examples are checked against it.
    pub holders: Vec<At<'a>>,
}

pub fn walk(doc: &Value) -> Walk<'_> {
    let mut found = Walk::default();
    outside(doc, "", &mut found);
    found
}

pub fn child(location: &str, key: &str) -> String {
    if location.is_empty() {
        key.to_owned()
    } else {
        format!("{location}.{key}")
    }
}

fn outside<'a>(value: &'a Value, location: &str, found: &mut Walk<'a>) {
    match value {
        Value::Object(map) => {
            if map.contains_key("schema") {
                found.holders.push(At {
                    location: location.to_owned(),
                    value,
                });
            }
            for (key, child_value) in map {
                let here = child(location, key);
                match key.as_str() {
                    "example" | "examples" => {}
                    "schema" => schema(child_value, &here, found),
                    "schemas" if location == "components" => {
                        for (name, s) in child_value.as_object().into_iter().flatten() {
                            schema(s, &child(&here, name), found);
                        }
                    }
                    _ => outside(child_value, &here, found),
                }
            }
        }
        Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                outside(item, &format!("{location}[{index}]"), found);
            }
        }
        _ => {}
    }
}

fn schema<'a>(value: &'a Value, location: &str, found: &mut Walk<'a>) {
    let Some(map) = value.as_object() else {
        return;
    };
    found.schemas.push(At {
        location: location.to_owned(),
        value,
    });
    for (key, child_value) in map {
        let here = child(location, key);
        match key.as_str() {
            "properties" | "patternProperties" => {
                for (name, s) in child_value.as_object().into_iter().flatten() {
                    schema(s, &child(&here, name), found);
                }
            }
            "items" | "additionalProperties" | "not" => schema(child_value, &here, found),
            "allOf" | "anyOf" | "oneOf" => {
                for (index, s) in child_value.as_array().into_iter().flatten().enumerate() {
                    schema(s, &format!("{here}[{index}]"), found);
                }
            }
            _ => {}
        }
    }
}
