//! Which directories the installer may install into or delete.
//!
//! The venv path comes from a flag or an environment variable, so it can name anything,
//! `$HOME` or `/` included. The rule: a path that does not exist, or an empty directory,
//! may be used; a directory holding this tool's ownership marker (written before anything
//! else goes into it) may be repaired or replaced; everything else is refused untouched.
//! Nothing is ever removed without the marker.

use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use crate::error::Error;

/// Written into a directory before the venv is created in it: the proof that this tool
/// made the directory and may delete it, even when the install never finished.
pub(crate) const OWNED_FILE: &str = "memos-refserver-owned";
const OWNED_TEXT: &str =
    "This directory was created by memos-refserver, which may delete and rebuild it.\n";
/// The completion marker of installers before the ownership marker existed; it was only
/// ever written by this tool, after a successful install, so it proves ownership too.
const LEGACY_MARKER_FILE: &str = "memos-refserver-requirements.txt";
const LEGACY_MARKER_HEADER: &str = "# written by memos-refserver after a successful install";

/// What the venv path currently is, as far as the installer is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum State {
    /// Nothing there, or an empty directory: free to use.
    Free,
    /// A directory this tool created (its real path, symlinks resolved).
    Owned(PathBuf),
}

/// Classifies `dir`, refusing anything the installer must not touch.
pub(crate) fn inspect(dir: &Path) -> Result<State, Error> {
    match fs::symlink_metadata(dir) {
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(State::Free),
        Err(e) => return Err(Error::io("inspecting the venv directory", dir, e)),
        Ok(_) => {}
    }
    // A symlink is judged by what it points to: a link to `$HOME` is `$HOME`.
    let real = fs::canonicalize(dir).map_err(|e| {
        not_owned(
            dir,
            format!("it cannot be resolved ({e}), e.g. a dangling symlink"),
        )
    })?;
    let meta =
        fs::metadata(&real).map_err(|e| Error::io("inspecting the venv directory", &real, e))?;
    if !meta.is_dir() {
        return Err(not_owned(dir, "it is not a directory".to_string()));
    }
    if real.parent().is_none() {
        return Err(not_owned(dir, "it is a filesystem root".to_string()));
    }
    if carries_marker(&real) {
        return Ok(State::Owned(real));
    }
    let mut entries =
        fs::read_dir(&real).map_err(|e| Error::io("listing the venv directory", &real, e))?;
    if entries.next().is_none() {
        Ok(State::Free)
    } else {
        Err(not_owned(
            dir,
            format!("it is not empty and holds no `{OWNED_FILE}` marker"),
        ))
    }
}

/// Creates `dir` if needed and marks it as this tool's, before anything is installed.
/// `dir` must have been found [`State::Free`] (under the install lock).
pub(crate) fn claim(dir: &Path) -> Result<(), Error> {
    fs::create_dir_all(dir).map_err(|e| Error::io("creating the venv directory", dir, e))?;
    let marker = dir.join(OWNED_FILE);
    fs::write(&marker, OWNED_TEXT)
        .map_err(|e| Error::io("writing the ownership marker", &marker, e))
}

/// Deletes a directory this tool created. Checks the marker again right before, so no
/// code path can remove a directory without it.
pub(crate) fn remove_owned(real: &Path) -> Result<(), Error> {
    if !carries_marker(real) {
        return Err(not_owned(
            real,
            format!("its `{OWNED_FILE}` marker disappeared"),
        ));
    }
    fs::remove_dir_all(real).map_err(|e| Error::io("removing the outdated venv", real, e))
}

/// A regular file (not a symlink planted to point elsewhere) with the marker's content.
fn carries_marker(dir: &Path) -> bool {
    let regular = |path: &Path| {
        fs::symlink_metadata(path)
            .map(|m| m.file_type().is_file())
            .unwrap_or(false)
    };
    let owned = dir.join(OWNED_FILE);
    if regular(&owned) {
        return fs::read_to_string(&owned).is_ok_and(|text| text == OWNED_TEXT);
    }
    let legacy = dir.join(LEGACY_MARKER_FILE);
    regular(&legacy)
        && fs::read_to_string(&legacy).is_ok_and(|text| text.starts_with(LEGACY_MARKER_HEADER))
}

