//! System-call stops: which calls are traced, how each syscall stop is classified, and what
//! one logical call looks like to the caller. The ptrace side (resuming with PTRACE_SYSCALL,
//! the hooks the event code calls, installing a seccomp filter) is in `tracer::syscalls`;
//! this module is the feature's state and its decisions, free of system calls.
//!
//! How the kernel reports a system call to a tracer, and what we make of it:
//! - A thread resumed with PTRACE_SYSCALL stops at the next syscall entry and exit; with
//!   PTRACE_O_TRACESYSGOOD those stops are SIGTRAP|0x80, and PTRACE_GET_SYSCALL_INFO (Linux
//!   5.3) says which of the two it is (it reads the kernel's own record, so entry and exit are
//!   never confused, not even after a missed stop). A thread resumed with PTRACE_CONT or
//!   PTRACE_SINGLESTEP makes no syscall stops.
//! - A seccomp filter returning SECCOMP_RET_TRACE stops the thread at the entry of the calls
//!   it names (PTRACE_EVENT_SECCOMP, with PTRACE_O_TRACESECCOMP), whatever the resume request
//!   was: the kernel stops nothing else. Since Linux 4.8 the seccomp stop comes after a
//!   syscall-enter stop (if any) and acts as one; resuming it with PTRACE_SYSCALL gives the
//!   exit stop. So in seccomp mode a thread runs with PTRACE_CONT until a seccomp stop, and
//!   with PTRACE_SYSCALL from there to that call's exit.
//! - A call interrupted by a signal exits with -ERESTARTSYS, -ERESTARTNOINTR, -ERESTARTNOHAND
//!   or -ERESTART_RESTARTBLOCK (-512..-516, codes a program never sees); the kernel then either
//!   restarts it (a new entry, `restart_syscall` for -516) or turns it into -EINTR. Such an
//!   exit is reported as it is (strace does the same), except when the interruption is our
//!   own (an all-stop interrupting a thread blocked in a call): then neither that exit nor the
//!   re-entry is reported, and the call shows as one entry and one exit.
//! - `exit` and `exit_group` have no exit stop (the thread reports its exit instead). A
//!   successful `execve` has its exit stop in the new program, after the exec stop, also when
//!   a thread other than the leader called it (the caller then has the leader's tid). A new
//!   thread or fork child gets no exit stop for the
//!   clone that created it: it starts at the entry of its next call. `rt_sigreturn`'s exit
//!   shows the restored rax, not a result.

pub mod filter;
pub mod names;

use std::collections::{HashMap, HashSet};

/// `flags` bit: stop at the entry of traced calls.
pub const ENTRY: u32 = 1;
/// `flags` bit: stop at the exit of traced calls.
pub const EXIT: u32 = 2;
/// `flags` bit: let a seccomp filter do the filtering (launched processes only).
pub const SECCOMP: u32 = 4;
/// `flags` bit: record the stops (`engine::records`) instead of stopping the process
/// (issue 18: an strace on this library must not stop the world per call).
pub const RECORD: u32 = 8;
/// Every flag bit.
pub const ALL_FLAGS: u32 = ENTRY | EXIT | SECCOMP | RECORD;

/// Numbers a set may hold: x86-64 calls are below 512 (x32's are 0x40000000 and up, never
/// traced by number).
pub const MAX_NUMBER: i32 = 1023;

/// AUDIT_ARCH_X86_64: a 64-bit `syscall`.
pub const ARCH_X86_64: u32 = 0xc000_003e;
/// AUDIT_ARCH_I386: `int 0x80` from a 64-bit process, with i386 numbers.
pub const ARCH_I386: u32 = 0x4000_0003;

/// `execve`.
pub const NR_EXECVE: u64 = 59;
/// `execveat`.
pub const NR_EXECVEAT: u64 = 322;
/// `rt_sigreturn`.
pub const NR_RT_SIGRETURN: u64 = 15;

/// `restart_syscall`, which the kernel enters for a call that exited with
/// -ERESTART_RESTARTBLOCK.
pub const NR_RESTART_SYSCALL: u64 = 219;

/// Whether `ret` is one of the kernel's restart codes (the call will be restarted or turned
/// into -EINTR).
pub fn is_restart_code(ret: i64) -> bool {
    matches!(ret, -516 | -514 | -513 | -512)
}

