//! The spec as the exercise holds exchanges against it: each operation's request schema,
//! query parameters and documented responses, compiled to JSON Schema by the conformance
//! suite's conversion (the one its response checks use).

use std::collections::BTreeMap;

use anyhow::{anyhow, Context as _};
use serde_json::Value;

use memos_conformance::{convert_components, CompiledSchema};

/// A schema of the spec: its component name when it is a `$ref`, and its compiled form.
pub struct Schema {
    /// `AddResponse` for `$ref: '#/components/schemas/AddResponse'`; `None` when inline.
    pub name: Option<String>,
    pub compiled: CompiledSchema,
}

/// One documented response.
pub struct Response {
    /// Media type (without parameters) → its schema.
    pub content: BTreeMap<String, Schema>,
    /// The JSON schema of one event of a `text/event-stream` answer (`x-event-schema`).
    pub event: Option<Schema>,
}

/// One query parameter.
pub struct QueryParam {
    pub required: bool,
    pub schema: CompiledSchema,
}

/// One operation.
pub struct Operation {
    pub method: String,
    pub path: String,
    pub body: Option<Schema>,
    pub query: BTreeMap<String, QueryParam>,
    /// By status key (`"200"`, `"default"`).
    pub responses: BTreeMap<String, Response>,
}

/// Every operation of a spec, by `operationId`.
pub struct SpecIndex {
    pub operations: BTreeMap<String, Operation>,
}

impl SpecIndex {
    pub fn new(doc: &Value) -> anyhow::Result<SpecIndex> {
        let defs = convert_components(doc);
        let compile = |schema: &Value, at: &str| -> anyhow::Result<Schema> {
            let name = schema
                .get("$ref")
                .and_then(Value::as_str)
                .and_then(|r| r.strip_prefix("#/components/schemas/"))
                .map(str::to_owned);
            let compiled =
                CompiledSchema::compile(schema, &defs).map_err(|e| anyhow!("{at}: {e}"))?;
            Ok(Schema { name, compiled })
        };
        let mut operations = BTreeMap::new();
        let paths = doc
            .get("paths")
            .and_then(Value::as_object)
            .context("the spec has no `paths`")?;
        for (path, item) in paths {
            for (method, op) in item.as_object().into_iter().flatten() {
                let Some(id) = op.get("operationId").and_then(Value::as_str) else {
                    continue;
                };
                let at = format!("{} {path}", method.to_uppercase());
                let body = match op.pointer("/requestBody/content/application~1json/schema") {
                    Some(schema) => Some(compile(schema, &at)?),
                    None => None,
                };
                let mut query = BTreeMap::new();
                for param in op
                    .get("parameters")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    let param = resolve(doc, param)?;
                    if param.get("in").and_then(Value::as_str) != Some("query") {
                        continue;
                    }
                    let name = param.get("name").and_then(Value::as_str).unwrap_or("");
                    let schema = param.get("schema").cloned().unwrap_or(Value::Bool(true));
                    query.insert(
                        name.to_owned(),
                        QueryParam {
                            required: param.get("required").and_then(Value::as_bool) == Some(true),
                            schema: compile(&schema, &at)?.compiled,
                        },
                    );
                }
                let mut responses = BTreeMap::new();
                for (status, response) in op
                    .get("responses")
                    .and_then(Value::as_object)
                    .into_iter()
                    .flatten()
                {
                    let response = resolve(doc, response)?;
                    let mut content = BTreeMap::new();
                    for (media, entry) in response
                        .get("content")
                        .and_then(Value::as_object)
                        .into_iter()
                        .flatten()
                    {
                        let schema = entry.get("schema").cloned().unwrap_or(Value::Bool(true));
                        content.insert(media.clone(), compile(&schema, &at)?);
                    }
                    let event = match response.get("x-event-schema") {
                        Some(schema) => Some(compile(schema, &at)?),
                        None => None,
                    };
                    responses.insert(status.clone(), Response { content, event });
                }
                operations.insert(
                    id.to_owned(),
                    Operation {
                        method: method.to_uppercase(),
                        path: path.clone(),
                        body,
                        query,
                        responses,
                    },
                );
            }
        }
        Ok(SpecIndex { operations })
    }

    pub fn operation(&self, id: &str) -> anyhow::Result<&Operation> {
        self.operations
            .get(id)
            .with_context(|| format!("the spec has no operation `{id}`"))
    }
}

impl Operation {
    /// The documented response of `status`: its own, its class's (`4XX`), or `default`.
    pub fn response(&self, status: u16) -> Option<&Response> {
        let class = format!("{}XX", status / 100);
        self.responses
            .get(&status.to_string())
            .or_else(|| self.responses.get(&class))
            .or_else(|| self.responses.get("default"))
    }
}

/// A parameter or response object, its `$ref` followed.
fn resolve<'a>(doc: &'a Value, value: &'a Value) -> anyhow::Result<&'a Value> {
    match value.get("$ref").and_then(Value::as_str) {
        Some(target) => target
            .strip_prefix('#')
            .and_then(|pointer| doc.pointer(pointer))
            .with_context(|| format!("`$ref: {target}` points at nothing")),
        None => Ok(value),
    }
}
