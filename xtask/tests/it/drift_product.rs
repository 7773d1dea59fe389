//! `drift --api product`: the product spec against the 2.0.33 server's own document, under
//! its own allow-list. The v1 comparison's own tests (`drift.rs`) cover each finding kind; here,
//! that the product triple is wired together and that a planted difference fails with the
//! product paths named.

use serde_json::Value;
use xtask::api::Api;
use xtask::drift::{self, Class, Kind, Report};

fn reference() -> Value {
    drift::load_reference_of(&crate::workspace(), Api::Product)
        .unwrap()
        .1
}

fn run(doc: &Value) -> Report {
    drift::run_api(&crate::workspace(), Api::Product, "planted", doc).unwrap()
}

#[test]
fn the_product_reference_document_passes() {
    let report = run(&reference());
    let table = drift::render_table(&report, true);
    assert!(report.ok(), "{table}");
    assert!(
        table.starts_with(&format!(
            "drift: planted against {}",
            Api::Product.spec_path()
        )),
        "{table}"
    );
    assert!(
        table.contains(&format!("allowed by {}:", Api::Product.allowlist_path())),
        "{table}"
    );
    // Every one of the 26 operations is compared, not skipped.
    let operations: std::collections::BTreeSet<String> =
        report.findings.iter().map(|f| f.operation()).collect();
    assert_eq!(operations.len(), 26, "{operations:#?}");
}

#[test]
fn a_new_required_search_field_on_the_server_fails_and_names_the_product_files() {
    let mut doc = reference();
    let search = &mut doc["components"]["schemas"]["APISearchRequest"];
    search["properties"]["tenant"] = serde_json::json!({"type": "string"});
    search["required"]
        .as_array_mut()
        .unwrap()
        .push("tenant".into());

    let report = run(&doc);
    let failures: Vec<_> = report
        .failures()
        .map(|f| (f.class, f.kind, f.operation(), f.place()))
        .collect();
    assert_eq!(
        failures,
        [(
            Class::Breaking,
            Kind::FieldAdded,
            "POST /product/search".to_owned(),
            "request body tenant".to_owned()
        )]
    );
    let table = drift::render_table(&report, false);
    assert!(
        table.contains(&format!(
            "Fix {} if the server is right",
            Api::Product.spec_path()
        )),
        "{table}"
    );
    assert!(table.contains(Api::Product.allowlist_path()), "{table}");
    let json: Value = serde_json::from_str(&drift::render_json(&report)).unwrap();
    assert_eq!(json["spec"], Api::Product.spec_path());
    assert_eq!(json["allow_list"], Api::Product.allowlist_path());
}

#[test]
fn a_stale_product_allow_list_entry_names_the_product_allow_list() {
    let dir = tempfile::TempDir::new().unwrap();
    crate::copy_into(
        dir.path(),
        &[
            Api::Product.spec_path(),
            Api::Product.reference_doc(),
            Api::Product.allowlist_path(),
        ],
    );
    let allow_list = dir.path().join(Api::Product.allowlist_path());
    let mut text = std::fs::read_to_string(&allow_list).unwrap();
    text.push_str(
        "\n- kind: enum-changed\n  operations: [POST /product/search]\n  location: request body\n  \
         field: mode\n  reason: planted, matches nothing\n",
    );
    std::fs::write(&allow_list, text).unwrap();

    let (source, doc) = drift::load_reference_of(dir.path(), Api::Product).unwrap();
    let report = drift::run_api(dir.path(), Api::Product, &source, &doc).unwrap();
    assert!(!report.ok());
    assert_eq!(report.problems.len(), 1, "{:#?}", report.problems);
    assert!(
        report.problems[0].starts_with(Api::Product.allowlist_path()),
        "{}",
        report.problems[0]
    );
}
