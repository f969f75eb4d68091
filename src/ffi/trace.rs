//! Hits at scale: tracepoints and their records, ignore counts and conditions on ordinary
//! breakpoints, range stepping. The engine side is `engine::tracer::tracepoints`, `range` and
//! `engine::records`.

use super::args;
use super::error::Failure;
use super::panic::boundary;
use super::process::PROCESSES;
use super::regs::ptrace_dbg_regs;
use super::types::ptrace_dbg_process;
use crate::engine::records::{Record, RecordStats};
use crate::engine::tracer::{Capture, CondOp, Condition};
use crate::sys::arch::REG_NAMES;
use std::ffi::c_int;

/// `ptrace_dbg_record.kind`: a thread executed the instruction at a tracepoint.
pub const PTRACE_DBG_RECORD_TRACEPOINT: c_int = 1;

/// `ptrace_dbg_record.kind`: a system call's entry, recorded under `PTRACE_DBG_SYSCALL_RECORD`
/// (`id` is its number).
pub const PTRACE_DBG_RECORD_SYSCALL_ENTRY: c_int = 2;

/// `ptrace_dbg_record.kind`: a system call's exit (`id` is its number, `regs.rax` its result).
pub const PTRACE_DBG_RECORD_SYSCALL_EXIT: c_int = 3;

/// The most memory bytes one record carries (`ptrace_dbg_tracepoint_capture`).
pub const PTRACE_DBG_RECORD_DATA_MAX: usize = 64;

/// The record buffer's capacity until `ptrace_dbg_set_record_capacity` changes it.
pub const PTRACE_DBG_RECORD_DEFAULT_CAPACITY: usize = 65536;

/// The largest capacity `ptrace_dbg_set_record_capacity` accepts.
pub const PTRACE_DBG_RECORD_MAX_CAPACITY: usize = 4194304;

/// Condition operators for `ptrace_dbg_set_breakpoint_condition`: none (clears the condition).
pub const PTRACE_DBG_COND_NONE: c_int = 0;
/// register == value
pub const PTRACE_DBG_COND_EQ: c_int = 1;
/// register != value
pub const PTRACE_DBG_COND_NE: c_int = 2;
/// register < value, unsigned
pub const PTRACE_DBG_COND_LT: c_int = 3;
/// register <= value, unsigned
pub const PTRACE_DBG_COND_LE: c_int = 4;
/// register > value, unsigned
pub const PTRACE_DBG_COND_GT: c_int = 5;
/// register >= value, unsigned
pub const PTRACE_DBG_COND_GE: c_int = 6;
/// register < value, signed
pub const PTRACE_DBG_COND_SLT: c_int = 7;
/// register <= value, signed
pub const PTRACE_DBG_COND_SLE: c_int = 8;
/// register > value, signed
pub const PTRACE_DBG_COND_SGT: c_int = 9;
/// register >= value, signed
pub const PTRACE_DBG_COND_SGE: c_int = 10;
/// (register & value) != 0
pub const PTRACE_DBG_COND_ANY_BITS: c_int = 11;

/// One tracepoint hit, as the monitor thread captured it.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct ptrace_dbg_record {
    /// `PTRACE_DBG_RECORD_TRACEPOINT`, `_SYSCALL_ENTRY` or `_SYSCALL_EXIT`.
    pub kind: i32,
    /// The thread that hit it.
    pub tid: i32,
    /// The tracepoint's id (from `ptrace_dbg_add_tracepoint`); for a system call, its number.
    pub id: i32,
    /// How many bytes of `data` are valid (fewer than asked where the range ran into unmapped
    /// memory; 0 without a capture).
    pub data_len: u32,
    /// CLOCK_MONOTONIC at the hit, in nanoseconds.
    pub time_ns: u64,
    /// The tracepoint's address.
    pub pc: u64,
    /// The registers at the hit, before the instruction ran (`rip` = `pc`).
    pub regs: ptrace_dbg_regs,
    /// The captured memory (`ptrace_dbg_tracepoint_capture`).
    pub data: [u8; PTRACE_DBG_RECORD_DATA_MAX],
}

