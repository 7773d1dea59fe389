//! [`Client`] (public as `memos_api::product::Client`): the hand-written layer of
//! [`Client`](crate::v1::Client) around the
//! generated client of the `/product` API ([`crate::product::raw`]).
//!
//! It shares everything with the v1 client ([`ClientBuilder`] options, credentials,
//! timeouts, the body cap, retries, [`Error`] with redaction); what is its own is the table
//! of which operations are retried (`RETRY_RULES`, generated from the spec), how the `/product` envelope's
//! exceptions surface (see [`Client`]), and the event streams.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use futures::future::FutureExt as _;
use progenitor_client::{ByteStream, ClientHooks, ClientInfo, OperationInfo};
use reqwest::StatusCode;

use crate::builder::{Generated, HttpSettings};
use crate::core::{body, exec_capped, path_param, record_status, Answer, Core, RawResult};
use crate::product::raw::{self as generated, types};
use crate::retry::idempotency;
use crate::{ClientBuilder, Error, EventStream, Result, Secret};

/// The server's own wait in `scheduler_wait` when the caller gives none (its default).
const SCHEDULER_WAIT_DEFAULT: Duration = Duration::from_secs(120);

/// The generated client twice over one set of settings: one for JSON answers, whose
/// timeout covers the whole exchange, and one for event streams, which may run as long as
/// events keep coming.
pub(crate) struct ProductRaw {
    json: generated::Client,
    streaming: generated::Client,
}

impl Generated for ProductRaw {
    fn connect(http: &HttpSettings, base_url: &str) -> Result<Self> {
        Ok(ProductRaw {
            json: generated::Client::new_with_client(base_url, http.http_client()?),
            streaming: generated::Client::new_with_client(base_url, http.streaming_client()?),
        })
    }
}

/// The same hooks as [`crate::v1::raw::Client`]'s: the body cap (per event for streams) and the
/// status record of `Core::send`.
impl ClientHooks<()> for generated::Client {
    async fn exec(
        &self,
        request: reqwest::Request,
        info: &OperationInfo,
    ) -> reqwest::Result<reqwest::Response> {
        exec_capped(self.client(), request, STREAMS.contains(&info.operation_id)).await
    }

    async fn post<E>(
        &self,
        result: &reqwest::Result<reqwest::Response>,
        _info: &OperationInfo,
    ) -> std::result::Result<(), progenitor_client::Error<E>> {
        record_status(result);
        Ok(())
    }
}

/// The answer of a stream operation: events, without an envelope `code` to check (the JSON
/// answers' `Answer` impls are generated).
impl Answer for ByteStream {
    fn envelope(&self) -> Option<(i64, &str)> {
        None
    }
}

/// The `/product` error body is the v1 one (`{code, message, detail}`), generated a second
/// time from the other spec; [`Error`] keeps the v1 types.
impl From<types::ErrorBody> for crate::v1::types::ErrorBody {
    fn from(body: types::ErrorBody) -> Self {
        crate::v1::types::ErrorBody {
            code: body.code,
            data: body.data,
            detail: body.detail.map(|detail| match detail {
                types::ErrorDetail::Array(issues) => crate::v1::types::ErrorDetail::Array(
                    issues.into_iter().map(Into::into).collect(),
                ),
                types::ErrorDetail::String(text) => crate::v1::types::ErrorDetail::String(text),
            }),
            message: body.message,
        }
    }
}

/// The error body of an operation the spec gives no error answer (`health_check`): never
/// built, since such answers are all unexpected ones.
impl From<()> for crate::v1::types::ErrorBody {
    fn from((): ()) -> Self {
        crate::v1::types::ErrorBody {
            code: None,
            data: None,
            detail: None,
            message: None,
        }
    }
}

impl From<types::ValidationIssue> for crate::v1::types::ValidationIssue {
    fn from(issue: types::ValidationIssue) -> Self {
        crate::v1::types::ValidationIssue {
            ctx: issue.ctx,
            input: issue.input,
            loc: issue
                .loc
                .into_iter()
                .map(|part| match part {
                    types::LocationPart::String(text) => {
                        crate::v1::types::LocationPart::String(text)
                    }
                    types::LocationPart::Integer(n) => crate::v1::types::LocationPart::Integer(n),
                })
                .collect(),
            msg: issue.msg,
            type_: issue.type_,
        }
    }
}

