//! Which MemOS REST API a reference server speaks.

use std::fmt;
use std::str::FromStr;

/// The MemOS REST API of a reference server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Api {
    /// The v1 API (`memos.api.start_api:app`, MemoryOS 2.0.10): `/users`, `/mem_cubes`,
    /// `/memories`, `/search`, `/chat`, ... (the default).
    #[default]
    V1,
    /// The `/product` API (`memos.api.server_api:app`, MemoryOS 2.0.33), what MemOS
    /// ships today; its memories live in the private PostgreSQL graph store.
    Product,
}

impl Api {
    /// Both APIs.
    pub const ALL: [Api; 2] = [Api::V1, Api::Product];

    /// `v1` or `product`.
    pub fn as_str(self) -> &'static str {
        match self {
            Api::V1 => "v1",
            Api::Product => "product",
        }
    }

    /// The ASGI app uvicorn serves.
    pub fn app(self) -> &'static str {
        match self {
            Api::V1 => "memos.api.start_api:app",
            Api::Product => "memos.api.server_api:app",
        }
    }

    /// The PyPI release of MemoryOS that serves it.
    pub fn memos_version(self) -> &'static str {
        match self {
            Api::V1 => "2.0.10",
            Api::Product => "2.0.33",
        }
    }
}

impl fmt::Display for Api {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error of parsing an unknown API name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown MemOS API `{0}`: expected v1 or product")]
pub struct UnknownApi(String);

impl FromStr for Api {
    type Err = UnknownApi;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Api::ALL
            .into_iter()
            .find(|a| a.as_str() == s)
            .ok_or_else(|| UnknownApi(s.to_string()))
    }
}
