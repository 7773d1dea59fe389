//! Input files: naming, opening, spooling standard input, and fingerprinting (so that a
//! checkpoint is only applied to the input it was written for).

use std::fs::{File, Metadata};
use std::io::{self, BufReader, Read, Seek, SeekFrom, Take, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use sha2::{Digest, Sha256};

use crate::error::LoadError;

/// Where input comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// A file.
    Path(PathBuf),
    /// Standard input (`-` on the command line). It is copied to a temporary file first,
    /// so it can be validated before anything is sent and read again to send it.
    Stdin,
}

impl Input {
    /// `-` means standard input; anything else is a path.
    pub fn from_arg(arg: &str) -> Self {
        if arg == "-" {
            Input::Stdin
        } else {
            Input::Path(PathBuf::from(arg))
        }
    }
}

/// A file to read, as prepared for the passes of an import.
#[derive(Debug, Clone)]
pub(crate) struct InputFile {
    /// How errors name it: the path as given, or `<stdin>`.
    pub display: Arc<str>,
    /// What to open.
    pub path: PathBuf,
    /// A name that identifies it inside the input (documents: the path under the folder
    /// given); empty for messages and content, whose files are identified by content alone.
    pub key: String,
    /// What the file was when the import started: every pass reads only its first
    /// `stamp.len` bytes, so that lines appended during an import (a live log) are not
    /// read by one pass and missed by another.
    pub stamp: Stamp,
}

/// A regular file's size and modification time, taken before it is first read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stamp {
    pub len: u64,
    pub modified: Option<SystemTime>,
}

impl Stamp {
    fn of(meta: &Metadata) -> Self {
        Self {
            len: meta.len(),
            modified: meta.modified().ok(),
        }
    }
}

/// How a file changed since its [`Stamp`] was taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Change {
    /// Same size and time.
    None,
    /// Larger: appended to (what was appended is not read).
    Grew(u64),
    /// Smaller, or the same size with another modification time: rewritten.
    Rewritten,
}

/// The reader every pass uses: bounded at the size the file had when it was stamped.
pub(crate) type InputReader = BufReader<Take<File>>;

/// The size of the buffered readers (large reads keep system calls few on big inputs).
pub(crate) const READ_BUFFER: usize = 256 * 1024;

impl InputFile {
    /// A regular file, stamped now.
    pub(crate) fn regular(path: &Path, key: String) -> Result<Self, LoadError> {
        let meta = std::fs::metadata(path).map_err(|err| LoadError::Read {
            path: path.to_path_buf(),
            reason: describe_io(&err),
        })?;
        Ok(Self {
            display: Arc::from(path.display().to_string()),
            path: path.to_path_buf(),
            key,
            stamp: Stamp::of(&meta),
        })
    }

    pub(crate) fn open(&self) -> Result<InputReader, LoadError> {
        let file = File::open(&self.path).map_err(|err| self.read_error(&err))?;
        Ok(BufReader::with_capacity(
            READ_BUFFER,
            file.take(self.stamp.len),
        ))
    }

    /// How the file changed since it was stamped.
    pub(crate) fn change(&self) -> Result<Change, LoadError> {
        let meta = std::fs::metadata(&self.path).map_err(|err| self.read_error(&err))?;
        let now = Stamp::of(&meta);
        Ok(if now.len > self.stamp.len {
            Change::Grew(now.len - self.stamp.len)
        } else if now == self.stamp {
            Change::None
        } else {
            Change::Rewritten
        })
    }

    pub(crate) fn read_error(&self, err: &io::Error) -> LoadError {
        LoadError::Read {
            path: PathBuf::from(&*self.display),
            reason: describe_io(err),
        }
    }
}

/// An OS error in words a person can act on.
pub(crate) fn describe_io(err: &io::Error) -> String {
    match err.kind() {
        io::ErrorKind::NotFound => "no such file or directory".to_owned(),
        io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
        _ => err.to_string(),
    }
}

/// What a path given as input is, and so how it is read.
pub(crate) enum Admitted {
    /// A regular file: read in place on every pass.
    Regular,
    /// A pipe, FIFO or socket (`<(zcat chats.gz)`): it can be read only once, so it is
    /// copied to a temporary file first, like standard input.
    Stream,
}

