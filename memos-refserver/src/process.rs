//! Spawning child processes that never outlive this process.
//!
//! On Linux the child asks the kernel for `SIGKILL` when its parent dies
//! (`PR_SET_PDEATHSIG`). The kernel ties that signal to the *thread* that forked
//! the child, not to the process: a child spawned from a `#[tokio::test]` thread or
//! a tokio worker would be killed as soon as that thread ends, which breaks the
//! process-wide shared server. So every child is forked from one dedicated spawner
//! thread that lives as long as the process does.
//!
//! Each child runs with umask 077, and gets its own process group, so that a Ctrl-C in a terminal goes
//! only to our binary (which then stops the child cleanly) and so that stopping
//! kills anything the child started too.

use std::io;
use std::process::{Child, Command};
use std::sync::mpsc;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

type SpawnJob = Box<dyn FnOnce() -> io::Result<Child> + Send>;
type SpawnRequest = (SpawnJob, mpsc::Sender<io::Result<Child>>);

/// The sender side of the spawner thread's queue.
fn spawner() -> io::Result<mpsc::Sender<SpawnRequest>> {
    static SPAWNER: OnceLock<Mutex<mpsc::Sender<SpawnRequest>>> = OnceLock::new();
    if let Some(tx) = SPAWNER.get() {
        return Ok(lock(tx).clone());
    }
    let (tx, rx) = mpsc::channel::<SpawnRequest>();
    std::thread::Builder::new()
        .name("memos-refserver-spawner".into())
        .spawn(move || {
            // Runs until the process exits: the static sender is never dropped.
            for (job, reply) in rx {
                // The requester may have given up; nothing to do then.
                let _ = reply.send(job());
            }
        })?;
    // Another thread may have won the race; its sender works just as well.
    let stored = SPAWNER.get_or_init(|| Mutex::new(tx));
    Ok(lock(stored).clone())
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A poisoned lock only means another thread panicked while holding it; the
    // data (a channel sender or a child handle) is still usable.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Spawns the command built by `build` from the long-lived spawner thread, with a
/// parent-death signal (Linux) and its own process group (Unix).
pub(crate) fn spawn_guarded<F>(build: F) -> io::Result<Child>
where
    F: FnOnce() -> Command + Send + 'static,
{
    let (reply_tx, reply_rx) = mpsc::channel();
    let job: SpawnJob = Box::new(move || {
        let mut cmd = build();
        harden(&mut cmd);
        cmd.spawn()
    });
    spawner()?
        .send((job, reply_tx))
        .map_err(|_| io::Error::other("the spawner thread is gone"))?;
    reply_rx
        .recv()
        .map_err(|_| io::Error::other("the spawner thread did not answer"))?
}

#[cfg(unix)]
fn harden(cmd: &mut Command) {
    use std::os::unix::process::CommandExt;
    cmd.process_group(0);
    // What the child writes (MemOS's state and uploaded files in the temp dir) is its
    // account's only, whatever umask this process runs with.
    // SAFETY: umask is async-signal-safe and cannot fail.
    unsafe {
        cmd.pre_exec(|| {
            libc::umask(0o077);
            Ok(())
        });
    }
    #[cfg(target_os = "linux")]
    {
        let parent = std::process::id();
        // SAFETY: the closure runs between fork and exec and only calls
        // async-signal-safe functions (prctl, getppid).
        unsafe {
            cmd.pre_exec(move || {
                if libc::prctl(
                    libc::PR_SET_PDEATHSIG,
                    libc::SIGKILL as libc::c_ulong,
                    0,
                    0,
                    0,
                ) != 0
                {
                    return Err(io::Error::last_os_error());
                }
                // The parent may have died before prctl ran; then no signal will come.
                if libc::getppid() as u32 != parent {
                    return Err(io::Error::other("parent exited before the child started"));
                }
                Ok(())
            });
        }
    }
}

#[cfg(not(unix))]
fn harden(_cmd: &mut Command) {}

/// A running child that is stopped (and reaped) exactly once.
#[derive(Debug)]
pub(crate) struct GuardedChild {
    child: Mutex<Option<Child>>,
    pid: u32,
}

impl GuardedChild {
    pub(crate) fn new(child: Child) -> Self {
        let pid = child.id();
        GuardedChild {
            child: Mutex::new(Some(child)),
            pid,
        }
    }

    pub(crate) fn pid(&self) -> u32 {
        self.pid
    }

    /// `Some(description)` if the child has exited, `None` while it runs.
    pub(crate) fn exit_status(&self) -> Option<String> {
        let mut guard = lock(&self.child);
        match guard.as_mut() {
            None => Some("stopped".to_string()),
            Some(child) => match child.try_wait() {
                Ok(Some(status)) => Some(status.to_string()),
                Ok(None) => None,
                Err(e) => Some(format!("unknown ({e})")),
            },
        }
    }

    /// Asks the child's process group to stop (SIGTERM), then kills it after `grace`.
    /// Idempotent; never panics.
    pub(crate) fn stop(&self, grace: Duration) {
        let Some(mut child) = lock(&self.child).take() else {
            return;
        };
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        #[cfg(unix)]
        {
            let pgid = self.pid as libc::pid_t;
            // SAFETY: plain syscall; the group was created by `process_group(0)`.
            unsafe {
                libc::kill(-pgid, libc::SIGTERM);
            }
            let deadline = Instant::now() + grace;
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    // Also sweep anything the child left in its group.
                    unsafe {
                        libc::kill(-pgid, libc::SIGKILL);
                    }
                    return;
                }
                std::thread::sleep(Duration::from_millis(25));
            }
            unsafe {
                libc::kill(-pgid, libc::SIGKILL);
            }
        }
        #[cfg(not(unix))]
        let _ = grace;
        let _ = child.kill();
        let _ = child.wait();
    }
}

impl Drop for GuardedChild {
    fn drop(&mut self) {
        self.stop(Duration::from_secs(2));
    }
}
