//! The integration tests of `memos-loader`, in one binary (one link instead of one per
//! file).

mod formats;
mod hardening;
mod hostile;
mod mock;
mod refserver;
