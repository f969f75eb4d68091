//! Out-of-line steps over breakpoints (gdb's displaced stepping).
//!
//! A thread that must go on from a breakpoint whose instruction `sys::x86` cannot execute in
//! place gets that instruction copied, relocated (`sys::relocate`), into a slot of a scratch
//! area in the tracee, and single-steps it there; its registers are then fixed up as if it had
//! executed the original. The int3 never leaves the text, so the other threads run meanwhile
//! and every one of their hits is seen, however long the step takes (a `read` that blocks).
//!
//! The scratch area: 64 KiB (2,048 slots of 32 bytes, one per thread stepping at the same
//! time), mapped read+exec by an `mmap` the library makes a stopped thread execute, the first
//! time a continue needs it (and again after exec: a new image has none). A fork child gets a
//! copy of it, harmless since no code jumps there (a child made by a `syscall` in a slot is
//! moved back to the original code before it runs). Detach unmaps it.
//!
//! Registers are fixed up at every stop of a thread that was out of line, whatever the stop
//! (its step's trap, a signal, a fault, an interrupt, its exit): a stop never shows the
//! scratch area. A system call in the slot that was interrupted is left so that the kernel's
//! restart (rip moved back 2 bytes) lands on the original `syscall`, where our int3 is: that
//! trap is not a new hit, the thread just steps out of line again (`restarts`).
//!
//! Out of line is impossible for: the program's own `int3`, transactional memory, an
//! instruction that does not decode, a `[rip+d]` operand with no register free, a thread with
//! a signal to deliver or with the trap flag set, a process where the area could not be mapped
//! (seccomp, say), and more threads than slots. Those are stepped in place, the breakpoint
//! lifted, with every other thread held until the step ends (`Tracer::advance_resume`).

use super::*;
use crate::sys::relocate::{self, Relocated, SLOT_SIZE};
use std::collections::HashMap;

/// Whether continuing may step out of line (on unless `PTRACE_DBG_NO_OUT_OF_LINE` is set, for
/// comparison in the benchmarks).
static OUT_OF_LINE: Lazy<bool> =
    Lazy::new(|| std::env::var_os("PTRACE_DBG_NO_OUT_OF_LINE").is_none());

/// The scratch area's size.
const AREA_SIZE: u64 = 64 * 1024;

/// The kernel's restart codes (include/linux/errno.h): an interrupted call returns one of
/// these and is restarted 2 bytes back (the `syscall`) unless a handler says otherwise.
const RESTART_CODES: [i64; 4] = [-512, -513, -514, -516];

/// One instruction being (or just) executed in a slot.
#[derive(Debug, Clone, Copy)]
pub(super) struct Step {
    slot: u32,
    orig: u64,
    reloc: Relocated,
    /// The scratch register's own value.
    saved: u64,
    /// The step continues a system call the kernel restarted (see `restarts`).
    restart: bool,
}

/// The out-of-line state of one process (the tracer's `ool`).
#[derive(Debug, Default)]
pub(super) struct OutOfLine {
    /// The scratch area's address in the tracee, once mapped.
    area: Option<u64>,
    /// Mapping it failed in this image: do not try again before an exec.
    unavailable: bool,
    free: Vec<u32>,
    /// What each slot holds (written on first use, rewritten only when it differs).
    written: HashMap<u32, Relocated>,
    /// Threads executing in a slot.
    active: HashMap<i32, Step>,
    /// Tasks created by a `syscall` in a slot whose first stop is still to come: the slot stays
    /// theirs until they are moved back to the original code.
    children: HashMap<i32, Step>,
    /// Threads whose interrupted system call restarts on one of our int3s: the breakpoint and
    /// the thread's stack pointer (a handler's own call through it has another one).
    restarts: HashMap<i32, (u64, u64)>,
    /// Threads about to step out of line to restart a system call.
    restarting: std::collections::HashSet<i32>,
    /// How many steps were made out of line (for tests and benchmarks).
    steps: u64,
}

