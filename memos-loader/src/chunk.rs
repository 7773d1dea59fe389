//! Splitting text into chunks of at most N characters at line (and, for documents,
//! paragraph) boundaries, streaming: the chunker holds at most one chunk and one paragraph.
//!
//! Rules, in order of preference:
//! * paragraph mode (documents): whole paragraphs (separated by blank lines) are packed
//!   into a chunk, joined by one blank line; a paragraph longer than the limit is cut at
//!   line boundaries;
//! * line mode (command output, logs): whole lines are packed, blank lines inside a chunk
//!   are kept, blank lines at a chunk's edges are dropped;
//! * a line longer than the limit is cut into pieces of at most the limit, after the last
//!   whitespace of the piece when there is one in its second half, and each piece is a chunk.

/// A chunk and the lines it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Chunk {
    pub first_line: u64,
    pub last_line: u64,
    pub text: String,
}

#[derive(Debug, Default)]
struct Acc {
    text: String,
    chars: usize,
    first: u64,
    last: u64,
}

impl Acc {
    fn is_empty(&self) -> bool {
        self.text.is_empty()
    }

    fn set(&mut self, line: u64, text: &str, chars: usize) {
        self.text.clear();
        self.text.push_str(text);
        self.chars = chars;
        self.first = line;
        self.last = line;
    }

    fn push(&mut self, sep: &str, line_last: u64, text: &str, chars: usize) {
        self.text.push_str(sep);
        self.text.push_str(text);
        self.chars += sep.len() + chars;
        self.last = line_last;
    }

    fn take(&mut self) -> Option<Chunk> {
        if self.text.trim().is_empty() {
            self.text.clear();
            self.chars = 0;
            return None;
        }
        self.chars = 0;
        Some(Chunk {
            first_line: self.first,
            last_line: self.last,
            text: std::mem::take(&mut self.text),
        })
    }
}

pub(crate) struct Chunker {
    max: usize,
    paragraphs: bool,
    chunk: Acc,
    para: Acc,
    /// The paragraph being built continues one that was cut (joined with `\n`, not a
    /// blank line).
    para_continues: bool,
    /// Blank lines seen after the chunk's last line (line mode).
    pending_blanks: usize,
}

impl Chunker {
    /// `max` is in characters and must be at least 1.
    pub(crate) fn new(max: usize, paragraphs: bool) -> Self {
        Self {
            max: max.max(1),
            paragraphs,
            chunk: Acc::default(),
            para: Acc::default(),
            para_continues: false,
            pending_blanks: 0,
        }
    }

    /// Adds one whole line (without its ending); finished chunks go to `out`.
    pub(crate) fn line(&mut self, line: u64, text: &str, out: &mut Vec<Chunk>) {
        let chars = text.chars().count();
        if chars > self.max {
            self.flush(out);
            self.long_line(line, text, out);
            return;
        }
        let blank = text.trim().is_empty();
        if self.paragraphs {
            if blank {
                self.commit_para(out);
                self.para_continues = false;
            } else if self.para.is_empty() {
                self.para.set(line, text, chars);
            } else if self.para.chars + 1 + chars <= self.max {
                self.para.push("\n", line, text, chars);
            } else {
                self.commit_para(out);
                self.para_continues = true;
                self.para.set(line, text, chars);
            }
            return;
        }
        if blank {
            if !self.chunk.is_empty() {
                self.pending_blanks += 1;
            }
            return;
        }
        let sep_len = self.pending_blanks + 1;
        if self.chunk.is_empty() {
            self.chunk.set(line, text, chars);
        } else if self.chunk.chars + sep_len + chars <= self.max {
            let sep = "\n".repeat(sep_len);
            self.chunk.push(&sep, line, text, chars);
        } else {
            if let Some(chunk) = self.chunk.take() {
                out.push(chunk);
            }
            self.chunk.set(line, text, chars);
        }
        self.pending_blanks = 0;
    }

    /// Adds a piece of a line too long to keep whole (see [`LineReader`]): it is cut like
    /// an over-long line, after flushing what came before.
    ///
    /// [`LineReader`]: crate::lines::LineReader
    pub(crate) fn fragment(&mut self, line: u64, text: &str, out: &mut Vec<Chunk>) {
        self.flush(out);
        self.long_line(line, text, out);
    }

    /// Emits whatever is pending (at the end of the input or before an invalid line).
    pub(crate) fn flush(&mut self, out: &mut Vec<Chunk>) {
        self.commit_para(out);
        if let Some(chunk) = self.chunk.take() {
            out.push(chunk);
        }
        self.para_continues = false;
        self.pending_blanks = 0;
    }

