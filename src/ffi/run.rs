//! Run control and the thread queries: stop, continue, wait_stop, event_fd, step, threads,
//! thread_state, stop_cause. The library is all-stop: every thread runs, or every thread is
//! stopped.

use super::args;
use super::error::Failure;
use super::panic::boundary;
use super::process::PROCESSES;
use super::types::{ptrace_dbg_cause, ptrace_dbg_process};
use crate::engine;
use std::ffi::c_int;
use std::time::Duration;

/// Stops every thread of the process; returns when all are stopped (threads already stopped
/// stay as they are, with their causes). Afterwards `ptrace_dbg_wait_stop` returns at once,
/// with trigger 0 if no thread's own event came first.
///
/// Returns `PTRACE_DBG_OK`, `PTRACE_DBG_E_INVALID_HANDLE`, `PTRACE_DBG_E_EXITED`,
/// `PTRACE_DBG_E_BAD_STATE` (detached), `PTRACE_DBG_E_TIMEOUT` (a thread did not stop within
/// 30 s, e.g. in uninterruptible sleep). Callable running or stopped, from any thread. A stop
/// that meets another thread's detach or kill returns `PTRACE_DBG_E_BAD_STATE` or
/// `PTRACE_DBG_E_EXITED` once that call is done.
#[no_mangle]
pub extern "C" fn ptrace_dbg_stop(p: *mut ptrace_dbg_process) -> c_int {
    boundary(|| Ok(PROCESSES.get(p)?.stop()?))
}

/// Resumes every thread. A thread stopped at a breakpoint is first stepped over it (the
/// breakpoint stays set); a thread stopped by a signal other than the library's own
/// SIGSTOP/SIGTRAP gets that signal delivered; a thread in its exit stop goes on exiting.
/// Returns without waiting for anything: use `ptrace_dbg_wait_stop` for the next stop.
///
/// Returns `PTRACE_DBG_OK`, `PTRACE_DBG_E_INVALID_HANDLE`, `PTRACE_DBG_E_BAD_STATE` (running
/// already, or detached), `PTRACE_DBG_E_EXITED`. Callable from any thread while stopped.
#[no_mangle]
pub extern "C" fn ptrace_dbg_continue(p: *mut ptrace_dbg_process) -> c_int {
    boundary(|| Ok(PROCESSES.get(p)?.cont()?))
}

/// Waits until every thread is stopped because some thread hit a breakpoint, got a signal,
/// created a thread, exited or exec'd (or because `ptrace_dbg_stop` stopped it). Returns at once
/// if the process is stopped already.
///
/// `timeout_ms`: -1 waits forever, 0 only polls, a positive value waits up to that many
/// milliseconds. `*trigger_tid` (`trigger_tid` may be NULL) gets the thread whose event stopped
/// the process, 0 when it was stopped on request; `ptrace_dbg_stop_cause` tells what happened.
///
/// Returns `PTRACE_DBG_OK`; `PTRACE_DBG_E_TIMEOUT` (still running); `PTRACE_DBG_E_EXITED` once
/// no thread is left (then see `ptrace_dbg_exit_status`); `PTRACE_DBG_E_BAD_STATE` (detached);
/// `PTRACE_DBG_E_INVALID_ARGUMENT` (`timeout_ms` below -1); `PTRACE_DBG_E_INVALID_HANDLE`;
/// `PTRACE_DBG_E_INTERNAL` if the library's monitor thread for the process failed (a wait is
/// then not left to run out). Callable running or stopped, from any thread, by several at
/// once (all of them wake).
/// While another thread detaches, kills or frees the process, a wait returns what that call
/// left (`PTRACE_DBG_E_BAD_STATE` or `PTRACE_DBG_E_EXITED`), never `PTRACE_DBG_OK` for the
/// stop a detach makes on its way out; a wait whose time runs out first gets
/// `PTRACE_DBG_E_TIMEOUT`.
///
/// # Safety
/// `trigger_tid` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn ptrace_dbg_wait_stop(
    p: *mut ptrace_dbg_process,
    timeout_ms: i32,
    trigger_tid: *mut i32,
) -> c_int {
    boundary(|| {
        let process = PROCESSES.get(p)?;
        let timeout = match timeout_ms {
            -1 => None,
            ms if ms >= 0 => Some(Duration::from_millis(ms as u64)),
            ms => {
                return Err(Failure::invalid_argument(format!(
                    "argument `timeout_ms` is {ms}; it must be -1 (forever) or >= 0"
                )))
            }
        };
        // SAFETY: the caller promises `trigger_tid` is NULL or writable.
        let out = unsafe { args::optional_out(trigger_tid) };
        let trigger = process.wait_stop(timeout)?;
        if let Some(out) = out {
            out.write(trigger);
        }
        Ok(())
    })
}

