//! The debugging primitives on a stopped process: breakpoints, registers (whole, by index, PC
//! and SP) and memory.

use super::args;
use super::error::Failure;
use super::panic::boundary;
use super::process::PROCESSES;
use super::regs::ptrace_dbg_regs;
use super::types::ptrace_dbg_process;
use crate::engine;
use crate::sys::arch::REG_NAMES;
use std::ffi::{c_int, c_void};

/// Sets a breakpoint at address `pc`: an int3 goes into the text, and a thread that executes
/// it stops the process with cause `PTRACE_DBG_CAUSE_BREAKPOINT` (`cause.pc` = `pc`) and its PC
/// reading as `pc`. It stays set across hits until removed; memory reads through
/// `ptrace_dbg_peek` never show the int3, and detach, kill and free take it out.
///
/// Returns `PTRACE_DBG_OK`, `PTRACE_DBG_E_BREAKPOINT_EXISTS`, `PTRACE_DBG_E_FAULT` (`pc` is not
/// mapped), `PTRACE_DBG_E_BAD_STATE` (running or detached), `PTRACE_DBG_E_EXITED`,
/// `PTRACE_DBG_E_INVALID_HANDLE`. Callable from any thread while stopped.
#[no_mangle]
pub extern "C" fn ptrace_dbg_add_breakpoint(p: *mut ptrace_dbg_process, pc: u64) -> c_int {
    boundary(|| Ok(PROCESSES.get(p)?.add_breakpoint(pc)?))
}

/// Removes the breakpoint at `pc`, restoring the original byte.
///
/// Returns `PTRACE_DBG_OK`, `PTRACE_DBG_E_NO_BREAKPOINT`, `PTRACE_DBG_E_BAD_STATE` (running or
/// detached), `PTRACE_DBG_E_EXITED`, `PTRACE_DBG_E_INVALID_HANDLE`. Callable from any thread
/// while stopped.
#[no_mangle]
pub extern "C" fn ptrace_dbg_remove_breakpoint(p: *mut ptrace_dbg_process, pc: u64) -> c_int {
    boundary(|| Ok(PROCESSES.get(p)?.remove_breakpoint(pc)?))
}

/// The registers of thread `tid` (a thread at a breakpoint has its `rip` at the breakpoint).
///
/// Returns `PTRACE_DBG_OK`, `PTRACE_DBG_E_BAD_STATE` (running or detached),
/// `PTRACE_DBG_E_NO_SUCH_THREAD`, `PTRACE_DBG_E_EXITED`, `PTRACE_DBG_E_INVALID_ARGUMENT` (NULL
/// `out`), `PTRACE_DBG_E_INVALID_HANDLE`. Callable from any thread while stopped.
///
/// # Safety
/// `out` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn ptrace_dbg_get_regs(
    p: *mut ptrace_dbg_process,
    tid: i32,
    out: *mut ptrace_dbg_regs,
) -> c_int {
    boundary(|| {
        let process = PROCESSES.get(p)?;
        // SAFETY: the caller promises `out` is NULL or writable.
        let out = unsafe { args::out(out, "out") }?;
        out.write(process.get_regs(tid)?.into());
        Ok(())
    })
}

