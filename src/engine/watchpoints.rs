//! Hardware watchpoints: the per-process intent (what is watched, in which of the four debug
//! register slots) and which threads already carry it. The tracer applies it through the hooks
//! in `tracer::watch`; this module keeps the state and the rules, and issues no ptrace call.
//!
//! The facts it is built on (Linux x86-64, see `sys::debugreg`):
//! - Debug registers are per thread, four address slots each (`HBP_NUM`), so one process-wide
//!   watchpoint is one write per thread, and the thread table decides where they go.
//! - A new thread starts with none: `copy_thread` (arch/x86/kernel/process.c) does
//!   `memset(p->thread.ptrace_bps, 0, sizeof(p->thread.ptrace_bps))` for every clone and fork
//!   (since 2.6.33, commit 72f674d2, as gdb's `low_new_fork` notes). So a thread created after
//!   a watchpoint was set must get the registers from us before it first runs, and a fork child
//!   (which we let go) runs untrapped.
//! - exec clears them: `flush_thread` -> `flush_ptrace_hw_breakpoint` drops the breakpoints,
//!   `virtual_dr6` and `ptrace_dr7`; thread exit flushes them too.
//! - Kernel accesses never trigger: ptrace breakpoints are `exclude_kernel`
//!   (`ptrace_breakpoint_init`) and `perf_bp_event` drops hits not in user mode. A `read(2)`
//!   into a watched buffer, or our own writes through /proc/PID/mem, give no stop.
//! - x86 has no read-only watchpoint: the condition is execute, write, or read/write.

use super::{Error, Result};
use crate::sys::debugreg::{self as dr, SLOTS};
use std::collections::HashMap;

/// What a watchpoint watches. The values are the C API's `PTRACE_DBG_WATCH_*`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WatchKind {
    /// Execution of the instruction at the address (a hardware breakpoint; length 1).
    Execute = 0,
    /// Writes to the range.
    Write = 1,
    /// Reads or writes of the range (x86 cannot watch reads alone).
    ReadWrite = 3,
}

impl WatchKind {
    /// The kind with C value `v`, if any.
    pub fn from_c(v: i32) -> Option<WatchKind> {
        match v {
            0 => Some(WatchKind::Execute),
            1 => Some(WatchKind::Write),
            3 => Some(WatchKind::ReadWrite),
            _ => None,
        }
    }

    fn rw(self) -> u64 {
        match self {
            WatchKind::Execute => dr::RW_EXECUTE,
            WatchKind::Write => dr::RW_WRITE,
            WatchKind::ReadWrite => dr::RW_READ_WRITE,
        }
    }
}

/// One watchpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Watchpoint {
    /// Its id: positive, never reused within a process handle (so a stale id cannot remove a
    /// later watchpoint that took the same slot).
    pub id: i32,
    pub addr: u64,
    pub len: usize,
    pub kind: WatchKind,
}

/// The highest user-space address + 1 on x86-64 with 5-level paging; anything at or above it
/// is kernel space, which ptrace breakpoints may not watch. (With 4-level paging the kernel
/// also refuses 0x7ffffffff000.., which comes back as EINVAL from the DR7 write.)
const USER_END: u64 = 1 << 56;

/// The watchpoints of one process and where they are applied.
#[derive(Debug, Default)]
pub struct Watchpoints {
    slots: [Option<Watchpoint>; SLOTS],
    last_id: i32,
    /// Bumped at every change; a thread carries the current intent when `applied[tid]` equals it.
    generation: u64,
    /// Threads whose debug registers we wrote, and the generation they hold.
    applied: HashMap<i32, u64>,
    /// A watchpoint was set at some time: SIGTRAPs must look at DR6 from then on.
    used: bool,
    /// Slots that held a watchpoint of ours since the last exec (bit n: slot n): a hit in one
    /// of them is ours even after the watchpoint was removed (its trap was on its way).
    ever_slots: u8,
    /// The caller wrote debug registers directly (`write_register` "dr0".."dr7"): detach must
    /// clear DR7 even if no watchpoint was ever set.
    raw: bool,
}

