//! The panic boundary: every exported body runs inside [`boundary`] or [`boundary_or`], so a
//! panic never unwinds into C (Rust would abort the host there). A panic becomes
//! `PTRACE_DBG_E_INTERNAL` with the panic message in `ptrace_dbg_last_error()`.
//!
//! No panic hook is installed: the hook is process-global and belongs to the host. So Rust's
//! default hook may still print the panic message to stderr before it is caught; that is the
//! one output the library can produce unasked, and only for a bug.

use super::codes::{PTRACE_DBG_E_INTERNAL, PTRACE_DBG_OK};
use super::error::{set_last_error, Failure};
use std::any::Any;
use std::ffi::c_int;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Runs the body of an exported function that returns a result code: `Ok` gives
/// `PTRACE_DBG_OK`; a [`Failure`] (an engine error converts with `?`) or a panic sets this
/// thread's last error and gives the failure's code.
pub fn boundary(body: impl FnOnce() -> Result<(), Failure>) -> c_int {
    match run(body) {
        Ok(()) => PTRACE_DBG_OK,
        Err(failure) => failure.code,
    }
}

/// Runs the body of an exported function that returns a value instead of a code (a pointer,
/// a size, nothing): a failure or a panic sets this thread's last error and returns `default`.
pub fn boundary_or<T>(default: T, body: impl FnOnce() -> Result<T, Failure>) -> T {
    run(body).unwrap_or(default)
}

/// Catches a panic of `body` and records any failure as the last error.
fn run<T>(body: impl FnOnce() -> Result<T, Failure>) -> Result<T, Failure> {
    // AssertUnwindSafe: after a panic the body's captures are dropped, never used again.
    // State shared beyond one call must survive a panic by itself (its locks poison).
    let result = catch_unwind(AssertUnwindSafe(body)).unwrap_or_else(|payload| {
        Err(Failure::new(
            PTRACE_DBG_E_INTERNAL,
            format!("internal error: panic: {}", panic_text(payload.as_ref())),
        ))
    });
    if let Err(failure) = &result {
        set_last_error(&failure.message);
    }
    result
}

/// The message of a panic payload (`panic!` gives a `&str` or a `String`).
fn panic_text(payload: &(dyn Any + Send)) -> &str {
    if let Some(text) = payload.downcast_ref::<&str>() {
        text
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text
    } else {
        "(a panic without a message)"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ffi::codes::PTRACE_DBG_E_TIMEOUT;
    use crate::ffi::error::ptrace_dbg_last_error;
    use std::ffi::{c_char, CStr};

    fn last_error() -> String {
        // SAFETY: a NUL-terminated thread-local string, copied before the next call.
        unsafe { CStr::from_ptr(ptrace_dbg_last_error()) }.to_string_lossy().into_owned()
    }

    /// An exported-style function whose body panics, as a bug in the library would.
    extern "C" fn panicking_call(n: c_int) -> c_int {
        boundary(|| {
            let items: Vec<c_int> = Vec::new();
            panic!("index {n} of {} items", items.len())
        })
    }

    extern "C" fn panicking_getter() -> *const c_char {
        boundary_or(std::ptr::null(), || panic!("getter bug"))
    }

    #[test]
    fn a_panic_becomes_internal_with_its_message_and_the_caller_lives() {
        assert_eq!(panicking_call(3), PTRACE_DBG_E_INTERNAL);
        assert_eq!(last_error(), "internal error: panic: index 3 of 0 items");
        assert!(panicking_getter().is_null());
        assert_eq!(last_error(), "internal error: panic: getter bug");
        // The thread goes on working after both panics.
        assert_eq!(boundary(|| Ok(())), PTRACE_DBG_OK);
    }

    #[test]
    fn a_failure_sets_last_error_and_success_leaves_it() {
        let code = boundary(|| Err(Failure::new(PTRACE_DBG_E_TIMEOUT, "waited 5 ms")));
        assert_eq!(code, PTRACE_DBG_E_TIMEOUT);
        assert_eq!(last_error(), "waited 5 ms");
        assert_eq!(boundary_or(0usize, || Ok(27)), 27);
        assert_eq!(last_error(), "waited 5 ms");
        let engine_error = || Err(crate::engine::Error::Exited)?;
        assert_eq!(boundary(engine_error), crate::ffi::codes::PTRACE_DBG_E_EXITED);
        assert_eq!(last_error(), "the process has exited");
    }
}
