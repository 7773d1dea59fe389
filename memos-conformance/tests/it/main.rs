//! The integration tests of memos-conformance, in one binary: the command line, the
//! suite against the embedded mock, against servers that misbehave, and against the real
//! reference server, and the storage safety of a run.

mod cli;
mod common;
mod live_product;
mod live_reference;
mod misbehaving_product;
mod misbehaving_server;
mod mock_suite;
mod product_safety;
mod storage_safety;
