//! The one error type of the client: every failure, from a refused connection to a
//! validation error, with what the server said and what to do about it.

use std::time::Duration;

use reqwest::StatusCode;

use crate::text::one_line;
use crate::v1::types::{ErrorBody, ErrorDetail, ValidationIssue};

/// The longest server message an error keeps, in characters: enough for any real message,
/// and a hostile server cannot fill a terminal or a log with one error.
pub(crate) const MAX_MESSAGE_CHARS: usize = 2_000;

/// The most field-level problems of a 422 an error keeps.
pub(crate) const MAX_DETAILS: usize = 20;

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
        /// The wait the server asked for in `Retry-After`, when it sent one.
        retry_after: Option<Duration>,
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
    /// The answer's body is larger than the client accepts
    /// ([`ClientBuilder::max_response_bytes`](crate::ClientBuilder::max_response_bytes) for
    /// successes, a smaller fixed cap for error answers); the client stopped reading it.
    #[error("{operation}: the server's answer{} is larger than {} ({limit} bytes); the client stopped reading it{}", .status.map(|s| format!(" ({s})")).unwrap_or_default(), human_bytes(*.limit), too_large_hint(*.status))]
    ResponseTooLarge {
        /// The operation that failed.
        operation: &'static str,
        /// The HTTP status of the answer, when known.
        status: Option<StatusCode>,
        /// The cap, in bytes.
        limit: u64,
    },
    /// The server answered with a redirect, which the client does not follow unless told to
    /// ([`ClientBuilder::follow_redirects`](crate::ClientBuilder::follow_redirects)), or which
    /// leaves the base URL's origin.
    #[error("{operation}: the server answered {status} redirecting to {}; the client does not follow it, because a redirect re-sends the request (body and credentials included) to wherever the server points\n  hint: check the base URL (http or https? a path prefix?); to follow redirects within the same origin, enable follow_redirects", .location.as_deref().unwrap_or("(no Location header)"))]
    Redirect {
        /// The operation that failed.
        operation: &'static str,
        /// The 3xx status.
        status: StatusCode,
        /// Where the server pointed, without credentials, query or fragment.
        location: Option<String>,
    },
    /// The server answered with a success status but said in the body that the request
    /// failed: `/product/delete_memory` answers `200` with `data.status: "failure"` and the
    /// reason as the envelope's `message`.
    #[error("{operation}: the server answered {status} but reported a failure{}", .message.as_deref().map(|m| format!(": {}", m.trim())).unwrap_or_default())]
    ReportedFailure {
        /// The operation that failed.
        operation: &'static str,
        /// The (success) HTTP status.
        status: StatusCode,
        /// The envelope's `message`: the server's reason.
        message: Option<String>,
    },
    /// The request could not be built from the given values (nothing was sent).
    #[error("{operation}: invalid request, nothing was sent: {reason}")]
    InvalidRequest {
        /// The operation that failed.
        operation: &'static str,
        /// What is wrong with the input.
        reason: String,
    },
    /// An event stream passed a limit its caller set on it
    /// ([`EventStream::deadline`](crate::EventStream::deadline),
    /// [`EventStream::max_events`](crate::EventStream::max_events)); the client stopped
    /// reading it.
    #[error("{operation}: the event stream {limit}; the client stopped reading it")]
    StreamLimit {
        /// The operation whose stream was stopped.
        operation: &'static str,
        /// Which limit was reached.
        limit: StreamLimit,
    },
    /// The client could not be built (bad base URL, bad header value...).
    #[error("invalid client configuration: {0}")]
    Config(String),
}

/// A limit a caller set on an [`EventStream`](crate::EventStream).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StreamLimit {
    /// The stream had not ended by its deadline.
    #[error("had not ended by its deadline")]
    Deadline,
    /// The server sent more events than this many.
    #[error("sent more than {0} events")]
    Events(u64),
}

