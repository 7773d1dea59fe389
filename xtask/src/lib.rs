//! The project's automation, run as `cargo xtask <command>` (in the style of rust-analyzer's
//! xtask). A library as well as a binary so that the tests can call each command on a
//! temporary copy of the tree: every entry point takes the workspace root.

pub mod api;
pub mod check;
pub mod codegen;
pub mod drift;
pub mod exercise;
pub mod external;
pub mod lint;
pub mod package;
pub mod pins;
pub mod schemathesis;
pub mod util;
