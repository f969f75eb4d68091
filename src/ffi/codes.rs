//! Result codes: `PTRACE_DBG_OK` and the negative `PTRACE_DBG_E_*` values.
//!
//! The values are part of the ABI: programs compiled against an old header compare against
//! them, so a value is never changed or reused. A new code takes the next unused negative.

use std::ffi::{c_char, c_int, CStr};

/// Success.
pub const PTRACE_DBG_OK: c_int = 0;
/// An argument is unusable: a NULL pointer, a bad length, an unknown flag bit or enum value,
/// an index out of range. `ptrace_dbg_last_error()` names the argument.
pub const PTRACE_DBG_E_INVALID_ARGUMENT: c_int = -1;
/// The process handle is NULL, was freed, never was a handle, or belongs to the parent of this
/// forked process (handles do not survive fork).
pub const PTRACE_DBG_E_INVALID_HANDLE: c_int = -2;
/// The process or thread is in the wrong state for the call (e.g. registers of a running
/// thread).
pub const PTRACE_DBG_E_BAD_STATE: c_int = -3;
/// The thread id is not a live thread of the process.
pub const PTRACE_DBG_E_NO_SUCH_THREAD: c_int = -4;
/// A breakpoint is already set at that address.
pub const PTRACE_DBG_E_BREAKPOINT_EXISTS: c_int = -5;
/// No breakpoint is set at that address.
pub const PTRACE_DBG_E_NO_BREAKPOINT: c_int = -6;
/// The kernel refused (EPERM/EACCES): ptrace_scope, missing capabilities, another tracer.
pub const PTRACE_DBG_E_PERMISSION: c_int = -7;
/// The process does not exist.
pub const PTRACE_DBG_E_NO_SUCH_PROCESS: c_int = -8;
/// A wait ran out of time.
pub const PTRACE_DBG_E_TIMEOUT: c_int = -9;
/// The process has exited; only `ptrace_dbg_exit_status` still answers.
pub const PTRACE_DBG_E_EXITED: c_int = -10;
/// Tracee memory is not accessible at the address.
pub const PTRACE_DBG_E_FAULT: c_int = -11;
/// The caller's buffer is too small; the call reports the size needed.
pub const PTRACE_DBG_E_BUFFER_TOO_SMALL: c_int = -12;
/// Any other failing system call; `ptrace_dbg_last_error()` names the call and errno.
pub const PTRACE_DBG_E_OS: c_int = -13;
/// A bug in the library caught at the boundary (e.g. a panic); the host is unharmed.
pub const PTRACE_DBG_E_INTERNAL: c_int = -14;
/// A limited resource is used up: all four hardware watchpoint slots (debug registers DR0-DR3)
/// are taken.
pub const PTRACE_DBG_E_NO_RESOURCE: c_int = -15;
/// No such symbol, loaded object, or symbol breakpoint (and nothing can load one later).
pub const PTRACE_DBG_E_NOT_FOUND: c_int = -16;
/// The CPU or kernel lacks the feature (e.g. a zmm register on a CPU without AVX-512).
pub const PTRACE_DBG_E_NOT_SUPPORTED: c_int = -17;

/// Every code with its fixed text, the single table `ptrace_dbg_strerror` reads.
const TEXTS: [(c_int, &CStr); 18] = [
    (PTRACE_DBG_OK, c"success"),
    (PTRACE_DBG_E_INVALID_ARGUMENT, c"invalid argument"),
    (PTRACE_DBG_E_INVALID_HANDLE, c"invalid process handle"),
    (PTRACE_DBG_E_BAD_STATE, c"process or thread in the wrong state for this call"),
    (PTRACE_DBG_E_NO_SUCH_THREAD, c"no such thread in the process"),
    (PTRACE_DBG_E_BREAKPOINT_EXISTS, c"breakpoint already exists"),
    (PTRACE_DBG_E_NO_BREAKPOINT, c"no breakpoint at this address"),
    (PTRACE_DBG_E_PERMISSION, c"permission denied"),
    (PTRACE_DBG_E_NO_SUCH_PROCESS, c"no such process"),
    (PTRACE_DBG_E_TIMEOUT, c"timed out"),
    (PTRACE_DBG_E_EXITED, c"the process has exited"),
    (PTRACE_DBG_E_FAULT, c"tracee memory not accessible"),
    (PTRACE_DBG_E_BUFFER_TOO_SMALL, c"buffer too small"),
    (PTRACE_DBG_E_OS, c"system call failed"),
    (PTRACE_DBG_E_INTERNAL, c"internal error in ptrace_dbg"),
    (PTRACE_DBG_E_NO_RESOURCE, c"no resource left (all hardware watchpoint slots are in use)"),
    (PTRACE_DBG_E_NOT_FOUND, c"not found"),
    (PTRACE_DBG_E_NOT_SUPPORTED, c"not supported by this CPU or kernel"),
];

/// The text for a code that is not in [`TEXTS`].
const UNKNOWN_TEXT: &CStr = c"unknown ptrace_dbg result code";

/// The fixed text of `code`.
pub fn text(code: c_int) -> &'static CStr {
    TEXTS.iter().find(|(c, _)| *c == code).map_or(UNKNOWN_TEXT, |(_, text)| text)
}

/// A fixed, static, human-readable text for a result code (`"invalid argument"`, ...).
///
/// Callable any time from any thread; never fails. An unknown code gives a generic text.
/// The string is static: never free it.
#[no_mangle]
pub extern "C" fn ptrace_dbg_strerror(code: c_int) -> *const c_char {
    text(code).as_ptr()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn codes_are_zero_and_distinct_negatives() {
        let codes: HashSet<c_int> = TEXTS.iter().map(|(c, _)| *c).collect();
        assert_eq!(codes.len(), TEXTS.len());
        assert!(codes.iter().all(|c| *c <= 0));
        assert_eq!(TEXTS[0].0, PTRACE_DBG_OK);
    }

    #[test]
    fn texts_are_distinct_and_unknown_codes_get_the_generic_text() {
        let texts: HashSet<&CStr> = TEXTS.iter().map(|(_, t)| *t).collect();
        assert_eq!(texts.len(), TEXTS.len());
        assert!(!texts.contains(UNKNOWN_TEXT));
        assert_eq!(text(-1000), UNKNOWN_TEXT);
        assert_eq!(text(1), UNKNOWN_TEXT);
        assert_eq!(text(PTRACE_DBG_E_TIMEOUT), c"timed out");
    }

    #[test]
    fn strerror_gives_each_codes_text_through_the_c_boundary() {
        for &(code, want) in TEXTS.iter().chain([(12345, UNKNOWN_TEXT)].iter()) {
            let ptr = ptrace_dbg_strerror(code);
            assert!(!ptr.is_null(), "{code}");
            // SAFETY: ptrace_dbg_strerror returns a pointer to a static NUL-terminated string.
            assert_eq!(unsafe { CStr::from_ptr(ptr) }, want, "{code}");
        }
    }
}
