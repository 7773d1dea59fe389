//! The integration tests of `memos-api`, in one binary (one link instead of one per file).

mod common;
mod defects;
mod e2e_product_server;
mod e2e_reference_server;
mod hostile_server;
mod hostile_streams;
mod mock_errors;
mod mock_operations;
mod mock_retries;
mod product;
mod product_client;
mod support;