impl Tracer {
    fn slot_addr(&self, slot: u32) -> u64 {
        self.ool.area.unwrap_or(0) + slot as u64 * SLOT_SIZE
    }

    /// How many steps over breakpoints were made out of line.
    pub fn stepped_out_of_line(&self) -> u64 {
        self.ool.steps
    }

    /// The scratch area's address, if mapped.
    pub fn scratch_area(&self) -> Option<u64> {
        self.ool.area
    }

    /// The original instruction at `pc` (our int3s hidden), as many bytes as are readable.
    fn code_at(&self, pc: u64) -> ([u8; 15], usize) {
        self.memory.code(pc)
    }

    /// Whether `tid`, stopped on the breakpoint at `pc`, can step over it out of line, with
    /// `planned` other threads already waiting for a slot. Maps the scratch area if needed:
    /// call only while every thread is stopped.
    pub(super) fn can_step_out_of_line(&mut self, tid: i32, pc: u64, planned: usize) -> bool {
        let sig = self.threads[&tid].pending_signal;
        if sig != 0 && procfs::signal_ignored(self.pid, sig) == Some(true) {
            // Delivering it does nothing (no handler, ignored): it must not send the thread
            // into a step in place, which holds every other thread until the instruction ends
            // (a read waiting for one of them would never end).
            trace!("thread {tid}: signal {sig} is ignored; not delivered");
            self.threads.get_mut(&tid).unwrap().pending_signal = 0;
        }
        if !*OUT_OF_LINE || self.threads[&tid].pending_signal != 0 {
            return false;
        }
        match self.regs(tid) {
            Ok(r) if r.eflags & x86::TF == 0 => {}
            _ => return false,
        }
        let (code, n) = self.code_at(pc);
        if relocate::relocate(&code[..n], pc, 0).is_err() {
            return false;
        }
        self.ensure_scratch(tid) && self.ool.free.len() > planned
    }

    /// Maps the scratch area through the stopped thread `tid`, unless it exists.
    pub(super) fn ensure_scratch(&mut self, tid: i32) -> bool {
        if self.ool.area.is_some() {
            return true;
        }
        if self.ool.unavailable {
            return false;
        }
        let args = [
            0,
            AREA_SIZE,
            (libc::PROT_READ | libc::PROT_EXEC) as u64,
            (libc::MAP_PRIVATE | libc::MAP_ANONYMOUS) as u64,
            u64::MAX,
            0,
        ];
        match self.inject_syscall(tid, libc::SYS_mmap as u64, args) {
            Some(addr) if (addr as i64) > 0 || (addr as i64) < -4096 => {
                trace!("scratch area for out-of-line steps at {addr:#x}");
                self.ool.area = Some(addr);
                self.ool.free = (0..(AREA_SIZE / SLOT_SIZE) as u32).rev().collect();
                true
            }
            Some(err) => {
                trace!("scratch area: mmap in the tracee failed ({err:#x}); steps stay in place");
                self.ool.unavailable = true;
                false
            }
            None => {
                // The call did not run (a signal came first, the thread died): this step goes
                // in place; the next one tries again. (Marking the image unavailable here made
                // every later step lift its breakpoint and hold the other threads.)
                trace!("scratch area: the planted mmap did not run; tried again next time");
                false
            }
        }
    }

