//! The OpenAPI document the suite checks against, embedded at build time so the
//! binary works from any directory: its operations, and for each operation and status
//! the documented content types and compiled response schemas.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde_json::Value;

use crate::schema::{self, CompiledSchema};

use crate::api::Api;

/// `openapi/memos.yaml`, the source of truth for the v1 API (through this package's
/// `openapi/`, a symlink to the workspace's, so that the packed crate carries it).
pub const SPEC_YAML: &str = include_str!("../openapi/memos.yaml");
/// `openapi/memos-product.yaml`, the source of truth for the `/product` API.
pub const PRODUCT_SPEC_YAML: &str = include_str!("../openapi/memos-product.yaml");

/// One operation of the spec.
#[derive(Debug)]
pub struct Operation {
    /// The `operationId`, e.g. `add_memories`.
    pub id: String,
    /// Upper-case HTTP method.
    pub method: String,
    /// The path template, e.g. `/memories/{mem_cube_id}/{memory_id}`.
    pub path: String,
    segments: Vec<Segment>,
    /// Documented responses by status key (`"200"`, `"default"`, ...).
    pub responses: BTreeMap<String, ResponseSpec>,
}

#[derive(Debug)]
enum Segment {
    Literal(String),
    Param,
}

/// One documented response: its content types and their schemas.
#[derive(Debug)]
pub struct ResponseSpec {
    /// The status key as written in the spec.
    pub status_key: String,
    /// `(media type, compiled schema)`; the schema is `None` when the spec gives none.
    pub content: Vec<(String, Option<CompiledSchema>)>,
}

impl ResponseSpec {
    /// The documented media types, e.g. `["application/json"]`.
    pub fn media_types(&self) -> Vec<&str> {
        self.content.iter().map(|(m, _)| m.as_str()).collect()
    }

    /// The schema for a media type (compared without parameters, case-insensitively).
    pub fn schema_for(&self, media_type: &str) -> Option<&CompiledSchema> {
        self.content
            .iter()
            .find(|(m, _)| m.eq_ignore_ascii_case(media_type))
            .and_then(|(_, s)| s.as_ref())
    }
}

/// The parsed spec.
#[derive(Debug)]
pub struct Spec {
    /// Every operation, in document order.
    pub operations: Vec<Operation>,
    /// `components.schemas`, converted (see [`schema::convert_components`]).
    defs: Value,
}

impl Operation {
    /// The response documented for `status`: the exact code, else `NXX`, else `default`.
    pub fn response(&self, status: u16) -> Option<&ResponseSpec> {
        let exact = status.to_string();
        let range = format!("{}XX", status / 100);
        self.responses
            .get(&exact)
            .or_else(|| self.responses.get(&range))
            .or_else(|| self.responses.get(&range.to_lowercase()))
            .or_else(|| self.responses.get("default"))
    }

    /// The documented status keys, e.g. `["200", "400", "422", "500"]`.
    pub fn status_keys(&self) -> Vec<&str> {
        self.responses.keys().map(String::as_str).collect()
    }

    fn matches(&self, method: &str, segments: &[&str]) -> bool {
        self.method.eq_ignore_ascii_case(method)
            && self.segments.len() == segments.len()
            && self
                .segments
                .iter()
                .zip(segments)
                .all(|(s, actual)| match s {
                    Segment::Literal(l) => l == actual,
                    Segment::Param => !actual.is_empty(),
                })
    }
}

