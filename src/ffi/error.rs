//! Failures at the boundary: the one mapping from engine errors to result codes, and the
//! thread-local text behind `ptrace_dbg_last_error()`.
//!
//! The last-error text is set only when a call fails and is left alone by calls that succeed,
//! so `ptrace_dbg_strerror(rc)` and `ptrace_dbg_last_error()` can be evaluated in any order.

use super::codes::*;
use crate::engine;
use std::cell::RefCell;
use std::ffi::{c_char, c_int, CString};

/// A failed call as C sees it: the code it returns and the text `ptrace_dbg_last_error()`
/// gives afterwards on the same thread.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// A negative `PTRACE_DBG_E_*` code.
    pub code: c_int,
    /// What went wrong, for a human.
    pub message: String,
}

impl Failure {
    /// A failure with `code` and `message`.
    pub fn new(code: c_int, message: impl Into<String>) -> Failure {
        Failure { code, message: message.into() }
    }

    /// `PTRACE_DBG_E_INVALID_ARGUMENT`; the message should name the argument.
    pub fn invalid_argument(message: impl Into<String>) -> Failure {
        Failure::new(PTRACE_DBG_E_INVALID_ARGUMENT, message)
    }
}

/// The result code of an engine error: the only place engine errors meet C codes.
pub fn code_of(error: &engine::Error) -> c_int {
    use engine::Error as E;
    match error {
        E::InvalidArgument(_) => PTRACE_DBG_E_INVALID_ARGUMENT,
        E::BadState(_) => PTRACE_DBG_E_BAD_STATE,
        E::NoSuchThread(_) => PTRACE_DBG_E_NO_SUCH_THREAD,
        E::BreakpointExists(_) => PTRACE_DBG_E_BREAKPOINT_EXISTS,
        E::NoBreakpoint(_) => PTRACE_DBG_E_NO_BREAKPOINT,
        E::NoWatchpoint(_) => PTRACE_DBG_E_NO_BREAKPOINT,
        E::NoResource(_) => PTRACE_DBG_E_NO_RESOURCE,
        E::Permission { .. } => PTRACE_DBG_E_PERMISSION,
        E::NoSuchProcess(_) => PTRACE_DBG_E_NO_SUCH_PROCESS,
        E::Timeout(_) => PTRACE_DBG_E_TIMEOUT,
        E::Exited => PTRACE_DBG_E_EXITED,
        E::Fault { .. } => PTRACE_DBG_E_FAULT,
        E::Os { .. } => PTRACE_DBG_E_OS,
        E::NotFound(_) => PTRACE_DBG_E_NOT_FOUND,
        E::NotSupported(_) => PTRACE_DBG_E_NOT_SUPPORTED,
        E::Internal(_) => PTRACE_DBG_E_INTERNAL,
    }
}

impl From<engine::Error> for Failure {
    fn from(error: engine::Error) -> Failure {
        Failure::new(code_of(&error), error.to_string())
    }
}

thread_local! {
    /// This thread's last failure text; "" until a call on this thread fails.
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

/// Records `message` as this thread's last error. Interior NUL bytes (a C string cannot hold
/// them) become spaces. Does nothing while the thread is being torn down.
pub fn set_last_error(message: &str) {
    let text = CString::new(message.replace('\0', " ")).unwrap_or_default();
    let _ = LAST_ERROR.try_with(|last| *last.borrow_mut() = text);
}

/// What the last failing call on this thread said: the operation, the system call and its
/// errno text where there was one. `""` if no call on this thread has failed yet.
///
/// The string belongs to the library and is thread-local: it stays valid until the next
/// failing `ptrace_dbg_*` call on the same thread (successful calls leave it alone) or the
/// thread's exit. Other threads' failures never change it. Never fails; never NULL.
/// Callable any time from any thread.
#[no_mangle]
pub extern "C" fn ptrace_dbg_last_error() -> *const c_char {
    LAST_ERROR.try_with(|last| last.borrow().as_ptr()).unwrap_or(c"".as_ptr())
}

#[cfg(test)]
mod tests {
    use super::*;
    use nix::errno::Errno;
    use std::ffi::CStr;

    fn last_error() -> String {
        // SAFETY: ptrace_dbg_last_error returns a NUL-terminated string valid until the next
        // failing call on this thread; it is copied before any other call.
        unsafe { CStr::from_ptr(ptrace_dbg_last_error()) }.to_string_lossy().into_owned()
    }

    #[test]
    fn last_error_is_empty_until_set_and_is_per_thread() {
        assert_eq!(last_error(), "");
        set_last_error("first\0second");
        assert_eq!(last_error(), "first second");
        let other = std::thread::spawn(last_error).join().unwrap();
        assert_eq!(other, "");
        assert_eq!(last_error(), "first second");
    }

    #[test]
    fn every_engine_error_maps_to_its_code_with_its_display_text() {
        let cases = [
            (engine::Error::InvalidArgument("x".into()), PTRACE_DBG_E_INVALID_ARGUMENT),
            (engine::Error::BadState("x".into()), PTRACE_DBG_E_BAD_STATE),
            (engine::Error::NoSuchThread(7), PTRACE_DBG_E_NO_SUCH_THREAD),
            (engine::Error::BreakpointExists(0x10), PTRACE_DBG_E_BREAKPOINT_EXISTS),
            (engine::Error::NoBreakpoint(0x10), PTRACE_DBG_E_NO_BREAKPOINT),
            (engine::Error::NoWatchpoint("x".into()), PTRACE_DBG_E_NO_BREAKPOINT),
            (engine::Error::NoResource("x".into()), PTRACE_DBG_E_NO_RESOURCE),
            (engine::Error::os("ptrace", Errno::EPERM), PTRACE_DBG_E_PERMISSION),
            (engine::Error::NoSuchProcess("x".into()), PTRACE_DBG_E_NO_SUCH_PROCESS),
            (engine::Error::Timeout("x".into()), PTRACE_DBG_E_TIMEOUT),
            (engine::Error::Exited, PTRACE_DBG_E_EXITED),
            (engine::Error::Fault { addr: 1, done: 0, detail: "x".into() }, PTRACE_DBG_E_FAULT),
            (engine::Error::os("waitpid", Errno::ECHILD), PTRACE_DBG_E_OS),
            (engine::Error::NotFound("x".into()), PTRACE_DBG_E_NOT_FOUND),
            (engine::Error::Internal("x".into()), PTRACE_DBG_E_INTERNAL),
            (engine::Error::NotSupported("x".into()), PTRACE_DBG_E_NOT_SUPPORTED),
        ];
        for (error, code) in cases {
            let text = error.to_string();
            assert_eq!(Failure::from(error), Failure::new(code, text));
        }
    }
}
