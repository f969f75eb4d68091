//! Launch options: the struct C fills in for `ptrace_dbg_launch`, and its initializer.

use super::args;
use super::error::Failure;
use super::panic::boundary_or;
use std::ffi::c_char;

/// Launch flag: run the program with address-space randomization off (`personality`
/// `ADDR_NO_RANDOMIZE`), so addresses repeat from run to run.
pub const PTRACE_DBG_LAUNCH_DISABLE_ASLR: u32 = 1;

/// Every launch flag this version knows; any other bit is `PTRACE_DBG_E_INVALID_ARGUMENT`.
const LAUNCH_FLAGS_KNOWN: u32 = PTRACE_DBG_LAUNCH_DISABLE_ASLR;

/// How `ptrace_dbg_launch` starts a program. Fill it with `ptrace_dbg_launch_options_init`
/// first, then change what you need, so fields added later get their defaults.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct ptrace_dbg_launch_options {
    /// Working directory of the new process; NULL inherits the host's.
    pub cwd: *const c_char,
    /// File descriptor the new process gets as its stdin; -1 inherits the host's.
    pub stdin_fd: i32,
    /// File descriptor the new process gets as its stdout; -1 inherits the host's.
    pub stdout_fd: i32,
    /// File descriptor the new process gets as its stderr; -1 inherits the host's.
    pub stderr_fd: i32,
    /// `PTRACE_DBG_LAUNCH_*` bits ORed together.
    pub flags: u32,
}

impl Default for ptrace_dbg_launch_options {
    /// Inherit everything, no flags.
    fn default() -> Self {
        ptrace_dbg_launch_options {
            cwd: std::ptr::null(),
            stdin_fd: -1,
            stdout_fd: -1,
            stderr_fd: -1,
            flags: 0,
        }
    }
}

impl ptrace_dbg_launch_options {
    /// The flags, checked: an unknown bit is `PTRACE_DBG_E_INVALID_ARGUMENT`.
    pub fn checked_flags(&self) -> Result<u32, Failure> {
        args::flags(self.flags, LAUNCH_FLAGS_KNOWN, "opts->flags")
    }
}

/// Fills `opts` with the defaults: `cwd` NULL, the three fds -1 (inherit), `flags` 0.
///
/// Callable any time from any thread. A NULL `opts` is a no-op.
///
/// # Safety
/// A non-NULL `opts` must point to writable memory for one `ptrace_dbg_launch_options`.
#[no_mangle]
pub unsafe extern "C" fn ptrace_dbg_launch_options_init(opts: *mut ptrace_dbg_launch_options) {
    boundary_or((), || {
        // SAFETY: the caller promises a non-NULL `opts` is writable.
        if let Some(out) = unsafe { args::optional_out(opts) } {
            out.write(ptrace_dbg_launch_options::default());
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn init_writes_the_defaults_and_ignores_null() {
        let mut opts = ptrace_dbg_launch_options {
            cwd: c"/tmp".as_ptr(),
            stdin_fd: 3,
            stdout_fd: 4,
            stderr_fd: 5,
            flags: 9,
        };
        // SAFETY: a live local, then NULL.
        unsafe {
            ptrace_dbg_launch_options_init(&mut opts);
            ptrace_dbg_launch_options_init(std::ptr::null_mut());
        }
        assert!(opts.cwd.is_null());
        assert_eq!((opts.stdin_fd, opts.stdout_fd, opts.stderr_fd, opts.flags), (-1, -1, -1, 0));
    }

    #[test]
    fn unknown_launch_flags_are_invalid_arguments() {
        let mut opts = ptrace_dbg_launch_options {
            flags: PTRACE_DBG_LAUNCH_DISABLE_ASLR,
            ..Default::default()
        };
        assert_eq!(opts.checked_flags(), Ok(PTRACE_DBG_LAUNCH_DISABLE_ASLR));
        opts.flags = 0x10 | PTRACE_DBG_LAUNCH_DISABLE_ASLR;
        let failure = opts.checked_flags().unwrap_err();
        assert_eq!(failure.message, "argument `opts->flags` has unknown flag bits 0x10");
    }
}