    /// Makes the stopped thread `tid` execute one system call and returns its result: a
    /// `syscall` planted at its pc, its registers set and single-stepped, then everything put
    /// back. Every thread must be stopped (none may run into the planted bytes). orig_rax is -1
    /// so that a thread stopped in an interrupted call is not backed up by the kernel's
    /// restart logic while it executes ours; its own registers, restored, restart it after.
    fn inject_syscall(&mut self, tid: i32, nr: u64, args: [u64; 6]) -> Option<u64> {
        let saved = self.regs(tid).ok()?;
        let at = saved.rip;
        let mut orig = [0u8; 2];
        if !self.memory.read_raw(at, &mut orig) || !self.memory.write_raw(at, &[0x0F, 0x05]) {
            return None;
        }
        let mut regs = saved;
        regs.rax = nr;
        regs.orig_rax = u64::MAX;
        (regs.rdi, regs.rsi, regs.rdx, regs.r10, regs.r8, regs.r9) =
            (args[0], args[1], args[2], args[3], args[4], args[5]);
        regs.eflags &= !x86::TF;
        let mut status = None;
        if ptrace::set_regs(tid, &regs).is_ok() {
            // A late interrupt (of an all-stop that this thread had reached by its own stop)
            // comes before the call runs: step again.
            for _ in 0..4 {
                if ptrace::step(tid, 0).is_err() {
                    break;
                }
                status = wait::waitpid(tid, libc::__WALL).ok().flatten();
                if !matches!(
                    status,
                    Some((_, wait::Status::Stopped { event: ptrace::EVENT_STOP, .. }))
                ) {
                    break;
                }
            }
        }
        trace!("thread {tid}: planted system call {nr} at {at:#x}: {status:?}");
        let result = match status {
            Some((_, wait::Status::Stopped { sig: libc::SIGTRAP, event: 0 })) => {
                ptrace::get_regs(tid).ok().filter(|r| r.rip == at + 2).map(|r| r.rax)
            }
            _ => None,
        };
        self.memory.write_raw(at, &orig);
        let _ = ptrace::set_regs(tid, &saved);
        if let Some(t) = self.threads.get_mut(&tid) {
            t.regs = Some(saved);
            t.regs_dirty = false;
        }
        match status {
            Some((_, wait::Status::Stopped { sig, event: 0 })) if sig != libc::SIGTRAP => {
                // A signal came first (the call did not run): queued to the thread again, so
                // that it stops for it as usual when it next runs and the caller sees it. (Kept
                // as the thread's signal to deliver, it was delivered at the next resume and
                // never reported.)
                let _ = signal::tgkill(self.pid, tid, sig);
            }
            Some((_, wait::Status::Stopped { sig: libc::SIGTRAP, event: 0 })) | None => {}
            Some((t, st)) => {
                // An exit or an event (SIGKILL under way): the usual handling.
                self.set_state(tid, ThreadState::Running);
                self.on_wait(t, st);
            }
        }
        result
    }

    /// Starts the out-of-line step of `tid` (stopped on a breakpoint, `can_step_out_of_line`
    /// said yes): the instruction goes into a free slot, the thread single-steps it there.
    /// False if that failed (the thread died, say); it is then no longer stopped.
    pub(super) fn start_out_of_line(&mut self, tid: i32) -> bool {
        let Ok(mut regs) = self.regs(tid) else { return false };
        let orig = regs.rip;
        let Some(slot) = self.ool.free.pop() else { return false };
        let addr = self.slot_addr(slot);
        let (code, n) = self.code_at(orig);
        let reloc = match relocate::relocate(&code[..n], orig, addr) {
            Ok(r) if self.ool.written.get(&slot) == Some(&r) => r,
            Ok(r) if self.memory.write_raw(addr, &r.bytes[..r.size]) => {
                self.ool.written.insert(slot, r);
                r
            }
            _ => {
                self.ool.free.push(slot);
                return false;
            }
        };
        let saved = relocate::enter(&reloc, orig, addr, &mut regs);
        // Registers beyond the general ones written at this stop go to the thread before it
        // runs (the general ones go with `regs` below); leaving the stop forgets the cache.
        self.flush_xregs(tid);
        {
            let t = self.threads.get_mut(&tid).unwrap();
            t.regs_dirty = false;
            t.step_over = None;
            t.stepping = true;
            t.cause = Cause::of(CauseKind::Stopped);
        }
        self.watch_before_resume(tid); // watch.rs: a thread runs only with the watchpoints set
        if ptrace::set_regs(tid, &regs).is_ok() && ptrace::step(tid, 0).is_ok() {
            trace!("thread {tid}: steps {orig:#x} out of line in slot {slot}");
            let restart = self.ool.restarting.remove(&tid);
            self.ool.active.insert(tid, Step { slot, orig, reloc, saved, restart });
            self.ool.steps += 1;
            self.set_state(tid, ThreadState::SingleStepping);
            return true;
        }
        self.ool.free.push(slot);
        self.ool.restarting.remove(&tid);
        self.threads.get_mut(&tid).unwrap().stepping = false;
        self.set_state(tid, ThreadState::Exiting);
        false
    }

