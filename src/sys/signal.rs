//! Sending signals. To one thread always `tgkill` (plain `kill` may pick any thread).

use nix::errno::Errno;

fn check(r: libc::c_long) -> Result<(), Errno> {
    if r == -1 {
        Err(Errno::last())
    } else {
        Ok(())
    }
}

/// `tgkill(pid, tid, sig)`.
pub fn tgkill(pid: i32, tid: i32, sig: i32) -> Result<(), Errno> {
    // SAFETY: tgkill takes three integers and touches no memory of ours.
    check(unsafe { libc::syscall(libc::SYS_tgkill, pid, tid, sig) })
}

/// Whether task `tid` is a thread of process `tgid`, by the kernel's own check and in one
/// system call (where `/proc/TID/status` costs six): `tgkill(tgid, tid, 0)` sends nothing and
/// fails with ESRCH exactly when no task `tid` of thread group `tgid` exists; EPERM comes only
/// after that match. Some(false) is also what a task that is gone (reaped) gets; None: any
/// other failure.
pub fn is_thread_of(tgid: i32, tid: i32) -> Option<bool> {
    if tgid <= 0 || tid <= 0 {
        return None;
    }
    match tgkill(tgid, tid, 0) {
        Ok(()) | Err(Errno::EPERM) => Some(true),
        Err(Errno::ESRCH) => Some(false),
        Err(_) => None,
    }
}

/// `kill(pid, sig)`: a process-directed signal to one process. A pid of 0 or below (a whole
/// process group, or every process) is refused with EINVAL: a bug must never turn into a
/// signal to the host's own group.
pub fn kill(pid: i32, sig: i32) -> Result<(), Errno> {
    if pid <= 0 {
        return Err(Errno::EINVAL);
    }
    // SAFETY: kill takes two integers and touches no memory of ours.
    check(unsafe { libc::kill(pid, sig) } as libc::c_long)
}

/// Blocks every signal in the calling thread. Used only by the engine's own monitor thread, so
/// that the host's process-directed signals go to the host's threads, not to ours.
pub fn block_all_in_this_thread() {
    // SAFETY: `set` is initialised by sigfillset before use; a NULL old-set is allowed.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut set);
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
    }
}

/// The calling thread's id.
pub fn gettid() -> i32 {
    nix::unistd::gettid().as_raw()
}

/// This process's pid (the host's).
pub fn getpid() -> i32 {
    std::process::id() as i32
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::{Command, Stdio};
    use std::sync::mpsc;

    #[test]
    fn is_thread_of_tells_our_threads_from_another_process_and_sends_nothing() {
        let me = getpid();
        assert_eq!(is_thread_of(me, me), Some(true), "the main thread");
        assert_eq!(is_thread_of(me, gettid()), Some(true), "this thread");
        let (tid_tx, tid_rx) = mpsc::channel();
        let (done_tx, done_rx) = mpsc::channel::<()>();
        let thread = std::thread::spawn(move || {
            tid_tx.send(gettid()).unwrap();
            let _ = done_rx.recv();
        });
        let tid = tid_rx.recv().unwrap();
        assert_eq!(is_thread_of(me, tid), Some(true), "another thread of ours");
        done_tx.send(()).unwrap();
        thread.join().unwrap();

        // A process of its own (blocked reading its stdin until we close it).
        let mut child = Command::new("cat").stdin(Stdio::piped()).spawn().expect("spawn cat");
        let pid = child.id() as i32;
        assert_eq!(is_thread_of(me, pid), Some(false), "a child process is no thread of ours");
        assert_eq!(is_thread_of(pid, pid), Some(true), "its own main thread");
        assert_eq!(is_thread_of(pid, me), Some(false), "our main thread is none of its");
        assert!(child.try_wait().unwrap().is_none(), "signal 0 delivered nothing");
        drop(child.stdin.take()); // EOF: cat ends
        let status = child.wait().unwrap();
        assert!(status.success(), "cat ended by the closed stdin, not by a signal: {status:?}");

        assert_eq!(is_thread_of(me, 0), None);
        assert_eq!(is_thread_of(0, me), None);
        assert_eq!(is_thread_of(-1, me), None);
    }
}
