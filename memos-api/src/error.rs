//! The one error type of the client: every failure, from a refused connection to a
//! validation error, with what the server said and what to do about it.

use reqwest::StatusCode;

use crate::types::{ErrorBody, ErrorDetail, ValidationIssue};

/// A `Result` whose error is [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong when calling MemOS.
///
/// Every variant names the operation (the spec's `operationId`) that failed. The `Display`
/// output is meant for people: what failed, what the server said, and what to try next.
/// No variant ever holds the client's credentials.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The server answered with an error status (4xx or 5xx).
    #[error("{}", display_api(.operation, *.status, .code, .message, .details))]
    Api {
        /// The operation that failed.
        operation: &'static str,
        /// The HTTP status.
        status: StatusCode,
        /// The envelope's `code` (400 and 500 answers of MemOS).
        code: Option<i64>,
        /// The envelope's `message`, or the `detail` string of a 404/405, or the raw body
        /// when it is not JSON.
        message: Option<String>,
        /// The field-level problems of a 422 validation error.
        details: Vec<ValidationIssue>,
    },
    /// The request never got an answer: connection refused, DNS, TLS, reset or timeout.
    #[error("{operation}: {}: {}{}", transport_summary(.source), source_chain(.source), transport_hint(.source))]
    Transport {
        /// The operation that failed.
        operation: &'static str,
        /// The underlying HTTP client error.
        #[source]
        source: reqwest::Error,
    },
    /// The server answered a success status but the body does not match the spec.
    #[error("{operation}: the server's answer{} does not match the API spec ({reason}); body starts with: {body_start:?}", .status.map(|s| format!(" ({s})")).unwrap_or_default())]
    InvalidResponse {
        /// The operation that failed.
        operation: &'static str,
        /// The HTTP status, when known.
        status: Option<StatusCode>,
        /// Why the body was rejected.
        reason: String,
        /// The first bytes of the body, for diagnosis.
        body_start: String,
    },
    /// The request could not be built from the given values (nothing was sent).
    #[error("{operation}: invalid request, nothing was sent: {reason}")]
    InvalidRequest {
        /// The operation that failed.
        operation: &'static str,
        /// What is wrong with the input.
        reason: String,
    },
    /// The client could not be built (bad base URL, bad header value...).
    #[error("invalid client configuration: {0}")]
    Config(String),
}

impl Error {
    /// The HTTP status, when the server answered.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Error::Api { status, .. } => Some(*status),
            Error::InvalidResponse { status, .. } => *status,
            Error::Transport { source, .. } => source.status(),
            _ => None,
        }
    }

    /// The envelope's `code`, when the server sent one.
    pub fn code(&self) -> Option<i64> {
        match self {
            Error::Api { code, .. } => *code,
            _ => None,
        }
    }

    /// What the server said went wrong (the envelope's `message` or a `detail` string).
    pub fn message(&self) -> Option<&str> {
        match self {
            Error::Api { message, .. } => message.as_deref(),
            _ => None,
        }
    }

    /// The field-level problems of a 422 answer (empty otherwise).
    pub fn validation_details(&self) -> &[ValidationIssue] {
        match self {
            Error::Api { details, .. } => details,
            _ => &[],
        }
    }

    /// The operation that failed, when the error comes from a call.
    pub fn operation(&self) -> Option<&'static str> {
        match self {
            Error::Api { operation, .. }
            | Error::Transport { operation, .. }
            | Error::InvalidResponse { operation, .. }
            | Error::InvalidRequest { operation, .. } => Some(operation),
            Error::Config(_) => None,
        }
    }

    /// Builds an [`Error::Api`] from a status and the body the server sent.
    pub(crate) fn from_body(operation: &'static str, status: StatusCode, body: &[u8]) -> Self {
        match serde_json::from_slice::<ErrorBody>(body) {
            Ok(parsed) => Self::from_error_body(operation, status, parsed),
            Err(_) => Error::Api {
                operation,
                status,
                code: None,
                message: (!body.is_empty()).then(|| body_start(body)),
                details: Vec::new(),
            },
        }
    }

    pub(crate) fn from_error_body(
        operation: &'static str,
        status: StatusCode,
        body: ErrorBody,
    ) -> Self {
        let (detail_message, details) = match body.detail {
            Some(ErrorDetail::Array(issues)) => (None, issues),
            Some(ErrorDetail::String(text)) => (Some(text), Vec::new()),
            None => (None, Vec::new()),
        };
        Error::Api {
            operation,
            status,
            code: body.code,
            message: body.message.or(detail_message),
            details,
        }
    }
}

/// The first 512 bytes of a body, lossily decoded, for error messages.
pub(crate) fn body_start(body: &[u8]) -> String {
    let end = body.len().min(512);
    String::from_utf8_lossy(&body[..end]).into_owned()
}

fn display_api(
    operation: &str,
    status: StatusCode,
    code: &Option<i64>,
    message: &Option<String>,
    details: &[ValidationIssue],
) -> String {
    let mut out = format!("{operation} failed with HTTP {status}");
    if let Some(code) = code {
        if *code != i64::from(status.as_u16()) {
            out.push_str(&format!(" (envelope code {code})"));
        }
    }
    if let Some(message) = message {
        out.push_str(": ");
        out.push_str(message.trim());
    }
    for issue in details {
        let location: Vec<String> = issue.loc.iter().map(ToString::to_string).collect();
        out.push_str(&format!(
            "\n  - {}: {} ({})",
            location.join("."),
            issue.msg,
            issue.type_
        ));
    }
    out.push_str(status_hint(status));
    out
}

fn status_hint(status: StatusCode) -> &'static str {
    match status.as_u16() {
        401 | 403 => "\n  hint: check the token and the auth scheme (bearer or token)",
        404 => "\n  hint: check the base URL (does it need a path such as /api?) and that ids contain no '/'",
        405 => "\n  hint: the server does not offer this method on this path; check the base URL",
        422 => "\n  hint: the server rejected the fields listed above; fix them and send again",
        429 => "\n  hint: the server is rate limiting; wait and try again",
        500..=599 => "\n  hint: the server failed while handling the request; its log has the details",
        _ => "",
    }
}

/// Says whether the request may have reached the server: that decides whether sending it
/// again is safe, so the message must not blur it.
fn transport_summary(err: &reqwest::Error) -> &'static str {
    if err.is_connect() {
        "could not reach the MemOS server"
    } else if err.is_timeout() {
        "no answer from the MemOS server in time (the request may have been processed)"
    } else {
        "the connection broke before the answer was complete (the request may have been processed)"
    }
}

fn transport_hint(err: &reqwest::Error) -> &'static str {
    if err.is_timeout() {
        "\n  hint: the server did not answer in time; raise the client's timeout or check the server"
    } else if err.is_connect() {
        "\n  hint: is the server running at the base URL, and is the URL right?"
    } else {
        ""
    }
}

fn source_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut out = err.to_string();
    let mut next = err.source();
    while let Some(cause) = next {
        out.push_str(": ");
        out.push_str(&cause.to_string());
        next = cause.source();
    }
    out
}
