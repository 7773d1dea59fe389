//! Small helpers shared by the commands: file reading with context, hashing, diffs.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Context as _;
use sha2::{Digest as _, Sha256};

/// The command that regenerates every checked-in artefact; quoted in every staleness message.
pub const CODEGEN_COMMAND: &str = "cargo xtask codegen";

/// Reads a text file, naming it in the error.
pub fn read_text(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

/// Lowercase hex SHA-256 of the bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .fold(String::with_capacity(64), |mut hex, byte| {
            let _ = write!(hex, "{byte:02x}");
            hex
        })
}

/// Parses YAML (or JSON, which YAML accepts) into a JSON value.
///
/// Goes through `serde_yaml_ng::Value` first because YAML allows non-string mapping keys
/// (an unquoted `200:` status) that `serde_json::Value` would refuse; they become strings.
pub fn parse_yaml_or_json(text: &str) -> anyhow::Result<serde_json::Value> {
    let yaml: serde_yaml_ng::Value = serde_yaml_ng::from_str(text)?;
    Ok(yaml_to_json(yaml))
}

fn yaml_to_json(value: serde_yaml_ng::Value) -> serde_json::Value {
    use serde_json::Value as J;
    use serde_yaml_ng::Value as Y;
    match value {
        Y::Null => J::Null,
        Y::Bool(b) => J::Bool(b),
        Y::Number(n) => {
            if let Some(i) = n.as_i64() {
                J::from(i)
            } else if let Some(u) = n.as_u64() {
                J::from(u)
            } else {
                n.as_f64()
                    .and_then(serde_json::Number::from_f64)
                    .map_or(J::Null, J::Number)
            }
        }
        Y::String(s) => J::String(s),
        Y::Sequence(items) => J::Array(items.into_iter().map(yaml_to_json).collect()),
        Y::Mapping(map) => J::Object(
            map.into_iter()
                .map(|(key, value)| (yaml_key(key), yaml_to_json(value)))
                .collect(),
        ),
        Y::Tagged(tagged) => yaml_to_json(tagged.value),
    }
}

fn yaml_key(key: serde_yaml_ng::Value) -> String {
    match key {
        serde_yaml_ng::Value::String(s) => s,
        other => match yaml_to_json(other) {
            serde_json::Value::String(s) => s,
            json => json.to_string(),
        },
    }
}

/// A unified diff of `old` (the checked-in text) against `new` (what it should be), cut to
/// `max_lines` so a wholly different file does not flood the terminal.
pub fn short_diff(old: &str, new: &str, label: &str, max_lines: usize) -> String {
    let diff = similar::TextDiff::from_lines(old, new);
    let full = diff
        .unified_diff()
        .context_radius(2)
        .header(
            &format!("{label} (checked in)"),
            &format!("{label} (expected)"),
        )
        .to_string();
    let lines: Vec<&str> = full.lines().collect();
    if lines.len() <= max_lines {
        return full;
    }
    let mut out = lines[..max_lines].join("\n");
    let _ = write!(out, "\n... {} more diff lines", lines.len() - max_lines);
    out
}

/// Indents every line of `text` by `prefix` (for nesting multi-line messages).
pub fn indent(text: &str, prefix: &str) -> String {
    text.lines()
        .map(|line| {
            if line.is_empty() {
                String::new()
            } else {
                format!("{prefix}{line}")
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_of_empty_input() {
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn yaml_integer_keys_become_strings() {
        let json = parse_yaml_or_json("responses:\n  200: {description: ok}\n").unwrap();
        assert_eq!(json["responses"]["200"]["description"], "ok");
    }

    #[test]
    fn long_diffs_are_cut() {
        let old: String = (0..100).map(|i| format!("{i}\n")).collect();
        let diff = short_diff(&old, "", "f", 10);
        assert!(diff.ends_with("more diff lines"), "{diff}");
        assert_eq!(diff.lines().count(), 11);
    }
}
