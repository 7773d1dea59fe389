//! A version-neutral view of an OpenAPI document, enough to compare two of them.
//!
//! Both our 3.0 spec and FastAPI's 3.1 document are read from plain JSON values into the same
//! shapes, so that spellings that mean the same thing compare equal:
//! 3.0 `nullable: true`, 3.1 `anyOf: [T, {type: null}]` and 3.1 `type: [T, "null"]` all become
//! `nullable`; `$ref`s are followed; a single-element `allOf` is its element; `enum: [null]`
//! and `type: null` are both the null type.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use crate::lint::{resolve_ref, METHODS};

/// An operation's address: `(path, method)`, method in lower case.
pub type OpKey = (String, String);

/// The comparable parts of a whole document.
#[derive(Debug, Default)]
pub struct Api {
    pub paths: BTreeSet<String>,
    pub operations: BTreeMap<OpKey, Operation>,
}

#[derive(Debug, Default)]
pub struct Operation {
    pub operation_id: Option<String>,
    pub summary: Option<String>,
    pub description: Option<String>,
    /// Keyed by `(location, name)`, e.g. `("query", "user_id")`.
    pub parameters: BTreeMap<(String, String), Parameter>,
    pub request_body: Option<RequestBody>,
    /// Keyed by status (`"200"`, `"4XX"`, `"default"`).
    pub responses: BTreeMap<String, Response>,
}

#[derive(Debug)]
pub struct Parameter {
    pub required: bool,
    pub description: Option<String>,
    pub schema: Shape,
}

#[derive(Debug)]
pub struct RequestBody {
    pub required: bool,
    /// The `application/json` schema; `None` when the body has no JSON content.
    pub schema: Option<Shape>,
}

#[derive(Debug)]
pub struct Response {
    /// The `application/json` schema; `None` when the response has no JSON content.
    pub schema: Option<Shape>,
}

/// A schema reduced to what a client depends on, plus its documentation attributes.
#[derive(Debug, Clone, Default)]
pub struct Shape {
    pub ty: Ty,
    pub nullable: bool,
    /// Allowed values, without `null` (which sets `nullable`).
    pub enum_values: Option<Vec<Value>>,
    pub default: Option<Value>,
    pub description: Option<String>,
    pub title: Option<String>,
    pub example: Option<Value>,
}

#[derive(Debug, Clone, Default)]
pub enum Ty {
    /// No constraint (an empty schema, `{}` items, or a recursive reference).
    #[default]
    Any,
    Null,
    Boolean,
    Integer,
    Number,
    String,
    Array(Box<Shape>),
    Object(Object),
    /// Several alternatives (`oneOf`/`anyOf` other than "T or null").
    Union(Vec<Shape>),
}

#[derive(Debug, Clone, Default)]
pub struct Object {
    /// Empty for a free-form object (only `additionalProperties`).
    pub fields: BTreeMap<String, Field>,
}

#[derive(Debug, Clone)]
pub struct Field {
    pub required: bool,
    pub shape: Shape,
}

/// The kind of a type, for deciding whether two types are the same kind of thing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    Null,
    Boolean,
    Integer,
    Number,
    String,
    Array,
    Object,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Null => "null",
            Kind::Boolean => "boolean",
            Kind::Integer => "integer",
            Kind::Number => "number",
            Kind::String => "string",
            Kind::Array => "array",
            Kind::Object => "object",
        }
    }
}

impl Shape {
    /// The alternatives of this shape: the members of a union, or the shape itself.
    /// Empty for `Any`.
    pub fn members(&self) -> Vec<&Shape> {
        match &self.ty {
            Ty::Any => Vec::new(),
            Ty::Union(members) => members.iter().flat_map(Shape::members).collect(),
            _ => vec![self],
        }
    }

    /// The kind of a non-union, non-any shape.
    pub fn kind(&self) -> Option<Kind> {
        Some(match &self.ty {
            Ty::Any | Ty::Union(_) => return None,
            Ty::Null => Kind::Null,
            Ty::Boolean => Kind::Boolean,
            Ty::Integer => Kind::Integer,
            Ty::Number => Kind::Number,
            Ty::String => Kind::String,
            Ty::Array(_) => Kind::Array,
            Ty::Object(_) => Kind::Object,
        })
    }

