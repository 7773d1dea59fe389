//! The rules for a server's base URL: which URLs are accepted ([`parse_base_url`], shared with
//! every tool that takes a `--base-url`), which redirects stay on its origin, and when a
//! credential sent to it would cross the network unencrypted.

use crate::error::{Error, Result};

/// Checks that `input` can be the base URL of a MemOS server: an absolute http(s) URL
/// without credentials, query or fragment. The error is [`Error::Config`] with a reason a
/// person can act on. Shared by every tool of the project that takes a `--base-url`.
pub fn parse_base_url(input: &str) -> Result<url::Url> {
    let parsed = url::Url::parse(input.trim()).map_err(|err| {
        Error::Config(format!(
            "base URL {input:?} is not a valid URL ({err}); expected e.g. http://127.0.0.1:8000"
        ))
    })?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(Error::Config(format!(
            "base URL {input:?} must start with http:// or https://"
        )));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(Error::Config(
            "the base URL must not carry credentials; pass the token on its own \
             (bearer_token or api_key, --token)"
                .into(),
        ));
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(Error::Config(format!(
            "base URL {input:?} must not have a query or fragment"
        )));
    }
    Ok(parsed)
}

/// Follows up to 5 redirects that stay on the origin of the first request; stops at any
/// other, which then fails as [`Error::Redirect`].
pub(crate) fn same_origin_redirects() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        let same_origin = attempt
            .previous()
            .first()
            .is_some_and(|first| first.origin() == attempt.url().origin());
        if attempt.previous().len() > 5 || !same_origin {
            attempt.stop()
        } else {
            attempt.follow()
        }
    })
}

/// Whether a credential sent to `url` crosses the network unencrypted: plain `http://` to a
/// host other than a loopback address or `localhost`.
pub(crate) fn is_cleartext_to_remote(url: &url::Url) -> bool {
    if url.scheme() != "http" {
        return false;
    }
    match url.host() {
        Some(url::Host::Ipv4(ip)) => !ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => !ip.is_loopback(),
        Some(url::Host::Domain(name)) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            name != "localhost" && !name.ends_with(".localhost")
        }
        None => true,
    }
}

/// Checks the base URL and drops a trailing `/` (the server answers `/users/` with a
/// redirect).
pub(crate) fn normalize_base_url(input: &str) -> Result<String> {
    let parsed = parse_base_url(input)?;
    Ok(parsed.as_str().trim_end_matches('/').to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_url_is_checked_and_normalised() {
        assert_eq!(
            normalize_base_url("http://127.0.0.1:8000/").unwrap(),
            "http://127.0.0.1:8000"
        );
        assert_eq!(
            normalize_base_url("https://memos.example/api/").unwrap(),
            "https://memos.example/api"
        );
        for bad in [
            "127.0.0.1:8000",
            "ftp://x",
            "not a url",
            "http://u:p@host",
            "http://h/?q=1",
        ] {
            let err = normalize_base_url(bad).unwrap_err().to_string();
            assert!(
                err.contains("base URL") || err.contains("credentials"),
                "{bad}: {err}"
            );
        }
    }
}
