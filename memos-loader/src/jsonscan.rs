//! Finding the top-level JSON values of a file (or the elements of a top-level array)
//! without parsing the whole file into memory, with the line each one starts on.
//!
//! The scanner only tracks nesting and strings; each value's bytes are then parsed on
//! their own, so one malformed element is one invalid record, not a failed file. What the
//! scanner cannot get past (an unterminated string or array) stops the file.

use std::io::{self, BufRead};

/// A value found by the scanner.
#[derive(Debug)]
pub(crate) struct Scanned {
    pub line: u64,
    pub end_line: u64,
    /// The value's bytes, or `None` when it was larger than the limit (its bytes were
    /// skipped).
    pub bytes: Option<Vec<u8>>,
    /// A blank line separates this value from the previous one (top level only).
    pub blank_before: bool,
}

#[derive(Debug)]
pub(crate) enum ScanError {
    Io(io::Error),
    Syntax { line: u64, reason: String },
}

impl From<io::Error> for ScanError {
    fn from(err: io::Error) -> Self {
        ScanError::Io(err)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Top,
    /// Inside a top-level array, before an element (or its closing `]`).
    ArrayElement,
    /// Inside a top-level array, after an element.
    ArrayAfter,
}

pub(crate) struct JsonScanner<R> {
    input: R,
    line: u64,
    state: State,
    array_line: u64,
    max_bytes: usize,
}

impl<R: BufRead> JsonScanner<R> {
    pub(crate) fn new(input: R, max_bytes: usize) -> Self {
        Self {
            input,
            line: 1,
            state: State::Top,
            array_line: 0,
            max_bytes,
        }
    }

    fn peek(&mut self) -> io::Result<Option<u8>> {
        loop {
            match self.input.fill_buf() {
                Ok(buf) => return Ok(buf.first().copied()),
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                Err(err) => return Err(err),
            }
        }
    }

    fn bump(&mut self) -> io::Result<Option<u8>> {
        let byte = self.peek()?;
        if let Some(b) = byte {
            self.input.consume(1);
            if b == b'\n' {
                self.line += 1;
            }
        }
        Ok(byte)
    }

    /// Skips whitespace (and a UTF-8 byte order mark); returns whether a blank line was
    /// crossed.
    fn skip_ws(&mut self) -> io::Result<bool> {
        let mut newlines = 0;
        let mut only_ws_since_newline = true;
        let mut blank = false;
        while let Some(b) = self.peek()? {
            match b {
                b'\n' => {
                    if newlines > 0 && only_ws_since_newline {
                        blank = true;
                    }
                    newlines += 1;
                    only_ws_since_newline = true;
                }
                b' ' | b'\t' | b'\r' => {}
                0xef | 0xbb | 0xbf if self.line == 1 => {}
                _ => break,
            }
            self.bump()?;
        }
        Ok(blank)
    }

    /// The next value: a top-level value, or an element of a top-level array.
    pub(crate) fn next_value(&mut self) -> Result<Option<Scanned>, ScanError> {
        loop {
            let blank = self.skip_ws()?;
            match self.state {
                State::Top => match self.peek()? {
                    None => return Ok(None),
                    Some(b'[') => {
                        self.array_line = self.line;
                        self.bump()?;
                        self.state = State::ArrayElement;
                    }
                    Some(_) => {
                        let mut scanned = self.value()?;
                        scanned.blank_before = blank;
                        return Ok(Some(scanned));
                    }
                },
                State::ArrayElement => match self.peek()? {
                    None => return Err(self.unclosed_array()),
                    Some(b']') => {
                        self.bump()?;
                        self.state = State::Top;
                    }
                    Some(_) => {
                        let scanned = self.value()?;
                        self.state = State::ArrayAfter;
                        return Ok(Some(scanned));
                    }
                },
                State::ArrayAfter => match self.bump()? {
                    None => return Err(self.unclosed_array()),
                    Some(b',') => self.state = State::ArrayElement,
                    Some(b']') => self.state = State::Top,
                    Some(other) => {
                        return Err(ScanError::Syntax {
                            line: self.line,
                            reason: format!(
                                "expected ',' or ']' after an array element, found {:?}",
                                char::from(other)
                            ),
                        })
                    }
                },
            }
        }
    }

