//! The shared layer of every client ([`Core`]): sending a request and retrying it, the cap
//! on an answer's body, turning whatever comes back into a value or an [`Error`], and the
//! checks on a request's body and path made before anything is sent.

use std::cell::Cell;
use std::fmt;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use futures::future::BoxFuture;
use progenitor_client::ResponseValue;
use reqwest::header::{HeaderMap, LOCATION};
use reqwest::StatusCode;

use crate::auth::Auth;
use crate::builder::{Generated, HttpSettings};
use crate::error::{body_start, Error, Result};
use crate::retry::{self, Idempotency, RetryPolicy};
use crate::v1::types;

type RawError<E = types::ErrorBody> = progenitor_client::Error<E>;
/// What a generated operation's `send()` returns, boxed.
pub(crate) type RawResult<'a, T, E> =
    BoxFuture<'a, std::result::Result<ResponseValue<T>, RawError<E>>>;

/// The default cap on a success answer's body: 64 MiB.
///
/// The largest legitimate MemOS answer is a `GET /memories` of a big cube: each memory item
/// is a few KiB of text and metadata (embeddings are not returned), so a cube of ten
/// thousand memories answers in roughly 20-40 MiB. 64 MiB leaves room for that while
/// keeping a hostile or broken server from taking more than a bounded share of memory
/// (the JSON is held once as bytes and once decoded, so about three times the cap at worst).
pub const DEFAULT_MAX_RESPONSE_BYTES: u64 = 64 * 1024 * 1024;

/// The cap on an error answer's body: an error envelope or a proxy's page is a few KiB;
/// 1 MiB keeps the whole of any real one.
pub const MAX_ERROR_BODY_BYTES: u64 = 1024 * 1024;

/// What the hooks of one try need to share with [`Core::send`].
struct TryContext {
    /// The status of the answer. progenitor drops it when a body does not parse
    /// (`InvalidResponsePayload`), so the `post` hook records it here.
    status: Cell<Option<StatusCode>>,
    /// The cap on a success answer's body.
    max_response_bytes: u64,
    /// A longer total timeout for this try than the client's (an operation that waits on
    /// the server by design, such as `scheduler_wait`).
    timeout: Option<Duration>,
}

tokio::task_local! {
    static TRY: TryContext;
}
/// The `exec` hook of both generated clients: sends `request` (with the try's own timeout,
/// if it has one) and caps the answer's body. `streaming`: a success answer is a stream of
/// events, each capped on its own (see [`crate::EventStream`]), so its body as a whole is
/// not.
pub(crate) async fn exec_capped(
    http: &reqwest::Client,
    mut request: reqwest::Request,
    streaming: bool,
) -> reqwest::Result<reqwest::Response> {
    if let Ok(Some(timeout)) = TRY.try_with(|context| context.timeout) {
        *request.timeout_mut() = Some(timeout);
    }
    let response = http.execute(request).await?;
    if streaming && response.status().is_success() {
        return Ok(response);
    }
    let max = TRY
        .try_with(|context| context.max_response_bytes)
        .unwrap_or(DEFAULT_MAX_RESPONSE_BYTES);
    let limit = body_limit(max, Some(response.status()));
    Ok(crate::limit::limit_body(response, limit))
}

/// The `post` hook of both generated clients: records the answer's status for
/// [`Core::send`].
pub(crate) fn record_status(result: &reqwest::Result<reqwest::Response>) {
    if let Ok(response) = result {
        // Outside `Core::send` (calls through `raw()`) there is nothing to record.
        let _ = TRY.try_with(|context| context.status.set(Some(response.status())));
    }
}

/// The cap on the body of an answer with `status` (unknown: the larger cap).
fn body_limit(max_response_bytes: u64, status: Option<StatusCode>) -> u64 {
    match status {
        Some(status) if !status.is_success() => max_response_bytes.min(MAX_ERROR_BODY_BYTES),
        _ => max_response_bytes,
    }
}