impl Error {
    /// The HTTP status, when the server answered.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Error::Api { status, .. }
            | Error::Redirect { status, .. }
            | Error::ReportedFailure { status, .. } => Some(*status),
            Error::InvalidResponse { status, .. } | Error::ResponseTooLarge { status, .. } => {
                *status
            }
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
            Error::Api { message, .. } | Error::ReportedFailure { message, .. } => {
                message.as_deref()
            }
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
            | Error::ResponseTooLarge { operation, .. }
            | Error::Redirect { operation, .. }
            | Error::ReportedFailure { operation, .. }
            | Error::InvalidRequest { operation, .. }
            | Error::StreamLimit { operation, .. } => Some(operation),
            Error::Config(_) => None,
        }
    }

    /// Whether the server may have acted on the request: the answer, or its absence, does
    /// not prove that it did not. A caller that sent a request which must not be applied
    /// twice (`add_memories`, `chat`, ...) and gets such an error should count it as *in
    /// doubt* and reconcile (look for the record) rather than send it again.
    ///
    /// `false` when nothing was sent ([`Error::InvalidRequest`], [`Error::Config`]), when
    /// the connection could not be opened, when the server refused the request (any 4xx
    /// but 409, a 503 with `Retry-After`, 501, 505), and on a redirect other than 303.
    /// `true` for every other failure: a broken or timed-out exchange, a 500, a 502 or 504
    /// from a gateway, a 503 without `Retry-After` (a proxy's answer after the upstream
    /// reset, possibly after storing), a success answer the client could not read, and a
    /// failure reported in a success answer ([`Error::ReportedFailure`]: MemoryOS 2.0.33
    /// reports one after a filter-mode delete that deleted), and a stream its caller's limit
    /// stopped ([`Error::StreamLimit`]).
    pub fn may_have_been_applied(&self) -> bool {
        match self {
            Error::InvalidRequest { .. } | Error::Config(_) => false,
            Error::Transport { source, .. } => !source.is_connect(),
            Error::Api {
                status,
                retry_after,
                ..
            } => match status.as_u16() {
                // A conflict may report an earlier copy of this very request.
                409 => true,
                400..=499 | 501 | 505 => false,
                503 => retry_after.is_none(),
                _ => true,
            },
            Error::Redirect { status, .. } => *status == StatusCode::SEE_OTHER,
            Error::InvalidResponse { status, .. } | Error::ResponseTooLarge { status, .. } => {
                !status.is_some_and(|s| s.is_client_error())
            }
            Error::ReportedFailure { .. } | Error::StreamLimit { .. } => true,
        }
    }

    /// Whether the server declined the request without acting on it and another try may
    /// succeed: a 429, or a 503 that carries `Retry-After` (the server itself asking to be
    /// called later, which a proxy reporting a reset upstream does not send), or a
    /// connection that could not be opened. Such a request may be sent again even when it
    /// is not idempotent; the client does so itself within its [`RetryPolicy`](crate::RetryPolicy).
    pub fn safe_to_retry(&self) -> bool {
        match self {
            Error::Transport { source, .. } => source.is_connect(),
            Error::Api {
                status,
                retry_after,
                ..
            } => crate::retry::proves_not_taken(*status, retry_after.is_some()),
            _ => false,
        }
    }

    /// The wait the server asked for in `Retry-After`, when it sent one.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::Api { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// Builds an [`Error::ReportedFailure`] from the envelope's `message`, bounded.
    pub(crate) fn reported_failure(
        operation: &'static str,
        status: StatusCode,
        message: &str,
    ) -> Self {
        Error::ReportedFailure {
            operation,
            status,
            message: (!message.trim().is_empty()).then(|| bounded(message, MAX_MESSAGE_CHARS)),
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
                retry_after: None,
            },
        }
    }

    /// Sets the `Retry-After` wait of an [`Error::Api`].
    pub(crate) fn with_retry_after(mut self, wait: Option<Duration>) -> Self {
        if let Error::Api { retry_after, .. } = &mut self {
            *retry_after = wait;
        }
        self
    }

    /// Replaces every occurrence of `secret` in what the server sent with `<redacted>`: a
    /// server (or a proxy) may echo the `Authorization` header in its error message, and
    /// errors end up in terminals, logs and reports.
    pub(crate) fn redact(&mut self, secret: &str) {
        if secret.is_empty() {
            return;
        }
        let clean = |text: &mut String| redact_text(text, secret);
        match self {
            Error::ReportedFailure {
                message: Some(message),
                ..
            } => clean(message),
            Error::Api {
                message, details, ..
            } => {
                if let Some(message) = message {
                    clean(message);
                }
                for issue in details {
                    clean(&mut issue.msg);
                    clean(&mut issue.type_);
                    if let Some(input) = &mut issue.input {
                        redact_value(input, secret);
                    }
                    redact_map(&mut issue.ctx, secret);
                    for part in &mut issue.loc {
                        if let crate::v1::types::LocationPart::String(text) = part {
                            redact_text(text, secret);
                        }
                    }
                }
            }
            Error::InvalidResponse {
                reason, body_start, ..
            } => {
                clean(reason);
                clean(body_start);
            }
            Error::InvalidRequest { reason, .. } => clean(reason),
            Error::Redirect {
                location: Some(location),
                ..
            } => clean(location),
            _ => {}
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
            message: body
                .message
                .or(detail_message)
                .map(|m| bounded(&m, MAX_MESSAGE_CHARS)),
            details: details
                .into_iter()
                .take(MAX_DETAILS)
                .map(bounded_issue)
                .collect(),
            retry_after: None,
        }
    }
}

