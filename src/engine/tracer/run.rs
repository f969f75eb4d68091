//! Run control: all-stop, continue (with steps over breakpoints, or the instruction executed
//! in place), single-step, detach and kill.
//!
//! Every method here runs on the monitor thread (see the parent module).

use super::trap::Trap;
use super::*;

impl Tracer {
    /// Begins an all-stop: interrupts every running thread. The process becomes Stopped when the
    /// last of them has reported (`check_all_stopped`).
    pub(super) fn stop_all(&mut self) {
        self.stopping_all = true;
        let running: Vec<i32> = self
            .threads
            .values()
            .filter(|t| matches!(t.state, ThreadState::Running | ThreadState::SingleStepping))
            .map(|t| t.tid)
            .collect();
        for tid in running {
            match ptrace::interrupt(tid) {
                Ok(()) => self.set_state(tid, ThreadState::Stopping),
                // Gone or going (killed): its exit status will come; do not wait for a stop.
                Err(_) => self.set_state(tid, ThreadState::Exiting),
            }
        }
    }

    /// Requested stop (ptrace_dbg_stop). Returns at once; the caller waits for Stopped.
    pub fn request_stop(&mut self) -> Result<()> {
        match self.run {
            RunState::Exited => Err(Error::Exited),
            RunState::Detached => Err(detached()),
            RunState::Stopped => Ok(()),
            RunState::Running => {
                self.resuming = false;
                if !self.stopping_all {
                    self.trigger = 0;
                }
                // Even when an all-stop is under way: a step (of a thread blocked in a system
                // call, say) runs with stopping_all set and only an interrupt ends it early.
                self.stop_all();
                self.check_all_stopped();
                Ok(())
            }
        }
    }

    /// When an all-stop is under way and no thread is still running, the process is Stopped.
    pub(super) fn check_all_stopped(&mut self) {
        if self.run != RunState::Running || !self.stopping_all || self.killing {
            return;
        }
        if self.count_running() > 0 {
            return;
        }
        if self.count_stopped() == 0 && self.count(ThreadState::Exiting) > 0 {
            // Nothing left that is stopped, only threads on their way out: not a stop to
            // report but an exit to collect.
            return;
        }
        self.stopping_all = false;
        self.set_run(RunState::Stopped);
    }

    /// A thread stopped for a reason the user must see: record it, and stop every other thread.
    pub(super) fn event_stop(&mut self, tid: i32, state: ThreadState, cause: Cause) {
        if self.resuming {
            self.forget_reported_causes(tid);
        }
        self.resuming = false;
        self.set_state(tid, state);
        self.set_cause(tid, cause);
        if self.run == RunState::Running && self.trigger == 0 {
            self.trigger = tid;
        }
        if self.run == RunState::Running && !self.stopping_all {
            self.stop_all();
        }
    }

    /// Ok when the whole process is stopped (the precondition of continue, detach, breakpoint
    /// changes); the matching error otherwise.
    /// A continue was under way (threads stepped over breakpoints one at a time) when `tid`'s
    /// event ended it: the threads it had not resumed yet were reported at the last stop, and
    /// must not report the same breakpoint hit, signal or fork again at this one. They show
    /// STOPPED; what their resume is to do stays (a step over the breakpoint under the PC,
    /// the pending signal).
    fn forget_reported_causes(&mut self, tid: i32) {
        let stale: Vec<i32> = self
            .threads
            .values()
            .filter(|t| {
                t.tid != tid && t.state.is_stopped() && t.state != ThreadState::StoppedExiting
            })
            .filter(|t| t.cause.kind != CauseKind::Stopped)
            .map(|t| t.tid)
            .collect();
        for t in stale {
            self.set_state(t, ThreadState::Stopped);
            self.set_cause(t, Cause::of(CauseKind::Stopped));
        }
    }

    pub fn require_stopped(&self) -> Result<()> {
        self.run.require_stopped()
    }

    /// Runs continue number `n` queued by `Shared::post_continue` (which checked the
    /// process stopped on the snapshot): publishes whatever comes of it, even an error (the
    /// snapshot shows the process resumed until then).
    pub fn queued_continue(&mut self, n: u64) {
        self.continues = n;
        self.dirty = true;
        if let Err(e) = self.cont() {
            trace!("queued continue {n}: {e}");
        }
    }

