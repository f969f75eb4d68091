//! Registers beyond `ptrace_dbg_regs`: the x87/SSE struct, the raw XSAVE area, and every
//! register by name (`engine::xregs` has the catalogue and where each register lives).

use super::args;
use super::codes::PTRACE_DBG_E_BUFFER_TOO_SMALL;
use super::error::Failure;
use super::panic::{boundary, boundary_or};
use super::process::PROCESSES;
use super::types::ptrace_dbg_process;
use crate::engine::xregs::Catalogue;
use once_cell::sync::Lazy;
use std::ffi::{c_char, c_int, c_void, CString};

/// The x87 and SSE registers of one thread: the kernel's `user_fpregs_struct` (the 512-byte
/// FXSAVE image), same order and names.
///
/// `st_space` holds st0-st7 (16 bytes each, the 80-bit value in the low 10), `xmm_space`
/// xmm0-xmm15 (16 bytes each). `ftw` is FXSAVE's abridged tag (one bit per register, 1 = not
/// empty). `rip`/`rdp` are the last x87 instruction and operand pointers. `padding` reads as
/// zeros and is ignored on write.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ptrace_dbg_fpregs {
    pub cwd: u16,
    pub swd: u16,
    pub ftw: u16,
    pub fop: u16,
    pub rip: u64,
    pub rdp: u64,
    pub mxcsr: u32,
    pub mxcr_mask: u32,
    pub st_space: [u32; 32],
    pub xmm_space: [u32; 64],
    pub padding: [u32; 24],
}

impl ptrace_dbg_fpregs {
    /// The struct from the FXSAVE image's bytes.
    fn from_image(b: &[u8; 512]) -> ptrace_dbg_fpregs {
        let u16_at = |o: usize| u16::from_le_bytes([b[o], b[o + 1]]);
        let u32_at = |o: usize| u32::from_le_bytes(b[o..o + 4].try_into().expect("4 bytes"));
        let u64_at = |o: usize| u64::from_le_bytes(b[o..o + 8].try_into().expect("8 bytes"));
        ptrace_dbg_fpregs {
            cwd: u16_at(0),
            swd: u16_at(2),
            ftw: u16_at(4),
            fop: u16_at(6),
            rip: u64_at(8),
            rdp: u64_at(16),
            mxcsr: u32_at(24),
            mxcr_mask: u32_at(28),
            st_space: std::array::from_fn(|i| u32_at(32 + 4 * i)),
            xmm_space: std::array::from_fn(|i| u32_at(160 + 4 * i)),
            padding: std::array::from_fn(|i| u32_at(416 + 4 * i)),
        }
    }

    /// The FXSAVE image's bytes of the struct.
    fn to_image(self) -> [u8; 512] {
        let mut b = [0u8; 512];
        b[0..2].copy_from_slice(&self.cwd.to_le_bytes());
        b[2..4].copy_from_slice(&self.swd.to_le_bytes());
        b[4..6].copy_from_slice(&self.ftw.to_le_bytes());
        b[6..8].copy_from_slice(&self.fop.to_le_bytes());
        b[8..16].copy_from_slice(&self.rip.to_le_bytes());
        b[16..24].copy_from_slice(&self.rdp.to_le_bytes());
        b[24..28].copy_from_slice(&self.mxcsr.to_le_bytes());
        b[28..32].copy_from_slice(&self.mxcr_mask.to_le_bytes());
        let words = self.st_space.iter().chain(&self.xmm_space).chain(&self.padding);
        for (i, w) in words.enumerate() {
            b[32 + 4 * i..36 + 4 * i].copy_from_slice(&w.to_le_bytes());
        }
        b
    }
}

/// Reads the x87 and SSE registers of stopped thread `tid` (from the XSAVE area, so
/// registers in their initial state read as their initial values, and writes made during this
/// stop are seen).
///
/// Returns `PTRACE_DBG_OK`, `PTRACE_DBG_E_BAD_STATE` (running or detached),
/// `PTRACE_DBG_E_NO_SUCH_THREAD`, `PTRACE_DBG_E_EXITED`, `PTRACE_DBG_E_OS`,
/// `PTRACE_DBG_E_INVALID_ARGUMENT` (NULL `out`), `PTRACE_DBG_E_INVALID_HANDLE`. Callable from
/// any thread while stopped.
///
/// # Safety
/// `out` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn ptrace_dbg_get_fpregs(
    p: *mut ptrace_dbg_process,
    tid: i32,
    out: *mut ptrace_dbg_fpregs,
) -> c_int {
    boundary(|| {
        let process = PROCESSES.get(p)?;
        // SAFETY: the caller promises `out` is NULL or writable.
        let out = unsafe { args::out(out, "out") }?;
        out.write(ptrace_dbg_fpregs::from_image(&process.get_fpregs(tid)?));
        Ok(())
    })
}

