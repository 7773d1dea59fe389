//! Files and directories only their owner can read: everything the server keeps in its
//! temp dir (logs, cube configs holding the database password, served files) is created
//! through here, whatever the umask of the process.

use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::Path;

/// Mode of every directory created here.
pub(crate) const DIR_MODE: u32 = 0o700;
/// Mode of every file created here.
pub(crate) const FILE_MODE: u32 = 0o600;

/// Creates `dir` and any missing parents, each new one at [`DIR_MODE`].
pub(crate) fn create_dir_all(dir: &Path) -> io::Result<()> {
    DirBuilder::new().recursive(true).mode(DIR_MODE).create(dir)
}

/// Creates (or truncates) `path` at [`FILE_MODE`] and writes `contents`. A file that
/// existed keeps its mode, so it is set again.
pub(crate) fn write(path: &Path, contents: impl AsRef<[u8]>) -> io::Result<()> {
    let mut file = create(path)?;
    file.write_all(contents.as_ref())
}

/// Creates (or truncates) `path` at [`FILE_MODE`], for writing.
pub(crate) fn create(path: &Path) -> io::Result<File> {
    let file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(FILE_MODE)
        .open(path)?;
    restrict(&file)?;
    Ok(file)
}

/// Opens `path` for appending, creating it at [`FILE_MODE`].
pub(crate) fn append(path: &Path) -> io::Result<File> {
    let file = OpenOptions::new()
        .append(true)
        .create(true)
        .mode(FILE_MODE)
        .open(path)?;
    restrict(&file)?;
    Ok(file)
}

/// `mode` applies only when the file is new; one left from before is narrowed here.
fn restrict(file: &File) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    if file.metadata()?.permissions().mode() & 0o777 != FILE_MODE {
        file.set_permissions(fs::Permissions::from_mode(FILE_MODE))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).expect("metadata").permissions().mode() & 0o777
    }

    #[test]
    fn everything_created_is_the_owners_only() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let nested = tmp.path().join("a/b");
        create_dir_all(&nested).expect("dirs");
        assert_eq!(mode(&tmp.path().join("a")), DIR_MODE);
        assert_eq!(mode(&nested), DIR_MODE);

        let old = tmp.path().join("old.log");
        fs::write(&old, "x").expect("write");
        fs::set_permissions(&old, fs::Permissions::from_mode(0o644)).expect("chmod");
        append(&old).expect("append");
        assert_eq!(mode(&old), FILE_MODE, "a file left from before is narrowed");

        let new = nested.join("config.json");
        write(&new, "{}").expect("write");
        assert_eq!(mode(&new), FILE_MODE);
        assert_eq!(fs::read_to_string(&new).expect("read"), "{}");
    }
}
