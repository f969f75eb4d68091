//! Hardware watchpoints (x86-64 debug registers DR0-DR3): stop when memory is written or
//! accessed, or when an instruction is reached without patching the text.

use super::args;
use super::panic::boundary;
use super::process::PROCESSES;
use super::types::ptrace_dbg_process;
use crate::engine::WatchKind;
use std::ffi::c_int;

/// Watchpoint kind: execution of the instruction at the address (a hardware breakpoint, length
/// 1). No byte of the text changes, so it works where a software breakpoint's int3 would be
/// seen or would break something (code the program reads or checksums, code that is also
/// data). It fires
/// before the instruction runs: the thread's PC is the address; continue and step then execute
/// the instruction instead of hitting it again (the CPU's resume flag).
pub const PTRACE_DBG_WATCH_EXECUTE: c_int = 0;
/// Watchpoint kind: writes to the range. It fires after the writing instruction: the PC is
/// on the next instruction and memory already holds the new value (every write is reported,
/// also one that stores the value already there).
pub const PTRACE_DBG_WATCH_WRITE: c_int = 1;
/// Watchpoint kind: reads or writes of the range. x86 has no read-only watchpoint; there is no
/// `PTRACE_DBG_WATCH_READ` (2 is `PTRACE_DBG_E_INVALID_ARGUMENT`).
pub const PTRACE_DBG_WATCH_READ_WRITE: c_int = 3;

/// Sets a hardware watchpoint on every thread of the process, present and future, and returns
/// its id in `*id` (positive, never reused within this handle).
///
/// `kind` is `PTRACE_DBG_WATCH_EXECUTE` (then `len` must be 1), `PTRACE_DBG_WATCH_WRITE` or
/// `PTRACE_DBG_WATCH_READ_WRITE`; `len` is 1, 2, 4 or 8 and `addr` must be aligned to it (watch
/// a larger or unaligned variable with several watchpoints). A thread that trips it stops the
/// process (all-stop) with cause `PTRACE_DBG_CAUSE_WATCHPOINT` and state
/// `PTRACE_DBG_STATE_STOPPED_BREAKPOINT`; `ptrace_dbg_watchpoint_hit` then names the watchpoint.
/// Several threads tripping at about the same time each have their own cause at that stop.
/// The CPU has four slots per thread: a fifth watchpoint gets `PTRACE_DBG_E_NO_RESOURCE`.
///
/// - Only user-mode accesses trigger: a write by the kernel (`read(2)` into a watched buffer,
///   `ptrace_dbg_poke`) does not stop anything.
/// - An execute watchpoint at the address of a software breakpoint gives one stop, with cause
///   `PTRACE_DBG_CAUSE_BREAKPOINT` and `ptrace_dbg_watchpoint_hit` naming the watchpoint too.
/// - A single step whose instruction trips a data watchpoint completes and reports the
///   watchpoint. A step that lands on an execute watchpoint ends there as a step (the
///   instruction has not run); the next continue or step reports the hit, then goes past it.
/// - exec removes every watchpoint (the address space is gone): their ids are then unknown to
///   `ptrace_dbg_remove_watchpoint` (`PTRACE_DBG_E_NO_BREAKPOINT`). A child the program forks
///   runs untrapped (the kernel gives it no debug registers). Detach, kill and free clear
///   the debug registers of every thread.
///
/// Returns `PTRACE_DBG_OK`, `PTRACE_DBG_E_INVALID_ARGUMENT` (unknown `kind`, bad `len`,
/// unaligned or kernel `addr`, NULL `id`; `ptrace_dbg_last_error()` says which),
/// `PTRACE_DBG_E_NO_RESOURCE` (four are set), `PTRACE_DBG_E_BAD_STATE` (running or detached),
/// `PTRACE_DBG_E_EXITED`, `PTRACE_DBG_E_INVALID_HANDLE`. Callable from any thread while the
/// process is stopped.
///
/// # Safety
/// `id` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn ptrace_dbg_add_watchpoint(
    p: *mut ptrace_dbg_process,
    addr: u64,
    len: usize,
    kind: i32,
    id: *mut i32,
) -> c_int {
    boundary(|| {
        let process = PROCESSES.get(p)?;
        // SAFETY: the caller promises `id` is NULL or writable.
        let id = unsafe { args::out(id, "id") }?;
        let kind = WatchKind::from_c(kind).ok_or_else(|| {
            super::error::Failure::invalid_argument(format!(
                "argument `kind` is {kind}: not PTRACE_DBG_WATCH_EXECUTE (0), _WRITE (1) or \
                 _READ_WRITE (3); x86 cannot watch reads alone"
            ))
        })?;
        id.write(process.add_watchpoint(addr, len, kind)?);
        Ok(())
    })
}

/// Removes watchpoint `id` from every thread; its slot is free again.
///
/// Returns `PTRACE_DBG_OK`, `PTRACE_DBG_E_NO_BREAKPOINT` (no watchpoint with that id: never
/// set, already removed, or cleared by an exec), `PTRACE_DBG_E_BAD_STATE` (running or
/// detached), `PTRACE_DBG_E_EXITED`, `PTRACE_DBG_E_INVALID_HANDLE`. Callable from any thread
/// while the process is stopped.
#[no_mangle]
pub extern "C" fn ptrace_dbg_remove_watchpoint(p: *mut ptrace_dbg_process, id: i32) -> c_int {
    boundary(|| Ok(PROCESSES.get(p)?.remove_watchpoint(id)?))
}

/// Which watchpoint stopped thread `tid` at this stop: its id in `*id` and its address in
/// `*addr` (`addr` may be NULL). Decoded from the thread's debug status register (DR6), which
/// the library clears after reading. When one access trips several watchpoints, the one in the
/// lowest slot is named. Answers for a thread with cause `PTRACE_DBG_CAUSE_WATCHPOINT`, and for
/// a `PTRACE_DBG_CAUSE_BREAKPOINT` stop at an address that also has an execute watchpoint.
///
/// Returns `PTRACE_DBG_OK`, `PTRACE_DBG_E_NO_BREAKPOINT` (the thread's stop is not a
/// watchpoint hit), `PTRACE_DBG_E_BAD_STATE` (the thread runs, or the process was detached),
/// `PTRACE_DBG_E_NO_SUCH_THREAD`, `PTRACE_DBG_E_EXITED`, `PTRACE_DBG_E_INVALID_ARGUMENT` (NULL
/// `id`), `PTRACE_DBG_E_INVALID_HANDLE`. Callable from any thread; never waits.
///
/// # Safety
/// `id` must be NULL or writable; `addr` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn ptrace_dbg_watchpoint_hit(
    p: *mut ptrace_dbg_process,
    tid: i32,
    id: *mut i32,
    addr: *mut u64,
) -> c_int {
    boundary(|| {
        let process = PROCESSES.get(p)?;
        // SAFETY: the caller promises `id` is NULL or writable.
        let id = unsafe { args::out(id, "id") }?;
        // SAFETY: the caller promises `addr` is NULL or writable.
        let addr = unsafe { args::optional_out(addr) };
        let (hit_id, hit_addr) = process.watchpoint_hit(tid)?;
        id.write(hit_id);
        if let Some(addr) = addr {
            addr.write(hit_addr);
        }
        Ok(())
    })
}
