//! Generates the client from `openapi/memos.yaml` with progenitor into `OUT_DIR`.
//!
//! The generated code is never edited by hand; `cargo xtask codegen` writes a
//! pretty-printed copy next to the spec for review.

use std::path::Path;

fn main() {
    let spec_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../openapi/memos.yaml");
    println!("cargo:rerun-if-changed={}", spec_path.display());

    let code = match generate(&spec_path) {
        Ok(code) => code,
        Err(err) => {
            // A build script reports errors by failing; say which file and why.
            eprintln!(
                "error: cannot generate the client from {}: {err}",
                spec_path.display()
            );
            std::process::exit(1);
        }
    };
    let out =
        Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("generated.rs");
    if let Err(err) = std::fs::write(&out, code) {
        eprintln!("error: cannot write {}: {err}", out.display());
        std::process::exit(1);
    }
}

fn generate(spec_path: &Path) -> Result<String, Box<dyn std::error::Error>> {
    let text = std::fs::read_to_string(spec_path)?;
    let spec: openapiv3::OpenAPI = serde_yaml_ng::from_str(&text)?;
    let mut settings = progenitor::GenerationSettings::new();
    settings.with_interface(progenitor::InterfaceStyle::Builder);
    settings.with_derive("PartialEq");
    let mut generator = progenitor::Generator::new(&settings);
    let tokens = generator.generate_tokens(&spec)?;
    let file: syn::File = syn::parse2(tokens)?;
    // progenitor's per-method examples are illustrative fragments marked `ignore`; as `text`
    // they still render in the docs but do not count as ignored doc tests.
    Ok(prettyplease::unparse(&file).replace("```ignore", "```text"))
}
