//! A recording proxy on 127.0.0.1 for the typed `memos_api::v1::Client`: it forwards each
//! request through the case's [`Recorder`], so the client's exchanges get the same
//! checks, snapshots and mock replay as the suite's own requests.

use std::sync::Arc;

use axum::body::{to_bytes, Body as AxumBody};
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use memos_api::Secret;
use tokio::task::JoinHandle;

use crate::case_state::CaseShared;
use crate::exchange::{AuthMode, Body, PathSpec, Req, MAX_BODY_BYTES};

/// The label of exchanges sent by the typed client.
pub const TYPED_CLIENT_LABEL: &str = "memos_api::Client";

/// A running proxy; stopped when dropped.
pub struct Proxy {
    base_url: String,
    task: JoinHandle<()>,
}

impl Proxy {
    /// Starts a proxy forwarding through `shared`'s recorder.
    pub async fn start(shared: Arc<CaseShared>) -> Result<Proxy, String> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .map_err(|e| format!("binding 127.0.0.1: {e}"))?;
        let addr = listener
            .local_addr()
            .map_err(|e| format!("reading the proxy's address: {e}"))?;
        let app = Router::new().fallback(forward).with_state(shared);
        let task = tokio::spawn(async move {
            // Ends when the task is aborted; a failing accept loop just ends the proxy,
            // and the client's requests then fail visibly.
            let _ = axum::serve(listener, app).await;
        });
        Ok(Proxy {
            base_url: format!("http://{addr}"),
            task,
        })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        self.base_url.clone()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn forward(State(shared): State<Arc<CaseShared>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let bytes = match to_bytes(body, MAX_BODY_BYTES).await {
        Ok(b) => b,
        Err(e) => {
            return (
                StatusCode::BAD_GATEWAY,
                format!("memos-conformance proxy: reading the request: {e}"),
            )
                .into_response()
        }
    };
    let query: Vec<(String, String)> = parts
        .uri
        .query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default();
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let auth = match parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        Some(value) => AuthMode::Passthrough(Secret::new(value)),
        None => AuthMode::Omit,
    };
    let req = Req {
        method: parts.method.clone(),
        path: PathSpec::Encoded(parts.uri.path().to_owned()),
        query,
        body: (!bytes.is_empty()).then(|| Body::Raw {
            content_type,
            bytes: bytes.to_vec(),
        }),
        auth,
        label: TYPED_CLIENT_LABEL.to_owned(),
        extra_statuses: Vec::new(),
    };
    let exchange = shared.recorder.send(req).await;
    match exchange.outcome {
        Ok(received) => {
            let mut response = Response::new(AxumBody::from(received.body));
            *response.status_mut() =
                StatusCode::from_u16(received.status).unwrap_or(StatusCode::BAD_GATEWAY);
            for (name, value) in &received.headers {
                if let (Ok(name), Ok(value)) = (
                    header::HeaderName::from_bytes(name.as_bytes()),
                    HeaderValue::from_str(value),
                ) {
                    response.headers_mut().append(name, value);
                }
            }
            response
        }
        Err(e) => (
            StatusCode::BAD_GATEWAY,
            format!("memos-conformance proxy: {e}"),
        )
            .into_response(),
    }
}
