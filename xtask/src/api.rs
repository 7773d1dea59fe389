//! The APIs the repository describes, each with its spec, the server's own document it is
//! compared with, and the allow-list of their deliberate differences.
//!
//! The v1 API (`memos.api.start_api:app`, removed upstream after MemoryOS 2.0.10) keeps the
//! paths it always had, so its commands and outputs are unchanged; the product API
//! (`memos.api.server_api:app`, MemoryOS 2.0.33) sits beside it.

use clap::ValueEnum;

/// One described API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Api {
    /// `openapi/memos.yaml`, the v1 API of MemoryOS 2.0.10.
    V1,
    /// `openapi/memos-product.yaml`, the `/product` API of MemoryOS 2.0.33.
    Product,
}

impl Api {
    /// Every API, in the order `cargo xtask check` runs their steps.
    pub const ALL: [Api; 2] = [Api::V1, Api::Product];

    /// The handwritten spec, relative to the workspace root.
    pub const fn spec_path(self) -> &'static str {
        match self {
            Api::V1 => crate::codegen::SPEC_PATH,
            Api::Product => memos_codegen::PRODUCT_SPEC_PATH,
        }
    }

    /// The reference server's own OpenAPI document, relative to the workspace root. Named by
    /// server version so that a newer server's document sits beside it rather than over it;
    /// see `openapi/reference/README.md`.
    pub const fn reference_doc(self) -> &'static str {
        match self {
            Api::V1 => "openapi/reference/memos-v1-MemoryOS-2.0.10.openapi.json",
            Api::Product => "openapi/reference/memos-product-MemoryOS-2.0.33.openapi.json",
        }
    }

    /// The drift allow-list, relative to the workspace root.
    pub const fn allowlist_path(self) -> &'static str {
        match self {
            Api::V1 => "openapi/drift-allowlist.yaml",
            Api::Product => "openapi/drift-allowlist-product.yaml",
        }
    }
}
