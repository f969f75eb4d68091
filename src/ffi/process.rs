//! The process lifecycle: attach, launch, pid, detach, kill, free, exit status; and the
//! registry of process handles every other exported function looks its handle up in.

use super::args;
use super::error::Failure;
use super::handle::Registry;
use super::launch::{ptrace_dbg_launch_options, PTRACE_DBG_LAUNCH_DISABLE_ASLR};
use super::panic::{boundary, boundary_or};
use super::types::ptrace_dbg_process;
use crate::engine;
use std::ffi::{c_char, c_int, CStr, OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Every live process handle. A call holds the `Arc` it got from here for its whole duration,
/// so a `ptrace_dbg_process_free` on another thread never pulls the process from under it.
pub(crate) static PROCESSES: Registry<engine::Process, ptrace_dbg_process> =
    Registry::new("process");

/// The longest NULL-terminated string array `strings` accepts: far beyond any real argv or
/// environment (the kernel's own limit is a few MiB in all), short of an endless walk through
/// memory that was never NUL-terminated.
const MAX_STRINGS: usize = 1 << 20;

/// Copies a NULL-terminated array of C strings (argv, envp).
///
/// # Safety
/// `ptr` must be non-NULL and point to an array of NUL-terminated strings ended by NULL, all
/// alive and unchanged for the call.
unsafe fn strings(ptr: *const *const c_char, name: &str) -> Result<Vec<OsString>, Failure> {
    let mut out = Vec::new();
    for i in 0..MAX_STRINGS {
        // SAFETY: the caller promises the array is NULL-terminated, and we stop at the NULL.
        let item = unsafe { *ptr.add(i) };
        if item.is_null() {
            return Ok(out);
        }
        // SAFETY: a non-NULL entry is a NUL-terminated string, as the caller promises.
        let bytes = unsafe { CStr::from_ptr(item) }.to_bytes();
        out.push(OsStr::from_bytes(bytes).to_os_string());
    }
    Err(Failure::invalid_argument(format!(
        "argument `{name}` has no terminating NULL within {MAX_STRINGS} entries"
    )))
}

/// Registers a new process and writes its handle to `out`; a process that cannot be
/// registered is dropped (killed or detached) on the way out.
pub(crate) fn register(
    process: engine::Process,
    out: args::Out<*mut ptrace_dbg_process>,
) -> Result<(), Failure> {
    let handle = PROCESSES.insert(Arc::new(process))?;
    out.write(handle);
    Ok(())
}

/// Attaches to process `pid`: every one of its threads, including threads it creates while
/// the attach runs, is traced and stopped when this returns (cause `PTRACE_DBG_CAUSE_STOPPED`).
/// A main thread that already called pthread_exit is skipped, not an error; a process stopped by
/// job control (state T) is attached too. `*out` receives the handle; release it with
/// `ptrace_dbg_process_free` (which detaches).
///
/// Returns `PTRACE_DBG_OK`; `PTRACE_DBG_E_INVALID_ARGUMENT` (NULL `out`, `pid` <= 0, the host's
/// own pid, a thread id that is not a process id); `PTRACE_DBG_E_NO_SUCH_PROCESS`;
/// `PTRACE_DBG_E_PERMISSION` (another tracer, kernel.yama.ptrace_scope, missing
/// CAP_SYS_PTRACE: `ptrace_dbg_last_error()` names the likely one); `PTRACE_DBG_E_TIMEOUT` if
/// a thread never stops; `PTRACE_DBG_E_OS`.
///
/// Callable from any thread. The library starts one monitor thread (and one tiny helper
/// child process, its "doorbell") per traced process and the children taken from it
/// (`ptrace_dbg_take_child`); they end when the last of those processes is freed.
///
/// # Safety
/// `out` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn ptrace_dbg_attach(pid: i32, out: *mut *mut ptrace_dbg_process) -> c_int {
    boundary(|| {
        // SAFETY: the caller promises `out` is NULL or writable.
        let out = unsafe { args::out(out, "out") }?;
        if pid <= 0 {
            return Err(Failure::invalid_argument(format!(
                "argument `pid` is {pid}, not a process id"
            )));
        }
        register(engine::Process::attach(pid)?, out)
    })
}

