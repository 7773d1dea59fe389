//! Temp dirs that outlive their process.
//!
//! Each server's temp dir records its owner (pid and, on Linux, the process start
//! time, so a recycled pid is not mistaken for the owner). A process killed with
//! `kill -9` cannot remove its dir, so every start sweeps dirs whose owner is gone.

use std::fs;
use std::path::Path;

use tempfile::TempDir;

use crate::error::Error;

const PREFIX: &str = "memos-refserver-";
const OWNER_FILE: &str = "owner";

/// Creates `$TMPDIR/memos-refserver-XXXX` and records this process as its owner.
pub(crate) fn create_temp_dir() -> Result<TempDir, Error> {
    let dir = tempfile::Builder::new()
        .prefix(PREFIX)
        .tempdir()
        .map_err(|e| Error::io("creating the server's temp dir", std::env::temp_dir(), e))?;
    let owner = dir.path().join(OWNER_FILE);
    crate::private::write(&owner, owner_id(std::process::id()).unwrap_or_default())
        .map_err(|e| Error::io("writing the temp dir's owner file", &owner, e))?;
    Ok(dir)
}

/// `"<pid> <start time>"` of a live process, `None` if it does not exist.
fn owner_id(pid: u32) -> Option<String> {
    if cfg!(target_os = "linux") {
        let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        // Field 22 is the start time; fields after the `(comm)` part start at 3.
        let after_comm = stat.rsplit_once(')')?.1;
        let start = after_comm.split_whitespace().nth(19)?;
        Some(format!("{pid} {start}"))
    } else {
        Some(pid.to_string())
    }
}

/// Removes temp dirs whose owner process is gone. Best effort, never fails.
pub(crate) fn sweep() {
    // Only Linux can tell a live owner from a recycled pid; elsewhere keep everything.
    if !cfg!(target_os = "linux") {
        return;
    }
    let Ok(entries) = fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        if !name.to_string_lossy().starts_with(PREFIX) {
            continue;
        }
        let path = entry.path();
        if owner_is_gone(&path) {
            let _ = fs::remove_dir_all(&path);
        }
    }
}

fn owner_is_gone(dir: &Path) -> bool {
    // No owner file yet: the dir may be being created right now; leave it.
    let Ok(recorded) = fs::read_to_string(dir.join(OWNER_FILE)) else {
        return false;
    };
    let Some(pid) = recorded
        .split_whitespace()
        .next()
        .and_then(|p| p.parse::<u32>().ok())
    else {
        return false;
    };
    match owner_id(pid) {
        None => true,
        Some(current) => current != recorded.trim(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_dir_is_not_stale_and_dead_owner_is() {
        let dir = create_temp_dir().expect("temp dir");
        assert!(!owner_is_gone(dir.path()));
        // A pid above the kernel's maximum cannot exist.
        fs::write(dir.path().join(OWNER_FILE), "4194305 1").expect("write");
        if cfg!(target_os = "linux") {
            assert!(owner_is_gone(dir.path()));
        }
    }
}
