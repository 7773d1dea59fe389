//! The client users reach first: configuration, credentials, retries and one error type
//! around the generated [`crate::raw::Client`].

use std::cell::Cell;
use std::fmt;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use futures::future::{BoxFuture, FutureExt};

use progenitor_client::{ClientHooks, OperationInfo, ResponseValue};
use reqwest::header::{HeaderMap, HeaderValue, AUTHORIZATION};
use reqwest::StatusCode;

use crate::error::{body_start, Error, Result};
use crate::retry::{self, Idempotency, RetryPolicy};
use crate::types;

type RawError = progenitor_client::Error<types::ErrorBody>;
type RawResult<'a, T> = BoxFuture<'a, std::result::Result<ResponseValue<T>, RawError>>;

tokio::task_local! {
    /// The status of the response to the try being sent. progenitor drops the status when a
    /// body does not parse (`InvalidResponsePayload`), so [`Client::send`] records it here.
    static RESPONSE_STATUS: Cell<Option<StatusCode>>;
}

/// Overrides the generated client's no-op hooks (progenitor implements them for
/// `&raw::Client`; an impl for `raw::Client` takes precedence).
impl ClientHooks<()> for crate::raw::Client {
    async fn post<E>(
        &self,
        result: &reqwest::Result<reqwest::Response>,
        _info: &OperationInfo,
    ) -> std::result::Result<(), progenitor_client::Error<E>> {
        if let Ok(response) = result {
            // Outside `Client::send` (calls through `raw()`) there is nothing to record.
            let _ = RESPONSE_STATUS.try_with(|status| status.set(Some(response.status())));
        }
        Ok(())
    }
}

/// How a credential is sent.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    serde::Serialize,
    serde::Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum AuthScheme {
    /// `Authorization: Bearer <token>`.
    Bearer,
    /// `Authorization: Token <key>` (the hosted service's API keys).
    Token,
}

impl AuthScheme {
    /// Every scheme, in the order they are documented.
    pub const ALL: [AuthScheme; 2] = [AuthScheme::Bearer, AuthScheme::Token];

    /// The scheme word in the `Authorization` header.
    pub fn word(self) -> &'static str {
        match self {
            AuthScheme::Bearer => "Bearer",
            AuthScheme::Token => "Token",
        }
    }

    /// The lower-case name used in options and reports: `bearer` or `token`.
    pub fn name(self) -> &'static str {
        match self {
            AuthScheme::Bearer => "bearer",
            AuthScheme::Token => "token",
        }
    }
}

impl fmt::Display for AuthScheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for AuthScheme {
    type Err = String;

    /// `bearer` or `token`, in any case.
    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        AuthScheme::ALL
            .into_iter()
            .find(|scheme| scheme.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| format!("unknown auth scheme {s:?}: expected `bearer` or `token`"))
    }
}

/// How the client proves who it is. The open-source server checks neither; hosted MemOS
/// deployments use one of them.
#[derive(Clone, PartialEq, Eq)]
pub enum Auth {
    /// `Authorization: Bearer <token>`.
    Bearer(Secret),
    /// `Authorization: Token <key>` (the hosted service's API keys).
    Token(Secret),
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}(<redacted>)", self.scheme().word())
    }
}

impl Auth {
    /// The credential `secret` sent with `scheme`.
    pub fn new(scheme: AuthScheme, secret: Secret) -> Self {
        match scheme {
            AuthScheme::Bearer => Auth::Bearer(secret),
            AuthScheme::Token => Auth::Token(secret),
        }
    }

    /// How it is sent.
    pub fn scheme(&self) -> AuthScheme {
        match self {
            Auth::Bearer(_) => AuthScheme::Bearer,
            Auth::Token(_) => AuthScheme::Token,
        }
    }

    /// The credential itself.
    pub fn secret(&self) -> &Secret {
        match self {
            Auth::Bearer(secret) | Auth::Token(secret) => secret,
        }
    }

