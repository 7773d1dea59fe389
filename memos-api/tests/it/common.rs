//! Shared pieces of the httpmock tests: credentials, clients, matchers and bodies copied from
//! the reference server (compact JSON, as it sends them).

use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use httpmock::prelude::*;
use memos_api::{v1::Client, ClientBuilder, RetryPolicy};

/// A bearer token that must never show up in any output.
pub const TOKEN: &str = "tok-9f3c1e-DO-NOT-LEAK";
/// An API key (Token scheme) that must never show up in any output.
pub const API_KEY: &str = "key-77ab02-DO-NOT-LEAK";

/// The two ways a client can authenticate.
#[derive(Clone, Copy, Debug)]
pub enum Cred {
    /// `bearer_token(TOKEN)`: `Authorization: Bearer <token>`.
    Bearer,
    /// `api_key(API_KEY)`: `Authorization: Token <key>`.
    ApiKey,
}

impl Cred {
    pub const BOTH: [Cred; 2] = [Cred::Bearer, Cred::ApiKey];

    /// The exact `Authorization` value the server must receive.
    pub fn header(self) -> String {
        match self {
            Cred::Bearer => format!("Bearer {TOKEN}"),
            Cred::ApiKey => format!("Token {API_KEY}"),
        }
    }

    /// The secret that must never be printed.
    pub fn secret(self) -> &'static str {
        match self {
            Cred::Bearer => TOKEN,
            Cred::ApiKey => API_KEY,
        }
    }

    pub fn apply<C>(self, builder: ClientBuilder<C>) -> ClientBuilder<C> {
        match self {
            Cred::Bearer => builder.bearer_token(TOKEN),
            Cred::ApiKey => builder.api_key(API_KEY),
        }
    }

    /// A client for `server` with this credential and no retries.
    pub fn client(self, server: &MockServer) -> Client {
        self.apply(Client::builder(server.base_url()))
            .retry_policy(RetryPolicy::none())
            .build()
            .expect("the client builds")
    }
}

/// A client without credentials and with the given retry policy.
pub fn client_with(base_url: &str, policy: RetryPolicy) -> Client {
    Client::builder(base_url)
        .retry_policy(policy)
        .build()
        .expect("the client builds")
}

/// A fast policy for tests: `max_retries` retries, 10 ms initial back-off.
pub fn fast_retries(max_retries: u32) -> RetryPolicy {
    RetryPolicy {
        max_retries,
        initial_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(40),
        max_retry_after: Duration::from_secs(5),
    }
}

/// A base URL on which nothing listens: a port the OS just handed out and that was closed again.
pub fn closed_port_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    let port = listener.local_addr().expect("local address").port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

/// Matches when the query string holds exactly these pairs (in any order) and nothing else;
/// `&[]` means no query at all.
pub fn query_is(
    expected: &'static [(&'static str, &'static str)],
) -> impl Fn(&HttpMockRequest) -> bool + Send + Sync + 'static {
    move |req| {
        let mut got = req.query_params();
        got.sort();
        let mut want: Vec<(String, String)> = expected
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        want.sort();
        got == want
    }
}

/// Matches an empty request body.
pub fn no_body(req: &HttpMockRequest) -> bool {
    req.body_ref().is_empty()
}

/// Matches the first `n` requests it is asked about, then no more.
///
/// httpmock tries mocks in the order they were created and stops at the first that matches, so
/// a mock created first with this matcher answers the first `n` requests (that pass its other
/// matchers), and a mock created after it answers the rest. The matcher runs once per request;
/// do not call `assert` on such a mock (that re-runs matchers over the history), use `calls`.
pub fn first_n_requests(n: usize) -> impl Fn(&HttpMockRequest) -> bool + Send + Sync + 'static {
    let seen = Arc::new(AtomicUsize::new(0));
    move |_| seen.fetch_add(1, Ordering::SeqCst) < n
}