/// A client of the `/product` API (MemoryOS 2.0.33, `openapi/memos-product.yaml`): one
/// method per operation, each returning the envelope's typed `data` and failing with
/// [`Error`], built and behaving like [`Client`](crate::v1::Client) (credentials, timeouts,
/// body cap, retries, redaction).
///
/// ```no_run
/// use futures::StreamExt as _;
/// use memos_api::product::types::{self, ChatStreamEvent};
/// use memos_api::product::Client;
///
/// # async fn demo() -> memos_api::Result<()> {
/// let client = Client::builder("http://127.0.0.1:8000").build()?;
/// let added = client
///     .add_memories(
///         types::AddRequest::builder()
///             .user_id("alice")
///             .writable_cube_ids(vec!["alice-notes".to_owned()])
///             .messages(types::MessagesInput::Text("I moved to Lisbon in March.".into()))
///             .async_mode(types::AddRequestAsyncMode::Sync),
///     )
///     .await?;
/// for item in &added {
///     // A feedback-mode add (`is_feedback`) answers the feedback's result instead.
///     if let types::AddResult::AddedMemory(memory) = item {
///         println!("stored {}", memory.memory_id);
///     }
/// }
///
/// let mut events = client
///     .chat_stream(types::ChatRequest::builder().user_id("alice").query("Where do I live?"))
///     .await?;
/// while let Some(event) = events.next().await {
///     if let ChatStreamEvent::TextEvent(text) = event? {
///         print!("{}", text.data);
///     }
/// }
/// # Ok(())
/// # }
/// ```
///
/// # Answers that are not plain envelopes
///
/// * `chat_complete` and `scheduler_wait` answer without `code`: their `data` is returned
///   as is.
/// * `health_check` is not an envelope: its status object is returned.
/// * `get_memory` answers a missing id with 200, `data: null` and a "not found" message:
///   `Ok(None)`. (On 2.0.33 every memory outside the internal cube `memos_default` is
///   missing this way; [`get_memories`](Self::get_memories) lists them.)
/// * `delete_memories` answers an input error with 200 and `data.status: "failure"`, the
///   reason in `message`: [`Error::ReportedFailure`] with that message.
///   [`Error::may_have_been_applied`] is true, because 2.0.33 also reports a failure after
///   a filter-mode delete that deleted.
/// * A 422 is an envelope with `detail`: [`Error::Api`] with the one-line `message` and
///   the field problems in [`Error::validation_details`].
/// * A 404 or 405 of a path no route serves is Starlette's `{"detail": "..."}`:
///   [`Error::Api`] with the `detail` as its message.
/// * A success status with an envelope `code` that is not 2xx is [`Error::InvalidResponse`],
///   as for v1.
///
/// # Retries
///
/// As for [`Client`](crate::v1::Client), but most reads here are POSTs: whether an operation
/// is retried after the server may have seen it is decided per operation, by a table
/// (reads, searches, scheduler status and health are; adds, deletes, feedback, chat and
/// cube creation are not). A stream is retried only until its answer's head arrives.
///
/// # Streams
///
/// The chat streams and `scheduler_wait_stream` return an [`EventStream`] of typed events.
/// They run without the total timeout: a stream fails only when no bytes arrive for the
/// idle timeout ([`ClientBuilder::stream_idle_timeout`], by default the client's
/// timeout). Each event is capped at [`ClientBuilder::max_event_bytes`] (4 MiB by default, never
/// more than [`ClientBuilder::max_response_bytes`]), and so are the bytes between two
/// events; the stream as a whole is bounded only by the limits set on it
/// ([`EventStream::deadline`], [`EventStream::max_events`]).
#[derive(Clone)]
pub struct Client {
    inner: Arc<Core<ProductRaw>>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.debug_as("ProductClient", f)
    }
}

impl ClientBuilder<Client> {
    /// The longest a stream may go without receiving any bytes, from sending the request
    /// to its head and between events (default: the [`timeout`](Self::timeout)). Streams
    /// have no total timeout.
    pub fn stream_idle_timeout(self, timeout: Duration) -> Self {
        self.set_idle_timeout(Some(timeout))
    }

    /// The largest event a stream accepts, in bytes, and the most bytes it accepts between
    /// two events (blank lines, comments, events without data): default
    /// [`DEFAULT_MAX_EVENT_BYTES`](crate::DEFAULT_MAX_EVENT_BYTES), 4 MiB, and never more than
    /// [`max_response_bytes`](Self::max_response_bytes). Past it the stream ends with an
    /// error.
    pub fn max_event_bytes(self, bytes: u64) -> Self {
        self.set_max_event_bytes(bytes)
    }

