//! `ProductClient`'s event streams against hostile and unusual servers (axum on 127.0.0.1):
//! an event past the cap, endless blank lines or keep-alives, line breaks split between
//! writes, and the limits a caller sets on a stream. Each case ends with a typed error or
//! the events, never a hang (a test-level guard fails the test instead).

use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::http::header;
use axum::response::Response;
use axum::routing::post;
use axum::Router;
use futures::{Stream, StreamExt as _};
use memos_api::product::types::{ChatRequest, ChatStreamEvent};
use memos_api::product::Client;
use memos_api::{
    ClientBuilder, Error, EventStream, RetryPolicy, StreamLimit, DEFAULT_MAX_EVENT_BYTES,
};

use crate::defects::HANG;
use crate::support::serve;

const KIB: usize = 1024;

/// A server whose chat stream sends the frames `frames` makes, each written on its own.
async fn serve_stream<S, F>(frames: F) -> crate::support::Server
where
    F: Fn() -> S + Clone + Send + Sync + 'static,
    S: Stream<Item = Bytes> + Send + 'static,
{
    serve(Router::new().route(
        "/product/chat/stream",
        post(move || {
            let frames = frames.clone();
            async move {
                Response::builder()
                    .header(header::CONTENT_TYPE, "text/event-stream")
                    .body(Body::from_stream(frames().map(Ok::<_, std::io::Error>)))
                    .expect("a response")
            }
        }),
    ))
    .await
}

/// `frame`, again and again, for as long as the client reads.
fn endless(frame: &'static [u8]) -> impl Stream<Item = Bytes> {
    futures::stream::repeat(Bytes::from_static(frame))
}

/// `frames`, one write each, `gap` apart.
fn paced(frames: Vec<&'static [u8]>, gap: Duration) -> impl Stream<Item = Bytes> {
    futures::stream::iter(frames).then(move |frame| async move {
        tokio::time::sleep(gap).await;
        Bytes::from_static(frame)
    })
}

fn builder(base_url: &str) -> ClientBuilder<Client> {
    Client::builder(base_url).retry_policy(RetryPolicy::none())
}

fn chat() -> memos_api::product::types::builder::ChatRequest {
    ChatRequest::builder()
        .user_id("alice")
        .query("Where do I live?")
}

/// Every item of `events`, or a failed test if they do not end in time.
async fn collect(events: EventStream<ChatStreamEvent>) -> Vec<memos_api::Result<ChatStreamEvent>> {
    tokio::time::timeout(HANG, events.collect())
        .await
        .expect("the stream ended")
}

async fn chat_events(client: &Client) -> Vec<memos_api::Result<ChatStreamEvent>> {
    collect(client.chat_stream(chat()).await.expect("the stream starts")).await
}

