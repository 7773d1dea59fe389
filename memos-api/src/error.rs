//! The one error type of the client: every failure, from a refused connection to a
//! validation error, with what the server said.

use std::fmt;
use std::time::Duration;

use reqwest::StatusCode;

use crate::text::one_line;
use crate::v1::types::{ErrorBody, ErrorDetail, LocationPart};

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
/// output is one line for people: what failed and what the server said. The underlying
/// cause (a [`Transport`](Error::Transport) error's `reqwest::Error`) is only in
/// [`source()`](std::error::Error::source), so that error reporters which print the chain
/// (`anyhow`'s `{:#}`, `eyre`, `tracing`) print it once. What to do about an error depends
/// on the program (its flags, its retries), so the text gives no advice: the predicates
/// ([`status`](Error::status), [`may_have_been_applied`](Error::may_have_been_applied),
/// [`safe_to_retry`](Error::safe_to_retry), ...) let a program word its own.
///
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
    #[error("{operation}: {}", transport_summary(.source))]
    Transport {
        /// The operation that failed.
        operation: &'static str,
        /// The underlying HTTP client error.
        #[source]
        source: reqwest::Error,
    },
    /// The server answered a success status but the body does not match the spec.
    #[error("{operation}: the server's answer{} does not match the API spec ({}); body starts with: {body_start:?}", .status.map(|s| format!(" ({s})")).unwrap_or_default(), one_line(.reason, MAX_MESSAGE_CHARS))]
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
    #[error("{operation}: the server's answer{} is larger than {} ({limit} bytes); the client stopped reading it", .status.map(|s| format!(" ({s})")).unwrap_or_default(), human_bytes(*.limit))]
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
    #[error("{operation}: the server answered {status} redirecting to {}; the client does not follow it, because a redirect re-sends the request (body and credentials included) to wherever the server points", .location.as_deref().unwrap_or("(no Location header)"))]
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
    #[error("{operation}: the server answered {status} but reported a failure{}", .message.as_deref().map(|m| format!(": {}", one_line(m, MAX_MESSAGE_CHARS))).unwrap_or_default())]
    ReportedFailure {
        /// The operation that failed.
        operation: &'static str,
        /// The (success) HTTP status.
        status: StatusCode,
        /// The envelope's `message`: the server's reason.
        message: Option<String>,
    },
    /// The request could not be built from the given values (nothing was sent).
    #[error("{operation}: invalid request, nothing was sent: {}", one_line(.reason, MAX_MESSAGE_CHARS))]
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
    #[error("invalid client configuration: {}", one_line(.0, MAX_MESSAGE_CHARS))]
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
    ///
    /// ```no_run
    /// # async fn demo(client: memos_api::v1::Client) -> memos_api::Result<()> {
    /// match client.list_users().await {
    ///     Ok(users) => println!("{} users", users.len()),
    ///     Err(err) if matches!(err.status().map(|s| s.as_u16()), Some(401 | 403)) => {
    ///         eprintln!("the server refused the credential: {err}");
    ///     }
    ///     Err(err) => return Err(err),
    /// }
    /// # Ok(())
    /// # }
    /// ```
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

    /// The field-level problems of a 422 answer (empty otherwise), the same type for both
    /// APIs.
    ///
    /// ```no_run
    /// use memos_api::product::types;
    ///
    /// # async fn demo(client: memos_api::product::Client) {
    /// let request = types::SearchRequest::builder().user_id("alice").query("Lisbon");
    /// if let Err(err) = client.search_memories(request).await {
    ///     for issue in err.validation_details() {
    ///         // e.g. `body.query: String should have at least 1 character (string_too_short)`
    ///         eprintln!("{}: {}", issue.location().join("."), issue.message());
    ///     }
    /// }
    /// # }
    /// ```
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
    ///
    /// ```no_run
    /// use memos_api::v1::types;
    ///
    /// # async fn demo(client: memos_api::v1::Client) -> memos_api::Result<()> {
    /// let memory = types::MemoryCreate::builder()
    ///     .user_id("alice".to_owned())
    ///     .mem_cube_id("notes".to_owned())
    ///     .memory_content("I moved to Lisbon in March.".to_owned());
    /// match client.add_memories(memory).await {
    ///     Ok(_) => println!("stored"),
    ///     // Sending it again could store it twice: look for it in the cube first.
    ///     Err(err) if err.may_have_been_applied() => println!("in doubt: {err}"),
    ///     // The server did not take it: fix the request, or send it again later.
    ///     Err(err) => println!("not stored: {err}"),
    /// }
    /// # Ok(())
    /// # }
    /// ```
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
    ///
    /// A caller with a retry loop of its own, on top of the client's quick retries:
    ///
    /// ```no_run
    /// use std::time::Duration;
    ///
    /// use memos_api::v1::types;
    ///
    /// # async fn demo(client: memos_api::v1::Client) -> memos_api::Result<String> {
    /// let mut attempt = 0;
    /// loop {
    ///     let question = types::ChatRequest::builder().user_id("alice".to_owned()).query("Hi");
    ///     match client.chat(question).await {
    ///         Err(err) if err.safe_to_retry() && attempt < 5 => {
    ///             attempt += 1;
    ///             let wait = err.retry_after().unwrap_or(Duration::from_secs(10));
    ///             tokio::time::sleep(wait).await;
    ///         }
    ///         answer => return answer,
    ///     }
    /// }
    /// # }
    /// ```
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
                    clean(&mut issue.message);
                    clean(&mut issue.kind);
                    issue.location.iter_mut().for_each(clean);
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
                .map(ValidationIssue::bounded)
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

