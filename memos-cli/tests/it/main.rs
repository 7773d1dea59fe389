//! The integration tests of the `memos` command, in one binary (one link instead of one per
//! file).

mod backends;
mod cli;
mod common;
mod hostile;
mod kill_resume;
mod load_hardening;
mod scripted;
