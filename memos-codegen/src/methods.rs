//! The per-operation methods of a hand-written client (`memos_api::v1::Client`,
//! `memos_api::product::Client`) and the retry rule of every operation, from the spec.
//!
//! Each operation carries `x-memos-retry`:
//!
//! * `always`: the operation only reads (or sets a state twice over to the same effect), so
//!   it is sent again after any failure the retry policy allows, even one the server may have
//!   seen (a 502, 503 or 504, a broken connection, a timeout before the answer's head).
//! * `when-not-taken`: sending it twice could change more than once, so it is sent again only
//!   when the failure proves the server did not take it (a refused connection, a 429 or 503
//!   with `Retry-After`).
//!
//! `x-memos-wrapper: hand-written` leaves an operation's method to the hand-written layer
//! (its answer or arguments need more than the one shape generated here); a stream operation
//! (`text/event-stream`) must say so. Every other operation gets a method: its path
//! parameters (`&str`, checked to stay one path segment), then its query parameters (`&str`,
//! or `Option<&str>` when optional; only strings are generated), then its JSON body (anything
//! that converts into the body type, such as the type's `builder()`), answering the
//! envelope's `data` (or, for an answer without `data`, the answer itself).
//!
//! The output is included in the module of the hand-written client, which provides
//! `Client`, `types`, `fn json(&Raw) -> &raw::Client` (the generated client of JSON answers)
//! and `Client::send(operation, make)` (one try after another, as `RETRY_RULES` allows).
use std::collections::BTreeSet;
use std::fmt::Write as _;

use openapiv3::{OpenAPI, Operation, Parameter, ReferenceOr, Schema, SchemaKind, Type};
use typify::TypeDetails;

use crate::BoxError;

/// The extension that says whether an operation may be sent again.
pub const RETRY_EXTENSION: &str = "x-memos-retry";
/// The extension that leaves an operation's method to the hand-written layer.
pub const WRAPPER_EXTENSION: &str = "x-memos-wrapper";

/// One operation as the methods need it.
struct Op<'a> {
    id: &'a str,
    method: &'a str,
    path: &'a str,
    operation: &'a Operation,
    idempotent: bool,
    hand_written: bool,
    stream: bool,
}

/// Generates the retry table, the stream list, the `Answer` impls of the operations' JSON
/// answers and the methods, as Rust source (unformatted; [`crate::generate_methods`] formats
/// it).
pub(crate) fn generate(spec: &OpenAPI, types: &typify::TypeSpace) -> Result<String, BoxError> {
    let ops = operations(spec)?;
    let mut out = String::new();

    writeln!(
        out,
        "/// Whether each operation may be sent again after the server may have seen it \
         (`{RETRY_EXTENSION}` in the spec: `always` is `Idempotent`, `when-not-taken` is \
         `NonIdempotent`)."
    )?;
    writeln!(
        out,
        "pub(crate) const RETRY_RULES: [(&str, crate::retry::Idempotency); {}] = [",
        ops.len()
    )?;
    for op in &ops {
        let rule = if op.idempotent {
            "Idempotent"
        } else {
            "NonIdempotent"
        };
        writeln!(out, "(\"{}\", crate::retry::Idempotency::{rule}),", op.id)?;
    }
    writeln!(out, "];")?;

    let streams: Vec<&Op> = ops.iter().filter(|op| op.stream).collect();
    writeln!(
        out,
        "/// The operations that answer server-sent events (`text/event-stream`)."
    )?;
    writeln!(out, "#[allow(dead_code)]")?;
    writeln!(
        out,
        "pub(crate) const STREAMS: [&str; {}] = [",
        streams.len()
    )?;
    for op in &streams {
        writeln!(out, "\"{}\",", op.id)?;
    }
    writeln!(out, "];")?;

    let mut answers = BTreeSet::new();
    for op in &ops {
        if let Some(name) = json_answer(spec, op)? {
            answers.insert(name);
        }
    }
    for name in &answers {
        let answer = named_type(types, name)?;
        let fields = struct_fields(&answer);
        let envelope =
            if fields.iter().any(|f| f == "code") && fields.iter().any(|f| f == "message") {
                "Some((self.code, &self.message))"
            } else {
                "None"
            };
        writeln!(
            out,
            "impl crate::core::Answer for types::{name} {{ \
             fn envelope(&self) -> Option<(i64, &str)> {{ {envelope} }} }}"
        )?;
    }

    writeln!(out, "impl Client {{")?;
    for op in ops.iter().filter(|op| !op.hand_written) {
        method(&mut out, spec, types, op)?;
    }
    writeln!(out, "}}")?;
    Ok(out)
}

