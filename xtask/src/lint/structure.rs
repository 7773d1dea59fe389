//! Class (b): OpenAPI 3.0 rules that progenitor (through openapiv3) tolerates but other tools
//! reject. Each is an error in redocly's `recommended` ruleset, named in brackets:
//!
//! * a schema with `nullable` has a `type` beside it [nullable-type-sibling]; `type` is one
//!   string of the six 3.0 types \[struct\];
//! * every `enum` value fits the schema's `type` (null only when `nullable`)
//!   [no-enum-type-mismatch];
//! * `items` only on arrays, `properties` only on objects [no-schema-type-mismatch];
//! * every `required` name is among the schema's `properties`, where it lists them and has no
//!   composition [no-required-schema-properties-undefined, a warning there: a typo in
//!   `required` silently makes a field optional];
//! * paths: no trailing slash [no-path-trailing-slash], no query string
//!   [path-not-include-query], no empty `{}` [path-declaration-must-exist], every `{name}`
//!   declared as a path parameter and every path parameter in the template
//!   [path-parameters-defined]; no two paths that differ only in parameter names
//!   [no-identical-paths]; parameters unique by `name` and `in` per list
//!   [operation-parameters-unique];
//! * `operationId`s URL-safe [operation-operationId-url-safe];
//! * server URLs without a trailing slash [no-server-trailing-slash];
//! * every security requirement names a `components.securitySchemes` entry, and security is
//!   declared at the root or on every operation (`- {}` says "no credentials") [security-defined];
//! * no example with both `value` and `externalValue` [no-example-value-and-externalValue].
//!
//! Left to openapiv3 (it refuses them): a missing `info`, `paths` or `responses`, a response
//! without `description`, a parameter without `in`. Unique operationIds, summaries and
//! resolvable `$ref`s are checked in `lint.rs`.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::document::{LintError, METHODS};
use super::walk::{child, Walk};

const TYPES: [&str; 6] = ["string", "number", "integer", "boolean", "array", "object"];