/// Whether x86-64 call `nr` replaces the register file (its exit shows other argument
/// registers than its entry).
fn replaces_registers(nr: u64) -> bool {
    matches!(nr, NR_RT_SIGRETURN | NR_EXECVE | NR_EXECVEAT)
}

/// The name of an x86-64 system call ("openat"), from the kernel's table.
pub fn name(number: i32) -> Option<&'static std::ffi::CStr> {
    names::NAMES.binary_search_by_key(&number, |(n, _)| *n).ok().map(|i| names::NAMES[i].1)
}

/// The number of an x86-64 system call by name.
pub fn number(name: &str) -> Option<i32> {
    names::NAMES.iter().find(|(_, s)| s.to_bytes() == name.as_bytes()).map(|(n, _)| *n)
}

/// A set of system-call numbers (or all of them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyscallSet {
    all: bool,
    bits: [u64; 16],
}

impl SyscallSet {
    /// Every call (including `int 0x80` and x32 calls).
    pub fn all() -> SyscallSet {
        SyscallSet { all: true, bits: [0; 16] }
    }

    /// No call.
    pub fn none() -> SyscallSet {
        SyscallSet { all: false, bits: [0; 16] }
    }

    /// These numbers (each 0..=MAX_NUMBER, checked by the caller).
    pub fn of(numbers: &[i32]) -> SyscallSet {
        let mut s = SyscallSet::none();
        for &n in numbers {
            s.bits[n as usize / 64] |= 1 << (n as usize % 64);
        }
        s
    }

    pub fn is_all(&self) -> bool {
        self.all
    }

    /// Whether a call with this number and audit arch is in the set. The numbers are x86-64
    /// numbers: an i386 call (`int 0x80`) is only in the set of all calls.
    pub fn contains(&self, nr: u64, arch: u32) -> bool {
        if self.all {
            return true;
        }
        arch == ARCH_X86_64
            && nr <= MAX_NUMBER as u64
            && self.bits[nr as usize / 64] >> (nr % 64) & 1 != 0
    }

    /// The numbers in the set, ascending (empty for the set of all calls).
    pub fn numbers(&self) -> Vec<u32> {
        (0..=MAX_NUMBER as u32)
            .filter(|&n| self.bits[n as usize / 64] >> (n % 64) & 1 != 0)
            .collect()
    }

    /// Whether every call in `self` is in `other`.
    pub fn is_subset_of(&self, other: &SyscallSet) -> bool {
        other.all
            || (!self.all && self.bits.iter().zip(other.bits.iter()).all(|(a, b)| a & !b == 0))
    }

    /// The union of two sets.
    pub fn union(&self, other: &SyscallSet) -> SyscallSet {
        let mut s = self.clone();
        s.all |= other.all;
        for (a, b) in s.bits.iter_mut().zip(other.bits.iter()) {
            *a |= b;
        }
        s
    }
}

/// One syscall stop as the caller sees it (`ptrace_dbg_syscall`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyscallStop {
    /// The call's number (at an exit: the number it entered with).
    pub number: i64,
    pub is_exit: bool,
    /// The arguments (at an exit: the argument registers, unchanged by the kernel).
    pub args: [u64; 6],
    /// At an exit: the result, -errno on failure. At an entry: 0.
    pub ret: i64,
    /// At an exit: the result is an error (-4095..-1).
    pub is_error: bool,
    /// AUDIT_ARCH_X86_64 or AUDIT_ARCH_I386.
    pub arch: u32,
    /// The address after the `syscall` instruction.
    pub pc: u64,
    pub sp: u64,
}

/// How the process's threads are resumed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// No tracing: PTRACE_CONT (seccomp stops of an installed filter are let go).
    Off,
    /// PTRACE_SYSCALL everywhere, filtered in the monitor.
    Ptrace,
    /// PTRACE_CONT until a seccomp stop, PTRACE_SYSCALL from there to the call's exit.
    Seccomp,
}

/// What the kernel said at a syscall stop, reduced to what the decision needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A syscall-enter stop (PTRACE_SYSCALL).
    Enter,
    /// A seccomp stop (acts as an entry).
    Seccomp,
    /// A syscall-exit stop.
    Exit,
}

