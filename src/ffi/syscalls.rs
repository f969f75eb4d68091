//! System-call stops: choose the calls to stop at, read the call a thread is stopped at,
//! change it; system-call names and numbers (x86-64).

use super::args;
use super::error::Failure;
use super::panic::{boundary, boundary_or};
use super::process::PROCESSES;
use super::types::ptrace_dbg_process;
use crate::engine::syscalls;
use std::ffi::{c_char, c_int};

/// `ptrace_dbg_trace_syscalls` flag: stop at the entry of the traced calls.
pub const PTRACE_DBG_SYSCALL_ENTRY: u32 = 1;
/// `ptrace_dbg_trace_syscalls` flag: stop at the exit of the traced calls.
pub const PTRACE_DBG_SYSCALL_EXIT: u32 = 2;
/// `ptrace_dbg_trace_syscalls` flag: let a seccomp filter stop only the traced calls, so the
/// others cost nothing (launched processes, at their launch stop; see that function).
pub const PTRACE_DBG_SYSCALL_SECCOMP: u32 = 4;
/// `ptrace_dbg_trace_syscalls` flag (with `_ENTRY` and/or `_EXIT`): the stops are not reported
/// but recorded, as tracepoint hits are (`ptrace_dbg_read_records`, kinds
/// `PTRACE_DBG_RECORD_SYSCALL_ENTRY`/`_EXIT`, `id` the call's number, `regs` as at the stop),
/// and the thread goes on at once: no other thread stops (an strace need not stop the world
/// per call). A full record buffer holds the thread as for tracepoints.
pub const PTRACE_DBG_SYSCALL_RECORD: u32 = 8;

/// Stop cause: at the entry of a traced system call (`ptrace_dbg_syscall_info` tells which).
/// Only while system calls are traced (`ptrace_dbg_trace_syscalls`).
pub const PTRACE_DBG_CAUSE_SYSCALL_ENTRY: c_int = 7;
/// Stop cause: at the exit of a traced system call (`ptrace_dbg_syscall_info` tells which and
/// its result). Only while system calls are traced.
pub const PTRACE_DBG_CAUSE_SYSCALL_EXIT: c_int = 8;

/// `ptrace_dbg_syscall.arch`: a 64-bit `syscall` (AUDIT_ARCH_X86_64).
pub const PTRACE_DBG_ARCH_X86_64: u32 = syscalls::ARCH_X86_64;
/// `ptrace_dbg_syscall.arch`: an `int 0x80` call with i386 numbers (AUDIT_ARCH_I386).
pub const PTRACE_DBG_ARCH_I386: u32 = syscalls::ARCH_I386;

/// The system call a thread is stopped at, as `ptrace_dbg_syscall_info` reports it.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ptrace_dbg_syscall {
    /// The call's number (x86-64 numbers, see `ptrace_dbg_syscall_name`); at an exit, the
    /// number it was entered with (-1 for a skipped call).
    pub number: i32,
    /// 0 at an entry stop, 1 at an exit stop.
    pub is_exit: i32,
    /// The six arguments (rdi, rsi, rdx, r10, r8, r9).
    pub args: [u64; 6],
    /// At an exit: the result, -errno on failure (-512..-516 for a call a signal broke off,
    /// which the kernel restarts or turns into -EINTR). At an entry: 0.
    pub ret: i64,
    /// At an exit: 1 when `ret` is an error (-4095..-1).
    pub is_error: i32,
    /// `PTRACE_DBG_ARCH_X86_64`, or `PTRACE_DBG_ARCH_I386` for `int 0x80`.
    pub arch: u32,
    /// The address after the `syscall` instruction.
    pub pc: u64,
    /// The stack pointer.
    pub sp: u64,
}

impl From<syscalls::SyscallStop> for ptrace_dbg_syscall {
    fn from(s: syscalls::SyscallStop) -> Self {
        ptrace_dbg_syscall {
            number: s.number as i32,
            is_exit: s.is_exit as i32,
            args: s.args,
            ret: s.ret,
            is_error: s.is_error as i32,
            arch: s.arch,
            pc: s.pc,
            sp: s.sp,
        }
    }
}

