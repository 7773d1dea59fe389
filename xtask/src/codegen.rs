//! `cargo xtask codegen [--check]`: the files derived from `openapi/memos.yaml`,
//! `openapi/memos-product.yaml` (the product client's review copy) and Rust types (the JSON
//! Schemas, and the man pages from the binaries' clap definitions), checked in so that
//! reviews show what a change does.
//!
//! Every artefact starts with a preamble naming the command and the spec's SHA-256. `--check`
//! (and the `codegen_is_fresh` test) regenerates everything in memory and fails on any
//! difference, printing a short diff and the command that fixes it. All functions take the
//! workspace root, so tests can run them on a temporary copy.

mod man;
mod readme;
mod schemas;
mod spec;

use std::fmt;
use std::path::Path;

use anyhow::Context as _;

pub use man::{MAN_DIR, MAN_PREAMBLE};
pub use schemas::{SchemaArtefact, SCHEMAS, SCHEMA_DIR};
pub use spec::{Spec, PREAMBLE, SPEC_PATH};

use crate::api::Api;
use crate::util::{self, CODEGEN_COMMAND};

/// The generated client's review copy. Outside `src/`, so no crate compiles it.
pub const CLIENT_PATH: &str = "memos-api/generated/client.rs";

/// The review copy of the product client (`memos_api::product`).
pub const PRODUCT_CLIENT_PATH: &str = "memos-api/generated/product.rs";

/// The review copies of the methods and retry rules of the hand-written clients.
pub const CLIENT_METHODS_PATH: &str = "memos-api/generated/client_methods.rs";
pub const PRODUCT_METHODS_PATH: &str = "memos-api/generated/product_methods.rs";

/// The README and the markers around its table of operations.
pub const README_PATH: &str = "README.md";
pub const OPERATIONS_START: &str = "<!-- operations:start -->";
pub const OPERATIONS_END: &str = "<!-- operations:end -->";
/// The markers around the README's table of the `/product` operations.
pub const PRODUCT_OPERATIONS_START: &str = "<!-- product-operations:start -->";
pub const PRODUCT_OPERATIONS_END: &str = "<!-- product-operations:end -->";

/// Where an artefact's text goes: a whole file, or the part of a file between two markers
/// (the rest of the file is hand-written and left alone).
pub enum Target {
    File,
    Region {
        start: &'static str,
        end: &'static str,
        /// The heading written above the markers when a file has neither of them.
        heading: &'static str,
    },
}

type Generate = Box<dyn Fn(&Spec) -> anyhow::Result<String>>;

/// One checked-in artefact: where it goes and how to produce it.
pub struct Artefact {
    /// Relative to the workspace root, with `/` separators.
    pub path: String,
    /// Whose spec it is generated from.
    pub api: Api,
    pub target: Target,
    generate: Generate,
}

impl Artefact {
    pub fn generate(&self, spec: &Spec) -> anyhow::Result<String> {
        (self.generate)(spec).with_context(|| format!("cannot generate {}", self.path))
    }
}

