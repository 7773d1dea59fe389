//! Exit codes scripts can rely on (listed in `memos --help`), and turning errors into them.

use memos_loader::{Hint, LoadError};

pub const OK: i32 = 0;
pub const INCOMPLETE: i32 = 1;
pub const USAGE: i32 = 2;
pub const INVALID_INPUT: i32 = 3;
pub const UNREADABLE_INPUT: i32 = 4;
pub const SERVER_ERROR: i32 = 5;
pub const UNREACHABLE: i32 = 6;
pub const CHECKPOINT: i32 = 7;
pub const TOO_LARGE: i32 = 8;
pub const INTERRUPTED: i32 = 130;

/// A failure of the command: the message printed to stderr and the exit code.
#[derive(Debug)]
pub struct Failure {
    pub code: i32,
    pub message: String,
    /// The server has no route for the request (see [`is_missing_route`]): most likely it
    /// speaks the other API, which the command's hint can say.
    pub missing_route: bool,
}

impl Failure {
    pub fn new(code: i32, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            missing_route: false,
        }
    }

    /// Adds `hint` as the message's last line when the server had no route for the request.
    pub fn hint_if_missing_route(mut self, hint: &str) -> Self {
        if self.missing_route {
            self.message.push_str("\n  hint: ");
            self.message.push_str(hint);
        }
        self
    }
}

/// A 404 whose message is Starlette's "Not Found": no route serves the path (the APIs' own
/// 404s name what is missing).
pub fn is_missing_route(err: &memos_api::Error) -> bool {
    err.status().map(|status| status.as_u16()) == Some(404)
        && err.message().is_some_and(|m| m == "Not Found")
}

/// The exit code for an error of the client.
pub fn api_code(err: &memos_api::Error) -> i32 {
    match err {
        memos_api::Error::Transport { .. } => UNREACHABLE,
        // A redirect says the base URL is not where the API answers (http for https, a
        // missing path prefix, a moved server): like a wrong --base-url.
        memos_api::Error::Redirect { .. } => UNREACHABLE,
        // A success answer over the cap: another try with a larger --max-response-size may
        // succeed, so scripts get a code of its own. An error answer over its (fixed) cap
        // is the server failing.
        memos_api::Error::ResponseTooLarge { status, .. }
            if status.is_none_or(|s| s.is_success()) =>
        {
            TOO_LARGE
        }
        memos_api::Error::Config(_) => USAGE,
        // A 200 whose body says the request failed: the server's refusal, like a 4xx.
        memos_api::Error::ReportedFailure { .. } => SERVER_ERROR,
        _ => SERVER_ERROR,
    }
}

impl From<memos_api::Error> for Failure {
    fn from(err: memos_api::Error) -> Self {
        Failure {
            missing_route: is_missing_route(&err),
            ..Failure::new(api_code(&err), api_message(&err))
        }
    }
}

/// The client's error as this command's users need it: its one-line text, the cause of a
/// transport failure, each field problem of a 422 on a line of its own, and a hint in this
/// command's terms (the client gives none).
fn api_message(err: &memos_api::Error) -> String {
    let mut out = match err {
        memos_api::Error::Api {
            operation,
            status,
            code,
            message,
            ..
        } => {
            // The one-line text folds the server's message and lists the problems inline.
            let mut out = format!("{operation} failed with HTTP {status}");
            if let Some(code) = code.filter(|code| *code != i64::from(status.as_u16())) {
                out.push_str(&format!(" (envelope code {code})"));
            }
            if let Some(message) = message {
                out.push_str(": ");
                out.push_str(message.trim());
            }
            for issue in err.validation_details() {
                out.push_str(&format!("\n  - {issue}"));
            }
            out
        }
        _ => memos_text::with_causes(err),
    };
    if let Some(hint) = api_hint(err) {
        out.push_str("\n  hint: ");
        out.push_str(hint);
    }
    out
}

