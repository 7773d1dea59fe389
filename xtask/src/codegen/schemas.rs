//! JSON Schemas (schemars) of what users feed to or read from the tools, so that editors,
//! scripts and other languages can validate those files without reading Rust.

use std::path::Path;

use anyhow::Context as _;
use memos_conformance::report;
use memos_loader::records as loader;

use super::spec::{Spec, PREAMBLE};

/// Where the schema files live, relative to the workspace root.
pub const SCHEMA_DIR: &str = "schemas";

/// One schema file: its path and the Rust type it describes.
pub struct SchemaArtefact {
    pub path: &'static str,
    pub generate: fn() -> schemars::Schema,
}

impl SchemaArtefact {
    /// A registry entry for type `T`, written to `path` (`schemas/NAME.schema.json`). `T`
    /// must derive `schemars::JsonSchema`, and its crate must be a dependency of xtask.
    pub const fn of<T: schemars::JsonSchema>(path: &'static str) -> SchemaArtefact {
        SchemaArtefact {
            path,
            generate: schema_of::<T>,
        }
    }
}

fn schema_of<T: schemars::JsonSchema>() -> schemars::Schema {
    schemars::schema_for!(T)
}

/// The registry. Adding a schema is one line here, e.g.
/// `SchemaArtefact::of::<my_crate::Thing>("schemas/thing.schema.json"),`;
/// `cargo xtask codegen` then writes it and `cargo xtask codegen --check` keeps it fresh.
pub const SCHEMAS: &[SchemaArtefact] = &[
    // `memos-conformance --format json` output.
    SchemaArtefact::of::<report::Report>("schemas/conformance-report.schema.json"),
    // `memos load messages` input: one line of a messages JSONL file.
    SchemaArtefact::of::<loader::MessagesLine>("schemas/loader-messages-line.schema.json"),
    // `memos load messages` input: a JSON file holding one `{"messages": [...]}`.
    SchemaArtefact::of::<loader::OpenAiConversation>("schemas/loader-conversation.schema.json"),
    // `memos load messages` input: a JSON file holding an array of sessions.
    SchemaArtefact::of::<loader::SessionArray>("schemas/loader-sessions.schema.json"),
];

/// The file's text: the schema with the preamble as its `$comment` (JSON has no comments;
/// `$comment` is the JSON Schema keyword meant for notes to maintainers), keys sorted.
///
/// Sorting makes the text independent of serde_json's `preserve_order` feature, which any
/// crate in a workspace build may switch on and which would otherwise reorder the keys
/// between `cargo xtask codegen` and `cargo test --workspace`.
pub fn render(entry: &SchemaArtefact, spec: &Spec) -> anyhow::Result<String> {
    let mut schema = serde_json::to_value((entry.generate)())
        .with_context(|| format!("cannot serialise the schema for {}", entry.path))?;
    if let Some(object) = schema.as_object_mut() {
        object.insert(
            "$comment".to_owned(),
            serde_json::Value::String(spec.preamble()),
        );
    }
    let mut text = serde_json::to_string_pretty(&sorted(schema))
        .with_context(|| format!("cannot serialise the schema for {}", entry.path))?;
    text.push('\n');
    Ok(text)
}

fn sorted(value: serde_json::Value) -> serde_json::Value {
    match value {
        serde_json::Value::Object(object) => {
            let mut entries: Vec<_> = object.into_iter().collect();
            entries.sort_by(|(a, _), (b, _)| a.cmp(b));
            serde_json::Value::Object(
                entries
                    .into_iter()
                    .map(|(key, value)| (key, sorted(value)))
                    .collect(),
            )
        }
        serde_json::Value::Array(items) => {
            serde_json::Value::Array(items.into_iter().map(sorted).collect())
        }
        other => other,
    }
}

/// Generated files in `schemas/` that no registry entry produces (hand-written files, which
/// lack the preamble, are left alone).
pub fn orphans(root: &Path) -> anyhow::Result<Vec<String>> {
    let dir = root.join(SCHEMA_DIR);
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(err) => return Err(err).with_context(|| format!("cannot list {}", dir.display())),
    };
    let mut orphans = Vec::new();
    for entry in entries {
        let entry = entry.with_context(|| format!("cannot list {}", dir.display()))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let relative = format!("{SCHEMA_DIR}/{name}");
        if !name.ends_with(".json") || SCHEMAS.iter().any(|known| known.path == relative) {
            continue;
        }
        // An unreadable or non-UTF-8 file is not ours; leave it.
        let generated = std::fs::read_to_string(entry.path())
            .map(|text| text.contains(PREAMBLE))
            .unwrap_or(false);
        if generated {
            orphans.push(relative);
        }
    }
    orphans.sort();
    Ok(orphans)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(schemars::JsonSchema)]
    #[allow(dead_code)]
    struct Sample {
        /// The name.
        name: String,
        count: Option<u32>,
    }

    const SAMPLE: SchemaArtefact = SchemaArtefact::of::<Sample>("schemas/sample.schema.json");

    #[test]
    fn rendered_schema_carries_the_preamble() {
        let spec = Spec::from_text("openapi: 3.0.3\n".into());
        let text = render(&SAMPLE, &spec).unwrap();
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(json["$comment"], spec.preamble());
        assert_eq!(json["title"], "Sample");
        assert_eq!(json["required"], serde_json::json!(["name"]));
        assert!(
            text.starts_with("{\n  \"$comment\""),
            "keys are sorted: {text}"
        );
    }

    #[test]
    fn registry_paths_are_unique_and_under_the_schema_dir() {
        let mut seen = std::collections::HashSet::new();
        for entry in SCHEMAS {
            assert!(entry.path.starts_with("schemas/"), "{}", entry.path);
            assert!(entry.path.ends_with(".schema.json"), "{}", entry.path);
            assert!(seen.insert(entry.path), "{} is listed twice", entry.path);
        }
    }
}
