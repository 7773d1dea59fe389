//! [`ProductClient`]: the hand-written layer of [`Client`](crate::Client) around the
//! generated client of the `/product` API ([`crate::product`]).
//!
//! It shares everything with the v1 client ([`ClientBuilder`] options, credentials,
//! timeouts, the body cap, retries, [`Error`] with redaction); what is its own is the table
//! of which operations are retried ([`RETRY_TABLE`]), how the `/product` envelope's
//! exceptions surface (see [`ProductClient`]), and the event streams.

use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use futures::future::FutureExt as _;
use futures::{Stream, StreamExt as _};
use progenitor_client::{ByteStream, ClientHooks, ClientInfo, OperationInfo};
use reqwest::StatusCode;
use serde::de::DeserializeOwned;

use crate::builder::{Generated, HttpSettings};
use crate::core::{
    body, envelope, exec_capped, path_param, record_status, Answer, Core, RawResult,
};
use crate::product::{self, types};
use crate::product_events::EventError;
use crate::retry::Idempotency::{self, Idempotent, NonIdempotent};
use crate::{ClientBuilder, Error, Result, Secret};

/// Every operation of the `/product` API and whether the client may send it again after
/// the server may have seen it (a 502, 503 or 504 without `Retry-After`, a broken
/// connection, a timeout before the answer's head).
///
/// `NonIdempotent` operations are sent again only when the answer proves that the server
/// did not take them (a refused connection, a 429 or 503 with `Retry-After`). Most reads of
/// this API are POSTs, so the method alone cannot tell; this table does.
pub(crate) const RETRY_TABLE: [(&str, Idempotency); 26] = [
    // Memories.
    ("add_memories", NonIdempotent), // stores memories: twice would store twice
    ("get_memories", Idempotent),    // POST, reads a cube
    ("get_memory", Idempotent),
    ("get_memories_by_ids", Idempotent),  // POST, reads
    ("get_all_memories", Idempotent),     // POST, reads
    ("delete_memories", NonIdempotent),   // a filter or session delete may reach new memories
    ("get_memory_dashboard", Idempotent), // POST, reads
    ("search_memories", Idempotent),      // POST, reads
    // Cubes.
    ("create_cube", NonIdempotent), // a second create of the same id answers 500
    ("register_cube", NonIdempotent),
    ("exist_mem_cube_id", Idempotent), // POST, reads
    // Internal operations.
    ("get_user_names_by_memory_ids", Idempotent), // POST, reads
    ("delete_memory_by_record_id", NonIdempotent),
    ("recover_memory_by_record_id", NonIdempotent),
    // Chat: each adds the exchange to memory (`add_message_on_answer`).
    ("chat_complete", NonIdempotent),
    ("chat_stream", NonIdempotent),
    ("chat_stream_playground", NonIdempotent),
    ("chat_stream_business_user", NonIdempotent),
    // Feedback.
    ("get_suggestions", Idempotent), // POST, asks the LLM, stores nothing
    ("feedback_memories", NonIdempotent), // corrects, adds or archives memories
    // Scheduler: reads of the task queue.
    ("scheduler_all_status", Idempotent),
    ("scheduler_status", Idempotent),
    ("scheduler_task_queue_status", Idempotent),
    ("scheduler_wait", Idempotent), // POST, waits and reads
    ("scheduler_wait_stream", Idempotent),
    // Health.
    ("health_check", Idempotent),
];

/// The operations that answer server-sent events: their success bodies are not capped as a
/// whole but event by event, and they run without a total timeout.
const STREAMS: [&str; 4] = [
    "chat_stream",
    "chat_stream_playground",
    "chat_stream_business_user",
    "scheduler_wait_stream",
];

/// How `operation` is retried; an operation missing from [`RETRY_TABLE`] is never sent
/// twice (a unit test keeps the table complete).
fn idempotency(operation: &str) -> Idempotency {
    RETRY_TABLE
        .iter()
        .find(|(name, _)| *name == operation)
        .map_or(NonIdempotent, |(_, idempotency)| *idempotency)
}