/// Bodies the reference server sends, byte for byte in its compact style.
pub mod body {
    pub const CONFIGURED: &str =
        r#"{"code":200,"message":"Configuration set successfully","data":null}"#;
    pub const USERS: &str = r#"{"code":200,"message":"Users retrieved successfully","data":[{"user_id":"root","user_name":"root","role":"ROOT","created_at":"2026-11-26T10:00:00.123456","is_active":true},{"user_id":"alice","user_name":"Alice","role":"USER","created_at":"2026-11-26T10:00:01.5","is_active":true}]}"#;
    pub const USER_CREATED: &str =
        r#"{"code":200,"message":"User created successfully","data":{"user_id":"alice"}}"#;
    /// Same `user_id`, another `user_name`: 200, nothing created, `user_id: null`.
    pub const USER_CREATED_NULL: &str =
        r#"{"code":200,"message":"User created successfully","data":{"user_id":null}}"#;
    pub const ME: &str = r#"{"code":200,"message":"User info retrieved successfully","data":{"user_id":"root","user_name":"root","role":"ROOT","created_at":"2026-11-26T10:00:00.123456","accessible_cubes":[{"cube_id":"notes","cube_name":"/srv/cubes/notes","cube_path":"/srv/cubes/notes","owner_id":"root","is_loaded":true},{"cube_id":"old","cube_name":"/srv/cubes/old","cube_path":"/srv/cubes/old","owner_id":"alice","is_loaded":false}]}}"#;
    pub const CUBE_REGISTERED: &str =
        r#"{"code":200,"message":"MemCube registered successfully","data":null}"#;
    pub const CUBE_UNREGISTERED: &str =
        r#"{"code":200,"message":"MemCube unregistered successfully","data":null}"#;
    pub const CUBE_SHARED: &str =
        r#"{"code":200,"message":"Cube shared successfully","data":null}"#;
    pub const MEMORIES_ADDED: &str =
        r#"{"code":200,"message":"Memories added successfully","data":null}"#;
    pub const MEMORY_UPDATED: &str =
        r#"{"code":200,"message":"Memory updated successfully","data":null}"#;
    pub const MEMORY_DELETED: &str =
        r#"{"code":200,"message":"Memory deleted successfully","data":null}"#;
    pub const ALL_MEMORIES_DELETED: &str =
        r#"{"code":200,"message":"All memories deleted successfully","data":null}"#;
    pub const CHAT: &str =
        r#"{"code":200,"message":"Chat response generated","data":"You live in Lisbon."}"#;

    pub const MEMORY_ID: &str = "5f0c2a52-0d2e-4f57-9d8c-2b9f0e6f1a11";
    pub const MEMORY_ID_2: &str = "0b6f1d8e-3c2a-4e7b-8f9d-1a2b3c4d5e6f";

    /// A `naive_text` memory item with all 17 metadata keys, nulls included.
    pub const ITEM_LISBON: &str = r#"{"id":"5f0c2a52-0d2e-4f57-9d8c-2b9f0e6f1a11","memory":"I moved to Lisbon in March.","metadata":{"user_id":"alice","session_id":"default-session","status":"activated","is_fast":null,"evolve_to":[],"version":null,"history":[],"working_binding":null,"type":"fact","key":null,"confidence":null,"source":"conversation","tags":null,"visibility":null,"updated_at":"2026-11-26T10:00:00.123456","info":null,"covered_history":null}}"#;
    /// A seeded item that keeps its own values, non-null optional keys included.
    pub const ITEM_SEEDED: &str = r#"{"id":"0b6f1d8e-3c2a-4e7b-8f9d-1a2b3c4d5e6f","memory":"Noted, you live in Lisbon.","metadata":{"user_id":"alice","session_id":"s-1","status":"activated","is_fast":null,"evolve_to":[],"version":null,"history":[],"working_binding":null,"type":"opinion","key":"home","confidence":0.75,"source":"file","tags":["home","city"],"visibility":"private","updated_at":"2024-01-01T00:00:00","info":null,"covered_history":null}}"#;

    /// `GET /memories`: keys in the server's order, no `pref_mem`.
    pub fn memory_list() -> String {
        format!(
            r#"{{"code":200,"message":"Memories retrieved successfully","data":{{"para_mem":[],"act_mem":[],"text_mem":[{{"cube_id":"notes","memories":[{ITEM_LISBON},{ITEM_SEEDED}]}}]}}}}"#
        )
    }

    /// `GET /memories` of a `tree_text` cube: `memories` is a graph.
    pub const MEMORY_GRAPH: &str = r#"{"code":200,"message":"Memories retrieved successfully","data":{"para_mem":[],"act_mem":[],"text_mem":[{"cube_id":"tree","memories":{"nodes":[{"id":"5f0c2a52-0d2e-4f57-9d8c-2b9f0e6f1a11","memory":"I moved to Lisbon in March.","metadata":{"memory_type":"LongTermMemory","status":"activated"}},{"id":"0b6f1d8e-3c2a-4e7b-8f9d-1a2b3c4d5e6f","memory":"Lives in Lisbon.","metadata":{"memory_type":"UserMemory","status":"activated"}}],"edges":[{"source":"5f0c2a52-0d2e-4f57-9d8c-2b9f0e6f1a11","target":"0b6f1d8e-3c2a-4e7b-8f9d-1a2b3c4d5e6f","type":"PARENT"}],"total_nodes":2,"total_edges":1}}]}}"#;

    /// `POST /search`: another key order, with `pref_mem`; one entry per cube.
    pub fn search() -> String {
        format!(
            r#"{{"code":200,"message":"Search completed successfully","data":{{"text_mem":[{{"cube_id":"notes","memories":[{ITEM_LISBON}]}},{{"cube_id":"work","memories":[]}}],"act_mem":[],"para_mem":[],"pref_mem":[]}}}}"#
        )
    }

    /// The intended `GET /memories/{cube}/{id}` answer (the reference server never sends it).
    pub fn memory_item() -> String {
        format!(r#"{{"code":200,"message":"Memory retrieved successfully","data":{ITEM_LISBON}}}"#)
    }
}
