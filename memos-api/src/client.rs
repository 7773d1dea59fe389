//! The v1 client ([`crate::v1::Client`]): one method per operation of `openapi/memos.yaml`
//! around the generated [`crate::v1::raw::Client`], on the shared layer of `core.rs`
//! (retries, caps, one error type) as `builder.rs` configures it. The methods and each
//! operation's retry rule are generated from the spec; this file holds what is not.

use std::fmt;
use std::sync::Arc;

use progenitor_client::{ClientHooks, ClientInfo, OperationInfo};

use crate::builder::{ClientBuilder, Generated, HttpSettings};
use crate::core::{exec_capped, record_status, Answer, Core, RawResult};
use crate::error::Result;
use crate::retry::idempotency;
use crate::v1::{raw, types};

/// Overrides the generated client's no-op hooks (progenitor implements them for
/// `&raw::Client`; an impl for `raw::Client` takes precedence).
impl ClientHooks<()> for raw::Client {
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

impl ClientBuilder<Client> {
    /// Builds the client. Fails on a base URL that is not an absolute http(s) URL or on a
    /// credential that cannot be sent in a header.
    pub fn build(self) -> Result<Client> {
        Ok(Client {
            inner: Arc::new(self.core()?),
        })
    }
}

impl Generated for raw::Client {
    fn connect(http: &HttpSettings, base_url: &str) -> Result<Self> {
        Ok(raw::Client::new_with_client(base_url, http.http_client()?))
    }
}

/// A MemOS client: one method per operation of the API, each returning the envelope's
/// `data` and failing with [`Error`](crate::Error).
///
/// Cloning is cheap and shares the connection pool.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Core<raw::Client>>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.debug_as("Client", f)
    }
}

impl Client {
    /// Starts building a client for the server at `base_url`, e.g. `http://127.0.0.1:8000`
    /// (include the path prefix, such as `/api`, if the deployment has one).
    ///
    /// ```no_run
    /// use std::time::Duration;
    ///
    /// use memos_api::{v1::Client, RetryPolicy};
    ///
    /// # async fn demo() -> memos_api::Result<()> {
    /// let client = Client::builder("https://memos.example.org/api")
    ///     .bearer_token(std::env::var("MEMOS_TOKEN").unwrap_or_default())
    ///     .timeout(Duration::from_secs(30))
    ///     .retry_policy(RetryPolicy::none())
    ///     .build()?;
    /// for user in client.list_users().await? {
    ///     println!("{}", user.user_id);
    /// }
    /// # Ok(())
    /// # }
    /// ```
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
    pub fn raw(&self) -> Arc<raw::Client> {
        self.inner.raw()
    }

    /// Sends a request built by `make`, retried as the operation's rule
    /// ([`RETRY_RULES`], from the spec) and the policy allow.
    async fn send<T, F>(&self, operation: &'static str, make: F) -> Result<T>
    where
        F: for<'a> FnMut(&'a raw::Client) -> RawResult<'a, T, types::ErrorBody>,
        T: Answer,
    {
        let idempotency = idempotency(&RETRY_RULES, operation);
        self.inner.send(operation, idempotency, None, make).await
    }
}

/// The generated client that answers JSON (the methods of `generated_methods.rs` ask each
/// client for it; v1 has no other).
fn json(raw: &raw::Client) -> &raw::Client {
    raw
}

// One method per operation of `openapi/memos.yaml`, and `RETRY_RULES`, generated by
// `memos_codegen::generate_methods` (review copy: `memos-api/generated/client_methods.rs`).
include!(concat!(env!("OUT_DIR"), "/generated_methods.rs"));

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