    /// Builds the client. Fails on a base URL that is not an absolute http(s) URL or on a
    /// credential that cannot be sent in a header.
    pub fn build(self) -> Result<Client> {
        Ok(Client {
            inner: Arc::new(self.core()?),
        })
    }
}

impl Client {
    /// Starts building a client for the server at `base_url`, e.g. `http://127.0.0.1:8000`
    /// (without `/product`: the operations' paths carry it).
    ///
    /// ```no_run
    /// use std::time::Duration;
    ///
    /// use memos_api::product::Client;
    ///
    /// # async fn demo() -> memos_api::Result<()> {
    /// let client = Client::builder("http://127.0.0.1:8000")
    ///     .api_key(std::env::var("MEMOS_API_KEY").unwrap_or_default())
    ///     .timeout(Duration::from_secs(30))
    ///     .stream_idle_timeout(Duration::from_secs(120))
    ///     .build()?;
    /// println!("{:?}", client.health_check().await?);
    /// # Ok(())
    /// # }
    /// ```
    pub fn builder(base_url: impl Into<String>) -> ClientBuilder<Client> {
        ClientBuilder::new(base_url.into())
    }

    /// A client with the default settings and no credentials.
    pub fn new(base_url: impl Into<String>) -> Result<Self> {
        Self::builder(base_url).build()
    }

    /// The base URL requests go to.
    pub fn base_url(&self) -> &str {
        self.inner.base_url()
    }

    /// Whether the client sends a credential over plain `http://` to a host that is not
    /// loopback (see [`Client::credential_in_cleartext`](crate::v1::Client::credential_in_cleartext)).
    pub fn credential_in_cleartext(&self) -> bool {
        self.inner.credential_in_cleartext()
    }

    /// A warning for people when [`Client::credential_in_cleartext`] holds.
    pub fn cleartext_warning(&self) -> Option<String> {
        self.inner.cleartext_warning()
    }

    /// The generated client (the one whose timeout covers each whole exchange), for direct
    /// access to every response detail. Its calls are not retried and fail with
    /// progenitor's error type.
    pub fn raw(&self) -> generated::Client {
        self.inner.raw().json.clone()
    }

    /// Sends a request built by `make`, retried as [`RETRY_RULES`] (from the spec) says for
    /// `operation`.
    async fn send<T, E, F>(&self, operation: &'static str, make: F) -> Result<T>
    where
        F: for<'a> FnMut(&'a ProductRaw) -> RawResult<'a, T, E>,
        T: Answer,
        E: Into<crate::v1::types::ErrorBody>,
    {
        self.inner
            .send(operation, idempotency(&RETRY_RULES, operation), None, make)
            .await
    }

    /// Turns the body of a stream operation's answer into typed events, each capped at the
    /// client's event cap.
    fn events<T: serde::de::DeserializeOwned>(
        &self,
        operation: &'static str,
        body: ByteStream,
    ) -> EventStream<T> {
        let secret = self.inner.secret().map(Secret::new);
        EventStream::new(operation, body, self.inner.max_event_bytes(), secret)
    }

    /// `POST /product/get_memory` for the text memories of one cube: the other buckets are
    /// not asked for (on 2.0.33 they repeat the text memories), and entries of other cubes
    /// are left out. `user_id` is sent for the intended contract; 2.0.33 ignores it.
    pub async fn get_text_memories(
        &self,
        cube_id: &str,
        user_id: Option<&str>,
    ) -> Result<Vec<types::CubeMemories>> {
        let buckets = self
            .get_memories(types::GetMemoryRequest {
                filter: None,
                include_preference: false,
                include_skill_memory: false,
                include_tool_memory: false,
                mem_cube_id: cube_id.to_owned(),
                page: None,
                page_size: None,
                user_id: user_id.map(str::to_owned),
            })
            .await?;
        Ok(buckets
            .text_mem
            .into_iter()
            .filter(|entry| entry.cube_id.as_deref() == Some(cube_id))
            .collect())
    }

    /// `GET /product/get_memory/{memory_id}`: one memory, or `None` when the server says
    /// no memory has the id (a 200 with `data: null`). See the type's docs for the
    /// 2.0.33 defect that makes most memories `None`.
    pub async fn get_memory(&self, memory_id: &str) -> Result<Option<types::MemoryItem>> {
        path_param("get_memory", "memory_id", memory_id)?;
        self.send("get_memory", |raw| {
            raw.json.get_memory().memory_id(memory_id).send().boxed()
        })
        .await
        .map(|envelope| match envelope.data {
            types::MemoryItemResponseData::MemoryItem(item) => Some(item),
            types::MemoryItemResponseData::NullValue(_) => None,
        })
    }

