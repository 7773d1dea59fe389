//! A client for the [MemOS](https://github.com/MemTensor/MemOS) REST API.
//!
//! ```no_run
//! use memos_api::v1::{types, Client};
//!
//! # async fn demo() -> memos_api::Result<()> {
//! let client = Client::builder("http://127.0.0.1:8000")
//!     .bearer_token("my-token")
//!     .timeout(std::time::Duration::from_secs(30))
//!     .build()?;
//!
//! client
//!     .create_user(types::UserCreate::builder().user_id("alice").role(types::UserRole::User))
//!     .await?;
//! client
//!     .register_cube(
//!         types::MemCubeRegister::builder()
//!             .user_id("alice".to_owned())
//!             .mem_cube_id("notes".to_owned())
//!             .mem_cube_name_or_path("/srv/memos/cubes/notes"),
//!     )
//!     .await?;
//! client
//!     .add_memories(
//!         types::MemoryCreate::builder()
//!             .user_id("alice".to_owned())
//!             .mem_cube_id("notes".to_owned())
//!             .memory_content("I moved to Lisbon in March.".to_owned()),
//!     )
//!     .await?;
//!
//! let found = client
//!     .search_memories(types::SearchRequest::builder().user_id("alice".to_owned()).query("Lisbon"))
//!     .await?;
//! for cube in &found.text_mem {
//!     println!("{}: {:?}", cube.cube_id, cube.memories);
//! }
//! # Ok(())
//! # }
//! ```
//!
//! # Layout
//!
//! One module per API, each of the same shape:
//!
//! * [`v1`]: the MemOS v1 API (`openapi/memos.yaml`, MemOS 2.0.10).
//! * [`product`]: the `/product` API that replaced v1 upstream (MemoryOS 2.0.33,
//!   `openapi/memos-product.yaml`).
//!
//! In each, `Client` is the layer users call: one method per operation, named after the
//! spec's `operationId` and returning the envelope's `data` (generated from the spec with
//! the operation's retry rule, `x-memos-retry`; only the exceptions are written by hand);
//! `types` holds the request and response types generated from the spec, every struct with
//! a `builder()`; `raw` is the whole generated client, for callers that need response
//! headers or want no retries.
//!
//! What the APIs share is at the crate root: [`ClientBuilder`] (both clients are built by
//! the same options), credentials ([`Auth`], [`AuthScheme`], [`Secret`]), timeouts, retries
//! ([`RetryPolicy`]), the one error type ([`Error`]), the event streams of `/product`
//! ([`EventStream`], [`product_events`]) and the size limits.
//!
//! Bulk imports (chat sessions, command output, documents, with a crash-safe resume) are
//! the `memos-loader` crate, built on this client's public API.
//!
//! The generated client uses progenitor's *builder* interface style: most MemOS requests have
//! several optional fields and an optional acting `user_id`, and named setters read better
//! than rows of `None` arguments. The same setting gives every request type a `builder()`,
//! which the methods of the clients accept directly.
//!
//! # Errors
//!
//! Every method fails with [`Error`], which carries the HTTP status, the envelope's `code`
//! and `message`, and a 422's field problems ([`ValidationIssue`], the same for both APIs).
//! Its text is one line without advice, its cause only in `source()`; its predicates
//! ([`Error::may_have_been_applied`], [`Error::safe_to_retry`], ...) tell a program what
//! it may do next.
//!
//! # Retries
//!
//! Reads, PUTs and DELETEs are retried on 429, 502, 503, 504 and broken connections, with
//! exponential back-off and jitter, honouring `Retry-After`. POSTs that change state
//! (`add_memories`, `chat`, ...) are retried only when the connection could not be opened or
//! the server refused them with a 429 or 503 carrying `Retry-After`, so a request the server
//! may have acted on is never sent twice; [`Error::may_have_been_applied`] tells a caller
//! which failures leave such a request in doubt. No 4xx is retried except 429, and an answer
//! whose body stalled or passed the size cap is never asked for again.
//!
//! # Limits
//!
//! An answer's body is read up to [`DEFAULT_MAX_RESPONSE_BYTES`] (64 MiB, configurable with
//! [`ClientBuilder::max_response_bytes`]; error answers up to [`MAX_ERROR_BODY_BYTES`]), and
//! the timeout covers each try up to the body's last byte. An event stream is read event by
//! event instead, each event (and the bytes between two events) up to
//! [`DEFAULT_MAX_EVENT_BYTES`] (4 MiB, [`ClientBuilder::max_event_bytes`]); a stream as a
//! whole ends only at the limits its caller sets ([`EventStream::deadline`],
//! [`EventStream::max_events`]). Redirects are not followed unless
//! [`ClientBuilder::follow_redirects`] asks for it, and then only within the base URL's
//! origin. A credential echoed by the server is redacted from errors;
//! [`v1::Client::credential_in_cleartext`] says when it would cross the network unencrypted.
//!
//! After any 5xx answer the client opens fresh connections: the reference server resets its
//! keep-alive connection after a 500, and a POST sent next on it would fail in a way that
//! cannot safely be retried.

#![warn(missing_docs)]

mod auth;
mod base_url;
mod builder;
mod client;
mod core;
mod error;
mod event_stream;
mod limit;
mod memories;
pub mod product;
mod product_client;
pub mod product_events;
mod retry;
mod sse;
// Server text in errors and events is bounded by the rules the CLI and the suite show it by.
use memos_text as text;
pub mod v1;

// `crate::` because a bare `core::` would name the core library.
pub use crate::core::{DEFAULT_MAX_RESPONSE_BYTES, MAX_ERROR_BODY_BYTES};
pub use auth::{Auth, AuthScheme, Secret};
pub use base_url::parse_base_url;
pub use builder::ClientBuilder;
pub use error::{Error, Result, StreamLimit, ValidationIssue};
pub use event_stream::{EventStream, DEFAULT_MAX_EVENT_BYTES};
pub use memories::UnreadableNode;
pub use retry::RetryPolicy;

// The paths of the previous release. `#[deprecated]` on a `pub use` warns nobody, so each
// old path is an item of its own that carries the attribute: a type alias for the clients,
// a module re-exporting the new one for `types` and `raw` (rustc warns when such a module
// is named, `use memos_api::types;`, but not when a path goes through it,
// `memos_api::types::User`).

/// The v1 client, now [`v1::Client`].
#[deprecated(since = "0.2.0", note = "use `memos_api::v1::Client`")]
pub type Client = v1::Client;

/// The `/product` client, now [`product::Client`].
#[deprecated(since = "0.2.0", note = "use `memos_api::product::Client`")]
pub type ProductClient = product::Client;

/// The v1 types, now [`v1::types`].
#[deprecated(since = "0.2.0", note = "use `memos_api::v1::types`")]
pub mod types {
    pub use crate::v1::types::*;
}

/// The generated v1 client, now [`v1::raw`].
#[deprecated(since = "0.2.0", note = "use `memos_api::v1::raw`")]
pub mod raw {
    pub use crate::v1::raw::*;
}