/// A file descriptor that polls readable (POLLIN) exactly while `ptrace_dbg_wait_stop` would
/// return without blocking: the process is stopped, has exited or was detached. For poll,
/// epoll, asyncio or libuv users: wait for readability, then call `ptrace_dbg_wait_stop(p, 0,
/// ...)`. It is also readable while tracepoint or system-call records wait to be read
/// (`ptrace_dbg_read_records`; then `wait_stop(p, 0, ...)` may return
/// `PTRACE_DBG_E_TIMEOUT`: read the records first). When the host process may use only one
/// CPU, a new record makes it readable once the monitor thread has handled the events at hand
/// (at most 64), not at once: the reader then takes records in batches instead of preempting
/// the monitor at every hit; with more CPUs, at once. Never read from it, write to it or close
/// it: it belongs to the library and is closed by `ptrace_dbg_process_free`. It is
/// close-on-exec.
///
/// Returns `PTRACE_DBG_OK`, `PTRACE_DBG_E_INVALID_HANDLE`, `PTRACE_DBG_E_INVALID_ARGUMENT`
/// (NULL `fd`). Callable any time from any thread; the same descriptor every time.
///
/// # Safety
/// `fd` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn ptrace_dbg_event_fd(p: *mut ptrace_dbg_process, fd: *mut i32) -> c_int {
    boundary(|| {
        let process = PROCESSES.get(p)?;
        // SAFETY: the caller promises `fd` is NULL or writable.
        let out = unsafe { args::out(fd, "fd") }?;
        out.write(process.event_fd());
        Ok(())
    })
}

/// Executes one instruction of stopped thread `tid`; every other thread stays stopped. A
/// breakpoint under its PC is stepped over (and stays set). Returns when the step is done; the
/// thread is then stopped with cause `PTRACE_DBG_CAUSE_STOPPED`, or with the cause of whatever
/// ended the step first (a signal arriving meanwhile is reported, not lost). A thread whose
/// program set its own trap flag (TF) gets its own SIGTRAP from that instruction too: the step
/// ends with cause `PTRACE_DBG_CAUSE_SIGNAL` (SIGTRAP), delivered at the next resume, as an
/// untraced run delivers it (so does a continue's step over a breakpoint under such a thread).
///
/// A thread stopped inside a blocking system call, or on a `syscall` instruction, re-enters
/// the call when stepped, and the step ends only when the call returns: this function gives up
/// after 30 s with `PTRACE_DBG_E_TIMEOUT`, leaving the process running (that thread stepping);
/// `ptrace_dbg_stop` from any thread ends the step earlier (then `PTRACE_DBG_OK`), and so do
/// `ptrace_dbg_detach`, `_kill` and `_process_free` (then `PTRACE_DBG_E_BAD_STATE` or
/// `PTRACE_DBG_E_EXITED`).
///
/// Returns `PTRACE_DBG_OK`, `PTRACE_DBG_E_INVALID_HANDLE`, `PTRACE_DBG_E_NO_SUCH_THREAD`,
/// `PTRACE_DBG_E_BAD_STATE` (the process runs, or is detached, or the thread is in its exit
/// stop, `PTRACE_DBG_STATE_STOPPED_EXITING`: it runs no more user code), `PTRACE_DBG_E_EXITED`
/// (also when the step ended the process), `PTRACE_DBG_E_TIMEOUT`. Callable from any thread
/// while stopped.
#[no_mangle]
pub extern "C" fn ptrace_dbg_step(p: *mut ptrace_dbg_process, tid: i32) -> c_int {
    boundary(|| Ok(PROCESSES.get(p)?.step(tid)?))
}

