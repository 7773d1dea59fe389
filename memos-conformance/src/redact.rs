//! Keeping the configured credential out of everything a run gives back.
//!
//! A server may echo the credential it was sent: in an error `message`, in a
//! `www-authenticate` or `location` header. Whatever it echoes would reach the report
//! reasons (text, JSON, JUnit), the failure details and the snapshots, often cut short
//! first (so a later search for the whole token would miss the part that is left). So
//! the [`Redactor`] replaces the token in each answer as it arrives, before anything
//! reads it: the raw bytes of the body and the kept headers, and the transport's own
//! error texts.
//!
//! Besides the token as sent, it replaces the forms a server is likely to echo it in:
//! JSON-escaped (`"` and `\`, with and without `\/`), and percent-encoded (form and
//! path style, upper- and lower-case hex). Base64 is left out: the suite never sends the
//! token encoded, so a server would have to encode it itself, and a base64 token inside
//! a longer encoded text is not a fixed string to look for anyway.
//!
//! A token so short that it occurs in ordinary answers makes those answers unreadable;
//! that is the price of never showing it.

use regex::bytes::{NoExpand, Regex, RegexBuilder};

use memos_api::Secret;

/// What a secret becomes wherever it is found: in answers, and in request bodies under
/// secret-looking keys.
pub const REDACTED: &str = "<redacted>";

/// Characters kept as they are when percent-encoding (RFC 3986's unreserved set).
fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// Replaces the configured credential, in the forms a server may echo it in. Its
/// `Debug` does not show them.
#[derive(Clone, Default)]
pub struct Redactor {
    /// Every form of the token, longest first; `None` without a token.
    forms: Option<Regex>,
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Redactor")
            .field("active", &self.forms.is_some())
            .finish()
    }
}

impl Redactor {
    /// A redactor of `secret`'s forms; one that changes nothing without a secret. Fails
    /// (without echoing it) when the token is too long to search for.
    pub fn new(secret: Option<&Secret>) -> Result<Redactor, String> {
        let Some(token) = secret.map(Secret::expose).filter(|t| !t.is_empty()) else {
            return Ok(Redactor::default());
        };
        let mut forms = encodings(token);
        forms.sort_by_key(|f| std::cmp::Reverse(f.len()));
        forms.dedup();
        let pattern = forms
            .iter()
            .map(|f| regex::escape(f))
            .collect::<Vec<_>>()
            .join("|");
        let regex = RegexBuilder::new(&pattern)
            .unicode(false)
            .size_limit(64 << 20)
            .build()
            .map_err(|_| {
                "the token is too long to be kept out of the report; it was not sent".to_owned()
            })?;
        Ok(Redactor { forms: Some(regex) })
    }

    /// `bytes` with every form of the token replaced by `<redacted>`.
    pub fn bytes(&self, bytes: Vec<u8>) -> Vec<u8> {
        match &self.forms {
            Some(forms) if forms.is_match(&bytes) => forms
                .replace_all(&bytes, NoExpand(REDACTED.as_bytes()))
                .into_owned(),
            _ => bytes,
        }
    }

    /// `text` with every form of the token replaced by `<redacted>`.
    pub fn text(&self, text: String) -> String {
        match &self.forms {
            // Replacing whole ASCII runs by ASCII keeps valid UTF-8 valid; the lossy
            // conversion is only the fallback that cannot panic.
            Some(forms) if forms.is_match(text.as_bytes()) => {
                String::from_utf8_lossy(&self.bytes(text.into_bytes())).into_owned()
            }
            _ => text,
        }
    }
}

/// The token as sent, JSON-escaped and percent-encoded.
fn encodings(token: &str) -> Vec<String> {
    let json = serde_json::to_string(token).unwrap_or_default();
    let json = json
        .strip_prefix('"')
        .and_then(|j| j.strip_suffix('"'))
        .unwrap_or(token)
        .to_owned();
    let path_upper: String = token
        .bytes()
        .map(|b| {
            if is_unreserved(b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    let form: String = url::form_urlencoded::byte_serialize(token.as_bytes()).collect();
    vec![
        token.to_owned(),
        json.replace('/', "\\/"),
        json,
        percent_lower(&path_upper),
        path_upper,
        percent_lower(&form),
        form,
    ]
}

/// `%2F` → `%2f`, leaving the rest alone.
fn percent_lower(encoded: &str) -> String {
    let mut out = String::with_capacity(encoded.len());
    let mut hex_left = 0;
    for c in encoded.chars() {
        if c == '%' {
            hex_left = 2;
            out.push(c);
        } else if hex_left > 0 {
            hex_left -= 1;
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_form_of_the_token_is_replaced() {
        let secret = Secret::new(r#"ab/c+d"e\f g"#);
        let r = Redactor::new(Some(&secret)).expect("redactor");
        for form in [
            r#"ab/c+d"e\f g"#,
            r#"ab/c+d\"e\\f g"#,
            r#"ab\/c+d\"e\\f g"#,
            "ab%2Fc%2Bd%22e%5Cf%20g",
            "ab%2fc%2bd%22e%5cf%20g",
            "ab%2Fc%2Bd%22e%5Cf+g",
        ] {
            let text = format!("x Bearer {form} y");
            assert_eq!(r.text(text.clone()), "x Bearer <redacted> y", "{form}");
            assert_eq!(
                r.bytes(text.into_bytes()),
                b"x Bearer <redacted> y",
                "{form}"
            );
        }
        assert_eq!(r.text("ab/c+d".into()), "ab/c+d");
        assert!(!format!("{r:?}").contains("ab/c"));
    }

    #[test]
    fn without_a_token_nothing_changes() {
        let r = Redactor::new(None).expect("redactor");
        assert_eq!(r.text("Bearer abc".into()), "Bearer abc");
        let r = Redactor::new(Some(&Secret::new(""))).expect("redactor");
        assert_eq!(r.bytes(b"abc".to_vec()), b"abc");
    }
}
