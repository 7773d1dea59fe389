//! Input files: naming, opening, spooling standard input, and fingerprinting (so that a
//! checkpoint is only applied to the input it was written for).

use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

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
}

/// The size of the buffered readers (large reads keep system calls few on big inputs).
pub(crate) const READ_BUFFER: usize = 256 * 1024;

impl InputFile {
    pub(crate) fn from_path(path: &Path, key: String) -> Self {
        Self {
            display: Arc::from(path.display().to_string()),
            path: path.to_path_buf(),
            key,
        }
    }

    pub(crate) fn open(&self) -> Result<BufReader<File>, LoadError> {
        let file = File::open(&self.path).map_err(|err| self.read_error(&err))?;
        Ok(BufReader::with_capacity(READ_BUFFER, file))
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

/// Checks that a file given on the command line exists and is a file.
pub(crate) fn check_file(path: &Path) -> Result<(), LoadError> {
    let meta = std::fs::metadata(path).map_err(|err| LoadError::Read {
        path: path.to_path_buf(),
        reason: describe_io(&err),
    })?;
    if meta.is_dir() {
        return Err(LoadError::Read {
            path: path.to_path_buf(),
            reason: "is a directory; name the files in it or import the folder as \
                     documents instead"
                .to_owned(),
        });
    }
    Ok(())
}

/// Copies standard input to a temporary file, which lives as long as the returned handle.
pub(crate) fn spool_stdin() -> Result<tempfile::NamedTempFile, LoadError> {
    let fail = |err: io::Error| LoadError::Read {
        path: PathBuf::from("<stdin>"),
        reason: format!(
            "copying standard input to a temporary file: {}",
            describe_io(&err)
        ),
    };
    let mut spool = tempfile::Builder::new()
        .prefix("memos-load-stdin-")
        .tempfile()
        .map_err(fail)?;
    let stdin = io::stdin();
    let mut lock = stdin.lock();
    io::copy(&mut lock, spool.as_file_mut()).map_err(fail)?;
    spool.as_file_mut().flush().map_err(fail)?;
    Ok(spool)
}

/// How many bytes of each end of a file the fingerprint covers.
const FINGERPRINT_SPAN: u64 = 64 * 1024;

/// A digest of the inputs: for each file its key, size and first and last 64 KiB. Cheap on
/// any size, and it changes when a file is replaced, truncated or appended to.
pub(crate) fn fingerprint(files: &[InputFile]) -> Result<String, LoadError> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; FINGERPRINT_SPAN as usize];
    for file in files {
        let mut f = File::open(&file.path).map_err(|err| file.read_error(&err))?;
        let size = f.metadata().map_err(|err| file.read_error(&err))?.len();
        hasher.update(file.key.as_bytes());
        hasher.update([0]);
        hasher.update(size.to_le_bytes());
        let head = read_up_to(&mut f, &mut buf).map_err(|err| file.read_error(&err))?;
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