/// The server's own wait in `scheduler_wait` when the caller gives none (its default).
const SCHEDULER_WAIT_DEFAULT: Duration = Duration::from_secs(120);

/// A `Stream` of a `/product` stream operation's typed events. It ends after the last
/// event, or after its first error: a broken or stalled connection ([`Error::Transport`]),
/// an event larger than the client's cap ([`Error::ResponseTooLarge`]), or a body or event
/// that is not what the spec describes ([`Error::InvalidResponse`]).
pub type EventStream<T> = Pin<Box<dyn Stream<Item = Result<T>> + Send>>;

/// The generated client twice over one set of settings: one for JSON answers, whose
/// timeout covers the whole exchange, and one for event streams, which may run as long as
/// events keep coming.
pub(crate) struct ProductRaw {
    json: product::Client,
    streaming: product::Client,
}

impl Generated for ProductRaw {
    fn connect(http: &HttpSettings, base_url: &str) -> Result<Self> {
        Ok(ProductRaw {
            json: product::Client::new_with_client(base_url, http.http_client()?),
            streaming: product::Client::new_with_client(base_url, http.streaming_client()?),
        })
    }
}

/// The same hooks as [`crate::raw::Client`]'s: the body cap (per event for streams) and the
/// status record of `Core::send`.
impl ClientHooks<()> for product::Client {
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

envelope!(
    types::AddResponse,
    types::AllStatusResponse,
    types::CreateCubeResponse,
    types::DeleteMemoryResponse,
    types::ExistMemCubeIdResponse,
    types::FeedbackResponse,
    types::MemoryBucketsResponse,
    types::MemoryGraphListResponse,
    types::MemoryItemListResponse,
    types::MemoryItemResponse,
    types::RecordResponse,
    types::RegisterCubeResponse,
    types::SearchResponse,
    types::SuggestionResponse,
    types::TaskQueueResponse,
    types::TaskStatusResponse,
    types::UserNamesResponse,
);

/// Answers without an envelope `code` to check: `chat_complete` and `scheduler_wait` send
/// `{message, data}`, `/health` a status object, the streams events.
macro_rules! no_code {
    ($($answer:ty),* $(,)?) => {$(
        impl Answer for $answer {
            fn envelope(&self) -> Option<(i64, &str)> {
                None
            }
        }
    )*};
}

no_code!(
    types::ChatCompleteResponse,
    types::SchedulerWaitResponse,
    types::Health,
    ByteStream,
);

/// The `/product` error body is the v1 one (`{code, message, detail}`), generated a second
/// time from the other spec; [`Error`] keeps the v1 types.
impl From<types::ErrorBody> for crate::types::ErrorBody {
    fn from(body: types::ErrorBody) -> Self {
        crate::types::ErrorBody {
            code: body.code,
            data: body.data,
            detail: body.detail.map(|detail| match detail {
                types::ErrorDetail::Array(issues) => {
                    crate::types::ErrorDetail::Array(issues.into_iter().map(Into::into).collect())
                }
                types::ErrorDetail::String(text) => crate::types::ErrorDetail::String(text),
            }),
            message: body.message,
        }
    }
}

/// The error body of an operation the spec gives no error answer (`health_check`): never
/// built, since such answers are all unexpected ones.
impl From<()> for crate::types::ErrorBody {
    fn from((): ()) -> Self {
        crate::types::ErrorBody {
            code: None,
            data: None,
            detail: None,
            message: None,
        }
    }
}

impl From<types::ValidationIssue> for crate::types::ValidationIssue {
    fn from(issue: types::ValidationIssue) -> Self {
        crate::types::ValidationIssue {
            ctx: issue.ctx,
            input: issue.input,
            loc: issue
                .loc
                .into_iter()
                .map(|part| match part {
                    types::LocationPart::String(text) => crate::types::LocationPart::String(text),
                    types::LocationPart::Integer(n) => crate::types::LocationPart::Integer(n),
                })
                .collect(),
            msg: issue.msg,
            type_: issue.type_,
        }
    }
}

/// A client of the `/product` API (MemoryOS 2.0.33, `openapi/memos-product.yaml`): one
/// method per operation, each returning the envelope's typed `data` and failing with
/// [`Error`], built and behaving like [`Client`](crate::Client) (credentials, timeouts,
/// body cap, retries, redaction).
///
/// ```no_run
/// use futures::StreamExt as _;
/// use memos_api::product::types::{self, ChatStreamEvent};
/// use memos_api::ProductClient;
///
/// # async fn demo() -> memos_api::Result<()> {
/// let client = ProductClient::builder("http://127.0.0.1:8000").build()?;
/// let added = client
///     .add_memories(
///         types::AddRequest::builder()
///             .user_id("alice")
///             .writable_cube_ids(vec!["alice-notes".to_owned()])
///             .messages(types::MessagesInput::Variant0("I moved to Lisbon in March.".into()))
///             .async_mode(types::AddRequestAsyncMode::Sync),
///     )
///     .await?;
/// println!("stored {}", added[0].memory_id);
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
/// As for [`Client`](crate::Client), but most reads here are POSTs: whether an operation
/// is retried after the server may have seen it is decided per operation, by a table
/// (reads, searches, scheduler status and health are; adds, deletes, feedback, chat and
/// cube creation are not). A stream is retried only until its answer's head arrives.
///
/// # Streams
///
/// The chat streams and `scheduler_wait_stream` return an [`EventStream`] of typed events.
/// They run without the total timeout: a stream fails only when no bytes arrive for the
/// idle timeout ([`ClientBuilder::stream_idle_timeout`], by default the client's
/// timeout). Each event is capped at [`ClientBuilder::max_response_bytes`]; the stream as
/// a whole is not.
#[derive(Clone)]
pub struct ProductClient {
    inner: Arc<Core<ProductRaw>>,
}

impl fmt::Debug for ProductClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.debug_as("ProductClient", f)
    }
}