/// At most `max` characters of `text`, with `…` when cut (line breaks kept: a pydantic
/// message spans lines).
fn bounded(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

/// One field-level problem of a 422 answer, the same for both APIs: where (the path to the
/// field), what is wrong, and the kind of problem.
///
/// Its `Display` is one line, `body.messages.0.role: Input should be 'user' (enum)`. The
/// input the server echoes back with a problem is not kept: it may be large, or hold what
/// should not reach a log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationIssue {
    location: Vec<String>,
    message: String,
    kind: String,
}

impl ValidationIssue {
    /// The path to the field as the server gives it, one part each: where in the request
    /// (`body`, `query`, `path`), then field names and list indexes (`["body", "messages",
    /// "0", "role"]`).
    pub fn location(&self) -> &[String] {
        &self.location
    }

    /// What is wrong, in the server's words (`Field required`).
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The kind of problem, as the server names it (pydantic's `type`: `missing`,
    /// `string_type`, ...).
    pub fn kind(&self) -> &str {
        &self.kind
    }

    /// The issue of a generated error body, its texts bounded (each on one line).
    fn bounded(issue: crate::v1::types::ValidationIssue) -> Self {
        ValidationIssue {
            location: issue
                .loc
                .iter()
                .take(10)
                .map(|part| match part {
                    LocationPart::String(text) => one_line(text, 60),
                    LocationPart::Integer(index) => index.to_string(),
                })
                .collect(),
            message: one_line(&issue.msg, 300),
            kind: one_line(&issue.type_, 100),
        }
    }
}

impl fmt::Display for ValidationIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} ({})",
            self.location.join("."),
            self.message,
            self.kind
        )
    }
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

/// The first 512 bytes of a body, lossily decoded, for error messages.
pub(crate) fn body_start(body: &[u8]) -> String {
    let end = body.len().min(512);
    String::from_utf8_lossy(&body[..end]).into_owned()
}

/// One line: what failed, the envelope's code when it differs from the status, what the
/// server said, and each field problem.
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
        out.push_str(&one_line(message, MAX_MESSAGE_CHARS));
    }
    for issue in details {
        out.push_str(&format!("; {issue}"));
    }
    out
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
