//! The integration tests of the `memos` command, in one binary (one link instead of one per
//! file).

mod backends;
mod cli;
mod common;
mod hostile;
mod kill_resume;
mod kill_resume_product;
mod load_hardening;
mod product_cli;
mod product_commands;
mod scripted;
