//! Compares two [`Api`]s and classifies every difference from the client's point of view.
//!
//! The client *sends* parameters and request bodies and *receives* responses, so the same
//! difference is classified by direction: a field only the server requires breaks a request
//! but is harmless in a response; a field the server may now leave out (or send as null) is
//! harmless in a request but breaks decoding a response.

use std::collections::BTreeSet;

use serde_json::Value;

use super::finding::{Class, Finding, Kind};
use super::model::{self, Api, Object, Operation, Shape, Ty};

/// Every difference between `spec` (ours) and `server` (the server's document).
pub fn compare(spec: &Api, server: &Api) -> Vec<Finding> {
    let mut findings = Vec::new();
    for ((path, method), spec_op) in &spec.operations {
        let mut cmp = Comparer::new(method, path, &mut findings);
        match server.operations.get(&(path.clone(), method.clone())) {
            Some(server_op) => cmp.operation(spec_op, server_op),
            None if !server.paths.contains(path) => cmp.push(
                At::operation(),
                Class::Breaking,
                Kind::PathRemoved,
                "present",
                "no such path",
            ),
            None => cmp.push(
                At::operation(),
                Class::Breaking,
                Kind::OperationRemoved,
                "present",
                "no such method on this path",
            ),
        }
    }
    for (path, method) in server.operations.keys() {
        if spec
            .operations
            .contains_key(&(path.clone(), method.clone()))
        {
            continue;
        }
        let kind = if spec.paths.contains(path) {
            Kind::OperationAdded
        } else {
            Kind::PathAdded
        };
        Comparer::new(method, path, &mut findings).push(
            At::operation(),
            Class::Additive,
            kind,
            "absent",
            "present",
        );
    }
    findings
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    /// The client sends it (parameters, request bodies).
    Request,
    /// The client receives it (responses).
    Response,
}

/// Where in an operation a comparison is.
#[derive(Debug, Clone)]
struct At {
    location: String,
    status: Option<String>,
    field: Option<String>,
    direction: Direction,
    /// Parameters cannot carry null (absent is the only "none"), so nullability is ignored.
    parameter: bool,
}

impl At {
    fn operation() -> At {
        At {
            location: "operation".to_owned(),
            status: None,
            field: None,
            direction: Direction::Request,
            parameter: false,
        }
    }

    fn parameter(location: &str, name: &str) -> At {
        At {
            location: location.to_owned(),
            field: Some(name.to_owned()),
            parameter: true,
            ..At::operation()
        }
    }

    fn request_body() -> At {
        At {
            location: "request body".to_owned(),
            ..At::operation()
        }
    }

    fn response(status: &str) -> At {
        At {
            location: "response".to_owned(),
            status: Some(status.to_owned()),
            direction: Direction::Response,
            ..At::operation()
        }
    }

    /// A field of the object here.
    fn field(&self, name: &str) -> At {
        let field = match &self.field {
            Some(parent) if !self.parameter => format!("{parent}.{name}"),
            _ => name.to_owned(),
        };
        At {
            field: Some(field),
            ..self.clone()
        }
    }

    /// The items of the array here.
    fn items(&self) -> At {
        At {
            field: Some(format!("{}[]", self.field.as_deref().unwrap_or(""))),
            ..self.clone()
        }
    }

    /// The class of a difference that breaks a request but not a response, or the reverse.
    fn pick(&self, request: Class, response: Class) -> Class {
        match self.direction {
            Direction::Request => request,
            Direction::Response => response,
        }
    }
}

struct Comparer<'a> {
    method: String,
    path: &'a str,
    out: &'a mut Vec<Finding>,
}