    /// The `Authorization` header value, marked sensitive so that reqwest and hyper redact it
    /// in their own `Debug` output.
    pub fn header_value(&self) -> Result<HeaderValue> {
        let scheme = self.scheme().word();
        let mut value = HeaderValue::from_str(&format!("{scheme} {}", self.secret().expose()))
            .map_err(|_| {
                // Never echo the secret: say only what is wrong with it.
                Error::Config(format!(
                    "the {scheme} credential contains characters not allowed in an HTTP header \
                     (control characters or non-ASCII); check how it was copied"
                ))
            })?;
        value.set_sensitive(true);
        Ok(value)
    }
}

/// A credential. Its `Debug` output is redacted and it has no `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a credential.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The credential itself, to put on the wire or to redact from text. Never print it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Builds a [`Client`]; start with [`Client::builder`].
#[derive(Debug, Clone)]
pub struct ClientBuilder {
    base_url: String,
    auth: Option<Auth>,
    timeout: Duration,
    connect_timeout: Duration,
    user_agent: String,
    retry: RetryPolicy,
}

impl ClientBuilder {
    /// Sends `Authorization: Bearer <token>` with every request.
    pub fn bearer_token(mut self, token: impl Into<String>) -> Self {
        self.auth = Some(Auth::Bearer(Secret::new(token)));
        self
    }

    /// Sends `Authorization: Token <key>` with every request (the hosted service's keys).
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.auth = Some(Auth::Token(Secret::new(key)));
        self
    }

    /// Sets (or, with `None`, clears) the credentials.
    pub fn auth(mut self, auth: Option<Auth>) -> Self {
        self.auth = auth;
        self
    }

    /// The longest a whole request may take, from connecting to the last byte (default
    /// 60 s; chat waits on the server's LLM).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The longest connecting may take (default 10 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// The `User-Agent` header (default `memos-api/<version>`).
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = user_agent.into();
        self
    }

    /// How requests are retried (default: [`RetryPolicy::default`]).
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Builds the client. Fails on a base URL that is not an absolute http(s) URL or on a
    /// credential that cannot be sent in a header.
    pub fn build(self) -> Result<Client> {
        let base_url = normalize_base_url(&self.base_url)?;
        let mut headers = HeaderMap::new();
        if let Some(auth) = &self.auth {
            headers.insert(AUTHORIZATION, auth.header_value()?);
        }
        let http = HttpSettings {
            headers,
            timeout: self.timeout,
            connect_timeout: self.connect_timeout,
            user_agent: self.user_agent.clone(),
        };
        let raw = http.raw_client(&base_url)?;
        Ok(Client {
            inner: Arc::new(Inner {
                raw: RwLock::new(Arc::new(raw)),
                http,
                base_url,
                auth: self.auth,
                retry: self.retry,
            }),
        })
    }
}

/// What it takes to build the HTTP client again (see [`Client::renew_connections`]).
struct HttpSettings {
    headers: HeaderMap,
    timeout: Duration,
    connect_timeout: Duration,
    user_agent: String,
}

impl HttpSettings {
    fn raw_client(&self, base_url: &str) -> Result<crate::raw::Client> {
        let http = reqwest::Client::builder()
            .default_headers(self.headers.clone())
            .timeout(self.timeout)
            .connect_timeout(self.connect_timeout)
            .user_agent(self.user_agent.clone())
            .build()
            .map_err(|err| Error::Config(format!("cannot build the HTTP client: {err}")))?;
        Ok(crate::raw::Client::new_with_client(base_url, http))
    }
}

/// Checks that `input` can be the base URL of a MemOS server: an absolute http(s) URL
/// without credentials, query or fragment. The error is [`Error::Config`] with a reason a
/// person can act on. Shared by every tool of the project that takes a `--base-url`.
pub fn parse_base_url(input: &str) -> Result<url::Url> {
    let parsed = url::Url::parse(input.trim()).map_err(|err| {
        Error::Config(format!(
            "base URL {input:?} is not a valid URL ({err}); expected e.g. http://127.0.0.1:8000"
        ))
    })?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(Error::Config(format!(
            "base URL {input:?} must start with http:// or https://"
        )));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(Error::Config(
            "the base URL must not carry credentials; pass the token on its own \
             (bearer_token or api_key, --token)"
                .into(),
        ));
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(Error::Config(format!(
            "base URL {input:?} must not have a query or fragment"
        )));
    }
    Ok(parsed)
}

