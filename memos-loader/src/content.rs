//! Reading text (command output, logs, documents) into content records.
//!
//! What one record is:
//! * by default, a chunk: consecutive lines joined with `\n`, as many as fit in
//!   `chunk_size` characters (blank lines at a chunk's edges dropped); documents pack whole
//!   paragraphs instead (see [`chunk`](crate::chunk));
//! * with `per_line`, each non-blank line.
//!
//! A line longer than `chunk_size` is cut into pieces, each its own record. A line that is
//! not UTF-8 text is an invalid record (it ends the chunk before it).

use std::collections::VecDeque;

use crate::chunk::{split_long, Chunk, Chunker};
use crate::error::LoadError;
use crate::input::{InputFile, InputReader};
use crate::item::{InvalidRecord, Location, Parsed, Payload};
use crate::lines::{piece_text, LineReader};
use crate::reader::ParsedReader;

/// How content is cut into records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContentOptions {
    /// The most characters of one record (default 2000; 1 to 1,000,000).
    pub chunk_size: usize,
    /// One record per non-blank line instead of chunks.
    pub per_line: bool,
}

impl Default for ContentOptions {
    fn default() -> Self {
        Self {
            chunk_size: 2000,
            per_line: false,
        }
    }
}

/// The largest piece of a line held at once, in bytes (a chunk of the largest allowed
/// size always fits).
pub(crate) const MAX_PIECE: usize = 4 * 1024 * 1024;
/// The largest allowed chunk size, in characters.
pub(crate) const MAX_CHUNK_SIZE: usize = 1_000_000;

pub(crate) struct TextReader {
    file: InputFile,
    lines: LineReader<InputReader>,
    chunker: Chunker,
    per_line: bool,
    max: usize,
    /// A line already reported invalid whose remaining pieces are skipped.
    bad_line: Option<u64>,
    chunks: Vec<Chunk>,
    queue: VecDeque<Parsed>,
    done: bool,
}

impl TextReader {
    /// `paragraphs`: pack paragraphs (documents) rather than lines.
    pub(crate) fn open(
        file: &InputFile,
        chunk_size: usize,
        per_line: bool,
        paragraphs: bool,
    ) -> Result<Self, LoadError> {
        let reader = file.open()?;
        Ok(Self {
            file: file.clone(),
            lines: LineReader::new(reader, MAX_PIECE),
            chunker: Chunker::new(chunk_size, paragraphs),
            per_line,
            max: chunk_size,
            bad_line: None,
            chunks: Vec::new(),
            queue: VecDeque::new(),
            done: false,
        })
    }

    fn location(&self, line: u64, end_line: u64) -> Location {
        Location {
            source: self.file.display.clone(),
            line,
            end_line,
        }
    }

    fn drain_chunks(&mut self) {
        for chunk in std::mem::take(&mut self.chunks) {
            let location = self.location(chunk.first_line, chunk.last_line);
            self.queue
                .push_back(Parsed::Valid(location, Payload::Content(chunk.text)));
        }
    }

    fn read_more(&mut self) -> Result<(), LoadError> {
        let piece = self
            .lines
            .next_piece()
            .map_err(|err| self.file.read_error(&err))?;
        let Some(piece) = piece else {
            self.chunker.flush(&mut self.chunks);
            self.drain_chunks();
            self.done = true;
            return Ok(());
        };
        let (line, first, last) = (piece.line, piece.first, piece.last);
        if self.bad_line == Some(line) {
            return Ok(());
        }
        let text = match piece_text(piece.bytes) {
            Ok(text) => text,
            Err(reason) => {
                // The chunk before a bad line goes out on its own, so that every pass cuts
                // the same records whether or not bad lines are skipped.
                self.chunker.flush(&mut self.chunks);
                self.drain_chunks();
                let location = self.location(line, line);
                self.queue
                    .push_back(Parsed::Invalid(InvalidRecord { location, reason }));
                if !last {
                    self.bad_line = Some(line);
                }
                return Ok(());
            }
        };
        if self.per_line {
            if !text.trim().is_empty() {
                for piece in split_long(text, self.max) {
                    if !piece.trim().is_empty() {
                        let location = Location {
                            source: self.file.display.clone(),
                            line,
                            end_line: line,
                        };
                        self.queue
                            .push_back(Parsed::Valid(location, Payload::Content(piece.to_owned())));
                    }
                }
            }
        } else if first && last {
            self.chunker.line(line, text, &mut self.chunks);
        } else {
            self.chunker.fragment(line, text, &mut self.chunks);
        }
        self.drain_chunks();
        Ok(())
    }
}

impl ParsedReader for TextReader {
    fn next_parsed(&mut self) -> Result<Option<Parsed>, LoadError> {
        loop {
            if let Some(parsed) = self.queue.pop_front() {
                return Ok(Some(parsed));
            }
            if self.done {
                return Ok(None);
            }
            self.read_more()?;
        }
    }
}
