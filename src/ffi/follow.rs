//! Following the program into its children: `ptrace_dbg_set_follow`, `ptrace_dbg_take_child`.

use super::args;
use super::panic::boundary;
use super::process::{register, PROCESSES};
use super::types::ptrace_dbg_process;
use std::ffi::c_int;

/// `ptrace_dbg_set_follow` flag: follow fork, vfork and clone without CLONE_THREAD. Each new
/// process stops its parent with cause `PTRACE_DBG_CAUSE_FORK` (`cause.new_tid` = the child's
/// pid) until `ptrace_dbg_take_child` takes it or the parent is continued (which lets it go).
pub const PTRACE_DBG_FOLLOW_FORK: u32 = 1;

/// The `ptrace_dbg_set_follow` flags this build knows. (Bit value 2 is reserved for
/// `PTRACE_DBG_FOLLOW_LIBRARIES`, issue 16.)
const FOLLOW_KNOWN: u32 = PTRACE_DBG_FOLLOW_FORK;

/// What the library follows besides the process's own threads; replaces the previous flags.
/// With `PTRACE_DBG_FOLLOW_FORK`, every process the program creates (fork, vfork, posix_spawn,
/// system, clone without CLONE_THREAD) stops the creating thread with cause
/// `PTRACE_DBG_CAUSE_FORK` (the whole process stops, as for any event), `cause.new_tid` being
/// the child's pid; take it with `ptrace_dbg_take_child` during that stop. Without the flag
/// (the default) no such cause is ever reported: children run untraced, our breakpoint bytes
/// taken out of their memory. Children taken from this process inherit its flags.
///
/// Returns `PTRACE_DBG_OK`; `PTRACE_DBG_E_INVALID_ARGUMENT` (an unknown bit in `flags`);
/// `PTRACE_DBG_E_INVALID_HANDLE`; `PTRACE_DBG_E_BAD_STATE` (running or detached);
/// `PTRACE_DBG_E_EXITED`. Callable from any thread while the process is stopped.
#[no_mangle]
pub extern "C" fn ptrace_dbg_set_follow(p: *mut ptrace_dbg_process, flags: u32) -> c_int {
    boundary(|| {
        let process = PROCESSES.get(p)?;
        let flags = args::flags(flags, FOLLOW_KNOWN, "flags")?;
        Ok(process.set_follow(flags)?)
    })
}

/// Takes the child `pid` that the stopped process created (a thread of it stopped with cause
/// `PTRACE_DBG_CAUSE_FORK`, `cause.new_tid` = `pid`) as a traced process of its own. `*out`
/// receives its handle, which works like any other (all-stop of its own threads, continue,
/// wait_stop, event fd, breakpoints, detach, kill, free; it may follow its own children). It
/// returns stopped at its first instruction after the fork (cause `PTRACE_DBG_CAUSE_STOPPED`).
///
/// What carries over: after a fork (or clone) every breakpoint of the parent (set in the
/// child's copy of the memory); after a vfork none (the child runs in the parent's memory,
/// from which the parent's breakpoints are taken out until the child execs or exits; the
/// parent itself stays blocked in vfork until then, so continue the child); the follow flags;
/// and what freeing does: the child of a launched process is killed when freed (and dies with
/// the host, PTRACE_O_EXITKILL being inherited), the child of an attached one is detached.
/// An exec by the child reports `PTRACE_DBG_CAUSE_EXEC` on the child's handle, its breakpoints
/// gone with the old program.
///
/// A child not taken when its parent next runs (continue, step, detach, kill, exit) is let go
/// as without the flag: our breakpoint bytes are taken out of its memory and it runs on
/// untraced. Every child of the family is served by the parent's one monitor thread.
///
/// Returns `PTRACE_DBG_OK`; `PTRACE_DBG_E_INVALID_ARGUMENT` (NULL `out`, or `pid` is not a
/// child offered at this stop: never offered, taken already, or it died before being taken);
/// `PTRACE_DBG_E_INVALID_HANDLE`; `PTRACE_DBG_E_BAD_STATE` (the parent is running or
/// detached); `PTRACE_DBG_E_EXITED`; `PTRACE_DBG_E_TIMEOUT` (the child never made its first
/// stop). Callable from any thread while the parent is stopped.
///
/// # Safety
/// `out` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn ptrace_dbg_take_child(
    p: *mut ptrace_dbg_process,
    pid: i32,
    out: *mut *mut ptrace_dbg_process,
) -> c_int {
    boundary(|| {
        let process = PROCESSES.get(p)?;
        // SAFETY: the caller promises `out` is NULL or writable.
        let out = unsafe { args::out(out, "out") }?;
        register(process.take_child(pid)?, out)
    })
}