/// What to do about an error of the client, in terms of this command's flags.
fn api_hint(err: &memos_api::Error) -> Option<&'static str> {
    Some(match err {
        memos_api::Error::ResponseTooLarge { status, .. }
            if status.is_none_or(|s| s.is_success()) =>
        {
            "ask for less (one cube at a time, a narrower search) or raise the cap with \
             --max-response-size"
        }
        memos_api::Error::Redirect { .. } => {
            "check --base-url (http or https? a path prefix such as /api?); memos does not \
             follow redirects"
        }
        // The status alone says success: say what that means for repeating the command.
        memos_api::Error::ReportedFailure { .. } => {
            "the request may still have been carried out in part (MemoryOS 2.0.33 reports a \
             failure after some deletes that did delete): check the cube before running the \
             command again"
        }
        memos_api::Error::Transport { source, .. } if source.is_timeout() => {
            "the server did not answer in time; raise the client's timeout or check the server"
        }
        memos_api::Error::Transport { source, .. } if source.is_connect() => {
            "is the server running at the base URL, and is the URL right?"
        }
        memos_api::Error::Api { status, .. } => match status.as_u16() {
            401 | 403 => "check the token and the auth scheme (bearer or token)",
            404 => {
                "check the base URL (does it need a path such as /api?) and that ids contain \
                 no '/'"
            }
            405 => "the server does not offer this method on this path; check the base URL",
            422 => "the server rejected the fields listed above; fix them and send again",
            429 => "the server is rate limiting; wait and try again",
            500..=599 => "the server failed while handling the request; its log has the details",
            _ => return None,
        },
        _ => return None,
    })
}

impl From<LoadError> for Failure {
    fn from(err: LoadError) -> Self {
        let code = match &err {
            LoadError::Read { .. } | LoadError::InputChanged { .. } => UNREADABLE_INPUT,
            LoadError::Malformed { .. }
            | LoadError::InvalidInput { .. }
            | LoadError::UnsupportedRoles { .. } => INVALID_INPUT,
            LoadError::Setup { source, .. } => api_code(source),
            LoadError::Api(source) => api_code(source),
            LoadError::UnknownUser { .. } | LoadError::Conflict(_) => SERVER_ERROR,
            LoadError::Checkpoint { .. } => CHECKPOINT,
            LoadError::StoredNothing { .. } => INCOMPLETE,
            LoadError::Options(_) => USAGE,
            _ => SERVER_ERROR,
        };
        Failure::new(code, load_message(&err))
    }
}

/// The loader's error as this command's users need it: its hint names flags and commands
/// where the loader names options and functions.
fn load_message(err: &LoadError) -> String {
    // The client's errors in this command's words, as when the command meets them itself.
    let message = match err {
        LoadError::Setup { what, source, .. } => format!("{what}: {}", api_message(source)),
        LoadError::Api(source) => api_message(source),
        other => other.message(),
    };
    match err.hint() {
        Some(hint) => format!("{message}\n  hint: {}", flag_hint(&hint)),
        None => message,
    }
}

