//! Typed events of the `/product` API's server-sent-event streams.
//!
//! progenitor answers a `text/event-stream` operation with the raw body (a [`ByteStream`]);
//! each stream operation's builder gets an `events()` method here that sends the request and
//! parses the body with `eventsource-stream` into the spec's event types: [`ChatStreamEvent`]
//! for the three chat streams, [`SchedulerProgressEvent`] for `scheduler_wait_stream`.
//!
//! ```no_run
//! use futures::StreamExt as _;
//! use memos_api::product::{raw::Client, types::{ChatRequest, ChatStreamEvent}};
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let client = Client::new("http://127.0.0.1:8000");
//! let request = ChatRequest::builder().user_id("alice").query("Where do I live?");
//! let mut events = Box::pin(client.chat_stream().body(request).events().await?);
//! while let Some(event) = events.next().await {
//!     if let ChatStreamEvent::TextEvent(text) = event? {
//!         print!("{}", text.data);
//!     }
//! }
//! # Ok(())
//! # }
//! ```
//!
//! A stream ends after its first error: a broken connection, a body that is not UTF-8 server-
//! sent events, an event larger than [`MAX_EVENT_BYTES`], or a frame whose data is not the
//! expected JSON. Frames without data (comments, keep-alives) are skipped.

use std::future::ready;

use eventsource_stream::{EventStreamError, Eventsource as _};
use futures::{Stream, StreamExt as _};
use serde::de::DeserializeOwned;

use crate::product::raw::{builder, ByteStream, Error};
use crate::product::types::{ChatStreamEvent, ErrorBody, SchedulerProgressEvent};
use crate::text::one_line;

/// The largest event (the bytes between two blank lines) a stream accepts: a server that
/// never ends an event cannot make the parser buffer without bound.
pub const MAX_EVENT_BYTES: usize = 4 * 1024 * 1024;

/// How much of a frame's data an [`EventError::Json`] quotes.
const QUOTED_DATA_CHARS: usize = 200;

/// Why an event stream stopped.
#[derive(Debug, thiserror::Error)]
pub enum EventError {
    /// The connection failed while the body was being read.
    #[error("the event stream broke off: {0}")]
    Transport(#[source] reqwest::Error),
    /// The body is not UTF-8 server-sent events.
    #[error("the answer is not a valid server-sent event stream: {0}")]
    Format(String),
    /// One event passed [`MAX_EVENT_BYTES`].
    #[error("an event is larger than {limit} bytes; the stream was stopped")]
    TooLarge {
        /// The limit that was passed.
        limit: usize,
    },
    /// A frame's data is not JSON of the event type the spec names.
    #[error("an event's data is not the expected JSON ({error}): {data}")]
    Json {
        /// What did not fit.
        #[source]
        error: serde_json::Error,
        /// The frame's data, on one line and shortened.
        data: String,
    },
}

/// A `Stream` of one operation's typed events.
pub type Events<T> = std::pin::Pin<Box<dyn Stream<Item = Result<T, EventError>> + Send>>;

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
            pub async fn events(self) -> Result<Events<$event>, Error<ErrorBody>> {
                let response = self.send().await?;
                Ok(parse(response.into_inner(), MAX_EVENT_BYTES))
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

/// Parses a server-sent event body into events of type `T`, stopping at the first error and
/// at an event larger than `limit` bytes.
pub fn parse<T>(body: ByteStream, limit: usize) -> Events<T>
where
    T: DeserializeOwned + Send + 'static,
{
    let mut size = EventSize::new(limit);
    // The events before the one that passed the limit still reach the parser: the chunk is
    // cut where the limit was passed, and the error follows it.
    let capped = body.into_inner().flat_map(move |chunk| {
        let items = match chunk {
            Ok(bytes) => match size.feed(&bytes) {
                None => vec![Ok(bytes)],
                Some(cut) => vec![
                    Ok(bytes.slice(..cut)),
                    Err(EventError::TooLarge { limit: size.limit }),
                ],
            },
            Err(err) => vec![Err(EventError::Transport(err))],
        };
        futures::stream::iter(items)
    });
    let events = capped.eventsource().filter_map(|item| {
        ready(match item {
            Ok(event) if event.data.is_empty() => None,
            Ok(event) => {
                Some(
                    serde_json::from_str(&event.data).map_err(|error| EventError::Json {
                        error,
                        data: one_line(&event.data, QUOTED_DATA_CHARS),
                    }),
                )
            }
            Err(EventStreamError::Transport(err)) => Some(Err(err)),
            Err(EventStreamError::Utf8(err)) => Some(Err(EventError::Format(err.to_string()))),
            Err(EventStreamError::Parser(err)) => Some(Err(EventError::Format(err.to_string()))),
        })
    });
    // The first error ends the stream: what follows a broken frame cannot be trusted, and a
    // body past the size limit must not be read on.
    Box::pin(events.scan(false, |failed, item| {
        if *failed {
            return ready(None);
        }
        *failed = item.is_err();
        ready(Some(item))
    }))
}

/// Counts the bytes of the event being received: an event ends at a blank line (`\n\n`,
/// `\r\n\r\n` or `\r\r`), whatever chunks it arrives in.
struct EventSize {
    limit: usize,
    current: usize,
    /// The line so far is empty (only line-break bytes since the last line break).
    at_line_start: bool,
    previous: u8,
}

impl EventSize {
    fn new(limit: usize) -> EventSize {
        EventSize {
            limit,
            current: 0,
            at_line_start: true,
            previous: 0,
        }
    }

    /// Counts `bytes`; `Some(offset)` when the byte at `offset` passes the limit.
    fn feed(&mut self, bytes: &[u8]) -> Option<usize> {
        for (offset, &byte) in bytes.iter().enumerate() {
            match byte {
                // `\n` right after `\r` ends the same line break.
                b'\n' if self.previous == b'\r' => {}
                b'\r' | b'\n' => {
                    if self.at_line_start {
                        self.current = 0;
                    }
                    self.at_line_start = true;
                }
                _ => {
                    self.at_line_start = false;
                    self.current += 1;
                    if self.current > self.limit {
                        return Some(offset);
                    }
                }
            }
            self.previous = byte;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Where the limit was passed: (chunk index, offset in it).
    fn passed(limit: usize, chunks: &[&str]) -> Option<(usize, usize)> {
        let mut size = EventSize::new(limit);
        chunks
            .iter()
            .enumerate()
            .find_map(|(index, chunk)| size.feed(chunk.as_bytes()).map(|at| (index, at)))
    }

    #[test]
    fn blank_lines_in_any_line_ending_reset_the_count() {
        assert_eq!(
            passed(8, &["data: 12\n\n", "data: 34\r\n\r\n", "data: 56\r\r"]),
            None
        );
    }

    #[test]
    fn an_event_split_over_chunks_is_counted_whole() {
        // `data: 12` is 8 bytes; the 9th, `d` of the second line, passes the limit.
        assert_eq!(passed(8, &["data:", " 12", "\ndata: 3"]), Some((2, 1)));
    }

    #[test]
    fn a_crlf_inside_an_event_is_not_a_blank_line() {
        // `\r\n` is one line break; the event goes on.
        assert_eq!(passed(10, &["data: 123\r\n", "data: 4"]), Some((1, 1)));
    }
}