/// Stops at the entry and/or exit of the listed system calls, in every thread of the process,
/// present and future (and across exec): `flags` is `PTRACE_DBG_SYSCALL_ENTRY`, `_EXIT` or
/// both; 0 turns tracing off. `numbers` NULL with `count` 0 means every call. Replaces the
/// previous set. A thread at a traced call stops the process (all-stop) with cause
/// `PTRACE_DBG_CAUSE_SYSCALL_ENTRY` or `_EXIT`; several threads can be at one at the same stop,
/// so look at every thread's cause. Calls outside the set never wake the host: they are let
/// go by the library's monitor thread (PTRACE_SYSCALL) or never stop at all (seccomp).
///
/// What is reported: each call's entry and exit once. `exit`/`exit_group` have no exit (the
/// thread's exit follows); a successful `execve` exits after the `PTRACE_DBG_CAUSE_EXEC` stop,
/// under the leader's tid even when another thread called it; a new thread makes no exit stop
/// for the clone that created it. A call a signal breaks off exits with -ERESTARTSYS (-512) or
/// a relative, then the signal stop, then (if the kernel restarts it) a new entry, as strace
/// shows it; the library's own stops (an all-stop while a thread is blocked in a traced call)
/// are invisible: that call still shows one entry and one exit. `ptrace_dbg_step` runs a call
/// without syscall stops (the kernel makes none for a single step); a breakpoint on a traced
/// `syscall` instruction gives the breakpoint stop, then the entry, then the exit.
///
/// `PTRACE_DBG_SYSCALL_SECCOMP`: the kernel itself stops only the listed calls, through a
/// seccomp filter returning SECCOMP_RET_TRACE for them. Only for a launched process still at
/// its launch stop (before it first ran), and with a list (not every call); the library makes
/// the program install the filter before its first instruction. A filter cannot be removed:
/// - later sets inside the filter's calls are still filtered by the kernel; a set beyond it,
///   or tracing turned off, falls back to PTRACE_SYSCALL or stops the filter's calls briefly
///   in the monitor thread;
/// - `ptrace_dbg_detach` is refused (`PTRACE_DBG_E_BAD_STATE`): untraced, the filter's calls
///   would fail with ENOSYS. Free or kill it;
/// - the program's fork children inherit the filter: they stay traced by the library, out of
///   sight, their stops let go as soon as the library's monitor thread sees them (while the
///   traced process is stopped, at its next continue), and die with the monitor thread when
///   the launched process is gone (PTRACE_O_EXITKILL);
/// - without CAP_SYS_ADMIN the kernel wants no_new_privs first, which the library then sets in
///   the program (as strace does): set-user-ID programs it execs no longer gain privileges.
///
/// Returns `PTRACE_DBG_OK`; `PTRACE_DBG_E_INVALID_ARGUMENT` (unknown flag, SECCOMP alone, a
/// number outside 0..1023, `numbers` NULL with `count` > 0); `PTRACE_DBG_E_BAD_STATE` (running,
/// detached, or SECCOMP when no filter can be installed any more); `PTRACE_DBG_E_EXITED`;
/// `PTRACE_DBG_E_OS` (installing the filter failed); `PTRACE_DBG_E_INVALID_HANDLE`. Callable
/// from any thread while the process is stopped.
///
/// # Safety
/// `numbers` must be NULL or readable for `count` elements.
#[no_mangle]
pub unsafe extern "C" fn ptrace_dbg_trace_syscalls(
    p: *mut ptrace_dbg_process,
    numbers: *const i32,
    count: usize,
    flags: u32,
) -> c_int {
    boundary(|| {
        let process = PROCESSES.get(p)?;
        args::flags(flags, syscalls::ALL_FLAGS, "flags")?;
        let numbers = if numbers.is_null() && count == 0 {
            None
        } else {
            // SAFETY: the caller promises `numbers` is readable for `count` elements.
            Some(unsafe { args::slice(numbers, count, "numbers") }?)
        };
        Ok(process.trace_syscalls(numbers, flags)?)
    })
}

/// The system call thread `tid` is stopped at (cause `PTRACE_DBG_CAUSE_SYSCALL_ENTRY` or
/// `_EXIT`), with the changes made by `ptrace_dbg_set_syscall*` at this stop.
///
/// Returns `PTRACE_DBG_OK`, `PTRACE_DBG_E_BAD_STATE` (the thread is running, or stopped for
/// another cause), `PTRACE_DBG_E_NO_SUCH_THREAD`, `PTRACE_DBG_E_EXITED`,
/// `PTRACE_DBG_E_INVALID_ARGUMENT` (NULL `out`), `PTRACE_DBG_E_INVALID_HANDLE`. Callable from
/// any thread while the thread is stopped; never waits.
///
/// # Safety
/// `out` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn ptrace_dbg_syscall_info(
    p: *mut ptrace_dbg_process,
    tid: i32,
    out: *mut ptrace_dbg_syscall,
) -> c_int {
    boundary(|| {
        let process = PROCESSES.get(p)?;
        // SAFETY: the caller promises `out` is NULL or writable.
        let out = unsafe { args::out(out, "out") }?;
        out.write(process.syscall_info(tid)?.into());
        Ok(())
    })
}

