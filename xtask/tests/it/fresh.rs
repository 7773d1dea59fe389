//! The checked-in generated files match what `cargo xtask codegen` would write now, so
//! `cargo test --workspace` fails on a stale artefact the way `cargo xtask codegen --check` does.

#[test]
fn codegen_is_fresh() {
    let stale = xtask::codegen::check(&crate::workspace()).expect("codegen --check could not run");
    assert!(stale.is_empty(), "{}", xtask::codegen::report(&stale));
}