impl ClientBuilder<ProductClient> {
    /// The longest a stream may go without receiving any bytes, from sending the request
    /// to its head and between events (default: the [`timeout`](Self::timeout)). Streams
    /// have no total timeout.
    pub fn stream_idle_timeout(self, timeout: Duration) -> Self {
        self.set_idle_timeout(Some(timeout))
    }

    /// Builds the client. Fails on a base URL that is not an absolute http(s) URL or on a
    /// credential that cannot be sent in a header.
    pub fn build(self) -> Result<ProductClient> {
        Ok(ProductClient {
            inner: Arc::new(self.core()?),
        })
    }
}

impl ProductClient {
    /// Starts building a client for the server at `base_url`, e.g. `http://127.0.0.1:8000`
    /// (without `/product`: the operations' paths carry it).
    pub fn builder(base_url: impl Into<String>) -> ClientBuilder<ProductClient> {
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
    /// loopback (see [`Client::credential_in_cleartext`](crate::Client::credential_in_cleartext)).
    pub fn credential_in_cleartext(&self) -> bool {
        self.inner.credential_in_cleartext()
    }

    /// A warning for people when [`ProductClient::credential_in_cleartext`] holds.
    pub fn cleartext_warning(&self) -> Option<String> {
        self.inner.cleartext_warning()
    }

    /// The generated client (the one whose timeout covers each whole exchange), for direct
    /// access to every response detail. Its calls are not retried and fail with
    /// progenitor's error type.
    pub fn raw(&self) -> product::Client {
        self.inner.raw().json.clone()
    }

    /// Sends a request built by `make`, retried as [`RETRY_TABLE`] says for `operation`.
    async fn send<T, E, F>(&self, operation: &'static str, make: F) -> Result<T>
    where
        F: for<'a> FnMut(&'a ProductRaw) -> RawResult<'a, T, E>,
        T: Answer,
        E: Into<crate::types::ErrorBody>,
    {
        self.inner
            .send(operation, idempotency(operation), None, make)
            .await
    }

    /// Turns the body of a stream operation's answer into typed events, each capped at the
    /// client's `max_response_bytes`, with errors as [`Error`].
    fn events<T>(&self, operation: &'static str, body: ByteStream) -> EventStream<T>
    where
        T: DeserializeOwned + Send + 'static,
    {
        let limit = usize::try_from(self.inner.max_response_bytes()).unwrap_or(usize::MAX);
        let secret = self.inner.secret().map(Secret::new);
        Box::pin(
            crate::product_events::parse::<T>(body, limit).map(move |item| {
                item.map_err(|err| {
                    let mut error = event_error(operation, err);
                    if let Some(secret) = &secret {
                        error.redact(secret.expose());
                    }
                    error
                })
            }),
        )
    }

    /// `POST /product/add`: stores memories; the items stored, with their ids. Never
    /// retried once the server may have received it.
    pub async fn add_memories<B>(&self, request: B) -> Result<Vec<types::AddedMemory>>
    where
        B: TryInto<types::AddRequest>,
        B::Error: fmt::Display,
    {
        let request: types::AddRequest = body("add_memories", request)?;
        self.send("add_memories", |raw| {
            raw.json.add_memories().body(request.clone()).send().boxed()
        })
        .await
        .map(|envelope| envelope.data)
    }

    /// `POST /product/get_memory`: every memory of a cube, in buckets by kind.
    pub async fn get_memories<B>(&self, request: B) -> Result<types::MemoryBuckets>
    where
        B: TryInto<types::GetMemoryRequest>,
        B::Error: fmt::Display,
    {
        let request: types::GetMemoryRequest = body("get_memories", request)?;
        self.send("get_memories", |raw| {
            raw.json.get_memories().body(request.clone()).send().boxed()
        })
        .await
        .map(|envelope| envelope.data)
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
            .filter(|entry| entry.cube_id == cube_id)
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

    /// `POST /product/get_all`: the memory graph of each cube.
    pub async fn get_all_memories<B>(&self, request: B) -> Result<Vec<types::CubeMemoryGraph>>
    where
        B: TryInto<types::GetAllRequest>,
        B::Error: fmt::Display,
    {
        let request: types::GetAllRequest = body("get_all_memories", request)?;
        self.send("get_all_memories", |raw| {
            raw.json
                .get_all_memories()
                .body(request.clone())
                .send()
                .boxed()
        })
        .await
        .map(|envelope| envelope.data)
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

    /// `POST /product/get_memory_dashboard`: the dashboard's view of a cube's memories.
    pub async fn get_memory_dashboard<B>(&self, request: B) -> Result<types::MemoryBuckets>
    where
        B: TryInto<types::GetMemoryDashboardRequest>,
        B::Error: fmt::Display,
    {
        let request: types::GetMemoryDashboardRequest = body("get_memory_dashboard", request)?;
        self.send("get_memory_dashboard", |raw| {
            raw.json
                .get_memory_dashboard()
                .body(request.clone())
                .send()
                .boxed()
        })
        .await
        .map(|envelope| envelope.data)
    }

    /// `POST /product/search`: memories relevant to the query, by kind and cube.
    pub async fn search_memories<B>(&self, request: B) -> Result<types::SearchResult>
    where
        B: TryInto<types::SearchRequest>,
        B::Error: fmt::Display,
    {
        let request: types::SearchRequest = body("search_memories", request)?;
        self.send("search_memories", |raw| {
            raw.json
                .search_memories()
                .body(request.clone())
                .send()
                .boxed()
        })
        .await
        .map(|envelope| envelope.data)
    }

    /// `POST /product/create_cube`: creates a cube. Never retried once the server may have
    /// received it.
    pub async fn create_cube<B>(&self, request: B) -> Result<types::CreatedCube>
    where
        B: TryInto<types::CreateCubeRequest>,
        B::Error: fmt::Display,
    {
        let request: types::CreateCubeRequest = body("create_cube", request)?;
        self.send("create_cube", |raw| {
            raw.json.create_cube().body(request.clone()).send().boxed()
        })
        .await
        .map(|envelope| envelope.data)
    }

    /// `POST /product/register_cube`: registers a cube (a placeholder on 2.0.33).
    pub async fn register_cube<B>(&self, request: B) -> Result<types::RegisteredCube>
    where
        B: TryInto<types::RegisterCubeRequest>,
        B::Error: fmt::Display,
    {
        let request: types::RegisterCubeRequest = body("register_cube", request)?;
        self.send("register_cube", |raw| {
            raw.json
                .register_cube()
                .body(request.clone())
                .send()
                .boxed()
        })
        .await
        .map(|envelope| envelope.data)
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

    /// `POST /product/get_user_names_by_memory_ids`: the user holding each memory.
    pub async fn get_user_names_by_memory_ids<B>(&self, request: B) -> Result<types::UserNames>
    where
        B: TryInto<types::GetUserNamesByMemoryIdsRequest>,
        B::Error: fmt::Display,
    {
        let request: types::GetUserNamesByMemoryIdsRequest =
            body("get_user_names_by_memory_ids", request)?;
        self.send("get_user_names_by_memory_ids", |raw| {
            raw.json
                .get_user_names_by_memory_ids()
                .body(request.clone())
                .send()
                .boxed()
        })
        .await
        .map(|envelope| envelope.data)
    }

    /// `POST /product/delete_memory_by_record_id`: deletes the memories of a record.
    pub async fn delete_memory_by_record_id<B>(
        &self,
        request: B,
    ) -> Result<Option<serde_json::Map<String, serde_json::Value>>>
    where
        B: TryInto<types::DeleteMemoryByRecordIdRequest>,
        B::Error: fmt::Display,
    {
        let request: types::DeleteMemoryByRecordIdRequest =
            body("delete_memory_by_record_id", request)?;
        self.send("delete_memory_by_record_id", |raw| {
            raw.json
                .delete_memory_by_record_id()
                .body(request.clone())
                .send()
                .boxed()
        })
        .await
        .map(|envelope| envelope.data)
    }

    /// `POST /product/recover_memory_by_record_id`: restores soft-deleted memories.
    pub async fn recover_memory_by_record_id<B>(
        &self,
        request: B,
    ) -> Result<Option<serde_json::Map<String, serde_json::Value>>>
    where
        B: TryInto<types::RecoverMemoryByRecordIdRequest>,
        B::Error: fmt::Display,
    {
        let request: types::RecoverMemoryByRecordIdRequest =
            body("recover_memory_by_record_id", request)?;
        self.send("recover_memory_by_record_id", |raw| {
            raw.json
                .recover_memory_by_record_id()
                .body(request.clone())
                .send()
                .boxed()
        })
        .await
        .map(|envelope| envelope.data)
    }

    /// `POST /product/chat/complete`: the model's whole answer. Never retried once the
    /// server may have received it (the exchange is added to memory).
    pub async fn chat_complete<B>(&self, request: B) -> Result<types::ChatAnswer>
    where
        B: TryInto<types::ChatRequest>,
        B::Error: fmt::Display,
    {
        let request: types::ChatRequest = body("chat_complete", request)?;
        self.send("chat_complete", |raw| {
            raw.json
                .chat_complete()
                .body(request.clone())
                .send()
                .boxed()
        })
        .await
        .map(|answer| answer.data)
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

    /// `POST /product/suggestions`: follow-up queries the user could ask.
    pub async fn get_suggestions<B>(&self, request: B) -> Result<types::Suggestions>
    where
        B: TryInto<types::SuggestionRequest>,
        B::Error: fmt::Display,
    {
        let request: types::SuggestionRequest = body("get_suggestions", request)?;
        self.send("get_suggestions", |raw| {
            raw.json
                .get_suggestions()
                .body(request.clone())
                .send()
                .boxed()
        })
        .await
        .map(|envelope| envelope.data)
    }

    /// `POST /product/feedback`: feedback on an answer; records of what it changed. Never
    /// retried once the server may have received it.
    pub async fn feedback_memories<B>(
        &self,
        request: B,
    ) -> Result<Vec<types::FeedbackResponseDataItem>>
    where
        B: TryInto<types::FeedbackRequest>,
        B::Error: fmt::Display,
    {
        let request: types::FeedbackRequest = body("feedback_memories", request)?;
        self.send("feedback_memories", |raw| {
            raw.json
                .feedback_memories()
                .body(request.clone())
                .send()
                .boxed()
        })
        .await
        .map(|envelope| envelope.data)
    }

    /// `GET /product/scheduler/allstatus`: counts of the scheduler's tasks.
    pub async fn scheduler_all_status(&self) -> Result<types::AllStatus> {
        self.send("scheduler_all_status", |raw| {
            raw.json.scheduler_all_status().send().boxed()
        })
        .await
        .map(|envelope| envelope.data)
    }

    /// `GET /product/scheduler/status`: the status of a user's tasks, or of one task.
    pub async fn scheduler_status(
        &self,
        user_id: &str,
        task_id: Option<&str>,
    ) -> Result<Vec<types::TaskStatus>> {
        self.send("scheduler_status", |raw| {
            let mut request = raw.json.scheduler_status().user_id(user_id);
            if let Some(task_id) = task_id {
                request = request.task_id(task_id);
            }
            request.send().boxed()
        })
        .await
        .map(|envelope| envelope.data)
    }

    /// `GET /product/scheduler/task_queue_status`: the backlog of a user's task queue.
    ///
    /// A user with no task stream fails with [`Error`](crate::Error) status 404 ("No
    /// scheduler streams found for user ..."), not zero counts; a server whose queue is not
    /// Redis fails with 503, after 2.0.33 has tried to start `redis-server` (see the spec).
    pub async fn scheduler_task_queue_status(&self, user_id: &str) -> Result<types::TaskQueue> {
        self.send("scheduler_task_queue_status", |raw| {
            raw.json
                .scheduler_task_queue_status()
                .user_id(user_id)
                .send()
                .boxed()
        })
        .await
        .map(|envelope| envelope.data)
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
                idempotency("scheduler_wait"),
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

    /// `GET /health`: the server's status object.
    pub async fn health_check(&self) -> Result<types::Health> {
        self.send("health_check", |raw| raw.json.health_check().send().boxed())
            .await
    }
}

/// What stopped a stream, as the crate's one error type.
fn event_error(operation: &'static str, err: EventError) -> Error {
    let status = Some(StatusCode::OK);
    match err {
        EventError::Transport(source) => Error::Transport { operation, source },
        EventError::TooLarge { limit } => Error::ResponseTooLarge {
            operation,
            status,
            limit: u64::try_from(limit).unwrap_or(u64::MAX),
        },
        EventError::Format(reason) => Error::InvalidResponse {
            operation,
            status,
            reason: format!("the answer is not a valid server-sent event stream: {reason}"),
            body_start: String::new(),
        },
        EventError::Json { error, data } => Error::InvalidResponse {
            operation,
            status,
            reason: format!("an event's data is not the expected JSON ({error})"),
            body_start: data,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The operation ids of `openapi/memos-product.yaml`, in its order.
    fn spec_operations() -> Vec<String> {
        let spec = include_str!("../openapi/memos-product.yaml");
        spec.lines()
            .filter_map(|line| line.trim().strip_prefix("operationId:"))
            .map(|id| id.trim().to_owned())
            .collect()
    }

    #[test]
    fn the_retry_table_names_every_operation_of_the_spec_once() {
        let mut table: Vec<&str> = RETRY_TABLE.iter().map(|(name, _)| *name).collect();
        let mut spec = spec_operations();
        table.sort_unstable();
        spec.sort_unstable();
        assert_eq!(table, spec);
        for stream in STREAMS {
            assert!(table.contains(&stream), "{stream}");
        }
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
            assert_eq!(idempotency(operation), NonIdempotent, "{operation}");
        }
        assert_eq!(idempotency("search_memories"), Idempotent);
        assert_eq!(idempotency("no_such_operation"), NonIdempotent);
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
        let converted: crate::types::ErrorBody = body.into();
        let err = Error::from_error_body(
            "search_memories",
            StatusCode::UNPROCESSABLE_ENTITY,
            converted,
        );
        assert_eq!(err.code(), Some(422));
        assert!(err.message().unwrap().contains("[body -> query]"));
        let issue = &err.validation_details()[0];
        assert_eq!(issue.type_, "missing");
        assert_eq!(
            issue.loc,
            [
                crate::types::LocationPart::String("body".into()),
                crate::types::LocationPart::String("query".into()),
                crate::types::LocationPart::Integer(0),
            ]
        );
    }
}
