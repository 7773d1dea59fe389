//! The server an import talks to: the v1 API ([`memos_api::v1::Client`]) or the `/product`
//! API ([`memos_api::product::Client`]). One engine serves both; what differs is how a record
//! is sent, what acknowledges it, and how records in doubt are found on resume.

use std::fmt;

use memos_api::{product, v1::Client};

/// Which MemOS API an import goes through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Api {
    /// The v1 API (`/users`, `/mem_cubes`, `/memories`; MemoryOS up to 2.0.10).
    V1,
    /// The `/product` API (MemoryOS 2.0.33, `memos.api.server_api:app`).
    Product,
}

impl Api {
    /// Its name in checkpoints and messages: `v1` or `product`.
    pub fn name(self) -> &'static str {
        match self {
            Api::V1 => "v1",
            Api::Product => "product",
        }
    }
}

impl fmt::Display for Api {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A client of either API, as [`import`](crate::import) and the set-up functions take it.
///
/// `&Client`, `Client`, `&product::Client` and `product::Client` all convert into it (clients
/// are cheap to clone: they share one connection pool), so `import(&client, ...)` works
/// with either.
#[derive(Debug, Clone)]
pub enum Server {
    /// The v1 API.
    V1(Client),
    /// The `/product` API.
    Product(product::Client),
}

impl Server {
    /// The API it speaks.
    pub fn api(&self) -> Api {
        match self {
            Server::V1(_) => Api::V1,
            Server::Product(_) => Api::Product,
        }
    }

    /// The base URL requests go to.
    pub fn base_url(&self) -> &str {
        match self {
            Server::V1(client) => client.base_url(),
            Server::Product(client) => client.base_url(),
        }
    }
}

impl From<Client> for Server {
    fn from(client: Client) -> Self {
        Server::V1(client)
    }
}

impl From<&Client> for Server {
    fn from(client: &Client) -> Self {
        Server::V1(client.clone())
    }
}

impl From<product::Client> for Server {
    fn from(client: product::Client) -> Self {
        Server::Product(client)
    }
}

impl From<&product::Client> for Server {
    fn from(client: &product::Client) -> Self {
        Server::Product(client.clone())
    }
}

impl From<&Server> for Server {
    fn from(server: &Server) -> Self {
        server.clone()
    }
}
