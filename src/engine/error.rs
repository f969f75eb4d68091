//! The engine's error type. The ffi layer maps each variant to one `PTRACE_DBG_E_*` code.

use nix::errno::Errno;

/// Everything an engine call can fail with. Messages are what `ptrace_dbg_last_error()` shows.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    /// A caller's argument is unusable (bad length, unknown flag, ...).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// The call needs the process or thread in another state (e.g. stopped).
    #[error("bad state: {0}")]
    BadState(String),
    /// The thread id is not a live thread of this process.
    #[error("no such thread: {0} is not a live thread of this process")]
    NoSuchThread(i32),
    /// A breakpoint is already set at this address.
    #[error("a breakpoint already exists at {0:#x}")]
    BreakpointExists(u64),
    /// No breakpoint is set at this address.
    #[error("no breakpoint at {0:#x}")]
    NoBreakpoint(u64),
    /// No such watchpoint: the id is not set (never was, removed, or gone with an exec), or
    /// the thread's stop is not a watchpoint hit.
    #[error("{0}")]
    NoWatchpoint(String),
    /// A limited resource is used up (e.g. all four debug register slots hold watchpoints).
    #[error("no resource: {0}")]
    NoResource(String),
    /// EPERM/EACCES from the kernel; the text names the likely cause.
    #[error("permission denied: {call}: {errno:?}{hint}")]
    Permission { call: &'static str, errno: Errno, hint: &'static str },
    /// The process does not exist (or vanished).
    #[error("no such process: {0}")]
    NoSuchProcess(String),
    /// A wait ran out of time.
    #[error("timed out: {0}")]
    Timeout(String),
    /// The traced process has exited; only exit_status still answers.
    #[error("the process has exited")]
    Exited,
    /// Tracee memory is not accessible at `addr`; `done` bytes were transferred before it.
    #[error("memory fault at {addr:#x} after {done} bytes: {detail}")]
    Fault { addr: u64, done: usize, detail: String },
    /// The CPU or kernel lacks the feature (e.g. zmm registers without AVX-512).
    #[error("not supported: {0}")]
    NotSupported(String),
    /// Any other failing system call.
    // nix's Errno shows as "ENOENT: No such file or directory": name and text, each once.
    #[error("{call}: {errno}")]
    Os { call: &'static str, errno: Errno },
    /// A symbol, object or symbol breakpoint that does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// A bug in the library caught before it could do harm.
    #[error("internal error: {0}")]
    Internal(String),
}

/// Engine results.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// A failing system call, classified: EPERM/EACCES become `Permission`; anything else `Os`.
    pub fn os(call: &'static str, errno: Errno) -> Error {
        match errno {
            Errno::EPERM | Errno::EACCES => Error::Permission { call, errno, hint: "" },
            _ => Error::Os { call, errno },
        }
    }
}
