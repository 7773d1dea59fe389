//! [`ClientBuilder`]: the options every client is built with (credentials, timeouts,
//! retries, the body cap, redirects), and what it takes to build the HTTP client again
//! after a 5xx ([`HttpSettings`], [`Generated`]).

use std::marker::PhantomData;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use reqwest::header::{HeaderMap, AUTHORIZATION};

use crate::auth::{Auth, Secret};
use crate::base_url::{
    is_cleartext_to_remote, normalize_base_url, parse_base_url, same_origin_redirects,
};
use crate::client::Client;
use crate::core::{Core, DEFAULT_MAX_RESPONSE_BYTES};
use crate::error::{Error, Result};
use crate::retry::RetryPolicy;

/// Builds a client; start with [`Client::builder`] (the v1 API) or
/// [`product::Client::builder`](crate::product::Client::builder) (the `/product` API). Both
/// clients take the same options; `C` is the client that [`build`](Self::build) returns.
///
/// Building sends nothing: it checks the base URL and the credential, and fails with
/// [`Error::Config`] when one cannot be used.
///
/// ```
/// use std::time::Duration;
///
/// use memos_api::{product, v1, RetryPolicy};
///
/// # fn main() -> memos_api::Result<()> {
/// let client = v1::Client::builder("https://memos.example.com/api")
///     .bearer_token("my-token")
///     .timeout(Duration::from_secs(30))
///     .retry_policy(RetryPolicy::default())
///     .build()?;
/// assert_eq!(client.base_url(), "https://memos.example.com/api");
///
/// // The same options build a client of the /product API.
/// let product = product::Client::builder("http://127.0.0.1:8000").build()?;
/// # let _ = product;
///
/// // A base URL that is not an absolute http(s) URL is refused before anything is sent.
/// let err = v1::Client::builder("memos.example.com").build().unwrap_err();
/// assert!(matches!(err, memos_api::Error::Config(_)));
/// # Ok(())
/// # }
/// ```
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
    /// The cap on one event of an event stream (and on the bytes between two events).
    max_event_bytes: u64,
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
            max_event_bytes: crate::DEFAULT_MAX_EVENT_BYTES,
        }
    }

    /// Sends `Authorization: Bearer <token>` with every request. The token never shows in
    /// `Debug` output or errors.
    ///
    /// ```
    /// let client = memos_api::v1::Client::builder("http://127.0.0.1:8000")
    ///     .bearer_token("tok-secret-1")
    ///     .build()?;
    /// assert!(!format!("{client:?}").contains("tok-secret-1"));
    /// # Ok::<(), memos_api::Error>(())
    /// ```
    pub fn bearer_token(mut self, token: impl Into<String>) -> Self {
        self.auth = Some(Auth::Bearer(Secret::new(token)));
        self
    }

    /// Sends `Authorization: Token <key>` with every request (the hosted service's keys).
    ///
    /// ```
    /// let client = memos_api::v1::Client::builder("https://memos.example.com")
    ///     .api_key("mk-123")
    ///     .build()?;
    /// // Over https the key is never sent in clear text.
    /// assert!(!client.credential_in_cleartext());
    /// # Ok::<(), memos_api::Error>(())
    /// ```
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
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// // Chat on a slow model: up to 5 minutes per try, but give up connecting after 3 s.
    /// let client = memos_api::v1::Client::builder("http://127.0.0.1:8000")
    ///     .timeout(Duration::from_secs(300))
    ///     .connect_timeout(Duration::from_secs(3))
    ///     .build()?;
    /// # let _ = client;
    /// # Ok::<(), memos_api::Error>(())
    /// ```
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
    ///
    /// ```
    /// use memos_api::{v1::Client, RetryPolicy};
    ///
    /// // A caller with retries of its own: one try per call.
    /// let client = Client::builder("http://127.0.0.1:8000")
    ///     .retry_policy(RetryPolicy::none())
    ///     .build()?;
    /// # let _ = client;
    /// # Ok::<(), memos_api::Error>(())
    /// ```
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// The largest success answer, in bytes, the client reads (default
    /// [`DEFAULT_MAX_RESPONSE_BYTES`], 64 MiB). A larger one fails with
    /// [`Error::ResponseTooLarge`] as soon as it passes the cap, or at once when its
    /// `Content-Length` says so. Error answers are capped at the smaller of this and
    /// [`MAX_ERROR_BODY_BYTES`](crate::MAX_ERROR_BODY_BYTES).
    ///
    /// ```no_run
    /// use memos_api::{v1::Client, Error};
    ///
    /// # async fn demo() -> memos_api::Result<()> {
    /// let client = Client::builder("http://127.0.0.1:8000")
    ///     .max_response_bytes(8 * 1024 * 1024)
    ///     .build()?;
    /// match client.list_memories(Some("notes"), Some("alice")).await {
    ///     Ok(memories) => println!("{memories:?}"),
    ///     Err(Error::ResponseTooLarge { limit, .. }) => {
    ///         eprintln!("the cube's memories are larger than {limit} bytes: ask for less");
    ///     }
    ///     Err(other) => return Err(other),
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn max_response_bytes(mut self, bytes: u64) -> Self {
        self.max_response_bytes = bytes;
        self
    }

    /// Whether to follow redirects (default: no). A followed 307/308 re-sends the request,
    /// body included, so even when enabled the client follows at most 5 redirects and only
    /// within the base URL's origin (scheme, host and port); any other redirect fails with
    /// [`Error::Redirect`], naming where it pointed.
    ///
    /// ```
    /// // A server behind a proxy that adds a trailing slash with a 307.
    /// let client = memos_api::v1::Client::builder("http://127.0.0.1:8000")
    ///     .follow_redirects(true)
    ///     .build()?;
    /// # let _ = client;
    /// # Ok::<(), memos_api::Error>(())
    /// ```
    pub fn follow_redirects(mut self, follow: bool) -> Self {
        self.follow_redirects = follow;
        self
    }

    /// Sets the longest wait for the next bytes of an event stream (`None`: the
    /// [`timeout`](Self::timeout)); only [`product::Client`](crate::product::Client) has streams.
    pub(crate) fn set_idle_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.idle_timeout = timeout;
        self
    }

    /// Sets the cap on one event of an event stream; only
    /// [`product::Client`](crate::product::Client) has streams.
    pub(crate) fn set_max_event_bytes(mut self, bytes: u64) -> Self {
        self.max_event_bytes = bytes;
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
            max_event_bytes: self.max_event_bytes.min(self.max_response_bytes),
            cleartext,
        })
    }
}

/// What it takes to build the HTTP client again (see `Core::renew_connections`).
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
