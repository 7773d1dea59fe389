//! The v1 client users reach first: one method per operation of `openapi/memos.yaml` around
//! the generated [`crate::v1::raw::Client`], on the shared layer of `core.rs` (retries, caps,
//! one error type) as `builder.rs` configures it.

use std::fmt;
use std::sync::Arc;

use futures::future::FutureExt;

use progenitor_client::{ClientHooks, ClientInfo, OperationInfo};

use crate::builder::{ClientBuilder, Generated, HttpSettings};
use crate::core::{
    body, envelope, exec_capped, path_param, record_status, Answer, Core, RawResult,
};
use crate::error::Result;
use crate::retry::Idempotency::{self, Idempotent, NonIdempotent};
use crate::v1::types;

/// Overrides the generated client's no-op hooks (progenitor implements them for
/// `&raw::Client`; an impl for `raw::Client` takes precedence).
impl ClientHooks<()> for crate::v1::raw::Client {
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

impl Generated for crate::v1::raw::Client {
    fn connect(http: &HttpSettings, base_url: &str) -> Result<Self> {
        Ok(crate::v1::raw::Client::new_with_client(
            base_url,
            http.http_client()?,
        ))
    }
}

/// A MemOS client: one method per operation of the API, each returning the envelope's
/// `data` and failing with [`Error`](crate::Error).
///
/// Cloning is cheap and shares the connection pool.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Core<crate::v1::raw::Client>>,
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
    pub fn raw(&self) -> Arc<crate::v1::raw::Client> {
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
        F: for<'a> FnMut(&'a crate::v1::raw::Client) -> RawResult<'a, T, types::ErrorBody>,
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
