//! The client users reach first: configuration, credentials, retries and one error type
//! around the generated [`crate::raw::Client`].

use std::fmt;
use std::marker::PhantomData;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use futures::future::FutureExt;

use progenitor_client::{ClientHooks, ClientInfo, OperationInfo};
use reqwest::header::{HeaderMap, AUTHORIZATION};

use crate::auth::{Auth, Secret};
use crate::base_url::{
    is_cleartext_to_remote, normalize_base_url, parse_base_url, same_origin_redirects,
};
use crate::core::{
    body, envelope, exec_capped, path_param, record_status, Answer, Core, RawResult,
    DEFAULT_MAX_RESPONSE_BYTES,
};
use crate::error::{Error, Result};
use crate::retry::{Idempotency, RetryPolicy};
use crate::types;

/// Overrides the generated client's no-op hooks (progenitor implements them for
/// `&raw::Client`; an impl for `raw::Client` takes precedence).
impl ClientHooks<()> for crate::raw::Client {
    /// Sends the request and puts a cap on the answer's body, so that whatever the generated
    /// code reads it through (`bytes()`, for every answer) stops at the cap. Calls through
    /// [`Client::raw`] get the default cap.
    async fn exec(
        &self,
        request: reqwest::Request,
        _info: &OperationInfo,
    ) -> reqwest::Result<reqwest::Response> {
        exec_capped(self.client(), request, false).await
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

/// Builds a client; start with [`Client::builder`] (the v1 API) or
/// [`ProductClient::builder`](crate::ProductClient::builder) (the `/product` API). Both
/// clients take the same options; `C` is the client that [`build`](Self::build) returns.
#[derive(Debug, Clone)]
pub struct ClientBuilder<C = Client> {
    target: PhantomData<fn() -> C>,
    base_url: String,
    auth: Option<Auth>,
    timeout: Duration,
    connect_timeout: Duration,
    user_agent: String,
    retry: RetryPolicy,
    max_response_bytes: u64,
    follow_redirects: bool,
    /// The longest wait for the next bytes of an event stream (`None`: `timeout`).
    idle_timeout: Option<Duration>,
}

impl<C> ClientBuilder<C> {
    /// A builder with the defaults, for the server at `base_url`.
    pub(crate) fn new(base_url: String) -> Self {
        ClientBuilder {
            target: PhantomData,
            base_url,
            auth: None,
            timeout: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(10),
            user_agent: concat!("memos-api/", env!("CARGO_PKG_VERSION")).to_owned(),
            retry: RetryPolicy::default(),
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            follow_redirects: false,
            idle_timeout: None,
        }
    }

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

    /// The longest one try of a request may take, from connecting to the last byte of the
    /// answer's body (default 60 s; chat waits on the server's LLM). A try that times out
    /// before the answer's head arrives may be retried (see [`RetryPolicy`]); one whose body
    /// stalls is not, so a server that trickles or stalls a body costs one timeout.
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

    /// The largest success answer, in bytes, the client reads (default
    /// [`DEFAULT_MAX_RESPONSE_BYTES`], 64 MiB). A larger one fails with
    /// [`Error::ResponseTooLarge`] as soon as it passes the cap, or at once when its
    /// `Content-Length` says so. Error answers are capped at the smaller of this and
    /// [`MAX_ERROR_BODY_BYTES`](crate::MAX_ERROR_BODY_BYTES).
    pub fn max_response_bytes(mut self, bytes: u64) -> Self {
        self.max_response_bytes = bytes;
        self
    }

    /// Whether to follow redirects (default: no). A followed 307/308 re-sends the request,
    /// body included, so even when enabled the client follows at most 5 redirects and only
    /// within the base URL's origin (scheme, host and port); any other redirect fails with
    /// [`Error::Redirect`], naming where it pointed.
    pub fn follow_redirects(mut self, follow: bool) -> Self {
        self.follow_redirects = follow;
        self
    }

    /// Sets the longest wait for the next bytes of an event stream (`None`: the
    /// [`timeout`](Self::timeout)); only [`ProductClient`](crate::ProductClient) has streams.
    pub(crate) fn set_idle_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.idle_timeout = timeout;
        self
    }

    /// The shared layer of a client over the generated client `R`. Fails on a base URL
    /// that is not an absolute http(s) URL or on a credential that cannot be sent in a
    /// header.
    pub(crate) fn core<R: Generated>(self) -> Result<Core<R>> {
        let base_url = normalize_base_url(&self.base_url)?;
        let mut headers = HeaderMap::new();
        if let Some(auth) = &self.auth {
            headers.insert(AUTHORIZATION, auth.header_value()?);
        }
        let cleartext = self.auth.is_some() && is_cleartext_to_remote(&parse_base_url(&base_url)?);
        let http = HttpSettings {
            headers,
            timeout: self.timeout,
            connect_timeout: self.connect_timeout,
            idle_timeout: self.idle_timeout.unwrap_or(self.timeout),
            user_agent: self.user_agent.clone(),
            follow_redirects: self.follow_redirects,
        };
        let raw = R::connect(&http, &base_url)?;
        Ok(Core {
            raw: RwLock::new(Arc::new(raw)),
            http,
            base_url,
            auth: self.auth,
            retry: self.retry,
            max_response_bytes: self.max_response_bytes,
            cleartext,
        })
    }
}

impl ClientBuilder<Client> {
    /// Builds the client. Fails on a base URL that is not an absolute http(s) URL or on a
    /// credential that cannot be sent in a header.
    pub fn build(self) -> Result<Client> {
        Ok(Client {
            inner: Arc::new(self.core()?),
        })
    }
}

/// What it takes to build the HTTP client again (see [`Client::renew_connections`]).
pub(crate) struct HttpSettings {
    headers: HeaderMap,
    /// Read by `Core::timeout`.
    pub(crate) timeout: Duration,
    connect_timeout: Duration,
    idle_timeout: Duration,
    user_agent: String,
    follow_redirects: bool,
}

impl HttpSettings {
    /// An HTTP client whose timeout covers each whole exchange, body included.
    pub(crate) fn http_client(&self) -> Result<reqwest::Client> {
        self.reqwest_builder()
            .timeout(self.timeout)
            .build()
            .map_err(|err| Error::Config(format!("cannot build the HTTP client: {err}")))
    }

