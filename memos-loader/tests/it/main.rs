//! The integration tests of `memos-loader`, in one binary (one link instead of one per
//! file).

mod formats;
mod graph;
mod hardening;
mod hostile;
mod markers;
mod mock;
mod product;
mod refserver;

use std::path::Path;

use memos_loader::{ContentOptions, Input, Reconciliation, Source, Target};

/// The answer to an add that stored the record.
const OK_BODY: &str = r#"{"code":200,"message":"Memories added successfully","data":null}"#;

/// The user and cube every mock test imports into.
fn target() -> Target {
    Target {
        user_id: "u".into(),
        cube_id: "c".into(),
    }
}

/// One record per line of the file at `path`.
fn per_line(path: &Path) -> Source {
    Source::Content {
        inputs: vec![Input::Path(path.to_path_buf())],
        options: ContentOptions {
            chunk_size: 100,
            per_line: true,
        },
    }
}

/// A reconciliation's counts: in doubt, present, missing, partly present, cannot tell.
fn counts(report: &Reconciliation) -> [u64; 5] {
    [
        report.in_doubt,
        report.present,
        report.missing,
        report.partial,
        report.cannot_tell,
    ]
}

/// Rewrites the checkpoint at `path` as a run that died with records in flight leaves
/// it: only the `acked` ranges acknowledged, and, if given, every record below
/// `sent_below` possibly sent.
fn as_if_killed(path: &Path, acked: &[[u64; 2]], sent_below: Option<u64>) {
    let mut ck: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    ck["acked"] = serde_json::json!(acked);
    ck["complete"] = serde_json::json!(false);
    if let Some(sent_below) = sent_below {
        ck["sent_below"] = serde_json::json!(sent_below);
    }
    std::fs::write(path, serde_json::to_vec(&ck).unwrap()).unwrap();
}
