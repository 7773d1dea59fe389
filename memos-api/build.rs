//! Generates the client from `openapi/memos.yaml` with progenitor into `OUT_DIR`.
//!
//! The generated code is never edited by hand; `cargo xtask codegen` writes the same output
//! (from the same `memos-codegen` function) to a checked-in copy for review.

use std::path::Path;

fn main() {
    let spec_path = memos_codegen::spec_path_from(Path::new(env!("CARGO_MANIFEST_DIR")));
    println!("cargo:rerun-if-changed={}", spec_path.display());

    let code = std::fs::read_to_string(&spec_path)
        .map_err(|err| err.to_string())
        .and_then(|text| memos_codegen::generate_client(&text).map_err(|err| err.to_string()));
    let code = match code {
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