/// Every operation of the spec, in its order, with its extensions read and checked.
fn operations(spec: &OpenAPI) -> Result<Vec<Op<'_>>, BoxError> {
    let mut ops = Vec::new();
    for (path, item) in &spec.paths.paths {
        let ReferenceOr::Item(item) = item else {
            return Err(format!("path `{path}`: a `$ref` path item is not supported").into());
        };
        for (method, operation) in item.iter() {
            let id = operation
                .operation_id
                .as_deref()
                .ok_or_else(|| format!("`{} {path}` has no operationId", method.to_uppercase()))?;
            let at = format!("operation `{id}` (`{} {path}`)", method.to_uppercase());
            let idempotent = match operation.extensions.get(RETRY_EXTENSION) {
                Some(serde_json::Value::String(rule)) if rule == "always" => true,
                Some(serde_json::Value::String(rule)) if rule == "when-not-taken" => false,
                Some(other) => {
                    return Err(format!(
                        "{at}: `{RETRY_EXTENSION}` is {other}; it must be `always` or \
                         `when-not-taken`"
                    )
                    .into())
                }
                None => {
                    return Err(format!(
                        "{at} has no `{RETRY_EXTENSION}`: say whether it may be sent again \
                         after the server may have seen it (`always`) or only when it was \
                         not taken (`when-not-taken`)"
                    )
                    .into())
                }
            };
            let hand_written = match operation.extensions.get(WRAPPER_EXTENSION) {
                None => false,
                Some(serde_json::Value::String(kind)) if kind == "hand-written" => true,
                Some(other) => {
                    return Err(format!(
                        "{at}: `{WRAPPER_EXTENSION}` is {other}; the only value is `hand-written`"
                    )
                    .into())
                }
            };
            let stream = success(spec, operation)
                .is_some_and(|response| response.content.contains_key("text/event-stream"));
            if stream && !hand_written {
                return Err(format!(
                    "{at} answers `text/event-stream`: its method is written by hand, say so \
                     with `{WRAPPER_EXTENSION}: hand-written`"
                )
                .into());
            }
            ops.push(Op {
                id,
                method,
                path,
                operation,
                idempotent,
                hand_written,
                stream,
            });
        }
    }
    Ok(ops)
}

/// The operation's 200 answer, with a `$ref` to `components/responses` resolved.
fn success<'a>(spec: &'a OpenAPI, operation: &'a Operation) -> Option<&'a openapiv3::Response> {
    match operation
        .responses
        .responses
        .get(&openapiv3::StatusCode::Code(200))?
    {
        ReferenceOr::Item(response) => Some(response),
        ReferenceOr::Reference { reference } => spec
            .components
            .as_ref()?
            .responses
            .get(&component_name(reference))?
            .as_item(),
    }
}

/// The component name of the operation's JSON 200 answer, if it has one.
fn json_answer(spec: &OpenAPI, op: &Op) -> Result<Option<String>, BoxError> {
    let Some(media) = success(spec, op.operation).and_then(|r| r.content.get("application/json"))
    else {
        return Ok(None);
    };
    match &media.schema {
        Some(ReferenceOr::Reference { reference }) => Ok(Some(component_name(reference))),
        _ if op.hand_written => Ok(None),
        _ => Err(format!(
            "operation `{}`: its JSON answer must be a `$ref` to a component schema",
            op.id
        )
        .into()),
    }
}

fn component_name(reference: &str) -> String {
    reference.rsplit('/').next().unwrap_or(reference).to_owned()
}

/// The generated type of the component schema `name`.
fn named_type<'a>(types: &'a typify::TypeSpace, name: &str) -> Result<typify::Type<'a>, BoxError> {
    types
        .iter_types()
        .find(|ty| ty.name() == name)
        .ok_or_else(|| format!("no generated type is named `{name}`").into())
}

fn struct_fields(ty: &typify::Type<'_>) -> Vec<String> {
    match ty.details() {
        TypeDetails::Struct(details) => details
            .properties()
            .map(|(name, _)| name.to_owned())
            .collect(),
        _ => Vec::new(),
    }
}

/// Whether the schema is a plain string (inline, `type: string`).
fn is_string(schema: &ReferenceOr<Schema>) -> bool {
    matches!(
        schema,
        ReferenceOr::Item(Schema {
            schema_kind: SchemaKind::Type(Type::String(_)),
            ..
        })
    )
}

