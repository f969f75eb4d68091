//! The one SIGTRAP classifier: what a SIGTRAP stop of a traced thread is.
//!
//! The order (DESIGN.md, "Shape for the second stage"): a ptrace event stop first (told by
//! the event number in the wait status, and dispatched before this is called), then a
//! system-call stop (SIGTRAP|0x80 with PTRACE_O_TRACESYSGOOD, and PTRACE_EVENT_SECCOMP: taken
//! by `syscalls.rs`'s `on_syscall_trap` at the top of `on_stop`, before this), then the debug
//! status register DR6, then si_code. DR6 comes before si_code because a single
//! step whose instruction also trips a watchpoint arrives as TRAP_TRACE with a DR6 hit bit
//! set (arch/x86/kernel/traps.c `get_si_code`: DR_STEP wins), and lldb's `MonitorSIGTRAP`
//! checks watchpoints first for the same reason.
//!
//! Every method here runs on the monitor thread (see the parent module).

use super::*;

/// What a plain SIGTRAP (signal-delivery stop, no ptrace event) means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Trap {
    /// One of our debug-register slots fired: DR6 B0-B3 in `hits`; `step` when the thread
    /// was also single-stepping and its instruction completed (DR6 BS).
    Watch { hits: u64, step: bool },
    /// The end of a single step: si_code TRAP_TRACE after an instruction, TRAP_BRKPT after a
    /// `syscall` (the syscall-exit step report), or SIGTRAP itself when the step entered a
    /// signal handler (ptrace_notify from signal delivery).
    Step,
    /// An `int3` (si_code SI_KERNEL): one of our breakpoints, or the program's own.
    Int3,
    /// Anything else: a SIGTRAP someone sent, a hit of a debug register the caller programmed
    /// directly (si_code TRAP_HWBKPT), or one we cannot tell.
    Other,
}

impl Tracer {
    /// Classifies thread `tid`'s SIGTRAP signal-delivery stop. Reads (and clears) DR6 only
    /// once a watchpoint was ever set, so breakpoint-only sessions pay nothing for it.
    pub(super) fn classify_sigtrap(&mut self, tid: i32) -> Trap {
        let (hits, step) = self.watch_hits(tid);
        if hits != 0 && self.watch.claims(hits) {
            return Trap::Watch { hits, step };
        }
        match ptrace::siginfo(tid).map(|i| i.code) {
            Ok(ptrace::TRAP_TRACE | ptrace::TRAP_BRKPT | libc::SIGTRAP) => Trap::Step,
            Ok(ptrace::SI_KERNEL) => Trap::Int3,
            _ => Trap::Other,
        }
    }
}