const REDACTED: &str = "<redacted>";

/// Replaces `secret` in `text`, and the start of it left at the end where a bounded text
/// was cut in the middle of the secret: any start before a final `…`, and four characters
/// or more otherwise (a body start is cut without a mark).
fn redact_text(text: &mut String, secret: &str) {
    if text.contains(secret) {
        *text = text.replace(secret, REDACTED);
    }
    let (kept, ellipsis) = match text.strip_suffix('…') {
        Some(kept) => (kept, true),
        None => (text.as_str(), false),
    };
    let shortest = if ellipsis { 1 } else { 4 };
    let cut = (shortest..secret.len())
        .rev()
        .filter(|&len| secret.is_char_boundary(len))
        .find(|&len| kept.ends_with(&secret[..len]));
    if let Some(len) = cut {
        let start = kept.len() - len;
        text.replace_range(start.., REDACTED);
        if ellipsis {
            text.push('…');
        }
    }
}

fn redact_map(map: &mut serde_json::Map<String, serde_json::Value>, secret: &str) {
    let entries = std::mem::take(map);
    *map = entries
        .into_iter()
        .map(|(mut key, mut value)| {
            redact_text(&mut key, secret);
            redact_value(&mut value, secret);
            (key, value)
        })
        .collect();
}

fn redact_value(value: &mut serde_json::Value, secret: &str) {
    match value {
        serde_json::Value::String(text) => redact_text(text, secret),
        serde_json::Value::Array(items) => items.iter_mut().for_each(|v| redact_value(v, secret)),
        serde_json::Value::Object(map) => redact_map(map, secret),
        _ => {}
    }
}

/// At most `max` characters of `text`, with `…` when cut (line breaks kept: a pydantic
/// message spans lines).
fn bounded(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

/// A validation issue whose texts are bounded; the echoed input is dropped when large.
fn bounded_issue(mut issue: ValidationIssue) -> ValidationIssue {
    issue.msg = one_line(&issue.msg, 300);
    issue.type_ = one_line(&issue.type_, 100);
    issue.loc.truncate(10);
    for part in &mut issue.loc {
        if let crate::v1::types::LocationPart::String(text) = part {
            *text = one_line(text, 60);
        }
    }
    if issue
        .input
        .as_ref()
        .is_some_and(|input| input.to_string().len() > MAX_MESSAGE_CHARS)
    {
        issue.input = None;
    }
    if serde_json::Value::Object(issue.ctx.clone())
        .to_string()
        .len()
        > MAX_MESSAGE_CHARS
    {
        issue.ctx.clear();
    }
    issue
}

fn human_bytes(bytes: u64) -> String {
    const MIB: u64 = 1024 * 1024;
    if bytes >= MIB && bytes.is_multiple_of(MIB) {
        format!("{} MiB", bytes / MIB)
    } else if bytes >= 1024 && bytes.is_multiple_of(1024) {
        format!("{} KiB", bytes / 1024)
    } else {
        format!("{bytes} B")
    }
}

fn too_large_hint(status: Option<StatusCode>) -> &'static str {
    match status {
        Some(status) if !status.is_success() => "",
        _ => "\n  hint: ask for less (a narrower search, one cube at a time) or raise the cap (ClientBuilder::max_response_bytes, the CLI's --max-response-size)",
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
