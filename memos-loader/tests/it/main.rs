//! The integration tests of `memos-loader`, in one binary (one link instead of one per
//! file).

mod formats;
mod mock;
mod refserver;
