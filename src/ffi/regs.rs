//! Registers: the `ptrace_dbg_regs` struct and the architecture-neutral view by index and
//! name. The order and names come from `sys::arch::REG_NAMES` (the kernel's
//! `user_regs_struct`).

use super::args;
use super::error::Failure;
use super::panic::{boundary, boundary_or};
use crate::sys::arch::REG_NAMES;
use once_cell::sync::Lazy;
use std::ffi::{c_char, c_int, CString};

/// The x86-64 general registers of one thread: the kernel's `user_regs_struct`, same order
/// and names. Index `i` of `ptrace_dbg_reg_name` is the `i`-th field.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ptrace_dbg_regs {
    pub r15: u64,
    pub r14: u64,
    pub r13: u64,
    pub r12: u64,
    pub rbp: u64,
    pub rbx: u64,
    pub r11: u64,
    pub r10: u64,
    pub r9: u64,
    pub r8: u64,
    pub rax: u64,
    pub rcx: u64,
    pub rdx: u64,
    pub rsi: u64,
    pub rdi: u64,
    pub orig_rax: u64,
    pub rip: u64,
    pub cs: u64,
    pub eflags: u64,
    pub rsp: u64,
    pub ss: u64,
    pub fs_base: u64,
    pub gs_base: u64,
    pub ds: u64,
    pub es: u64,
    pub fs: u64,
    pub gs: u64,
}

/// Applies `$m!` to the register fields in `user_regs_struct` order (the index order), so the
/// conversions below list them once.
macro_rules! with_reg_fields {
    ($m:ident) => {
        $m!(
            r15, r14, r13, r12, rbp, rbx, r11, r10, r9, r8, rax, rcx, rdx, rsi, rdi, orig_rax, rip,
            cs, eflags, rsp, ss, fs_base, gs_base, ds, es, fs, gs
        )
    };
}

impl From<libc::user_regs_struct> for ptrace_dbg_regs {
    fn from(r: libc::user_regs_struct) -> Self {
        macro_rules! copy {
            ($($f:ident),*) => { ptrace_dbg_regs { $($f: r.$f),* } };
        }
        with_reg_fields!(copy)
    }
}

impl From<ptrace_dbg_regs> for libc::user_regs_struct {
    fn from(r: ptrace_dbg_regs) -> Self {
        macro_rules! copy {
            ($($f:ident),*) => { libc::user_regs_struct { $($f: r.$f),* } };
        }
        with_reg_fields!(copy)
    }
}

impl ptrace_dbg_regs {
    /// The register at `index` (as `ptrace_dbg_reg_name` numbers them), None out of range.
    pub fn get(&self, index: usize) -> Option<u64> {
        macro_rules! field {
            ($($f:ident),*) => { [$(self.$f),*] };
        }
        let all: [u64; 27] = with_reg_fields!(field);
        all.get(index).copied()
    }

    /// The register at `index`, for writing; None out of range.
    pub fn get_mut(&mut self, index: usize) -> Option<&mut u64> {
        macro_rules! field {
            ($($f:ident),*) => { [$(&mut self.$f),*] };
        }
        let all: [&mut u64; 27] = with_reg_fields!(field);
        all.into_iter().nth(index)
    }
}

/// [`REG_NAMES`] as C strings, built once; `ptrace_dbg_reg_name` hands out pointers into it.
static REG_NAMES_C: Lazy<Vec<CString>> = Lazy::new(|| {
    REG_NAMES.iter().map(|name| CString::new(*name).expect("register names hold no NUL")).collect()
});

/// The number of registers (27 on x86-64): valid indices are 0 to count - 1.
///
/// Callable any time from any thread; never fails.
#[no_mangle]
pub extern "C" fn ptrace_dbg_reg_count() -> usize {
    REG_NAMES.len()
}

/// The name of register `index` ("r15", ..., "rip", ..., "gs"), a static string; NULL when
/// `index` is out of range (and `ptrace_dbg_last_error()` says so).
///
/// Callable any time from any thread.
#[no_mangle]
pub extern "C" fn ptrace_dbg_reg_name(index: usize) -> *const c_char {
    boundary_or(std::ptr::null(), || {
        let index = args::index(index, REG_NAMES.len(), "index")?;
        Ok(REG_NAMES_C[index].as_ptr())
    })
}

