//! Hardware watchpoints in the tracer: setting and removing them on every thread, and the
//! hooks the event code calls at fixed points. The state and its rules are in
//! `engine::watchpoints`; this file is every place a watchpoint meets a thread:
//! - `add_watchpoint`, `remove_watchpoint`: every stopped thread is written at once, so the
//!   kernel's verdict comes back to the caller;
//! - `watch_before_resume` (from `flush_regs`, before any thread runs): a thread that does not
//!   hold the current watchpoints gets them, above all a new thread before it first runs
//!   (the kernel's `copy_thread` gave it none);
//! - `watch_hits` (from the SIGTRAP classifier): DR6, read and cleared;
//! - `watch_stop`: reporting a hit;
//! - `watch_take_pending_hit` (at an interrupt stop, and at detach): a hit whose SIGTRAP is
//!   still queued behind our interrupt;
//! - `watch_on_exec`, `watch_forget_thread`, `watch_release_all` (detach, abandon).
//!
//! A fork child needs nothing: `copy_thread` cleared its registers, and we let it go.
//! Every method here runs on the monitor thread (see the parent module).

use super::*;
use crate::engine::watchpoints::{WatchKind, Watchpoint, Watchpoints};
use crate::sys::debugreg as dr;

impl Tracer {
    /// Sets a watchpoint on every thread (process stopped); returns its id.
    pub fn add_watchpoint(&mut self, addr: u64, len: usize, kind: WatchKind) -> Result<i32> {
        self.require_stopped()?;
        Watchpoints::validate(addr, len, kind)?;
        let Some(slot) = self.watch.free_slot() else {
            return Err(Error::NoResource(format!(
                "all {} hardware watchpoint slots (DR0-DR3) are in use; remove one first",
                dr::SLOTS
            )));
        };
        let w = Watchpoint { id: 0, addr, len, kind };
        let mut slots = *self.watch.slots();
        slots[slot] = Some(w);
        let dr7 = self.watch.dr7_with(&slots);
        let old_dr7 = self.watch.dr7();
        let tids = self.watchable_threads();
        let mut written = Vec::new();
        for tid in tids {
            // The slot is disabled in the thread's DR7, so its address may change freely; then
            // the new DR7 enables it, and that is where the kernel validates it.
            let r = dr::set_addr(tid, slot, addr).and_then(|()| dr::set_dr7(tid, dr7));
            match r {
                Ok(()) => written.push(tid),
                // Died meanwhile: nothing of it to watch.
                Err(Errno::ESRCH) => {}
                Err(e) => {
                    for &t in &written {
                        let _ = dr::set_dr7(t, old_dr7);
                    }
                    return Err(match e {
                        Errno::EINVAL => Error::InvalidArgument(format!(
                            "the kernel refused a {len}-byte watchpoint at {addr:#x} (EINVAL: \
                             not a user-space address it accepts)"
                        )),
                        e => thread_error(tid, "ptrace(PTRACE_POKEUSER, DR7)", e),
                    });
                }
            }
        }
        let id = self.watch.next_id();
        self.watch.set(slot, Some(Watchpoint { id, ..w }));
        for tid in written {
            self.watch.mark_applied(tid);
        }
        trace!("watchpoint {id}: {kind:?} {len} bytes at {addr:#x} in slot {slot}");
        Ok(id)
    }

    /// Removes watchpoint `id` from every thread (process stopped).
    pub fn remove_watchpoint(&mut self, id: i32) -> Result<()> {
        self.require_stopped()?;
        let Some(slot) = self.watch.slot_of(id) else {
            return Err(Error::NoWatchpoint(format!(
                "no watchpoint with id {id} (never set, already removed, or cleared by an exec)"
            )));
        };
        self.watch.set(slot, None);
        let dr7 = self.watch.dr7();
        for tid in self.watchable_threads() {
            // Only ESRCH (gone) can fail a DR7 that enables less than before.
            if dr::set_dr7(tid, dr7).is_ok() {
                self.watch.mark_applied(tid);
            }
        }
        trace!("watchpoint {id}: removed from slot {slot}");
        Ok(())
    }

    /// The threads whose debug registers can be written now (stopped, not on their way out).
    fn watchable_threads(&self) -> Vec<i32> {
        self.threads
            .values()
            .filter(|t| t.state.is_stopped() && t.state != ThreadState::StoppedExiting)
            .map(|t| t.tid)
            .collect()
    }

