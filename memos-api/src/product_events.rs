//! Typed events of the `/product` API's server-sent-event streams, for the generated client.
//!
//! progenitor answers a `text/event-stream` operation with the raw body (a [`ByteStream`]);
//! each stream operation's builder gets an `events()` method here that sends the request and
//! reads the body as an [`EventStream`] of the spec's event types: [`ChatStreamEvent`] for
//! the three chat streams, [`SchedulerProgressEvent`] for `scheduler_wait_stream`. Each
//! event is capped at [`DEFAULT_MAX_EVENT_BYTES`];
//! [`product::Client`](crate::product::Client) reads the same streams with its own caps.
//!
//! ```no_run
//! use futures::StreamExt as _;
//! use memos_api::product::{raw::Client, types::{ChatRequest, ChatStreamEvent}};
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let client = Client::new("http://127.0.0.1:8000");
//! let request = ChatRequest::builder().user_id("alice").query("Where do I live?");
//! let mut events = client.chat_stream().body(request).events().await?;
//! while let Some(event) = events.next().await {
//!     if let ChatStreamEvent::TextEvent(text) = event? {
//!         print!("{}", text.data);
//!     }
//! }
//! # Ok(())
//! # }
//! ```
//!
//! A stream ends after its first error (see [`EventStream`]). Frames without data
//! (comments, keep-alives) are skipped.

use progenitor_client::ByteStream;
use serde::de::DeserializeOwned;

use crate::event_stream::DEFAULT_MAX_EVENT_BYTES;
use crate::product::raw::{builder, Error};
use crate::product::types::{ChatStreamEvent, ErrorBody, SchedulerProgressEvent};
use crate::EventStream;

/// The largest event a stream of the generated client accepts.
#[deprecated(note = "use memos_api::DEFAULT_MAX_EVENT_BYTES")]
pub const MAX_EVENT_BYTES: usize = DEFAULT_MAX_EVENT_BYTES as usize;

/// A `Stream` of one operation's typed events.
#[deprecated(note = "use memos_api::EventStream")]
pub type Events<T> = EventStream<T>;

/// Why an event stream stopped: the crate's one error type.
#[deprecated(note = "use memos_api::Error")]
pub type EventError = crate::Error;

/// Reads a server-sent event body as events of type `T`, each at most `limit` bytes; its
/// errors name the operation `event_stream`.
#[deprecated(note = "use the builders' events() or ProductClient's stream methods")]
pub fn parse<T>(body: ByteStream, limit: usize) -> EventStream<T>
where
    T: DeserializeOwned,
{
    let limit = u64::try_from(limit).unwrap_or(u64::MAX);
    EventStream::new("event_stream", body, limit, None)
}

macro_rules! events_method {
    ($builder:ident, $event:ty, $operation:literal) => {
        impl builder::$builder<'_> {
            #[doc = concat!(
                        "Sends `", $operation, "` and returns its server-sent events, parsed (see ",
                        "[`product_events`](crate::product_events))."
                    )]
            ///
            /// # Errors
            ///
            /// The request failed or was refused (the error body before the stream started).
            pub async fn events(self) -> Result<EventStream<$event>, Error<ErrorBody>> {
                let response = self.send().await?;
                Ok(EventStream::new(
                    $operation,
                    response.into_inner(),
                    DEFAULT_MAX_EVENT_BYTES,
                    None,
                ))
            }
        }
    };
}

events_method!(ChatStream, ChatStreamEvent, "chat_stream");
events_method!(
    ChatStreamPlayground,
    ChatStreamEvent,
    "chat_stream_playground"
);
events_method!(
    ChatStreamBusinessUser,
    ChatStreamEvent,
    "chat_stream_business_user"
);
events_method!(
    SchedulerWaitStream,
    SchedulerProgressEvent,
    "scheduler_wait_stream"
);