/// Writes every register of thread `tid`. Setting `rip` onto a breakpoint is fine: the next
/// continue steps over it first. The kernel refuses some values with `PTRACE_DBG_E_OS` (EIO):
/// bad segment selectors (`cs`, `ss`, `ds`, ...) and a non-canonical `fs_base` or `gs_base`.
/// It accepts a non-canonical `rip`: the thread then gets SIGSEGV when it resumes.
///
/// Returns `PTRACE_DBG_OK`, `PTRACE_DBG_E_BAD_STATE` (running or detached),
/// `PTRACE_DBG_E_NO_SUCH_THREAD`, `PTRACE_DBG_E_EXITED`, `PTRACE_DBG_E_OS`,
/// `PTRACE_DBG_E_INVALID_ARGUMENT` (NULL `in`), `PTRACE_DBG_E_INVALID_HANDLE`. Callable from
/// any thread while stopped.
///
/// # Safety
/// `in` must be NULL or point to a valid `ptrace_dbg_regs`.
#[no_mangle]
pub unsafe extern "C" fn ptrace_dbg_set_regs(
    p: *mut ptrace_dbg_process,
    tid: i32,
    r#in: *const ptrace_dbg_regs,
) -> c_int {
    boundary(|| {
        let process = PROCESSES.get(p)?;
        // SAFETY: the caller promises `in` is NULL or a valid struct.
        let regs = *unsafe { args::input(r#in, "in") }?;
        Ok(process.set_regs(tid, &regs.into())?)
    })
}

/// Reads one register of thread `tid`, `index` as `ptrace_dbg_reg_name` numbers them.
fn read_reg(process: &engine::Process, tid: i32, index: usize) -> Result<u64, Failure> {
    let index = args::index(index, REG_NAMES.len(), "index")?;
    let regs = ptrace_dbg_regs::from(process.get_regs(tid)?);
    Ok(regs.get(index).expect("index checked against the register count"))
}

/// Writes one register of thread `tid` (a read-modify-write of the whole set on the monitor).
fn write_reg(
    p: *mut ptrace_dbg_process,
    tid: i32,
    index: usize,
    value: u64,
) -> Result<(), Failure> {
    let process = PROCESSES.get(p)?;
    let index = args::index(index, REG_NAMES.len(), "index")?;
    let mut regs = ptrace_dbg_regs::from(process.get_regs(tid)?);
    *regs.get_mut(index).expect("index checked against the register count") = value;
    Ok(process.set_regs(tid, &regs.into())?)
}

/// The index of a register by name, for the PC and SP shortcuts.
fn reg_index(name: &str) -> usize {
    REG_NAMES.iter().position(|reg| *reg == name).expect("x86-64 has rip and rsp")
}

/// Reads register `index` (0 to `ptrace_dbg_reg_count()` - 1, see `ptrace_dbg_reg_name`) of
/// thread `tid`.
///
/// Returns `PTRACE_DBG_OK`, `PTRACE_DBG_E_INVALID_ARGUMENT` (`index` out of range, NULL
/// `value`), `PTRACE_DBG_E_BAD_STATE` (running or detached), `PTRACE_DBG_E_NO_SUCH_THREAD`,
/// `PTRACE_DBG_E_EXITED`, `PTRACE_DBG_E_INVALID_HANDLE`. Callable from any thread while
/// stopped.
///
/// # Safety
/// `value` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn ptrace_dbg_get_reg(
    p: *mut ptrace_dbg_process,
    tid: i32,
    index: usize,
    value: *mut u64,
) -> c_int {
    boundary(|| {
        let process = PROCESSES.get(p)?;
        // SAFETY: the caller promises `value` is NULL or writable.
        let out = unsafe { args::out(value, "value") }?;
        out.write(read_reg(&process, tid, index)?);
        Ok(())
    })
}

/// Writes register `index` of thread `tid`; the others keep their values. Two host threads
/// writing different registers of the same thread at once may lose one write (each call reads
/// and writes the whole set): use `ptrace_dbg_set_regs` for several at a time.
///
/// Returns as `ptrace_dbg_get_reg`, plus `PTRACE_DBG_E_OS` for a value the kernel rejects.
/// Callable from any thread while stopped.
#[no_mangle]
pub extern "C" fn ptrace_dbg_set_reg(
    p: *mut ptrace_dbg_process,
    tid: i32,
    index: usize,
    value: u64,
) -> c_int {
    boundary(|| write_reg(p, tid, index, value))
}

/// The program counter (`rip`) of thread `tid`.
///
/// Returns `PTRACE_DBG_OK`, `PTRACE_DBG_E_INVALID_ARGUMENT` (NULL `pc`),
/// `PTRACE_DBG_E_BAD_STATE` (running or detached), `PTRACE_DBG_E_NO_SUCH_THREAD`,
/// `PTRACE_DBG_E_EXITED`, `PTRACE_DBG_E_INVALID_HANDLE`. Callable from any thread while
/// stopped.
///
/// # Safety
/// `pc` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn ptrace_dbg_get_pc(
    p: *mut ptrace_dbg_process,
    tid: i32,
    pc: *mut u64,
) -> c_int {
    // SAFETY: the caller promises `pc` is NULL or writable.
    boundary(|| unsafe { get_named_reg(p, tid, "rip", pc, "pc") })
}

/// Sets the program counter (`rip`) of thread `tid`; the thread continues from there.
///
/// Returns as `ptrace_dbg_set_reg`. Callable from any thread while stopped.
#[no_mangle]
pub extern "C" fn ptrace_dbg_set_pc(p: *mut ptrace_dbg_process, tid: i32, pc: u64) -> c_int {
    boundary(|| write_reg(p, tid, reg_index("rip"), pc))
}

/// The stack pointer (`rsp`) of thread `tid`.
///
/// Returns as `ptrace_dbg_get_pc` (NULL `sp`: `PTRACE_DBG_E_INVALID_ARGUMENT`). Callable from any
/// thread while stopped.
///
/// # Safety
/// `sp` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn ptrace_dbg_get_sp(
    p: *mut ptrace_dbg_process,
    tid: i32,
    sp: *mut u64,
) -> c_int {
    // SAFETY: the caller promises `sp` is NULL or writable.
    boundary(|| unsafe { get_named_reg(p, tid, "rsp", sp, "sp") })
}

/// Sets the stack pointer (`rsp`) of thread `tid`.
///
/// Returns as `ptrace_dbg_set_reg`. Callable from any thread while stopped.
#[no_mangle]
pub extern "C" fn ptrace_dbg_set_sp(p: *mut ptrace_dbg_process, tid: i32, sp: u64) -> c_int {
    boundary(|| write_reg(p, tid, reg_index("rsp"), sp))
}

