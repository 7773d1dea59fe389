//! Where the repository keeps each API's files: its spec, the server's own document it is
//! compared with, and the allow-list of their deliberate differences.
//!
//! The APIs themselves are `memos_refserver::Api`, the one name for them that the reference
//! server also uses. The v1 API keeps the paths it always had, so its commands and outputs
//! are unchanged; the product API sits beside it.

pub use memos_refserver::Api;

/// The v1 API's reference document (see [`ApiFiles::reference_doc`]).
pub const V1_REFERENCE_DOC: &str = "openapi/reference/memos-v1-MemoryOS-2.0.10.openapi.json";
/// The v1 API's drift allow-list.
pub const V1_ALLOWLIST: &str = "openapi/drift-allowlist.yaml";

/// The files of one API, relative to the workspace root.
pub trait ApiFiles {
    /// The handwritten spec.
    fn spec_path(self) -> &'static str;
    /// The reference server's own OpenAPI document. Named by server version so that a
    /// newer server's document sits beside it rather than over it; see
    /// `openapi/reference/README.md`.
    fn reference_doc(self) -> &'static str;
    /// The drift allow-list.
    fn allowlist_path(self) -> &'static str;
}

impl ApiFiles for Api {
    fn spec_path(self) -> &'static str {
        match self {
            Api::V1 => crate::codegen::SPEC_PATH,
            Api::Product => memos_codegen::PRODUCT_SPEC_PATH,
        }
    }

    fn reference_doc(self) -> &'static str {
        match self {
            Api::V1 => V1_REFERENCE_DOC,
            Api::Product => "openapi/reference/memos-product-MemoryOS-2.0.33.openapi.json",
        }
    }

    fn allowlist_path(self) -> &'static str {
        match self {
            Api::V1 => V1_ALLOWLIST,
            Api::Product => "openapi/drift-allowlist-product.yaml",
        }
    }
}