/// What every client of the crate is made of: the generated client `R` with its
/// connection pool, and the settings of the hand-written layer around it.
// The fields are visible to the crate because `ClientBuilder::core` fills them in.
pub(crate) struct Core<R> {
    /// The generated client and its connection pool; replaced after a 5xx.
    pub(crate) raw: RwLock<Arc<R>>,
    pub(crate) http: HttpSettings,
    pub(crate) base_url: String,
    pub(crate) auth: Option<Auth>,
    pub(crate) retry: RetryPolicy,
    pub(crate) max_response_bytes: u64,
    /// The cap on one event of a stream: the smaller of the per-event cap and
    /// `max_response_bytes`.
    pub(crate) max_event_bytes: u64,
    /// Whether the credential goes over plain http to a remote host.
    pub(crate) cleartext: bool,
}

impl<R> Core<R> {
    /// The `Debug` output of a client named `name`: never the credential itself.
    pub(crate) fn debug_as(&self, name: &str, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct(name)
            .field("base_url", &self.base_url)
            .field("auth", &self.auth)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

impl<R: Generated> Core<R> {
    /// The base URL requests go to.
    pub(crate) fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Whether the credential goes over plain http to a remote host.
    pub(crate) fn credential_in_cleartext(&self) -> bool {
        self.cleartext
    }

    /// The longest one try may take.
    pub(crate) fn timeout(&self) -> Duration {
        self.http.timeout
    }

    /// The cap on one event of a stream.
    pub(crate) fn max_event_bytes(&self) -> u64 {
        self.max_event_bytes
    }

    /// The configured credential, to redact from what the server sent.
    pub(crate) fn secret(&self) -> Option<&str> {
        self.auth.as_ref().map(|auth| auth.secret().expose())
    }

    /// A warning for people when the credential goes over plain http to a remote host.
    pub(crate) fn cleartext_warning(&self) -> Option<String> {
        self.cleartext.then(|| {
            format!(
                "warning: the {} credential is sent unencrypted to {} (plain http to a host that \
                 is not loopback); use https",
                self.auth.as_ref().map_or("", |auth| auth.scheme().name()),
                self.base_url
            )
        })
    }

    /// The generated client in use.
    pub(crate) fn raw(&self) -> Arc<R> {
        // A poisoned lock only means a panic elsewhere while swapping in a whole value.
        let raw = self.raw.read().unwrap_or_else(|p| p.into_inner());
        Arc::clone(&raw)
    }

    /// Drops the connection pool: later requests open new connections.
    ///
    /// The reference server resets a keep-alive connection after answering 500, without
    /// saying `connection: close`. A request sent next on that connection fails with a
    /// reset; for a POST the client cannot tell whether the server saw it, so it must not
    /// send it again. Starting from fresh connections after any 5xx avoids the trap.
    fn renew_connections(&self) {
        if let Ok(raw) = R::connect(&self.http, &self.base_url) {
            let mut current = self.raw.write().unwrap_or_else(|p| p.into_inner());
            *current = Arc::new(raw);
        }
    }

    /// Sends a request built by `make`, retrying it as `idempotency` and the policy allow.
    /// `timeout` replaces the client's timeout for each try, when given.
    pub(crate) async fn send<T, E, F>(
        &self,
        operation: &'static str,
        idempotency: Idempotency,
        timeout: Option<Duration>,
        mut make: F,
    ) -> Result<T>
    where
        F: for<'a> FnMut(&'a R) -> RawResult<'a, T, E>,
        T: Answer,
        E: Into<types::ErrorBody>,
    {
        let policy = &self.retry;
        let mut attempt = 0;
        loop {
            let raw = self.raw();
            let context = TryContext {
                status: Cell::new(None),
                max_response_bytes: self.max_response_bytes,
                timeout,
            };
            let (outcome, status) = TRY
                .scope(context, async {
                    let outcome = make(&raw).await;
                    (outcome, TRY.with(|context| context.status.get()))
                })
                .await;
            if status.is_some_and(|s| s.is_server_error()) {
                self.renew_connections();
            }
            let mut failure = match outcome {
                Ok(value) => match error_envelope(operation, status, value.into_inner()) {
                    Ok(value) => return Ok(value),
                    Err(error) => Failure {
                        error,
                        retryable: false,
                        retry_after: None,
                    },
                },
                Err(err) => {
                    let limit = body_limit(self.max_response_bytes, status);
                    classify(operation, idempotency, err, status, limit).await
                }
            };
            if let Some(secret) = self.secret() {
                failure.error.redact(secret);
            }
            if !failure.retryable || attempt >= policy.max_retries {
                return Err(failure.error);
            }
            let delay = match failure.retry_after {
                Some(wait) if wait > policy.max_retry_after => return Err(failure.error),
                Some(wait) => wait,
                None => policy.delay(attempt),
            };
            tokio::time::sleep(delay).await;
            attempt += 1;
        }
    }
}

/// A success answer as the generated code decoded it: an envelope whose `code` (the HTTP
/// status again) and `message` are checked, or an answer without one.
pub(crate) trait Answer {
    /// The envelope's `code` and `message`; `None` for an answer that has no `code`
    /// (`/product/chat/complete`, `/product/scheduler/wait`, `/health`, event streams).
    fn envelope(&self) -> Option<(i64, &str)>;
}

/// A 2xx answer whose envelope says the request failed (`{"code": 500, "message": ...}`):
/// an error, not a success. For an add it means the record may or may not be stored, so it
/// is an [`Error::InvalidResponse`], which [`Error::may_have_been_applied`] counts as in
/// doubt, never an acknowledgement.
fn error_envelope<T: Answer>(
    operation: &'static str,
    status: Option<StatusCode>,
    value: T,
) -> Result<T> {
    let Some((code, message)) = value.envelope() else {
        return Ok(value);
    };
    if (200..300).contains(&code) {
        return Ok(value);
    }
    let message = crate::text::one_line(message, 300);
    Err(Error::InvalidResponse {
        operation,
        status,
        reason: format!("it is an error envelope, code {code}: {message}"),
        body_start: String::new(),
    })
}

/// A failed try: the error to report and whether another try may help.
struct Failure {
    error: Error,
    retryable: bool,
    retry_after: Option<Duration>,
}

/// `status` is the status of the response, when one arrived; `limit` the cap its body had.
async fn classify<E: Into<types::ErrorBody>>(
    operation: &'static str,
    idempotency: Idempotency,
    err: progenitor_client::Error<E>,
    status: Option<StatusCode>,
    limit: u64,
) -> Failure {
    let final_error = |error| Failure {
        error,
        retryable: false,
        retry_after: None,
    };
    match err {
        progenitor_client::Error::InvalidRequest(reason)
        | progenitor_client::Error::Custom(reason) => {
            final_error(Error::InvalidRequest { operation, reason })
        }
        progenitor_client::Error::CommunicationError(source)
        | progenitor_client::Error::InvalidUpgrade(source) => Failure {
            retryable: retry::is_retryable_transport(&source, idempotency),
            error: Error::Transport { operation, source },
            retry_after: None,
        },
        progenitor_client::Error::ResponseBodyError(source) => {
            body_failure(operation, idempotency, source, status, limit)
        }
        progenitor_client::Error::ErrorResponse(response) => {
            let status = response.status();
            final_error(Error::from_error_body(
                operation,
                status,
                response.into_inner().into(),
            ))
        }
        progenitor_client::Error::InvalidResponsePayload(body, source) => match status {
            // A documented error status whose body is not the spec's error body (a proxy's
            // HTML page): an API error like any other, with the body as its message. None of
            // the documented error statuses is worth a retry.
            Some(status) if !status.is_success() => {
                final_error(Error::from_body(operation, status, &body))
            }
            _ => final_error(Error::InvalidResponse {
                operation,
                status,
                reason: invalid_reason(&body, &source),
                body_start: body_start(&body),
            }),
        },
        progenitor_client::Error::UnexpectedResponse(response) => {
            let status = response.status();
            let retry_after = retry::retry_after(response.headers());
            if status.is_redirection() {
                return final_error(Error::Redirect {
                    operation,
                    status,
                    location: redirect_target(response.url(), response.headers()),
                });
            }
            let body = match response.bytes().await {
                Ok(body) => body,
                Err(source) => {
                    let mut failure =
                        body_failure(operation, idempotency, source, Some(status), limit);
                    failure.retryable = false;
                    return failure;
                }
            };
            if status.is_success() {
                return final_error(Error::InvalidResponse {
                    operation,
                    status: Some(status),
                    reason: format!("status {status} is not documented for this operation"),
                    body_start: body_start(&body),
                });
            }
            Failure {
                retryable: retry::is_retryable_answer(status, retry_after.is_some(), idempotency),
                error: Error::from_body(operation, status, &body).with_retry_after(retry_after),
                retry_after,
            }
        }
    }
}

/// A body that could not be read after the answer's head arrived. Too large or stalled: the
/// server answered and would answer the same again, so no retry. Broken off: an idempotent
/// request may go again.
fn body_failure(
    operation: &'static str,
    idempotency: Idempotency,
    source: reqwest::Error,
    status: Option<StatusCode>,
    limit: u64,
) -> Failure {
    if crate::limit::is_over_limit(&source) {
        return Failure {
            error: Error::ResponseTooLarge {
                operation,
                status,
                limit,
            },
            retryable: false,
            retry_after: None,
        };
    }
    Failure {
        retryable: idempotency == Idempotency::Idempotent && !source.is_timeout(),
        error: Error::Transport { operation, source },
        retry_after: None,
    }
}

/// Why a success answer's body was rejected; says so when it is an error envelope (a server
/// that answers 200 with `{"code": 500, "message": ...}`).
fn invalid_reason(body: &[u8], source: &serde_json::Error) -> String {
    if let Ok(envelope) = serde_json::from_slice::<types::ErrorBody>(body) {
        if let (Some(code), Some(message)) = (envelope.code, envelope.message.as_deref()) {
            if code != 200 {
                return format!(
                    "it is an error envelope, code {code}: {}",
                    crate::text::one_line(message, 300)
                );
            }
        }
    }
    crate::text::one_line(&source.to_string(), 300)
}

/// Where a redirect points, resolved against the request's URL, without credentials, query
/// or fragment (a signed URL or token may sit in either).
fn redirect_target(from: &url::Url, headers: &HeaderMap) -> Option<String> {
    let value = headers.get(LOCATION)?.to_str().ok()?;
    let Ok(mut target) = from.join(value) else {
        return Some(crate::text::one_line(value, 200));
    };
    let _ = target.set_username("");
    let _ = target.set_password(None);
    let had_query = target.query().is_some();
    target.set_query(None);
    target.set_fragment(None);
    let shown = if had_query {
        format!("{target}?…")
    } else {
        target.to_string()
    };
    Some(crate::text::one_line(&shown, 300))
}

/// Turns a caller's value into a request body, before anything is sent.
pub(crate) fn body<T, B>(operation: &'static str, value: B) -> Result<T>
where
    B: TryInto<T>,
    B::Error: fmt::Display,
{
    value.try_into().map_err(|err| Error::InvalidRequest {
        operation,
        reason: err.to_string(),
    })
}

/// Refuses a path parameter that cannot be sent as one path segment, before anything is sent.
/// An empty value leaves the URL ending in `/` (or holding `//`); `.` or `..` are removed
/// as dot segments when the URL is parsed; a `\` is not percent-encoded by the generated
/// code and URL parsers read it as `/` in http URLs. Each sends the request to another path,
/// which the server may redirect (`307`, a trailing slash) to another operation:
/// `delete_memory(cube, "\\..")` would end as `DELETE /memories/{cube}` and delete every
/// memory of the cube.
///
/// Rather than list such characters, the check encodes the value as the generated code does
/// and asks the URL parser whether it stays exactly one segment, unchanged.
pub(crate) fn path_param(operation: &'static str, name: &str, value: &str) -> Result<()> {
    let encoded = progenitor_client::encode_path(value);
    let path = format!("/a/{encoded}/b");
    let stays = !value.is_empty()
        && url::Url::parse(&format!("http://h{path}")).is_ok_and(|url| url.path() == path);
    if !stays {
        return Err(Error::InvalidRequest {
            operation,
            reason: format!(
                "`{name}` must not be empty, `.` or `..`, nor contain `\\` (got {:?}): \
                 it would send the request to another path",
                crate::text::one_line(value, 100)
            ),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn path_parameters_that_would_change_the_path_are_refused() {
        for bad in ["", ".", "..", "\\", "\\..", "..\\", "a\\b", "\\\\"] {
            let err = path_param("delete_memory", "memory_id", bad).unwrap_err();
            assert!(matches!(err, Error::InvalidRequest { .. }), "{bad:?}");
        }
        for good in [
            "notes", "a b", "über", "a/b", "%2e%2e", ".%2e", "...", ".a", "a?b#c", "a;b", "\t",
            "~user", "a\tb", "a\nb",
        ] {
            assert!(
                path_param("delete_memory", "memory_id", good).is_ok(),
                "{good:?}"
            );
        }
    }

    #[test]
    fn a_redirect_target_keeps_no_credentials_or_query() {
        let from = url::Url::parse("http://127.0.0.1:8000/users").unwrap();
        let mut headers = HeaderMap::new();
        headers.insert(
            LOCATION,
            HeaderValue::from_static("https://u:p@evil.example/x?token=abc#f"),
        );
        assert_eq!(
            redirect_target(&from, &headers).as_deref(),
            Some("https://evil.example/x?…")
        );
        headers.insert(LOCATION, HeaderValue::from_static("/users/"));
        assert_eq!(
            redirect_target(&from, &headers).as_deref(),
            Some("http://127.0.0.1:8000/users/")
        );
        assert_eq!(redirect_target(&from, &HeaderMap::new()), None);
    }
}

/// Properties of decoding whatever a server sends: no panic, a typed error, bounded text.
#[cfg(test)]
mod properties {
    use super::*;
    use crate::error::{MAX_DETAILS, MAX_MESSAGE_CHARS};
    use proptest::prelude::*;

    /// The longest an error's `Display` may be: a bounded message, at most `MAX_DETAILS`
    /// bounded issues, and the hints.
    const MAX_DISPLAY_CHARS: usize = 40_000;

    fn json_value() -> impl Strategy<Value = serde_json::Value> {
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::from),
            any::<i64>().prop_map(serde_json::Value::from),
            any::<f64>().prop_map(serde_json::Value::from),
            ".{0,40}".prop_map(serde_json::Value::from),
        ];
        leaf.prop_recursive(4, 64, 8, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..8).prop_map(serde_json::Value::from),
                prop::collection::btree_map("[a-z_]{0,8}", inner, 0..8)
                    .prop_map(|map| serde_json::Value::Object(map.into_iter().collect())),
            ]
        })
    }

