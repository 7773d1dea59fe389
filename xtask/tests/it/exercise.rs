//! `cargo xtask exercise --api product` against the live 2.0.33 reference server: every
//! exchange of the matrix is inside the spec and decodes into the typed client's types.

use memos_refserver::testing::skip_for_missing_python;
use memos_refserver::Api;
use xtask::exercise;

#[test]
fn the_product_spec_holds_every_exchange_of_the_live_exercise() {
    let summary = match exercise::run(&crate::workspace(), Api::Product) {
        Ok(summary) => summary,
        Err(err) => match err.downcast_ref::<memos_refserver::Error>() {
            Some(refserver) if skip_for_missing_python(refserver) => return,
            _ => panic!("the exercise did not run: {err:#}"),
        },
    };
    let report = summary.render();
    assert!(summary.ok(), "{report}");
    // Every operation of the spec, many modes each.
    assert!(summary.unexercised().is_empty(), "{report}");
    assert!(summary.exchanges.len() >= 150, "{report}");
}

#[test]
fn the_exercise_refuses_the_v1_api() {
    let err = exercise::run(&crate::workspace(), Api::V1)
        .err()
        .expect("v1 has no exercise");
    assert!(err.to_string().contains("--api product"), "{err}");
}