    /// Resumes every stopped thread (ptrace_dbg_continue). A thread stopped by a signal gets it
    /// delivered; a thread in its exit stop is let go to finish exiting.
    pub fn cont(&mut self) -> Result<()> {
        self.require_stopped()?;
        self.range_cancel();
        self.trigger = 0;
        self.stopping_all = false;
        self.set_run(RunState::Running);
        self.resuming = true;
        self.out_of_line_before_resume(); // signals that end interrupted calls
        self.advance_resume();
        Ok(())
    }

    /// The next step of a continue. Threads sitting on breakpoints go on from them: the
    /// instruction executed in place when `sys::x86` can, else stepped out of line (the other
    /// threads run meanwhile, see `out_of_line`), else (where out of line is impossible)
    /// stepped in place with the breakpoint lifted, one thread at a time and every other
    /// thread held until the step ends, however long (its step trap brings us back here).
    /// Those come first, before any thread runs; then the out-of-line steps start and every
    /// other stopped thread resumes.
    pub(super) fn advance_resume(&mut self) {
        // A thread in its exit stop runs no more user code: its PC does not matter.
        let needs_check = |t: &Thread| {
            t.check_pc && t.state.is_stopped() && t.state != ThreadState::StoppedExiting
        };
        let mut out_of_line: Vec<i32> = Vec::new();
        loop {
            let next = self.threads.values().find(|t| {
                needs_check(t) && !out_of_line.contains(&t.tid) && !self.tracepoint_parked(t.tid)
            });
            let Some(tid) = next.map(|t| t.tid) else { break };
            let pc = if self.memory.has_breakpoints() { self.pc(tid) } else { None };
            match pc {
                Some(pc) if self.memory.has_breakpoint(pc) => {
                    if self.execute_in_place(tid) {
                        self.threads.get_mut(&tid).unwrap().check_pc = false;
                    } else if self.sys.active() && self.is_syscall_insn(pc) {
                        // Hook: with system calls traced, a `syscall` under a breakpoint is
                        // stepped with PTRACE_SYSCALL (a single step would run the call with no
                        // syscall stops). Its entry stop comes as soon as the instruction ran,
                        // so the others are held only that long (see `syscall_step_over`).
                        self.threads.get_mut(&tid).unwrap().check_pc = false;
                        if self.syscall_step_over(tid, pc) {
                            return;
                        }
                    } else if !self.watch_executes_at(tid, pc)
                        && self.can_step_out_of_line(tid, pc, out_of_line.len())
                    {
                        out_of_line.push(tid);
                    } else {
                        // Preparing the out-of-line area runs the thread (an injected mmap): it
                        // can die of a SIGKILL from outside meanwhile and be gone from the table.
                        let Some(t) = self.threads.get_mut(&tid) else { continue };
                        t.check_pc = false;
                        if self.start_step(tid, Some(pc)) {
                            return;
                        }
                    }
                }
                _ => self.threads.get_mut(&tid).unwrap().check_pc = false,
            }
        }
        self.resuming = false;
        for tid in out_of_line {
            let Some(t) = self.threads.get_mut(&tid) else { continue }; // died meanwhile
            t.check_pc = false;
            self.start_out_of_line(tid);
        }
        self.resume_all_stopped();
    }

    /// Resumes every stopped thread (the end of a continue).
    pub(super) fn resume_all_stopped(&mut self) {
        let stopped: Vec<(i32, ThreadState, i32)> = self
            .threads
            .values()
            .filter(|t| t.state.is_stopped() && !self.tracepoint_parked(t.tid))
            .map(|t| (t.tid, t.state, t.pending_signal))
            .collect();
        for (tid, state, sig) in stopped {
            self.resume(tid, state, sig);
        }
    }

