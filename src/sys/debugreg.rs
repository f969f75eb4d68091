//! The x86-64 debug registers of a traced thread (DR0-DR3 addresses, DR6 status, DR7 control),
//! read and written with PTRACE_PEEKUSER/POKEUSER at their offsets in `struct user`. Every
//! function here must be called from the tracer thread.
//!
//! What the kernel does with each write (arch/x86/kernel/ptrace.c `ptrace_set_debugreg`):
//! DR0-3 go into a *disabled* perf breakpoint of the thread's slot; DR7 is decoded slot by
//! slot, each enabled slot (re)registered and validated (`hw_breakpoint_arch_parse`: length
//! 1/2/4/8, address aligned to it, user space only, execute with length 1), and on any error
//! the old DR7 is restored and the error (EINVAL) returned. DR6 is the thread's `virtual_dr6`,
//! which every user-mode #DB resets to its step bit and then ORs the slots that fired into; it
//! is never cleared by the kernel otherwise, so the tracer clears it after reading.

use nix::errno::Errno;
use nix::sys::ptrace;
use nix::unistd::Pid;

/// `offsetof(struct user, u_debugreg)` on x86-64 (gdb `u_debugreg_offset`, Delve
/// `debugRegUserOffset`): DRn is at 848 + 8n.
const U_DEBUGREG: usize = 848;

/// DR6: slot n fired (B0-B3).
pub const DR6_HITS: u64 = 0xF;
/// DR6: the single-step bit (BS).
pub const DR6_STEP: u64 = 1 << 14;

/// EFLAGS resume flag: the next instruction does not fault on an instruction breakpoint. The
/// kernel sets it in the saved flags after an execute breakpoint fired (`hw_breakpoint_handler`,
/// "Set up resume flag to avoid breakpoint recursion"); SETREGS keeps it (`FLAG_MASK`).
pub const RF: u64 = 1 << 16;

/// Number of address slots (DR0-DR3; the kernel's HBP_NUM).
pub const SLOTS: usize = 4;

/// DR7 condition field (RW) values.
pub const RW_EXECUTE: u64 = 0b00;
pub const RW_WRITE: u64 = 0b01;
pub const RW_READ_WRITE: u64 = 0b11;

fn read(tid: i32, n: usize) -> Result<u64, Errno> {
    let offset = (U_DEBUGREG + 8 * n) as ptrace::AddressType;
    ptrace::read_user(Pid::from_raw(tid), offset).map(|v| v as u64)
}

fn write(tid: i32, n: usize, value: u64) -> Result<(), Errno> {
    let offset = (U_DEBUGREG + 8 * n) as ptrace::AddressType;
    ptrace::write_user(Pid::from_raw(tid), offset, value as libc::c_long)
}

/// Reads DR0-DR3 (`n` < 4), DR6 (6) or DR7 (7). DR4/DR5 do not exist (EIO).
pub fn read_dr(tid: i32, n: usize) -> Result<u64, Errno> {
    read(tid, n)
}

/// Writes the address of slot `n` (0-3).
pub fn set_addr(tid: i32, n: usize, addr: u64) -> Result<(), Errno> {
    debug_assert!(n < SLOTS);
    write(tid, n, addr)
}

/// Writes DR7; EINVAL when the kernel refuses a slot (it then keeps the old DR7).
pub fn set_dr7(tid: i32, dr7: u64) -> Result<(), Errno> {
    write(tid, 7, dr7)
}

/// Reads DR6.
pub fn dr6(tid: i32) -> Result<u64, Errno> {
    read(tid, 6)
}

/// Clears DR6, so that the next stop does not see this one's bits.
pub fn clear_dr6(tid: i32) -> Result<(), Errno> {
    write(tid, 6, 0)
}

/// The DR7 bits that enable slot `n` with condition `rw` and length `len` (1, 2, 4 or 8):
/// the local enable bit Ln (bit 2n), RW at bits 16+4n, LEN at bits 18+4n (LEN 00 = 1,
/// 01 = 2, 11 = 4, 10 = 8 bytes; an execute slot must have LEN 00). The kernel programs the
/// real register with global enables whatever we write, and counts L or G as enabled.
pub fn dr7_bits(n: usize, rw: u64, len: usize) -> u64 {
    let len_bits: u64 = match len {
        1 => 0b00,
        2 => 0b01,
        8 => 0b10,
        _ => 0b11, // 4
    };
    let len_bits = if rw == RW_EXECUTE { 0 } else { len_bits };
    (1 << (2 * n)) | (rw << (16 + 4 * n)) | (len_bits << (18 + 4 * n))
}

/// The DR7 value that keeps slot `n` disabled: every bit of it cleared from `dr7`.
pub fn dr7_without(dr7: u64, n: usize) -> u64 {
    dr7 & !((0b11 << (2 * n)) | (0b1111 << (16 + 4 * n)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dr7_encoding_matches_the_manual() {
        // Slot 0, write, 4 bytes: L0, RW0 = 01, LEN0 = 11.
        assert_eq!(dr7_bits(0, RW_WRITE, 4), 0x1 | (0b01 << 16) | (0b11 << 18));
        // Slot 3, read/write, 8 bytes: L3 (bit 6), RW3 = 11 at 28, LEN3 = 10 at 30.
        assert_eq!(dr7_bits(3, RW_READ_WRITE, 8), (1 << 6) | (0b11 << 28) | (0b10 << 30));
        // Execute ignores the length: LEN must be 00.
        assert_eq!(dr7_bits(1, RW_EXECUTE, 8), 1 << 2);
        let all = (0..4).fold(0, |d, n| d | dr7_bits(n, RW_READ_WRITE, 2));
        assert_eq!(dr7_without(all, 2) & dr7_bits(2, RW_READ_WRITE, 2), 0);
        assert_eq!(dr7_without(all, 2) | dr7_bits(2, RW_READ_WRITE, 2), all);
    }
}
