//! `codegen --check` catches every kind of staleness, and says how to fix it.

use std::path::Path;
use xtask::api::ApiFiles;

use tempfile::TempDir;
use xtask::codegen::{self, Problem, Stale, CLIENT_PATH, README_PATH, SPEC_PATH};

/// A temp tree with the real specs and README, and freshly generated artefacts.
fn fresh_tree() -> TempDir {
    let dir = TempDir::new().unwrap();
    crate::copy_into(
        dir.path(),
        &[SPEC_PATH, xtask::api::Api::Product.spec_path(), README_PATH],
    );
    codegen::write(dir.path()).unwrap();
    assert_eq!(
        check(dir.path()).len(),
        0,
        "a freshly written tree is stale"
    );
    dir
}

fn check(root: &Path) -> Vec<Stale> {
    codegen::check(root).unwrap()
}

/// The one stale artefact at `path`, with its message checked for the fixing command.
fn only_stale<'a>(stale: &'a [Stale], path: &str) -> &'a Stale {
    let message = codegen::report(stale);
    assert_eq!(stale.len(), 1, "{message}");
    assert_eq!(stale[0].path, path, "{message}");
    assert!(message.contains("run `cargo xtask codegen`"), "{message}");
    assert!(stale[0]
        .to_string()
        .contains("fix: run `cargo xtask codegen`"));
    &stale[0]
}

#[test]
fn an_edited_artefact_is_stale_with_a_diff() {
    let dir = fresh_tree();
    let path = dir.path().join(CLIENT_PATH);
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replacen("pub struct", "pub(crate) struct", 1)).unwrap();

    let stale = check(dir.path());
    let item = only_stale(&stale, CLIENT_PATH);
    let Problem::Differs { diff, old_sha } = &item.problem else {
        panic!("expected a diff, got {item}");
    };
    let changed = |sign: char, text: &str| {
        diff.lines().any(|line| {
            line.starts_with(sign) && line.trim_start_matches(sign).trim_start().starts_with(text)
        })
    };
    assert!(changed('-', "pub(crate) struct"), "{diff}");
    assert!(changed('+', "pub struct"), "{diff}");
    assert_eq!(*old_sha, None, "the spec did not change");

    codegen::write(dir.path()).unwrap();
    assert!(check(dir.path()).is_empty());
}

#[test]
fn an_edited_readme_table_is_stale_but_the_rest_of_the_readme_is_free() {
    let dir = fresh_tree();
    let path = dir.path().join(README_PATH);
    let text = std::fs::read_to_string(&path).unwrap();
    let edited = format!(
        "{}\nHand-written text after the table.\n",
        text.replace("| `/chat` |", "| `/talk` |")
    );
    std::fs::write(&path, &edited).unwrap();

    let stale = check(dir.path());
    only_stale(&stale, README_PATH);

    codegen::write(dir.path()).unwrap();
    let repaired = std::fs::read_to_string(&path).unwrap();
    assert!(repaired.contains("| `/chat` |") && !repaired.contains("`/talk`"));
    assert!(
        repaired.ends_with("\nHand-written text after the table.\n"),
        "{repaired}"
    );
}

#[test]
fn a_missing_artefact_is_reported() {
    let dir = fresh_tree();
    std::fs::remove_file(dir.path().join(CLIENT_PATH)).unwrap();

    let stale = check(dir.path());
    let item = only_stale(&stale, CLIENT_PATH);
    assert!(matches!(item.problem, Problem::Missing), "{item}");
    assert!(item.to_string().contains("is missing"));
}

#[test]
fn missing_readme_markers_are_reported_and_added() {
    let dir = fresh_tree();
    std::fs::write(dir.path().join(README_PATH), "# Title\n\nProse.\n").unwrap();

    // Both tables (v1 and /product) live in the README, each between its own markers.
    let stale = check(dir.path());
    assert_eq!(stale.len(), 2, "{}", codegen::report(&stale));
    for item in &stale {
        assert_eq!(item.path, README_PATH);
        assert!(matches!(item.problem, Problem::NoRegion(_)), "{item}");
    }

    codegen::write(dir.path()).unwrap();
    let readme = std::fs::read_to_string(dir.path().join(README_PATH)).unwrap();
    assert!(readme.starts_with("# Title\n\nProse.\n\n## Operations\n\n<!-- operations:start -->"));
    assert!(
        readme
            .contains("\n## Operations of the `/product` API\n\n<!-- product-operations:start -->"),
        "{readme}"
    );
    assert!(check(dir.path()).is_empty());
}

#[test]
fn a_changed_spec_makes_every_artefact_of_it_stale_and_names_the_old_hash() {
    let dir = fresh_tree();
    let spec_path = dir.path().join(SPEC_PATH);
    let old_sha = codegen::Spec::load(dir.path()).unwrap().sha256;
    // A YAML comment changes nothing but the hash.
    let mut spec = std::fs::read_to_string(&spec_path).unwrap();
    spec.push_str("# a comment\n");
    std::fs::write(&spec_path, spec).unwrap();

    let stale = check(dir.path());
    let message = codegen::report(&stale);
    let of_v1 = codegen::artefacts()
        .iter()
        .filter(|artefact| artefact.api == xtask::api::Api::V1)
        // The man pages come from the binaries' clap definitions, not from the spec.
        .filter(|artefact| !artefact.path.starts_with(codegen::MAN_DIR))
        .count();
    assert_eq!(stale.len(), of_v1, "{message}");
    for item in &stale {
        let Problem::Differs {
            old_sha: Some(sha), ..
        } = &item.problem
        else {
            panic!("expected a spec-hash difference, got {item}");
        };
        assert_eq!(*sha, old_sha);
        assert!(
            item.to_string().contains("which has changed since"),
            "{item}"
        );
    }
    assert!(message.contains("run `cargo xtask codegen`"), "{message}");
}