/// Writes the x87 and SSE registers of stopped thread `tid` (everything but `mxcr_mask` and
/// `padding`, which are ignored). The registers reach the thread before it runs again.
///
/// Returns `PTRACE_DBG_OK`, `PTRACE_DBG_E_INVALID_ARGUMENT` (NULL `in`, or an `mxcsr` with bits
/// outside the CPU's mask), `PTRACE_DBG_E_BAD_STATE` (running or detached),
/// `PTRACE_DBG_E_NO_SUCH_THREAD`, `PTRACE_DBG_E_EXITED`, `PTRACE_DBG_E_OS`,
/// `PTRACE_DBG_E_INVALID_HANDLE`. Callable from any thread while stopped.
///
/// # Safety
/// `in` must be NULL or point to a valid `ptrace_dbg_fpregs`.
#[no_mangle]
pub unsafe extern "C" fn ptrace_dbg_set_fpregs(
    p: *mut ptrace_dbg_process,
    tid: i32,
    r#in: *const ptrace_dbg_fpregs,
) -> c_int {
    boundary(|| {
        let process = PROCESSES.get(p)?;
        // SAFETY: the caller promises `in` is NULL or a valid struct.
        let regs = unsafe { args::input(r#in, "in") }?;
        Ok(process.set_fpregs(tid, &regs.to_image())?)
    })
}

/// Copies the whole XSAVE area of stopped thread `tid` (the kernel's `NT_X86_XSTATE`, standard
/// format: FXSAVE image, header with `xstate_bv` at byte 512, then the components at the
/// offsets CPUID leaf 0xD gives) into `buf`, for saving and restoring the register file.
/// Components in their initial state (`xstate_bv` bit clear) hold their initial values.
///
/// `*len` is always set (on success and on `PTRACE_DBG_E_BUFFER_TOO_SMALL`) to the area's size,
/// which is the kernel's (e.g. 2,696 bytes with AVX-512, 11,008 with AMX); call with `buf` NULL
/// and `cap` 0 to learn it.
///
/// Returns `PTRACE_DBG_OK`; `PTRACE_DBG_E_BUFFER_TOO_SMALL` when `cap` < `*len` (nothing copied);
/// `PTRACE_DBG_E_NOT_SUPPORTED` (no XSAVE on this CPU or kernel);
/// `PTRACE_DBG_E_INVALID_ARGUMENT` (NULL `len`, or NULL `buf` with `cap` > 0);
/// `PTRACE_DBG_E_BAD_STATE` (running or detached); `PTRACE_DBG_E_NO_SUCH_THREAD`;
/// `PTRACE_DBG_E_EXITED`; `PTRACE_DBG_E_OS`; `PTRACE_DBG_E_INVALID_HANDLE`. Callable from any
/// thread while stopped.
///
/// # Safety
/// `buf` must be NULL or writable for `cap` bytes; `len` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn ptrace_dbg_get_xstate(
    p: *mut ptrace_dbg_process,
    tid: i32,
    buf: *mut c_void,
    cap: usize,
    len: *mut usize,
) -> c_int {
    boundary(|| {
        let process = PROCESSES.get(p)?;
        // SAFETY: the caller promises `len` is NULL or writable.
        let len = unsafe { args::out(len, "len") }?;
        if buf.is_null() && cap > 0 {
            return Err(Failure::invalid_argument("argument `buf` is NULL"));
        }
        let area = process.get_xstate(tid)?;
        len.write(area.len());
        if area.len() > cap {
            return Err(too_small("the XSAVE area", area.len(), cap));
        }
        // SAFETY: the caller promises `buf` is writable for `cap` bytes, so for this prefix
        // (borrowed only as long as needed, whatever `cap` claims).
        let buf = unsafe { args::slice_mut(buf.cast::<u8>(), area.len(), "buf") }?;
        buf.copy_from_slice(&area);
        Ok(())
    })
}

/// Replaces the whole XSAVE area of stopped thread `tid` with `buf`, at once (one
/// PTRACE_SETREGSET), e.g. one saved by `ptrace_dbg_get_xstate`. `len` must be exactly the size
/// `ptrace_dbg_get_xstate` reports: the kernel takes nothing else. Components whose
/// `xstate_bv` bit is clear are set to their initial values. Register writes of this stop not
/// yet applied are replaced.
///
/// Returns `PTRACE_DBG_OK`; `PTRACE_DBG_E_INVALID_ARGUMENT` (NULL `buf`, wrong `len`, or an
/// area the kernel refuses: `xstate_bv` naming features not enabled, `xcomp_bv` not 0,
/// reserved header bytes set, bad MXCSR); `PTRACE_DBG_E_NOT_SUPPORTED` (no XSAVE);
/// `PTRACE_DBG_E_BAD_STATE`; `PTRACE_DBG_E_NO_SUCH_THREAD`; `PTRACE_DBG_E_EXITED`;
/// `PTRACE_DBG_E_OS`; `PTRACE_DBG_E_INVALID_HANDLE`. Callable from any thread while stopped.
///
/// # Safety
/// `buf` must be NULL or readable for `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn ptrace_dbg_set_xstate(
    p: *mut ptrace_dbg_process,
    tid: i32,
    buf: *const c_void,
    len: usize,
) -> c_int {
    boundary(|| {
        let process = PROCESSES.get(p)?;
        if buf.is_null() {
            return Err(Failure::invalid_argument("argument `buf` is NULL"));
        }
        if len > MAX_XSTATE {
            return Err(Failure::invalid_argument(format!(
                "argument `len` is {len}: no XSAVE area is that large (see ptrace_dbg_get_xstate)"
            )));
        }
        // SAFETY: the caller promises `buf` is readable for `len` bytes (bounded above).
        let area = unsafe { args::slice(buf.cast::<u8>(), len, "buf") }?;
        Ok(process.set_xstate(tid, area)?)
    })
}