    /// Executes the instruction under the thread's breakpoint on our side (`sys::x86`) instead
    /// of lifting the breakpoint and single-stepping it: one stop per hit instead of two, and the
    /// other threads need not wait. False when it is not an instruction we can execute (or a
    /// memory access fails): the caller steps it then.
    pub(super) fn execute_in_place(&mut self, tid: i32) -> bool {
        if !*EMULATE {
            return false;
        }
        let Ok(mut regs) = self.regs(tid) else { return false };
        if regs.eflags & x86::TF != 0 {
            return false; // the program single-steps itself: let the CPU trap
        }
        let Some(insn) = self.memory.decoded(regs.rip) else { return false };
        let pc = regs.rip;
        let eflags = regs.eflags;
        match x86::apply(&insn, &mut regs) {
            // Watchpoints need the CPU: our writes through /proc/PID/mem would not trip them.
            x86::MemEffect::None if self.watch_needs_cpu(pc, eflags, None) => return false,
            x86::MemEffect::Store { addr, .. }
                if self.watch_needs_cpu(pc, eflags, Some((addr, true))) =>
            {
                return false
            }
            x86::MemEffect::Load { addr, .. }
                if self.watch_needs_cpu(pc, eflags, Some((addr, false))) =>
            {
                return false
            }
            x86::MemEffect::None => {}
            x86::MemEffect::Store { addr, value } => {
                if self.memory.write(addr, &value.to_le_bytes()).ok() != Some(8) {
                    return false;
                }
            }
            x86::MemEffect::Load { addr, reg } => {
                let mut b = [0u8; 8];
                if self.memory.read(addr, &mut b).ok() != Some(8) {
                    return false;
                }
                x86::set_reg(&mut regs, reg, u64::from_le_bytes(b));
            }
        }
        // The PC moved on: a resume flag left by an execute watchpoint's hit here must not
        // suppress one at the next instruction.
        regs.eflags &= !crate::sys::debugreg::RF;
        if ptrace::set_regs(tid, &regs).is_err() {
            return false;
        }
        let t = self.threads.get_mut(&tid).unwrap();
        t.regs = Some(regs);
        t.regs_dirty = false;
        self.executed_in_place += 1;
        true
    }

    /// How many instructions under breakpoints were executed in place rather than stepped.
    pub fn executed_in_place(&self) -> u64 {
        self.executed_in_place
    }

    /// Single-steps one stopped thread, first lifting the breakpoint at `over` (its PC).
    pub(super) fn start_step(&mut self, tid: i32, over: Option<u64>) -> bool {
        if let Some(addr) = over {
            self.memory.lift(addr);
        }
        self.flush_regs(tid);
        // The program's own TF as it is before the step (the kernel hides the TF it forces for
        // a PTRACE_SINGLESTEP from the registers we read, and TF set by the stepped instruction
        // itself, a popf, traps only after the next one).
        let own_tf = self.regs(tid).is_ok_and(|r| r.eflags & x86::TF != 0);
        let sig = {
            let t = self.threads.get_mut(&tid).unwrap();
            t.step_own_tf = own_tf;
            t.step_over = over;
            t.stepping = true;
            t.cause = Cause::of(CauseKind::Stopped);
            std::mem::take(&mut t.pending_signal)
        };
        match ptrace::step(tid, sig) {
            Ok(()) => {
                self.set_state(tid, ThreadState::SingleStepping);
                true
            }
            Err(_) => {
                self.end_step(tid);
                self.set_state(tid, ThreadState::Exiting);
                false
            }
        }
    }

    /// Any stop of a stepping thread ends its step: the lifted breakpoint goes back in.
    pub(super) fn end_step(&mut self, tid: i32) {
        let Some(t) = self.threads.get_mut(&tid) else { return };
        t.stepping = false;
        if let Some(addr) = t.step_over.take() {
            self.memory.restore(addr);
        }
    }