#[test]
fn a_broken_spec_is_an_error_naming_the_artefact() {
    let dir = fresh_tree();
    std::fs::write(dir.path().join(SPEC_PATH), "openapi: [not a spec").unwrap();
    let err = codegen::check(dir.path()).unwrap_err();
    assert!(format!("{err:#}").contains(CLIENT_PATH), "{err:#}");
}

#[test]
fn an_orphaned_generated_schema_is_reported_and_removed() {
    let dir = fresh_tree();
    let orphan = dir.path().join("schemas/gone.schema.json");
    std::fs::create_dir_all(orphan.parent().unwrap()).unwrap();
    std::fs::write(
        &orphan,
        format!("{{\"$comment\": \"{}\"}}\n", codegen::PREAMBLE),
    )
    .unwrap();
    let handwritten = dir.path().join("schemas/handwritten.json");
    std::fs::write(&handwritten, "{}\n").unwrap();

    let stale = check(dir.path());
    let item = only_stale(&stale, "schemas/gone.schema.json");
    assert!(matches!(item.problem, Problem::Orphan), "{item}");

    codegen::write(dir.path()).unwrap();
    assert!(!orphan.exists());
    assert!(
        handwritten.exists(),
        "a file without the preamble is not ours to remove"
    );
}

#[test]
fn a_changed_product_spec_makes_only_its_artefacts_stale_and_names_that_spec() {
    let dir = fresh_tree();
    let spec = dir.path().join(xtask::api::Api::Product.spec_path());
    let text = std::fs::read_to_string(&spec).unwrap();
    let changed = text.replacen(
        "summary: Check that the server is up",
        "summary: Is it up",
        1,
    );
    assert_ne!(changed, text, "plant site");
    std::fs::write(&spec, changed).unwrap();

    // The product client, its methods and the README's product table, nothing of v1.
    let stale = check(dir.path());
    let paths: Vec<&str> = stale.iter().map(|item| item.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            codegen::PRODUCT_CLIENT_PATH,
            codegen::PRODUCT_METHODS_PATH,
            README_PATH
        ],
        "{}",
        codegen::report(&stale)
    );
    let item = &stale[0];
    assert!(stale
        .iter()
        .all(|item| item.spec == xtask::api::Api::Product.spec_path()));
    let shown = item.to_string();
    assert!(
        shown.contains("generated from openapi/memos-product.yaml with sha256"),
        "{shown}"
    );
    assert!(
        codegen::report(&stale).contains("(with openapi/memos-product.yaml or the Rust types"),
        "{}",
        codegen::report(&stale)
    );
}

#[test]
fn man_pages_cover_every_binary_and_each_subcommand() {
    let paths: Vec<String> = codegen::artefacts().into_iter().map(|a| a.path).collect();
    for page in [
        "man/memos.1",
        "man/memos-load.1",
        "man/memos-load-messages.1",
        "man/memos-memories-delete.1",
        "man/memos-completions.1",
        "man/memos-conformance.1",
        "man/memos-reference-server.1",
    ] {
        assert!(paths.iter().any(|p| p == page), "{page} missing: {paths:?}");
    }
    assert!(
        !paths.iter().any(|p| p.starts_with("man/memos-help")),
        "clap's help subcommand has no page: {paths:?}"
    );
}

#[test]
fn an_edited_man_page_is_stale_and_an_orphaned_one_removed() {
    let dir = fresh_tree();
    let page = dir.path().join("man/memos-search.1");
    let text = std::fs::read_to_string(&page).unwrap();
    assert!(text.starts_with(codegen::MAN_PREAMBLE), "{text}");
    assert!(text.contains(".SH NAME"), "{text}");
    std::fs::write(&page, text.replace(".SH NAME", ".SH NOM")).unwrap();
    let stale = check(dir.path());
    let item = only_stale(&stale, "man/memos-search.1");
    assert!(matches!(item.problem, Problem::Differs { .. }), "{item}");

    codegen::write(dir.path()).unwrap();
    let orphan = dir.path().join("man/memos-gone.1");
    std::fs::write(&orphan, format!("{}\n.TH x 1\n", codegen::MAN_PREAMBLE)).unwrap();
    let handwritten = dir.path().join("man/notes.1");
    std::fs::write(&handwritten, ".TH notes 1\n").unwrap();
    let stale = check(dir.path());
    let item = only_stale(&stale, "man/memos-gone.1");
    assert!(matches!(item.problem, Problem::Orphan), "{item}");

    codegen::write(dir.path()).unwrap();
    assert!(!orphan.exists());
    assert!(
        handwritten.exists(),
        "a page without the preamble is not ours"
    );
}
