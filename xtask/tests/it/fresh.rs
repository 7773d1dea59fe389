//! The checked-in generated files match what `cargo xtask codegen` would write now, so
//! `cargo test --workspace` fails on a stale artefact the way `cargo xtask codegen --check` does.

#[test]
fn codegen_is_fresh() {
    let stale = xtask::codegen::check(&crate::workspace()).expect("codegen --check could not run");
    assert!(stale.is_empty(), "{}", xtask::codegen::report(&stale));
}

/// Each package's `openapi/` and `LICENSE` (symlinks) hold the workspace's files, so the
/// packed crates carry the specs and license of the commit they are packed from.
#[test]
fn packages_carry_the_workspace_files() {
    let mismatches = xtask::package::check(&crate::workspace()).expect("the check could not run");
    assert!(
        mismatches.is_empty(),
        "{}",
        xtask::package::report(&mismatches)
    );
}