/// Every artefact, in the order they are written and checked.
pub fn artefacts() -> Vec<Artefact> {
    let mut all = vec![
        Artefact {
            path: CLIENT_PATH.to_owned(),
            api: Api::V1,
            target: Target::File,
            generate: Box::new(client_copy),
        },
        Artefact {
            path: PRODUCT_CLIENT_PATH.to_owned(),
            api: Api::Product,
            target: Target::File,
            generate: Box::new(client_copy),
        },
        Artefact {
            path: CLIENT_METHODS_PATH.to_owned(),
            api: Api::V1,
            target: Target::File,
            generate: Box::new(methods_copy),
        },
        Artefact {
            path: PRODUCT_METHODS_PATH.to_owned(),
            api: Api::Product,
            target: Target::File,
            generate: Box::new(methods_copy),
        },
        Artefact {
            path: README_PATH.to_owned(),
            api: Api::V1,
            target: Target::Region {
                start: OPERATIONS_START,
                end: OPERATIONS_END,
                heading: "## Operations",
            },
            generate: Box::new(readme::operations_table),
        },
        Artefact {
            path: README_PATH.to_owned(),
            api: Api::Product,
            target: Target::Region {
                start: PRODUCT_OPERATIONS_START,
                end: PRODUCT_OPERATIONS_END,
                heading: "## Operations of the `/product` API",
            },
            generate: Box::new(readme::operations_table),
        },
    ];
    all.extend(SCHEMAS.iter().map(|entry| Artefact {
        path: entry.path.to_owned(),
        api: Api::V1,
        target: Target::File,
        generate: Box::new(move |spec| schemas::render(entry, spec)),
    }));
    all.extend(man::pages().into_iter().map(|page| Artefact {
        path: page.path.clone(),
        api: Api::V1,
        target: Target::File,
        generate: Box::new(move |_| man::render(&page)),
    }));
    all
}

/// Generated files that nothing generates any more: schemas and man pages.
fn orphans(root: &Path) -> anyhow::Result<Vec<String>> {
    let mut orphans = schemas::orphans(root)?;
    orphans.extend(man::orphans(root)?);
    Ok(orphans)
}

fn client_copy(spec: &Spec) -> anyhow::Result<String> {
    let code = memos_codegen::generate_client(&spec.text)
        .map_err(|err| anyhow::anyhow!("memos_codegen::generate_client: {err}"))?;
    Ok(format!(
        "// {}\n\
         //\n\
         // A review copy of the client that memos-api's build script generates into OUT_DIR with\n\
         // the same function (`memos_codegen::generate_client`). Nothing compiles this file; it is\n\
         // checked in so that a spec change shows up as a code change in review.\n\
         \n{code}",
        spec.preamble()
    ))
}

fn methods_copy(spec: &Spec) -> anyhow::Result<String> {
    let code = memos_codegen::generate_methods(&spec.text)
        .map_err(|err| anyhow::anyhow!("memos_codegen::generate_methods: {err}"))?;
    Ok(format!(
        "// {}\n\
         //\n\
         // A review copy of the methods and retry rules that memos-api's build script generates\n\
         // into OUT_DIR with the same function (`memos_codegen::generate_methods`). Nothing\n\
         // compiles this file; it is checked in so that a spec change shows up as a code change.\n\
         \n{code}",
        spec.preamble()
    ))
}

/// What `codegen` did to one file.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Unchanged,
    Written,
    Removed,
}

/// Regenerates every artefact under `root` and writes the ones that changed (unchanged files
/// are not touched, so their mtimes do not trigger rebuilds). Also removes generated schema
/// files and man pages that nothing produces any more.
pub fn write(root: &Path) -> anyhow::Result<Vec<(String, Outcome)>> {
    let specs = Specs::load(root)?;
    let mut outcomes = Vec::new();
    for artefact in artefacts() {
        let path = root.join(&artefact.path);
        let generated = artefact.generate(specs.of(artefact.api))?;
        let current = read_if_exists(&path)?;
        let wanted = match &artefact.target {
            Target::File => generated,
            Target::Region {
                start,
                end,
                heading,
            } => {
                let current = current.as_deref().ok_or_else(|| {
                    anyhow::anyhow!(
                        "{} does not exist; create it (the operations table goes between \
                         {start} and {end})",
                        path.display()
                    )
                })?;
                insert_region(current, start, end, heading, &generated).map_err(|problem| {
                    anyhow::anyhow!("{}: {problem}; fix the markers by hand", path.display())
                })?
            }
        };
        if current.as_deref() == Some(wanted.as_str()) {
            outcomes.push((artefact.path, Outcome::Unchanged));
            continue;
        }
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        std::fs::write(&path, wanted)
            .with_context(|| format!("cannot write {}", path.display()))?;
        outcomes.push((artefact.path, Outcome::Written));
    }
    for orphan in orphans(root)? {
        let path = root.join(&orphan);
        std::fs::remove_file(&path).with_context(|| format!("cannot remove {}", path.display()))?;
        outcomes.push((orphan, Outcome::Removed));
    }
    Ok(outcomes)
}

