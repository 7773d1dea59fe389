//! What `drift` reports: one difference between the spec and the server's document.

use serde::{Deserialize, Serialize};

/// How a difference affects a client generated from our spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Class {
    /// The client can send something the server refuses, or fail on something the server
    /// sends: removed path/method/parameter/field, type change, newly required input, ...
    Breaking,
    /// The server offers something new and optional; the client keeps working without it.
    Additive,
    /// Wording, examples, defaults, or statuses the client handles generically.
    Documentation,
}

impl Class {
    pub fn as_str(self) -> &'static str {
        match self {
            Class::Breaking => "breaking",
            Class::Additive => "additive",
            Class::Documentation => "documentation",
        }
    }
}

/// What differs. The allow-list names these in kebab-case (`field-now-required`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// The whole path is missing on the server (one finding per operation of that path).
    PathRemoved,
    /// A path only the server has (one finding per operation of that path).
    PathAdded,
    /// The path exists on the server, but not with this method.
    OperationRemoved,
    OperationAdded,
    ParameterRemoved,
    ParameterAdded,
    ParameterNowRequired,
    ParameterNowOptional,
    RequestBodyRemoved,
    RequestBodyAdded,
    RequestBodyNowRequired,
    RequestBodyNowOptional,
    /// A field the spec has and the server's schema lacks (a rename shows as removed + added).
    FieldRemoved,
    /// A field only the server's schema has.
    FieldAdded,
    FieldNowRequired,
    FieldNowOptional,
    TypeChanged,
    NullableOnlyOnServer,
    NullableOnlyInSpec,
    EnumChanged,
    StatusOnlyInSpec,
    StatusOnlyOnServer,
    ResponseBodyRemoved,
    ResponseBodyAdded,
    OperationIdDiffers,
    SummaryDiffers,
    DescriptionDiffers,
    TitleDiffers,
    ExampleDiffers,
    DefaultDiffers,
}

impl Kind {
    /// The kebab-case name, as in the allow-list.
    pub fn name(self) -> String {
        match serde_json::to_value(self) {
            Ok(serde_json::Value::String(name)) => name,
            _ => format!("{self:?}"),
        }
    }
}

/// One difference, located.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub class: Class,
    pub kind: Kind,
    /// Upper case, e.g. `POST`.
    pub method: String,
    pub path: String,
    /// `operation`, `path`/`query`/`header`/`cookie` (parameters), `request body` or
    /// `response`.
    pub location: String,
    /// The response status, for `response` findings.
    pub status: Option<String>,
    /// The parameter name, or the dotted field path in a body (`chat_model.config`,
    /// `detail[].loc`; `[]` steps into array items). `None` for the body itself.
    pub field: Option<String>,
    /// What our spec says, briefly.
    pub spec: String,
    /// What the server's document says, briefly.
    pub server: String,
}

impl Finding {
    /// `METHOD /path`, as the allow-list's `operations` entries spell it.
    pub fn operation(&self) -> String {
        format!("{} {}", self.method, self.path)
    }

    /// Location, status and field in one short string, e.g. `response 200 data.user_id`.
    pub fn place(&self) -> String {
        let mut place = self.location.clone();
        if let Some(status) = &self.status {
            place.push(' ');
            place.push_str(status);
        }
        if let Some(field) = &self.field {
            place.push(' ');
            place.push_str(field);
        }
        place
    }
}