fn texts(events: &[memos_api::Result<ChatStreamEvent>]) -> Vec<String> {
    events
        .iter()
        .filter_map(|event| match event {
            Ok(ChatStreamEvent::TextEvent(text)) => Some(text.data.clone()),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn an_event_past_max_event_bytes_ends_the_stream_with_a_clear_error() {
    let server = serve_stream(|| {
        let long = format!(
            "data: {{\"type\": \"text\", \"data\": \"{}\"}}\n\n",
            "x".repeat(2 * KIB)
        );
        futures::stream::iter([
            Bytes::from_static(b"data: {\"type\": \"text\", \"data\": \"first\"}\n\n"),
            Bytes::from(long),
            Bytes::from_static(b"data: {\"type\": \"end\"}\n\n"),
        ])
    })
    .await;
    let client = builder(&server.base_url)
        .max_event_bytes(KIB as u64)
        .build()
        .unwrap();
    let events = chat_events(&client).await;
    assert_eq!(events.len(), 2, "{events:?}");
    assert_eq!(texts(&events), ["first"]);
    let err = events[1].as_ref().unwrap_err();
    assert!(
        matches!(
            err,
            Error::ResponseTooLarge {
                operation: "chat_stream",
                limit: 1024,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("larger than 1 KiB"), "{err}");
}

#[tokio::test]
async fn the_event_cap_is_never_more_than_max_response_bytes() {
    let server = serve_stream(|| endless(b"data: {\"type\": \"text\", \"data\": \"xxxxxxxx")).await;
    let client = builder(&server.base_url)
        .max_event_bytes(1 << 30)
        .max_response_bytes(64 * KIB as u64)
        .build()
        .unwrap();
    let events = chat_events(&client).await;
    assert_eq!(events.len(), 1, "{events:?}");
    let limit = 64 * KIB as u64;
    assert!(
        matches!(&events[0], Err(Error::ResponseTooLarge { limit: l, .. }) if *l == limit),
        "{events:?}"
    );
}

#[tokio::test]
async fn endless_blank_lines_end_in_an_error_at_the_default_cap() {
    let server = serve_stream(|| endless(&[b'\n'; 8 * 1024])).await;
    let client = builder(&server.base_url).build().unwrap();
    let events = chat_events(&client).await;
    assert_eq!(events.len(), 1, "{events:?}");
    let err = events[0].as_ref().unwrap_err();
    assert!(
        matches!(
            err,
            Error::InvalidResponse {
                operation: "chat_stream",
                ..
            }
        ),
        "{err:?}"
    );
    let shown = err.to_string();
    assert!(
        shown.contains(&format!(
            "more than {DEFAULT_MAX_EVENT_BYTES} bytes of blank lines"
        )),
        "{shown}"
    );
}

#[tokio::test]
async fn endless_keep_alive_comments_end_in_an_error() {
    let server = serve_stream(|| endless(b": keep-alive\r\n\r\n")).await;
    let client = builder(&server.base_url)
        .max_event_bytes(256 * KIB as u64)
        .build()
        .unwrap();
    let events = chat_events(&client).await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert!(
        matches!(&events[0], Err(Error::InvalidResponse { reason, .. }) if reason.contains("no event")),
        "{events:?}"
    );
}

#[tokio::test]
async fn endless_events_without_data_end_in_an_error() {
    // Each is dispatched by the grammar but carries nothing to decode: it does not reset
    // the count of bytes without an event.
    let server = serve_stream(|| endless(b"event: ping\ndata:\n\n")).await;
    let client = builder(&server.base_url)
        .max_event_bytes(256 * KIB as u64)
        .build()
        .unwrap();
    let events = chat_events(&client).await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert!(
        matches!(
            &events[0],
            Err(Error::InvalidResponse { .. } | Error::ResponseTooLarge { .. })
        ),
        "{events:?}"
    );
}

#[tokio::test]
async fn crlf_and_cr_line_ends_split_between_writes_read_as_one_line_break() {
    // Were the `\n` after a `\r` read as a second line break, the first event would end
    // after its first line and not be JSON.
    let frames = || {
        paced(
            vec![
                b"data: {\"type\": \"text\",\r",
                b"\ndata: \"data\": \"You live \"}\r",
                b"\n\r",
                b"\n: comment\rdata: {\"type\": \"text\", \"data\": \"in Lisbon.\"}\r",
                b"\r",
                b"data: {\"type\": \"end\"}\n\n",
            ],
            Duration::from_millis(30),
        )
    };
    let server = serve_stream(frames).await;
    let client = builder(&server.base_url).build().unwrap();
    let events = chat_events(&client).await;
    assert_eq!(events.len(), 3, "{events:?}");
    assert_eq!(texts(&events), ["You live ", "in Lisbon."]);
    assert!(matches!(events[2], Ok(ChatStreamEvent::EndEvent(_))));
}

#[tokio::test]
async fn a_deadline_ends_a_stream_of_keep_alives() {
    let server = serve_stream(|| {
        futures::stream::repeat(()).then(|()| async {
            tokio::time::sleep(Duration::from_millis(20)).await;
            Bytes::from_static(b": keep-alive\n\n")
        })
    })
    .await;
    let client = builder(&server.base_url).build().unwrap();
    let started = Instant::now();
    let events = client
        .chat_stream(chat())
        .await
        .unwrap()
        .deadline(started + Duration::from_millis(300));
    let events = collect(events).await;
    assert_eq!(events.len(), 1, "{events:?}");
    let err = events[0].as_ref().unwrap_err();
    assert!(
        matches!(
            err,
            Error::StreamLimit {
                operation: "chat_stream",
                limit: StreamLimit::Deadline
            }
        ),
        "{err:?}"
    );
    assert!(err.may_have_been_applied());
    assert!(started.elapsed() >= Duration::from_millis(300));
}

#[tokio::test]
async fn max_events_hands_out_that_many_and_fails_on_the_next() {
    let frames = || {
        futures::stream::iter(0..5).map(|n| {
            Bytes::from(format!(
                "data: {{\"type\": \"text\", \"data\": \"{n}\"}}\n\n"
            ))
        })
    };
    let server = serve_stream(frames).await;
    let client = builder(&server.base_url).build().unwrap();

    let events = collect(client.chat_stream(chat()).await.unwrap().max_events(3)).await;
    assert_eq!(events.len(), 4, "{events:?}");
    assert_eq!(texts(&events), ["0", "1", "2"]);
    assert!(
        matches!(
            events[3],
            Err(Error::StreamLimit {
                limit: StreamLimit::Events(3),
                ..
            })
        ),
        "{events:?}"
    );

    // A stream that ends within the limit ends as usual.
    let events = collect(client.chat_stream(chat()).await.unwrap().max_events(5)).await;
    assert_eq!(texts(&events), ["0", "1", "2", "3", "4"]);
    assert!(events.iter().all(Result::is_ok), "{events:?}");
}
