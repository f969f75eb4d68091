//! The process handle type, thread states and stop causes shared by the process functions.

use std::ffi::c_int;

/// An opaque handle to a traced process, returned by `ptrace_dbg_attach` or
/// `ptrace_dbg_launch` and released with `ptrace_dbg_process_free`.
///
/// It is not a pointer to memory: never dereference it. Any function given a NULL, freed or
/// made-up handle returns `PTRACE_DBG_E_INVALID_HANDLE`.
pub struct ptrace_dbg_process {
    _opaque: [u8; 0],
}

/// Thread state: running.
pub const PTRACE_DBG_STATE_RUNNING: c_int = 0;
/// Thread state: executing one instruction for `ptrace_dbg_step` or a step over a breakpoint.
pub const PTRACE_DBG_STATE_SINGLE_STEPPING: c_int = 1;
/// Thread state: asked to stop, the stop not yet reported.
pub const PTRACE_DBG_STATE_STOPPING: c_int = 2;
/// Thread state: stopped by the library (stop-all, attach, after a step).
pub const PTRACE_DBG_STATE_STOPPED: c_int = 3;
/// Thread state: stopped at a breakpoint.
pub const PTRACE_DBG_STATE_STOPPED_BREAKPOINT: c_int = 4;
/// Thread state: stopped by a signal, which `ptrace_dbg_continue` delivers.
pub const PTRACE_DBG_STATE_STOPPED_SIGNAL: c_int = 5;
/// Thread state: stopped after creating a thread.
pub const PTRACE_DBG_STATE_STOPPED_THREAD_CREATE: c_int = 6;
/// Thread state: stopped on its way out (its registers and memory are still readable).
pub const PTRACE_DBG_STATE_STOPPED_EXITING: c_int = 7;
/// Thread state: exiting, not yet reaped.
pub const PTRACE_DBG_STATE_EXITING: c_int = 8;
/// Thread state: gone.
pub const PTRACE_DBG_STATE_EXITED: c_int = 9;
/// Thread state: no longer traced.
pub const PTRACE_DBG_STATE_DETACHED: c_int = 10;

/// Stop cause: stopped by the library (stop-all, attach, launch, a step).
pub const PTRACE_DBG_CAUSE_STOPPED: c_int = 0;
/// Stop cause: hit a breakpoint; `pc` is its address.
pub const PTRACE_DBG_CAUSE_BREAKPOINT: c_int = 1;
/// Stop cause: got a signal; `signal` is the pending signal.
pub const PTRACE_DBG_CAUSE_SIGNAL: c_int = 2;
/// Stop cause: created a thread; `new_tid` is the new thread.
pub const PTRACE_DBG_CAUSE_THREAD_CREATE: c_int = 3;
/// Stop cause: exiting; `exit_status` (or -1) and `signal` (the terminating signal, or 0).
pub const PTRACE_DBG_CAUSE_THREAD_EXIT: c_int = 4;
/// Stop cause: called exec; the process now runs the new program.
pub const PTRACE_DBG_CAUSE_EXEC: c_int = 5;
/// Stop cause: tripped a hardware watchpoint; `pc` is the watchpoint's address and
/// `ptrace_dbg_watchpoint_hit` gives its id. Only ever reported to a caller that set a
/// watchpoint with `ptrace_dbg_add_watchpoint`, so a program that knows only the kinds above
/// never sees it. The thread's state is `PTRACE_DBG_STATE_STOPPED_BREAKPOINT`.
pub const PTRACE_DBG_CAUSE_WATCHPOINT: c_int = 6;
/// Stop cause: the dynamic loader's list of objects changed (see `ptrace_dbg_libraries`);
/// reported only after `ptrace_dbg_set_follow` with `PTRACE_DBG_FOLLOW_LIBRARIES`.
pub const PTRACE_DBG_CAUSE_LIBRARY: c_int = 9;
/// Stop cause: created a process (fork, vfork, clone without CLONE_THREAD); `new_tid` is its
/// pid. Reported only after `ptrace_dbg_set_follow` with `PTRACE_DBG_FOLLOW_FORK`; take the
/// child with `ptrace_dbg_take_child`.
pub const PTRACE_DBG_CAUSE_FORK: c_int = 10;

/// Why a stopped thread is stopped, as `ptrace_dbg_stop_cause` reports it. Fields that do not
/// apply to `kind` are 0.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ptrace_dbg_cause {
    /// One of `PTRACE_DBG_CAUSE_*`.
    pub kind: i32,
    /// `SIGNAL`: the pending signal; `THREAD_EXIT`: the terminating signal or 0.
    pub signal: i32,
    /// `THREAD_CREATE`: the new thread's id; `FORK`: the new process's pid.
    pub new_tid: i32,
    /// `THREAD_EXIT`: the exit status, or -1 when killed by a signal.
    pub exit_status: i32,
    /// `BREAKPOINT`: the breakpoint's address. `WATCHPOINT`: the watchpoint's address (not
    /// the thread's PC: x86 does not say which byte was accessed).
    pub pc: u64,
}