impl Watchpoints {
    /// Checks a request the way the kernel would (`hw_breakpoint_arch_parse`), with messages
    /// that say what is wrong.
    pub fn validate(addr: u64, len: usize, kind: WatchKind) -> Result<()> {
        if kind == WatchKind::Execute && len != 1 {
            return Err(Error::InvalidArgument(format!(
                "an execute watchpoint has length 1 (it watches one instruction), not {len}"
            )));
        }
        if !matches!(len, 1 | 2 | 4 | 8) {
            return Err(Error::InvalidArgument(format!(
                "watchpoint length {len}: x86 debug registers watch 1, 2, 4 or 8 bytes"
            )));
        }
        if addr % len as u64 != 0 {
            return Err(Error::InvalidArgument(format!(
                "watchpoint address {addr:#x} is not aligned to its length {len} (x86 debug \
                 registers need addr % len == 0; watch an aligned range around it)"
            )));
        }
        if addr.checked_add(len as u64).map_or(true, |end| end > USER_END) {
            return Err(Error::InvalidArgument(format!(
                "watchpoint address {addr:#x} is not a user-space address"
            )));
        }
        Ok(())
    }

    /// A watchpoint was ever set, or the debug registers were written directly: SIGTRAPs must
    /// be checked against DR6, and detach must clear DR7.
    pub fn used(&self) -> bool {
        self.used || self.raw
    }

    /// The caller wrote a debug register directly (not through a watchpoint).
    pub fn note_raw_write(&mut self) {
        self.raw = true;
    }

    /// Whether DR6 hit bits `hits` are ours: some slot among them holds, or held since the
    /// last exec, a watchpoint of ours. Hits of slots the caller programmed directly are not:
    /// they reach the caller as the SIGTRAP they are.
    pub fn claims(&self, hits: u64) -> bool {
        hits & u64::from(self.ever_slots) != 0
    }

    /// How many are set.
    pub fn count(&self) -> usize {
        self.slots.iter().flatten().count()
    }

    /// The watchpoints, by slot.
    pub fn slots(&self) -> &[Option<Watchpoint>; SLOTS] {
        &self.slots
    }

    /// The first free slot.
    pub fn free_slot(&self) -> Option<usize> {
        self.slots.iter().position(Option::is_none)
    }

    /// The slot holding watchpoint `id`.
    pub fn slot_of(&self, id: i32) -> Option<usize> {
        self.slots.iter().position(|s| s.is_some_and(|w| w.id == id))
    }

    /// The DR7 value for the current slots.
    pub fn dr7(&self) -> u64 {
        self.dr7_with(&self.slots)
    }

    /// The DR7 value for `slots`.
    pub fn dr7_with(&self, slots: &[Option<Watchpoint>; SLOTS]) -> u64 {
        slots
            .iter()
            .enumerate()
            .filter_map(|(n, s)| s.map(|w| dr::dr7_bits(n, w.kind.rw(), w.len)))
            .fold(0, |a, b| a | b)
    }

    /// The next id, for a watchpoint about to go into a slot.
    pub fn next_id(&mut self) -> i32 {
        // 2^31 adds on one handle would be needed to wrap; start again at 1 then.
        self.last_id = if self.last_id == i32::MAX { 1 } else { self.last_id + 1 };
        self.last_id
    }

    /// Puts `w` into `slot` (a new generation).
    pub fn set(&mut self, slot: usize, w: Option<Watchpoint>) {
        self.slots[slot] = w;
        self.used |= w.is_some();
        if w.is_some() {
            self.ever_slots |= 1 << slot;
        }
        self.generation += 1;
    }

    /// Thread `tid` now holds the current slots.
    pub fn mark_applied(&mut self, tid: i32) {
        self.applied.insert(tid, self.generation);
    }

    /// Whether thread `tid` must get the registers written before it runs: it does not hold the
    /// current generation, and it either holds something or something is to be held.
    pub fn needs_apply(&self, tid: i32) -> bool {
        match self.applied.get(&tid) {
            Some(&g) => g != self.generation,
            None => self.count() > 0,
        }
    }

    /// The watchpoint of the lowest slot among DR6's hit bits `hits`, if one is still set.
    pub fn first_hit(&self, hits: u64) -> Option<Watchpoint> {
        (0..SLOTS).filter(|n| hits & (1 << n) != 0).find_map(|n| self.slots[n])
    }