    /// A short human description of the type, e.g. `string`, `array of object`, `integer | string`.
    pub fn type_name(&self) -> String {
        match &self.ty {
            Ty::Any => "any".to_owned(),
            Ty::Array(items) => format!("array of {}", items.type_name()),
            Ty::Union(_) => self
                .members()
                .iter()
                .map(|member| member.type_name())
                .collect::<Vec<_>>()
                .join(" | "),
            _ => self.kind().map_or("?", Kind::name).to_owned(),
        }
    }
}

/// Reads a document. Only the structure matters here; the document's own validity is the
/// lint's business (for our spec) or FastAPI's (for the server's), so broken pieces become
/// `Any` rather than errors, except a dangling `$ref`, which is reported.
pub fn read_api(doc: &Value) -> Result<Api, String> {
    let reader = Reader { doc };
    let mut api = Api::default();
    let Some(paths) = doc.get("paths").and_then(Value::as_object) else {
        return Err("has no `paths` object; is this an OpenAPI document?".to_owned());
    };
    for (path, item) in paths {
        api.paths.insert(path.clone());
        let item = reader.deref(item)?;
        let shared_parameters = item.get("parameters");
        for method in METHODS {
            let Some(operation) = item.get(method) else {
                continue;
            };
            let operation = reader
                .operation(operation, shared_parameters)
                .map_err(|err| format!("{} {path}: {err}", method.to_uppercase()))?;
            api.operations
                .insert((path.clone(), method.to_owned()), operation);
        }
    }
    Ok(api)
}

struct Reader<'a> {
    doc: &'a Value,
}

fn text(value: &Value, key: &str) -> Option<String> {
    value.get(key).and_then(Value::as_str).map(str::to_owned)
}

impl<'a> Reader<'a> {
    /// Follows `$ref` chains; reference loops are an error.
    fn deref(&self, mut value: &'a Value) -> Result<&'a Value, String> {
        for _ in 0..32 {
            match value.get("$ref").and_then(Value::as_str) {
                Some(target) => value = resolve_ref(self.doc, target)?,
                None => return Ok(value),
            }
        }
        Err("a `$ref` chain is longer than 32 links (a loop?)".to_owned())
    }

    fn operation(&self, op: &'a Value, shared: Option<&'a Value>) -> Result<Operation, String> {
        let mut operation = Operation {
            operation_id: text(op, "operationId"),
            summary: text(op, "summary"),
            description: text(op, "description"),
            ..Operation::default()
        };
        // Path-level parameters first, so operation-level ones override them (as OpenAPI says).
        for list in [shared, op.get("parameters")].into_iter().flatten() {
            for parameter in list.as_array().into_iter().flatten() {
                let parameter = self.deref(parameter)?;
                let (Some(name), Some(location)) = (text(parameter, "name"), text(parameter, "in"))
                else {
                    return Err("a parameter has no `name` or `in`".to_owned());
                };
                let schema = match parameter.get("schema") {
                    Some(schema) => self.shape(schema, &mut Vec::new())?,
                    None => Shape::default(),
                };
                operation.parameters.insert(
                    (location, name),
                    Parameter {
                        required: parameter.get("required").and_then(Value::as_bool) == Some(true),
                        description: text(parameter, "description"),
                        schema,
                    },
                );
            }
        }
        if let Some(body) = op.get("requestBody") {
            let body = self.deref(body)?;
            operation.request_body = Some(RequestBody {
                required: body.get("required").and_then(Value::as_bool) == Some(true),
                schema: self.json_schema(body)?,
            });
        }
        for (status, response) in op
            .get("responses")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            let response = self.deref(response)?;
            operation.responses.insert(
                status.clone(),
                Response {
                    schema: self.json_schema(response)?,
                },
            );
        }
        Ok(operation)
    }

    /// The schema of a body's `application/json` content (or `*/*+json`).
    fn json_schema(&self, holder: &'a Value) -> Result<Option<Shape>, String> {
        let Some(content) = holder.get("content").and_then(Value::as_object) else {
            return Ok(None);
        };
        let media = content.get("application/json").or_else(|| {
            content
                .iter()
                .find(|(kind, _)| kind.ends_with("+json"))
                .map(|(_, media)| media)
        });
        match media {
            Some(media) => match media.get("schema") {
                Some(schema) => Ok(Some(self.shape(schema, &mut Vec::new())?)),
                None => Ok(Some(Shape::default())),
            },
            None => Ok(None),
        }
    }

