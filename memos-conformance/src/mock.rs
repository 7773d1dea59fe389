//! The embedded mock: an httpmock server per case that answers each recorded request
//! with the recorded response.
//!
//! A mock is keyed by the request's method, path, query parameters and body (all in
//! their normalised form, which is what the mock run sends) and by the step header, so
//! a request repeated within a case (listing memories before and after a change) gets
//! the answer recorded for that step.
//!
//! The storage proof's listing of each recorded registration is answered too, with an
//! empty cube in the shape of the set's backend (see [`crate::storage_proof`]), and so
//! are a product case's polls for what the server stores in the background, with the
//! cube's last recorded listing (what the live run waited for).

use httpmock::MockServer;

use crate::backend::Backend;
use crate::exchange::STEP_HEADER;
use crate::json::Json;
use crate::product::BACKGROUND_POLL_STEP;
use crate::redact::REDACTED;
use crate::snapshot::{body_bytes, CaseSnapshot, SnapResponse};
use crate::storage_proof;

/// `(cube, user)` of every registration the snapshot recorded as successful: the
/// storage proof lists each such cube, outside the recorded steps.
fn registered_cubes(snapshot: &CaseSnapshot) -> Vec<(String, String)> {
    snapshot
        .exchanges
        .iter()
        .filter(|e| e.request.method == "POST" && e.request.path == "/mem_cubes")
        .filter(|e| {
            e.response
                .as_ref()
                .is_some_and(|r| (200..300).contains(&r.status))
        })
        .filter_map(|e| {
            let body = e.request.body.as_ref()?;
            let field = |k: &str| body.get(k).and_then(Json::as_str).map(str::to_owned);
            Some((field("mem_cube_id")?, field("user_id")?))
        })
        .collect()
}

/// `(request body, response)` of the last recorded `/product/get_memory` listing of each
/// cube: the answer to [`crate::product::wait_for_background_store`]'s polls, which are
/// outside the recorded steps. The live run polled until the background was done, so the
/// last listing shows what it waited for.
fn last_product_listings(snapshot: &CaseSnapshot) -> Vec<(String, &SnapResponse)> {
    let mut last: Vec<(String, &SnapResponse)> = Vec::new();
    for exchange in &snapshot.exchanges {
        let request = &exchange.request;
        if request.method != "POST" || request.path != "/product/get_memory" {
            continue;
        }
        let (Some(response), Some(body)) = (
            &exchange.response,
            body_bytes(&request.body, &request.body_text),
        ) else {
            continue;
        };
        let body = String::from_utf8_lossy(&body).into_owned();
        last.retain(|(b, _)| *b != body);
        last.push((body, response));
    }
    last
}

/// A running mock for one case.
pub struct MockReplay {
    server: MockServer,
}

impl MockReplay {
    /// Starts a mock server answering the snapshot's exchanges, recorded from a server
    /// with `backend`.
    pub async fn start(snapshot: &CaseSnapshot, backend: Backend) -> Result<MockReplay, String> {
        let server = MockServer::start_async().await;
        for exchange in &snapshot.exchanges {
            let Some(response) = &exchange.response else {
                // A recorded transport failure is replayed by the recorder itself.
                continue;
            };
            let request = &exchange.request;
            let method: httpmock::Method = request
                .method
                .parse()
                .map_err(|e| format!("snapshot {} step {}: {e}", snapshot.case, exchange.step))?;
            if !(100..=999).contains(&response.status) {
                return Err(format!(
                    "snapshot {} step {}: {} is not an HTTP status",
                    snapshot.case, exchange.step, response.status
                ));
            }
            let query: Vec<(String, String)> = match &request.query {
                Json::Object(pairs) => pairs
                    .iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                    .collect(),
                _ => Vec::new(),
            };
            // A body whose secret was redacted in the recording (a product chat's
            // `business_key`) differs from what the case sends, byte for byte: the
            // recorder has compared the two normalised before sending, so the mock
            // matches it by step alone.
            let request_body = body_bytes(&request.body, &request.body_text)
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .filter(|b| !b.contains(REDACTED));
            let (status, headers, response_body) = answer(response);
            let step = exchange.step.to_string();
            let path = request.path.clone();
            server
                .mock_async(|when, then| {
                    let mut when = when.method(method).path(path).header(STEP_HEADER, step);
                    for (k, v) in query {
                        when = when.query_param(k, v);
                    }
                    if let Some(body) = request_body {
                        when.body(body);
                    }
                    let mut then = then.status(status);
                    for (k, v) in headers {
                        then = then.header(k, v);
                    }
                    then.body(response_body);
                })
                .await;
        }
        for (body, response) in last_product_listings(snapshot) {
            let (status, headers, response_body) = answer(response);
            server
                .mock_async(|when, then| {
                    when.method(httpmock::Method::POST)
                        .path("/product/get_memory")
                        .header(STEP_HEADER, BACKGROUND_POLL_STEP)
                        .body(body);
                    let mut then = then.status(status);
                    for (k, v) in headers {
                        then = then.header(k, v);
                    }
                    then.body(response_body);
                })
                .await;
        }
        for (cube, user) in registered_cubes(snapshot) {
            let body = storage_proof::empty_listing(&cube, backend).to_string();
            server
                .mock_async(|when, then| {
                    when.method(httpmock::Method::GET)
                        .path("/memories")
                        .header(STEP_HEADER, storage_proof::PROOF_STEP)
                        .query_param("mem_cube_id", cube)
                        .query_param("user_id", user);
                    then.status(200)
                        .header("content-type", "application/json")
                        .body(body);
                })
                .await;
        }
        Ok(MockReplay { server })
    }

    /// The mock's base URL.
    pub fn base_url(&self) -> String {
        self.server.base_url()
    }
}

/// The status, the headers valid on the wire (httpmock would panic on others) and the
/// body of a recorded response.
fn answer(response: &SnapResponse) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let headers = match &response.headers {
        Json::Object(pairs) => pairs
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
            .filter(|(k, v)| {
                reqwest::header::HeaderName::from_bytes(k.as_bytes()).is_ok()
                    && reqwest::header::HeaderValue::from_str(v).is_ok()
            })
            .collect(),
        _ => Vec::new(),
    };
    let body = body_bytes(&response.body, &response.body_text).unwrap_or_default();
    (response.status, headers, body)
}