    fn commit_para(&mut self, out: &mut Vec<Chunk>) {
        if self.para.is_empty() {
            return;
        }
        let sep = if self.para_continues { "\n" } else { "\n\n" };
        if self.chunk.is_empty() {
            std::mem::swap(&mut self.chunk, &mut self.para);
        } else if self.chunk.chars + sep.len() + self.para.chars <= self.max {
            let (last, chars) = (self.para.last, self.para.chars);
            let text = std::mem::take(&mut self.para.text);
            self.chunk.push(sep, last, &text, chars);
        } else {
            if let Some(chunk) = self.chunk.take() {
                out.push(chunk);
            }
            std::mem::swap(&mut self.chunk, &mut self.para);
        }
        self.para.text.clear();
        self.para.chars = 0;
    }

    fn long_line(&mut self, line: u64, text: &str, out: &mut Vec<Chunk>) {
        for piece in split_long(text, self.max) {
            if piece.trim().is_empty() {
                continue;
            }
            out.push(Chunk {
                first_line: line,
                last_line: line,
                text: piece.to_owned(),
            });
        }
    }
}

/// Cuts `text` into pieces of at most `max` characters, preferring to cut after whitespace
/// in the second half of a piece. The pieces concatenate to `text`.
pub(crate) fn split_long(text: &str, max: usize) -> Vec<&str> {
    let max = max.max(1);
    let mut pieces = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        // Byte offset after `max` characters (or the end).
        let hard = rest
            .char_indices()
            .nth(max)
            .map(|(i, _)| i)
            .unwrap_or(rest.len());
        if hard == rest.len() {
            pieces.push(rest);
            break;
        }
        // A piece cut after whitespace keeps at least half the limit.
        let min_chars = (max / 2).saturating_sub(1);
        let soft_floor = rest
            .char_indices()
            .nth(min_chars)
            .map(|(i, _)| i)
            .unwrap_or(0);
        let cut = rest[..hard]
            .char_indices()
            .rev()
            .take_while(|&(i, _)| i >= soft_floor)
            .find(|&(_, c)| c.is_whitespace())
            .map(|(i, c)| i + c.len_utf8())
            .unwrap_or(hard);
        pieces.push(&rest[..cut]);
        rest = &rest[cut..];
    }
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(text: &str, max: usize, paragraphs: bool) -> Vec<(u64, u64, String)> {
        let mut chunker = Chunker::new(max, paragraphs);
        let mut out = Vec::new();
        for (i, line) in text.split('\n').enumerate() {
            chunker.line(i as u64 + 1, line, &mut out);
        }
        chunker.flush(&mut out);
        out.into_iter()
            .map(|c| (c.first_line, c.last_line, c.text))
            .collect()
    }

    #[test]
    fn line_mode_packs_lines_and_trims_blank_edges() {
        let got = chunk("\na\nb\n\nc\nddddd\n\n", 6, false);
        assert_eq!(
            got,
            vec![(2, 5, "a\nb\n\nc".to_owned()), (6, 6, "ddddd".to_owned())]
        );
    }

    #[test]
    fn paragraph_mode_keeps_paragraphs_together() {
        let text = "p1 line1\np1 line2\n\np2\n\np3 is long enough";
        let got = chunk(text, 22, true);
        assert_eq!(
            got,
            vec![
                (1, 4, "p1 line1\np1 line2\n\np2".to_owned()),
                (6, 6, "p3 is long enough".to_owned()),
            ]
        );
    }

    #[test]
    fn a_long_paragraph_is_cut_at_lines() {
        let text = "aaaa\nbbbb\ncccc\n\ndd";
        let got = chunk(text, 9, true);
        assert_eq!(
            got,
            vec![
                (1, 2, "aaaa\nbbbb".to_owned()),
                (3, 5, "cccc\n\ndd".to_owned())
            ]
        );
    }

    #[test]
    fn long_lines_are_cut_at_whitespace() {
        assert_eq!(
            split_long("hello world again", 10),
            vec!["hello ", "world ", "again"]
        );
        assert_eq!(split_long("abcdefghij", 4), vec!["abcd", "efgh", "ij"]);
        assert_eq!(split_long("ééé", 2), vec!["éé", "é"]);
        let got = chunk("x\nhello world again\ny", 10, false);
        assert_eq!(
            got.iter().map(|c| c.2.as_str()).collect::<Vec<_>>(),
            vec!["x", "hello ", "world ", "again", "y"]
        );
    }
}