    /// `POST /product/get_memory_by_ids`: the memories with these ids (unknown ids are left
    /// out).
    pub async fn get_memories_by_ids<I, S>(&self, ids: I) -> Result<Vec<types::MemoryItem>>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let ids = types::MemoryIds(ids.into_iter().map(Into::into).collect());
        self.send("get_memories_by_ids", |raw| {
            raw.json
                .get_memories_by_ids()
                .body(ids.clone())
                .send()
                .boxed()
        })
        .await
        .map(|envelope| envelope.data.memories)
    }

    /// `POST /product/delete_memory`: deletes the memories the request selects. A 200
    /// whose `data.status` is `failure` is [`Error::ReportedFailure`] with the server's
    /// reason. Never retried once the server may have received it.
    pub async fn delete_memories<B>(&self, request: B) -> Result<()>
    where
        B: TryInto<types::DeleteMemoryRequest>,
        B::Error: fmt::Display,
    {
        let request: types::DeleteMemoryRequest = body("delete_memories", request)?;
        let envelope = self
            .send("delete_memories", |raw| {
                raw.json
                    .delete_memories()
                    .body(request.clone())
                    .send()
                    .boxed()
            })
            .await?;
        match envelope.data.status {
            types::DeleteStatusStatus::Success => Ok(()),
            types::DeleteStatusStatus::Failure => {
                let mut error =
                    Error::reported_failure("delete_memories", StatusCode::OK, &envelope.message);
                if let Some(secret) = self.inner.secret() {
                    error.redact(secret);
                }
                Err(error)
            }
        }
    }

    /// `POST /product/exist_mem_cube_id`: the cube id mapped to whether it exists.
    pub async fn exist_mem_cube_id(&self, cube_id: &str) -> Result<types::CubeExistence> {
        let request = types::ExistMemCubeIdRequest {
            mem_cube_id: cube_id.to_owned(),
        };
        self.send("exist_mem_cube_id", |raw| {
            raw.json
                .exist_mem_cube_id()
                .body(request.clone())
                .send()
                .boxed()
        })
        .await
        .map(|envelope| envelope.data)
    }

    /// `POST /product/chat/stream`: the chat's events as the model writes. Errors before
    /// the stream starts (503 when chat is off, 422, ...) are the call's error.
    pub async fn chat_stream<B>(&self, request: B) -> Result<EventStream<types::ChatStreamEvent>>
    where
        B: TryInto<types::ChatRequest>,
        B::Error: fmt::Display,
    {
        let request: types::ChatRequest = body("chat_stream", request)?;
        let stream = self
            .send("chat_stream", |raw| {
                raw.streaming
                    .chat_stream()
                    .body(request.clone())
                    .send()
                    .boxed()
            })
            .await?;
        Ok(self.events("chat_stream", stream))
    }

    /// `POST /product/chat/stream/playground`: the playground's chat stream.
    pub async fn chat_stream_playground<B>(
        &self,
        request: B,
    ) -> Result<EventStream<types::ChatStreamEvent>>
    where
        B: TryInto<types::ChatPlaygroundRequest>,
        B::Error: fmt::Display,
    {
        let request: types::ChatPlaygroundRequest = body("chat_stream_playground", request)?;
        let stream = self
            .send("chat_stream_playground", |raw| {
                raw.streaming
                    .chat_stream_playground()
                    .body(request.clone())
                    .send()
                    .boxed()
            })
            .await?;
        Ok(self.events("chat_stream_playground", stream))
    }

    /// `POST /product/chat/stream/business_user`: the business users' chat stream.
    pub async fn chat_stream_business_user<B>(
        &self,
        request: B,
    ) -> Result<EventStream<types::ChatStreamEvent>>
    where
        B: TryInto<types::ChatBusinessRequest>,
        B::Error: fmt::Display,
    {
        let request: types::ChatBusinessRequest = body("chat_stream_business_user", request)?;
        let stream = self
            .send("chat_stream_business_user", |raw| {
                raw.streaming
                    .chat_stream_business_user()
                    .body(request.clone())
                    .send()
                    .boxed()
            })
            .await?;
        Ok(self.events("chat_stream_business_user", stream))
    }

    /// `POST /product/scheduler/wait`: waits until the user's tasks are done or `timeout`
    /// (the server's default: 120 s) passes, polling every `poll_interval`. Each try may
    /// take the wait on top of the client's timeout.
    pub async fn scheduler_wait(
        &self,
        user_name: &str,
        timeout: Option<Duration>,
        poll_interval: Option<Duration>,
    ) -> Result<types::SchedulerWaitData> {
        let wait = timeout.unwrap_or(SCHEDULER_WAIT_DEFAULT);
        let try_timeout = self.inner.timeout().saturating_add(wait);
        self.inner
            .send(
                "scheduler_wait",
                idempotency(&RETRY_RULES, "scheduler_wait"),
                Some(try_timeout),
                |raw: &ProductRaw| {
                    let mut request = raw.json.scheduler_wait().user_name(user_name);
                    if let Some(timeout) = timeout {
                        request = request.timeout_seconds(timeout.as_secs_f64());
                    }
                    if let Some(interval) = poll_interval {
                        request = request.poll_interval(interval.as_secs_f64());
                    }
                    request.send().boxed()
                },
            )
            .await
            .map(|answer| answer.data)
    }

    /// `GET /product/scheduler/wait/stream`: the user's task progress until done, as
    /// events.
    pub async fn scheduler_wait_stream(
        &self,
        user_name: &str,
        timeout: Option<Duration>,
        poll_interval: Option<Duration>,
    ) -> Result<EventStream<types::SchedulerProgressEvent>> {
        let stream = self
            .send("scheduler_wait_stream", |raw| {
                let mut request = raw.streaming.scheduler_wait_stream().user_name(user_name);
                if let Some(timeout) = timeout {
                    request = request.timeout_seconds(timeout.as_secs_f64());
                }
                if let Some(interval) = poll_interval {
                    request = request.poll_interval(interval.as_secs_f64());
                }
                request.send().boxed()
            })
            .await?;
        Ok(self.events("scheduler_wait_stream", stream))
    }
}