    /// Hook: any stop of a thread (called with the stop's ptrace event). If it was executing
    /// in a slot, its registers are fixed up as if it had executed the original instruction
    /// (or not at all, if it had not), and the slot is freed. Returns the step it was in.
    pub(super) fn out_of_line_end(&mut self, tid: i32, event: i32) -> Option<Step> {
        let step = self.ool.active.remove(&tid)?;
        if event == ptrace::EVENT_EXEC {
            return Some(step); // a new image: nothing of the slot is left (out_of_line_exec)
        }
        let addr = self.slot_addr(step.slot);
        let mut slot_kept = false;
        if let Ok(mut regs) = ptrace::get_regs(tid) {
            trace!(
                "thread {tid}: stop {event} at {:#x} ends its step in slot {}",
                regs.rip,
                step.slot
            );
            let fix = relocate::fix_up(&step.reloc, step.orig, addr, step.saved, &mut regs);
            if let Some(fix) = fix {
                let mut word = [0u8; 8];
                if self.memory.read_raw(fix.addr, &mut word)
                    && u64::from_le_bytes(word) == fix.pushed
                {
                    self.memory.write_raw(fix.addr, &fix.value.to_le_bytes());
                }
            }
            if step.reloc.pushf && regs.rip == step.orig + step.reloc.len as u64 {
                // The pushed flags have our step's TF (bit 8, in the first two bytes for a
                // pushfw too): the program's own TF was clear (`can_step_out_of_line`).
                let mut word = [0u8; 8];
                if self.memory.read_raw(regs.rsp, &mut word) {
                    let v = u64::from_le_bytes(word) & !x86::TF;
                    self.memory.write_raw(regs.rsp, &v.to_le_bytes());
                }
            }
            let _ = ptrace::set_regs(tid, &regs);
            if let Some(t) = self.threads.get_mut(&tid) {
                t.regs = Some(regs);
                t.regs_dirty = false;
                self.dirty = true;
            }
            let interrupted = RESTART_CODES.contains(&(regs.rax as i64));
            if step.reloc.syscall && regs.rip == step.orig + 2 && interrupted {
                trace!("thread {tid}: system call at {:#x} interrupted out of line", step.orig);
                self.ool.restarts.insert(tid, (step.orig, regs.rsp));
            } else if step.restart && regs.rip == step.orig {
                // Stopped before the restarted call ran (a signal came): the next arrival at
                // the int3 from here (back from a handler, say) still restarts it.
                self.ool.restarts.insert(tid, (step.orig, regs.rsp));
            }
            if matches!(event, ptrace::EVENT_FORK | ptrace::EVENT_VFORK | ptrace::EVENT_CLONE) {
                if let Ok(child) = ptrace::event_msg(tid) {
                    let child = child as i32;
                    self.ool.children.insert(child, step);
                    slot_kept = true;
                    if self.threads.get(&child).is_some_and(|t| t.state.is_stopped()) {
                        self.out_of_line_child(child); // its first stop came first
                    }
                }
            }
        }
        if !slot_kept {
            self.ool.free.push(step.slot);
        }
        Some(step)
    }

