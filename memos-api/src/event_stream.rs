//! [`EventStream`]: the typed events of a server-sent-event answer, read with the linear
//! decoder of [`crate::sse`], bounded per event and, when the caller asks, as a whole.

use std::collections::VecDeque;
use std::fmt;
use std::future::Future as _;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use futures::Stream;
use progenitor_client::ByteStream;
use reqwest::StatusCode;
use serde::de::DeserializeOwned;

use crate::error::{Error, Result, StreamLimit};
use crate::sse::{Decoder, Event, Overflow};
use crate::text::one_line;
use crate::Secret;

/// The default cap on one event: 4 MiB. The largest real event, a chat's `reference` event
/// listing the memories the answer used, is a few KiB; a server that never ends an event
/// cannot make the client buffer more than this.
pub const DEFAULT_MAX_EVENT_BYTES: u64 = 4 * 1024 * 1024;

/// How much of an event's data an [`Error::InvalidResponse`] quotes.
const QUOTED_DATA_CHARS: usize = 200;

/// A `Stream` of the typed events of one stream operation: the chat streams (events of
/// `ChatStreamEvent`) and `scheduler_wait_stream` (`SchedulerProgressEvent`) of
/// [`product::Client`](crate::product::Client), and the `events()` of the generated builders
/// (see [`product_events`](crate::product_events)).
///
/// It ends after the last event, or after its first error: a broken or stalled connection
/// ([`Error::Transport`]), an event larger than its cap ([`Error::ResponseTooLarge`]; see
/// [`ClientBuilder::max_event_bytes`](crate::ClientBuilder::max_event_bytes)), more bytes
/// than that cap without any event (blank lines, comments, events without data:
/// [`Error::InvalidResponse`]), an event whose data is not the JSON the spec describes
/// ([`Error::InvalidResponse`]), or a limit set on the stream itself
/// ([`EventStream::deadline`], [`EventStream::max_events`]: [`Error::StreamLimit`]).
///
/// A server may keep a stream open as long as it sends something before the idle timeout,
/// so a caller that must finish sets a deadline:
///
/// ```no_run
/// use std::time::{Duration, Instant};
///
/// use futures::StreamExt as _;
/// use memos_api::product::types::{ChatRequest, ChatStreamEvent};
/// use memos_api::product::Client;
///
/// # async fn demo() -> memos_api::Result<()> {
/// let client = Client::new("http://127.0.0.1:8000")?;
/// let request = ChatRequest::builder().user_id("alice").query("Where do I live?");
/// let mut events = client
///     .chat_stream(request)
///     .await?
///     .deadline(Instant::now() + Duration::from_secs(300))
///     .max_events(10_000);
/// while let Some(event) = events.next().await {
///     if let ChatStreamEvent::TextEvent(text) = event? {
///         print!("{}", text.data);
///     }
/// }
/// # Ok(())
/// # }
/// ```
#[must_use = "a stream does nothing unless polled"]
pub struct EventStream<T> {
    operation: &'static str,
    body: ByteStream,
    decoder: Decoder,
    /// The limit the decoder was given, for its errors.
    max_event_bytes: u64,
    /// Events decoded and not yet handed out.
    ready: VecDeque<Event>,
    /// What ends the stream once `ready` is empty: the body's end or its first error.
    end: Option<Option<Error>>,
    /// Redacted from every error's server text.
    secret: Option<Secret>,
    max_events: Option<u64>,
    events: u64,
    deadline: Option<Pin<Box<tokio::time::Sleep>>>,
    finished: bool,
    /// Reads an event's data as a `T`: fixed where `T` is known to be JSON, so that the
    /// type and its `Stream` need no bound.
    decode: fn(&str) -> serde_json::Result<T>,
}

impl<T> EventStream<T> {
    /// The events of `body`, each at most `max_event_bytes`.
    pub(crate) fn new(
        operation: &'static str,
        body: ByteStream,
        max_event_bytes: u64,
        secret: Option<Secret>,
    ) -> Self
    where
        T: DeserializeOwned,
    {
        EventStream {
            operation,
            body,
            decoder: Decoder::new(usize::try_from(max_event_bytes).unwrap_or(usize::MAX)),
            max_event_bytes,
            ready: VecDeque::new(),
            end: None,
            secret,
            max_events: None,
            events: 0,
            deadline: None,
            finished: false,
            decode: |data| serde_json::from_str(data),
        }
    }

