//! A fake OpenAI-compatible LLM with deterministic answers.
//!
//! It runs on its own thread with its own single-threaded tokio runtime, never on
//! the caller's runtime: every `#[tokio::test]` has its own runtime that is dropped
//! when the test ends, and a server spawned there would die with the first test
//! that used it while the (shared) MemOS server still points at it.
//!
//! Endpoints (with or without the `/v1` prefix):
//! - `POST /v1/chat/completions`: a memory-extraction prompt (MemOS's `naive_text`
//!   extractor, or the `simple_struct` reader's chat or document prompt, detected by
//!   their wording) gets JSON in the shape MemOS parses; anything else gets
//!   `Answer to "<last user message>" using N memories.`, where N counts the items of
//!   the system prompt's `## Memories:` list. `stream: true` is answered as SSE.
//! - `POST /v1/embeddings`: hash-based unit vectors of [`EMBEDDING_DIM`] floats,
//!   as a float list or as base64 (the OpenAI Python client asks for base64).
//! - `GET /v1/models`: one model, [`CHAT_MODEL`].
//! - Ollama's `POST /api/embed` (the same vectors) and `GET /api/tags` (listing
//!   [`EMBEDDING_MODEL`]), for MemOS's `ollama` embedder of the vector and graph backends.
//!
//! Every request is recorded with the answer it got; see [`FakeLlm::requests`].

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use axum::body::Bytes;
use axum::http::{header, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use serde_json::{json, Value};
use tokio::sync::oneshot;

use crate::error::Error;

mod answers;

use answers::{
    chat_answer, embeddings_body, messages, ollama_embed_body, ollama_tags_body, word_count,
};
pub use answers::{embed, RequestKind, CHAT_MODEL, EMBEDDING_DIM, EMBEDDING_MODEL};

/// One request the fake LLM received, with its answer.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    /// How the request was classified.
    pub kind: RequestKind,
    /// HTTP method.
    pub method: String,
    /// Path, e.g. `/v1/chat/completions`.
    pub path: String,
    /// The JSON body (`Null` when empty, a string when it was not JSON).
    pub body: Value,
    /// HTTP status of the answer.
    pub status: u16,
    /// The text the model "generated" (chat completions only; empty otherwise).
    pub answer: String,
}

impl RecordedRequest {
    /// The chat messages' `content` texts, in order (empty for non-chat requests).
    pub fn message_texts(&self) -> Vec<String> {
        messages(&self.body)
            .into_iter()
            .map(|(_, text)| text)
            .collect()
    }
}

type Log = Arc<Mutex<Vec<RecordedRequest>>>;

/// A running fake LLM; stopped on drop.
#[derive(Debug)]
pub struct FakeLlm {
    addr: SocketAddr,
    log: Log,
    shutdown: Mutex<Option<oneshot::Sender<()>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl FakeLlm {
    /// Binds 127.0.0.1 on a free port and serves on a dedicated thread.
    ///
    /// Synchronous on purpose: it needs no runtime from the caller.
    pub fn start() -> Result<FakeLlm, Error> {
        let listener = std::net::TcpListener::bind(("127.0.0.1", 0))
            .map_err(|e| Error::FakeLlm(format!("binding 127.0.0.1:0: {e}")))?;
        let addr = listener
            .local_addr()
            .map_err(|e| Error::FakeLlm(format!("reading the bound address: {e}")))?;
        listener
            .set_nonblocking(true)
            .map_err(|e| Error::FakeLlm(format!("making the listener non-blocking: {e}")))?;

        let log: Log = Arc::default();
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<Result<(), String>>();
        let app_log = log.clone();
        let thread = std::thread::Builder::new()
            .name(format!("memos-fake-llm-{}", addr.port()))
            .spawn(move || serve(listener, app_log, stop_rx, ready_tx))
            .map_err(|e| Error::FakeLlm(format!("spawning its thread: {e}")))?;
        match ready_rx.recv() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(Error::FakeLlm(e)),
            Err(_) => return Err(Error::FakeLlm("its thread exited during start-up".into())),
        }
        Ok(FakeLlm {
            addr,
            log,
            shutdown: Mutex::new(Some(stop_tx)),
            thread: Mutex::new(Some(thread)),
        })
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The OpenAI-style base URL, `http://127.0.0.1:PORT/v1`.
    pub fn url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// A copy of every request received so far, oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.log).clone()
    }

    /// Forgets the recorded requests.
    pub fn clear_requests(&self) {
        lock(&self.log).clear();
    }

    /// Stops serving and joins the thread. Idempotent.
    pub fn stop(&self) {
        if let Some(tx) = lock(&self.shutdown).take() {
            let _ = tx.send(());
        }
        if let Some(thread) = lock(&self.thread).take() {
            // The thread only returns; a panic there has already been reported.
            let _ = thread.join();
        }
    }
}

