//! Embeds every `snapshots/*.snap` file in the library, so the binary can replay the
//! recorded exchanges (the mock) from any directory.

use std::fmt::Write as _;
use std::path::Path;

fn main() {
    let manifest = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".into());
    let dir = Path::new(&manifest).join("snapshots");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut names: Vec<(String, String)> = Vec::new();
    if let Ok(entries) = std::fs::read_dir(&dir) {
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
    let mut out = String::from("/// `(case name, snapshot file text)` of every recorded case.\n");
    out.push_str("pub static EMBEDDED: &[(&str, &str)] = &[\n");
    for (case, path) in &names {
        let _ = writeln!(out, "    ({case:?}, include_str!({path:?})),");
    }
    out.push_str("];\n");
    let out_dir = std::env::var("OUT_DIR").unwrap_or_else(|_| ".".into());
    if let Err(e) = std::fs::write(Path::new(&out_dir).join("embedded_snapshots.rs"), out) {
        panic!("cannot write the embedded snapshot list into {out_dir}: {e}");
    }
}
