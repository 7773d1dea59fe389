//! For test suites: get a server, or skip the test when this machine cannot run one.
//!
//! The one reason to skip is a missing Python outside CI; under `CI=true` that is a failure
//! (CI must run these tests), and any other start-up error always is.

use crate::{Backend, Error, ReferenceServer, StartOptions};

/// Whether this is a CI run (`CI` set to `true` or `1`, as CI services set it), where
/// everything must run and nothing may be skipped.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
}

/// True (after printing why) when `err` means Python is missing and the test should be
/// skipped. Panics when `CI` is `true` or `1`, where Python must be there.
pub fn skip_for_missing_python(err: &Error) -> bool {
    if !err.is_python_missing() {
        return false;
    }
    if in_ci() {
        panic!("CI=true but the reference MemOS server cannot run here: {err}");
    }
    eprintln!("SKIPPED (set CI=true to make this a failure): {err}");
    true
}

/// The process-wide server, or `None` when the test should be skipped.
pub async fn shared_or_skip() -> Option<&'static ReferenceServer> {
    match ReferenceServer::shared().await {
        Ok(server) => Some(server),
        Err(err) if skip_for_missing_python(&err) => None,
        Err(err) => panic!("the reference MemOS server could not start: {err}"),
    }
}

/// The process-wide server for `backend`, or `None` when the test should be skipped.
pub async fn shared_or_skip_for(backend: Backend) -> Option<&'static ReferenceServer> {
    match ReferenceServer::shared_for(backend).await {
        Ok(server) => Some(server),
        Err(err) if skip_for_missing_python(&err) => None,
        Err(err) => panic!("the reference MemOS server ({backend}) could not start: {err}"),
    }
}

/// A private server (for tests that reconfigure it), or `None` when the test should be
/// skipped.
pub async fn start_or_skip(options: StartOptions) -> Option<ReferenceServer> {
    match ReferenceServer::start(options).await {
        Ok(server) => Some(server),
        Err(err) if skip_for_missing_python(&err) => None,
        Err(err) => panic!("the reference MemOS server could not start: {err}"),
    }
}
