//! `openapi/drift-allowlist.yaml`: the deliberate, documented differences between our spec and
//! the server's own document.
//!
//! Strict on purpose, so an entry cannot hide a difference it does not name:
//! * unknown keys and unknown kinds are errors (a typo must not widen a rule);
//! * an entry without `operations` only covers `documentation` findings;
//! * for a `breaking` or `additive` finding the entry must list its operation, and its field
//!   and status when the finding has them;
//! * an entry, or an item of its `operations`/`field`/`status` lists, that matches nothing is
//!   reported as stale, so the file shrinks when the server catches up.

use std::path::Path;

use anyhow::Context as _;
use serde::Deserialize;

use super::finding::{Class, Finding, Kind};
use crate::lint::METHODS;

/// The v1 allow-list, relative to the workspace root.
pub const ALLOWLIST_PATH: &str = crate::api::Api::V1.allowlist_path();

const LOCATIONS: [&str; 7] = [
    "operation",
    "path",
    "query",
    "header",
    "cookie",
    "request body",
    "response",
];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    pub kind: Kind,
    /// `METHOD /path` items. Absent: every operation, for documentation findings only.
    #[serde(default)]
    pub operations: Option<Vec<String>>,
    #[serde(default)]
    pub location: Option<String>,
    /// A parameter name or body field path, or a list of them.
    #[serde(default)]
    pub field: Option<OneOrMany>,
    /// A response status, or a list of them.
    #[serde(default)]
    pub status: Option<OneOrMany>,
    /// Why the difference is deliberate; shown next to every finding it covers.
    pub reason: String,
}

/// `field: code` or `field: [code, message]`; numbers (`status: 400`) are read as text.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    One(Scalar),
    Many(Vec<Scalar>),
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum Scalar {
    Text(String),
    Number(i64),
}

impl Scalar {
    fn text(&self) -> String {
        match self {
            Scalar::Text(text) => text.clone(),
            Scalar::Number(number) => number.to_string(),
        }
    }
}

impl OneOrMany {
    fn items(&self) -> Vec<String> {
        match self {
            OneOrMany::One(one) => vec![one.text()],
            OneOrMany::Many(many) => many.iter().map(Scalar::text).collect(),
        }
    }
}

/// A loaded, validated allow-list.
#[derive(Debug, Default)]
pub struct AllowList {
    /// Where it was read from, relative to the workspace root (for messages).
    pub path: &'static str,
    pub entries: Vec<Entry>,
}

/// Which finding each entry covers, and what in the allow-list is stale.
#[derive(Debug, Default)]
pub struct Verdict {
    /// For each finding, the 1-based number of the entry that allows it.
    pub allowed_by: Vec<Option<usize>>,
    pub problems: Vec<String>,
}

impl AllowList {
    /// Loads the v1 allow-list, [`ALLOWLIST_PATH`].
    pub fn load(root: &Path) -> anyhow::Result<AllowList> {
        AllowList::load_from(root, ALLOWLIST_PATH)
    }

    /// Loads the allow-list at `relative` (to `root`).
    pub fn load_from(root: &Path, relative: &'static str) -> anyhow::Result<AllowList> {
        let path = root.join(relative);
        let text = std::fs::read_to_string(&path).with_context(|| {
            format!(
                "cannot read the allow-list {}; create it (an empty list `[]` allows nothing)",
                path.display()
            )
        })?;
        let mut list = AllowList::parse(&text).with_context(|| format!("in {}", path.display()))?;
        list.path = relative;
        Ok(list)
    }

    pub fn parse(text: &str) -> anyhow::Result<AllowList> {
        // An empty file (only comments) is an empty list.
        let entries: Option<Vec<Entry>> = serde_yaml_ng::from_str(text)?;
        let list = AllowList {
            path: ALLOWLIST_PATH,
            entries: entries.unwrap_or_default(),
        };
        for (index, entry) in list.entries.iter().enumerate() {
            list.validate(entry)
                .with_context(|| format!("entry #{} (kind `{}`)", index + 1, entry.kind.name()))?;
        }
        Ok(list)
    }

    fn validate(&self, entry: &Entry) -> anyhow::Result<()> {
        if entry.reason.trim().is_empty() {
            anyhow::bail!("`reason` is empty; say why the difference is deliberate");
        }
        if let Some(location) = &entry.location {
            if !LOCATIONS.contains(&location.as_str()) {
                anyhow::bail!(
                    "`location: {location}` is not one of {}",
                    LOCATIONS.join(", ")
                );
            }
        }
        for operation in entry.operations.iter().flatten() {
            let valid = operation.split_once(' ').is_some_and(|(method, path)| {
                METHODS.contains(&method.to_lowercase().as_str())
                    && method == method.to_uppercase()
                    && path.starts_with('/')
            });
            if !valid {
                anyhow::bail!("operation `{operation}` is not of the form `POST /path`");
            }
        }
        Ok(())
    }

