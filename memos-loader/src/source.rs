//! What to import, and reading it: every pass over the input (validation, reconciliation,
//! sending) reads the files again from the start, numbering the valid records the same way
//! each time, so nothing but the current record is ever held in memory.

use std::path::PathBuf;
use std::sync::Arc;

use crate::content::{ContentOptions, TextReader, MAX_CHUNK_SIZE};
use crate::docs::{self, DocumentOptions};
use crate::error::LoadError;
use crate::input::{self, Admitted, Input, InputFile};
use crate::item::{InvalidRecord, Parsed, Record};
use crate::messages::{self, MessageOptions};
use crate::reader::ParsedReader;

/// What to import: one of the three import patterns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// Chat sessions (one record per session).
    Messages {
        /// The files (or standard input).
        inputs: Vec<Input>,
        /// How they are read.
        options: MessageOptions,
    },
    /// Text such as command output and logs (one record per chunk or line).
    Content {
        /// The files (or standard input).
        inputs: Vec<Input>,
        /// How the text is cut.
        options: ContentOptions,
    },
    /// Documents on this machine: files and folders (one record per chunk).
    Documents {
        /// Files and folders.
        paths: Vec<PathBuf>,
        /// How the documents are cut.
        options: DocumentOptions,
    },
}

impl Source {
    /// `messages`, `content` or `documents`.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Source::Messages { .. } => "messages",
            Source::Content { .. } => "content",
            Source::Documents { .. } => "documents",
        }
    }

    /// Checks the options, spools standard input and pipes, lists and stamps the files.
    /// Blocking.
    pub(crate) fn prepare(&self) -> Result<Prepared, LoadError> {
        let mut spools = Vec::new();
        let mut stdin_seen = false;
        let mut files_of = |inputs: &[Input]| -> Result<Vec<InputFile>, LoadError> {
            if inputs.is_empty() {
                return Err(LoadError::Options(
                    "no input given: name at least one file, or - for standard input".into(),
                ));
            }
            let mut files = Vec::new();
            for input in inputs {
                let spooled = match input {
                    Input::Path(path) => match input::admit(path)? {
                        Admitted::Regular => {
                            files.push(InputFile::regular(path, String::new())?);
                            continue;
                        }
                        Admitted::Stream => input::spool_path(path)?,
                    },
                    Input::Stdin => {
                        if std::mem::replace(&mut stdin_seen, true) {
                            return Err(LoadError::Options(
                                "standard input (-) can be named only once".into(),
                            ));
                        }
                        input::spool_stdin()?
                    }
                };
                files.push(spooled.file);
                spools.push(Arc::new(spooled.handle));
            }
            Ok(files)
        };
        let mut skipped_links = Vec::new();
        let (files, options) = match self {
            Source::Messages { inputs, options } => {
                if options.max_session_messages == 0 {
                    return Err(LoadError::Options(
                        "the session size limit must be at least 1".into(),
                    ));
                }
                if options.session_field.is_empty() {
                    return Err(LoadError::Options("the session field is empty".into()));
                }
                (files_of(inputs)?, Options::Messages(options.clone()))
            }
            Source::Content { inputs, options } => {
                check_chunk_size(options.chunk_size)?;
                (files_of(inputs)?, Options::Content(options.clone()))
            }
            Source::Documents { paths, options } => {
                check_chunk_size(options.chunk_size)?;
                if paths.is_empty() {
                    return Err(LoadError::Options(
                        "no documents given: name at least one file or folder".into(),
                    ));
                }
                let collected = docs::collect(paths, options.follow_links)?;
                skipped_links = collected.skipped_links;
                let mut files = Vec::new();
                for file in collected.files {
                    // A file named on the command line may be a pipe: read it once.
                    match input::admit(&file.path)? {
                        Admitted::Regular => files.push(file),
                        Admitted::Stream => {
                            let spooled = input::spool_path(&file.path)?;
                            files.push(InputFile {
                                key: file.key,
                                ..spooled.file
                            });
                            spools.push(Arc::new(spooled.handle));
                        }
                    }
                }
                (files, Options::Documents(options.clone()))
            }
        };
        Ok(Prepared {
            kind: self.kind(),
            files,
            options,
            skipped_links,
            _spools: spools,
        })
    }
}

fn check_chunk_size(size: usize) -> Result<(), LoadError> {
    if size == 0 || size > MAX_CHUNK_SIZE {
        return Err(LoadError::Options(format!(
            "the chunk size must be between 1 and {MAX_CHUNK_SIZE} characters, not {size}"
        )));
    }
    Ok(())
}

#[derive(Debug, Clone)]
enum Options {
    Messages(MessageOptions),
    Content(ContentOptions),
    Documents(DocumentOptions),
}

/// A source ready to be read any number of times.
#[derive(Debug, Clone)]
pub(crate) struct Prepared {
    pub kind: &'static str,
    pub files: Vec<InputFile>,
    options: Options,
    /// Links in documents folders that point out of them, left out.
    pub skipped_links: Vec<PathBuf>,
    /// Keeps the copies of standard input and pipes alive.
    _spools: Vec<Arc<tempfile::NamedTempFile>>,
}

impl Prepared {
    /// The options that change how records are cut: a checkpoint only fits the same ones.
    pub(crate) fn options_description(&self) -> String {
        match &self.options {
            Options::Messages(o) => format!("messages {}", o.describe()),
            Options::Content(o) => format!(
                "content chunk_size={} per_line={}",
                o.chunk_size, o.per_line
            ),
            // Only a non-default follow_links is named, so that checkpoints written before
            // the option existed still apply.
            Options::Documents(o) if o.follow_links => {
                format!("documents chunk_size={} follow_links=true", o.chunk_size)
            }
            Options::Documents(o) => format!("documents chunk_size={}", o.chunk_size),
        }
    }

    /// A new pass from the first record.
    pub(crate) fn pass(&self) -> Pass {
        Pass {
            prepared: self.clone(),
            next_file: 0,
            current: None,
            next_index: 0,
        }
    }

    fn open(&self, file: &InputFile) -> Result<Box<dyn ParsedReader>, LoadError> {
        Ok(match &self.options {
            Options::Messages(o) => Box::new(messages::open(file, o)?),
            Options::Content(o) => {
                Box::new(TextReader::open(file, o.chunk_size, o.per_line, false)?)
            }
            Options::Documents(o) => Box::new(docs::open(file, o)?),
        })
    }
}

/// One pass over all files: valid records numbered from 0, and invalid records.
pub(crate) struct Pass {
    prepared: Prepared,
    next_file: usize,
    current: Option<Box<dyn ParsedReader>>,
    next_index: u64,
}

impl Pass {
    /// The next record (`Ok`) or invalid record (`Err`), or `None` at the end.
    pub(crate) fn next_item(&mut self) -> Result<Option<Result<Record, InvalidRecord>>, LoadError> {
        loop {
            if self.current.is_none() {
                let Some(file) = self.prepared.files.get(self.next_file) else {
                    return Ok(None);
                };
                self.next_file += 1;
                self.current = Some(self.prepared.open(file)?);
            }
            let Some(reader) = self.current.as_mut() else {
                continue;
            };
            match reader.next_parsed()? {
                None => self.current = None,
                Some(Parsed::Invalid(invalid)) => return Ok(Some(Err(invalid))),
                Some(Parsed::Valid(location, payload)) => {
                    let index = self.next_index;
                    self.next_index += 1;
                    return Ok(Some(Ok(Record {
                        index,
                        location,
                        payload,
                    })));
                }
            }
        }
    }
}
