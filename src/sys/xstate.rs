//! The extended register state of x86-64: the FXSAVE image (x87, SSE), the XSAVE area
//! (AVX, AVX-512, PKRU, AMX, ...) as the kernel's `NT_X86_XSTATE` regset shows it, where each
//! component sits in it (CPUID leaf 0xD), and the debug registers (PEEKUSER/POKEUSER).
//!
//! The ptrace calls must be made from the tracer thread (the engine's monitor). The layout
//! functions may be called from any thread: XCR0 and CPUID leaf 0xD are the same on every CPU
//! of the machine and for every process (the kernel sets XCR0 once; AMX's per-process
//! permission is done with XFD, not XCR0).

use nix::errno::Errno;
use std::sync::OnceLock;

/// `NT_PRFPREG`: the 512-byte FXSAVE image, the kernel's `user_fpregs_struct`.
const NT_PRFPREG: libc::c_int = 2;
/// `NT_X86_XSTATE`: the XSAVE area in the standard (non-compacted) format.
const NT_X86_XSTATE: libc::c_int = 0x202;

/// Size of the legacy FXSAVE region that starts every XSAVE area.
pub const FXSAVE_SIZE: usize = 512;
/// Offset of the XSAVE header; `xstate_bv` is its first 8 bytes.
pub const XSTATE_BV_OFFSET: usize = 512;
/// Offset of `xcomp_bv` (must be 0 in the standard format ptrace uses).
pub const XCOMP_BV_OFFSET: usize = 520;
/// The XSAVE header's size; the extended components follow it.
pub const XSAVE_HEADER_SIZE: usize = 64;
/// Where the kernel puts the XCR0 it enabled for user space (in FXSAVE's software-reserved
/// bytes; arch/x86/include/asm/user.h).
pub const SW_XCR0_OFFSET: usize = 464;

/// State component numbers (the bits of XCR0 and `xstate_bv`).
pub const X87: u32 = 0;
pub const SSE: u32 = 1;
pub const AVX: u32 = 2;
pub const OPMASK: u32 = 5;
pub const ZMM_HI256: u32 = 6;
pub const HI16_ZMM: u32 = 7;
pub const PKRU: u32 = 9;

/// The x87 control word after FNINIT / in XSAVE's initial state.
pub const FCW_INIT: u16 = 0x037f;
/// MXCSR's initial value (all exceptions masked, round to nearest).
pub const MXCSR_INIT: u32 = 0x1f80;

/// Where the user state components are in the standard-format XSAVE area.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// The components the kernel enabled (XCR0); 0b11 (x87, SSE) when XSAVE is unavailable.
    pub xcr0: u64,
    /// XSAVE is usable (CPUID.1:ECX.OSXSAVE): the XSTATE regset exists.
    pub xsave: bool,
    /// The size of the standard-format area for `xcr0` (CPUID.(0xD,0).EBX).
    pub size: usize,
    /// `(offset, size)` of component `i` (2..64) in the standard format, from
    /// CPUID.(0xD,i).EBX/EAX; (0, 0) for components not in `xcr0`.
    pub components: [(usize, usize); 64],
}

impl Layout {
    /// Whether component `bit` is enabled.
    pub fn has(&self, bit: u32) -> bool {
        self.xcr0 & (1 << bit) != 0
    }

    /// `(offset, size)` of component `bit`: the fixed legacy parts for x87 and SSE.
    pub fn component(&self, bit: u32) -> (usize, usize) {
        match bit {
            X87 => (0, 160),
            SSE => (160, 256),
            _ => self.components[bit as usize],
        }
    }
}

/// CPUID with a sub-leaf.
fn cpuid(leaf: u32, sub: u32) -> core::arch::x86_64::CpuidResult {
    // SAFETY: CPUID exists on every x86-64 CPU and only reads identification registers.
    #[allow(unused_unsafe)]
    unsafe {
        core::arch::x86_64::__cpuid_count(leaf, sub)
    }
}

/// XGETBV(0): the XCR0 the kernel enabled. Only valid when CPUID.1:ECX.OSXSAVE is set.
fn xgetbv0() -> u64 {
    let (lo, hi): (u32, u32);
    // SAFETY: callers check OSXSAVE first, so XGETBV is enabled (it would #UD otherwise); it
    // reads XCR0 into edx:eax and touches nothing else.
    unsafe {
        std::arch::asm!("xgetbv", in("ecx") 0u32, out("eax") lo, out("edx") hi,
                        options(nomem, nostack, preserves_flags));
    }
    (u64::from(hi) << 32) | u64::from(lo)
}