pub fn check(doc: &Value, walk: &Walk<'_>) -> Vec<LintError> {
    let mut errors = Vec::new();
    let mut error =
        |location: String, message: String| errors.push(LintError { location, message });

    for at in &walk.schemas {
        for (location, message) in schema_problems(at.value) {
            error(child(&at.location, location), message);
        }
    }

    let paths = doc.get("paths").and_then(Value::as_object);
    for (path, item) in paths.into_iter().flatten() {
        let here = child("paths", path);
        for message in path_template_problems(path) {
            error(here.clone(), message);
        }
        let shared = parameters(doc, item);
        for (name, r#in) in duplicates(&shared) {
            error(
                child(&here, "parameters"),
                format!("declares `{name}` in {} twice", r#in),
            );
        }
        for method in METHODS {
            let Some(operation) = item.get(method) else {
                continue;
            };
            let op_here = child(&here, method);
            let own = parameters(doc, operation);
            for (name, r#in) in duplicates(&own) {
                error(
                    child(&op_here, "parameters"),
                    format!("declares `{name}` in {} twice", r#in),
                );
            }
            let declared: BTreeSet<&str> = shared
                .iter()
                .chain(&own)
                .filter(|(_, r#in)| *r#in == "path")
                .map(|(name, _)| *name)
                .collect();
            let in_template: BTreeSet<&str> = template_names(path).collect();
            for name in in_template.difference(&declared) {
                error(
                    op_here.clone(),
                    format!("has no path parameter `{name}` for `{{{name}}}` in its path"),
                );
            }
            for name in declared.difference(&in_template) {
                error(
                    op_here.clone(),
                    format!("declares path parameter `{name}`, which its path does not contain"),
                );
            }
            if let Some(id) = operation.get("operationId").and_then(Value::as_str) {
                if !id.chars().all(url_safe) {
                    error(
                        child(&op_here, "operationId"),
                        format!("`{id}` has characters that are not URL-safe"),
                    );
                }
            }
            security_problems(doc, operation, &op_here, &mut error);
            if doc.get("security").is_none() && operation.get("security").is_none() {
                error(
                    op_here.clone(),
                    "declares no security, and neither does the root; add `security: [{}]` \
                     at the root when no credentials are needed"
                        .to_owned(),
                );
            }
        }
    }
    security_problems(doc, doc, "", &mut error);

    let mut shapes: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for path in paths.into_iter().flatten().map(|(path, _)| path) {
        shapes.entry(shape(path)).or_default().push(path);
    }
    for same in shapes.values().filter(|same| same.len() > 1) {
        error(
            same.iter()
                .map(|path| child("paths", path))
                .collect::<Vec<_>>()
                .join(", "),
            "are the same path with other parameter names; a router cannot tell them apart"
                .to_owned(),
        );
    }

    let servers = doc.get("servers").and_then(Value::as_array);
    for (index, server) in servers.into_iter().flatten().enumerate() {
        if let Some(url) = server.get("url").and_then(Value::as_str) {
            if url.len() > 1 && url.ends_with('/') {
                error(
                    format!("servers[{index}].url"),
                    format!("`{url}` ends with `/`; paths already start with one"),
                );
            }
        }
    }

    example_objects(doc, "", &mut error);
    errors
}

fn schema_problems(schema: &Value) -> Vec<(&'static str, String)> {
    let mut problems = Vec::new();
    let r#type = schema.get("type");
    let type_name = r#type.and_then(Value::as_str);
    if let Some(value) = r#type {
        if !type_name.is_some_and(|t| TYPES.contains(&t)) {
            problems.push((
                "type",
                format!("is {value}; OpenAPI 3.0 allows one of {}", TYPES.join(", ")),
            ));
        }
    }
    let nullable = schema.get("nullable").and_then(Value::as_bool) == Some(true);
    if schema.get("nullable").is_some() && r#type.is_none() {
        problems.push((
            "nullable",
            "has no `type` beside it; OpenAPI 3.0 ignores `nullable` there and redocly rejects \
             it (drop it for an untyped schema, or give the type)"
                .to_owned(),
        ));
    }
    if let (Some(t), Some(values)) = (type_name, schema.get("enum").and_then(Value::as_array)) {
        for value in values {
            let fits = match value {
                Value::Null => nullable,
                Value::Bool(_) => t == "boolean",
                Value::Number(n) => t == "number" || (t == "integer" && (n.is_i64() || n.is_u64())),
                Value::String(_) => t == "string",
                Value::Array(_) => t == "array",
                Value::Object(_) => t == "object",
            };
            if !fits {
                problems.push(("enum", format!("has {value}, which is not of type `{t}`")));
            }
        }
    }
    match type_name {
        Some(t) if t != "array" && schema.get("items").is_some() => {
            problems.push(("items", format!("is set on a schema of type `{t}`")))
        }
        Some(t) if t != "object" && schema.get("properties").is_some() => {
            problems.push(("properties", format!("is set on a schema of type `{t}`")))
        }
        _ => {}
    }
    let composed = ["allOf", "anyOf", "oneOf"]
        .iter()
        .any(|k| schema.get(*k).is_some());
    if let (Some(props), Some(required), false) = (
        schema.get("properties").and_then(Value::as_object),
        schema.get("required").and_then(Value::as_array),
        composed,
    ) {
        for name in required.iter().filter_map(Value::as_str) {
            if !props.contains_key(name) {
                problems.push((
                    "required",
                    format!("names `{name}`, which is not among the schema's properties"),
                ));
            }
        }
    }
    problems
}

fn path_template_problems(path: &str) -> Vec<String> {
    let mut problems = Vec::new();
    if path.len() > 1 && path.ends_with('/') {
        problems.push("ends with `/`".to_owned());
    }
    if path.contains('?') {
        problems.push("contains a query string; declare query parameters instead".to_owned());
    }
    if path.contains("{}") {
        problems.push("has an empty `{}`".to_owned());
    }
    problems
}

/// The path with every `{name}` emptied: `/a/{x}` and `/a/{y}` have the same shape.
fn shape(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut in_name = false;
    for c in path.chars() {
        match c {
            '{' => in_name = true,
            '}' => in_name = false,
            _ if in_name => continue,
            _ => {}
        }
        out.push(c);
    }
    out
}

/// The `{name}`s of a path template.
fn template_names(path: &str) -> impl Iterator<Item = &str> {
    path.split('{')
        .skip(1)
        .filter_map(|part| part.split_once('}').map(|(name, _)| name))
        .filter(|name| !name.is_empty())
}

/// The `(name, in)` of each parameter in `holder.parameters`, `$ref`s followed.
fn parameters<'a>(doc: &'a Value, holder: &'a Value) -> Vec<(&'a str, &'a str)> {
    let list = holder.get("parameters").and_then(Value::as_array);
    list.into_iter()
        .flatten()
        .filter_map(|p| match p.get("$ref").and_then(Value::as_str) {
            Some(target) => super::document::resolve_ref(doc, target).ok(),
            None => Some(p),
        })
        .filter_map(|p| {
            Some((
                p.get("name").and_then(Value::as_str)?,
                p.get("in").and_then(Value::as_str)?,
            ))
        })
        .collect()
}

fn duplicates<'a>(list: &[(&'a str, &'a str)]) -> BTreeSet<(&'a str, &'a str)> {
    let mut seen = BTreeSet::new();
    list.iter().filter(|p| !seen.insert(**p)).copied().collect()
}

/// RFC 3986's unreserved and reserved characters, as redocly allows in an operationId.
fn url_safe(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-._~:/?#[]@!$&'()*+,;=".contains(c)
}

fn security_problems(
    doc: &Value,
    holder: &Value,
    location: &str,
    error: &mut impl FnMut(String, String),
) {
    let schemes = doc
        .pointer("/components/securitySchemes")
        .and_then(Value::as_object);
    let requirements = holder.get("security").and_then(Value::as_array);
    for (index, requirement) in requirements.into_iter().flatten().enumerate() {
        for name in requirement
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, _)| k)
        {
            if !schemes.is_some_and(|s| s.contains_key(name)) {
                error(
                    format!("{}[{index}]", child(location, "security")),
                    format!("names `{name}`, which components.securitySchemes does not define"),
                );
            }
        }
    }
}

/// Example objects (in any `examples` map outside schemas) with both `value` and
/// `externalValue`.
fn example_objects(value: &Value, location: &str, error: &mut impl FnMut(String, String)) {
    match value {
        Value::Object(map) => {
            for (key, child_value) in map {
                let here = child(location, key);
                match key.as_str() {
                    "schema" | "example" => {}
                    "examples" => {
                        for (name, entry) in child_value.as_object().into_iter().flatten() {
                            if entry.get("value").is_some() && entry.get("externalValue").is_some()
                            {
                                error(
                                    child(&here, name),
                                    "has both `value` and `externalValue`".to_owned(),
                                );
                            }
                        }
                    }
                    "schemas" if location == "components" => {}
                    _ => example_objects(child_value, &here, error),
                }
            }
        }
        Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                example_objects(item, &format!("{location}[{index}]"), error);
            }
        }
        _ => {}
    }
}
