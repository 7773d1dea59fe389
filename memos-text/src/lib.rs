//! Showing text that came from a server or a file: in one bounded line, for reports, error
//! messages and tables, and with its control characters made visible, for terminals.
//!
//! The one home of these rules for the client (`memos-api`, which bounds server text in its
//! errors), the `memos` command and the conformance suite; not part of the client's API.

use std::borrow::Cow;
use std::fmt::Write as _;

/// `text` on one line of at most `max` characters: runs of whitespace (newlines included)
/// become one space, and a longer text is cut and ends with `…`.
///
/// ```
/// assert_eq!(memos_text::one_line("a\n  b", 10), "a b");
/// assert_eq!(memos_text::one_line("abcdef", 4), "abc…");
/// ```
pub fn one_line(text: &str, max: usize) -> String {
    if max == 0 {
        return String::new();
    }
    let mut folded = String::with_capacity(text.len().min(max.saturating_mul(4)));
    let mut chars = 0usize;
    for word in text.split_whitespace() {
        for c in (chars > 0).then_some(' ').into_iter().chain(word.chars()) {
            if chars == max {
                // One character too many: replace the last kept one with the ellipsis.
                folded.pop();
                folded.push('…');
                return folded;
            }
            folded.push(c);
            chars += 1;
        }
    }
    folded
}

/// `err`'s text followed by the text of each error in its `source()` chain, each after
/// `: `: the whole error on one line where it must be one string (a report, a summary), as
/// `anyhow`'s `{:#}` prints it. Each error is expected to keep its cause out of its own
/// text, so nothing is printed twice.
///
/// ```
/// use std::fmt;
///
/// #[derive(Debug)]
/// struct Failed(std::io::Error);
///
/// impl fmt::Display for Failed {
///     fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
///         f.write_str("list_users failed")
///     }
/// }
///
/// impl std::error::Error for Failed {
///     fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
///         Some(&self.0)
///     }
/// }
///
/// let err = Failed(std::io::Error::other("connection refused"));
/// assert_eq!(memos_text::with_causes(&err), "list_users failed: connection refused");
/// ```
pub fn with_causes(err: &dyn std::error::Error) -> String {
    let mut out = err.to_string();
    let mut next = err.source();
    while let Some(cause) = next {
        out.push_str(": ");
        out.push_str(&cause.to_string());
        next = cause.source();
    }
    out
}

/// `text` with every character that a terminal would act on instead of showing written as
/// a Rust escape (`\u{1b}`), so that text from a server or a file cannot move the cursor,
/// clear the screen, set the window title or hide what follows (ANSI CSI and OSC sequences
/// start with ESC, or with the one-character C1 forms that some terminals honour).
///
/// Escaped: the C0 controls but line feed and tab, DEL, the C1 controls, and the
/// bidirectional overrides and isolates (which reorder how the rest of a line reads). Line
/// feeds and tabs are kept for multi-line output; fold them first with [`one_line`] where
/// one line is wanted. Text without such characters is returned as it is, without copying.
///
/// ```
/// use memos_text::escape_controls;
/// assert_eq!(escape_controls("a\x1b]0;pwned\x07b"), "a\\u{1b}]0;pwned\\u{7}b");
/// assert_eq!(escape_controls("two\nlines"), "two\nlines");
/// ```
pub fn escape_controls(text: &str) -> Cow<'_, str> {
    // Writing to a String cannot fail.
    escape_with(text, |out, c| {
        let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
    })
}

/// `json`, a JSON text, with the characters [`escape_controls`] escapes written as JSON
/// `\uXXXX` escapes: the same JSON value, safe to print on a terminal.
///
/// serde_json escapes the C0 controls itself but writes DEL, the C1 controls (U+009B is a
/// one-character CSI to some terminals) and the bidirectional overrides as they are. Such
/// characters can only stand inside JSON strings, where the escape means the same character.
///
/// ```
/// let json = serde_json::to_string("a\u{9b}2J").unwrap();
/// let safe = memos_text::escape_controls_in_json(&json);
/// assert_eq!(safe, r#""a\u009b2J""#);
/// assert_eq!(serde_json::from_str::<String>(&safe).unwrap(), "a\u{9b}2J");
/// ```
pub fn escape_controls_in_json(json: &str) -> Cow<'_, str> {
    // Every such character is in the Basic Multilingual Plane: one `\uXXXX` each.
    escape_with(json, |out, c| {
        let _ = write!(out, "\\u{:04x}", u32::from(c));
    })
}

/// `text` with each character [`must_escape`] holds for written by `escape`.
fn escape_with(text: &str, escape: impl Fn(&mut String, char)) -> Cow<'_, str> {
    let Some(first) = text.find(must_escape) else {
        return Cow::Borrowed(text);
    };
    let mut out = String::with_capacity(text.len() + 16);
    out.push_str(&text[..first]);
    for c in text[first..].chars() {
        if must_escape(c) {
            escape(&mut out, c);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Whether a terminal would act on `c` rather than show it (see [`escape_controls`]).
fn must_escape(c: char) -> bool {
    match c {
        '\n' | '\t' => false,
        // C0, DEL and C1.
        c if c.is_control() => true,
        // Bidirectional marks, embeddings, overrides and isolates.
        '\u{061c}'
        | '\u{200e}'
        | '\u{200f}'
        | '\u{202a}'..='\u{202e}'
        | '\u{2066}'..='\u{2069}' => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::{escape_controls, escape_controls_in_json, one_line};

    #[test]
    fn escapes_what_a_terminal_would_act_on() {
        assert_eq!(
            escape_controls("\x1b]0;pwned\x07 \x1b[2J"),
            "\\u{1b}]0;pwned\\u{7} \\u{1b}[2J"
        );
        assert_eq!(
            escape_controls("a\rb\x7fc\u{9b}d"),
            "a\\u{d}b\\u{7f}c\\u{9b}d"
        );
        assert_eq!(
            escape_controls("x\u{202e}y\u{2066}z"),
            "x\\u{202e}y\\u{2066}z"
        );
        assert_eq!(
            escape_controls("line\n\tindented é ✓"),
            "line\n\tindented é ✓"
        );
        assert!(matches!(escape_controls("plain"), Cow::Borrowed("plain")));
        // What comes out has nothing left to escape.
        let once = escape_controls("\x1b\x1b");
        assert_eq!(escape_controls(&once), once);
    }

    #[test]
    fn json_keeps_its_value() {
        let value = serde_json::json!({"k\u{202e}": ["\x1b[2J\u{9b}1m\u{7f}\n", 1]});
        let json = serde_json::to_string_pretty(&value).unwrap();
        let safe = escape_controls_in_json(&json);
        assert!(!safe.chars().any(|c| c.is_control() && c != '\n'), "{safe}");
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&safe).unwrap(),
            value
        );
    }

    #[test]
    fn folds_whitespace_and_cuts_with_an_ellipsis() {
        assert_eq!(one_line("  a\n\tb  ", 10), "a b");
        assert_eq!(one_line("abcdef", 6), "abcdef");
        assert_eq!(one_line("abcdefg", 6), "abcde…");
        assert_eq!(one_line("ab cd", 4), "ab …");
        assert_eq!(one_line("héllo wörld", 5), "héll…");
        assert_eq!(one_line("abc", 0), "");
    }

    #[test]
    fn reads_no_more_than_it_keeps() {
        // A huge text costs only what is kept: the loop stops at `max`.
        let big = "x".repeat(10_000_000);
        assert_eq!(one_line(&big, 3).chars().count(), 3);
    }
}