/// The machine's layout, computed once (gdb's `x86_fetch_xsave_layout`, Delve's
/// `cpuid/xsave_x86.go`): offsets from CPUID, not from a table that fits one CPU.
pub fn layout() -> &'static Layout {
    static LAYOUT: OnceLock<Layout> = OnceLock::new();
    LAYOUT.get_or_init(|| {
        let osxsave = cpuid(1, 0).ecx & (1 << 27) != 0;
        let mut layout = Layout {
            xcr0: 0b11,
            xsave: osxsave && cpuid(0, 0).eax >= 0xd,
            size: FXSAVE_SIZE,
            components: [(0, 0); 64],
        };
        if !layout.xsave {
            return layout;
        }
        layout.xcr0 = xgetbv0();
        let mut end = FXSAVE_SIZE + XSAVE_HEADER_SIZE;
        for bit in 2..64u32 {
            if !layout.has(bit) {
                continue;
            }
            let r = cpuid(0xd, bit);
            let (offset, size) = (r.ebx as usize, r.eax as usize);
            layout.components[bit as usize] = (offset, size);
            // Not the last component is always the highest (APX, component 19, sits inside
            // the area MPX left): the size is the largest end.
            end = end.max(offset + size);
        }
        layout.size = end.max(cpuid(0xd, 0).ebx as usize);
        layout
    })
}

/// Overwrites, in a standard-format XSAVE area (or a bare 512-byte FXSAVE image, treated as
/// having x87 and SSE present), every component whose `xstate_bv` bit is clear with its
/// architectural initial value: a clear bit means the CPU did not save it (the init
/// optimisation), so whatever bytes sit there are stale. Initial values: zeros, except the x87
/// control word (0x037f) and MXCSR (0x1f80, only when both SSE and AVX are clear, as XRSTOR
/// loads it if either is requested).
pub fn apply_init_values(area: &mut [u8], layout: &Layout) {
    if area.len() < FXSAVE_SIZE + XSAVE_HEADER_SIZE {
        return; // an FXSAVE image has no init optimisation
    }
    let bv = read_bv(area);
    if bv & (1 << X87) == 0 {
        area[0..2].copy_from_slice(&FCW_INIT.to_le_bytes());
        area[2..24].fill(0); // fsw, abridged ftw, fop, fip, fdp
        area[32..160].fill(0); // st0-st7
    }
    if bv & (1 << SSE | 1 << AVX) == 0 {
        area[24..28].copy_from_slice(&MXCSR_INIT.to_le_bytes());
    }
    if bv & (1 << SSE) == 0 {
        area[160..416].fill(0);
    }
    for bit in 2..64u32 {
        let (offset, size) = layout.component(bit);
        if bv & (1 << bit) == 0 && size > 0 && offset + size <= area.len() {
            area[offset..offset + size].fill(0);
        }
    }
}

/// `xstate_bv` of a standard-format area (at least 520 bytes).
pub fn read_bv(area: &[u8]) -> u64 {
    let b: [u8; 8] = area[XSTATE_BV_OFFSET..XSTATE_BV_OFFSET + 8].try_into().expect("8 bytes");
    u64::from_le_bytes(b)
}

/// Sets `xstate_bv` of a standard-format area.
pub fn write_bv(area: &mut [u8], bv: u64) {
    area[XSTATE_BV_OFFSET..XSTATE_BV_OFFSET + 8].copy_from_slice(&bv.to_le_bytes());
}

/// PTRACE_GETREGSET of `note` into `buf`; the length the kernel filled.
fn get_regset(tid: i32, note: libc::c_int, buf: &mut [u8]) -> Result<usize, Errno> {
    let mut iov = libc::iovec { iov_base: buf.as_mut_ptr().cast(), iov_len: buf.len() };
    // SAFETY: `iov` describes `buf`, which is writable for its whole length; the kernel writes
    // at most `iov_len` bytes there and updates `iov_len` to the length written.
    let r = unsafe {
        libc::ptrace(libc::PTRACE_GETREGSET, tid, note as usize as *mut libc::c_void, &mut iov)
    };
    if r == -1 {
        Err(Errno::last())
    } else {
        Ok(iov.iov_len)
    }
}

/// PTRACE_SETREGSET of `note` from `buf`.
fn set_regset(tid: i32, note: libc::c_int, buf: &[u8]) -> Result<(), Errno> {
    let mut iov = libc::iovec { iov_base: buf.as_ptr() as *mut libc::c_void, iov_len: buf.len() };
    // SAFETY: `iov` describes `buf`, readable for its whole length; SETREGSET only reads it.
    let r = unsafe {
        libc::ptrace(libc::PTRACE_SETREGSET, tid, note as usize as *mut libc::c_void, &mut iov)
    };
    if r == -1 {
        Err(Errno::last())
    } else {
        Ok(())
    }
}