/// The live threads of the process: main thread first while it lives, zombie and exited
/// threads left out. `*count` is always set (on success and on `PTRACE_DBG_E_BUFFER_TOO_SMALL`)
/// to the number of threads; up to `cap` tids are written to `tids`. Call with `cap` 0 and
/// `tids` NULL to learn the size. Threads come and go while the process runs; the list is
/// exact while it is stopped.
///
/// Returns `PTRACE_DBG_OK`; `PTRACE_DBG_E_BUFFER_TOO_SMALL` when `cap` < `*count` (nothing is
/// written to `tids` then); `PTRACE_DBG_E_INVALID_ARGUMENT` (NULL `count`, or NULL `tids` with
/// `cap` > 0); `PTRACE_DBG_E_EXITED`; `PTRACE_DBG_E_BAD_STATE` (detached);
/// `PTRACE_DBG_E_INVALID_HANDLE`. Callable running or stopped, from any thread; never waits for
/// the process.
///
/// # Safety
/// `tids` must be NULL or writable for `cap` elements; `count` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn ptrace_dbg_threads(
    p: *mut ptrace_dbg_process,
    tids: *mut i32,
    cap: usize,
    count: *mut usize,
) -> c_int {
    boundary(|| {
        let process = PROCESSES.get(p)?;
        // SAFETY: the caller promises `count` is NULL or writable.
        let count = unsafe { args::out(count, "count") }?;
        // SAFETY: the caller promises `tids` is NULL or writable for `cap` elements.
        let tids = unsafe { args::slice_mut(tids, cap, "tids") }?;
        let threads = process.threads()?;
        count.write(threads.len());
        if threads.len() > cap {
            return Err(Failure::new(
                super::codes::PTRACE_DBG_E_BUFFER_TOO_SMALL,
                format!(
                    "the process has {} thread{}; `cap` is {cap}",
                    threads.len(),
                    if threads.len() == 1 { "" } else { "s" }
                ),
            ));
        }
        tids[..threads.len()].copy_from_slice(&threads);
        Ok(())
    })
}

/// The state of thread `tid`, one of `PTRACE_DBG_STATE_*`.
///
/// Returns `PTRACE_DBG_OK`, `PTRACE_DBG_E_NO_SUCH_THREAD`, `PTRACE_DBG_E_EXITED`,
/// `PTRACE_DBG_E_BAD_STATE` (detached), `PTRACE_DBG_E_INVALID_ARGUMENT` (NULL `state`),
/// `PTRACE_DBG_E_INVALID_HANDLE`. Callable running or stopped, from any thread; never waits.
///
/// # Safety
/// `state` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn ptrace_dbg_thread_state(
    p: *mut ptrace_dbg_process,
    tid: i32,
    state: *mut i32,
) -> c_int {
    boundary(|| {
        let process = PROCESSES.get(p)?;
        // SAFETY: the caller promises `state` is NULL or writable.
        let out = unsafe { args::out(state, "state") }?;
        out.write(process.thread_state(tid)? as i32);
        Ok(())
    })
}