impl<'a> Comparer<'a> {
    fn new(method: &str, path: &'a str, out: &'a mut Vec<Finding>) -> Comparer<'a> {
        Comparer {
            method: method.to_uppercase(),
            path,
            out,
        }
    }

    fn push(&mut self, at: At, class: Class, kind: Kind, spec: &str, server: &str) {
        self.out.push(Finding {
            class,
            kind,
            method: self.method.clone(),
            path: self.path.to_owned(),
            location: at.location,
            status: at.status,
            field: at.field,
            spec: spec.to_owned(),
            server: server.to_owned(),
        });
    }

    /// A documentation attribute defined on both sides with different values. One-sided
    /// text is not reported: the handwritten spec documents most things FastAPI leaves bare,
    /// and FastAPI titles every field.
    fn text(&mut self, at: &At, kind: Kind, spec: Option<&str>, server: Option<&str>) {
        if let (Some(spec), Some(server)) = (spec, server) {
            if squash(spec) != squash(server) {
                self.push(at.clone(), Class::Documentation, kind, spec, server);
            }
        }
    }

    fn value(&mut self, at: &At, kind: Kind, spec: Option<&Value>, server: Option<&Value>) {
        if let (Some(spec), Some(server)) = (spec, server) {
            if spec != server {
                let (spec, server) = (spec.to_string(), server.to_string());
                self.push(at.clone(), Class::Documentation, kind, &spec, &server);
            }
        }
    }

    fn operation(&mut self, spec: &Operation, server: &Operation) {
        let at = At::operation();
        self.text(
            &at,
            Kind::OperationIdDiffers,
            spec.operation_id.as_deref(),
            server.operation_id.as_deref(),
        );
        self.text(
            &at,
            Kind::SummaryDiffers,
            spec.summary.as_deref(),
            server.summary.as_deref(),
        );
        self.text(
            &at,
            Kind::DescriptionDiffers,
            spec.description.as_deref(),
            server.description.as_deref(),
        );
        self.parameters(spec, server);
        self.request_body(spec, server);
        self.responses(spec, server);
    }

    fn parameters(&mut self, spec: &Operation, server: &Operation) {
        let keys: BTreeSet<_> = spec
            .parameters
            .keys()
            .chain(server.parameters.keys())
            .collect();
        for key @ (location, name) in keys {
            let at = At::parameter(location, name);
            match (spec.parameters.get(key), server.parameters.get(key)) {
                (Some(ours), Some(theirs)) => {
                    match (ours.required, theirs.required) {
                        (false, true) => self.push(
                            at.clone(),
                            Class::Breaking,
                            Kind::ParameterNowRequired,
                            "optional",
                            "required",
                        ),
                        (true, false) => self.push(
                            at.clone(),
                            Class::Additive,
                            Kind::ParameterNowOptional,
                            "required",
                            "optional",
                        ),
                        _ => {}
                    }
                    self.text(
                        &at,
                        Kind::DescriptionDiffers,
                        ours.description.as_deref(),
                        theirs.description.as_deref(),
                    );
                    self.shapes(&at, &ours.schema, &theirs.schema);
                }
                (Some(_), None) => self.push(
                    at,
                    Class::Breaking,
                    Kind::ParameterRemoved,
                    "present",
                    "absent",
                ),
                (None, Some(theirs)) => {
                    let (class, server) = if theirs.required {
                        (Class::Breaking, "required")
                    } else {
                        (Class::Additive, "optional")
                    };
                    self.push(at, class, Kind::ParameterAdded, "absent", server);
                }
                (None, None) => {}
            }
        }
    }

    fn request_body(&mut self, spec: &Operation, server: &Operation) {
        let at = At::request_body();
        match (&spec.request_body, &server.request_body) {
            (Some(ours), Some(theirs)) => {
                match (ours.required, theirs.required) {
                    (false, true) => self.push(
                        at.clone(),
                        Class::Breaking,
                        Kind::RequestBodyNowRequired,
                        "optional",
                        "required",
                    ),
                    (true, false) => self.push(
                        at.clone(),
                        Class::Additive,
                        Kind::RequestBodyNowOptional,
                        "required",
                        "optional",
                    ),
                    _ => {}
                }
                match (&ours.schema, &theirs.schema) {
                    (Some(ours), Some(theirs)) => self.shapes(&at, ours, theirs),
                    (None, None) => {}
                    (ours, theirs) => self.push(
                        at,
                        Class::Breaking,
                        Kind::TypeChanged,
                        json_or_not(ours.is_some()),
                        json_or_not(theirs.is_some()),
                    ),
                }
            }
            (Some(_), None) => self.push(
                at,
                Class::Breaking,
                Kind::RequestBodyRemoved,
                "present",
                "absent",
            ),
            (None, Some(theirs)) => {
                let (class, server) = if theirs.required {
                    (Class::Breaking, "required")
                } else {
                    (Class::Additive, "optional")
                };
                self.push(at, class, Kind::RequestBodyAdded, "absent", server);
            }
            (None, None) => {}
        }
    }

    fn responses(&mut self, spec: &Operation, server: &Operation) {
        let statuses: BTreeSet<&String> = spec
            .responses
            .keys()
            .chain(server.responses.keys())
            .collect();
        for status in statuses {
            let at = At::response(status);
            // The client maps every error status to one error type, so an error status
            // documented on one side only changes nothing for it; a success status does.
            let generic = status.starts_with('4') || status.starts_with('5') || status == "default";
            let one_sided = if generic {
                Class::Documentation
            } else {
                Class::Breaking
            };
            match (spec.responses.get(status), server.responses.get(status)) {
                (Some(ours), Some(theirs)) => match (&ours.schema, &theirs.schema) {
                    (Some(ours), Some(theirs)) => self.shapes(&at, ours, theirs),
                    (Some(_), None) => self.push(
                        at,
                        one_sided,
                        Kind::ResponseBodyRemoved,
                        "JSON body",
                        "no JSON body",
                    ),
                    (None, Some(_)) => self.push(
                        at,
                        Class::Additive,
                        Kind::ResponseBodyAdded,
                        "no JSON body",
                        "JSON body",
                    ),
                    (None, None) => {}
                },
                (Some(_), None) => self.push(
                    at,
                    one_sided,
                    Kind::StatusOnlyInSpec,
                    "documented",
                    "undocumented",
                ),
                (None, Some(_)) => self.push(
                    at,
                    one_sided,
                    Kind::StatusOnlyOnServer,
                    "undocumented",
                    "documented",
                ),
                (None, None) => {}
            }
        }
    }

    fn shapes(&mut self, at: &At, spec: &Shape, server: &Shape) {
        // Parameter schemas carry FastAPI's titles and the spec's examples at another level;
        // only compare their descriptions (done by the caller) and their types.
        if !at.parameter {
            self.text(
                at,
                Kind::DescriptionDiffers,
                spec.description.as_deref(),
                server.description.as_deref(),
            );
            self.text(
                at,
                Kind::TitleDiffers,
                spec.title.as_deref(),
                server.title.as_deref(),
            );
            self.value(
                at,
                Kind::ExampleDiffers,
                spec.example.as_ref(),
                server.example.as_ref(),
            );
        }
        self.value(
            at,
            Kind::DefaultDiffers,
            spec.default.as_ref(),
            server.default.as_ref(),
        );

        // "Anything" on either side leaves nothing to compare.
        if matches!(spec.ty, Ty::Any) || matches!(server.ty, Ty::Any) {
            return;
        }
        if !at.parameter {
            match (spec.nullable, server.nullable) {
                (false, true) => self.push(
                    at.clone(),
                    at.pick(Class::Additive, Class::Breaking),
                    Kind::NullableOnlyOnServer,
                    "not nullable",
                    "nullable",
                ),
                (true, false) => self.push(
                    at.clone(),
                    at.pick(Class::Breaking, Class::Documentation),
                    Kind::NullableOnlyInSpec,
                    "nullable",
                    "not nullable",
                ),
                _ => {}
            }
        }
        self.types(at, spec, server);
    }

    /// Compares the alternatives on each side by kind, then recurses into the pairs of the
    /// same kind (one on each side).
    fn types(&mut self, at: &At, spec: &Shape, server: &Shape) {
        let spec_members = spec.members();
        let server_members = server.members();
        let kinds = |members: &[&Shape]| -> BTreeSet<model::Kind> {
            members.iter().filter_map(|member| member.kind()).collect()
        };
        let (spec_kinds, server_kinds) = (kinds(&spec_members), kinds(&server_members));
        if spec_kinds != server_kinds {
            let (sent, accepted) = match at.direction {
                Direction::Request => (&spec_kinds, &server_kinds),
                Direction::Response => (&server_kinds, &spec_kinds),
            };
            let refused = sent.iter().any(|kind| !accepts(accepted, *kind));
            let class = if refused {
                Class::Breaking
            } else {
                at.pick(Class::Additive, Class::Documentation)
            };
            self.push(
                at.clone(),
                class,
                Kind::TypeChanged,
                &spec.type_name(),
                &server.type_name(),
            );
        }
        for kind in spec_kinds.intersection(&server_kinds) {
            let of_kind = |members: &[&'_ Shape]| -> Vec<Shape> {
                members
                    .iter()
                    .filter(|member| member.kind() == Some(*kind))
                    .map(|member| (*member).clone())
                    .collect()
            };
            let (ours, theirs) = (of_kind(&spec_members), of_kind(&server_members));
            let ([ours], [theirs]) = (ours.as_slice(), theirs.as_slice()) else {
                // Several alternatives of one kind (e.g. two object shapes): which pairs with
                // which is a guess, so leave them.
                continue;
            };
            match (&ours.ty, &theirs.ty) {
                (Ty::Array(our_items), Ty::Array(their_items)) => {
                    self.shapes(&at.items(), our_items, their_items)
                }
                (Ty::Object(our_object), Ty::Object(their_object)) => {
                    self.objects(at, our_object, their_object)
                }
                _ => self.enums(at, ours, theirs),
            }
        }
        // A non-union shape's enum lives on the shape itself, which `members` returned.
    }

    fn enums(&mut self, at: &At, spec: &Shape, server: &Shape) {
        let set = |shape: &Shape| -> Option<BTreeSet<String>> {
            shape
                .enum_values
                .as_ref()
                .map(|values| values.iter().map(Value::to_string).collect())
        };
        let (ours, theirs) = (set(spec), set(server));
        if ours == theirs {
            return;
        }
        let (sent, accepted) = match at.direction {
            Direction::Request => (&ours, &theirs),
            Direction::Response => (&theirs, &ours),
        };
        let refused = match (sent, accepted) {
            (_, None) => false,
            (None, Some(_)) => true,
            (Some(sent), Some(accepted)) => !sent.is_subset(accepted),
        };
        let class = if refused {
            Class::Breaking
        } else {
            at.pick(Class::Additive, Class::Documentation)
        };
        let show = |set: &Option<BTreeSet<String>>| match set {
            Some(values) => format!(
                "enum {}",
                values.iter().cloned().collect::<Vec<_>>().join(", ")
            ),
            None => "any value".to_owned(),
        };
        self.push(
            at.clone(),
            class,
            Kind::EnumChanged,
            &show(&ours),
            &show(&theirs),
        );
    }

    fn objects(&mut self, at: &At, spec: &Object, server: &Object) {
        // A free-form object on either side ("where both sides define fields").
        if spec.fields.is_empty() || server.fields.is_empty() {
            return;
        }
        let names: BTreeSet<&String> = spec.fields.keys().chain(server.fields.keys()).collect();
        for name in names {
            let here = at.field(name);
            match (spec.fields.get(name), server.fields.get(name)) {
                (Some(ours), Some(theirs)) => {
                    match (ours.required, theirs.required) {
                        (true, false) => self.push(
                            here.clone(),
                            at.pick(Class::Additive, Class::Breaking),
                            Kind::FieldNowOptional,
                            "required",
                            "optional",
                        ),
                        (false, true) => self.push(
                            here.clone(),
                            at.pick(Class::Breaking, Class::Documentation),
                            Kind::FieldNowRequired,
                            "optional",
                            "required",
                        ),
                        _ => {}
                    }
                    self.shapes(&here, &ours.shape, &theirs.shape);
                }
                (Some(ours), None) => {
                    // A request field the server no longer knows is ignored or refused; a
                    // response field the client requires will be missing. An optional one
                    // the client can do without.
                    let class = if at.direction == Direction::Request || ours.required {
                        Class::Breaking
                    } else {
                        Class::Documentation
                    };
                    let spec = if ours.required {
                        "required"
                    } else {
                        "optional"
                    };
                    self.push(here, class, Kind::FieldRemoved, spec, "absent");
                }
                (None, Some(theirs)) => {
                    let class = if at.direction == Direction::Request && theirs.required {
                        Class::Breaking
                    } else {
                        Class::Additive
                    };
                    let server = if theirs.required {
                        "required"
                    } else {
                        "optional"
                    };
                    self.push(here, class, Kind::FieldAdded, "absent", server);
                }
                (None, None) => {}
            }
        }
    }
}

