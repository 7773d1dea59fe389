//! Tiny hostile servers on 127.0.0.1:0 for the client tests. Each stops when its guard is
//! dropped, so a test never leaves a server behind.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::http::{header, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use futures::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// A running server: its base URL and how many requests it has seen.
pub struct Server {
    pub base_url: String,
    hits: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl Server {
    /// How many requests reached the server.
    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Serves `router`, counting every request.
pub async fn serve(router: Router) -> Server {
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&hits);
    let router = router.layer(axum::middleware::from_fn(
        move |request: axum::extract::Request, next: axum::middleware::Next| {
            counter.fetch_add(1, Ordering::SeqCst);
            next.run(request)
        },
    ));
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local address");
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    Server {
        base_url: base_url(addr),
        hits,
        task,
    }
}

/// Serves raw bytes: answers every connection with `answer` once the request head has
/// arrived, then closes the connection (whatever the answer promised).
pub async fn serve_raw(answer: &'static [u8]) -> Server {
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&hits);
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local address");
    let task = tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 4096];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let _ = socket.write_all(answer).await;
                let _ = socket.flush().await;
            });
        }
    });
    Server {
        base_url: base_url(addr),
        hits,
        task,
    }
}

/// `total` bytes (or endless, with `None`) of JSON-ish filler in 64 KiB chunks, made as they
/// are sent so that the server side holds almost nothing.
fn filler(total: Option<u64>) -> Body {
    let chunk = Bytes::from(vec![b' '; 64 * 1024]);
    let chunks = total.map_or(u64::MAX, |total| total / chunk.len() as u64);
    Body::from_stream(
        futures::stream::iter(0..chunks).map(move |_| Ok::<_, std::io::Error>(chunk.clone())),
    )
}

/// A server answering `GET /users` with `status` and a body of `total` bytes (`None`:
/// endless), with or without a `Content-Length`.
pub async fn serve_big(status: StatusCode, total: Option<u64>, declare_length: bool) -> Server {
    serve(Router::new().route(
        "/users",
        get(move || async move {
            let mut response = Response::new(filler(total));
            *response.status_mut() = status;
            let headers = response.headers_mut();
            headers.insert(header::CONTENT_TYPE, "application/json".parse().unwrap());
            if let (true, Some(total)) = (declare_length, total) {
                headers.insert(header::CONTENT_LENGTH, total.into());
            }
            response
        }),
    ))
    .await
}

fn base_url(addr: SocketAddr) -> String {
    format!("http://{addr}")
}

/// The process's peak resident memory (`VmHWM`) in KiB, where `/proc` has it.
pub fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The process's resident memory now (`VmRSS`) in KiB.
pub fn rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