    /// A body shaped like an error envelope, a validation error, or anything at all.
    fn error_body() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            (json_value(), json_value(), json_value()).prop_map(|(code, message, detail)| {
                serde_json::json!({"code": code, "message": message, "detail": detail})
                    .to_string()
                    .into_bytes()
            }),
            prop::collection::vec(json_value(), 0..30).prop_map(|issues| {
                let issues: Vec<_> = issues
                    .into_iter()
                    .map(|input| {
                        serde_json::json!({"loc": ["body", "x"], "msg": "bad", "type": "t", "input": input})
                    })
                    .collect();
                serde_json::json!({ "detail": issues }).to_string().into_bytes()
            }),
            json_value().prop_map(|value| value.to_string().into_bytes()),
            prop::collection::vec(any::<u8>(), 0..512),
        ]
    }

    fn check_bounded(err: &Error) -> std::result::Result<(), TestCaseError> {
        prop_assert!(err.operation().is_some());
        prop_assert!(err.to_string().chars().count() <= MAX_DISPLAY_CHARS);
        if let Some(message) = err.message() {
            prop_assert!(message.chars().count() <= MAX_MESSAGE_CHARS + 1);
        }
        prop_assert!(err.validation_details().len() <= MAX_DETAILS);
        Ok(())
    }

    /// Runs an answer through the client as the generated code and [`Core::send`] would:
    /// the body capped, `from_response` for the statuses the spec documents, and the
    /// failure classified.
    fn decode(status: u16, body: Vec<u8>, max: u64) -> Option<Error> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        runtime.block_on(async move {
            let status = StatusCode::from_u16(status).expect("a valid status");
            let response =
                reqwest::Response::from(http::Response::builder().status(status).body(body).ok()?);
            let limit = body_limit(max, Some(status));
            let response = crate::limit::limit_body(response, limit);
            let outcome: std::result::Result<ResponseValue<types::UserListResponse>, RawError> =
                match status.as_u16() {
                    200 => ResponseValue::from_response(response).await,
                    400 | 422 | 500 => match ResponseValue::from_response(response).await {
                        Ok(body) => Err(RawError::ErrorResponse(body)),
                        Err(err) => Err(err),
                    },
                    _ => Err(RawError::UnexpectedResponse(response)),
                };
            match outcome {
                Ok(_) => None,
                Err(err) => Some(
                    classify(
                        "list_users",
                        Idempotency::Idempotent,
                        err,
                        Some(status),
                        limit,
                    )
                    .await
                    .error,
                ),
            }
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(96))]

        #[test]
        fn any_answer_decodes_to_a_value_or_a_bounded_typed_error(
            status in 200u16..600,
            body in prop_oneof![error_body(), prop::collection::vec(any::<u8>(), 0..2048)],
            max in prop_oneof![Just(16u64), Just(1024u64), Just(DEFAULT_MAX_RESPONSE_BYTES)],
        ) {
            let len = body.len() as u64;
            if let Some(err) = decode(status, body, max) {
                check_bounded(&err)?;
                let limit = body_limit(max, StatusCode::from_u16(status).ok());
                if len > limit {
                    prop_assert!(
                        matches!(err, Error::ResponseTooLarge { .. } | Error::Redirect { .. }),
                        "{err:?}"
                    );
                }
            }
        }

        #[test]
        fn error_bodies_of_any_shape_decode_to_a_bounded_api_error(
            status in prop_oneof![400u16..500, 500u16..600],
            body in error_body(),
        ) {
            let status = StatusCode::from_u16(status).unwrap();
            let err = Error::from_body("list_users", status, &body);
            prop_assert!(matches!(err, Error::Api { .. }), "{:?}", err);
            prop_assert_eq!(err.status(), Some(status));
            check_bounded(&err)?;
        }

        #[test]
        fn an_echoed_secret_never_shows_whole_or_cut(
            secret in "[A-Z0-9]{8,24}",
            // Anywhere, and where each bound (60, 300 and 2000 characters) cuts the secret.
            before_len in prop_oneof![
                0usize..2100,
                MAX_MESSAGE_CHARS - 31..MAX_MESSAGE_CHARS - 7,
                269usize..293,
                29usize..53,
            ],
            after in "[a-z ]{0,50}",
            in_details in any::<bool>(),
        ) {
            let before = "ab".repeat(before_len / 2 + 1)[..before_len].to_owned();
            let echoed = format!("{before}Bearer {secret}{after}");
            let body = if in_details {
                serde_json::json!({"detail": [{
                    "loc": ["header", echoed], "msg": echoed, "type": "t",
                    "input": {echoed.clone(): [echoed.clone()]}, "ctx": {echoed.clone(): echoed},
                }]})
            } else {
                serde_json::json!({"code": 401, "message": echoed})
            };
            let mut err = Error::from_body(
                "list_users",
                StatusCode::UNAUTHORIZED,
                body.to_string().as_bytes(),
            );
            err.redact(&secret);
            for shown in [err.to_string(), format!("{err:?}")] {
                prop_assert!(!shown.contains(&secret[..4]), "{}", shown);
            }
        }
    }
}