/// Forks and execs `path` traced, and returns with the new process stopped at its first
/// instruction after exec (cause `PTRACE_DBG_CAUSE_EXEC`). `*out` receives the handle; release
/// it with `ptrace_dbg_process_free` (which kills the process).
///
/// - `path`: no shell is involved. A path containing '/' is used as is; a bare name is
///   searched in the host's PATH (default "/usr/local/bin:/usr/bin:/bin").
/// - `argv`: NULL-terminated, `argv[0]` first. NULL (or an empty array) runs the program with
///   `path` alone as `argv[0]`.
/// - `envp`: NULL-terminated "NAME=value" strings; NULL inherits the host's environment.
/// - `opts`: NULL means the defaults of `ptrace_dbg_launch_options_init` (inherit cwd and
///   stdio, no flags). The descriptors in `opts` are dup2'ed onto 0, 1, 2 in the child; the
///   caller keeps its own copies.
///
/// An exec failure is reported here (code `PTRACE_DBG_E_OS`, or `PTRACE_DBG_E_PERMISSION` for
/// EACCES/EPERM, with `ptrace_dbg_last_error()` naming the failing step, e.g.
/// "execve: ENOENT"), never as a process that exits 127. The launched process is killed if the
/// host dies (PTRACE_O_EXITKILL). No descriptor of the library leaks into it.
///
/// Returns `PTRACE_DBG_OK`; `PTRACE_DBG_E_INVALID_ARGUMENT` (NULL `path` or `out`, an empty
/// path, an unknown bit in `opts->flags`, a stdio descriptor below -1 or not open, a string
/// array without its NULL); `PTRACE_DBG_E_OS`; `PTRACE_DBG_E_PERMISSION`.
///
/// Callable from any thread.
///
/// # Safety
/// `path` must be NULL or a NUL-terminated string. `argv` and `envp` must be NULL or
/// NULL-terminated arrays of NUL-terminated strings; `opts` NULL or a valid options struct
/// whose `cwd` is NULL or a NUL-terminated string; `out` NULL or writable. All of them only need
/// to live for the duration of the call.
#[no_mangle]
pub unsafe extern "C" fn ptrace_dbg_launch(
    path: *const c_char,
    argv: *const *const c_char,
    envp: *const *const c_char,
    opts: *const ptrace_dbg_launch_options,
    out: *mut *mut ptrace_dbg_process,
) -> c_int {
    boundary(|| {
        // SAFETY: the caller promises `path` is NULL or NUL-terminated.
        let path = unsafe { args::c_str(path, "path") }?;
        // SAFETY: the caller promises `out` is NULL or writable.
        let out = unsafe { args::out(out, "out") }?;
        // SAFETY: the caller promises `opts` is NULL or a valid struct.
        let opts = unsafe { opts.as_ref() }.copied().unwrap_or_default();
        let flags = opts.checked_flags()?;
        let mut options = engine::LaunchOptions::new();
        if !argv.is_null() {
            // SAFETY: non-NULL; the caller promises a NULL-terminated array of C strings.
            options.argv = unsafe { strings(argv, "argv") }?;
        }
        if !envp.is_null() {
            // SAFETY: non-NULL; the caller promises a NULL-terminated array of C strings.
            options.env = Some(unsafe { strings(envp, "envp") }?);
        }
        if !opts.cwd.is_null() {
            // SAFETY: non-NULL; the caller promises `opts->cwd` is NUL-terminated.
            let cwd = unsafe { CStr::from_ptr(opts.cwd) };
            options.cwd = Some(PathBuf::from(OsStr::from_bytes(cwd.to_bytes())));
        }
        options.stdio = [opts.stdin_fd, opts.stdout_fd, opts.stderr_fd];
        options.disable_aslr = flags & PTRACE_DBG_LAUNCH_DISABLE_ASLR != 0;
        let program = Path::new(OsStr::from_bytes(path.to_bytes()));
        register(engine::Process::launch(program, &options)?, out)
    })
}

/// The process id of the traced process (also after it exited or was detached).
///
/// Returns `PTRACE_DBG_OK`, `PTRACE_DBG_E_INVALID_HANDLE` or `PTRACE_DBG_E_INVALID_ARGUMENT`
/// (NULL `out`). Callable any time from any thread.
///
/// # Safety
/// `out` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn ptrace_dbg_pid(p: *const ptrace_dbg_process, out: *mut i32) -> c_int {
    boundary(|| {
        let process = PROCESSES.get(p)?;
        // SAFETY: the caller promises `out` is NULL or writable.
        let out = unsafe { args::out(out, "out") }?;
        out.write(process.pid());
        Ok(())
    })
}

