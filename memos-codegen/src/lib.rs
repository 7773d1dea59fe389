//! Turns `openapi/memos.yaml` (and `openapi/memos-product.yaml`) into Rust source with
//! progenitor.
//!
//! One function, used by `memos-api`'s build script (which compiles the output) and by
//! `cargo xtask codegen` (which writes a reviewable copy), so the two can never disagree.

use std::error::Error;
use std::path::{Path, PathBuf};

/// The spec, relative to the workspace root.
pub const SPEC_PATH: &str = "openapi/memos.yaml";

/// The spec of the `/product` API (MemoryOS 2.0.33), relative to the workspace root.
pub const PRODUCT_SPEC_PATH: &str = "openapi/memos-product.yaml";

/// The path of the spec, from a crate directory one level below the workspace root.
pub fn spec_path_from(crate_dir: &Path) -> PathBuf {
    path_from(crate_dir, SPEC_PATH)
}

/// The path of `relative` (to the workspace root), from a crate directory one level below it.
pub fn path_from(crate_dir: &Path, relative: &str) -> PathBuf {
    crate_dir.join("..").join(relative)
}

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