/// The index of the register called `name` (exact, lower case: "rip", "fs_base").
///
/// Writes `*index` on success. Returns `PTRACE_DBG_OK`, or `PTRACE_DBG_E_INVALID_ARGUMENT`
/// when `name` or `index` is NULL or no register has that name. Callable any time from any
/// thread.
///
/// # Safety
/// `name` must be NULL or a NUL-terminated string; `index` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn ptrace_dbg_reg_index(name: *const c_char, index: *mut usize) -> c_int {
    boundary(|| {
        // SAFETY: the caller promises `name` is NULL or NUL-terminated.
        let name = unsafe { args::c_str(name, "name") }?;
        // SAFETY: the caller promises `index` is NULL or writable.
        let out = unsafe { args::out(index, "index") }?;
        let wanted = name.to_bytes();
        let found = REG_NAMES.iter().position(|reg| reg.as_bytes() == wanted);
        let found = found.ok_or_else(|| {
            Failure::invalid_argument(format!(
                "argument `name`: no register is called {:?}",
                name.to_string_lossy()
            ))
        })?;
        out.write(found);
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ffi::codes::{PTRACE_DBG_E_INVALID_ARGUMENT, PTRACE_DBG_OK};
    use std::ffi::CStr;
    use std::mem::{offset_of, size_of};

    /// Checks each field's offset against the kernel's struct and its name against REG_NAMES.
    macro_rules! check_fields {
        ($($field:ident),* $(,)?) => {{
            let mut checked = 0;
            $(
                let offset = offset_of!(ptrace_dbg_regs, $field);
                assert_eq!(offset, offset_of!(libc::user_regs_struct, $field));
                assert_eq!(REG_NAMES[offset / 8], stringify!($field));
                checked += 1;
            )*
            checked
        }};
    }

    #[test]
    fn regs_match_user_regs_struct_and_reg_names() {
        let checked = check_fields!(
            r15, r14, r13, r12, rbp, rbx, r11, r10, r9, r8, rax, rcx, rdx, rsi, rdi, orig_rax, rip,
            cs, eflags, rsp, ss, fs_base, gs_base, ds, es, fs, gs,
        );
        assert_eq!(checked, 27);
        assert_eq!(size_of::<ptrace_dbg_regs>(), size_of::<libc::user_regs_struct>());
        assert_eq!(size_of::<ptrace_dbg_regs>(), 8 * ptrace_dbg_reg_count());
    }

    #[test]
    fn conversions_and_index_access_follow_the_field_order() {
        let mut regs = ptrace_dbg_regs::default();
        for i in 0..ptrace_dbg_reg_count() {
            *regs.get_mut(i).unwrap() = 100 + i as u64;
        }
        assert!(regs.get_mut(27).is_none() && regs.get(27).is_none());
        assert_eq!((regs.r15, regs.rip, regs.gs), (100, 116, 126));
        let kernel = libc::user_regs_struct::from(regs);
        assert_eq!((kernel.rsp, kernel.orig_rax), (119, 115));
        let back = ptrace_dbg_regs::from(kernel);
        assert_eq!(back, regs);
        assert_eq!(back.get(16), Some(116));
    }

    #[test]
    fn every_name_maps_back_to_its_index() {
        assert_eq!(ptrace_dbg_reg_count(), 27);
        for i in 0..ptrace_dbg_reg_count() {
            let name = ptrace_dbg_reg_name(i);
            let mut index = usize::MAX;
            // SAFETY: `name` is a static C string from reg_name; `index` a live local.
            let code = unsafe { ptrace_dbg_reg_index(name, &mut index) };
            assert_eq!(code, PTRACE_DBG_OK);
            assert_eq!(index, i);
        }
        // SAFETY: reg_name returns static NUL-terminated strings.
        assert_eq!(unsafe { CStr::from_ptr(ptrace_dbg_reg_name(16)) }, c"rip");
        assert!(ptrace_dbg_reg_name(27).is_null());
    }

    #[test]
    fn unknown_names_and_nulls_are_invalid_arguments() {
        let mut index = 99usize;
        for name in [c"RIP", c"", c"rip "] {
            // SAFETY: static C strings and a live local.
            let code = unsafe { ptrace_dbg_reg_index(name.as_ptr(), &mut index) };
            assert_eq!(code, PTRACE_DBG_E_INVALID_ARGUMENT);
        }
        // SAFETY: NULL pointers are rejected before any use.
        unsafe {
            let code = ptrace_dbg_reg_index(std::ptr::null(), &mut index);
            assert_eq!(code, PTRACE_DBG_E_INVALID_ARGUMENT);
            let code = ptrace_dbg_reg_index(c"rip".as_ptr(), std::ptr::null_mut());
            assert_eq!(code, PTRACE_DBG_E_INVALID_ARGUMENT);
        }
        assert_eq!(index, 99, "a failing call wrote its out-parameter");
    }
}