impl From<&Record> for ptrace_dbg_record {
    fn from(r: &Record) -> Self {
        ptrace_dbg_record {
            kind: r.kind as i32,
            tid: r.tid,
            id: r.id,
            data_len: r.data_len,
            time_ns: r.time_ns,
            pc: r.pc,
            regs: r.regs.into(),
            data: r.data,
        }
    }
}

/// Counters of a process's record buffer.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct ptrace_dbg_record_stats {
    /// Records ever made.
    pub recorded: u64,
    /// Records waiting to be read.
    pub pending: u64,
    /// How many times a thread was held because the buffer was full.
    pub waits: u64,
    /// The total time threads were held, in nanoseconds.
    pub wait_ns: u64,
    /// The buffer's capacity.
    pub capacity: u64,
}

impl From<RecordStats> for ptrace_dbg_record_stats {
    fn from(s: RecordStats) -> Self {
        ptrace_dbg_record_stats {
            recorded: s.recorded,
            pending: s.pending,
            waits: s.waits,
            wait_ns: s.wait_ns,
            capacity: s.capacity,
        }
    }
}

/// Sets a tracepoint at `addr`: a thread that executes the instruction there is recorded
/// (registers, time, and memory if `ptrace_dbg_tracepoint_capture` asked) and goes on at once.
/// The hit is handled by the library's monitor thread alone: no other thread stops, no stop is
/// reported, and no host thread is woken except through the event fd, which polls readable
/// while records wait. Read them with `ptrace_dbg_read_records`. When the record buffer is full
/// the hitting thread waits in its stop until records are read: records are never dropped.
/// An ordinary breakpoint can share the address: a hit is then recorded and stops the process
/// as the breakpoint's would. `flags` must be 0. `*id` gets the tracepoint's id (positive).
///
/// Returns `PTRACE_DBG_OK`, `PTRACE_DBG_E_BREAKPOINT_EXISTS` (a tracepoint is there already),
/// `PTRACE_DBG_E_FAULT` (`addr` not mapped), `PTRACE_DBG_E_INVALID_ARGUMENT` (NULL `id`,
/// unknown flags), `PTRACE_DBG_E_BAD_STATE` (running or detached), `PTRACE_DBG_E_EXITED`,
/// `PTRACE_DBG_E_INVALID_HANDLE`. Callable from any thread while stopped.
///
/// # Safety
/// `id` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn ptrace_dbg_add_tracepoint(
    p: *mut ptrace_dbg_process,
    addr: u64,
    flags: u32,
    id: *mut i32,
) -> c_int {
    boundary(|| {
        let process = PROCESSES.get(p)?;
        // SAFETY: the caller promises `id` is NULL or writable.
        let out = unsafe { args::out(id, "id") }?;
        args::flags(flags, 0, "flags")?;
        out.write(process.add_tracepoint(addr)?);
        Ok(())
    })
}

/// Removes tracepoint `id`; an ordinary breakpoint at its address stays. Records it made stay
/// readable.
///
/// Returns `PTRACE_DBG_OK`, `PTRACE_DBG_E_INVALID_ARGUMENT` (no tracepoint with that id),
/// `PTRACE_DBG_E_BAD_STATE` (running or detached), `PTRACE_DBG_E_EXITED`,
/// `PTRACE_DBG_E_INVALID_HANDLE`. Callable from any thread while stopped.
#[no_mangle]
pub extern "C" fn ptrace_dbg_remove_tracepoint(p: *mut ptrace_dbg_process, id: i32) -> c_int {
    boundary(|| Ok(PROCESSES.get(p)?.remove_tracepoint(id)?))
}

