//! Showing text that came from a server or a file in one bounded line, for reports, error
//! messages and tables, and without characters that would drive the terminal.

use std::borrow::Cow;

/// `text` on one line of at most `max` characters: runs of whitespace (newlines included)
/// become one space, and a longer text is cut and ends with `…`.
///
/// ```
/// assert_eq!(memos_api::text::one_line("a\n  b", 10), "a b");
/// assert_eq!(memos_api::text::one_line("abcdef", 4), "abc…");
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

/// `text` with every control character (C0, DEL, C1) and every bidirectional-formatting
/// character written as an escape (`\u{1b}`, `\n`, `\u{202e}`), so that text from a
/// server cannot move the cursor, retitle or clear the terminal, or reorder what a person
/// reads. Borrows when there is nothing to escape.
///
/// ```
/// assert_eq!(memos_api::text::escape_controls("a\u{1b}[2Jb"), "a\\u{1b}[2Jb");
/// assert_eq!(memos_api::text::escape_controls("héllo"), "héllo");
/// ```
pub fn escape_controls(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if needs_escape(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Control characters, and the bidirectional marks, embeddings, overrides and isolates.
fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
        )
}

#[cfg(test)]
mod tests {
    use super::{escape_controls, one_line, Cow};

    #[test]
    fn escapes_controls_and_bidi_and_nothing_else() {
        assert_eq!(
            escape_controls("a\u{1b}]0;x\u{7}\tb\u{9b}c\u{7f}\u{202e}d"),
            "a\\u{1b}]0;x\\u{7}\\tb\\u{9b}c\\u{7f}\\u{202e}d"
        );
        assert!(matches!(
            escape_controls("héllo \"wörld\" \\ 😀"),
            Cow::Borrowed(_)
        ));
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