    /// Ends the stream with [`Error::StreamLimit`] if it has not ended by `deadline`
    /// (whatever the server sends meanwhile: events, keep-alives or nothing).
    pub fn deadline(mut self, deadline: Instant) -> Self {
        let deadline = tokio::time::Instant::from_std(deadline);
        self.deadline = Some(Box::pin(tokio::time::sleep_until(deadline)));
        self
    }

    /// Ends the stream with [`Error::StreamLimit`] if the server sends more than `max`
    /// events: the first `max` are handed out, the error takes the place of the next.
    pub fn max_events(mut self, max: u64) -> Self {
        self.max_events = Some(max);
        self
    }

    /// `error` with the credential taken out of its server text.
    fn redacted(&self, mut error: Error) -> Error {
        if let Some(secret) = &self.secret {
            error.redact(secret.expose());
        }
        error
    }

    /// Reads the body until an event is ready or the body has ended.
    fn poll_body(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        while self.ready.is_empty() && self.end.is_none() {
            match Pin::as_mut(&mut *self.body).poll_next(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Ok(chunk))) => {
                    if let Err(overflow) = self.decoder.feed(&chunk, &mut self.ready) {
                        self.end = Some(Some(self.overflow_error(overflow)));
                    }
                }
                Poll::Ready(Some(Err(source))) => {
                    self.end = Some(Some(Error::Transport {
                        operation: self.operation,
                        source,
                    }));
                }
                // An unfinished event at the end is dropped, as the standard says.
                Poll::Ready(None) => self.end = Some(None),
            }
        }
        Poll::Ready(())
    }

    fn typed(&self, event: &Event) -> Result<T> {
        (self.decode)(&event.data).map_err(|error| {
            self.redacted(Error::InvalidResponse {
                operation: self.operation,
                status: Some(StatusCode::OK),
                reason: format!("an event's data is not the expected JSON ({error})"),
                body_start: one_line(&event.data, QUOTED_DATA_CHARS),
            })
        })
    }

    fn limit(&self, limit: StreamLimit) -> Error {
        Error::StreamLimit {
            operation: self.operation,
            limit,
        }
    }

    fn overflow_error(&self, overflow: Overflow) -> Error {
        let status = Some(StatusCode::OK);
        match overflow {
            Overflow::Event => Error::ResponseTooLarge {
                operation: self.operation,
                status,
                limit: self.max_event_bytes,
            },
            Overflow::NoEvent => Error::InvalidResponse {
                operation: self.operation,
                status,
                reason: format!(
                    "the event stream sent more than {} bytes of blank lines, comments or \
                     events without data, and no event; the client stopped reading it",
                    self.max_event_bytes
                ),
                body_start: String::new(),
            },
        }
    }
}

impl<T> Stream for EventStream<T> {
    type Item = Result<T>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.finished {
            return Poll::Ready(None);
        }
        if let Some(deadline) = &mut this.deadline {
            if deadline.as_mut().poll(cx).is_ready() {
                this.finished = true;
                return Poll::Ready(Some(Err(this.limit(StreamLimit::Deadline))));
            }
        }
        if this.poll_body(cx).is_pending() {
            return Poll::Pending;
        }
        let item = match this.ready.pop_front() {
            Some(_) if this.max_events.is_some_and(|max| this.events >= max) => {
                Err(this.limit(StreamLimit::Events(this.events)))
            }
            Some(event) => {
                this.events += 1;
                this.typed(&event)
            }
            None => match this.end.take().flatten() {
                Some(error) => Err(this.redacted(error)),
                None => {
                    this.finished = true;
                    return Poll::Ready(None);
                }
            },
        };
        // What follows a broken frame cannot be trusted, and a body past a limit must not
        // be read on.
        this.finished = item.is_err();
        Poll::Ready(Some(item))
    }
}

impl<T> fmt::Debug for EventStream<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventStream")
            .field("operation", &self.operation)
            .field("max_event_bytes", &self.max_event_bytes)
            .field("max_events", &self.max_events)
            .field("events", &self.events)
            .field("finished", &self.finished)
            .finish_non_exhaustive()
    }
}