/// Makes each hit of tracepoint `id` also capture `len` bytes of memory at the address
/// register `reg_index` (as `ptrace_dbg_reg_name` numbers them) + `offset` holds at the hit:
/// the stack's first words (`rsp`, 0), a string argument (`rdi`, 0). At most
/// `PTRACE_DBG_RECORD_DATA_MAX` bytes; `len` 0 captures nothing again.
///
/// Returns `PTRACE_DBG_OK`, `PTRACE_DBG_E_INVALID_ARGUMENT` (no such tracepoint, `reg_index`
/// out of range, `len` too long), `PTRACE_DBG_E_BAD_STATE` (running or detached),
/// `PTRACE_DBG_E_EXITED`, `PTRACE_DBG_E_INVALID_HANDLE`. Callable from any thread while stopped.
#[no_mangle]
pub extern "C" fn ptrace_dbg_tracepoint_capture(
    p: *mut ptrace_dbg_process,
    id: i32,
    reg_index: usize,
    offset: i64,
    len: usize,
) -> c_int {
    boundary(|| {
        let process = PROCESSES.get(p)?;
        let reg = args::index(reg_index, REG_NAMES.len(), "reg_index")?;
        if len > PTRACE_DBG_RECORD_DATA_MAX {
            return Err(Failure::invalid_argument(format!(
                "argument `len` is {len}, more than PTRACE_DBG_RECORD_DATA_MAX ({PTRACE_DBG_RECORD_DATA_MAX})"
            )));
        }
        Ok(process.set_tracepoint_capture(id, Capture { reg, offset, len })?)
    })
}

/// Takes up to `cap` tracepoint records, oldest first, into `out`; `*n` gets how many. Never
/// blocks: 0 records is a success. Reading makes room for threads waiting on a full buffer.
/// Records stay readable after the process stopped, exited, was killed or detached, until the
/// handle is freed.
///
/// Returns `PTRACE_DBG_OK`, `PTRACE_DBG_E_INVALID_ARGUMENT` (NULL `n`, NULL `out` with `cap`
/// above 0), `PTRACE_DBG_E_INVALID_HANDLE`. Callable any time, from any thread.
///
/// # Safety
/// `out` must be NULL (with `cap` 0) or point to `cap` writable records; `n` must be NULL or
/// writable.
#[no_mangle]
pub unsafe extern "C" fn ptrace_dbg_read_records(
    p: *mut ptrace_dbg_process,
    out: *mut ptrace_dbg_record,
    cap: usize,
    n: *mut usize,
) -> c_int {
    boundary(|| {
        let process = PROCESSES.get(p)?;
        // SAFETY: the caller promises `n` is NULL or writable.
        let n_out = unsafe { args::out(n, "n") }?;
        if cap > 0 && out.is_null() {
            return Err(Failure::invalid_argument("argument `out` is NULL".to_string()));
        }
        let mut taken = 0;
        let mut chunk = Vec::with_capacity(cap.min(1024));
        while taken < cap {
            chunk.clear();
            chunk.resize((cap - taken).min(1024), Record::EMPTY);
            let got = process.read_records(&mut chunk);
            for (i, r) in chunk[..got].iter().enumerate() {
                // SAFETY: `taken + i < cap`, and the caller promises `cap` writable records.
                unsafe { out.add(taken + i).write(r.into()) };
            }
            taken += got;
            if got < chunk.len() {
                break;
            }
        }
        n_out.write(taken);
        Ok(())
    })
}

/// Sets the capacity of the process's record buffer (default
/// `PTRACE_DBG_RECORD_DEFAULT_CAPACITY`): a thread that hits a tracepoint while that many
/// records wait is held until they are read. Records already waiting are kept.
///
/// Returns `PTRACE_DBG_OK`, `PTRACE_DBG_E_INVALID_ARGUMENT` (0, or above
/// `PTRACE_DBG_RECORD_MAX_CAPACITY`), `PTRACE_DBG_E_INVALID_HANDLE`. Callable any time, from
/// any thread.
#[no_mangle]
pub extern "C" fn ptrace_dbg_set_record_capacity(
    p: *mut ptrace_dbg_process,
    capacity: usize,
) -> c_int {
    boundary(|| Ok(PROCESSES.get(p)?.set_record_capacity(capacity)?))
}