    /// ptrace_dbg_step: one instruction of one stopped thread, the others staying stopped.
    /// Returns at once; the caller waits for the process to be Stopped again.
    pub fn step(&mut self, tid: i32) -> Result<()> {
        self.require_stopped()?;
        self.range_cancel();
        if self.stopped_thread(tid)?.state == ThreadState::StoppedExiting {
            return Err(Error::BadState(format!("thread {tid} is exiting; it cannot be stepped")));
        }
        let over = if self.memory.has_breakpoints() {
            let pc =
                self.regs(tid).map_err(|e| thread_error(tid, "ptrace(PTRACE_GETREGS)", e))?.rip;
            Some(pc).filter(|&pc| self.memory.has_breakpoint(pc))
        } else {
            None
        };
        self.threads.get_mut(&tid).unwrap().check_pc = false;
        self.out_of_line_before_resume(); // a signal delivered by the step ends a call
        self.trigger = 0;
        self.set_run(RunState::Running);
        self.stopping_all = true;
        self.start_step(tid, over);
        self.check_all_stopped();
        Ok(())
    }

    /// Resumes one stopped thread with `sig`.
    pub(super) fn resume(&mut self, tid: i32, state: ThreadState, sig: i32) {
        if is_group_stop_signal(sig) {
            self.group_stop_reported = false; // a new group stop begins with this signal
        }
        if let Some(t) = self.threads.get_mut(&tid) {
            t.pending_signal = 0;
            t.cause = Cause::of(CauseKind::Stopped);
        }
        let next = if state == ThreadState::StoppedExiting {
            ThreadState::Exiting
        } else {
            ThreadState::Running
        };
        self.flush_regs(tid);
        match self.resume_thread(tid, sig) {
            Ok(()) => self.set_state(tid, next),
            // Killed while stopped: it is on its way out, its exit status will come.
            Err(_) => self.set_state(tid, ThreadState::Exiting),
        }
    }

    /// Detaches every thread; the process runs on untraced with its pending signals.
    /// Must be called with the process stopped.
    pub fn detach(&mut self) -> Result<()> {
        self.require_stopped()?;
        self.syscalls_before_detach()?;
        // No trap of our making may stay queued in a process that runs on untraced: it would
        // die of it. (Steps under way were ended by the stop before the detach: a thread in
        // SINGLE_STEPPING cannot be left, require_stopped says so; an interrupted step may
        // still have its trap queued, and so may a breakpoint hit.)
        let ever_had_breakpoints = self.ever_had_breakpoints;
        let stopped: Vec<i32> = self
            .threads
            .values()
            .filter(|t| t.state.is_stopped() && (ever_had_breakpoints || t.stale_step_trap))
            .map(|t| t.tid)
            .collect();
        if !stopped.is_empty() {
            for tid in stopped {
                self.flush_pending_trap(tid);
            }
            self.require_stopped()?; // a flush can turn up an exit
        }
        self.watch_release_all();
        self.require_stopped()?;
        self.out_of_line_detach();
        self.tracepoints_detach();
        self.memory.lift_all();
        let tids: Vec<(i32, ThreadState, i32)> =
            self.threads.values().map(|t| (t.tid, t.state, t.pending_signal)).collect();
        for (tid, state, sig) in tids {
            if state.is_stopped() {
                self.flush_regs(tid);
                // ESRCH: killed meanwhile; nothing left to detach.
                let _ = ptrace::detach(tid, sig);
            }
            self.set_state(tid, ThreadState::Detached);
        }
        // Fork children whose first stop came before their parent's fork event: their copy of
        // the memory still holds our int3s (the parent's lift above is not theirs), so they are
        // let go the way every fork child is, cleaned first.
        for child in std::mem::take(&mut self.early_children) {
            self.release_child(child);
        }
        self.set_run(RunState::Detached);
        Ok(())
    }

