//! What every rule of the lint shares: the finding type, the HTTP methods of a path item, and
//! `$ref` resolution. Its own module so that the rule modules never import their parent.

use std::fmt;

use serde_json::Value;

/// The HTTP methods an OpenAPI path item may hold.
pub const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// One rule the spec breaks, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LintError {
    /// E.g. `POST /users` or `paths./users.post.requestBody.$ref`.
    pub location: String,
    pub message: String,
}

impl fmt::Display for LintError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.location, self.message)
    }
}

/// Follows a local `$ref` (`#/components/...`); external references are not supported.
pub fn resolve_ref<'a>(doc: &'a Value, target: &str) -> Result<&'a Value, String> {
    let Some(pointer) = target.strip_prefix('#') else {
        return Err(format!(
            "`$ref: {target}` is external; only local references (`#/...`) are supported"
        ));
    };
    doc.pointer(pointer)
        .ok_or_else(|| format!("`$ref: {target}` points at nothing"))
}