    /// An HTTP client for event streams: no total timeout (a chat streams for as long as
    /// the model writes), but a stream fails once no bytes arrive for the idle timeout,
    /// counted from sending the request to the head and then between reads of the body.
    pub(crate) fn streaming_client(&self) -> Result<reqwest::Client> {
        self.reqwest_builder()
            .read_timeout(self.idle_timeout)
            .build()
            .map_err(|err| Error::Config(format!("cannot build the HTTP client: {err}")))
    }

    fn reqwest_builder(&self) -> reqwest::ClientBuilder {
        let redirect = if self.follow_redirects {
            same_origin_redirects()
        } else {
            reqwest::redirect::Policy::none()
        };
        reqwest::Client::builder()
            .redirect(redirect)
            .default_headers(self.headers.clone())
            .connect_timeout(self.connect_timeout)
            .user_agent(self.user_agent.clone())
    }
}

/// A generated client, as the shared layer builds (and after a 5xx rebuilds) it.
pub(crate) trait Generated: Send + Sync + Sized + 'static {
    /// A client for `base_url` with fresh connections.
    fn connect(http: &HttpSettings, base_url: &str) -> Result<Self>;
}

impl Generated for crate::raw::Client {
    fn connect(http: &HttpSettings, base_url: &str) -> Result<Self> {
        Ok(crate::raw::Client::new_with_client(
            base_url,
            http.http_client()?,
        ))
    }
}

/// A MemOS client: one method per operation of the API, each returning the envelope's
/// `data` and failing with [`Error`].
///
/// Cloning is cheap and shares the connection pool.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Core<crate::raw::Client>>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.debug_as("Client", f)
    }
}

impl Client {
    /// Starts building a client for the server at `base_url`, e.g. `http://127.0.0.1:8000`
    /// (include the path prefix, such as `/api`, if the deployment has one).
    pub fn builder(base_url: impl Into<String>) -> ClientBuilder {
        ClientBuilder::new(base_url.into())
    }

    /// Whether the client sends a credential over plain `http://` to a host that is not
    /// loopback (127.0.0.0/8, `::1`, `localhost`): anyone on the path can read and reuse it.
    /// The library does not print; tools should show [`Client::cleartext_warning`].
    pub fn credential_in_cleartext(&self) -> bool {
        self.inner.cleartext
    }

    /// A warning for people when [`Client::credential_in_cleartext`] holds.
    pub fn cleartext_warning(&self) -> Option<String> {
        self.inner.cleartext_warning()
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
        self.inner.raw()
    }

    /// Sends a request built by `make`, retrying it as `idempotency` and the policy allow.
    async fn send<T, F>(
        &self,
        operation: &'static str,
        idempotency: Idempotency,
        make: F,
    ) -> Result<T>
    where
        F: for<'a> FnMut(&'a crate::raw::Client) -> RawResult<'a, T, types::ErrorBody>,
        T: Answer,
    {
        self.inner.send(operation, idempotency, None, make).await
    }
}

envelope!(
    types::ChatResponse,
    types::CreateUserResponse,
    types::EmptyResponse,
    types::MemoryItemResponse,
    types::MemoryListResponse,
    types::SearchResponse,
    types::UserInfoResponse,
    types::UserListResponse,
);

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
}
