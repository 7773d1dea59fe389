//! The embedded mock: an httpmock server per case that answers each recorded request
//! with the recorded response.
//!
//! A mock is keyed by the request's method, path, query parameters and body (all in
//! their normalised form, which is what the mock run sends) and by the step header, so
//! a request repeated within a case (listing memories before and after a change) gets
//! the answer recorded for that step.
//!
//! The storage proof's listing of each recorded registration is answered too, with an
//! empty cube in the shape of the set's backend (see [`crate::storage_proof`]).

use httpmock::MockServer;

use crate::backend::Backend;
use crate::exchange::STEP_HEADER;
use crate::json::Json;
use crate::snapshot::{body_bytes, CaseSnapshot};
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
            let request_body = body_bytes(&request.body, &request.body_text)
                .map(|b| String::from_utf8_lossy(&b).into_owned());
            let response_body = body_bytes(&response.body, &response.body_text).unwrap_or_default();
            // Only headers that are valid on the wire (httpmock would panic on others).
            let headers: Vec<(String, String)> = match &response.headers {
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
            let step = exchange.step.to_string();
            let path = request.path.clone();
            let status = response.status;
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