impl Spec {
    /// The embedded v1 spec, parsed and compiled once.
    #[cfg(test)]
    pub fn embedded() -> Result<&'static Spec, String> {
        Spec::embedded_for(Api::V1)
    }

    /// The embedded spec of `api`, parsed and compiled once.
    pub fn embedded_for(api: Api) -> Result<&'static Spec, String> {
        static V1: OnceLock<Result<Spec, String>> = OnceLock::new();
        static PRODUCT: OnceLock<Result<Spec, String>> = OnceLock::new();
        let (cell, text) = match api {
            Api::V1 => (&V1, SPEC_YAML),
            Api::Product => (&PRODUCT, PRODUCT_SPEC_YAML),
        };
        cell.get_or_init(|| Spec::parse(text))
            .as_ref()
            .map_err(Clone::clone)
    }

    /// Parses an OpenAPI 3.0 document (YAML or JSON) and compiles its response schemas.
    pub fn parse(text: &str) -> Result<Spec, String> {
        let doc: Value = serde_yaml_ng::from_str(text)
            .map_err(|e| format!("the OpenAPI document is not valid YAML: {e}"))?;
        let defs = schema::convert_components(&doc);
        let paths = doc
            .get("paths")
            .and_then(Value::as_object)
            .ok_or("the OpenAPI document has no `paths`")?;
        let mut operations = Vec::new();
        for (path, item) in paths {
            let Some(item) = item.as_object() else {
                continue;
            };
            for (method, op) in item {
                if !matches!(
                    method.as_str(),
                    "get" | "put" | "post" | "delete" | "patch" | "head" | "options"
                ) {
                    continue;
                }
                let id = op
                    .get("operationId")
                    .and_then(Value::as_str)
                    .map_or_else(|| format!("{method} {path}"), str::to_owned);
                let mut responses = BTreeMap::new();
                if let Some(map) = op.get("responses").and_then(Value::as_object) {
                    for (status_key, response) in map {
                        let response = resolve_response(&doc, response)
                            .map_err(|e| format!("{id} response {status_key}: {e}"))?;
                        let mut content = Vec::new();
                        if let Some(media) = response.get("content").and_then(Value::as_object) {
                            for (media_type, body) in media {
                                let compiled = match body.get("schema") {
                                    Some(s) => {
                                        Some(CompiledSchema::compile(s, &defs).map_err(|e| {
                                            format!("{id} response {status_key} {media_type}: {e}")
                                        })?)
                                    }
                                    None => None,
                                };
                                content.push((media_type.clone(), compiled));
                            }
                        }
                        responses.insert(
                            status_key.clone(),
                            ResponseSpec {
                                status_key: status_key.clone(),
                                content,
                            },
                        );
                    }
                }
                let segments = split_path(path)
                    .into_iter()
                    .map(|s| {
                        if s.starts_with('{') && s.ends_with('}') {
                            Segment::Param
                        } else {
                            Segment::Literal(s.to_owned())
                        }
                    })
                    .collect();
                operations.push(Operation {
                    id,
                    method: method.to_uppercase(),
                    path: path.clone(),
                    segments,
                    responses,
                });
            }
        }
        Ok(Spec { operations, defs })
    }

    /// The operation a request went to, from its method and path (relative to the base
    /// URL, percent-encoded as sent).
    pub fn find(&self, method: &str, path: &str) -> Option<&Operation> {
        let segments = split_path(path);
        self.operations
            .iter()
            .find(|op| op.matches(method, &segments))
    }

    /// `components.schemas.<name>`, compiled (e.g. the JSON of one stream frame, which no
    /// response schema reaches).
    pub fn component(&self, name: &str) -> Result<CompiledSchema, String> {
        if self.defs.get(name).is_none() {
            return Err(format!("the spec has no schema {name}"));
        }
        let reference = serde_json::json!({ "$ref": format!("#/components/schemas/{name}") });
        CompiledSchema::compile(&reference, &self.defs)
    }

    /// The operation with this `operationId`.
    #[cfg(test)]
    pub fn operation(&self, id: &str) -> Option<&Operation> {
        self.operations.iter().find(|op| op.id == id)
    }
}

fn split_path(path: &str) -> Vec<&str> {
    let path = path.split('?').next().unwrap_or_default();
    path.trim_start_matches('/').split('/').collect()
}

/// Follows a `$ref: '#/components/responses/X'`.
fn resolve_response<'a>(doc: &'a Value, response: &'a Value) -> Result<&'a Value, String> {
    match response.get("$ref").and_then(Value::as_str) {
        Some(reference) => {
            let pointer = reference
                .strip_prefix('#')
                .ok_or_else(|| format!("only local references are supported, not {reference}"))?;
            doc.pointer(pointer)
                .ok_or_else(|| format!("{reference} does not exist in the document"))
        }
        None => Ok(response),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_spec_has_the_fifteen_operations() {
        let spec = Spec::embedded().expect("the embedded spec parses");
        assert_eq!(spec.operations.len(), 15);
    }

    #[test]
    fn the_embedded_product_spec_has_the_twenty_six_operations() {
        let spec = Spec::embedded_for(Api::Product).expect("the product spec parses");
        assert_eq!(spec.operations.len(), 26);
        let find = |m, p| spec.find(m, p).map(|op| op.id.as_str());
        assert_eq!(find("POST", "/product/add"), Some("add_memories"));
        assert_eq!(find("GET", "/product/get_memory/m1"), Some("get_memory"));
        assert_eq!(find("GET", "/health"), Some("health_check"));
    }

    #[test]
    fn requests_are_matched_to_operations() {
        let spec = Spec::embedded().expect("spec");
        let find = |m, p| spec.find(m, p).map(|op| op.id.as_str());
        assert_eq!(find("GET", "/users/me"), Some("get_current_user"));
        assert_eq!(find("GET", "/users"), Some("list_users"));
        assert_eq!(find("DELETE", "/memories/c1"), Some("delete_all_memories"));
        assert_eq!(find("DELETE", "/memories/c1/m1"), Some("delete_memory"));
        assert_eq!(find("GET", "/memories?user_id=x"), Some("list_memories"));
        assert_eq!(find("POST", "/mem_cubes/c1/share"), Some("share_cube"));
        assert_eq!(find("GET", "/openapi.json"), None);
        assert_eq!(find("PATCH", "/users"), None);
    }

    #[test]
    fn statuses_fall_back_to_default_only_when_present() {
        let spec = Spec::embedded().expect("spec");
        let op = spec.operation("delete_memory").expect("delete_memory");
        assert!(op.response(404).is_some());
        assert!(op.response(401).is_none());
        let op = spec.operation("list_users").expect("list_users");
        assert!(op.response(422).is_none(), "list_users documents no 422");
    }
}