/// Reads register `name` of stopped thread `tid` into `buf` as little-endian bytes of its
/// natural size: the general registers as in `ptrace_dbg_regs` ("rax", "rip", "eflags",
/// "fs_base", "cs", ... 8 bytes); "st0".."st7" (10); "fctrl", "fstat", "ftag" (abridged),
/// "fop" (2); "fioff", "fiseg", "fooff", "foseg" (4); "mxcsr" (4); "xmm0".."xmm15" (16);
/// with AVX "ymm0".."ymm15" (32); with AVX-512 "xmm16".."xmm31", "ymm16".."ymm31",
/// "zmm0".."zmm31" (64) and "k0".."k7" (8); with protection keys "pkru" (4); "dr0".."dr3",
/// "dr6", "dr7" (8). `ptrace_dbg_register_info` lists the names this machine has. A register
/// in its initial state reads as its initial value. Reads during one stop share one
/// PTRACE_GETREGSET.
///
/// `*size` is always set (on success and on `PTRACE_DBG_E_BUFFER_TOO_SMALL`) to the register's
/// size; call with `buf` NULL and `cap` 0 to learn it.
///
/// Returns `PTRACE_DBG_OK`; `PTRACE_DBG_E_BUFFER_TOO_SMALL` (`cap` < `*size`, nothing copied);
/// `PTRACE_DBG_E_INVALID_ARGUMENT` (NULL `name` or `size`, NULL `buf` with `cap` > 0, a name no
/// register has); `PTRACE_DBG_E_NOT_SUPPORTED` (a register this CPU or kernel lacks, e.g.
/// "zmm0" without AVX-512; `*size` is not set); `PTRACE_DBG_E_BAD_STATE` (running or detached);
/// `PTRACE_DBG_E_NO_SUCH_THREAD`; `PTRACE_DBG_E_EXITED`; `PTRACE_DBG_E_OS`;
/// `PTRACE_DBG_E_INVALID_HANDLE`. Callable from any thread while stopped.
///
/// # Safety
/// `name` must be NULL or a NUL-terminated string; `buf` NULL or writable for `cap` bytes;
/// `size` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn ptrace_dbg_read_register(
    p: *mut ptrace_dbg_process,
    tid: i32,
    name: *const c_char,
    buf: *mut c_void,
    cap: usize,
    size: *mut usize,
) -> c_int {
    boundary(|| {
        let process = PROCESSES.get(p)?;
        // SAFETY: the caller promises `name` is NULL or NUL-terminated.
        let name = unsafe { args::c_str(name, "name") }?;
        // SAFETY: the caller promises `size` is NULL or writable.
        let size = unsafe { args::out(size, "size") }?;
        if buf.is_null() && cap > 0 {
            return Err(Failure::invalid_argument("argument `buf` is NULL"));
        }
        let name = register_name(name)?;
        let reg = Catalogue::get().lookup(name)?;
        if reg.size > cap {
            size.write(reg.size);
            return Err(too_small(&format!("register {name}"), reg.size, cap));
        }
        let bytes = process.read_register(tid, name)?;
        // SAFETY: the caller promises `buf` is writable for `cap` bytes, so for this prefix.
        let buf = unsafe { args::slice_mut(buf.cast::<u8>(), bytes.len(), "buf") }?;
        buf.copy_from_slice(&bytes);
        size.write(bytes.len());
        Ok(())
    })
}

