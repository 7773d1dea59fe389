//! Documents on this machine: files and folders are read here, cut into chunks at
//! paragraph and line boundaries, and sent as content (the server cannot read the caller's
//! disk; `doc_path` names a folder on the *server*, see [`import_server_dir`]).
//!
//! Folders are walked recursively in name order; hidden entries (`.git`, `.DS_Store`) are
//! left out and symbolic links to folders are not followed; links to files outside the folder are
//! left out (and listed) unless `follow_links` is set. Every file must be UTF-8 text
//! (plain text, Markdown, source code, ...); any other file is an invalid record.
//!
//! [`import_server_dir`]: crate::import_server_dir

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::content::TextReader;
use crate::error::LoadError;
use crate::input::{describe_io, InputFile};
use crate::item::{InvalidRecord, Location, Parsed};
use crate::reader::ParsedReader;

/// How documents are cut into records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentOptions {
    /// The most characters of one record (default 2000; 1 to 1,000,000).
    pub chunk_size: usize,
    /// Read links to files outside the folder being walked (default: off, such links are
    /// left out and listed in [`Summary::skipped_links`](crate::Summary::skipped_links), so
    /// that a cloned repository's `notes.md -> ~/.aws/credentials` is not uploaded).
    pub follow_links: bool,
}

impl Default for DocumentOptions {
    fn default() -> Self {
        Self {
            chunk_size: 2000,
            follow_links: false,
        }
    }
}

/// The documents found, and the links left out.
pub(crate) struct Collected {
    pub files: Vec<InputFile>,
    /// Links in a folder that resolve outside it (or cannot be resolved), not followed.
    pub skipped_links: Vec<PathBuf>,
}

/// The files named, and those found (recursively, in name order) under the folders named.
pub(crate) fn collect(paths: &[PathBuf], follow_links: bool) -> Result<Collected, LoadError> {
    let mut out = Collected {
        files: Vec::new(),
        skipped_links: Vec::new(),
    };
    for root in paths {
        let meta = fs::metadata(root).map_err(|err| LoadError::Read {
            path: root.clone(),
            reason: describe_io(&err),
        })?;
        if meta.is_dir() {
            let walk = Walk {
                root,
                // Links are judged by where they resolve, so the folder is too.
                real_root: fs::canonicalize(root).map_err(|err| LoadError::Read {
                    path: root.clone(),
                    reason: describe_io(&err),
                })?,
                follow_links,
            };
            walk.dir(root, &mut out)?;
        } else {
            // Named by the user: read whatever it is (a pipe is copied first).
            let key = root.display().to_string();
            out.files.push(InputFile::regular(root, key)?);
        }
    }
    Ok(out)
}

struct Walk<'a> {
    root: &'a Path,
    real_root: PathBuf,
    follow_links: bool,
}

impl Walk<'_> {
    fn dir(&self, dir: &Path, out: &mut Collected) -> Result<(), LoadError> {
        let read_error = |err: std::io::Error| LoadError::Read {
            path: dir.to_path_buf(),
            reason: describe_io(&err),
        };
        let mut entries = Vec::new();
        for entry in fs::read_dir(dir).map_err(read_error)? {
            let entry = entry.map_err(read_error)?;
            if entry.file_name().to_string_lossy().starts_with('.') {
                continue;
            }
            entries.push(entry);
        }
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            let path = entry.path();
            let kind = entry.file_type().map_err(read_error)?;
            if kind.is_dir() {
                self.dir(&path, out)?;
            } else if kind.is_file() || (kind.is_symlink() && path.is_file()) {
                if kind.is_symlink() && !self.follow_links && !self.inside(&path) {
                    out.skipped_links.push(path);
                    continue;
                }
                let key = path
                    .strip_prefix(self.root)
                    .unwrap_or(&path)
                    .display()
                    .to_string();
                out.files.push(InputFile::regular(&path, key)?);
            }
        }
        Ok(())
    }

    /// Whether a link resolves to a file inside the folder being walked.
    fn inside(&self, link: &Path) -> bool {
        fs::canonicalize(link).is_ok_and(|real| real.starts_with(&self.real_root))
    }
}

/// Reads one document: one invalid record when it is not UTF-8 text, else its chunks.
pub(crate) enum DocReader {
    NotText(Option<InvalidRecord>),
    Text(Box<TextReader>),
}

pub(crate) fn open(file: &InputFile, options: &DocumentOptions) -> Result<DocReader, LoadError> {
    if let Some((line, reason)) = check_text(file)? {
        return Ok(DocReader::NotText(Some(InvalidRecord {
            location: Location {
                source: file.display.clone(),
                line,
                end_line: line,
            },
            reason: format!(
                "{reason}; documents must be UTF-8 text (plain text, Markdown, ...), so the \
                 whole file is left out"
            ),
        })));
    }
    Ok(DocReader::Text(Box::new(TextReader::open(
        file,
        options.chunk_size,
        false,
        true,
    )?)))
}

impl ParsedReader for DocReader {
    fn next_parsed(&mut self) -> Result<Option<Parsed>, LoadError> {
        match self {
            DocReader::NotText(invalid) => Ok(invalid.take().map(Parsed::Invalid)),
            DocReader::Text(reader) => reader.next_parsed(),
        }
    }
}

/// Reads the whole file once to check it is UTF-8 without NUL bytes; returns the line and
/// reason of the first problem. Streaming, so any size is fine.
fn check_text(file: &InputFile) -> Result<Option<(u64, String)>, LoadError> {
    let mut reader = file.open()?;
    let mut buf = vec![0u8; 64 * 1024];
    let mut carry = 0usize;
    let mut line = 1u64;
    loop {
        let n = match reader.read(&mut buf[carry..]) {
            Ok(n) => n,
            Err(err) if err.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(file.read_error(&err)),
        };
        let filled = carry + n;
        let valid_up_to = match std::str::from_utf8(&buf[..filled]) {
            Ok(_) => filled,
            Err(err) => match err.error_len() {
                // An incomplete character at the end: finish it with the next read.
                None if n > 0 => err.valid_up_to(),
                _ => {
                    line += count_newlines(&buf[..err.valid_up_to()]);
                    return Ok(Some((line, "not valid UTF-8 text".to_owned())));
                }
            },
        };
        if let Some(pos) = buf[..valid_up_to].iter().position(|&b| b == 0) {
            line += count_newlines(&buf[..pos]);
            return Ok(Some((line, "contains NUL bytes (binary data)".to_owned())));
        }
        line += count_newlines(&buf[..valid_up_to]);
        if n == 0 {
            return Ok(None);
        }
        buf.copy_within(valid_up_to..filled, 0);
        carry = filled - valid_up_to;
    }
}

fn count_newlines(bytes: &[u8]) -> u64 {
    bytes.iter().filter(|&&b| b == b'\n').count() as u64
}