    /// Reduces a schema. `stack` holds the `$ref`s being expanded, to stop at recursion.
    fn shape(&self, schema: &'a Value, stack: &mut Vec<String>) -> Result<Shape, String> {
        let Some(map) = schema.as_object() else {
            // 3.1 allows `true`/`false` as schemas; both are "anything" for our purposes.
            return Ok(Shape::default());
        };
        if let Some(target) = map.get("$ref").and_then(Value::as_str) {
            if stack.iter().any(|seen| seen == target) {
                return Ok(overlay(Shape::default(), map));
            }
            let resolved = resolve_ref(self.doc, target)?;
            stack.push(target.to_owned());
            let inner = self.shape(resolved, stack);
            stack.pop();
            // 3.1 allows siblings of `$ref` (FastAPI puts `description` there).
            return Ok(overlay(inner?, map));
        }

        let mut shape = if let Some(all_of) = map.get("allOf").and_then(Value::as_array) {
            self.all_of(all_of, map, stack)?
        } else if let Some(one_of) = map
            .get("anyOf")
            .or_else(|| map.get("oneOf"))
            .and_then(Value::as_array)
        {
            let mut members = Vec::new();
            let mut nullable = false;
            for member in one_of {
                let member = self.shape(member, stack)?;
                match member.ty {
                    Ty::Null => nullable = true,
                    _ => members.push(member),
                }
            }
            let mut shape = match members.len() {
                0 => Shape {
                    ty: Ty::Null,
                    ..Shape::default()
                },
                1 => members.pop().unwrap_or_default(),
                _ => Shape {
                    ty: Ty::Union(members),
                    ..Shape::default()
                },
            };
            shape.nullable |= nullable;
            shape
        } else {
            self.typed(map, stack)?
        };

        if let Some(values) = map
            .get("enum")
            .and_then(Value::as_array)
            .cloned()
            .or_else(|| map.get("const").map(|value| vec![value.clone()]))
        {
            let (nulls, values): (Vec<Value>, Vec<Value>) =
                values.into_iter().partition(Value::is_null);
            shape.nullable |= !nulls.is_empty();
            if values.is_empty() {
                shape.ty = Ty::Null;
            } else {
                shape.enum_values = Some(values);
            }
        }
        Ok(overlay(shape, map))
    }

    /// A schema without composition: by `type`, or object/array by their keywords.
    fn typed(&self, map: &'a Map<String, Value>, stack: &mut Vec<String>) -> Result<Shape, String> {
        let types: Vec<&str> = match map.get("type") {
            Some(Value::String(ty)) => vec![ty.as_str()],
            Some(Value::Array(types)) => types.iter().filter_map(Value::as_str).collect(),
            _ if map.contains_key("properties") => vec!["object"],
            _ if map.contains_key("items") => vec!["array"],
            _ => Vec::new(),
        };
        let nullable = types.contains(&"null");
        let mut members = Vec::new();
        for ty in types.iter().filter(|ty| **ty != "null") {
            let ty = match *ty {
                "boolean" => Ty::Boolean,
                "integer" => Ty::Integer,
                "number" => Ty::Number,
                "string" => Ty::String,
                "array" => Ty::Array(Box::new(match map.get("items") {
                    Some(items) => self.shape(items, stack)?,
                    None => Shape::default(),
                })),
                "object" => Ty::Object(self.object(map, stack)?),
                _ => Ty::Any,
            };
            members.push(Shape {
                ty,
                ..Shape::default()
            });
        }
        let mut shape = match members.len() {
            0 if nullable => Shape {
                ty: Ty::Null,
                ..Shape::default()
            },
            0 => Shape::default(),
            1 => members.pop().unwrap_or_default(),
            _ => Shape {
                ty: Ty::Union(members),
                ..Shape::default()
            },
        };
        shape.nullable |= nullable;
        Ok(shape)
    }