/// One artefact that `codegen` would change.
#[derive(Debug)]
pub struct Stale {
    pub path: String,
    /// The spec it is generated from.
    pub spec: &'static str,
    pub problem: Problem,
}

#[derive(Debug)]
pub enum Problem {
    /// The file does not exist.
    Missing,
    /// The file exists but lacks the markers of its generated region.
    NoRegion(String),
    /// The content differs. `old_sha` is the spec hash in the checked-in preamble, if any.
    Differs {
        diff: String,
        old_sha: Option<String>,
    },
    /// A generated schema file that no registry entry produces, or a man page of a command
    /// that no longer exists.
    Orphan,
}

impl fmt::Display for Stale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = &self.path;
        let spec = self.spec;
        match &self.problem {
            Problem::Missing => writeln!(f, "{path} is missing")?,
            Problem::NoRegion(problem) => writeln!(f, "{path}: {problem}")?,
            Problem::Differs { diff, old_sha } => {
                write!(f, "{path} is stale")?;
                match old_sha {
                    Some(sha) => writeln!(
                        f,
                        " (generated from {spec} with sha256 {sha}, which has changed since)"
                    )?,
                    None => writeln!(f)?,
                }
                writeln!(f, "{}", util::indent(diff.trim_end(), "    "))?;
            }
            Problem::Orphan => writeln!(
                f,
                "{path} was generated from a schema entry or a command that no longer exists"
            )?,
        }
        write!(f, "  fix: run `{CODEGEN_COMMAND}`")
    }
}

/// Regenerates every artefact in memory and compares it with the files under `root`.
/// An error means the check itself could not run (e.g. the spec is unreadable).
pub fn check(root: &Path) -> anyhow::Result<Vec<Stale>> {
    let specs = Specs::load(root)?;
    let mut stale = Vec::new();
    for artefact in artefacts() {
        let spec = specs.of(artefact.api);
        let generated = artefact.generate(spec)?;
        let Some(current) = read_if_exists(&root.join(&artefact.path))? else {
            stale.push(Stale {
                path: artefact.path,
                spec: spec.path,
                problem: Problem::Missing,
            });
            continue;
        };
        let (current, wanted) = match &artefact.target {
            Target::File => (current.as_str(), generated.as_str()),
            Target::Region { start, end, .. } => match find_region(&current, start, end) {
                Ok(region) => (&current[region], generated.as_str()),
                Err(problem) => {
                    stale.push(Stale {
                        path: artefact.path,
                        spec: spec.path,
                        problem: Problem::NoRegion(problem),
                    });
                    continue;
                }
            },
        };
        if current != wanted {
            let old_sha = preamble_sha(current).filter(|sha| *sha != spec.sha256);
            stale.push(Stale {
                problem: Problem::Differs {
                    diff: util::short_diff(current, wanted, &artefact.path, 40),
                    old_sha: old_sha.map(str::to_owned),
                },
                path: artefact.path,
                spec: spec.path,
            });
        }
    }
    stale.extend(orphans(root)?.into_iter().map(|path| Stale {
        path,
        spec: SPEC_PATH,
        problem: Problem::Orphan,
    }));
    Ok(stale)
}

/// Formats a list of stale artefacts as one error message.
pub fn report(stale: &[Stale]) -> String {
    let mut specs: Vec<&str> = stale.iter().map(|item| item.spec).collect();
    specs.sort_unstable();
    specs.dedup();
    let mut out = format!(
        "{} generated file(s) are out of date (with {} or the Rust types they come from):\n",
        stale.len(),
        specs.join(" or ")
    );
    for item in stale {
        out.push('\n');
        out.push_str(&item.to_string());
        out.push('\n');
    }
    out.push_str(&format!(
        "\nrun `{CODEGEN_COMMAND}` and commit the result\n"
    ));
    out
}