    /// Hook: the first stop of a task created by a `syscall` in a slot (a thread, or a fork
    /// child about to be let go): moved back to the original code before it runs.
    pub(super) fn out_of_line_child(&mut self, child: i32) {
        let Some(step) = self.ool.children.remove(&child) else { return };
        let addr = self.slot_addr(step.slot);
        if let Ok(mut regs) = ptrace::get_regs(child) {
            if relocate::translate(&step.reloc, step.orig, addr, &mut regs) {
                let _ = ptrace::set_regs(child, &regs);
                trace!("task {child}: born in slot {}, moved to {:#x}", step.slot, regs.rip);
                if let Some(t) = self.threads.get_mut(&child) {
                    t.regs = Some(regs);
                    t.regs_dirty = false;
                }
            }
        }
        self.ool.free.push(step.slot);
    }

    /// The step out of line of `tid` ended with its trap: the registers are already fixed up
    /// (`out_of_line_end`). The thread runs on, unless an all-stop wants it, or it is back on
    /// the breakpoint.
    pub(super) fn on_out_of_line_done(&mut self, tid: i32, step: Step) {
        self.set_state(tid, ThreadState::Stopped);
        // Hook for hardware watchpoints (issue 14): a step's trap can also carry DR6's B0..B3
        // (the instruction touched a watched address); classify it here, before it runs on.
        let pc = self.pc(tid);
        if pc == Some(step.orig) && self.memory.has_breakpoint(step.orig) {
            self.threads.get_mut(&tid).unwrap().check_pc = true;
            let running = self.run == RunState::Running && !self.stopping_all;
            if step.reloc.repeats {
                // One iteration of a rep-prefixed instruction: on with the next.
                if running && self.start_out_of_line(tid) {
                    return;
                }
                self.resume_quietly(tid);
                return;
            }
            // It branched back onto its own breakpoint: that is a new hit.
            let regs = self.regs(tid);
            if regs.is_ok_and(|r| self.on_breakpoint_hit(tid, step.orig, &r)) {
                return; // a tracepoint's, or a breakpoint whose condition is false
            }
            self.event_stop(tid, ThreadState::StoppedBreakpoint, Cause::breakpoint(step.orig));
            return;
        }
        self.resume_quietly(tid);
    }

    /// Whether the int3 trap of `tid` at the breakpoint `addr` is the kernel restarting the
    /// system call interrupted while the thread executed it out of line (not a new hit).
    pub(super) fn out_of_line_restart(&mut self, tid: i32, addr: u64, rsp: u64) -> bool {
        let restart = self.ool.restarts.remove(&tid) == Some((addr, rsp));
        if restart {
            self.ool.restarting.insert(tid);
        }
        restart
    }

    /// Hook: a step in place (breakpoint lifted) of `tid` ended with its trap. If it executed
    /// the call a pending restart was about (same stack, pc moved on, not into a handler's
    /// frame), that restart is done.
    pub(super) fn out_of_line_stepped_in_place(&mut self, tid: i32) {
        let Some(&(addr, rsp)) = self.ool.restarts.get(&tid) else { return };
        if let Ok(r) = self.regs(tid) {
            if r.rsp == rsp && r.rip != addr {
                self.ool.restarts.remove(&tid);
            }
        }
    }

