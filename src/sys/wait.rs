//! waitpid, decoded. Written over libc rather than nix's `WaitStatus` because nix refuses
//! statuses that carry real-time signals, which traced programs do receive.

use nix::errno::Errno;

/// What `waitpid` said about one thread or child.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Exited with this code.
    Exited(i32),
    /// Killed by this signal.
    Signaled(i32),
    /// Stopped: `sig` is WSTOPSIG, `event` is `status >> 16` (0 for a plain signal stop).
    Stopped { sig: i32, event: i32 },
    /// Continued (WCONTINUED only; the engine does not ask for it).
    Continued,
}

impl Status {
    /// Decodes a raw wait status.
    pub fn from_raw(st: i32) -> Status {
        if libc::WIFEXITED(st) {
            Status::Exited(libc::WEXITSTATUS(st))
        } else if libc::WIFSIGNALED(st) {
            Status::Signaled(libc::WTERMSIG(st))
        } else if libc::WIFSTOPPED(st) {
            Status::Stopped { sig: libc::WSTOPSIG(st), event: (st >> 16) & 0xffff }
        } else {
            Status::Continued
        }
    }
}

/// Flags for the engine's waits: every thread (`__WALL`), only this thread's own children and
/// tracees (`__WNOTHREAD`, so the host's children are never reaped), and stops of untraced
/// children (`WUNTRACED`, for the monitor's doorbell child).
pub const WAIT_FLAGS: i32 = libc::__WALL | libc::__WNOTHREAD | libc::WUNTRACED;

/// `waitpid(pid, flags)`. `Ok(None)` when WNOHANG found nothing. EINTR is retried.
pub fn waitpid(pid: i32, flags: i32) -> Result<Option<(i32, Status)>, Errno> {
    loop {
        let mut st: libc::c_int = 0;
        // SAFETY: `st` is a valid out-pointer for the duration of the call.
        let r = unsafe { libc::waitpid(pid, &mut st, flags) };
        if r == -1 {
            let e = Errno::last();
            if e == Errno::EINTR {
                continue;
            }
            return Err(e);
        }
        if r == 0 {
            return Ok(None);
        }
        return Ok(Some((r, Status::from_raw(st))));
    }
}