    fn object(
        &self,
        map: &'a Map<String, Value>,
        stack: &mut Vec<String>,
    ) -> Result<Object, String> {
        let required: BTreeSet<&str> = map
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        let mut object = Object::default();
        for (name, schema) in map
            .get("properties")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            object.fields.insert(
                name.clone(),
                Field {
                    required: required.contains(name.as_str()),
                    shape: self.shape(schema, stack)?,
                },
            );
        }
        Ok(object)
    }

    /// `allOf`: one element is that element (the 3.0 way to attach `nullable`/`default`/
    /// `description` to a `$ref`); several are merged as objects.
    fn all_of(
        &self,
        all_of: &'a [Value],
        map: &'a Map<String, Value>,
        stack: &mut Vec<String>,
    ) -> Result<Shape, String> {
        let mut parts = Vec::new();
        for part in all_of {
            parts.push(self.shape(part, stack)?);
        }
        if map.contains_key("properties") {
            parts.push(Shape {
                ty: Ty::Object(self.object(map, stack)?),
                ..Shape::default()
            });
        }
        if parts.len() == 1 {
            return Ok(parts.pop().unwrap_or_default());
        }
        let mut merged = Object::default();
        let mut any_object = false;
        for part in parts {
            if let Ty::Object(object) = part.ty {
                any_object = true;
                merged.fields.extend(object.fields);
            }
        }
        Ok(Shape {
            ty: if any_object {
                Ty::Object(merged)
            } else {
                Ty::Any
            },
            ..Shape::default()
        })
    }
}

/// Applies a schema's own documentation attributes and `nullable` on top of `shape`.
fn overlay(mut shape: Shape, map: &Map<String, Value>) -> Shape {
    if map.get("nullable").and_then(Value::as_bool) == Some(true) {
        shape.nullable = true;
    }
    if matches!(shape.ty, Ty::Null) {
        shape.nullable = true;
    }
    if let Some(description) = text_of(map, "description") {
        shape.description = Some(description);
    }
    if let Some(title) = text_of(map, "title") {
        shape.title = Some(title);
    }
    if let Some(default) = map.get("default") {
        shape.default = Some(default.clone());
    }
    // 3.0 `example`; 3.1 schema-level `examples` is an array.
    if let Some(example) = map.get("example").or_else(|| {
        map.get("examples")
            .and_then(Value::as_array)
            .and_then(|examples| examples.first())
    }) {
        shape.example = Some(example.clone());
    }
    shape
}

fn text_of(map: &Map<String, Value>, key: &str) -> Option<String> {
    map.get(key).and_then(Value::as_str).map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn shape_of(schema: Value) -> Shape {
        let doc = json!({"components": {"schemas": {"S": {"type": "string", "description": "s"}}}});
        Reader { doc: &doc }
            .shape(&schema, &mut Vec::new())
            .unwrap()
    }

    #[test]
    fn the_three_spellings_of_nullable_agree() {
        for schema in [
            json!({"type": "string", "nullable": true}),
            json!({"anyOf": [{"type": "string"}, {"type": "null"}]}),
            json!({"type": ["string", "null"]}),
        ] {
            let shape = shape_of(schema.clone());
            assert!(shape.nullable, "{schema}");
            assert_eq!(shape.type_name(), "string", "{schema}");
        }
    }

    #[test]
    fn single_allof_is_its_element_with_outer_attributes() {
        let shape = shape_of(json!({
            "allOf": [{"$ref": "#/components/schemas/S"}], "nullable": true, "default": "x"
        }));
        assert_eq!(shape.type_name(), "string");
        assert!(shape.nullable);
        assert_eq!(shape.default, Some(json!("x")));
        assert_eq!(shape.description.as_deref(), Some("s"));
    }

    #[test]
    fn null_enum_and_null_type_agree() {
        let a = shape_of(json!({"nullable": true, "enum": [null]}));
        let b = shape_of(json!({"type": "null"}));
        assert!(matches!(a.ty, Ty::Null) && a.nullable);
        assert!(matches!(b.ty, Ty::Null) && b.nullable);
    }

    #[test]
    fn recursive_refs_stop() {
        let doc = json!({"components": {"schemas": {"N": {
            "type": "object", "properties": {"next": {"$ref": "#/components/schemas/N"}}
        }}}});
        let shape = Reader { doc: &doc }
            .shape(&json!({"$ref": "#/components/schemas/N"}), &mut Vec::new())
            .unwrap();
        let Ty::Object(object) = shape.ty else {
            panic!("not an object")
        };
        // The inner reference to N is cut off as "anything" instead of expanding forever.
        assert!(matches!(object.fields["next"].shape.ty, Ty::Any));
    }

    #[test]
    fn dangling_refs_are_errors() {
        let doc = json!({});
        let err = Reader { doc: &doc }
            .shape(&json!({"$ref": "#/nope"}), &mut Vec::new())
            .unwrap_err();
        assert!(err.contains("#/nope"), "{err}");
    }
}