/// Why stopped thread `tid` is stopped: `out->kind` is one of `PTRACE_DBG_CAUSE_*`, with the
/// fields of that kind set and the others 0 (see `ptrace_dbg_cause`).
///
/// Returns `PTRACE_DBG_OK`, `PTRACE_DBG_E_BAD_STATE` (the thread is not stopped, or the process
/// was detached), `PTRACE_DBG_E_NO_SUCH_THREAD`, `PTRACE_DBG_E_EXITED`,
/// `PTRACE_DBG_E_INVALID_ARGUMENT` (NULL `out`), `PTRACE_DBG_E_INVALID_HANDLE`. Callable from
/// any thread while the thread is stopped; never waits.
///
/// # Safety
/// `out` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn ptrace_dbg_stop_cause(
    p: *mut ptrace_dbg_process,
    tid: i32,
    out: *mut ptrace_dbg_cause,
) -> c_int {
    boundary(|| {
        let process = PROCESSES.get(p)?;
        // SAFETY: the caller promises `out` is NULL or writable.
        let out = unsafe { args::out(out, "out") }?;
        out.write(cause_to_c(process.stop_cause(tid)?));
        Ok(())
    })
}

/// The C form of an engine cause (the kinds' values are the `PTRACE_DBG_CAUSE_*` constants).
fn cause_to_c(cause: engine::Cause) -> ptrace_dbg_cause {
    ptrace_dbg_cause {
        kind: cause.kind as i32,
        signal: cause.signal,
        new_tid: cause.new_tid,
        exit_status: cause.exit_status,
        pc: cause.pc,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{Cause, CauseKind, ThreadState};
    use crate::ffi::types::*;

    #[test]
    fn engine_states_and_causes_have_the_c_values() {
        let states = [
            (ThreadState::Running, PTRACE_DBG_STATE_RUNNING),
            (ThreadState::SingleStepping, PTRACE_DBG_STATE_SINGLE_STEPPING),
            (ThreadState::Stopping, PTRACE_DBG_STATE_STOPPING),
            (ThreadState::Stopped, PTRACE_DBG_STATE_STOPPED),
            (ThreadState::StoppedBreakpoint, PTRACE_DBG_STATE_STOPPED_BREAKPOINT),
            (ThreadState::StoppedSignal, PTRACE_DBG_STATE_STOPPED_SIGNAL),
            (ThreadState::StoppedThreadCreate, PTRACE_DBG_STATE_STOPPED_THREAD_CREATE),
            (ThreadState::StoppedExiting, PTRACE_DBG_STATE_STOPPED_EXITING),
            (ThreadState::Exiting, PTRACE_DBG_STATE_EXITING),
            (ThreadState::Exited, PTRACE_DBG_STATE_EXITED),
            (ThreadState::Detached, PTRACE_DBG_STATE_DETACHED),
        ];
        for (state, c) in states {
            assert_eq!(state as i32, c, "{state:?}");
        }
        let kinds = [
            (CauseKind::Stopped, PTRACE_DBG_CAUSE_STOPPED),
            (CauseKind::Breakpoint, PTRACE_DBG_CAUSE_BREAKPOINT),
            (CauseKind::Signal, PTRACE_DBG_CAUSE_SIGNAL),
            (CauseKind::ThreadCreate, PTRACE_DBG_CAUSE_THREAD_CREATE),
            (CauseKind::ThreadExit, PTRACE_DBG_CAUSE_THREAD_EXIT),
            (CauseKind::Exec, PTRACE_DBG_CAUSE_EXEC),
            (CauseKind::Watchpoint, PTRACE_DBG_CAUSE_WATCHPOINT),
            (CauseKind::Library, PTRACE_DBG_CAUSE_LIBRARY),
        ];
        for (kind, c) in kinds {
            assert_eq!(cause_to_c(Cause::of(kind)).kind, c, "{kind:?}");
        }
        let c = cause_to_c(Cause::breakpoint(0x401000));
        assert_eq!((c.kind, c.pc, c.signal), (PTRACE_DBG_CAUSE_BREAKPOINT, 0x401000, 0));
        let c = cause_to_c(Cause::watchpoint(3, 0x601008));
        assert_eq!((c.kind, c.pc), (PTRACE_DBG_CAUSE_WATCHPOINT, 0x601008));
    }
}