/// The decision at one syscall stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Report it: an all-stop with this thread's cause SYSCALL_ENTRY/EXIT.
    Report,
    /// Not for the caller: resume the thread (or keep it stopped if an all-stop wants it).
    Swallow,
}

/// Per-thread bookkeeping of the call in progress.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct ThreadCall {
    /// The logical call the thread is inside (entered, exit not seen), and whether its last
    /// entry stop was a syscall-enter stop (a seccomp stop for the same call may follow).
    entered: Option<(u64, bool)>,
    /// Our own interrupt made this call exit with a restart code: its re-entry is the same
    /// logical call.
    restart: Option<u64>,
    /// The next exit stop is not the caller's (the launch's own execve).
    hide_exit: bool,
    /// The argument registers of the call `entered`, as the thread will run it: from its
    /// entry stop, or from our copy of its registers when it was resumed from there (the
    /// caller may have changed them). The kernel keeps them through the call, so its exit
    /// stop reports them without reading the registers again (`exit_args`).
    args: Option<[u64; 6]>,
}

/// The syscall feature's state for one process (owned by the monitor's Tracer).
#[derive(Debug)]
pub struct SyscallTrace {
    flags: u32,
    set: SyscallSet,
    mode: Mode,
    /// The union of the calls in the seccomp filters installed in the process (they cannot be
    /// removed), None when there is none.
    filter: Option<SyscallSet>,
    threads: HashMap<i32, ThreadCall>,
    /// The process is a launched one at its launch stop, not yet resumed (the one moment a
    /// filter can be installed).
    pub launch_stop: bool,
    /// Threads stepping over a breakpoint on a `syscall` with PTRACE_SYSCALL.
    pub step_over: HashSet<i32>,
    /// Fork children kept traced because they inherited our filter.
    pub filtered_children: HashSet<i32>,
}

impl Default for SyscallTrace {
    fn default() -> Self {
        SyscallTrace::new()
    }
}

impl SyscallTrace {
    pub fn new() -> SyscallTrace {
        SyscallTrace {
            flags: 0,
            set: SyscallSet::none(),
            mode: Mode::Off,
            filter: None,
            threads: HashMap::new(),
            launch_stop: false,
            step_over: HashSet::new(),
            filtered_children: HashSet::new(),
        }
    }

    /// Tracing is on (some stop may be reported).
    pub fn active(&self) -> bool {
        self.mode != Mode::Off
    }

    pub fn mode(&self) -> Mode {
        self.mode
    }

    pub fn flags(&self) -> u32 {
        self.flags
    }

    /// The calls of the installed seccomp filters, if any.
    pub fn filter(&self) -> Option<&SyscallSet> {
        self.filter.as_ref()
    }

    /// A filter for `set` was installed (stacked on any earlier one).
    pub fn filter_installed(&mut self, set: &SyscallSet) {
        self.filter = Some(match &self.filter {
            Some(f) => f.union(set),
            None => set.clone(),
        });
    }

    /// Replaces the traced set. The mode: off for flags 0; seccomp when the installed filter
    /// covers the set (a filter stops only the calls it names); PTRACE_SYSCALL otherwise.
    pub fn configure(&mut self, set: SyscallSet, flags: u32) {
        self.flags = flags & (ENTRY | EXIT);
        self.set = set;
        self.mode = if self.flags == 0 {
            Mode::Off
        } else if self.filter.as_ref().is_some_and(|f| self.set.is_subset_of(f)) {
            Mode::Seccomp
        } else {
            Mode::Ptrace
        };
        if self.mode == Mode::Off {
            self.threads.clear();
        }
    }

    /// Whether `tid` must be resumed with PTRACE_SYSCALL (else PTRACE_CONT).
    pub fn resume_with_syscall(&self, tid: i32) -> bool {
        match self.mode {
            Mode::Off => false,
            Mode::Ptrace => true,
            Mode::Seccomp => {
                self.threads.get(&tid).is_some_and(|c| c.entered.is_some() || c.restart.is_some())
            }
        }
    }

    /// The number of the call `tid` is inside, if its entry was seen.
    pub fn entered(&self, tid: i32) -> Option<u64> {
        self.threads.get(&tid).and_then(|c| c.entered.map(|(nr, _)| nr))
    }

