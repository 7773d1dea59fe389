//! Showing text that came from a server or a file in one bounded line, for reports, error
//! messages and tables.

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

#[cfg(test)]
mod tests {
    use super::one_line;

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