    /// A thread can stop (interrupted, or by another event) with a SIGTRAP of our making still
    /// queued: the trap of one of our int3s it has just executed (its PC one byte after the
    /// breakpoint), or the trap that ends a single step of ours which that stop overtook
    /// (`stale_step_trap`: the step's trap is queued between the instruction, or the end of the
    /// system call it stepped, and the return to user space, where our interrupt is taken
    /// first). Detached like that, it would die of it: the int3 is gone and its PC points one
    /// byte into an instruction, or nobody is there to take the step trap. Let it take the trap
    /// now, while we trace it: a breakpoint's trap moves its PC back onto the breakpoint (and
    /// returns the address, to report the hit), a step's trap is swallowed. The trap is
    /// dequeued at once on the way back to user space, so the wait for this one thread is
    /// short; anything else it reports instead goes the usual way.
    pub(super) fn flush_pending_trap(&mut self, tid: i32) -> Option<u64> {
        if !procfs::thread_signal_pending(self.pid, tid, libc::SIGTRAP) {
            return None;
        }
        let regs = self.regs(tid).ok()?;
        let addr = regs.rip.wrapping_sub(1);
        let int3_of_ours = self.memory.has_breakpoint(addr) || self.memory.was_removed(addr);
        let step_of_ours = self.threads[&tid].stale_step_trap;
        if !int3_of_ours && !step_of_ours {
            return None; // not ours: the program's own SIGTRAP, delivered in its time
        }
        let sig = self.threads[&tid].pending_signal;
        self.flush_regs(tid);
        if ptrace::cont(tid, 0).is_err() {
            return None;
        }
        match wait::waitpid(tid, libc::__WALL) {
            Ok(Some((_, wait::Status::Stopped { sig: libc::SIGTRAP, event: 0 }))) => {
                // Which trap it was, the classifier says (siginfo; DR6 first): a step's trap
                // after a one-byte instruction also leaves the PC one byte after a breakpoint.
                // A step's trap that also tripped a watchpoint is the step's trap all the same
                // (the hit, overtaken by this stop, is not reported).
                let trap = self.classify_sigtrap(tid);
                let int3 = int3_of_ours && trap == Trap::Int3;
                let step = !int3
                    && step_of_ours
                    && matches!(trap, Trap::Step | Trap::Watch { step: true, .. });
                // A step's trap under the program's own TF is its SIGTRAP too (`own_tf_trap`).
                let own_tf = step && self.own_tf_trap(tid);
                let t = self.threads.get_mut(&tid)?;
                t.pending_signal = sig;
                t.stale_step_trap = false;
                t.step_own_tf = false;
                if int3 {
                    let mut regs = regs;
                    regs.rip = addr;
                    let _ = ptrace::set_regs(tid, &regs);
                    trace!("thread {tid}: pending breakpoint trap at {addr:#x} taken");
                    t.regs = Some(regs);
                    t.regs_dirty = false;
                    t.check_pc = true;
                    Some(addr)
                } else if step {
                    trace!("thread {tid}: pending trap of an interrupted step taken");
                    if own_tf && sig == 0 {
                        t.pending_signal = libc::SIGTRAP; // delivered when it resumes
                    }
                    None
                } else {
                    // The program's own SIGTRAP after all (queued with ours, or instead of it):
                    // delivered when the thread resumes, as it would have been. (A signal this
                    // thread was to receive already takes precedence; SIGTRAP then is lost,
                    // one signal being all a resume can deliver.)
                    if sig == 0 {
                        t.pending_signal = libc::SIGTRAP;
                    }
                    None
                }
            }
            Ok(Some((t, st))) => {
                // Something else came first (another signal, an exit): handle it as any event;
                // the thread is stopped again (or gone) afterwards.
                self.set_state(tid, ThreadState::Running);
                self.on_wait(t, st);
                None
            }
            _ => None,
        }
    }

    /// SIGKILLs the process; the monitor then collects every thread's end.
    pub fn kill(&mut self) -> Result<()> {
        match self.run {
            RunState::Exited => return Err(Error::Exited),
            RunState::Detached => return Err(detached()),
            _ => {}
        }
        self.killing = true;
        // Whatever stop or step was under way, the next settled state is Exited.
        self.stopping_all = false;
        self.resuming = false;
        signal::kill(self.pid, libc::SIGKILL).map_err(|e| Error::os("kill(SIGKILL)", e))?;
        // A SIGKILLed thread in a ptrace-stop is woken by the kernel, but since Linux 6.1 one in
        // PTRACE_EVENT_EXIT stays there until continued: continue every stopped thread.
        let stopped: Vec<(i32, ThreadState)> = self
            .threads
            .values()
            .filter(|t| t.state.is_stopped())
            .map(|t| (t.tid, t.state))
            .collect();
        for (tid, _) in stopped {
            let _ = ptrace::cont(tid, 0);
            self.set_state(tid, ThreadState::Exiting);
        }
        self.set_run(RunState::Running);
        Ok(())
    }
}
