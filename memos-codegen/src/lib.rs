//! Turns `openapi/memos.yaml` (and `openapi/memos-product.yaml`) into Rust source with
//! progenitor.
//!
//! One function, used by `memos-api`'s build script (which compiles the output) and by
//! `cargo xtask codegen` (which writes a reviewable copy), so the two can never disagree.

use std::error::Error;

/// The spec, relative to the workspace root and to `memos-api`'s package root (whose
/// `openapi/` is a symlink to the workspace's, so the spec travels inside its package).
pub const SPEC_PATH: &str = "openapi/memos.yaml";

/// The spec of the `/product` API (MemoryOS 2.0.33), relative to the same roots as
/// [`SPEC_PATH`].
pub const PRODUCT_SPEC_PATH: &str = "openapi/memos-product.yaml";

/// Parses the spec text (OpenAPI 3.0 YAML).
pub fn parse_spec(text: &str) -> Result<openapiv3::OpenAPI, Box<dyn Error + Send + Sync>> {
    Ok(serde_yaml_ng::from_str(text)?)
}

/// Generates the client (progenitor, builder interface style) as formatted Rust source.
pub fn generate_client(spec_text: &str) -> Result<String, Box<dyn Error + Send + Sync>> {
    let spec = parse_spec(spec_text)?;
    let mut settings = progenitor::GenerationSettings::new();
    settings.with_interface(progenitor::InterfaceStyle::Builder);
    settings.with_derive("PartialEq");
    let mut generator = progenitor::Generator::new(&settings);
    let tokens = generator
        .generate_tokens(&spec)
        .map_err(|err| format!("progenitor: {err}"))?;
    let file: syn::File = syn::parse2(tokens)?;
    // progenitor's per-method examples are illustrative fragments marked `ignore`; as `text`
    // they still render in the docs but do not count as ignored doc tests.
    Ok(prettyplease::unparse(&file).replace("```ignore", "```text"))
}