/// The generated client that answers JSON, whose timeout covers the whole exchange.
fn json(raw: &ProductRaw) -> &generated::Client {
    &raw.json
}

// One method per operation of `openapi/memos-product.yaml` that has no `x-memos-wrapper:
// hand-written`, the `Answer` impls of its JSON answers, `RETRY_RULES` and `STREAMS`,
// generated by `memos_codegen::generate_methods` (review copy:
// `memos-api/generated/product_methods.rs`).
include!(concat!(env!("OUT_DIR"), "/generated_product_methods.rs"));

#[cfg(test)]
mod tests {
    use super::*;
    use crate::retry::Idempotency::{Idempotent, NonIdempotent};

    #[test]
    fn the_four_event_streams_are_known_as_streams() {
        let mut streams = STREAMS;
        streams.sort_unstable();
        assert_eq!(
            streams,
            [
                "chat_stream",
                "chat_stream_business_user",
                "chat_stream_playground",
                "scheduler_wait_stream",
            ]
        );
    }

    #[test]
    fn state_changing_operations_are_never_retried_after_the_server_may_have_seen_them() {
        for operation in [
            "add_memories",
            "delete_memories",
            "feedback_memories",
            "chat_complete",
            "chat_stream",
            "chat_stream_playground",
            "chat_stream_business_user",
            "create_cube",
        ] {
            assert_eq!(
                idempotency(&RETRY_RULES, operation),
                NonIdempotent,
                "{operation}"
            );
        }
        assert_eq!(idempotency(&RETRY_RULES, "search_memories"), Idempotent);
        assert_eq!(
            idempotency(&RETRY_RULES, "no_such_operation"),
            NonIdempotent
        );
    }

    #[test]
    fn a_product_error_body_keeps_its_details() {
        let body: types::ErrorBody = serde_json::from_value(serde_json::json!({
            "code": 422,
            "message": "Parameter validation error on POST /product/search: [body -> query] Field required (type: missing)",
            "detail": [{"type": "missing", "loc": ["body", "query", 0], "msg": "Field required", "input": {"user_id": "alice"}}],
            "data": null
        }))
        .unwrap();
        let converted: crate::v1::types::ErrorBody = body.into();
        let err = Error::from_error_body(
            "search_memories",
            StatusCode::UNPROCESSABLE_ENTITY,
            converted,
        );
        assert_eq!(err.code(), Some(422));
        assert!(err.message().unwrap().contains("[body -> query]"));
        let issue = &err.validation_details()[0];
        assert_eq!(issue.kind(), "missing");
        assert_eq!(issue.location(), ["body", "query", "0"]);
    }
}