/// Writes register `name` (see `ptrace_dbg_read_register` for the names) of stopped thread
/// `tid` from `size` little-endian bytes, exactly the register's size. The general and the
/// x87/SSE/AVX/AVX-512 registers reach the thread before it runs again (all of one stop in
/// one PTRACE_SETREGS and one PTRACE_SETREGSET); a component written leaves its initial state.
/// Registers the kernel checks are written at once, so a refusal is reported here: the
/// segment selectors and `fs_base`/`gs_base` (`PTRACE_DBG_E_OS`, as `ptrace_dbg_set_regs`) and
/// the debug registers.
///
/// Returns `PTRACE_DBG_OK`; `PTRACE_DBG_E_INVALID_ARGUMENT` (NULL `name` or `buf`, a name no
/// register has, `size` not the register's size, an `mxcsr` with reserved bits, a debug
/// register value the kernel refuses); `PTRACE_DBG_E_NOT_SUPPORTED` (a register this CPU or
/// kernel lacks); `PTRACE_DBG_E_OS` (a segment value the kernel refuses);
/// `PTRACE_DBG_E_BAD_STATE`; `PTRACE_DBG_E_NO_SUCH_THREAD`;
/// `PTRACE_DBG_E_EXITED`; `PTRACE_DBG_E_OS`; `PTRACE_DBG_E_INVALID_HANDLE`. Callable from any
/// thread while stopped.
///
/// # Safety
/// `name` must be NULL or a NUL-terminated string; `buf` NULL or readable for `size` bytes.
#[no_mangle]
pub unsafe extern "C" fn ptrace_dbg_write_register(
    p: *mut ptrace_dbg_process,
    tid: i32,
    name: *const c_char,
    buf: *const c_void,
    size: usize,
) -> c_int {
    boundary(|| {
        let process = PROCESSES.get(p)?;
        // SAFETY: the caller promises `name` is NULL or NUL-terminated.
        let name = unsafe { args::c_str(name, "name") }?;
        if buf.is_null() {
            return Err(Failure::invalid_argument("argument `buf` is NULL"));
        }
        let name = register_name(name)?;
        let reg = Catalogue::get().lookup(name)?;
        if size != reg.size {
            return Err(Failure::invalid_argument(format!(
                "argument `size` is {size}; register {name} has {} bytes",
                reg.size
            )));
        }
        // SAFETY: the caller promises `buf` is readable for `size` bytes (the register's).
        let bytes = unsafe { args::slice(buf.cast::<u8>(), size, "buf") }?;
        Ok(process.write_register(tid, name, bytes)?)
    })
}

/// How many registers `ptrace_dbg_register_info` lists for this process: the names this CPU
/// and kernel have (general, x87, SSE, and as present AVX, AVX-512, PKRU, debug registers).
///
/// Returns 0 for an invalid handle (and `ptrace_dbg_last_error()` says so). Callable any time
/// from any thread; never waits.
#[no_mangle]
pub extern "C" fn ptrace_dbg_register_count(p: *mut ptrace_dbg_process) -> usize {
    boundary_or(0, || {
        PROCESSES.get(p)?;
        Ok(Catalogue::get().count())
    })
}

