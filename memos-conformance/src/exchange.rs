//! The HTTP layer the suite controls: requests are built from parts, sent with reqwest,
//! and recorded byte for byte (request and response), so every exchange can be checked
//! against the spec and snapshotted.

use std::time::{Duration, Instant};

use memos_api::{Auth, AuthScheme, Secret};
use reqwest::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE, USER_AGENT};
use reqwest::Method;
use url::Url;

use crate::redact::Redactor;

/// Header carrying the exchange's number within its case. The embedded mock matches on
/// it, so a request repeated within a case gets the answer recorded for that step.
pub const STEP_HEADER: &str = "x-memos-conformance-step";
/// The most of a response body that is read; more is reported as a failure.
pub const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;
/// Response headers kept in the record (others, such as `date`, vary or say nothing
/// about conformance).
pub const KEPT_RESPONSE_HEADERS: &[&str] = &[
    "content-type",
    "allow",
    "location",
    "www-authenticate",
    "retry-after",
];

/// The configured credential's `Authorization` value. The message never echoes the
/// token, and keeps the suite's wording (the operator copied it, the operator fixes it).
fn credential_header(auth: &Auth) -> Result<HeaderValue, String> {
    auth.header_value().map_err(|_| {
        "the token contains characters not allowed in an HTTP header; check how it was copied"
            .to_owned()
    })
}

/// Which credential a request carries.
#[derive(Debug, Clone, Default)]
pub enum AuthMode {
    /// The configured one, if any.
    #[default]
    Configured,
    /// None at all.
    Omit,
    /// A made-up token in the configured scheme (Bearer when none is configured).
    Wrong,
    /// Exactly this header value (the recording proxy forwards the typed client's).
    Passthrough(Secret),
}

/// The token sent by [`AuthMode::Wrong`].
pub const WRONG_TOKEN: &str = "memos-conformance-deliberately-wrong-token";

/// A request body.
#[derive(Debug, Clone)]
pub enum Body {
    /// Serialised compactly, sent as `application/json`.
    Json(serde_json::Value),
    /// These bytes with this content type (or none).
    Raw {
        /// The `Content-Type` header, if any.
        content_type: Option<String>,
        /// The bytes.
        bytes: Vec<u8>,
    },
}

/// The path of a request, relative to the base URL.
#[derive(Debug, Clone)]
pub enum PathSpec {
    /// Segments, percent-encoded when sent.
    Segments(Vec<String>),
    /// An already-encoded path starting with `/` (the proxy forwards these).
    Encoded(String),
}

/// A request to send.
#[derive(Debug, Clone)]
pub struct Req {
    /// The HTTP method.
    pub method: Method,
    /// The path.
    pub path: PathSpec,
    /// Query pairs, in order.
    pub query: Vec<(String, String)>,
    /// The body, if any.
    pub body: Option<Body>,
    /// Which credential to send.
    pub auth: AuthMode,
    /// What this step is for, shown in snapshots (e.g. `setup: create user`).
    pub label: String,
    /// Statuses outside the spec that this probe expects (401/403 of auth probes).
    pub extra_statuses: Vec<u16>,
}

impl Req {
    /// A request to `segments` joined by `/`.
    pub fn new(method: Method, segments: &[&str]) -> Req {
        Req {
            method,
            path: PathSpec::Segments(segments.iter().map(|s| (*s).to_owned()).collect()),
            query: Vec::new(),
            body: None,
            auth: AuthMode::Configured,
            label: String::new(),
            extra_statuses: Vec::new(),
        }
    }

    /// `GET`.
    pub fn get(segments: &[&str]) -> Req {
        Req::new(Method::GET, segments)
    }

    /// `POST`.
    pub fn post(segments: &[&str]) -> Req {
        Req::new(Method::POST, segments)
    }

    /// `PUT`.
    pub fn put(segments: &[&str]) -> Req {
        Req::new(Method::PUT, segments)
    }

    /// `DELETE`.
    pub fn delete(segments: &[&str]) -> Req {
        Req::new(Method::DELETE, segments)
    }

    /// Adds a query pair.
    pub fn query(mut self, key: &str, value: &str) -> Req {
        self.query.push((key.to_owned(), value.to_owned()));
        self
    }

    /// Sets a JSON body.
    pub fn json(mut self, value: serde_json::Value) -> Req {
        self.body = Some(Body::Json(value));
        self
    }

