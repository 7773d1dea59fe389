//! Generates the clients from `openapi/memos.yaml` (v1) and `openapi/memos-product.yaml`
//! (the `/product` API) with progenitor into `OUT_DIR`, and the methods and retry rules of
//! the hand-written clients around them.
//!
//! It reads them through this package's own `openapi/`, a symlink to the workspace's, so
//! that a packed `.crate` carries the specs and builds on its own.
//!
//! The generated code is never edited by hand; `cargo xtask codegen` writes the same output
//! (from the same `memos-codegen` function) to checked-in copies for review.

use std::path::Path;

fn main() {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out_dir = std::env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    let out_dir = Path::new(&out_dir);
    for (spec, client, methods) in [
        (
            memos_codegen::SPEC_PATH,
            "generated.rs",
            "generated_methods.rs",
        ),
        (
            memos_codegen::PRODUCT_SPEC_PATH,
            "generated_product.rs",
            "generated_product_methods.rs",
        ),
    ] {
        let spec_path = crate_dir.join(spec);
        println!("cargo:rerun-if-changed={}", spec_path.display());
        generate(
            &spec_path,
            &out_dir.join(client),
            memos_codegen::generate_client,
        );
        generate(
            &spec_path,
            &out_dir.join(methods),
            memos_codegen::generate_methods,
        );
    }
}

type Generate = fn(&str) -> Result<String, Box<dyn std::error::Error + Send + Sync>>;

/// Writes what `generate` makes of the spec at `spec_path` to `out`, or ends the build with
/// the reason.
fn generate(spec_path: &Path, out: &Path, generate: Generate) {
    let code = std::fs::read_to_string(spec_path)
        .map_err(|err| err.to_string())
        .and_then(|text| generate(&text).map_err(|err| err.to_string()));
    let code = match code {
        Ok(code) => code,
        Err(err) => {
            // A build script reports errors by failing; say which file and why.
            eprintln!(
                "error: cannot generate code from {}: {err}",
                spec_path.display()
            );
            std::process::exit(1);
        }
    };
    if let Err(err) = std::fs::write(out, code) {
        eprintln!("error: cannot write {}: {err}", out.display());
        std::process::exit(1);
    }
}