/// The name (a static string, never freed) and size in bytes of register `index`, 0 to
/// `ptrace_dbg_register_count(p)` - 1, in a fixed order: the general registers in
/// `ptrace_dbg_regs` order, st0-st7, the x87 control words, mxcsr, xmm0-15, ymm0-15, then with
/// AVX-512 xmm16-31, ymm16-31, zmm0-31, k0-7, then pkru, dr0-3, dr6, dr7. `name` or `size` may
/// be NULL when not wanted.
///
/// Returns `PTRACE_DBG_OK`, `PTRACE_DBG_E_INVALID_ARGUMENT` (`index` out of range),
/// `PTRACE_DBG_E_INVALID_HANDLE`. Callable any time from any thread; never waits.
///
/// # Safety
/// `name` and `size` must each be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn ptrace_dbg_register_info(
    p: *mut ptrace_dbg_process,
    index: usize,
    name: *mut *const c_char,
    size: *mut usize,
) -> c_int {
    boundary(|| {
        PROCESSES.get(p)?;
        let catalogue = Catalogue::get();
        let index = args::index(index, catalogue.count(), "index")?;
        let reg = catalogue.available(index).expect("index checked against the count");
        // SAFETY: the caller promises `name` is NULL or writable.
        if let Some(out) = unsafe { args::optional_out(name) } {
            out.write(NAMES_C[index].as_ptr());
        }
        // SAFETY: the caller promises `size` is NULL or writable.
        if let Some(out) = unsafe { args::optional_out(size) } {
            out.write(reg.size);
        }
        Ok(())
    })
}

/// The available registers' names as C strings, built once; `ptrace_dbg_register_info` hands
/// out pointers into it.
static NAMES_C: Lazy<Vec<CString>> = Lazy::new(|| {
    let c = Catalogue::get();
    (0..c.count())
        .map(|i| CString::new(c.available(i).expect("in range").name.as_str()).expect("no NUL"))
        .collect()
});

/// A register name as UTF-8 (every register's name is ASCII).
fn register_name(name: &std::ffi::CStr) -> Result<&str, Failure> {
    name.to_str().map_err(|_| {
        Failure::invalid_argument(format!(
            "argument `name`: no register is called {:?}",
            name.to_string_lossy()
        ))
    })
}

/// Larger than any XSAVE area (11,008 bytes with AMX today): a `len` beyond it is a mistake.
const MAX_XSTATE: usize = 1 << 20;

fn too_small(what: &str, needed: usize, cap: usize) -> Failure {
    Failure::new(
        PTRACE_DBG_E_BUFFER_TOO_SMALL,
        format!("{what} takes {needed} bytes; `cap` is {cap}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::{offset_of, size_of};

    #[test]
    fn fpregs_match_user_fpregs_struct() {
        assert_eq!(size_of::<ptrace_dbg_fpregs>(), size_of::<libc::user_fpregs_struct>());
        assert_eq!(size_of::<ptrace_dbg_fpregs>(), 512);
        macro_rules! same {
            ($($ours:ident = $theirs:ident),*) => {$(
                assert_eq!(
                    offset_of!(ptrace_dbg_fpregs, $ours),
                    offset_of!(libc::user_fpregs_struct, $theirs)
                );
            )*};
        }
        same!(
            cwd = cwd,
            swd = swd,
            ftw = ftw,
            fop = fop,
            rip = rip,
            rdp = rdp,
            mxcsr = mxcsr,
            mxcr_mask = mxcr_mask,
            st_space = st_space,
            xmm_space = xmm_space
        );
        assert_eq!(offset_of!(ptrace_dbg_fpregs, padding), 416);
    }

    #[test]
    fn image_conversion_round_trips_every_byte() {
        let mut image = [0u8; 512];
        for (i, b) in image.iter_mut().enumerate() {
            *b = (i * 7 + 3) as u8;
        }
        let regs = ptrace_dbg_fpregs::from_image(&image);
        assert_eq!(regs.cwd, u16::from_le_bytes([3, 10]));
        assert_eq!(regs.xmm_space[0].to_le_bytes(), image[160..164]);
        assert_eq!(regs.to_image(), image);
    }
}