    /// Sets a raw body with an optional content type.
    pub fn raw(mut self, content_type: Option<&str>, bytes: &[u8]) -> Req {
        self.body = Some(Body::Raw {
            content_type: content_type.map(str::to_owned),
            bytes: bytes.to_vec(),
        });
        self
    }

    /// Chooses the credential.
    pub fn auth(mut self, mode: AuthMode) -> Req {
        self.auth = mode;
        self
    }

    /// Names the step.
    pub fn label(mut self, label: impl Into<String>) -> Req {
        self.label = label.into();
        self
    }

    /// Marks 401 and 403 as expected answers of an auth probe.
    pub fn auth_probe(mut self) -> Req {
        self.extra_statuses = vec![401, 403];
        self
    }
}

/// A request as it went on the wire.
#[derive(Debug, Clone, PartialEq)]
pub struct SentRequest {
    /// The method.
    pub method: String,
    /// The path relative to the base URL, percent-encoded as sent.
    pub path: String,
    /// Query pairs, decoded.
    pub query: Vec<(String, String)>,
    /// `Content-Type`, if sent.
    pub content_type: Option<String>,
    /// `Authorization` with the secret replaced: `Bearer <redacted>`.
    pub authorization: Option<String>,
    /// The body bytes, if any.
    pub body: Option<Vec<u8>>,
}

/// A response as it came off the wire.
#[derive(Debug, Clone, PartialEq)]
pub struct ReceivedResponse {
    /// The status code.
    pub status: u16,
    /// Kept headers ([`KEPT_RESPONSE_HEADERS`]), lower-case names, in arrival order.
    pub headers: Vec<(String, String)>,
    /// The body bytes.
    pub body: Vec<u8>,
}

impl ReceivedResponse {
    /// The `Content-Type` header.
    pub fn content_type(&self) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == "content-type")
            .map(|(_, v)| v.as_str())
    }
}

/// An HTTP client shared by the transports of one run (building one takes tens of
/// milliseconds), replaced after a 5xx.
pub type SharedClient = std::sync::Arc<std::sync::Mutex<reqwest::Client>>;

/// Sends requests to one server and records them.
///
/// After a 5xx answer the connection pool is dropped: the reference server re-raises a
/// handled exception after sending its 500, and uvicorn then resets that keep-alive
/// connection, which would fail the *next* request for a reason that is not its own.
#[derive(Debug)]
pub struct Transport {
    http: SharedClient,
    loopback: bool,
    base: Url,
    credentials: Option<Auth>,
    /// Keeps the credential out of what the server answers (see [`Redactor`]).
    redactor: Redactor,
    timeout: Duration,
}

impl Transport {
    /// A transport for `base_url` with a per-request `timeout`, reusing `shared` when
    /// given (it must have been made by [`Transport::shared_client`] for the same kind of
    /// host and timeout).
    pub fn with_client(
        base_url: &str,
        credentials: Option<Auth>,
        timeout: Duration,
        shared: Option<SharedClient>,
    ) -> Result<Transport, String> {
        let base = parse_base_url(base_url)?;
        let loopback = is_loopback(&base);
        let http = match shared {
            Some(s) => s,
            None => Transport::shared_client(base_url, timeout)?,
        };
        if let Some(c) = &credentials {
            credential_header(c)?;
        }
        let redactor = Redactor::new(credentials.as_ref().map(Auth::secret))?;
        Ok(Transport {
            http,
            loopback,
            base,
            credentials,
            redactor,
            timeout,
        })
    }

    /// A client to share between the transports of a run against `base_url`.
    pub fn shared_client(base_url: &str, timeout: Duration) -> Result<SharedClient, String> {
        let base = parse_base_url(base_url)?;
        Ok(std::sync::Arc::new(std::sync::Mutex::new(build_client(
            timeout,
            is_loopback(&base),
        )?)))
    }

    /// The base URL, without a trailing slash.
    pub fn base_url(&self) -> String {
        self.base.as_str().trim_end_matches('/').to_owned()
    }

    /// The configured credential.
    pub fn credentials(&self) -> Option<&Auth> {
        self.credentials.as_ref()
    }