/// Stops the process, removes every breakpoint from its memory and detaches every thread: the
/// process runs on untraced (no thread left in state t or T by us), with its pending signals
/// delivered. The handle stays valid (calls then give `PTRACE_DBG_E_BAD_STATE`) until freed.
///
/// Returns `PTRACE_DBG_OK`, `PTRACE_DBG_E_INVALID_HANDLE`, `PTRACE_DBG_E_EXITED` (it exited
/// first), `PTRACE_DBG_E_BAD_STATE` (already detached), `PTRACE_DBG_E_TIMEOUT` (a thread
/// never stopped). Callable running or stopped, from any thread. Calls blocked meanwhile on
/// other threads (`ptrace_dbg_wait_stop`, `_stop`, `_step`) return `PTRACE_DBG_E_BAD_STATE`
/// once the detach is done, never `PTRACE_DBG_OK` for the stop the detach makes first.
#[no_mangle]
pub extern "C" fn ptrace_dbg_detach(p: *mut ptrace_dbg_process) -> c_int {
    boundary(|| Ok(PROCESSES.get(p)?.detach()?))
}

/// Kills the process with SIGKILL and waits until every thread is reaped; afterwards calls
/// give `PTRACE_DBG_E_EXITED` and `ptrace_dbg_exit_status` reports signal 9. The handle stays
/// valid until freed.
///
/// Returns `PTRACE_DBG_OK`, `PTRACE_DBG_E_INVALID_HANDLE`, `PTRACE_DBG_E_EXITED` (it had
/// already exited), `PTRACE_DBG_E_BAD_STATE` (detached), `PTRACE_DBG_E_TIMEOUT`. Callable
/// running or stopped, from any thread. Calls blocked meanwhile on other threads
/// (`ptrace_dbg_wait_stop`, `_stop`, `_step`) return `PTRACE_DBG_E_EXITED`.
#[no_mangle]
pub extern "C" fn ptrace_dbg_kill(p: *mut ptrace_dbg_process) -> c_int {
    boundary(|| Ok(PROCESSES.get(p)?.kill()?))
}

/// Releases a process handle. NULL is a no-op. A process that was attached is detached (left
/// running, untraced, without our breakpoints); a launched one is killed and reaped. Then the
/// library's monitor thread for it ends and the handle is dead: every later call with it gives
/// `PTRACE_DBG_E_INVALID_HANDLE`. Freeing it again is harmless: nothing happens except that
/// `ptrace_dbg_last_error()` says the handle was freed. In a child the host forked, the handle
/// is not the child's: nothing happens (the parent's process is untouched) and
/// `ptrace_dbg_last_error()` says so.
///
/// Callable running or stopped, from any thread, also while other threads are inside calls on
/// the same handle: the handle is retired at once, so new calls fail, and the process is
/// killed or detached here, so calls blocked on it (e.g. `ptrace_dbg_wait_stop` with -1) return
/// `PTRACE_DBG_E_EXITED` or `PTRACE_DBG_E_BAD_STATE` instead of waiting on. The in-flight calls
/// keep the library's process object alive until they return; whichever thread lets go of it
/// last joins the (by then finished) monitor thread. That thread is never the monitor itself,
/// which holds no reference to the object, so the join cannot deadlock.
#[no_mangle]
pub extern "C" fn ptrace_dbg_process_free(p: *mut ptrace_dbg_process) {
    boundary_or((), || {
        if p.is_null() {
            return Ok(());
        }
        let process = PROCESSES.remove(p)?;
        // Errors are dropped on purpose: an exited process needs neither; a failed detach is
        // retried by the object's Drop, which releases the process in any case.
        let _ = if process.launched() { process.kill() } else { process.detach() };
        drop(process);
        Ok(())
    })
}

/// After the process exited (`PTRACE_DBG_E_EXITED` from a call, or after
/// `ptrace_dbg_kill`): `*exit_code` gets its exit code, or -1 when a signal killed it, and
/// `*term_signal` the terminating signal, or 0. Either pointer may be NULL.
///
/// Returns `PTRACE_DBG_OK`, `PTRACE_DBG_E_INVALID_HANDLE`, `PTRACE_DBG_E_BAD_STATE` (not
/// exited yet, or detached). Callable any time from any thread.
///
/// # Safety
/// `exit_code` and `term_signal` must each be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn ptrace_dbg_exit_status(
    p: *const ptrace_dbg_process,
    exit_code: *mut i32,
    term_signal: *mut i32,
) -> c_int {
    boundary(|| {
        let process = PROCESSES.get(p)?;
        let status = process.exit_status()?;
        // SAFETY: the caller promises each pointer is NULL or writable.
        if let Some(out) = unsafe { args::optional_out(exit_code) } {
            out.write(status.code);
        }
        // SAFETY: as above.
        if let Some(out) = unsafe { args::optional_out(term_signal) } {
            out.write(status.signal);
        }
        Ok(())
    })
}