/// Reads register `name` of thread `tid` into `out` (argument `arg`): get_pc and get_sp.
///
/// # Safety
/// `out` must be NULL or writable.
unsafe fn get_named_reg(
    p: *mut ptrace_dbg_process,
    tid: i32,
    name: &str,
    out: *mut u64,
    arg: &str,
) -> Result<(), Failure> {
    let process = PROCESSES.get(p)?;
    // SAFETY: the caller promises `out` is NULL or writable.
    let out = unsafe { args::out(out, arg) }?;
    out.write(read_reg(&process, tid, reg_index(name))?);
    Ok(())
}

/// Checks a transfer length: a Rust slice (and any real buffer) holds at most isize::MAX bytes.
fn check_len(len: usize) -> Result<(), Failure> {
    if len > isize::MAX as usize {
        return Err(Failure::invalid_argument(format!(
            "argument `len` is {len}, larger than any buffer can be"
        )));
    }
    Ok(())
}

/// The bytes moved and the outcome of a peek or poke, as C sees them.
fn transfer_result(result: Result<usize, (usize, engine::Error)>) -> (usize, Result<(), Failure>) {
    match result {
        Ok(n) => (n, Ok(())),
        Err((n, e)) => (n, Err(e.into())),
    }
}

/// Reads `len` bytes of the process's memory at `addr` into `buf`, through stopped thread
/// `tid` (any stopped thread: they share the address space). The library's own breakpoint
/// bytes never show: the original bytes are read in their place. Bulk: megabytes per system
/// call (process_vm_readv, /proc/PID/mem).
///
/// `*done` (`done` may be NULL) is always set to the bytes read, on failure too. Where the
/// range runs into unmapped memory, the bytes up to the first inaccessible one are read and the
/// call returns `PTRACE_DBG_E_FAULT`. `len` 0 reads nothing and succeeds.
///
/// Returns `PTRACE_DBG_OK`, `PTRACE_DBG_E_FAULT`, `PTRACE_DBG_E_INVALID_ARGUMENT` (NULL `buf`
/// with `len` > 0, a `len` above SSIZE_MAX, a range wrapping past the end of the address
/// space), `PTRACE_DBG_E_BAD_STATE` (running or detached), `PTRACE_DBG_E_NO_SUCH_THREAD`,
/// `PTRACE_DBG_E_EXITED`, `PTRACE_DBG_E_INVALID_HANDLE`. Callable from any thread while stopped.
///
/// # Safety
/// `buf` must be NULL or writable for `len` bytes; `done` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn ptrace_dbg_peek(
    p: *mut ptrace_dbg_process,
    tid: i32,
    addr: u64,
    buf: *mut c_void,
    len: usize,
    done: *mut usize,
) -> c_int {
    boundary(|| {
        // SAFETY: the caller promises `done` is NULL or writable.
        let done = unsafe { args::optional_out(done) };
        let (n, result) = (|| {
            let process = PROCESSES.get(p)?;
            check_len(len)?;
            // SAFETY: the caller promises `buf` is NULL or writable for `len` bytes; u8 may
            // start uninitialized.
            let buf = unsafe { args::slice_mut(buf.cast::<u8>(), len, "buf") }?;
            Ok(transfer_result(process.peek(tid, addr, buf)))
        })()
        .unwrap_or_else(|failure| (0, Err(failure)));
        if let Some(done) = done {
            done.write(n);
        }
        result
    })
}

/// Writes `len` bytes from `buf` into the process's memory at `addr`, through stopped thread
/// `tid`. Read-only mappings are written too (code patching), as PTRACE_POKETEXT does. Bytes
/// written over one of the library's breakpoints become its saved original; the breakpoint
/// stays set.
///
/// `*done` (`done` may be NULL) is always set to the bytes written, on failure too. Where the
/// range runs into unmapped memory, the bytes before it are written and the call returns
/// `PTRACE_DBG_E_FAULT`. `len` 0 writes nothing and succeeds.
///
/// Returns as `ptrace_dbg_peek` (NULL `buf` with `len` > 0 is `PTRACE_DBG_E_INVALID_ARGUMENT`).
/// Callable from any thread while stopped.
///
/// # Safety
/// `buf` must be NULL or readable for `len` bytes; `done` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn ptrace_dbg_poke(
    p: *mut ptrace_dbg_process,
    tid: i32,
    addr: u64,
    buf: *const c_void,
    len: usize,
    done: *mut usize,
) -> c_int {
    boundary(|| {
        // SAFETY: the caller promises `done` is NULL or writable.
        let done = unsafe { args::optional_out(done) };
        let (n, result) = (|| {
            let process = PROCESSES.get(p)?;
            check_len(len)?;
            // SAFETY: the caller promises `buf` is NULL or readable for `len` bytes.
            let data = unsafe { args::slice(buf.cast::<u8>(), len, "buf") }?;
            Ok(transfer_result(process.poke(tid, addr, data)))
        })()
        .unwrap_or_else(|failure: Failure| (0, Err(failure)));
        if let Some(done) = done {
            done.write(n);
        }
        result
    })
}
