//! A cap on how much of an answer's body the client reads.
//!
//! The generated code reads every body whole (`reqwest::Response::bytes`), so the cap is put
//! into the body itself: the response is rebuilt around an [`http_body_util::Limited`] body,
//! and a read past the cap fails with [`LengthLimitError`] inside the `reqwest::Error`.
//! reqwest's own timeout wraps the original body and so still covers every byte.

use http_body_util::{LengthLimitError, Limited};
use reqwest::ResponseBuilderExt;

/// `response` with a body that fails once more than `limit` bytes are read. A body whose
/// `Content-Length` already exceeds the cap fails at its first bytes, before any buffering.
pub(crate) fn limit_body(response: reqwest::Response, limit: u64) -> reqwest::Response {
    let url = response.url().clone();
    let declared_too_large = response.content_length().is_some_and(|len| len > limit);
    let limit = if declared_too_large {
        0
    } else {
        usize::try_from(limit).unwrap_or(usize::MAX)
    };
    let (mut parts, body) = http::Response::<reqwest::Body>::from(response).into_parts();
    // Converting drops the URL reqwest keeps in the extensions; put it back so errors and
    // `Response::url` still name it.
    if let Ok(with_url) = http::Response::builder().url(url).body(()) {
        parts.extensions.extend(with_url.into_parts().0.extensions);
    }
    let limited = reqwest::Body::wrap(Limited::new(body, limit));
    reqwest::Response::from(http::Response::from_parts(parts, limited))
}

/// Whether `err` (a body read) failed because the body passed the cap.
pub(crate) fn is_over_limit(err: &reqwest::Error) -> bool {
    let mut next: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(cause) = next {
        if cause.is::<LengthLimitError>() {
            return true;
        }
        next = cause.source();
    }
    false
}