    /// Hook, before thread `tid` runs (called by `flush_regs`): if it does not hold the current
    /// watchpoints (a new thread, whose registers `copy_thread` cleared; or one that was not
    /// stopped when they changed), write them: DR7 = 0, the addresses, then DR7, in gdb's
    /// order, so no slot is ever enabled with another slot's address.
    pub(super) fn watch_before_resume(&mut self, tid: i32) {
        if !self.watch.needs_apply(tid) {
            return;
        }
        let dr7 = self.watch.dr7();
        let slots = *self.watch.slots();
        let r = dr::set_dr7(tid, 0).and_then(|()| {
            for (n, w) in slots.iter().enumerate() {
                if let Some(w) = w {
                    dr::set_addr(tid, n, w.addr)?;
                }
            }
            dr::set_dr7(tid, dr7)
        });
        match r {
            Ok(()) => {
                trace!("thread {tid}: watchpoints written (DR7 {dr7:#x})");
                self.watch.mark_applied(tid);
            }
            Err(e) => trace!("thread {tid}: writing watchpoints failed: {e}"),
        }
    }

    /// Hook of the SIGTRAP classifier: the slots that fired for this trap (DR6 B0-B3) and
    /// whether the thread was single-stepping (BS), read and then cleared, since the kernel
    /// leaves DR6 as it is until the next debug exception. (0, false) while no watchpoint was
    /// ever set: no system call then.
    pub(super) fn watch_hits(&mut self, tid: i32) -> (u64, bool) {
        if !self.watch.used() {
            return (0, false);
        }
        let Ok(dr6) = dr::dr6(tid) else { return (0, false) };
        let hits = dr6 & dr::DR6_HITS;
        if hits != 0 {
            let _ = dr::clear_dr6(tid);
        }
        (hits, dr6 & dr::DR6_STEP != 0)
    }

    /// Reports thread `tid`'s watchpoint hit (`hits`: DR6 B0-B3) as a stop of the process.
    /// `stepped`: the thread was single-stepping (our step, a step over a breakpoint) and the
    /// instruction completed; its step is over too.
    ///
    /// A data watchpoint traps after the access: the PC is on the next instruction, which has
    /// not run (a breakpoint there is hit when the thread goes on). An execute watchpoint
    /// faults before its instruction and the kernel sets RF in the thread's flags, so the
    /// next continue or step executes the instruction instead of faulting again. Where a
    /// software breakpoint sits at the same address, the process stops once: cause
    /// BREAKPOINT (as before the watchpoint was set) with the watchpoint's id also reported,
    /// and the continue steps over the int3 as after any breakpoint hit.
    pub(super) fn watch_stop(&mut self, tid: i32, hits: u64, stepped: bool) {
        let Some(w) = self.watch.first_hit(hits) else {
            // Removed while its trap was on its way: nothing to report.
            trace!("thread {tid}: hit of a removed watchpoint (DR6 {hits:#x}) ignored");
            if stepped {
                self.on_step_done(tid);
            } else {
                self.resume_quietly(tid);
            }
            return;
        };
        trace!("thread {tid}: watchpoint {} ({:?} at {:#x}) hit", w.id, w.kind, w.addr);
        let cause = if w.kind == WatchKind::Execute && self.memory.has_breakpoint(w.addr) {
            Cause { watch_id: w.id, ..Cause::breakpoint(w.addr) }
        } else {
            Cause::watchpoint(w.id, w.addr)
        };
        self.event_stop(tid, ThreadState::StoppedBreakpoint, cause);
        // Read (and publish) the registers now, as a breakpoint hit does: the caller's next
        // question is nearly always the PC, and then it needs no trip to this thread.
        let _ = self.regs(tid);
        if let Some(t) = self.threads.get_mut(&tid) {
            // After an execute hit the PC is on the watched instruction (perhaps under our
            // int3), after a step wherever the step ended: the continue must check. After a
            // data hit the next instruction has not run: a breakpoint there must still hit.
            t.check_pc = w.kind == WatchKind::Execute || stepped;
        }
    }

