//! Reading lines with a bound on memory: a line longer than the bound comes out in pieces,
//! cut at UTF-8 character boundaries, so a 1 GB file without newlines never sits in memory.

use std::io::{self, BufRead};

/// One piece of a line.
#[derive(Debug)]
pub(crate) struct Piece<'a> {
    /// The 1-based line number.
    pub line: u64,
    /// The bytes, without the line ending (`\n` or `\r\n`).
    pub bytes: &'a [u8],
    /// This piece starts its line.
    pub first: bool,
    /// This piece ends its line.
    pub last: bool,
}

pub(crate) struct LineReader<R> {
    inner: R,
    max_piece: usize,
    buf: Vec<u8>,
    /// Bytes cut off the previous piece to keep a character whole.
    carry: Vec<u8>,
    line: u64,
    /// The next piece continues a line.
    mid_line: bool,
}

impl<R: BufRead> LineReader<R> {
    pub(crate) fn new(inner: R, max_piece: usize) -> Self {
        Self {
            inner,
            max_piece: max_piece.max(8),
            buf: Vec::new(),
            carry: Vec::new(),
            line: 1,
            mid_line: false,
        }
    }

    /// The next piece, or `None` at the end of the input.
    pub(crate) fn next_piece(&mut self) -> io::Result<Option<Piece<'_>>> {
        self.buf.clear();
        self.buf.append(&mut self.carry);
        let first = !self.mid_line;
        let line = self.line;
        let last = loop {
            let available = match self.inner.fill_buf() {
                Ok(available) => available,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                Err(err) => return Err(err),
            };
            if available.is_empty() {
                if self.buf.is_empty() && first {
                    return Ok(None);
                }
                break true;
            }
            let room = self.max_piece.saturating_sub(self.buf.len());
            let window = &available[..available.len().min(room)];
            if let Some(pos) = window.iter().position(|&b| b == b'\n') {
                self.buf.extend_from_slice(&window[..pos]);
                self.inner.consume(pos + 1);
                break true;
            }
            let taken = window.len();
            self.buf.extend_from_slice(window);
            self.inner.consume(taken);
            if self.buf.len() >= self.max_piece {
                // Keep a multi-byte character whole: move its leading bytes to the next piece.
                let cut = char_boundary_before(&self.buf);
                if cut > 0 {
                    self.carry.extend_from_slice(&self.buf[cut..]);
                    self.buf.truncate(cut);
                }
                break false;
            }
        };
        if last {
            if self.buf.last() == Some(&b'\r') {
                self.buf.pop();
            }
            self.line += 1;
            self.mid_line = false;
        } else {
            self.mid_line = true;
        }
        Ok(Some(Piece {
            line,
            bytes: &self.buf,
            first,
            last,
        }))
    }
}

/// The largest index `<= buf.len()` that does not split a UTF-8 sequence at the end of
/// `buf` (0 when no such cut is found within the last 4 bytes, e.g. for binary data).
fn char_boundary_before(buf: &[u8]) -> usize {
    let len = buf.len();
    for back in 0..4.min(len) {
        let i = len - 1 - back;
        let b = buf[i];
        if b & 0b1100_0000 != 0b1000_0000 {
            // `b` starts a character (or is ASCII): is the sequence complete?
            let width = match b {
                0x00..=0x7f => 1,
                0xc0..=0xdf => 2,
                0xe0..=0xef => 3,
                0xf0..=0xf7 => 4,
                _ => 1,
            };
            return if i + width <= len { len } else { i };
        }
    }
    len
}

/// Decodes a piece as UTF-8 text, or says why it is not text.
pub(crate) fn piece_text(bytes: &[u8]) -> Result<&str, String> {
    let text = std::str::from_utf8(bytes).map_err(|err| {
        format!(
            "not valid UTF-8 (bad byte at column {}); convert the file to UTF-8 (e.g. with iconv)",
            err.valid_up_to() + 1
        )
    })?;
    if let Some(pos) = text.find('\0') {
        return Err(format!(
            "contains a NUL byte at column {}; is this a binary file?",
            pos + 1
        ));
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pieces(input: &[u8], max: usize) -> Vec<(u64, String, bool, bool)> {
        let mut reader = LineReader::new(input, max);
        let mut out = Vec::new();
        while let Some(piece) = reader.next_piece().unwrap() {
            out.push((
                piece.line,
                String::from_utf8_lossy(piece.bytes).into_owned(),
                piece.first,
                piece.last,
            ));
        }
        out
    }

    #[test]
    fn splits_lines_and_strips_endings() {
        assert_eq!(
            pieces(b"a\r\nb\n\nc", 100),
            vec![
                (1, "a".into(), true, true),
                (2, "b".into(), true, true),
                (3, "".into(), true, true),
                (4, "c".into(), true, true),
            ]
        );
        assert!(pieces(b"", 100).is_empty());
        assert_eq!(pieces(b"x\n", 100).len(), 1);
    }

    #[test]
    fn long_lines_come_in_pieces_without_splitting_characters() {
        let text = "ééééé\nz"; // é is two bytes
        let got = pieces(text.as_bytes(), 8);
        assert_eq!(
            got,
            vec![
                (1, "éééé".into(), true, false),
                (1, "é".into(), false, true),
                (2, "z".into(), true, true),
            ]
        );
    }

    #[test]
    fn piece_text_explains_binary_data() {
        assert!(piece_text(b"\xff\xfe").unwrap_err().contains("UTF-8"));
        assert!(piece_text(b"a\0b").unwrap_err().contains("NUL"));
        assert_eq!(piece_text(b"ok").unwrap(), "ok");
    }
}