    /// Whether an access of `len` bytes at `addr` (`write` or read) would trip a data
    /// watchpoint: an instruction with that access must run on the CPU, not be emulated.
    pub fn covers(&self, addr: u64, len: u64, write: bool) -> bool {
        self.slots.iter().flatten().any(|w| {
            let kind_matches = match w.kind {
                WatchKind::Execute => false,
                WatchKind::Write => write,
                WatchKind::ReadWrite => true,
            };
            kind_matches && addr < w.addr + w.len as u64 && w.addr < addr.saturating_add(len)
        })
    }

    /// Whether an execute watchpoint is set at `pc`.
    pub fn executes_at(&self, pc: u64) -> bool {
        self.slots.iter().flatten().any(|w| w.kind == WatchKind::Execute && w.addr == pc)
    }

    /// Thread `tid` holds nothing any more (it is gone, or its registers were cleared).
    pub fn forget(&mut self, tid: i32) {
        self.applied.remove(&tid);
    }

    /// exec replaced the address space and the kernel cleared every thread's registers
    /// (`flush_ptrace_hw_breakpoint`): every watchpoint is gone and its id invalid.
    pub fn reset_for_exec(&mut self) {
        self.slots = [None; SLOTS];
        self.ever_slots = 0;
        self.raw = false;
        self.applied.clear();
        self.generation += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wp(id: i32, addr: u64, len: usize, kind: WatchKind) -> Option<Watchpoint> {
        Some(Watchpoint { id, addr, len, kind })
    }

    #[test]
    fn requests_are_checked_as_the_kernel_would() {
        assert!(Watchpoints::validate(0x1000, 8, WatchKind::Write).is_ok());
        assert!(Watchpoints::validate(0x1001, 1, WatchKind::ReadWrite).is_ok());
        assert!(Watchpoints::validate(0x1003, 1, WatchKind::Execute).is_ok());
        for (addr, len, kind) in [
            (0x1000, 3, WatchKind::Write),
            (0x1000, 16, WatchKind::Write),
            (0x1000, 0, WatchKind::Write),
            (0x1002, 4, WatchKind::Write),
            (0x1004, 8, WatchKind::ReadWrite),
            (0x1000, 4, WatchKind::Execute),
            (u64::MAX - 7, 8, WatchKind::Write),
            (0xffff_8000_0000_0000, 8, WatchKind::Write),
        ] {
            let e = Watchpoints::validate(addr, len, kind).unwrap_err();
            assert!(matches!(e, Error::InvalidArgument(_)), "{addr:#x} {len} {kind:?}: {e}");
        }
        assert_eq!(WatchKind::from_c(2), None);
        assert_eq!(WatchKind::from_c(3), Some(WatchKind::ReadWrite));
    }

    #[test]
    fn slots_ids_and_application_are_tracked() {
        let mut w = Watchpoints::default();
        assert!(!w.needs_apply(7), "nothing set: nothing to write into a new thread");
        let id = w.next_id();
        w.set(0, wp(id, 0x1000, 4, WatchKind::Write));
        assert!(w.used() && w.needs_apply(7));
        w.mark_applied(7);
        assert!(!w.needs_apply(7));
        w.set(0, None);
        assert!(w.needs_apply(7), "a thread holding a removed watchpoint must be rewritten");
        assert!(!w.needs_apply(8));
        assert_ne!(w.next_id(), id, "ids are not reused");
        w.set(2, wp(9, 0x2000, 8, WatchKind::ReadWrite));
        assert_eq!(w.free_slot(), Some(0));
        assert_eq!(w.slot_of(9), Some(2));
        assert_eq!(w.first_hit(0b0101).map(|w| w.id), Some(9));
        assert!(w.covers(0x2004, 8, false) && !w.covers(0x2008, 8, true));
        assert!(w.claims(0b0100) && w.claims(0b0001), "slot 0 held one, slot 2 holds one");
        assert!(!w.claims(0b1000), "slot 3 never held one of ours");
        w.reset_for_exec();
        assert!(!w.claims(0b0101), "an exec forgets the slots");
        assert_eq!(w.count(), 0);
        assert!(w.used(), "SIGTRAPs are still checked after exec");
    }
}
