//! Which MemOS REST API a server speaks, and how the run learned it.
//!
//! MemoryOS up to 2.0.10 serves the v1 API (`memos.api.start_api:app`, `openapi/memos.yaml`);
//! later releases serve only the `/product` API (`memos.api.server_api:app`,
//! `openapi/memos-product.yaml`). The two share no operation, so each has its own spec, its
//! own cases and its own known-defect lists. Both publish `/openapi.json`, whose `info`
//! tells them apart.

use std::fmt;

use schemars::JsonSchema;
use serde::Serialize;

/// A MemOS REST API.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, JsonSchema, clap::ValueEnum,
)]
#[serde(rename_all = "snake_case")]
#[value(rename_all = "snake_case")]
pub enum Api {
    /// `/users`, `/mem_cubes`, `/memories`, `/search`, `/chat`, ... (`openapi/memos.yaml`).
    #[default]
    V1,
    /// `/product/...` and `/health` (`openapi/memos-product.yaml`).
    Product,
}

/// `info.title` of the product server's own document (FastAPI's `title`).
const PRODUCT_TITLE: &str = "MemOS Server REST APIs";

impl Api {
    /// `v1` or `product`.
    pub fn as_str(self) -> &'static str {
        match self {
            Api::V1 => "v1",
            Api::Product => "product",
        }
    }

    /// The API a server speaks, from `info.title` of its `/openapi.json`: the product
    /// server calls itself "MemOS Server REST APIs" (1.0.1 in MemoryOS 2.0.33), the v1
    /// server "MemOS REST APIs" (1.0.0). The version is not consulted: a later release
    /// of either keeps its title. Anything else is taken for v1, the API this suite
    /// was first written for (and the default without a document).
    pub fn from_title(title: &str) -> Api {
        if title.trim() == PRODUCT_TITLE {
            Api::Product
        } else {
            Api::V1
        }
    }

    /// The API of a server whose known-defect key (`"<info.title> <info.version>"`) is
    /// `key`.
    pub fn from_server_version(key: &str) -> Api {
        Api::from_title(key.rsplit_once(' ').map_or(key, |(title, _)| title))
    }
}

impl fmt::Display for Api {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How the run learned the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiSource {
    /// `--api`.
    Option,
    /// The server's `/openapi.json`.
    Detected,
    /// The mock's snapshot set: the API of the server it was recorded from.
    Mock,
    /// The server published no usable document: v1 is assumed.
    Assumed,
}

impl ApiSource {
    /// How the report says it.
    pub fn describe(self) -> &'static str {
        match self {
            ApiSource::Option => "--api",
            ApiSource::Detected => "from info.title of the server's /openapi.json",
            ApiSource::Mock => "the mock's snapshot set",
            ApiSource::Assumed => "assumed: the server's /openapi.json did not say",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_title_tells_the_apis_apart() {
        assert_eq!(Api::from_title("MemOS Server REST APIs"), Api::Product);
        assert_eq!(Api::from_title("MemOS REST APIs"), Api::V1);
        assert_eq!(Api::from_title("Something else"), Api::V1);
        assert_eq!(
            Api::from_server_version("MemOS Server REST APIs 1.0.1"),
            Api::Product
        );
        assert_eq!(Api::from_server_version("MemOS REST APIs 1.0.0"), Api::V1);
    }
}
