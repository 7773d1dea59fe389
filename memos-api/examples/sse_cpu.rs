//! The client CPU time a hostile event stream costs, through `ProductClient::chat_stream`
//! against a local server (127.0.0.1) that writes its body in 16 KiB chunks:
//!
//! * `event`: one 16 MiB event (the caps raised so that the whole event is read);
//! * `blank`: 64 MiB of blank lines (the client's default caps);
//! * `blank-all`: the same with the caps raised, so that all 64 MiB are read.
//!
//! `cargo run -p memos-api --example sse_cpu -- [event|blank|blank-all]...` (`event` and
//! `blank` by default). The
//! server runs on a thread of its own; the figure is the CPU time (user + system) of the
//! thread that runs the client, read from `/proc/thread-self/stat` (Linux).

use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::http::header;
use axum::response::Response;
use axum::routing::post;
use axum::Router;
use futures::StreamExt as _;
use memos_api::product;
use memos_api::product::types::ChatRequest;

const MIB: usize = 1024 * 1024;
const CHUNK: usize = 16 * 1024;

/// Starts a server on its own thread that answers the chat stream with `body`.
fn serve(body: Bytes) -> String {
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        runtime.block_on(async move {
            let router = Router::new().route(
                "/product/chat/stream",
                post(move || {
                    let body = body.clone();
                    async move {
                        let chunks = (0..body.len()).step_by(CHUNK).map(move |start| {
                            Ok::<_, std::io::Error>(
                                body.slice(start..(start + CHUNK).min(body.len())),
                            )
                        });
                        Response::builder()
                            .header(header::CONTENT_TYPE, "text/event-stream")
                            .body(Body::from_stream(futures::stream::iter(chunks)))
                            .expect("a response")
                    }
                }),
            );
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind 127.0.0.1:0");
            let address = listener.local_addr().expect("an address");
            sender.send(format!("http://{address}")).expect("send");
            axum::serve(listener, router).await.expect("serve");
        });
    });
    receiver.recv().expect("the server's address")
}

/// The CPU time (user + system) of the calling thread so far.
fn thread_cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").expect("/proc/thread-self/stat");
    // The fields after the command name (which may hold spaces) start at field 3;
    // utime and stime are fields 14 and 15, in clock ticks (100 per second on Linux).
    let fields: Vec<&str> = stat[stat.rfind(')').expect("a stat line") + 2..]
        .split(' ')
        .collect();
    let ticks: u64 =
        fields[11].parse::<u64>().expect("utime") + fields[12].parse::<u64>().expect("stime");
    Duration::from_millis(ticks * 10)
}

async fn measure(case: &str, body: Bytes, raise_caps: bool) {
    let base_url = serve(body);
    let mut builder = product::Client::builder(&base_url).timeout(Duration::from_secs(3600));
    if raise_caps {
        builder = builder.max_response_bytes(1 << 30);
        builder = builder.max_event_bytes(1 << 30);
    }
    let client = builder.build().expect("a client");
    let (cpu, wall) = (thread_cpu(), Instant::now());
    let mut events = client
        .chat_stream(ChatRequest::builder().user_id("alice").query("hi"))
        .await
        .expect("the stream starts");
    let (mut count, mut outcome) = (0, "ended".to_owned());
    while let Some(event) = events.next().await {
        match event {
            Ok(_) => count += 1,
            Err(err) => {
                outcome = format!("error: {err}");
                break;
            }
        }
    }
    let (cpu, wall) = (thread_cpu() - cpu, wall.elapsed());
    let outcome = outcome.lines().next().unwrap_or_default().to_owned();
    println!(
        "{case}: client CPU {:.2} s, wall {:.2} s, {count} events, {outcome}",
        cpu.as_secs_f64(),
        wall.as_secs_f64()
    );
}

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let mut cases: Vec<String> = std::env::args().skip(1).collect();
    if cases.is_empty() {
        cases = vec!["event".into(), "blank".into()];
    }
    for case in cases {
        match case.as_str() {
            "event" => {
                let mut body = b"data: {\"type\": \"text\", \"data\": \"".to_vec();
                body.resize(body.len() + 16 * MIB, b'x');
                body.extend_from_slice(b"\"}\n\n");
                runtime.block_on(measure("one 16 MiB event", Bytes::from(body), true));
            }
            "blank" => runtime.block_on(measure(
                "64 MiB of blank lines",
                Bytes::from(vec![b'\n'; 64 * MIB]),
                false,
            )),
            "blank-all" => runtime.block_on(measure(
                "64 MiB of blank lines, caps raised",
                Bytes::from(vec![b'\n'; 64 * MIB]),
                true,
            )),
            other => eprintln!("unknown case {other:?}: event, blank or blank-all"),
        }
    }
}
