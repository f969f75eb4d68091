//! Checks on the arguments C passes in. Each failure is `PTRACE_DBG_E_INVALID_ARGUMENT` with
//! a message naming the argument, e.g. "argument `out` is NULL".
//!
//! The pointer helpers are `unsafe fn`: the caller (an exported function) passes on the C
//! caller's promise that a non-NULL pointer is valid for the access, as the header documents.

use super::error::Failure;
use std::ffi::{c_char, CStr};
use std::ptr::NonNull;

/// A checked, non-NULL output pointer. Writing is the only thing it allows, and an exported
/// function writes its out-parameters only once it has succeeded.
#[derive(Debug)]
pub struct Out<T>(NonNull<T>);

impl<T> Out<T> {
    /// Writes `value` to the caller's location.
    pub fn write(self, value: T) {
        // SAFETY: `out`/`optional_out` made this from a non-NULL pointer that their caller
        // promised valid for writes of T; `write` does not read or drop the old contents,
        // which C may have left uninitialized.
        unsafe { self.0.as_ptr().write(value) }
    }
}

/// The message for a NULL pointer argument.
fn null(name: &str) -> Failure {
    Failure::invalid_argument(format!("argument `{name}` is NULL"))
}

/// Checks the out-parameter `name` is not NULL.
///
/// # Safety
/// A non-NULL `ptr` must be valid for writes of `T` until the [`Out`] is written or dropped.
pub unsafe fn out<T>(ptr: *mut T, name: &str) -> Result<Out<T>, Failure> {
    NonNull::new(ptr).map(Out).ok_or_else(|| null(name))
}

/// An out-parameter that may be NULL ("not wanted"): `None` then.
///
/// # Safety
/// As [`out`].
pub unsafe fn optional_out<T>(ptr: *mut T) -> Option<Out<T>> {
    NonNull::new(ptr).map(Out)
}

/// Borrows the input `name`, which must not be NULL.
///
/// # Safety
/// A non-NULL `ptr` must point to a valid `T` that nothing writes for the lifetime `'a`.
pub unsafe fn input<'a, T>(ptr: *const T, name: &str) -> Result<&'a T, Failure> {
    // SAFETY: non-NULL checked by as_ref; validity is the caller's promise.
    unsafe { ptr.as_ref() }.ok_or_else(|| null(name))
}

/// Borrows the C string `name`, which must not be NULL.
///
/// # Safety
/// A non-NULL `ptr` must point to a NUL-terminated string that lives and stays unchanged
/// for `'a`.
pub unsafe fn c_str<'a>(ptr: *const c_char, name: &str) -> Result<&'a CStr, Failure> {
    if ptr.is_null() {
        return Err(null(name));
    }
    // SAFETY: non-NULL; NUL termination and lifetime are the caller's promise.
    Ok(unsafe { CStr::from_ptr(ptr) })
}

/// Borrows `len` elements at `ptr` as input; `ptr` may be NULL only when `len` is 0.
///
/// # Safety
/// A non-NULL `ptr` must be valid for reads of `len` elements that nothing writes for `'a`.
pub unsafe fn slice<'a, T>(ptr: *const T, len: usize, name: &str) -> Result<&'a [T], Failure> {
    match (ptr.is_null(), len) {
        (true, 0) => Ok(&[]),
        (true, _) => Err(null(name)),
        // SAFETY: non-NULL; the caller promises `len` readable elements.
        (false, _) => Ok(unsafe { std::slice::from_raw_parts(ptr, len) }),
    }
}

/// Borrows `len` elements at `ptr` as an output buffer; `ptr` may be NULL only when `len` is
/// 0. The elements must be plain integers (C may hand over uninitialized memory).
///
/// # Safety
/// A non-NULL `ptr` must be valid for reads and writes of `len` elements that nothing else
/// touches for `'a`.
pub unsafe fn slice_mut<'a, T: Copy>(
    ptr: *mut T,
    len: usize,
    name: &str,
) -> Result<&'a mut [T], Failure> {
    match (ptr.is_null(), len) {
        (true, 0) => Ok(&mut []),
        (true, _) => Err(null(name)),
        // SAFETY: non-NULL; the caller promises `len` writable elements, used by nobody else.
        (false, _) => Ok(unsafe { std::slice::from_raw_parts_mut(ptr, len) }),
    }
}

/// Checks that `value` sets no bit outside `known`.
pub fn flags(value: u32, known: u32, name: &str) -> Result<u32, Failure> {
    match value & !known {
        0 => Ok(value),
        unknown => Err(Failure::invalid_argument(format!(
            "argument `{name}` has unknown flag bits {unknown:#x}"
        ))),
    }
}

/// Checks that `value` is an index below `len`.
pub fn index(value: usize, len: usize, name: &str) -> Result<usize, Failure> {
    if value < len {
        Ok(value)
    } else {
        Err(Failure::invalid_argument(format!(
            "argument `{name}` is {value}, out of range 0..{len}"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ffi::codes::PTRACE_DBG_E_INVALID_ARGUMENT;

    fn message<T: std::fmt::Debug>(result: Result<T, Failure>) -> String {
        let failure = result.unwrap_err();
        assert_eq!(failure.code, PTRACE_DBG_E_INVALID_ARGUMENT);
        failure.message
    }

    #[test]
    fn null_pointers_are_rejected_by_name() {
        // SAFETY: NULL pointers only, which the helpers never dereference.
        unsafe {
            let null_out = out(std::ptr::null_mut::<i32>(), "out");
            assert_eq!(message(null_out), "argument `out` is NULL");
            assert_eq!(message(c_str(std::ptr::null(), "name")), "argument `name` is NULL");
            assert_eq!(message(input(std::ptr::null::<u64>(), "regs")), "argument `regs` is NULL");
            assert_eq!(
                message(slice_mut(std::ptr::null_mut::<i32>(), 4, "tids")),
                "argument `tids` is NULL"
            );
            assert!(slice_mut(std::ptr::null_mut::<i32>(), 0, "tids").unwrap().is_empty());
            assert!(slice(std::ptr::null::<u8>(), 0, "buf").unwrap().is_empty());
            assert!(optional_out(std::ptr::null_mut::<i32>()).is_none());
        }
    }

    #[test]
    fn valid_pointers_pass_and_out_writes() {
        let mut value = 0i32;
        let bytes = [1u8, 2, 3];
        // SAFETY: pointers to live locals of the right type and length.
        unsafe {
            out(&mut value, "out").unwrap().write(42);
            assert_eq!(*input(&value, "in").unwrap(), 42);
            assert_eq!(slice(bytes.as_ptr(), 3, "buf").unwrap(), &bytes);
            assert_eq!(c_str(c"rip".as_ptr(), "name").unwrap(), c"rip");
        }
        assert_eq!(value, 42);
    }

    #[test]
    fn unknown_flags_and_out_of_range_indices_are_rejected_by_name() {
        assert_eq!(flags(0b101, 0b111, "flags"), Ok(0b101));
        assert_eq!(
            message(flags(0b1001, 0b1, "flags")),
            "argument `flags` has unknown flag bits 0x8"
        );
        assert_eq!(index(26, 27, "index"), Ok(26));
        assert_eq!(message(index(27, 27, "index")), "argument `index` is 27, out of range 0..27");
    }
}