    /// The argument registers `tid` entered its current call with (`entered`), from the entry
    /// stop's syscall info.
    pub fn entered_with(&mut self, tid: i32, args: [u64; 6]) {
        if let Some(c) = self.threads.get_mut(&tid) {
            if c.entered.is_some() {
                c.args = Some(args);
            }
        }
    }

    /// `tid` is resumed from a stop with these registers (our copy, written back if changed):
    /// if it is inside a call, they are the arguments its exit will show, unless the call it
    /// runs (`orig_rax`, which the caller may have changed at the entry) replaces the register
    /// file: then its exit reads the registers.
    pub fn resumed_with(&mut self, tid: i32, orig_rax: u64, args: [u64; 6]) {
        if let Some(c) = self.threads.get_mut(&tid) {
            if c.entered.is_some() {
                c.args = (!replaces_registers(orig_rax)).then_some(args);
            }
        }
    }

    /// The argument registers at the exit of call `nr` of `tid`, if known without reading the
    /// registers: every x86-64 call leaves rdi, rsi, rdx, r10, r8 and r9 as it found them,
    /// except the ones that replace the whole register file (`rt_sigreturn`, a successful
    /// `execve`/`execveat`). Call before `on_stop` takes the entry.
    pub fn exit_args(&self, tid: i32, nr: u64, arch: u32) -> Option<[u64; 6]> {
        if arch != ARCH_X86_64 || replaces_registers(nr) {
            return None;
        }
        let c = self.threads.get(&tid)?;
        match c.entered {
            Some((n, _)) if n == nr => c.args,
            _ => None,
        }
    }

    /// `tid` left the call it was inside without an exit stop (a single step ran it: the
    /// kernel reports the step's trap instead): no later exit stop is that call's.
    pub fn left_call(&mut self, tid: i32) {
        if let Some(c) = self.threads.get_mut(&tid) {
            c.entered = None;
            c.args = None;
        }
    }

    /// The launched program's thread sits in the execve that started it (the launch stop):
    /// that call's exit stop is part of the launch, not a call of the program.
    pub fn hide_launch_exit(&mut self, tid: i32) {
        self.threads.entry(tid).or_default().hide_exit = true;
    }

    /// A thread is gone (its tid may be reused).
    pub fn forget(&mut self, tid: i32) {
        self.threads.remove(&tid);
        self.step_over.remove(&tid);
    }

    /// Exec: the thread `former` now has the leader's tid `tid` (and every other thread is
    /// gone); its execve's exit stop is still to come.
    pub fn on_exec(&mut self, former: i32, tid: i32) {
        let call = self.threads.remove(&former);
        self.threads.clear();
        if let Some(c) = call {
            self.threads.insert(tid, c);
        }
    }