    /// The per-request timeout.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Builds the wire form of `req` (what will be recorded) and the URL.
    pub fn prepare(&self, req: &Req) -> Result<(SentRequest, Url), String> {
        let mut url = self.base.clone();
        match &req.path {
            PathSpec::Segments(segments) => {
                let mut path = url
                    .path_segments_mut()
                    .map_err(|()| format!("base URL {} cannot take a path", self.base))?;
                path.pop_if_empty();
                for s in segments {
                    path.push(s);
                }
            }
            PathSpec::Encoded(encoded) => {
                let prefix = self.base.path().trim_end_matches('/');
                url.set_path(&format!("{prefix}{encoded}"));
            }
        }
        if !req.query.is_empty() {
            url.query_pairs_mut().extend_pairs(req.query.iter());
        }
        let prefix = self.base.path().trim_end_matches('/');
        let path = url.path().strip_prefix(prefix).unwrap_or(url.path());
        let path = if path.is_empty() { "/" } else { path }.to_owned();
        let (content_type, body) = match &req.body {
            None => (None, None),
            Some(Body::Json(v)) => (
                Some("application/json".to_owned()),
                Some(serde_json::to_vec(v).unwrap_or_default()),
            ),
            Some(Body::Raw {
                content_type,
                bytes,
            }) => (content_type.clone(), Some(bytes.clone())),
        };
        let authorization = match &req.auth {
            AuthMode::Configured => self
                .credentials
                .as_ref()
                .map(|c| format!("{} <redacted>", c.scheme().word())),
            AuthMode::Omit => None,
            AuthMode::Wrong => Some(format!("{} <wrong token>", self.wrong_scheme().word())),
            AuthMode::Passthrough(value) => Some(redact_authorization(value.expose())),
        };
        Ok((
            SentRequest {
                method: req.method.as_str().to_owned(),
                path,
                query: req.query.clone(),
                content_type,
                authorization,
                body,
            },
            url,
        ))
    }

    fn wrong_scheme(&self) -> AuthScheme {
        self.credentials
            .as_ref()
            .map_or(AuthScheme::Bearer, Auth::scheme)
    }

    /// Sends a prepared request; `Err` is a one-line reason (timeout, refused, too big).
    /// The configured credential is replaced in the answer, and in the reason, before
    /// anything else sees them.
    pub async fn send(
        &self,
        req: &Req,
        sent: &SentRequest,
        url: Url,
        step: &str,
    ) -> Result<ReceivedResponse, String> {
        match self.send_unredacted(req, sent, url, step).await {
            Ok(received) => Ok(ReceivedResponse {
                status: received.status,
                headers: received
                    .headers
                    .into_iter()
                    .map(|(name, value)| (name, self.redactor.text(value)))
                    .collect(),
                body: self.redactor.bytes(received.body),
            }),
            Err(reason) => Err(self.redactor.text(reason)),
        }
    }

    async fn send_unredacted(
        &self,
        req: &Req,
        sent: &SentRequest,
        url: Url,
        step: &str,
    ) -> Result<ReceivedResponse, String> {
        let http = self.http.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let mut builder = http
            .request(req.method.clone(), url)
            .header(STEP_HEADER, step)
            .header(
                USER_AGENT,
                concat!("memos-conformance/", env!("CARGO_PKG_VERSION")),
            );
        if let Some(ct) = &sent.content_type {
            builder = builder.header(CONTENT_TYPE, ct);
        }
        match &req.auth {
            AuthMode::Configured => {
                if let Some(c) = &self.credentials {
                    builder = builder.header(AUTHORIZATION, credential_header(c)?);
                }
            }
            AuthMode::Omit => {}
            AuthMode::Wrong => {
                builder = builder.header(
                    AUTHORIZATION,
                    format!("{} {WRONG_TOKEN}", self.wrong_scheme().word()),
                );
            }
            AuthMode::Passthrough(value) => {
                let mut v = HeaderValue::from_str(value.expose())
                    .map_err(|_| "the forwarded Authorization header is not valid".to_owned())?;
                v.set_sensitive(true);
                builder = builder.header(AUTHORIZATION, v);
            }
        }
        if let Some(body) = &sent.body {
            builder = builder.body(body.clone());
        }
        let started = Instant::now();
        let mut response = builder.send().await.map_err(|e| self.describe(&e))?;
        let status = response.status().as_u16();
        if status >= 500 {
            if let Ok(fresh) = build_client(self.timeout, self.loopback) {
                *self.http.lock().unwrap_or_else(|e| e.into_inner()) = fresh;
            }
        }
        let headers = response
            .headers()
            .iter()
            .filter(|(name, _)| KEPT_RESPONSE_HEADERS.contains(&name.as_str()))
            .map(|(name, value)| {
                (
                    name.as_str().to_owned(),
                    String::from_utf8_lossy(value.as_bytes()).into_owned(),
                )
            })
            .collect();
        let mut body = Vec::new();
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    if body.len() + chunk.len() > MAX_BODY_BYTES {
                        return Err(format!(
                            "the response body is larger than {} MiB; not a MemOS answer",
                            MAX_BODY_BYTES / 1024 / 1024
                        ));
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(e) => {
                    return Err(format!(
                        "HTTP {status}, then reading the body failed after {} ms: {}",
                        started.elapsed().as_millis(),
                        self.describe(&e)
                    ))
                }
            }
        }
        Ok(ReceivedResponse {
            status,
            headers,
            body,
        })
    }

    fn describe(&self, err: &reqwest::Error) -> String {
        if err.is_timeout() {
            return format!(
                "no answer within {} (the per-request timeout; raise it with --timeout if the server is just slow)",
                human_duration(self.timeout)
            );
        }
        let mut text = err.to_string();
        let mut source = std::error::Error::source(err);
        while let Some(cause) = source {
            text.push_str(": ");
            text.push_str(&cause.to_string());
            source = cause.source();
        }
        if err.is_connect() {
            format!(
                "could not connect to {}: {text} (is the server running, and is the URL right?)",
                self.base_url()
            )
        } else {
            text
        }
    }
}