    /// Hook: a continue or step is about to resume the threads (every one stopped). A thread
    /// whose system call was interrupted out of line (`restarts`) and that gets a signal now
    /// has the call restarted by the kernel (onto our int3) only when no handler runs, or the
    /// call always restarts (-ERESTARTNOINTR), or the handler has SA_RESTART (-ERESTARTSYS);
    /// otherwise the call returns -EINTR, and the note must go: the thread's next call through
    /// that syscall from the same frame is a new hit, not a restart.
    pub(super) fn out_of_line_before_resume(&mut self) {
        let signalled: Vec<(i32, i32)> = self
            .ool
            .restarts
            .keys()
            .filter_map(|tid| self.threads.get(tid))
            .filter(|t| t.pending_signal != 0 && t.state.is_stopped())
            .map(|t| (t.tid, t.pending_signal))
            .collect();
        for (tid, sig) in signalled {
            let Ok(regs) = self.regs(tid) else { continue };
            let code = regs.rax as i64;
            if !RESTART_CODES.contains(&code) {
                // Back on the int3 already (the kernel rewound rip, the call not yet run
                // again): a handler returns there, and it is still the restart.
                continue;
            }
            let restarts = match code {
                -513 => true, // -ERESTARTNOINTR
                _ if procfs::signal_caught(self.pid, sig) == Some(false) => true,
                -512 => self.sa_restart(tid, sig).unwrap_or(true), // -ERESTARTSYS
                _ => false, // -ERESTARTNOHAND, -ERESTART_RESTARTBLOCK with a handler: -EINTR
            };
            if !restarts {
                trace!("thread {tid}: signal {sig} ends its interrupted call: no restart");
                self.ool.restarts.remove(&tid);
            }
        }
    }

    /// Whether the handler of `sig` has SA_RESTART, asked of the tracee (rt_sigaction through
    /// the stopped thread `tid`, the old action written below its stack's red zone).
    fn sa_restart(&mut self, tid: i32, sig: i32) -> Option<bool> {
        let rsp = self.regs(tid).ok()?.rsp;
        let buf = (rsp - 128 - 64) & !15;
        let args = [sig as u64, 0, buf, 8, 0, 0];
        let r = self.inject_syscall(tid, libc::SYS_rt_sigaction as u64, args)?;
        let mut act = [0u8; 16]; // sa_handler, sa_flags
        if r != 0 || !self.memory.read_raw(buf, &mut act) {
            return None;
        }
        let flags = u64::from_le_bytes(act[8..16].try_into().expect("8 bytes"));
        Some(flags & libc::SA_RESTART as u64 != 0)
    }

    /// Hook: the thread's registers were written by the user: a pending restart is theirs now.
    pub(super) fn out_of_line_regs_written(&mut self, tid: i32) {
        self.ool.restarts.remove(&tid);
    }

    /// Hook: the breakpoint at `addr` was removed: a call interrupted there restarts on the
    /// real instruction now, not on an int3 that would tell us.
    pub(super) fn out_of_line_breakpoint_removed(&mut self, addr: u64) {
        self.ool.restarts.retain(|_, (a, _)| *a != addr);
    }

    /// Hook: the thread is gone (its wait status came).
    pub(super) fn out_of_line_forget(&mut self, tid: i32) {
        if let Some(step) = self.ool.active.remove(&tid) {
            self.ool.free.push(step.slot);
        }
        if let Some(step) = self.ool.children.remove(&tid) {
            self.ool.free.push(step.slot);
        }
        self.ool.restarts.remove(&tid);
        self.ool.restarting.remove(&tid);
    }

    /// Hook: exec. The new image has no scratch area; one is mapped when next needed.
    pub(super) fn out_of_line_exec(&mut self) {
        let steps = self.ool.steps;
        self.ool = OutOfLine { steps, ..OutOfLine::default() };
    }

    /// Hook: detach (every thread stopped, none in a slot). The scratch area is unmapped
    /// through a stopped thread, so the process keeps nothing of ours.
    pub(super) fn out_of_line_detach(&mut self) {
        let Some(area) = self.ool.area else { return };
        let by = self
            .threads
            .values()
            .find(|t| t.state.is_stopped() && t.state != ThreadState::StoppedExiting && !t.stepping)
            .map(|t| t.tid);
        if let Some(tid) = by {
            let r =
                self.inject_syscall(tid, libc::SYS_munmap as u64, [area, AREA_SIZE, 0, 0, 0, 0]);
            trace!("scratch area {area:#x}: munmap through thread {tid}: {r:?}");
        }
        self.ool.area = None;
    }
}