impl Drop for FakeLlm {
    fn drop(&mut self) {
        self.stop();
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn serve(
    listener: std::net::TcpListener,
    log: Log,
    stop: oneshot::Receiver<()>,
    ready: std::sync::mpsc::Sender<Result<(), String>>,
) {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            let _ = ready.send(Err(format!("building its runtime: {e}")));
            return;
        }
    };
    runtime.block_on(async move {
        let listener = match tokio::net::TcpListener::from_std(listener) {
            Ok(l) => l,
            Err(e) => {
                let _ = ready.send(Err(format!("registering the listener: {e}")));
                return;
            }
        };
        let _ = ready.send(Ok(()));
        let app = Router::new().fallback(move |method: Method, uri: Uri, body: Bytes| {
            let log = log.clone();
            async move { handle(&log, method, uri, body) }
        });
        // Dropping the server future (and then the runtime) closes every connection at
        // once; a graceful shutdown would wait for the client's idle keep-alives.
        tokio::select! {
            _ = axum::serve(listener, app) => {}
            _ = stop => {}
        }
    });
}

fn handle(log: &Log, method: Method, uri: Uri, body: Bytes) -> Response {
    let path = uri.path().to_string();
    let route = path.strip_prefix("/v1").unwrap_or(&path);
    let parsed: Result<Value, String> = if body.is_empty() {
        Ok(Value::Null)
    } else {
        serde_json::from_slice(&body).map_err(|e| e.to_string())
    };
    let recorded_body = match &parsed {
        Ok(v) => v.clone(),
        Err(_) => Value::String(String::from_utf8_lossy(&body).into_owned()),
    };

    let (kind, status, answer, response) = match (method.clone(), route, parsed) {
        (Method::POST, "/chat/completions" | "/embeddings" | "/api/embed", Err(e)) => (
            RequestKind::Other,
            400,
            String::new(),
            json_response(400, error_body(&format!("invalid JSON body: {e}"))),
        ),
        (Method::POST, "/chat/completions", Ok(body)) => {
            let (kind, text) = chat_answer(&body);
            let model = body
                .get("model")
                .and_then(Value::as_str)
                .unwrap_or(CHAT_MODEL);
            let prompt_tokens: usize = messages(&body).iter().map(|(_, t)| word_count(t)).sum();
            let n = lock(log).len();
            let response = if body.get("stream").and_then(Value::as_bool) == Some(true) {
                sse_response(n, model, &text)
            } else {
                json_response(200, completion_body(n, model, &text, prompt_tokens))
            };
            (kind, 200, text, response)
        }
        (Method::POST, "/embeddings", Ok(body)) => match embeddings_body(&body) {
            Ok(resp) => (
                RequestKind::Embeddings,
                200,
                String::new(),
                json_response(200, resp),
            ),
            Err(e) => (
                RequestKind::Embeddings,
                400,
                String::new(),
                json_response(400, error_body(&e)),
            ),
        },
        (Method::POST, "/api/embed", Ok(body)) => match ollama_embed_body(&body) {
            Ok(resp) => (
                RequestKind::Embeddings,
                200,
                String::new(),
                json_response(200, resp),
            ),
            Err(e) => (
                RequestKind::Embeddings,
                400,
                String::new(),
                json_response(400, json!({"error": e})),
            ),
        },
        (Method::GET, "/api/tags", _) => (
            RequestKind::Models,
            200,
            String::new(),
            json_response(200, ollama_tags_body()),
        ),
        (Method::GET, "/models", _) => (
            RequestKind::Models,
            200,
            String::new(),
            json_response(
                200,
                json!({"object": "list", "data": [
                    {"id": CHAT_MODEL, "object": "model", "created": 0, "owned_by": "memos-refserver"},
                    {"id": EMBEDDING_MODEL, "object": "model", "created": 0, "owned_by": "memos-refserver"}
                ]}),
            ),
        ),
        _ => (
            RequestKind::Other,
            404,
            String::new(),
            json_response(
                404,
                error_body(&format!("no route for {method} {path} in the fake LLM")),
            ),
        ),
    };
    lock(log).push(RecordedRequest {
        kind,
        method: method.to_string(),
        path,
        body: recorded_body,
        status,
        answer,
    });
    response
}

fn json_response(status: u16, body: Value) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

fn error_body(message: &str) -> Value {
    json!({"error": {"message": message, "type": "invalid_request_error", "param": null, "code": null}})
}

fn completion_body(n: usize, model: &str, text: &str, prompt_tokens: usize) -> Value {
    let completion_tokens = word_count(text);
    json!({
        "id": format!("chatcmpl-fake-{n}"),
        "object": "chat.completion",
        "created": 0,
        "model": model,
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": text},
            "logprobs": null,
            "finish_reason": "stop"
        }],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens
        }
    })
}

fn sse_response(n: usize, model: &str, text: &str) -> Response {
    let chunk = |delta: Value, finish: Value| {
        json!({
            "id": format!("chatcmpl-fake-{n}"),
            "object": "chat.completion.chunk",
            "created": 0,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}]
        })
    };
    let body = format!(
        "data: {}\n\ndata: {}\n\ndata: [DONE]\n\n",
        chunk(json!({"role": "assistant", "content": text}), Value::Null),
        chunk(json!({}), json!("stop")),
    );
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/event-stream")],
        body,
    )
        .into_response()
}
