//! Turns `openapi/memos.yaml` (and `openapi/memos-product.yaml`) into Rust source: the
//! client, with progenitor ([`generate_client`]), and the methods of the hand-written client
//! around it with each operation's retry rule ([`generate_methods`], see `methods.rs`).
//!
//! Used by `memos-api`'s build script (which compiles the output) and by `cargo xtask
//! codegen` (which writes reviewable copies), so the two can never disagree.

mod methods;

use std::error::Error;

pub use methods::{RETRY_EXTENSION, WRAPPER_EXTENSION};

type BoxError = Box<dyn Error + Send + Sync>;

/// The spec, relative to the workspace root and to `memos-api`'s package root (whose
/// `openapi/` is a symlink to the workspace's, so the spec travels inside its package).
pub const SPEC_PATH: &str = "openapi/memos.yaml";

/// The spec of the `/product` API (MemoryOS 2.0.33), relative to the same roots as
/// [`SPEC_PATH`].
pub const PRODUCT_SPEC_PATH: &str = "openapi/memos-product.yaml";

/// Parses the spec text (OpenAPI 3.0 YAML).
pub fn parse_spec(text: &str) -> Result<openapiv3::OpenAPI, BoxError> {
    Ok(serde_yaml_ng::from_str(text)?)
}

/// Generates the client (progenitor, builder interface style) as formatted Rust source.
pub fn generate_client(spec_text: &str) -> Result<String, BoxError> {
    let spec = parse_spec(spec_text)?;
    let (_, tokens) = progenitor_client(&spec)?;
    // progenitor's per-method examples are illustrative fragments marked `ignore`; as `text`
    // they still render in the docs but do not count as ignored doc tests.
    Ok(format(tokens)?.replace("```ignore", "```text"))
}

/// Generates the methods of the hand-written client of the spec and the retry rule of each
/// operation (from `x-memos-retry`), as formatted Rust source. Fails on an operation without
/// the extension, naming it.
pub fn generate_methods(spec_text: &str) -> Result<String, BoxError> {
    let spec = parse_spec(spec_text)?;
    let (generator, _) = progenitor_client(&spec)?;
    format(methods::generate(&spec, generator.get_type_space())?)
}

/// Runs progenitor on the spec: the generator (whose type space names every type) and the
/// client's source, unformatted.
fn progenitor_client(
    spec: &openapiv3::OpenAPI,
) -> Result<(progenitor::Generator, String), BoxError> {
    let mut settings = progenitor::GenerationSettings::new();
    settings.with_interface(progenitor::InterfaceStyle::Builder);
    settings.with_derive("PartialEq");
    let mut generator = progenitor::Generator::new(&settings);
    let tokens = generator
        .generate_tokens(spec)
        .map_err(|err| format!("progenitor: {err}"))?;
    Ok((generator, tokens.to_string()))
}

/// Rust source as `prettyplease` prints it.
fn format(code: String) -> Result<String, BoxError> {
    let file: syn::File = syn::parse_str(&code)?;
    Ok(prettyplease::unparse(&file))
}
