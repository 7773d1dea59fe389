//! Sends the exercise's requests and holds every exchange against the spec and the typed
//! client's types, as it happens.

use std::time::Duration;

use anyhow::Context as _;
use serde_json::Value;

use memos_text::one_line;

use super::decode::decode;
use super::spec::{Operation, Schema, SpecIndex};

/// The longest body the exercise reads (a chat stream with references is well under it).
const MAX_BODY_BYTES: usize = 32 * 1024 * 1024;
/// Every request's time limit, body included (a `fine` add or a chat runs the fake LLM).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(90);
/// How much of a server message a finding quotes.
const QUOTE_CHARS: usize = 160;

/// One request and its answer, with what was found wrong.
pub struct Exchange {
    pub operation: String,
    pub case: String,
    pub status: u16,
    /// The spec rejects the request the server accepted, or does not document the answer.
    pub spec_problems: Vec<String>,
    /// A body the generated types cannot hold.
    pub decode_failures: Vec<String>,
}

/// What the server answered, for the next steps of the matrix.
pub struct Answer {
    pub status: u16,
    /// The JSON body (`Null` when it was not JSON).
    pub body: Value,
    /// The JSON of each event of a stream.
    pub events: Vec<Value>,
}

/// One request to send: an operation, a name for what it exercises, and its inputs.
pub struct Request<'a> {
    pub operation: &'a str,
    pub case: &'a str,
    pub path_params: Vec<(&'a str, String)>,
    pub query: Vec<(&'a str, String)>,
    pub body: Option<Value>,
}

impl<'a> Request<'a> {
    /// A request with a JSON body.
    pub fn body(operation: &'a str, case: &'a str, body: Value) -> Request<'a> {
        Request {
            operation,
            case,
            path_params: Vec::new(),
            query: Vec::new(),
            body: Some(body),
        }
    }

    /// A request with query parameters only.
    pub fn query(operation: &'a str, case: &'a str, query: Vec<(&'a str, String)>) -> Request<'a> {
        Request {
            operation,
            case,
            path_params: Vec::new(),
            query,
            body: None,
        }
    }
}

/// The HTTP client, the spec and every exchange so far.
pub struct Session<'s> {
    http: reqwest::Client,
    base_url: String,
    spec: &'s SpecIndex,
    pub exchanges: Vec<Exchange>,
}

impl<'s> Session<'s> {
    pub fn new(base_url: &str, spec: &'s SpecIndex) -> anyhow::Result<Session<'s>> {
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            // The server closes a connection after some 500s; a fresh one per request
            // keeps a reset from being taken for an answer.
            .pool_max_idle_per_host(0)
            .build()
            .context("building the HTTP client")?;
        Ok(Session {
            http,
            base_url: base_url.trim_end_matches('/').to_owned(),
            spec,
            exchanges: Vec::new(),
        })
    }

    /// Sends `request`, checks the exchange and keeps it; the answer feeds later requests.
    pub async fn send(&mut self, request: Request<'_>) -> anyhow::Result<Answer> {
        let op = self.spec.operation(request.operation)?;
        let mut path = op.path.clone();
        for (name, value) in &request.path_params {
            path = path.replace(&format!("{{{name}}}"), value);
        }
        let method = reqwest::Method::from_bytes(op.method.as_bytes())
            .with_context(|| format!("method {}", op.method))?;
        let mut builder = self
            .http
            .request(method, format!("{}{path}", self.base_url))
            .query(&request.query);
        if let Some(body) = &request.body {
            builder = builder
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(serde_json::to_vec(body)?);
        }
        let what = format!("{} [{}]", request.operation, request.case);
        let mut response = builder
            .send()
            .await
            .with_context(|| format!("{what}: no answer"))?;
        let status = response.status().as_u16();
        let media = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(|v| v.trim().to_ascii_lowercase())
            .unwrap_or_default();
        let mut bytes = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .with_context(|| format!("{what}: reading the answer"))?
        {
            bytes.extend_from_slice(&chunk);
            anyhow::ensure!(
                bytes.len() <= MAX_BODY_BYTES,
                "{what}: the answer is longer than {MAX_BODY_BYTES} bytes"
            );
        }

        let mut exchange = Exchange {
            operation: request.operation.to_owned(),
            case: request.case.to_owned(),
            status,
            spec_problems: Vec::new(),
            decode_failures: Vec::new(),
        };
        let mut answer = Answer {
            status,
            body: Value::Null,
            events: Vec::new(),
        };
        if media == "text/event-stream" {
            answer.events = events(&bytes, &mut exchange.spec_problems);
        } else if let Ok(body) = serde_json::from_slice(&bytes) {
            answer.body = body;
        }
        // Only a 2xx is an acceptance: a 4xx or 5xx after validation may be the intended
        // refusal of the spec (a defect the spec names) rather than its omission.
        if (200..300).contains(&status) || status == 422 {
            let refusal = (status == 422).then(|| server_message(&answer.body));
            check_request(op, &request, refusal.as_deref(), &mut exchange);
        }
        check_response(op, &media, &answer, &bytes, &mut exchange);
        self.exchanges.push(exchange);
        Ok(answer)
    }
}

/// A request the server accepted (a 2xx) must be valid under the spec and fit
/// the typed request type; one it refused should be invalid under the spec.
fn check_request(
    op: &Operation,
    request: &Request<'_>,
    refusal: Option<&str>,
    exchange: &mut Exchange,
) {
    let mut problems = Vec::new();
    match (&op.body, &request.body) {
        (Some(schema), Some(body)) => {
            problems.extend(schema.compiled.problems(body));
            if refusal.is_none() {
                if let Err(e) = decode_with(schema, body) {
                    exchange.decode_failures.push(format!("request body: {e}"));
                }
            }
        }
        (None, Some(_)) => problems.push("the spec documents no request body".into()),
        (Some(_), None) => problems.push("the spec requires a request body".into()),
        (None, None) => {}
    }
    for (name, value) in &request.query {
        match op.query.get(*name) {
            None => problems.push(format!("undocumented query parameter `{name}`")),
            Some(param) => {
                let as_string = Value::String(value.clone());
                let as_json = serde_json::from_str(value).unwrap_or(as_string.clone());
                if !param.schema.problems(&as_string).is_empty()
                    && !param.schema.problems(&as_json).is_empty()
                {
                    problems.push(format!("query parameter `{name}={value}` fails its schema"));
                }
            }
        }
    }
    for (name, param) in &op.query {
        if param.required && !request.query.iter().any(|(n, _)| n == name) {
            problems.push(format!("required query parameter `{name}` missing"));
        }
    }
    match refusal {
        None => exchange.spec_problems.extend(
            problems
                .into_iter()
                .map(|p| format!("the server accepted a request the spec rejects: {p}")),
        ),
        Some(message) if problems.is_empty() => exchange.spec_problems.push(format!(
            "the spec accepts a request the server refused with 422: {}",
            one_line(message, QUOTE_CHARS)
        )),
        Some(_) => {}
    }
}

/// The answer's status, media type and body must be documented, and the body (each event
/// of a stream) must decode into the generated type of its schema.
fn check_response(
    op: &Operation,
    media: &str,
    answer: &Answer,
    bytes: &[u8],
    exchange: &mut Exchange,
) {
    let status = answer.status;
    let Some(response) = op.response(status) else {
        exchange.spec_problems.push(format!(
            "undocumented status {status}: {}",
            one_line(&String::from_utf8_lossy(bytes), QUOTE_CHARS)
        ));
        return;
    };
    let Some(schema) = response.content.get(media) else {
        exchange
            .spec_problems
            .push(format!("undocumented content type `{media}` for {status}"));
        return;
    };
    if media == "text/event-stream" {
        let Some(event_schema) = &response.event else {
            exchange
                .spec_problems
                .push(format!("{status} stream without an `x-event-schema`"));
            return;
        };
        for (n, event) in answer.events.iter().enumerate() {
            for problem in event_schema.compiled.problems(event) {
                exchange
                    .spec_problems
                    .push(format!("{status} event {n}: {problem}"));
            }
            if let Err(e) = decode_with(event_schema, event) {
                exchange
                    .decode_failures
                    .push(format!("{status} event {n}: {e}"));
            }
        }
        return;
    }
    let body = match serde_json::from_slice::<Value>(bytes) {
        Ok(body) => body,
        Err(e) => {
            exchange
                .spec_problems
                .push(format!("{status}: the body is not JSON ({e})"));
            return;
        }
    };
    for problem in schema.compiled.problems(&body) {
        exchange
            .spec_problems
            .push(format!("{status} body {problem}"));
    }
    if let Err(e) = decode_with(schema, &body) {
        exchange.decode_failures.push(format!("{status} body: {e}"));
    }
}

fn decode_with(schema: &Schema, value: &Value) -> Result<(), String> {
    match &schema.name {
        Some(name) => decode(name, value),
        None => Err("the schema is inline; the spec should name it so it has a type".into()),
    }
}

/// The JSON of each `data:` event of a server-sent event stream; a frame that is not JSON
/// is a problem.
fn events(bytes: &[u8], problems: &mut Vec<String>) -> Vec<Value> {
    let text = String::from_utf8_lossy(bytes);
    let mut out = Vec::new();
    let mut data: Vec<&str> = Vec::new();
    let mut flush = |data: &mut Vec<&str>, out: &mut Vec<Value>| {
        if data.is_empty() {
            return;
        }
        let joined = data.join("\n");
        data.clear();
        match serde_json::from_str(&joined) {
            Ok(value) => out.push(value),
            Err(e) => problems.push(format!(
                "a stream event is not JSON ({e}): {}",
                one_line(&joined, QUOTE_CHARS)
            )),
        }
    };
    for line in text.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.is_empty() {
            flush(&mut data, &mut out);
        } else if let Some(rest) = line.strip_prefix("data:") {
            data.push(rest.strip_prefix(' ').unwrap_or(rest));
        }
    }
    flush(&mut data, &mut out);
    out
}

/// The `message` of an envelope, else the whole body, for quoting.
fn server_message(body: &Value) -> String {
    body.get("message")
        .and_then(Value::as_str)
        .map_or_else(|| body.to_string(), str::to_owned)
}