fn flag_hint(hint: &Hint) -> String {
    match hint {
        Hint::SkipInvalid => "fix them, or pass --skip-invalid to import the valid records and \
                              report the others"
            .to_owned(),
        Hint::CreateUser { user_id } => format!(
            "create it with `memos users create {user_id}`, or pass --create to the load command"
        ),
        Hint::RegisterCube { user_id, cube_id } => format!(
            "register it with `memos cubes register {cube_id} --user {user_id} --path DIR`, or \
             pass --create --cube-path DIR to the load command (DIR is a folder on the server \
             holding the cube's config.json)"
        ),
        Hint::ImportLocalDocuments => {
            "import the files from this machine instead: memos load docs PATH".to_owned()
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_oversized_answer_and_a_redirect_have_codes_and_flags_of_their_own() {
        let too_large = |status: Option<u16>| memos_api::Error::ResponseTooLarge {
            operation: "list_memories",
            status: status.map(reqwest_status),
            limit: 1024 * 1024,
        };
        let failure = Failure::from(too_large(Some(200)));
        assert_eq!(failure.code, TOO_LARGE);
        assert!(
            failure.message.contains("larger than 1 MiB")
                && failure
                    .message
                    .ends_with("raise the cap with --max-response-size")
                && !failure.message.contains("ClientBuilder"),
            "{}",
            failure.message
        );
        assert_eq!(Failure::from(too_large(None)).code, TOO_LARGE);
        // An error answer's cap is fixed: a larger --max-response-size would not help.
        let failure = Failure::from(too_large(Some(500)));
        assert_eq!(failure.code, SERVER_ERROR);
        assert!(
            !failure.message.contains("--max-response-size"),
            "{}",
            failure.message
        );

        let failure = Failure::from(memos_api::Error::Redirect {
            operation: "list_users",
            status: reqwest_status(301),
            location: Some("https://memos.example/users".into()),
        });
        assert_eq!(failure.code, UNREACHABLE);
        assert!(
            failure.message.contains("https://memos.example/users")
                && failure.message.contains("check --base-url")
                && !failure.message.contains("follow_redirects"),
            "{}",
            failure.message
        );
    }

    #[test]
    fn a_reported_failure_has_a_case_of_its_own() {
        let failure = Failure::from(memos_api::Error::ReportedFailure {
            operation: "delete_memories",
            status: reqwest_status(200),
            message: Some("no memory matched".into()),
        });
        assert_eq!(failure.code, SERVER_ERROR);
        assert!(
            failure
                .message
                .contains("answered 200 OK but reported a failure: no memory matched")
                && failure
                    .message
                    .contains("hint: the request may still have been carried out"),
            "{}",
            failure.message
        );
    }

    #[test]
    fn api_errors_get_this_commands_hints_and_their_field_problems_one_per_line() {
        let body =
            br#"{"detail":[{"type":"missing","loc":["body","query"],"msg":"Field required"}]}"#;
        let failure = Failure::from(api_error(422, body));
        assert_eq!(
            failure.message,
            "chat failed with HTTP 422 Unprocessable Entity\n  - body.query: Field required \
             (missing)\n  hint: the server rejected the fields listed above; fix them and send \
             again"
        );
        let failure = Failure::from(api_error(401, br#"{"detail":"Not authenticated"}"#));
        assert_eq!(
            failure.message,
            "chat failed with HTTP 401 Unauthorized: Not authenticated\n  hint: check the \
             token and the auth scheme (bearer or token)"
        );
        // A multi-line server message is kept as it is, the envelope code when it differs.
        let body = br#"{"code":400,"message":"1 validation error\nquery\n  required"}"#;
        let failure = Failure::from(api_error(500, body));
        assert_eq!(
            failure.message,
            "chat failed with HTTP 500 Internal Server Error (envelope code 400): 1 validation \
             error\nquery\n  required\n  hint: the server failed while handling the request; \
             its log has the details"
        );
        let failure = Failure::from(api_error(418, b""));
        assert_eq!(failure.message, "chat failed with HTTP 418 I'm a teapot");
    }

    /// An error answer as the client reports it, read from a real response.
    fn api_error(status: u16, body: &'static [u8]) -> memos_api::Error {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let server = runtime.block_on(async {
            let router = axum::Router::new().fallback(move || async move {
                (
                    axum::http::StatusCode::from_u16(status).unwrap(),
                    [("content-type", "application/json")],
                    body,
                )
            });
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            tokio::spawn(async move { axum::serve(listener, router).await });
            addr
        });
        let client = memos_api::v1::Client::builder(format!("http://{server}"))
            .retry_policy(memos_api::RetryPolicy::none())
            .build()
            .unwrap();
        runtime
            .block_on(client.chat(memos_api::v1::types::ChatRequest::builder().query("q")))
            .unwrap_err()
    }

    fn reqwest_status(code: u16) -> reqwest::StatusCode {
        reqwest::StatusCode::from_u16(code).unwrap()
    }

    #[test]
    fn loader_hints_name_the_flags() {
        let failure = Failure::from(LoadError::InvalidInput {
            count: 1,
            first: Vec::new(),
        });
        assert_eq!(failure.code, INVALID_INPUT);
        assert!(
            failure.message.contains("pass --skip-invalid"),
            "{}",
            failure.message
        );
        assert!(
            !failure.message.contains("skip_invalid"),
            "{}",
            failure.message
        );

        let failure = Failure::from(LoadError::UnknownUser {
            user_id: "alice".into(),
        });
        assert!(
            failure.message.ends_with(
                "\n  hint: create it with `memos users create alice`, or pass --create to the \
                 load command"
            ),
            "{}",
            failure.message
        );
    }
}