/// The counters of the process's record buffer: records made and waiting, how often and how
/// long threads waited for room.
///
/// Returns `PTRACE_DBG_OK`, `PTRACE_DBG_E_INVALID_ARGUMENT` (NULL `out`),
/// `PTRACE_DBG_E_INVALID_HANDLE`. Callable any time, from any thread.
///
/// # Safety
/// `out` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn ptrace_dbg_get_record_stats(
    p: *mut ptrace_dbg_process,
    out: *mut ptrace_dbg_record_stats,
) -> c_int {
    boundary(|| {
        let process = PROCESSES.get(p)?;
        // SAFETY: the caller promises `out` is NULL or writable.
        let out = unsafe { args::out(out, "out") }?;
        out.write(process.record_stats().into());
        Ok(())
    })
}

/// Gives the ordinary breakpoint at `pc` a condition: a hit stops the process only when
/// register `reg_index` compared by `op` (`PTRACE_DBG_COND_*`) with `value` holds; otherwise
/// the library's monitor thread lets the thread go on without stopping any other.
/// `PTRACE_DBG_COND_NONE` clears it (`reg_index` and `value` are then ignored).
///
/// Returns `PTRACE_DBG_OK`, `PTRACE_DBG_E_NO_BREAKPOINT`, `PTRACE_DBG_E_INVALID_ARGUMENT`
/// (`reg_index` out of range, unknown `op`), `PTRACE_DBG_E_BAD_STATE` (running or detached),
/// `PTRACE_DBG_E_EXITED`, `PTRACE_DBG_E_INVALID_HANDLE`. Callable from any thread while stopped.
#[no_mangle]
pub extern "C" fn ptrace_dbg_set_breakpoint_condition(
    p: *mut ptrace_dbg_process,
    pc: u64,
    reg_index: usize,
    op: c_int,
    value: u64,
) -> c_int {
    boundary(|| {
        let process = PROCESSES.get(p)?;
        let op = match op {
            PTRACE_DBG_COND_NONE => None,
            PTRACE_DBG_COND_EQ => Some(CondOp::Eq),
            PTRACE_DBG_COND_NE => Some(CondOp::Ne),
            PTRACE_DBG_COND_LT => Some(CondOp::Lt),
            PTRACE_DBG_COND_LE => Some(CondOp::Le),
            PTRACE_DBG_COND_GT => Some(CondOp::Gt),
            PTRACE_DBG_COND_GE => Some(CondOp::Ge),
            PTRACE_DBG_COND_SLT => Some(CondOp::SLt),
            PTRACE_DBG_COND_SLE => Some(CondOp::SLe),
            PTRACE_DBG_COND_SGT => Some(CondOp::SGt),
            PTRACE_DBG_COND_SGE => Some(CondOp::SGe),
            PTRACE_DBG_COND_ANY_BITS => Some(CondOp::AnyBits),
            other => {
                return Err(Failure::invalid_argument(format!(
                    "argument `op` is {other}, not a PTRACE_DBG_COND_* value"
                )))
            }
        };
        let condition = match op {
            None => None,
            Some(op) => {
                let reg = args::index(reg_index, REG_NAMES.len(), "reg_index")?;
                Some(Condition { reg, op, value })
            }
        };
        Ok(process.set_breakpoint_condition(pc, condition)?)
    })
}

/// Makes the next `count` hits of the ordinary breakpoint at `pc` (those whose condition
/// holds, if it has one) go on without stopping, as gdb's `ignore`; 0 stops at every hit
/// again. Decided by the library's monitor thread: an ignored hit stops no other thread.
///
/// Returns `PTRACE_DBG_OK`, `PTRACE_DBG_E_NO_BREAKPOINT`, `PTRACE_DBG_E_BAD_STATE` (running or
/// detached), `PTRACE_DBG_E_EXITED`, `PTRACE_DBG_E_INVALID_HANDLE`. Callable from any thread
/// while stopped.
#[no_mangle]
pub extern "C" fn ptrace_dbg_set_breakpoint_ignore_count(
    p: *mut ptrace_dbg_process,
    pc: u64,
    count: u64,
) -> c_int {
    boundary(|| Ok(PROCESSES.get(p)?.set_breakpoint_ignore_count(pc, count)?))
}