    fn unclosed_array(&self) -> ScanError {
        ScanError::Syntax {
            line: self.line,
            reason: format!(
                "the file ends inside the JSON array that starts at line {} (missing ']')",
                self.array_line
            ),
        }
    }

    /// Reads one value starting at the current byte.
    fn value(&mut self) -> Result<Scanned, ScanError> {
        let line = self.line;
        let mut bytes = Some(Vec::new());
        let mut depth: usize = 0;
        let mut in_string = false;
        let mut escaped = false;
        let mut first = true;
        loop {
            let Some(b) = self.peek()? else {
                if depth > 0 || in_string {
                    return Err(ScanError::Syntax {
                        line: self.line,
                        reason: format!(
                            "the file ends inside the JSON value that starts at line {line} \
                             (an unclosed {})",
                            if in_string { "string" } else { "'{' or '['" }
                        ),
                    });
                }
                break;
            };
            // A scalar ends at the first delimiter, which belongs to what follows.
            if depth == 0
                && !in_string
                && !first
                && matches!(b, b' ' | b'\t' | b'\r' | b'\n' | b',' | b']' | b'}')
            {
                break;
            }
            self.bump()?;
            if let Some(buf) = bytes.as_mut() {
                buf.push(b);
                if buf.len() > self.max_bytes {
                    bytes = None;
                }
            }
            first = false;
            if in_string {
                if escaped {
                    escaped = false;
                } else if b == b'\\' {
                    escaped = true;
                } else if b == b'"' {
                    in_string = false;
                    if depth == 0 {
                        break;
                    }
                }
                continue;
            }
            match b {
                b'"' => in_string = true,
                b'{' | b'[' => depth += 1,
                b'}' | b']' => {
                    if depth == 0 {
                        // A stray closer where a value should start.
                        break;
                    }
                    depth -= 1;
                    if depth == 0 {
                        break;
                    }
                }
                _ => {}
            }
        }
        Ok(Scanned {
            line,
            end_line: self.line,
            bytes,
            blank_before: false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(input: &str) -> Result<Vec<(u64, u64, String, bool)>, String> {
        let mut scanner = JsonScanner::new(input.as_bytes(), 1 << 20);
        let mut out = Vec::new();
        loop {
            match scanner.next_value() {
                Ok(Some(s)) => out.push((
                    s.line,
                    s.end_line,
                    String::from_utf8(s.bytes.unwrap()).unwrap(),
                    s.blank_before,
                )),
                Ok(None) => return Ok(out),
                Err(ScanError::Syntax { line, reason }) => return Err(format!("{line}: {reason}")),
                Err(ScanError::Io(e)) => return Err(e.to_string()),
            }
        }
    }

    #[test]
    fn array_elements_with_lines() {
        let got = scan("[\n {\"a\": \"]\"},\n [1, 2],\n 3\n]\n").unwrap();
        assert_eq!(
            got,
            vec![
                (2, 2, "{\"a\": \"]\"}".into(), false),
                (3, 3, "[1, 2]".into(), false),
                (4, 4, "3".into(), false),
            ]
        );
    }

    #[test]
    fn top_level_values_and_blank_lines() {
        let got = scan("{\"a\":1}\n{\n \"b\": \"x\\\"y\"\n}\n\n{}").unwrap();
        assert_eq!(got.len(), 3);
        assert_eq!((got[1].0, got[1].1), (2, 4));
        assert!(!got[1].3 && got[2].3);
    }

    #[test]
    fn structural_errors_name_the_line() {
        assert!(scan("[{\"a\":1}\n").unwrap_err().contains("missing ']'"));
        assert!(scan("[{\"a\":1} {\"b\":2}]")
            .unwrap_err()
            .contains("expected ','"));
        assert!(scan("{\"a\": \"open")
            .unwrap_err()
            .contains("unclosed string"));
    }

    #[test]
    fn oversized_values_are_skipped_not_kept() {
        let mut scanner = JsonScanner::new("[\"0123456789\", 1]".as_bytes(), 4);
        assert!(scanner.next_value().unwrap().unwrap().bytes.is_none());
        assert_eq!(scanner.next_value().unwrap().unwrap().bytes.unwrap(), b"1");
    }
}
