//! The integration tests of `memos-loader`, in one binary (one link instead of one per
//! file).

mod formats;
mod graph;
mod hardening;
mod hostile;
mod mock;
mod refserver;

use std::path::Path;

use memos_loader::{ContentOptions, Input, Source, Target};

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