/// Single-steps stopped thread `tid` while its PC stays in `[start, end)`, inside the library
/// (no round trip to the caller per instruction; gdb's `vCont;r`), the other threads staying
/// stopped as with `ptrace_dbg_step`. Returns when the thread's PC leaves the range (the
/// process is then stopped with the thread's cause `PTRACE_DBG_CAUSE_STOPPED`), or earlier at
/// any other stop with its usual cause: a breakpoint inside the range (its instruction not
/// executed, cause `PTRACE_DBG_CAUSE_BREAKPOINT`; tracepoints there only record, breakpoints
/// whose condition is false are passed), a signal, an exit or exec. The first step goes over a
/// breakpoint under the PC. `*steps` (may be NULL) gets the instructions executed.
///
/// Returns `PTRACE_DBG_OK`, `PTRACE_DBG_E_INVALID_ARGUMENT` (`start` >= `end`),
/// `PTRACE_DBG_E_BAD_STATE` (running, detached, the thread is exiting),
/// `PTRACE_DBG_E_NO_SUCH_THREAD`, `PTRACE_DBG_E_EXITED`, `PTRACE_DBG_E_TIMEOUT` (still
/// stepping after 30 s: it goes on, `ptrace_dbg_wait_stop` sees its end and `ptrace_dbg_stop`
/// ends it), `PTRACE_DBG_E_INVALID_HANDLE`. Callable from any thread while stopped.
///
/// # Safety
/// `steps` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn ptrace_dbg_step_range(
    p: *mut ptrace_dbg_process,
    tid: i32,
    start: u64,
    end: u64,
    steps: *mut u64,
) -> c_int {
    boundary(|| {
        let process = PROCESSES.get(p)?;
        // SAFETY: the caller promises `steps` is NULL or writable.
        let out = unsafe { args::optional_out(steps) };
        let n = process.step_range(tid, start, end, 0)?;
        if let Some(out) = out {
            out.write(n);
        }
        Ok(())
    })
}

/// Single-steps stopped thread `tid` `n` instructions (at least 1), inside the library, the
/// other threads staying stopped; ends earlier at any stop with its usual cause, as
/// `ptrace_dbg_step_range` (a breakpoint reached after the first step included). `*steps`
/// (may be NULL) gets the instructions executed.
///
/// Returns as `ptrace_dbg_step_range`; `PTRACE_DBG_E_INVALID_ARGUMENT` for `n` 0.
///
/// # Safety
/// `steps` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn ptrace_dbg_step_n(
    p: *mut ptrace_dbg_process,
    tid: i32,
    n: u64,
    steps: *mut u64,
) -> c_int {
    boundary(|| {
        let process = PROCESSES.get(p)?;
        // SAFETY: the caller promises `steps` is NULL or writable.
        let out = unsafe { args::optional_out(steps) };
        if n == 0 {
            return Err(Failure::invalid_argument("argument `n` is 0".to_string()));
        }
        let done = process.step_range(tid, 0, u64::MAX, n)?;
        if let Some(out) = out {
            out.write(done);
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::records;

    #[test]
    fn the_c_constants_match_the_engine() {
        assert_eq!(PTRACE_DBG_RECORD_DATA_MAX, records::DATA_MAX);
        assert_eq!(PTRACE_DBG_RECORD_DEFAULT_CAPACITY, records::DEFAULT_CAPACITY);
        assert_eq!(PTRACE_DBG_RECORD_MAX_CAPACITY, records::MAX_CAPACITY);
        assert_eq!(PTRACE_DBG_RECORD_TRACEPOINT, records::RecordKind::Tracepoint as c_int);
        assert_eq!(PTRACE_DBG_RECORD_SYSCALL_ENTRY, records::RecordKind::SyscallEntry as c_int);
        assert_eq!(PTRACE_DBG_RECORD_SYSCALL_EXIT, records::RecordKind::SyscallExit as c_int);
    }
}
