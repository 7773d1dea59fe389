//! When and how long to wait before sending a request again.
//!
//! Hand-written rather than taken from a retry crate: the decision depends on progenitor's
//! error type, on whether the operation is idempotent, and on `Retry-After`, which the
//! general-purpose crates (backon, backoff) leave to the caller anyway.

use std::time::{Duration, SystemTime};

use reqwest::header::{HeaderMap, RETRY_AFTER};
use reqwest::StatusCode;

/// How often and how patiently the client retries.
///
/// Only idempotent operations (GET, PUT, DELETE and the read-only `search_memories`) are
/// retried after the server may have seen the request: on 429, 502, 503, 504 and on broken
/// connections or a timeout before the answer's head. A non-idempotent POST (adding
/// memories, chat, ...) is retried only when the answer proves it was not taken (a 429 or
/// 503 carrying `Retry-After`) or the connection could not be opened at all, so it is never
/// stored twice. An answer whose body stalled or was too large is never asked for again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// How many times a request may be sent again after the first try.
    pub max_retries: u32,
    /// The first back-off delay; each retry doubles it.
    pub initial_backoff: Duration,
    /// The largest back-off delay.
    pub max_backoff: Duration,
    /// The longest `Retry-After` the client honours; a longer one ends the retries.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 3,
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(5),
            max_retry_after: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// A policy that never retries.
    pub fn none() -> Self {
        Self {
            max_retries: 0,
            ..Self::default()
        }
    }

    /// The delay before retry number `attempt` (0-based): `initial_backoff` doubled per
    /// attempt, capped at `max_backoff`, then jittered to between half and all of it so
    /// that many clients (or many records of one import) do not retry in step.
    pub fn delay(&self, attempt: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempt.min(16));
        let ceiling = self
            .initial_backoff
            .saturating_mul(factor)
            .min(self.max_backoff);
        let millis = u64::try_from(ceiling.as_millis()).unwrap_or(u64::MAX);
        Duration::from_millis(millis / 2 + fastrand::u64(0..=millis / 2))
    }
}

/// Whether an operation may be sent twice without changing its effect.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Idempotency {
    /// GET, PUT, DELETE, and POSTs that only read.
    Idempotent,
    /// POSTs that change state: retried only when nothing reached the server.
    NonIdempotent,
}

/// How `operation` is retried, by its client's table of rules (generated from the spec's
/// `x-memos-retry`); an operation missing from the table is never sent twice.
pub(crate) fn idempotency(rules: &[(&str, Idempotency)], operation: &str) -> Idempotency {
    rules
        .iter()
        .find(|(name, _)| *name == operation)
        .map_or(Idempotency::NonIdempotent, |(_, idempotency)| *idempotency)
}

/// The statuses worth another try: the server did not process the request.
pub(crate) fn is_retryable_status(status: StatusCode) -> bool {
    matches!(status.as_u16(), 429 | 502 | 503 | 504)
}

/// Whether an error answer proves that the server did not act on the request, so that even
/// a non-idempotent request may be sent again: a 429 or a 503 that says when to come back.
///
/// A 503 alone proves nothing: behind a proxy (Envoy, Istio) it also reports an upstream
/// that reset the connection, possibly after storing the record. Such proxies do not send
/// `Retry-After`; a server that deliberately sheds load does.
pub(crate) fn proves_not_taken(status: StatusCode, has_retry_after: bool) -> bool {
    has_retry_after && matches!(status.as_u16(), 429 | 503)
}

/// Whether an error answer may be retried for an operation of this kind.
pub(crate) fn is_retryable_answer(
    status: StatusCode,
    has_retry_after: bool,
    idempotency: Idempotency,
) -> bool {
    match idempotency {
        Idempotency::Idempotent => is_retryable_status(status),
        Idempotency::NonIdempotent => proves_not_taken(status, has_retry_after),
    }
}

/// Whether a transport error may be retried for an operation of this kind.
pub(crate) fn is_retryable_transport(err: &reqwest::Error, idempotency: Idempotency) -> bool {
    match idempotency {
        // Connecting failed, so the server cannot have seen the request.
        Idempotency::NonIdempotent => err.is_connect(),
        Idempotency::Idempotent => err.is_connect() || err.is_timeout() || err.is_request(),
    }
}

/// The wait a `Retry-After` header asks for (delay-seconds or an HTTP date).
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(
        when.duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn backoff_grows_and_stays_under_the_cap() {
        let policy = RetryPolicy::default();
        for attempt in 0..20 {
            let delay = policy.delay(attempt);
            assert!(delay <= policy.max_backoff, "attempt {attempt}: {delay:?}");
        }
        // With full jitter the delay is at least half the ceiling.
        assert!(policy.delay(3) >= Duration::from_millis(800));
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, HeaderValue::from_static("7"));
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(7)));

        let later = SystemTime::now() + Duration::from_secs(120);
        let date = httpdate::fmt_http_date(later);
        headers.insert(RETRY_AFTER, HeaderValue::from_str(&date).unwrap());
        let wait = retry_after(&headers).unwrap();
        assert!(wait > Duration::from_secs(100) && wait <= Duration::from_secs(120));

        headers.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&headers), None);
    }

    #[test]
    fn only_throttling_and_gateway_statuses_are_retried() {
        for code in [429, 502, 503, 504] {
            assert!(is_retryable_status(StatusCode::from_u16(code).unwrap()));
        }
        for code in [400, 401, 404, 409, 422, 500, 501] {
            assert!(!is_retryable_status(StatusCode::from_u16(code).unwrap()));
        }
    }

    #[test]
    fn a_non_idempotent_request_is_retried_only_on_a_deliberate_refusal() {
        let status = |code| StatusCode::from_u16(code).unwrap();
        for code in [429, 503] {
            assert!(is_retryable_answer(
                status(code),
                true,
                Idempotency::NonIdempotent
            ));
            assert!(!is_retryable_answer(
                status(code),
                false,
                Idempotency::NonIdempotent
            ));
        }
        for code in [500, 502, 504] {
            assert!(!is_retryable_answer(
                status(code),
                true,
                Idempotency::NonIdempotent
            ));
        }
        assert!(is_retryable_answer(
            status(503),
            false,
            Idempotency::Idempotent
        ));
    }
}