    /// Classifies one syscall stop of `tid` and updates the bookkeeping. `nr` is the call's
    /// number (at an exit: from the thread's entry, or its orig_rax), `ret` the result at an
    /// exit, `interrupted` whether we had interrupted the thread (it was Stopping).
    pub fn on_stop(
        &mut self,
        tid: i32,
        kind: Kind,
        nr: u64,
        arch: u32,
        ret: i64,
        interrupted: bool,
    ) -> (Verdict, u64) {
        let flags = self.flags;
        let mode = self.mode;
        let c = self.threads.entry(tid).or_default();
        let (nr, report) = match kind {
            Kind::Enter | Kind::Seccomp => {
                c.hide_exit = false; // a new call: the launch's execve is behind us
                if kind == Kind::Seccomp && c.entered == Some((nr, true)) {
                    // The seccomp stop after this call's syscall-enter stop: the same entry.
                    c.entered = Some((nr, false));
                    return (Verdict::Swallow, nr);
                }
                if let Some(orig) = c.restart.take() {
                    if nr == orig || nr == NR_RESTART_SYSCALL {
                        // The restart of a call our interrupt broke off: still the same call.
                        c.entered = Some((orig, kind == Kind::Enter));
                        return (Verdict::Swallow, orig);
                    }
                }
                c.entered = Some((nr, kind == Kind::Enter));
                c.args = None;
                (nr, flags & ENTRY != 0)
            }
            Kind::Exit => {
                c.args = None;
                let nr = c.entered.take().map_or(nr, |(n, _)| n);
                if std::mem::take(&mut c.hide_exit) && nr == NR_EXECVE {
                    return (Verdict::Swallow, nr);
                }
                if interrupted && is_restart_code(ret) {
                    c.restart = Some(nr);
                    return (Verdict::Swallow, nr);
                }
                c.restart = None;
                (nr, flags & EXIT != 0)
            }
        };
        let traced = mode != Mode::Off && report && self.set.contains(nr, arch);
        (if traced { Verdict::Report } else { Verdict::Swallow }, nr)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_numbers_round_trip() {
        assert_eq!(name(0).unwrap().to_str().unwrap(), "read");
        assert_eq!(name(257).unwrap().to_str().unwrap(), "openat");
        assert_eq!(name(263).unwrap().to_str().unwrap(), "unlinkat");
        assert_eq!(name(231).unwrap().to_str().unwrap(), "exit_group");
        assert_eq!(name(435).unwrap().to_str().unwrap(), "clone3");
        assert_eq!(name(400), None); // the unused 387..423 gap
        assert_eq!(name(-1), None);
        assert_eq!(number("getpid"), Some(39));
        assert_eq!(number("nosuchcall"), None);
        for (n, s) in names::NAMES.iter() {
            assert_eq!(number(s.to_str().unwrap()), Some(*n));
        }
        assert!(names::NAMES.windows(2).all(|w| w[0].0 < w[1].0));
    }

    #[test]
    fn sets_hold_their_numbers_for_x86_64_only() {
        let s = SyscallSet::of(&[1, 39, 1023]);
        assert!(s.contains(1, ARCH_X86_64) && s.contains(39, ARCH_X86_64));
        assert!(s.contains(1023, ARCH_X86_64));
        assert!(!s.contains(0, ARCH_X86_64) && !s.contains(1, ARCH_I386));
        assert!(!s.contains(0x4000_0001, ARCH_X86_64));
        assert!(SyscallSet::all().contains(5, ARCH_I386));
        assert_eq!(s.numbers(), vec![1, 39, 1023]);
        assert!(SyscallSet::of(&[1]).is_subset_of(&s));
        assert!(!s.is_subset_of(&SyscallSet::of(&[1])));
        assert!(!SyscallSet::all().is_subset_of(&s));
    }

    #[test]
    fn one_logical_call_across_our_interrupt() {
        let mut t = SyscallTrace::new();
        t.configure(SyscallSet::of(&[0]), ENTRY | EXIT);
        let a = ARCH_X86_64;
        assert_eq!(t.on_stop(7, Kind::Enter, 0, a, 0, false).0, Verdict::Report);
        // Our interrupt: exit with -ERESTARTSYS, then the re-entry: both hidden.
        assert_eq!(t.on_stop(7, Kind::Exit, 0, a, -512, true).0, Verdict::Swallow);
        assert!(t.resume_with_syscall(7));
        assert_eq!(t.on_stop(7, Kind::Enter, 0, a, 0, false).0, Verdict::Swallow);
        assert_eq!(t.on_stop(7, Kind::Exit, 0, a, 5, false), (Verdict::Report, 0));
        // restart_syscall (-516) continues the call it restarts.
        t.on_stop(7, Kind::Enter, 0, a, 0, false);
        t.on_stop(7, Kind::Exit, 0, a, -516, true);
        assert_eq!(t.on_stop(7, Kind::Enter, 219, a, 0, false).0, Verdict::Swallow);
        assert_eq!(t.on_stop(7, Kind::Exit, 219, a, 0, false), (Verdict::Report, 0));
        // Someone else's signal: the restart exit is reported as it is.
        t.on_stop(7, Kind::Enter, 0, a, 0, false);
        assert_eq!(t.on_stop(7, Kind::Exit, 0, a, -512, false).0, Verdict::Report);
    }

    #[test]
    fn seccomp_stop_after_an_enter_stop_is_the_same_entry() {
        let mut t = SyscallTrace::new();
        t.filter_installed(&SyscallSet::of(&[1]));
        t.configure(SyscallSet::of(&[1]), ENTRY | EXIT);
        assert_eq!(t.mode(), Mode::Seccomp);
        let a = ARCH_X86_64;
        assert!(!t.resume_with_syscall(3));
        assert_eq!(t.on_stop(3, Kind::Enter, 1, a, 0, false).0, Verdict::Report);
        assert_eq!(t.on_stop(3, Kind::Seccomp, 1, a, 0, false).0, Verdict::Swallow);
        assert!(t.resume_with_syscall(3));
        assert_eq!(t.on_stop(3, Kind::Exit, 1, a, 4, false).0, Verdict::Report);
        assert!(!t.resume_with_syscall(3));
        // A set the filter does not cover falls back to PTRACE_SYSCALL.
        t.configure(SyscallSet::of(&[1, 39]), EXIT);
        assert_eq!(t.mode(), Mode::Ptrace);
        t.configure(SyscallSet::none(), 0);
        assert_eq!(t.mode(), Mode::Off);
        assert_eq!(t.on_stop(3, Kind::Seccomp, 1, a, 0, false).0, Verdict::Swallow);
    }

    #[test]
    fn exit_args_come_from_the_entry_unless_the_call_replaces_the_registers() {
        let mut t = SyscallTrace::new();
        t.configure(SyscallSet::all(), ENTRY | EXIT);
        let a = ARCH_X86_64;
        t.on_stop(1, Kind::Enter, 1, a, 0, false);
        t.entered_with(1, [1, 2, 3, 4, 5, 6]);
        assert_eq!(t.exit_args(1, 1, a), Some([1, 2, 3, 4, 5, 6]));
        // Registers written (or read) at the entry stop are what the call runs with.
        t.resumed_with(1, 1, [1, 9, 3, 4, 5, 6]);
        assert_eq!(t.exit_args(1, 1, a), Some([1, 9, 3, 4, 5, 6]));
        // The number changed at the entry to a call that replaces the registers: read them.
        t.resumed_with(1, NR_EXECVE, [1, 9, 3, 4, 5, 6]);
        assert_eq!(t.exit_args(1, 1, a), None, "the write became an execve");
        t.resumed_with(1, 1, [1, 9, 3, 4, 5, 6]);
        t.on_stop(1, Kind::Exit, 1, a, 1, false);
        assert_eq!(t.exit_args(1, 1, a), None, "the exit took the entry");
        t.resumed_with(1, 1, [7; 6]); // from an exit stop: no call in progress
        assert_eq!(t.exit_args(1, 1, a), None);
        for nr in [NR_RT_SIGRETURN, NR_EXECVE, NR_EXECVEAT] {
            t.on_stop(1, Kind::Enter, nr, a, 0, false);
            t.entered_with(1, [1; 6]);
            assert_eq!(t.exit_args(1, nr, a), None, "call {nr} replaces the registers");
            t.on_stop(1, Kind::Exit, nr, a, 0, false);
        }
        t.on_stop(1, Kind::Enter, 4, ARCH_I386, 0, false);
        t.entered_with(1, [1; 6]);
        assert_eq!(t.exit_args(1, 4, ARCH_I386), None, "i386 calls read the registers");
        // An exit whose entry was not seen (attached in the call): nothing known.
        assert_eq!(t.exit_args(2, 0, a), None);
    }

    #[test]
    fn untraced_calls_and_unwanted_directions_are_swallowed() {
        let mut t = SyscallTrace::new();
        t.configure(SyscallSet::of(&[39]), EXIT);
        let a = ARCH_X86_64;
        assert_eq!(t.on_stop(1, Kind::Enter, 39, a, 0, false).0, Verdict::Swallow);
        assert_eq!(t.on_stop(1, Kind::Exit, 0, a, 5, false), (Verdict::Report, 39));
        assert_eq!(t.on_stop(1, Kind::Enter, 1, a, 0, false).0, Verdict::Swallow);
        assert_eq!(t.on_stop(1, Kind::Exit, 1, a, 5, false).0, Verdict::Swallow);
        // An exit whose entry was never seen uses the number given (orig_rax).
        assert_eq!(t.on_stop(2, Kind::Exit, 39, a, 5, false), (Verdict::Report, 39));
        // Exec by a non-leader: the entry moves to the leader's tid.
        t.on_stop(5, Kind::Enter, 59, a, 0, false);
        t.on_exec(5, 1);
        assert_eq!(t.entered(1), Some(59));
        assert_eq!(t.entered(5), None);
    }
}