/// At an entry stop of thread `tid`: changes the call's number and, unless `args` is NULL,
/// its six arguments (rdi, rsi, rdx, r10, r8, r9). `number` -1 skips the call: it does not
/// run, and returns what `ptrace_dbg_set_syscall_return` sets (here or at its exit stop;
/// -ENOSYS if nothing is set). Written through the registers (orig_rax and the argument
/// registers), which every kernel honours.
///
/// Returns `PTRACE_DBG_OK`, `PTRACE_DBG_E_BAD_STATE` (not at an entry stop),
/// `PTRACE_DBG_E_INVALID_ARGUMENT` (`number` outside -1..1023), `PTRACE_DBG_E_NO_SUCH_THREAD`,
/// `PTRACE_DBG_E_EXITED`, `PTRACE_DBG_E_INVALID_HANDLE`. Callable from any thread while the
/// thread is stopped.
///
/// # Safety
/// `args` must be NULL or readable for 6 elements.
#[no_mangle]
pub unsafe extern "C" fn ptrace_dbg_set_syscall(
    p: *mut ptrace_dbg_process,
    tid: i32,
    number: i32,
    args: *const u64,
) -> c_int {
    boundary(|| {
        let process = PROCESSES.get(p)?;
        let args = if args.is_null() {
            None
        } else {
            // SAFETY: the caller promises `args` is readable for 6 elements.
            let a = unsafe { args::slice(args, 6, "args") }?;
            Some([a[0], a[1], a[2], a[3], a[4], a[5]])
        };
        Ok(process.set_syscall(tid, number as i64, args)?)
    })
}

/// Sets the result the program sees (rax; -errno for a failure, e.g. -EPERM): at an exit
/// stop of thread `tid`, or at the entry stop of a call skipped with number -1.
///
/// Returns `PTRACE_DBG_OK`, `PTRACE_DBG_E_BAD_STATE` (not at an exit stop, or at an entry stop
/// of a call that will run), `PTRACE_DBG_E_NO_SUCH_THREAD`, `PTRACE_DBG_E_EXITED`,
/// `PTRACE_DBG_E_INVALID_HANDLE`. Callable from any thread while the thread is stopped.
#[no_mangle]
pub extern "C" fn ptrace_dbg_set_syscall_return(
    p: *mut ptrace_dbg_process,
    tid: i32,
    ret: i64,
) -> c_int {
    boundary(|| Ok(PROCESSES.get(p)?.set_syscall_return(tid, ret)?))
}

/// The name of x86-64 system call `number` ("openat"), from the kernel's
/// arch/x86/entry/syscalls/syscall_64.tbl (Linux 6.18); NULL for a number with no call. The
/// string is static: never free it. Callable any time from any thread.
#[no_mangle]
pub extern "C" fn ptrace_dbg_syscall_name(number: i32) -> *const c_char {
    boundary_or(std::ptr::null(), || {
        Ok(syscalls::name(number).map_or(std::ptr::null(), |n| n.as_ptr()))
    })
}

/// The number of the x86-64 system call called `name` ("openat" -> 257).
///
/// Returns `PTRACE_DBG_OK`, `PTRACE_DBG_E_INVALID_ARGUMENT` (no call of that name, NULL `name`
/// or `number`). Callable any time from any thread.
///
/// # Safety
/// `name` must be NULL or a NUL-terminated string; `number` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn ptrace_dbg_syscall_number(name: *const c_char, number: *mut i32) -> c_int {
    boundary(|| {
        // SAFETY: the caller promises `name` is NULL or a NUL-terminated string.
        let name = unsafe { args::c_str(name, "name") }?;
        // SAFETY: the caller promises `number` is NULL or writable.
        let out = unsafe { args::out(number, "number") }?;
        let n = name.to_str().ok().and_then(syscalls::number).ok_or_else(|| {
            Failure::invalid_argument(format!("no x86-64 system call is named {name:?}"))
        })?;
        out.write(n);
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;

    #[test]
    fn names_and_numbers_through_the_c_functions() {
        // SAFETY: static strings from the table, and valid pointers to locals.
        unsafe {
            assert_eq!(CStr::from_ptr(ptrace_dbg_syscall_name(257)), c"openat");
            assert!(ptrace_dbg_syscall_name(-5).is_null());
            assert!(ptrace_dbg_syscall_name(100_000).is_null());
            let mut n = 0;
            assert_eq!(ptrace_dbg_syscall_number(c"unlinkat".as_ptr(), &mut n), 0);
            assert_eq!(n, 263);
            assert!(ptrace_dbg_syscall_number(c"nope".as_ptr(), &mut n) < 0);
            assert!(ptrace_dbg_syscall_number(std::ptr::null(), &mut n) < 0);
        }
    }

    #[test]
    fn cause_values_match_the_engine() {
        use crate::engine::CauseKind;
        assert_eq!(CauseKind::SyscallEntry as c_int, PTRACE_DBG_CAUSE_SYSCALL_ENTRY);
        assert_eq!(CauseKind::SyscallExit as c_int, PTRACE_DBG_CAUSE_SYSCALL_EXIT);
        assert_eq!(PTRACE_DBG_SYSCALL_ENTRY, syscalls::ENTRY);
        assert_eq!(PTRACE_DBG_SYSCALL_EXIT, syscalls::EXIT);
        assert_eq!(PTRACE_DBG_SYSCALL_SECCOMP, syscalls::SECCOMP);
        assert_eq!(PTRACE_DBG_SYSCALL_RECORD, syscalls::RECORD);
    }
}