/// Every API's spec, loaded once for all artefacts.
struct Specs {
    v1: Spec,
    product: Spec,
}

impl Specs {
    fn load(root: &Path) -> anyhow::Result<Specs> {
        Ok(Specs {
            v1: Spec::load_of(root, Api::V1)?,
            product: Spec::load_of(root, Api::Product)?,
        })
    }

    fn of(&self, api: Api) -> &Spec {
        match api {
            Api::V1 => &self.v1,
            Api::Product => &self.product,
        }
    }
}

fn read_if_exists(path: &Path) -> anyhow::Result<Option<String>> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(err).with_context(|| format!("cannot read {}", path.display())),
    }
}

/// Where the text between the markers is, or why there is none.
fn find_region(text: &str, start: &str, end: &str) -> Result<std::ops::Range<usize>, String> {
    let Some(open) = text.find(start) else {
        return Err(format!(
            "has no `{start}` marker; `{CODEGEN_COMMAND}` adds the markers at the end"
        ));
    };
    let inner = open + start.len();
    match text[inner..].find(end) {
        Some(close) => Ok(inner..inner + close),
        None => Err(format!("has `{start}` but no `{end}` after it")),
    }
}

/// The text with the region replaced by `content`; the markers are appended (under a heading)
/// when the file has neither. Half a pair of markers is an error, not something to guess at.
fn insert_region(
    text: &str,
    start: &str,
    end: &str,
    heading: &str,
    content: &str,
) -> Result<String, String> {
    if !text.contains(start) && !text.contains(end) {
        let separator = if text.ends_with('\n') { "\n" } else { "\n\n" };
        return Ok(format!(
            "{text}{separator}{heading}\n\n{start}{content}{end}\n"
        ));
    }
    let region = find_region(text, start, end)?;
    Ok(format!(
        "{}{content}{}",
        &text[..region.start],
        &text[region.end..]
    ))
}

/// The spec hash recorded in a preamble, if the text has one.
fn preamble_sha(text: &str) -> Option<&str> {
    let at = text.find(PREAMBLE)?;
    let rest = &text[at..];
    let hex_start = rest.find(" sha256 ")? + " sha256 ".len();
    let hex = rest.get(hex_start..hex_start + 64)?;
    hex.bytes().all(|b| b.is_ascii_hexdigit()).then_some(hex)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn region_is_replaced_and_the_rest_kept() {
        let text = "# T\n\nbefore\n<!-- a -->\nold\n<!-- b -->\nafter\n";
        let new = insert_region(text, "<!-- a -->", "<!-- b -->", "## H", "\nnew\n").unwrap();
        assert_eq!(new, "# T\n\nbefore\n<!-- a -->\nnew\n<!-- b -->\nafter\n");
    }

    #[test]
    fn missing_markers_are_appended() {
        let new = insert_region(
            "# T\n",
            "<!-- a -->",
            "<!-- b -->",
            "## Operations",
            "\nx\n",
        )
        .unwrap();
        assert_eq!(new, "# T\n\n## Operations\n\n<!-- a -->\nx\n<!-- b -->\n");
    }

    #[test]
    fn half_a_marker_pair_is_an_error() {
        let err =
            insert_region("<!-- a -->\n", "<!-- a -->", "<!-- b -->", "## H", "").unwrap_err();
        assert!(err.contains("no `<!-- b -->`"), "{err}");
    }

    #[test]
    fn preamble_sha_is_found() {
        let spec = Spec::from_text("openapi: 3.0.3\n".into());
        let text = format!("// {}\nfn main() {{}}\n", spec.preamble());
        assert_eq!(preamble_sha(&text), Some(spec.sha256.as_str()));
        assert_eq!(preamble_sha("no preamble"), None);
    }
}