/// The thread's XSAVE area (NT_X86_XSTATE), exactly as long as the kernel's regset: SETREGSET
/// later demands that very length (arch/x86/kernel/fpu/regset.c; 11,008 bytes with AMX, so no
/// fixed size will do). Without XSAVE, the 512-byte FXSAVE image (NT_PRFPREG).
pub fn get(tid: i32) -> Result<Vec<u8>, Errno> {
    let layout = layout();
    if !layout.xsave {
        let mut buf = vec![0u8; FXSAVE_SIZE];
        let len = get_regset(tid, NT_PRFPREG, &mut buf)?;
        buf.truncate(len);
        return Ok(buf);
    }
    // The kernel truncates to our length and reports what it wrote: a buffer longer than the
    // regset comes back shortened to exactly its size. If it came back full, it may have been
    // cut: try again bigger.
    let mut cap = layout.size + 64;
    loop {
        let mut buf = vec![0u8; cap];
        let len = get_regset(tid, NT_X86_XSTATE, &mut buf)?;
        if len < cap || cap >= 1 << 20 {
            buf.truncate(len);
            return Ok(buf);
        }
        cap *= 2;
    }
}

/// Writes the thread's XSAVE area (or FXSAVE image, see [`get`]); `buf` must be as long as
/// `get` returned.
pub fn set(tid: i32, buf: &[u8]) -> Result<(), Errno> {
    let note = if buf.len() == FXSAVE_SIZE && !layout().xsave { NT_PRFPREG } else { NT_X86_XSTATE };
    set_regset(tid, note, buf)
}

/// Offset of debug register `n` in the kernel's `struct user` (for PEEKUSER/POKEUSER).
fn debugreg_offset(n: usize) -> usize {
    std::mem::offset_of!(libc::user, u_debugreg) + 8 * n
}

/// PTRACE_PEEKUSER of debug register `n` (0-7; the kernel reads 4 and 5 as 0).
pub fn peek_debugreg(tid: i32, n: usize) -> Result<u64, Errno> {
    Errno::clear();
    // SAFETY: PEEKUSER takes an offset into `struct user` by value and returns the word; no
    // pointer of ours is passed.
    let r = unsafe {
        libc::ptrace(
            libc::PTRACE_PEEKUSER,
            tid,
            debugreg_offset(n) as *mut libc::c_void,
            std::ptr::null_mut::<libc::c_void>(),
        )
    };
    if r == -1 && Errno::last() != Errno::UnknownErrno {
        Err(Errno::last())
    } else {
        Ok(r as u64)
    }
}

/// PTRACE_POKEUSER of debug register `n`. The kernel checks the value (an address in user
/// space for 0-3, a valid DR7) and refuses 4 and 5 (EIO).
pub fn poke_debugreg(tid: i32, n: usize, value: u64) -> Result<(), Errno> {
    // SAFETY: POKEUSER takes the offset and the value by value; no pointer of ours is passed.
    let r = unsafe {
        libc::ptrace(
            libc::PTRACE_POKEUSER,
            tid,
            debugreg_offset(n) as *mut libc::c_void,
            value as *mut libc::c_void,
        )
    };
    if r == -1 {
        Err(Errno::last())
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_has_the_legacy_parts_and_components_after_the_header() {
        let l = layout();
        assert!(l.has(X87) && l.has(SSE));
        assert_eq!(l.component(SSE), (160, 256));
        for bit in 2..64 {
            let (offset, size) = l.component(bit);
            if l.has(bit) && size > 0 {
                assert!(offset >= FXSAVE_SIZE + XSAVE_HEADER_SIZE, "component {bit} at {offset}");
                assert!(offset + size <= l.size);
            }
        }
        if l.has(AVX) {
            // The same on every CPU with AVX (Intel and AMD): right after the header.
            assert_eq!(l.component(AVX), (576, 256));
        }
    }

    #[test]
    fn clear_bits_give_initial_values_and_set_bits_keep_the_bytes() {
        let l = layout();
        let mut area = vec![0xAAu8; l.size];
        write_bv(&mut area, 1 << SSE);
        apply_init_values(&mut area, l);
        assert_eq!(&area[0..2], &FCW_INIT.to_le_bytes());
        assert!(area[2..24].iter().all(|b| *b == 0));
        assert!(area[32..160].iter().all(|b| *b == 0));
        assert_eq!(&area[24..28], &[0xAA; 4], "MXCSR is live while SSE is set");
        assert!(area[160..416].iter().all(|b| *b == 0xAA));
        if l.has(AVX) {
            assert!(area[576..832].iter().all(|b| *b == 0));
        }
        write_bv(&mut area, 0);
        apply_init_values(&mut area, l);
        assert_eq!(&area[24..28], &MXCSR_INIT.to_le_bytes());
        assert!(area[160..416].iter().all(|b| *b == 0));
    }
}