fn not_owned(dir: &Path, reason: String) -> Error {
    Error::VenvNotOwned {
        dir: dir.to_path_buf(),
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_refused(result: Result<State, Error>) -> bool {
        matches!(result, Err(Error::VenvNotOwned { .. }))
    }

    #[test]
    fn missing_and_empty_directories_are_free() {
        let temp = tempfile::tempdir().unwrap();
        assert_eq!(inspect(&temp.path().join("new")).unwrap(), State::Free);
        assert_eq!(inspect(temp.path()).unwrap(), State::Free);
    }

    #[test]
    fn a_claimed_directory_is_owned_and_removable() {
        let temp = tempfile::tempdir().unwrap();
        let dir = temp.path().join("venv");
        claim(&dir).unwrap();
        fs::write(dir.join("half-installed"), "x").unwrap();
        let State::Owned(real) = inspect(&dir).unwrap() else {
            panic!("a claimed directory is not owned");
        };
        remove_owned(&real).unwrap();
        assert!(!dir.exists());
    }

    #[test]
    fn a_venv_of_the_old_installer_is_owned() {
        let temp = tempfile::tempdir().unwrap();
        fs::write(
            temp.path().join(LEGACY_MARKER_FILE),
            format!("{LEGACY_MARKER_HEADER}\nMemoryOS==2.0.10\n"),
        )
        .unwrap();
        assert!(matches!(inspect(temp.path()).unwrap(), State::Owned(_)));
    }

    #[test]
    fn foreign_contents_are_refused_and_kept() {
        let temp = tempfile::tempdir().unwrap();
        fs::write(temp.path().join("notes.txt"), "mine").unwrap();
        let err = inspect(temp.path()).unwrap_err();
        let text = err.to_string();
        assert!(text.contains(&temp.path().display().to_string()), "{text}");
        assert!(text.contains("not empty"), "{text}");
        // Even a direct call refuses a directory without the marker.
        assert!(matches!(
            remove_owned(temp.path()),
            Err(Error::VenvNotOwned { .. })
        ));
        assert!(temp.path().join("notes.txt").exists());
    }

    #[test]
    fn a_marker_with_other_content_proves_nothing() {
        let temp = tempfile::tempdir().unwrap();
        fs::write(temp.path().join(OWNED_FILE), "anything").unwrap();
        assert!(is_refused(inspect(temp.path())));
    }

    #[test]
    fn a_file_and_the_root_are_refused() {
        let temp = tempfile::tempdir().unwrap();
        let file = temp.path().join("file");
        fs::write(&file, "x").unwrap();
        assert!(is_refused(inspect(&file)));
        assert!(is_refused(inspect(Path::new("/"))));
    }

    #[cfg(unix)]
    #[test]
    fn a_symlink_is_judged_by_its_target() {
        let temp = tempfile::tempdir().unwrap();
        let home = temp.path().join("home");
        fs::create_dir(&home).unwrap();
        fs::write(home.join(".bashrc"), "x").unwrap();
        let link = temp.path().join("venv");
        std::os::unix::fs::symlink(&home, &link).unwrap();
        assert!(is_refused(inspect(&link)));

        // A marker that is itself a symlink to a real marker elsewhere proves nothing.
        let owned = temp.path().join("owned");
        claim(&owned).unwrap();
        std::os::unix::fs::symlink(owned.join(OWNED_FILE), home.join(OWNED_FILE)).unwrap();
        assert!(is_refused(inspect(&link)));
        assert!(home.join(".bashrc").exists());

        let dangling = temp.path().join("dangling");
        std::os::unix::fs::symlink(temp.path().join("nowhere"), &dangling).unwrap();
        assert!(is_refused(inspect(&dangling)));
    }
}