fn is_loopback(url: &Url) -> bool {
    matches!(
        url.host_str(),
        Some("127.0.0.1" | "localhost" | "[::1]" | "::1")
    )
}

fn build_client(timeout: Duration, loopback: bool) -> Result<reqwest::Client, String> {
    let mut builder = reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .redirect(reqwest::redirect::Policy::none());
    if loopback {
        // A proxy from the environment must not take loopback traffic.
        builder = builder.no_proxy();
    }
    builder
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))
}

/// `Bearer abc` → `Bearer <redacted>`; anything else → `<redacted>`.
pub fn redact_authorization(value: &str) -> String {
    match value.split_once(' ') {
        Some((scheme, _)) if scheme.eq_ignore_ascii_case("bearer") => "Bearer <redacted>".into(),
        Some((scheme, _)) if scheme.eq_ignore_ascii_case("token") => "Token <redacted>".into(),
        _ => "<redacted>".into(),
    }
}

/// Checks a base URL: absolute http(s), no credentials, query or fragment (the client's
/// rule, so that the suite and `memos_api::v1::Client` accept the same URLs).
pub fn parse_base_url(input: &str) -> Result<Url, String> {
    memos_api::parse_base_url(input).map_err(|err| match err {
        memos_api::Error::Config(reason) => reason,
        other => other.to_string(),
    })
}

/// `1.5 s`, `250 ms`.
pub fn human_duration(d: Duration) -> String {
    if d >= Duration::from_secs(1) {
        format!("{:.1} s", d.as_secs_f64())
    } else {
        format!("{} ms", d.as_millis())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_encoded_under_the_base_path() {
        let t = Transport::with_client(
            "http://127.0.0.1:1/api/",
            None,
            Duration::from_secs(1),
            None,
        )
        .expect("transport");
        let req = Req::get(&["memories", "a b", "x/y"]).query("user_id", "u 1");
        let (sent, url) = t.prepare(&req).expect("prepare");
        assert_eq!(sent.path, "/memories/a%20b/x%2Fy");
        assert_eq!(
            url.as_str(),
            "http://127.0.0.1:1/api/memories/a%20b/x%2Fy?user_id=u+1"
        );
        let req = Req {
            path: PathSpec::Encoded("/users/me".into()),
            ..Req::get(&[])
        };
        assert_eq!(
            t.prepare(&req).expect("prepare").1.as_str(),
            "http://127.0.0.1:1/api/users/me"
        );
    }

    #[test]
    fn secrets_never_show() {
        let creds = Auth::new(AuthScheme::Token, Secret::new("s3cr3t"));
        let t = Transport::with_client(
            "http://127.0.0.1:1",
            Some(creds),
            Duration::from_secs(1),
            None,
        )
        .expect("transport");
        assert!(!format!("{t:?}").contains("s3cr3t"));
        let (sent, _) = t.prepare(&Req::get(&["users"])).expect("prepare");
        assert_eq!(sent.authorization.as_deref(), Some("Token <redacted>"));
        assert_eq!(redact_authorization("Bearer xyz"), "Bearer <redacted>");
        assert_eq!(redact_authorization("xyz"), "<redacted>");
    }

    #[test]
    fn bad_base_urls_are_explained() {
        for bad in ["127.0.0.1:8000", "ftp://x", "http://u:p@h", "http://h/?q=1"] {
            assert!(parse_base_url(bad).is_err(), "{bad}");
        }
    }
}