/// Checks that a path given as input can be read more than once, or copied: a regular
/// file, or a pipe, FIFO or socket. Folders and devices are refused: a device such as
/// `/dev/zero` never ends, and one such as a tape is consumed by reading.
pub(crate) fn admit(path: &Path) -> Result<Admitted, LoadError> {
    use std::os::unix::fs::FileTypeExt;
    let refuse = |reason: &str| LoadError::Read {
        path: path.to_path_buf(),
        reason: reason.to_owned(),
    };
    let meta = std::fs::metadata(path).map_err(|err| refuse(&describe_io(&err)))?;
    let kind = meta.file_type();
    if kind.is_dir() {
        Err(refuse(
            "is a directory; name the files in it or import the folder as documents instead",
        ))
    } else if kind.is_char_device() || kind.is_block_device() {
        Err(refuse(
            "is a device, not a file; only files, pipes and standard input can be imported \
             (copy what you need to a file first)",
        ))
    } else if kind.is_fifo() || kind.is_socket() {
        Ok(Admitted::Stream)
    } else {
        Ok(Admitted::Regular)
    }
}

/// Standard input, or a pipe, copied to a temporary file; the copy lives as long as the
/// returned handle.
pub(crate) struct Spooled {
    pub file: InputFile,
    pub handle: tempfile::NamedTempFile,
}

/// Copies `input` (standard input, or a pipe named `display`) to a temporary file, so that
/// it can be validated before anything is sent and read again to send it.
pub(crate) fn spool(input: &mut dyn Read, display: &str) -> Result<Spooled, LoadError> {
    let fail = |err: io::Error| LoadError::Read {
        path: PathBuf::from(display),
        reason: format!("copying it to a temporary file: {}", describe_io(&err)),
    };
    let mut handle = tempfile::Builder::new()
        .prefix("memos-load-spool-")
        .tempfile()
        .map_err(fail)?;
    io::copy(input, handle.as_file_mut()).map_err(fail)?;
    handle.as_file_mut().flush().map_err(fail)?;
    let meta = handle.as_file().metadata().map_err(fail)?;
    let file = InputFile {
        display: Arc::from(display),
        path: handle.path().to_path_buf(),
        key: String::new(),
        stamp: Stamp::of(&meta),
    };
    Ok(Spooled { file, handle })
}

/// Copies standard input to a temporary file.
pub(crate) fn spool_stdin() -> Result<Spooled, LoadError> {
    let stdin = io::stdin();
    let mut lock = stdin.lock();
    spool(&mut lock, "<stdin>")
}

/// Copies a pipe or FIFO named on the command line to a temporary file.
pub(crate) fn spool_path(path: &Path) -> Result<Spooled, LoadError> {
    let display = path.display().to_string();
    let mut file = File::open(path).map_err(|err| LoadError::Read {
        path: path.to_path_buf(),
        reason: describe_io(&err),
    })?;
    spool(&mut file, &display)
}

/// How many bytes of each end of a file the fingerprint covers.
const FINGERPRINT_SPAN: u64 = 64 * 1024;

/// A digest of the inputs as stamped: for each file its key, size and the first and last
/// 64 KiB of what the import reads. Cheap on any size, and it changes when a file is
/// replaced or truncated (what is appended after the stamp is not part of the input).
pub(crate) fn fingerprint(files: &[InputFile]) -> Result<String, LoadError> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; FINGERPRINT_SPAN as usize];
    for file in files {
        let mut f = File::open(&file.path).map_err(|err| file.read_error(&err))?;
        let size = file.stamp.len;
        let head_len = size.min(FINGERPRINT_SPAN) as usize;
        hasher.update(file.key.as_bytes());
        hasher.update([0]);
        hasher.update(size.to_le_bytes());
        let head = read_up_to(&mut f, &mut buf[..head_len]).map_err(|err| file.read_error(&err))?;
        hasher.update(&buf[..head]);
        if size > FINGERPRINT_SPAN {
            f.seek(SeekFrom::Start(size - FINGERPRINT_SPAN))
                .map_err(|err| file.read_error(&err))?;
            let tail = read_up_to(&mut f, &mut buf).map_err(|err| file.read_error(&err))?;
            hasher.update(&buf[..tail]);
        }
    }
    Ok(hex(&hasher.finalize()))
}

fn read_up_to(f: &mut File, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match f.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) => return Err(err),
        }
    }
    Ok(filled)
}

/// Lower-case hex of a digest.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