    /// Matches findings against the entries (the first matching entry wins).
    pub fn apply(&self, findings: &[Finding]) -> Verdict {
        // Per entry: used at all, and which items of its lists were used.
        let mut used: Vec<Usage> = self.entries.iter().map(Usage::new).collect();
        let mut verdict = Verdict::default();
        for finding in findings {
            let hit = self
                .entries
                .iter()
                .position(|entry| matches(entry, finding));
            if let Some(index) = hit {
                used[index].record(&self.entries[index], finding);
            }
            verdict.allowed_by.push(hit.map(|index| index + 1));
        }
        for (index, (entry, usage)) in self.entries.iter().zip(&used).enumerate() {
            let name = format!(
                "{} entry #{} (kind `{}`)",
                self.path,
                index + 1,
                entry.kind.name()
            );
            if !usage.any {
                verdict
                    .problems
                    .push(format!("{name} matches no finding; remove it"));
                continue;
            }
            for (list, items, hits) in [
                (
                    "operations",
                    entry.operations.clone().unwrap_or_default(),
                    &usage.operations,
                ),
                ("field", items(&entry.field), &usage.fields),
                ("status", items(&entry.status), &usage.statuses),
            ] {
                for (item, hit) in items.iter().zip(hits) {
                    if !hit {
                        verdict.problems.push(format!(
                            "{name}: `{item}` in `{list}` matches no finding; remove it from the list"
                        ));
                    }
                }
            }
        }
        verdict
    }
}

fn items(list: &Option<OneOrMany>) -> Vec<String> {
    list.as_ref().map(OneOrMany::items).unwrap_or_default()
}

struct Usage {
    any: bool,
    operations: Vec<bool>,
    fields: Vec<bool>,
    statuses: Vec<bool>,
}

impl Usage {
    fn new(entry: &Entry) -> Usage {
        Usage {
            any: false,
            operations: vec![false; entry.operations.as_ref().map_or(0, Vec::len)],
            fields: vec![false; items(&entry.field).len()],
            statuses: vec![false; items(&entry.status).len()],
        }
    }

    fn record(&mut self, entry: &Entry, finding: &Finding) {
        self.any = true;
        let operation = finding.operation();
        mark(
            &mut self.operations,
            entry.operations.iter().flatten(),
            &operation,
        );
        mark(
            &mut self.fields,
            items(&entry.field).iter(),
            finding.field.as_deref().unwrap_or(""),
        );
        mark(
            &mut self.statuses,
            items(&entry.status).iter(),
            finding.status.as_deref().unwrap_or(""),
        );
    }
}

fn mark<'a>(hits: &mut [bool], items: impl Iterator<Item = &'a String>, value: &str) {
    for (hit, item) in hits.iter_mut().zip(items) {
        if item == value {
            *hit = true;
        }
    }
}

fn matches(entry: &Entry, finding: &Finding) -> bool {
    let documentation = finding.class == Class::Documentation;
    let listed = |list: &Option<OneOrMany>, value: &Option<String>| match (list, value) {
        (Some(list), Some(value)) => list.items().contains(value),
        (Some(_), None) => false,
        // Unnamed: fine when the finding has none, or for documentation findings.
        (None, value) => value.is_none() || documentation,
    };
    entry.kind == finding.kind
        && entry
            .location
            .as_ref()
            .is_none_or(|location| *location == finding.location)
        && match &entry.operations {
            Some(operations) => operations.contains(&finding.operation()),
            None => documentation,
        }
        && listed(&entry.field, &finding.field)
        && listed(&entry.status, &finding.status)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(class: Class, kind: Kind, field: Option<&str>) -> Finding {
        Finding {
            class,
            kind,
            method: "POST".into(),
            path: "/users".into(),
            location: "request body".into(),
            status: None,
            field: field.map(str::to_owned),
            spec: String::new(),
            server: String::new(),
        }
    }

    #[test]
    fn unknown_keys_and_kinds_are_errors() {
        let err = AllowList::parse("- {kind: field-removed, paths: [x], reason: r}").unwrap_err();
        assert!(
            format!("{err:#}").contains("unknown field `paths`"),
            "{err:#}"
        );
        let err = AllowList::parse("- {kind: everything, reason: r}").unwrap_err();
        assert!(
            format!("{err:#}").contains("unknown variant `everything`"),
            "{err:#}"
        );
    }

    #[test]
    fn operations_must_be_method_and_path() {
        let err = AllowList::parse("- {kind: field-removed, operations: [/users], reason: r}")
            .unwrap_err();
        assert!(format!("{err:#}").contains("`POST /path`"), "{err:#}");
    }

    #[test]
    fn an_entry_without_operations_covers_only_documentation() {
        let list = AllowList::parse("- {kind: field-removed, field: role, reason: r}").unwrap();
        let breaking = finding(Class::Breaking, Kind::FieldRemoved, Some("role"));
        let docs = finding(Class::Documentation, Kind::FieldRemoved, Some("role"));
        let verdict = list.apply(&[breaking, docs]);
        assert_eq!(verdict.allowed_by, [None, Some(1)]);
    }

    #[test]
    fn a_breaking_finding_needs_its_field_named() {
        let list =
            AllowList::parse("- {kind: field-removed, operations: [POST /users], reason: r}")
                .unwrap();
        let verdict = list.apply(&[finding(Class::Breaking, Kind::FieldRemoved, Some("role"))]);
        assert_eq!(verdict.allowed_by, [None]);
    }

    #[test]
    fn stale_entries_and_items_are_reported() {
        let list = AllowList::parse(
            "- {kind: field-removed, operations: [POST /users, GET /users], field: role, reason: r}\n\
             - {kind: type-changed, operations: [POST /users], field: role, reason: r}\n",
        )
        .unwrap();
        let verdict = list.apply(&[finding(Class::Breaking, Kind::FieldRemoved, Some("role"))]);
        assert_eq!(verdict.allowed_by, [Some(1)]);
        assert_eq!(verdict.problems.len(), 2, "{:?}", verdict.problems);
        assert!(verdict.problems[0].contains("`GET /users` in `operations`"));
        assert!(verdict.problems[1].contains("#2 (kind `type-changed`) matches no finding"));
    }
}
