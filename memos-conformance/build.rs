//! Embeds every `snapshots/*.snap` file (the `naive_text` set), every
//! `snapshots/<backend>/*.snap` file (the other backends' sets) and every
//! `snapshots/product/*.snap` file (the product API's set) in the library, so the binary
//! can replay the recorded exchanges (the mock) from any directory.

use std::fmt::Write as _;
use std::path::Path;

/// The subdirectories holding another set: another backend's, or the product API's.
const SET_DIRS: [&str; 3] = ["general_text", "tree_text", "product"];

/// `(case name, file path)` of every `.snap` file directly in `dir`.
fn snap_files(dir: &Path) -> Vec<(String, String)> {
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut names = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            let Some(file) = path.file_name().and_then(|n| n.to_str()) else {
                continue;
            };
            // `.snap.new` and `.pending-snap` files are unreviewed and never embedded.
            if let Some(case) = file.strip_suffix(".snap") {
                println!("cargo:rerun-if-changed={}", path.display());
                names.push((case.to_owned(), path.display().to_string()));
            }
        }
    }
    names.sort();
    names
}

fn main() {
    let manifest = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".into());
    let dir = Path::new(&manifest).join("snapshots");
    let mut out = String::from(
        "/// `(set directory, case name, snapshot file text)` of every recorded case; the\n\
         /// `naive_text` set's directory is `\"\"`.\n",
    );
    out.push_str("pub static EMBEDDED: &[(&str, &str, &str)] = &[\n");
    let sets = std::iter::once(("", dir.clone())).chain(SET_DIRS.iter().map(|b| (*b, dir.join(b))));
    for (backend, set_dir) in sets {
        for (case, path) in snap_files(&set_dir) {
            let _ = writeln!(out, "    ({backend:?}, {case:?}, include_str!({path:?})),");
        }
    }
    out.push_str("];\n");
    let out_dir = std::env::var("OUT_DIR").unwrap_or_else(|_| ".".into());
    if let Err(e) = std::fs::write(Path::new(&out_dir).join("embedded_snapshots.rs"), out) {
        panic!("cannot write the embedded snapshot list into {out_dir}: {e}");
    }
}