/// The parameter, with a `$ref` to `components/parameters` resolved.
fn resolve<'a>(
    spec: &'a OpenAPI,
    parameter: &'a ReferenceOr<Parameter>,
) -> Result<&'a Parameter, BoxError> {
    match parameter {
        ReferenceOr::Item(parameter) => Ok(parameter),
        ReferenceOr::Reference { reference } => {
            let name = component_name(reference);
            spec.components
                .as_ref()
                .and_then(|c| c.parameters.get(&name))
                .and_then(ReferenceOr::as_item)
                .ok_or_else(|| format!("no parameter component `{name}`").into())
        }
    }
}

/// Writes the method of one operation.
fn method(
    out: &mut String,
    spec: &OpenAPI,
    types: &typify::TypeSpace,
    op: &Op,
) -> Result<(), BoxError> {
    let id = op.id;
    let unsupported = |what: &str| -> BoxError {
        format!(
            "operation `{id}`: {what}; write its method by hand (`{WRAPPER_EXTENSION}: \
             hand-written`)"
        )
        .into()
    };

    let mut path_params = Vec::new();
    let mut query_params = Vec::new();
    for parameter in &op.operation.parameters {
        let parameter = resolve(spec, parameter)?;
        let data = parameter.parameter_data_ref();
        let openapiv3::ParameterSchemaOrContent::Schema(schema) = &data.format else {
            return Err(unsupported(&format!(
                "parameter `{}` has no schema",
                data.name
            )));
        };
        if !is_string(schema) {
            return Err(unsupported(&format!(
                "parameter `{}` is not a string",
                data.name
            )));
        }
        match parameter {
            Parameter::Path { .. } => path_params.push(data),
            Parameter::Query { .. } => query_params.push(data),
            _ => {
                return Err(unsupported(&format!(
                    "parameter `{}` is not in the path or query",
                    data.name
                )))
            }
        }
    }
    // In the order the path names them, whatever the order of the list.
    path_params.sort_by_key(|data| op.path.find(&format!("{{{}}}", data.name)));

    let body = match &op.operation.request_body {
        None => None,
        Some(ReferenceOr::Item(body)) => match body.content.get("application/json") {
            Some(openapiv3::MediaType {
                schema: Some(ReferenceOr::Reference { reference }),
                ..
            }) if body.content.len() == 1 => {
                let name = component_name(reference);
                named_type(types, &name)?;
                Some(name)
            }
            _ => return Err(unsupported("its body is not one JSON `$ref` schema")),
        },
        Some(ReferenceOr::Reference { .. }) => {
            return Err(unsupported("its body is a `$ref` request body"))
        }
    };

    let answer = json_answer(spec, op)?.ok_or_else(|| unsupported("it has no JSON 200 answer"))?;
    let answer_type = named_type(types, &answer)?;
    let data = match answer_type.details() {
        TypeDetails::Struct(details) => details
            .properties()
            .find(|(name, _)| *name == "data")
            .map(|(_, id)| types.get_type(&id))
            .transpose()?
            .map(|ty| ty.ident().to_string()),
        _ => None,
    };
    let returns = data.clone().unwrap_or_else(|| format!("types::{answer}"));

    // The doc comment: the route, the spec's summary, the retry rule.
    let summary = op
        .operation
        .summary
        .as_deref()
        .ok_or_else(|| format!("operation `{id}` has no summary, which its method's doc needs"))?
        .trim()
        .trim_end_matches('.');
    // "List all users" reads as "`GET /users`: list all users".
    let mut chars = summary.chars();
    let summary: String = match (chars.next(), chars.next()) {
        (Some(first), Some(second)) if !second.is_uppercase() => first
            .to_lowercase()
            .chain(summary.chars().skip(1))
            .collect(),
        _ => summary.to_owned(),
    };
    writeln!(
        out,
        "/// `{} {}`: {summary}.",
        op.method.to_uppercase(),
        op.path
    )?;
    writeln!(out, "///")?;
    let rule = if op.idempotent {
        [
            "/// Sent again after any failure the retry policy allows",
            "/// (`x-memos-retry: always`).",
        ]
    } else {
        [
            "/// Never sent again once the server may have received it, only when a failure",
            "/// proves it was not taken (`x-memos-retry: when-not-taken`).",
        ]
    };
    for line in rule {
        writeln!(out, "{line}")?;
    }

    let mut args = vec!["&self".to_owned()];
    for data in &path_params {
        args.push(format!("{}: &str", data.name));
    }
    for data in &query_params {
        let ty = if data.required {
            "&str"
        } else {
            "Option<&str>"
        };
        args.push(format!("{}: {ty}", data.name));
    }
    let generics = if body.is_some() {
        args.push("request: B".to_owned());
        "<B>"
    } else {
        ""
    };
    write!(
        out,
        "pub async fn {id}{generics}({}) -> crate::Result<{returns}>",
        args.join(", ")
    )?;
    if let Some(body) = &body {
        write!(
            out,
            " where B: TryInto<types::{body}>, B::Error: ::std::fmt::Display"
        )?;
    }
    writeln!(out, " {{")?;
    if let Some(body) = &body {
        writeln!(
            out,
            "let request: types::{body} = crate::core::body(\"{id}\", request)?;"
        )?;
    }
    for data in &path_params {
        writeln!(
            out,
            "crate::core::path_param(\"{id}\", \"{0}\", {0})?;",
            data.name
        )?;
    }
    writeln!(out, "self.send(\"{id}\", |raw| {{")?;
    write!(out, "let call = json(raw).{id}()")?;
    for data in path_params
        .iter()
        .chain(query_params.iter().filter(|data| data.required))
    {
        write!(out, ".{0}({0})", data.name)?;
    }
    if body.is_some() {
        write!(out, ".body(request.clone())")?;
    }
    writeln!(out, ";")?;
    for data in query_params.iter().filter(|data| !data.required) {
        writeln!(
            out,
            "let call = match {0} {{ Some(value) => call.{0}(value), None => call }};",
            data.name
        )?;
    }
    writeln!(out, "::futures::future::FutureExt::boxed(call.send())")?;
    write!(out, "}}).await")?;
    if data.is_some() {
        write!(out, ".map(|answer| answer.data)")?;
    }
    writeln!(out, "\n}}")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::generate_methods;

    /// A spec of one operation, `plant_tree`, with `extensions` (YAML lines) on it.
    fn spec(extensions: &str) -> String {
        format!(
            r#"
openapi: 3.0.3
info: {{title: trees, version: "1"}}
paths:
  /gardens/{{garden_id}}/trees:
    post:
      operationId: plant_tree
{extensions}
      summary: Plant a tree
      parameters:
        - {{name: garden_id, in: path, required: true, schema: {{type: string}}}}
        - {{name: gardener, in: query, required: false, schema: {{type: string}}}}
      requestBody:
        required: true
        content:
          application/json:
            schema: {{$ref: '#/components/schemas/Tree'}}
      responses:
        '200':
          description: The tree as planted.
          content:
            application/json:
              schema: {{$ref: '#/components/schemas/TreeResponse'}}
components:
  schemas:
    Tree:
      type: object
      required: [species]
      properties:
        species: {{type: string}}
    TreeResponse:
      type: object
      required: [code, message, data]
      properties:
        code: {{type: integer}}
        message: {{type: string}}
        data: {{$ref: '#/components/schemas/Tree'}}
"#
        )
    }

    #[test]
    fn a_planted_operation_gets_its_method_and_retry_rule() {
        let code = generate_methods(&spec("      x-memos-retry: when-not-taken")).unwrap();
        assert!(
            code.contains("(\"plant_tree\", crate::retry::Idempotency::NonIdempotent)"),
            "{code}"
        );
        assert!(code.contains("/// `POST /gardens/{garden_id}/trees`: plant a tree."));
        assert!(code.contains("pub async fn plant_tree<B>("), "{code}");
        assert!(code.contains("garden_id: &str,"), "{code}");
        assert!(code.contains("gardener: Option<&str>,"), "{code}");
        assert!(code.contains(") -> crate::Result<types::Tree>"), "{code}");
        assert!(code.contains("B: TryInto<types::Tree>"), "{code}");
        assert!(
            code.contains("crate::core::path_param(\"plant_tree\", \"garden_id\", garden_id)?;")
        );
        assert!(code.contains("impl crate::core::Answer for types::TreeResponse"));
        assert!(code.contains("Some((self.code, &self.message))"));

        let always = generate_methods(&spec("      x-memos-retry: always")).unwrap();
        assert!(always.contains("(\"plant_tree\", crate::retry::Idempotency::Idempotent)"));
    }

    #[test]
    fn a_hand_written_operation_keeps_its_rule_but_gets_no_method() {
        let code = generate_methods(&spec(
            "      x-memos-retry: always\n      x-memos-wrapper: hand-written",
        ))
        .unwrap();
        assert!(code.contains("(\"plant_tree\", crate::retry::Idempotency::Idempotent)"));
        assert!(!code.contains("fn plant_tree"), "{code}");
    }

    #[test]
    fn an_operation_without_a_retry_rule_is_an_error_that_names_it() {
        let err = generate_methods(&spec("")).unwrap_err().to_string();
        assert!(err.contains("`plant_tree`"), "{err}");
        assert!(err.contains("x-memos-retry"), "{err}");

        let err = generate_methods(&spec("      x-memos-retry: sometimes"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("`plant_tree`") && err.contains("sometimes"),
            "{err}"
        );
    }
}