/// Whether a receiver that takes `kinds` takes a value of `kind` (an integer is a number).
fn accepts(kinds: &BTreeSet<model::Kind>, kind: model::Kind) -> bool {
    kinds.contains(&kind) || (kind == model::Kind::Integer && kinds.contains(&model::Kind::Number))
}

fn json_or_not(json: bool) -> &'static str {
    if json {
        "JSON body"
    } else {
        "no JSON body"
    }
}

/// Text with runs of whitespace made single, so re-wrapping is not a difference.
fn squash(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drift::model::read_api;
    use serde_json::json;

    fn doc(body: Value, response: Value) -> Value {
        json!({"paths": {"/x": {"post": {
            "requestBody": {"required": true, "content": {"application/json": {"schema": body}}},
            "responses": {"200": {"content": {"application/json": {"schema": response}}}}
        }}}})
    }

    fn diff(spec: Value, server: Value) -> Vec<(Class, Kind, String)> {
        let (spec, server) = (read_api(&spec).unwrap(), read_api(&server).unwrap());
        compare(&spec, &server)
            .into_iter()
            .map(|f| (f.class, f.kind, f.place()))
            .collect()
    }

    fn object(props: Value, required: &[&str]) -> Value {
        json!({"type": "object", "properties": props, "required": required})
    }

    #[test]
    fn nullable_spellings_compare_equal() {
        let ours = object(json!({"a": {"type": "string", "nullable": true}}), &[]);
        let theirs = object(
            json!({"a": {"anyOf": [{"type": "string"}, {"type": "null"}]}}),
            &[],
        );
        assert_eq!(
            diff(doc(ours.clone(), ours.clone()), doc(theirs.clone(), theirs)),
            []
        );
    }

    #[test]
    fn direction_decides_the_class() {
        let ours = object(json!({"a": {"type": "string"}}), &["a"]);
        let theirs = object(json!({"a": {"type": ["string", "null"]}}), &[]);
        let found = diff(doc(ours.clone(), ours), doc(theirs.clone(), theirs));
        assert_eq!(
            found,
            [
                (
                    Class::Additive,
                    Kind::FieldNowOptional,
                    "request body a".into()
                ),
                (
                    Class::Additive,
                    Kind::NullableOnlyOnServer,
                    "request body a".into()
                ),
                (
                    Class::Breaking,
                    Kind::FieldNowOptional,
                    "response 200 a".into()
                ),
                (
                    Class::Breaking,
                    Kind::NullableOnlyOnServer,
                    "response 200 a".into()
                ),
            ]
        );
    }

    #[test]
    fn integer_to_number_widens_a_request_and_breaks_nothing() {
        let ours = object(json!({"n": {"type": "integer"}}), &[]);
        let theirs = object(json!({"n": {"type": "number"}}), &[]);
        let found = diff(doc(ours.clone(), json!({})), doc(theirs, json!({})));
        assert_eq!(
            found,
            [(Class::Additive, Kind::TypeChanged, "request body n".into())]
        );
    }

    #[test]
    fn enum_only_in_spec_is_additive_for_requests() {
        let ours = object(json!({"r": {"type": "string", "enum": ["A", "B"]}}), &[]);
        let theirs = object(json!({"r": {"type": "string"}}), &[]);
        let found = diff(doc(ours.clone(), ours), doc(theirs.clone(), theirs));
        assert_eq!(
            found,
            [
                (Class::Additive, Kind::EnumChanged, "request body r".into()),
                (Class::Breaking, Kind::EnumChanged, "response 200 r".into()),
            ]
        );
    }

    #[test]
    fn array_items_are_compared() {
        let ours = json!({"type": "array", "items": object(json!({"a": {"type": "string"}}), &[])});
        let theirs =
            json!({"type": "array", "items": object(json!({"a": {"type": "integer"}}), &[])});
        let found = diff(doc(json!({}), ours), doc(json!({}), theirs));
        assert_eq!(
            found,
            [(
                Class::Breaking,
                Kind::TypeChanged,
                "response 200 [].a".into()
            )]
        );
    }

    #[test]
    fn free_form_objects_are_not_compared_field_by_field() {
        let ours = object(json!({"a": {"type": "string"}}), &["a"]);
        let theirs = json!({"type": "object", "additionalProperties": true});
        assert_eq!(
            diff(doc(ours.clone(), ours), doc(theirs.clone(), theirs)),
            []
        );
    }
}
