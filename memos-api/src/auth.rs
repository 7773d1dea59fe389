//! Credentials: how a credential is sent ([`AuthScheme`], [`Auth`]) and the [`Secret`] that
//! holds it. Apart from the rest so that what touches a secret, and its redacted `Debug`, can
//! be read in one place.

use std::fmt;

use reqwest::header::HeaderValue;

use crate::error::{Error, Result};

/// How a credential is sent.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    serde::Serialize,
    serde::Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum AuthScheme {
    /// `Authorization: Bearer <token>`.
    Bearer,
    /// `Authorization: Token <key>` (the hosted service's API keys).
    Token,
}

impl AuthScheme {
    /// Every scheme, in the order they are documented.
    pub const ALL: [AuthScheme; 2] = [AuthScheme::Bearer, AuthScheme::Token];

    /// The scheme word in the `Authorization` header.
    pub fn word(self) -> &'static str {
        match self {
            AuthScheme::Bearer => "Bearer",
            AuthScheme::Token => "Token",
        }
    }

    /// The lower-case name used in options and reports: `bearer` or `token`.
    pub fn name(self) -> &'static str {
        match self {
            AuthScheme::Bearer => "bearer",
            AuthScheme::Token => "token",
        }
    }
}

impl fmt::Display for AuthScheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for AuthScheme {
    type Err = String;

    /// `bearer` or `token`, in any case.
    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        AuthScheme::ALL
            .into_iter()
            .find(|scheme| scheme.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| format!("unknown auth scheme {s:?}: expected `bearer` or `token`"))
    }
}

/// How the client proves who it is. The open-source server checks neither; hosted MemOS
/// deployments use one of them.
#[derive(Clone, PartialEq, Eq)]
pub enum Auth {
    /// `Authorization: Bearer <token>`.
    Bearer(Secret),
    /// `Authorization: Token <key>` (the hosted service's API keys).
    Token(Secret),
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}(<redacted>)", self.scheme().word())
    }
}

impl Auth {
    /// The credential `secret` sent with `scheme`.
    pub fn new(scheme: AuthScheme, secret: Secret) -> Self {
        match scheme {
            AuthScheme::Bearer => Auth::Bearer(secret),
            AuthScheme::Token => Auth::Token(secret),
        }
    }

    /// How it is sent.
    pub fn scheme(&self) -> AuthScheme {
        match self {
            Auth::Bearer(_) => AuthScheme::Bearer,
            Auth::Token(_) => AuthScheme::Token,
        }
    }

    /// The credential itself.
    pub fn secret(&self) -> &Secret {
        match self {
            Auth::Bearer(secret) | Auth::Token(secret) => secret,
        }
    }

    /// The `Authorization` header value, marked sensitive so that reqwest and hyper redact it
    /// in their own `Debug` output.
    pub fn header_value(&self) -> Result<HeaderValue> {
        let scheme = self.scheme().word();
        let mut value = HeaderValue::from_str(&format!("{scheme} {}", self.secret().expose()))
            .map_err(|_| {
                // Never echo the secret: say only what is wrong with it.
                Error::Config(format!(
                    "the {scheme} credential contains characters not allowed in an HTTP header \
                     (control characters or non-ASCII); check how it was copied"
                ))
            })?;
        value.set_sensitive(true);
        Ok(value)
    }
}

/// A credential. Its `Debug` output is redacted and it has no `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a credential.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The credential itself, to put on the wire or to redact from text. Never print it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

#[cfg(test)]
mod tests {
    use crate::v1::Client;

    #[test]
    fn a_credential_with_a_newline_is_refused_without_echoing_it() {
        let err = Client::builder("http://127.0.0.1:1")
            .bearer_token("abc\ndef-secret")
            .build()
            .unwrap_err()
            .to_string();
        assert!(err.contains("Bearer credential"), "{err}");
        assert!(!err.contains("def-secret"), "{err}");
    }
}