/// Checks the base URL and drops a trailing `/` (the server answers `/users/` with a
/// redirect).
fn normalize_base_url(input: &str) -> Result<String> {
    let parsed = parse_base_url(input)?;
    Ok(parsed.as_str().trim_end_matches('/').to_owned())
}

/// A MemOS client: one method per operation of the API, each returning the envelope's
/// `data` and failing with [`Error`].
///
/// Cloning is cheap and shares the connection pool.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    /// The generated client and its connection pool; replaced after a 5xx.
    raw: RwLock<Arc<crate::raw::Client>>,
    http: HttpSettings,
    base_url: String,
    auth: Option<Auth>,
    retry: RetryPolicy,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.inner.base_url)
            .field("auth", &self.inner.auth)
            .field("retry", &self.inner.retry)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Starts building a client for the server at `base_url`, e.g. `http://127.0.0.1:8000`
    /// (include the path prefix, such as `/api`, if the deployment has one).
    pub fn builder(base_url: impl Into<String>) -> ClientBuilder {
        ClientBuilder {
            base_url: base_url.into(),
            auth: None,
            timeout: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(10),
            user_agent: concat!("memos-api/", env!("CARGO_PKG_VERSION")).to_owned(),
            retry: RetryPolicy::default(),
        }
    }

    /// A client with the default settings and no credentials.
    pub fn new(base_url: impl Into<String>) -> Result<Self> {
        Self::builder(base_url).build()
    }

    /// The base URL requests go to.
    pub fn base_url(&self) -> &str {
        &self.inner.base_url
    }

    /// The generated client, for direct access to every response detail. Its calls are not
    /// retried and fail with progenitor's error type.
    pub fn raw(&self) -> Arc<crate::raw::Client> {
        // A poisoned lock only means a panic elsewhere while swapping in a whole value.
        let raw = self.inner.raw.read().unwrap_or_else(|p| p.into_inner());
        Arc::clone(&raw)
    }

    /// Drops the connection pool: later requests open new connections.
    ///
    /// The reference server resets a keep-alive connection after answering 500, without
    /// saying `connection: close`. A request sent next on that connection fails with a
    /// reset; for a POST the client cannot tell whether the server saw it, so it must not
    /// send it again. Starting from fresh connections after any 5xx avoids the trap.
    fn renew_connections(&self) {
        if let Ok(raw) = self.inner.http.raw_client(&self.inner.base_url) {
            let mut current = self.inner.raw.write().unwrap_or_else(|p| p.into_inner());
            *current = Arc::new(raw);
        }
    }

    /// Sends a request built by `make`, retrying it as `idempotency` and the policy allow.
    async fn send<T, F>(
        &self,
        operation: &'static str,
        idempotency: Idempotency,
        mut make: F,
    ) -> Result<T>
    where
        F: for<'a> FnMut(&'a crate::raw::Client) -> RawResult<'a, T>,
    {
        let policy = &self.inner.retry;
        let mut attempt = 0;
        loop {
            let raw = self.raw();
            let (outcome, status) = RESPONSE_STATUS
                .scope(Cell::new(None), async {
                    let outcome = make(&raw).await;
                    (outcome, RESPONSE_STATUS.with(Cell::get))
                })
                .await;
            if status.is_some_and(|s| s.is_server_error()) {
                self.renew_connections();
            }
            let failure = match outcome {
                Ok(value) => return Ok(value.into_inner()),
                Err(err) => classify(operation, idempotency, err, status).await,
            };
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

/// A failed try: the error to report and whether another try may help.
struct Failure {
    error: Error,
    retryable: bool,
    retry_after: Option<Duration>,
}

/// `status` is the status of the response, when one arrived.
async fn classify(
    operation: &'static str,
    idempotency: Idempotency,
    err: RawError,
    status: Option<StatusCode>,
) -> Failure {
    let final_error = |error| Failure {
        error,
        retryable: false,
        retry_after: None,
    };
    match err {
        RawError::InvalidRequest(reason) | RawError::Custom(reason) => {
            final_error(Error::InvalidRequest { operation, reason })
        }
        RawError::CommunicationError(source) | RawError::InvalidUpgrade(source) => Failure {
            retryable: retry::is_retryable_transport(&source, idempotency),
            error: Error::Transport { operation, source },
            retry_after: None,
        },
        RawError::ResponseBodyError(source) => Failure {
            // The server answered, so only an idempotent request may go again.
            retryable: idempotency == Idempotency::Idempotent,
            error: Error::Transport { operation, source },
            retry_after: None,
        },
        RawError::ErrorResponse(response) => {
            let status = response.status();
            final_error(Error::from_error_body(
                operation,
                status,
                response.into_inner(),
            ))
        }
        RawError::InvalidResponsePayload(body, source) => match status {
            // A documented error status whose body is not the spec's error body (a proxy's
            // HTML page): an API error like any other, with the body as its message. None of
            // the documented error statuses is worth a retry.
            Some(status) if !status.is_success() => {
                final_error(Error::from_body(operation, status, &body))
            }
            _ => final_error(Error::InvalidResponse {
                operation,
                status,
                reason: source.to_string(),
                body_start: body_start(&body),
            }),
        },
        RawError::UnexpectedResponse(response) => {
            let status = response.status();
            let retry_after = retry::retry_after(response.headers());
            let body = match response.bytes().await {
                Ok(body) => body,
                Err(source) => return final_error(Error::Transport { operation, source }),
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
                retryable: idempotency == Idempotency::Idempotent
                    && retry::is_retryable_status(status),
                error: Error::from_body(operation, status, &body),
                retry_after,
            }
        }
    }
}

/// Turns a caller's value into a request body, before anything is sent.
fn body<T, B>(operation: &'static str, value: B) -> Result<T>
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
/// An empty value leaves the URL ending in `/` (or holding `//`), and `.` or `..` are removed
/// as dot segments when the URL is parsed. Either way the request goes to a shorter path, which
/// the server redirects (`307`, a trailing slash) to another operation:
/// `delete_memory(cube, "")` would end as `DELETE /memories/{cube}` and delete every memory of
/// the cube.
fn path_param(operation: &'static str, name: &str, value: &str) -> Result<()> {
    if matches!(value, "" | "." | "..") {
        return Err(Error::InvalidRequest {
            operation,
            reason: format!("`{name}` must not be empty, `.` or `..` (got {value:?})"),
        });
    }
    Ok(())
}

use Idempotency::{Idempotent, NonIdempotent};

impl Client {
    /// `POST /configure`: replaces the server's configuration (see the spec for what
    /// survives). A fresh reference server needs this before anything else.
    pub async fn configure<B>(&self, config: B) -> Result<()>
    where
        B: TryInto<types::MosConfig>,
        B::Error: fmt::Display,
    {
        let config: types::MosConfig = body("configure", config)?;
        self.send("configure", NonIdempotent, |raw| {
            raw.configure().body(config.clone()).send().boxed()
        })
        .await
        .map(drop)
    }

    /// `GET /users`: the active users, in insertion order.
    pub async fn list_users(&self) -> Result<Vec<types::User>> {
        self.send("list_users", Idempotent, |raw| {
            raw.list_users().send().boxed()
        })
        .await
        .map(|envelope| envelope.data)
    }

    /// `POST /users`: creates a user. The returned `user_id` is `None` when the id exists
    /// with another name, and another user's id when the name is taken (server rules).
    pub async fn create_user<B>(&self, user: B) -> Result<types::CreatedUser>
    where
        B: TryInto<types::UserCreate>,
        B::Error: fmt::Display,
    {
        let user: types::UserCreate = body("create_user", user)?;
        self.send("create_user", NonIdempotent, |raw| {
            raw.create_user().body(user.clone()).send().boxed()
        })
        .await
        .map(|envelope| envelope.data)
    }

    /// `GET /users/me`: the current user (of the last `/configure`) and their cubes.
    pub async fn get_current_user(&self) -> Result<types::UserInfo> {
        self.send("get_current_user", Idempotent, |raw| {
            raw.get_current_user().send().boxed()
        })
        .await
        .map(|envelope| envelope.data)
    }

    /// `POST /mem_cubes`: loads a cube directory that exists on the server.
    pub async fn register_cube<B>(&self, cube: B) -> Result<()>
    where
        B: TryInto<types::MemCubeRegister>,
        B::Error: fmt::Display,
    {
        let cube: types::MemCubeRegister = body("register_cube", cube)?;
        self.send("register_cube", NonIdempotent, |raw| {
            raw.register_cube().body(cube.clone()).send().boxed()
        })
        .await
        .map(drop)
    }

    /// `DELETE /mem_cubes/{mem_cube_id}`: unloads a cube (its memories are dropped).
    pub async fn unregister_cube(&self, cube_id: &str, user_id: Option<&str>) -> Result<()> {
        path_param("unregister_cube", "cube_id", cube_id)?;
        self.send("unregister_cube", Idempotent, |raw| {
            let mut request = raw.unregister_cube().mem_cube_id(cube_id);
            if let Some(user_id) = user_id {
                request = request.user_id(user_id);
            }
            request.send().boxed()
        })
        .await
        .map(drop)
    }

    /// `POST /mem_cubes/{cube_id}/share`: grants another user access. Broken on the
    /// reference server (see the spec); registering the cube id for the other user works.
    pub async fn share_cube<B>(&self, cube_id: &str, share: B) -> Result<()>
    where
        B: TryInto<types::CubeShare>,
        B::Error: fmt::Display,
    {
        let share: types::CubeShare = body("share_cube", share)?;
        path_param("share_cube", "cube_id", cube_id)?;
        self.send("share_cube", NonIdempotent, |raw| {
            raw.share_cube()
                .cube_id(cube_id)
                .body(share.clone())
                .send()
                .boxed()
        })
        .await
        .map(drop)
    }

    /// `POST /memories`: stores messages, content or a server-side document directory.
    /// Never retried once the server may have received it, so nothing is stored twice.
    pub async fn add_memories<B>(&self, memories: B) -> Result<()>
    where
        B: TryInto<types::MemoryCreate>,
        B::Error: fmt::Display,
    {
        let memories: types::MemoryCreate = body("add_memories", memories)?;
        self.send("add_memories", NonIdempotent, |raw| {
            raw.add_memories().body(memories.clone()).send().boxed()
        })
        .await
        .map(drop)
    }

    /// `GET /memories`: the memories of `cube_id` (or of the user's newest cube).
    pub async fn list_memories(
        &self,
        cube_id: Option<&str>,
        user_id: Option<&str>,
    ) -> Result<types::MemoryList> {
        self.send("list_memories", Idempotent, |raw| {
            let mut request = raw.list_memories();
            if let Some(cube_id) = cube_id {
                request = request.mem_cube_id(cube_id);
            }
            if let Some(user_id) = user_id {
                request = request.user_id(user_id);
            }
            request.send().boxed()
        })
        .await
        .map(|envelope| envelope.data)
    }

    /// `GET /memories/{mem_cube_id}/{memory_id}`: one memory. Never succeeds on the
    /// reference server (see the spec); [`Client::list_memories`] works.
    pub async fn get_memory(
        &self,
        cube_id: &str,
        memory_id: &str,
        user_id: Option<&str>,
    ) -> Result<types::MemoryItem> {
        path_param("get_memory", "cube_id", cube_id)?;
        path_param("get_memory", "memory_id", memory_id)?;
        self.send("get_memory", Idempotent, |raw| {
            let mut request = raw.get_memory().mem_cube_id(cube_id).memory_id(memory_id);
            if let Some(user_id) = user_id {
                request = request.user_id(user_id);
            }
            request.send().boxed()
        })
        .await
        .map(|envelope| envelope.data)
    }

    /// `PUT /memories/{mem_cube_id}/{memory_id}`: updates one memory.
    pub async fn update_memory<B>(
        &self,
        cube_id: &str,
        memory_id: &str,
        user_id: Option<&str>,
        update: B,
    ) -> Result<()>
    where
        B: TryInto<types::MemoryUpdate>,
        B::Error: fmt::Display,
    {
        let update: types::MemoryUpdate = body("update_memory", update)?;
        path_param("update_memory", "cube_id", cube_id)?;
        path_param("update_memory", "memory_id", memory_id)?;
        self.send("update_memory", Idempotent, |raw| {
            let mut request = raw
                .update_memory()
                .mem_cube_id(cube_id)
                .memory_id(memory_id)
                .body(update.clone());
            if let Some(user_id) = user_id {
                request = request.user_id(user_id);
            }
            request.send().boxed()
        })
        .await
        .map(drop)
    }

    /// `DELETE /memories/{mem_cube_id}/{memory_id}`: deletes one memory (200 also when the
    /// id does not exist).
    pub async fn delete_memory(
        &self,
        cube_id: &str,
        memory_id: &str,
        user_id: Option<&str>,
    ) -> Result<()> {
        path_param("delete_memory", "cube_id", cube_id)?;
        path_param("delete_memory", "memory_id", memory_id)?;
        self.send("delete_memory", Idempotent, |raw| {
            let mut request = raw
                .delete_memory()
                .mem_cube_id(cube_id)
                .memory_id(memory_id);
            if let Some(user_id) = user_id {
                request = request.user_id(user_id);
            }
            request.send().boxed()
        })
        .await
        .map(drop)
    }

    /// `DELETE /memories/{mem_cube_id}`: deletes every memory of the cube.
    pub async fn delete_all_memories(&self, cube_id: &str, user_id: Option<&str>) -> Result<()> {
        path_param("delete_all_memories", "cube_id", cube_id)?;
        self.send("delete_all_memories", Idempotent, |raw| {
            let mut request = raw.delete_all_memories().mem_cube_id(cube_id);
            if let Some(user_id) = user_id {
                request = request.user_id(user_id);
            }
            request.send().boxed()
        })
        .await
        .map(drop)
    }

    /// `POST /search`: memories matching `query`, grouped by cube. Read-only, so it is
    /// retried like a GET.
    pub async fn search_memories<B>(&self, search: B) -> Result<types::MemoryList>
    where
        B: TryInto<types::SearchRequest>,
        B::Error: fmt::Display,
    {
        let search: types::SearchRequest = body("search_memories", search)?;
        self.send("search_memories", Idempotent, |raw| {
            raw.search_memories().body(search.clone()).send().boxed()
        })
        .await
        .map(|envelope| envelope.data)
    }

    /// `POST /chat`: the model's answer to `query`, with the user's memories as context.
    pub async fn chat<B>(&self, chat: B) -> Result<String>
    where
        B: TryInto<types::ChatRequest>,
        B::Error: fmt::Display,
    {
        let chat: types::ChatRequest = body("chat", chat)?;
        self.send("chat", NonIdempotent, |raw| {
            raw.chat().body(chat.clone()).send().boxed()
        })
        .await
        .map(|envelope| envelope.data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_url_is_checked_and_normalised() {
        assert_eq!(
            normalize_base_url("http://127.0.0.1:8000/").unwrap(),
            "http://127.0.0.1:8000"
        );
        assert_eq!(
            normalize_base_url("https://memos.example/api/").unwrap(),
            "https://memos.example/api"
        );
        for bad in [
            "127.0.0.1:8000",
            "ftp://x",
            "not a url",
            "http://u:p@host",
            "http://h/?q=1",
        ] {
            let err = normalize_base_url(bad).unwrap_err().to_string();
            assert!(
                err.contains("base URL") || err.contains("credentials"),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn credentials_never_show_in_debug() {
        let builder = Client::builder("http://127.0.0.1:1").bearer_token("s3cr3t-value");
        assert!(!format!("{builder:?}").contains("s3cr3t"));
        let client = builder.build().unwrap();
        assert!(!format!("{client:?}").contains("s3cr3t"));
        let client = Client::builder("http://127.0.0.1:1")
            .api_key("s3cr3t-key")
            .build()
            .unwrap();
        assert!(!format!("{client:?}").contains("s3cr3t"));
    }

    #[test]
    fn a_credential_with_a_newline_is_refused_without_echoing_it() {
        let err = Client::builder("http://127.0.0.1:1")
            .bearer_token("abc\ndef-secret")
            .build()
            .unwrap_err()
            .to_string();
        assert!(err.contains("Bearer credential"), "{err}");
        assert!(!err.contains("def-secret"), "{err}");
    }
}