    /// A thread interrupted right after a watchpoint fired still has that SIGTRAP queued
    /// behind our interrupt (the kernel reports the interrupt first). Take it now, while we
    /// trace the thread: the trap is dequeued on the way back to user space, before any
    /// instruction runs. Returns the DR6 hit bits, or 0 when there was none.
    pub(super) fn watch_take_pending_hit(&mut self, tid: i32) -> u64 {
        if !self.watch.used() {
            return 0;
        }
        // DR6 first: one system call, where the pending-signal check reads /proc.
        let hits = dr::dr6(tid).map_or(0, |v| v & dr::DR6_HITS);
        if !self.watch.claims(hits) || !procfs::thread_signal_pending(self.pid, tid, libc::SIGTRAP)
        {
            return 0; // no hit on its way (a SIGTRAP of the program's own is delivered in its time)
        }
        let sig = self.threads[&tid].pending_signal;
        self.flush_regs(tid);
        if ptrace::cont(tid, 0).is_err() {
            return 0;
        }
        match wait::waitpid(tid, libc::__WALL) {
            Ok(Some((_, wait::Status::Stopped { sig: libc::SIGTRAP, event: 0 }))) => {
                let _ = dr::clear_dr6(tid);
                if let Some(t) = self.threads.get_mut(&tid) {
                    t.pending_signal = sig;
                    t.regs = None;
                }
                trace!("thread {tid}: pending watchpoint trap (DR6 {hits:#x}) taken");
                hits
            }
            Ok(Some((t, st))) => {
                // Something else came first: handle it as any event.
                self.set_state(tid, ThreadState::Running);
                self.on_wait(t, st);
                0
            }
            _ => 0,
        }
    }

    /// Hook, at the interrupt stop of a thread we were stopping: a watchpoint hit still queued
    /// is reported at this stop (so each thread that hit at about the same time has its own
    /// cause at one stop).
    pub(super) fn watch_at_interrupt(&mut self, tid: i32) {
        let hits = self.watch_take_pending_hit(tid);
        if hits != 0 && self.threads.get(&tid).is_some_and(|t| t.state.is_stopped()) {
            if let Some(w) = self.watch.first_hit(hits) {
                self.set_state(tid, ThreadState::StoppedBreakpoint);
                self.set_cause(tid, Cause::watchpoint(w.id, w.addr));
                if let Some(t) = self.threads.get_mut(&tid) {
                    t.check_pc = w.kind == WatchKind::Execute;
                }
            }
        }
    }

    /// Hook, at exec: the kernel cleared every thread's debug registers with the old address
    /// space; the watchpoints are gone and their ids invalid (`NoWatchpoint`).
    pub(super) fn watch_on_exec(&mut self) {
        if self.watch.count() > 0 {
            trace!("exec: {} watchpoints gone", self.watch.count());
        }
        self.watch.reset_for_exec();
    }

    /// Hook, when the caller writes a debug register directly (`write_register` "dr0".."dr7",
    /// tracer/xregs.rs): the watchpoints own DR0-DR3 and DR7 once one is set (a direct write is
    /// overwritten when they change), and detach clears DR7 in any case.
    pub(super) fn watch_note_raw_write(&mut self) {
        self.watch.note_raw_write();
    }

    /// Hook, when a thread leaves the table (its registers went with it).
    pub(super) fn watch_forget_thread(&mut self, tid: i32) {
        self.watch.forget(tid);
    }

    /// Hook, before detaching (or abandoning) every thread: no thread may run on untraced with
    /// a watchpoint (its hit would be a SIGTRAP nobody catches: the program would die). A trap
    /// still queued is taken first, then DR7 = 0 on every stopped thread.
    pub(super) fn watch_release_all(&mut self) {
        if !self.watch.used() {
            return;
        }
        let stopped: Vec<i32> =
            self.threads.values().filter(|t| t.state.is_stopped()).map(|t| t.tid).collect();
        for tid in stopped {
            self.watch_take_pending_hit(tid);
            if self.threads.get(&tid).is_some_and(|t| t.state.is_stopped()) {
                let _ = dr::set_dr7(tid, 0);
                let _ = dr::clear_dr6(tid);
                self.watch.forget(tid);
            }
        }
        for slot in 0..dr::SLOTS {
            self.watch.set(slot, None);
        }
    }

    /// Hook of the step over a breakpoint: an execute watchpoint at `pc` that has not fired
    /// yet for thread `tid` (RF clear) must see the instruction run at its own address, so
    /// the step is done in place, not out of line.
    pub(super) fn watch_executes_at(&mut self, tid: i32, pc: u64) -> bool {
        if self.watch.count() == 0 || !self.watch.executes_at(pc) {
            return false;
        }
        self.regs(tid).is_ok_and(|r| r.eflags & dr::RF == 0)
    }

    /// Whether the instruction at `pc` must run on the CPU rather than be emulated: its memory
    /// access (`access`: address, length, write) would trip a data watchpoint, or an execute
    /// watchpoint sits at `pc` and has not fired yet (RF clear in `eflags`).
    pub(super) fn watch_needs_cpu(
        &self,
        pc: u64,
        eflags: u64,
        access: Option<(u64, bool)>,
    ) -> bool {
        if self.watch.count() == 0 {
            return false;
        }
        (self.watch.executes_at(pc) && eflags & dr::RF == 0)
            || access.is_some_and(|(addr, write)| self.watch.covers(addr, 8, write))
    }
}
