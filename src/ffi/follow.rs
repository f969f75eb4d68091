//! Following the program into its children: `ptrace_dbg_take_child` (the flag,
//! `PTRACE_DBG_FOLLOW_FORK` of `ptrace_dbg_set_follow`, is in `symbols`).

use super::args;
use super::panic::boundary;
use super::process::{register, PROCESSES};
use super::types::ptrace_dbg_process;
use std::ffi::c_int;

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
