//! Events: what the monitor does with each waitpid report (stops, clones, forks, exec, exits,
//! traps).
//!
//! Every method here runs on the monitor thread (see the parent module).

use super::trap::Trap;
use super::*;

impl Tracer {
    /// Handles one waitpid report for a tracee (or a child it forked).
    pub fn on_wait(&mut self, tid: i32, status: wait::Status) {
        match status {
            wait::Status::Exited(_) | wait::Status::Signaled(_) => self.on_exit_status(tid, status),
            wait::Status::Stopped { sig, event } => {
                if self.threads.contains_key(&tid) {
                    self.on_stop(tid, sig, event);
                } else {
                    self.on_unknown_stop(tid, sig, event);
                }
            }
            wait::Status::Continued => {}
        }
        self.check_all_stopped();
    }

    pub(super) fn on_exit_status(&mut self, tid: i32, status: wait::Status) {
        self.expected_children.remove(&tid);
        self.early_children.remove(&tid);
        self.child_gone(tid);
        if !self.threads.contains_key(&tid) {
            return; // a thread exec removed, or a detached fork child: not ours any more
        }
        trace!("thread {tid}: wait status {status:?}");
        let was_stepping = self.threads[&tid].stepping;
        if was_stepping {
            self.end_step(tid); // put back the breakpoint its step lifted
        }
        self.out_of_line_forget(tid);
        self.tracepoints_forget(tid);
        self.remove_thread(tid);
        if was_stepping && self.resuming && self.run == RunState::Running {
            // It died during its step over a breakpoint: on with the continue.
            self.advance_resume();
        }
        self.last_thread_status = ExitStatus::from_wait(status);
        let leader_reaped = tid == self.pid;
        let nothing_left =
            self.leader_untraced && self.threads.values().all(|t| t.state.is_terminal());
        if leader_reaped || nothing_left {
            // The leader is reported only after every other thread has gone: the process is over.
            self.exit = self.last_thread_status;
            self.threads.clear();
            self.state_counts = [0; 11];
            self.stopping_all = false;
            self.killing = false;
            self.set_run(RunState::Exited);
        }
    }

    /// The first stop of a task we have not registered: a new thread whose parent's clone event
    /// is still to come, or a child the program forked.
    pub(super) fn on_unknown_stop(&mut self, tid: i32, sig: i32, event: i32) {
        if self.on_filtered_child_stop(tid, sig, event) {
            return; // a fork child that inherited our seccomp filter (see `syscalls.rs`)
        }
        // A child whose parent's fork event has come is known by its pid (no pid is reused
        // before we have seen the task's exit); only for a task nobody named yet does the
        // kernel's word (its Tgid) tell a new thread from a new process.
        if self.child_arrived(tid) {
            trace!("child {tid}: first stop; it waits to be taken");
            return;
        }
        if self.expected_children.remove(&tid) {
            self.release_child(tid);
            return;
        }
        let is_thread = signal::is_thread_of(self.pid, tid) == Some(true);
        if is_thread && event == ptrace::EVENT_STOP {
            // Its initial stop. Keep it stopped: the parent's PTRACE_EVENT_CLONE stop will stop
            // the world anyway.
            self.set_state(tid, ThreadState::Stopped);
        } else if is_thread {
            // A first stop that is already an event of its own (say PTRACE_EVENT_EXIT: the
            // process was killed as the thread was born, and the parent's clone event will
            // never come): a thread like any other from now on.
            trace!("thread {tid}: first stop is signal {sig} event {event}");
            self.set_state(tid, ThreadState::Running);
            self.on_stop(tid, sig, event);
        } else {
            trace!(
                "task {tid}: first stop (sig {sig} event {event}) before its parent's fork event"
            );
            self.early_children.insert(tid);
        }
    }

    /// Lets go of a fork child the program created: our int3s are taken out of its copy of
    /// the memory (it would die of SIGTRAP at the first), then it runs on untraced. A vfork
    /// child shares the parent's memory, from which they were lifted already.
    pub(super) fn release_child(&mut self, child: i32) {
        trace!("fork child {child}: detached");
        if self.vforking.is_empty() {
            self.memory.lift_all_in(child);
        }
        self.out_of_line_child(child);
        if self.keep_filtered_child(child) {
            return;
        }
        let _ = ptrace::detach(child, 0);
    }

    pub(super) fn on_stop(&mut self, tid: i32, sig: i32, event: i32) {
        if self.killing {
            // Everything is dying: let each stop go so the exits can complete.
            let _ = ptrace::cont(tid, 0);
            self.set_state(tid, ThreadState::Exiting);
            return;
        }
        // Hook: system-call and seccomp stops (SIGTRAP|0x80, PTRACE_EVENT_SECCOMP) are
        // classified before anything else looks at a SIGTRAP (see `syscalls.rs`).
        if self.on_syscall_trap(tid, sig, event) {
            return;
        }
        let (mut sig, mut event) = (sig, event);
        let stepping = self.threads[&tid].stepping;
        if stepping
            && event == ptrace::EVENT_STOP
            && self.take_queued_trap(tid, &mut sig, &mut event)
        {
            return;
        }
        // A trap that may still be queued comes before any other signal, but an interrupt can
        // be reported ahead of it: keep expecting it across those.
        let stale = {
            let t = self.threads.get_mut(&tid).unwrap();
            if event == ptrace::EVENT_STOP {
                t.stale_step_trap
            } else {
                std::mem::take(&mut t.stale_step_trap)
            }
        };
        // A plain SIGTRAP is classified once, in one place (`trap.rs`: DR6, then si_code;
        // system-call stops were taken above); events come as events.
        let trap = (event == 0 && sig == libc::SIGTRAP).then(|| self.classify_sigtrap(tid));
        let step_trap = trap == Some(Trap::Step);
        if stepping {
            let own_int3 = trap == Some(Trap::Int3) && self.stepped_own_int3(tid);
            self.end_step(tid);
            self.syscalls_step_ended(tid, event);
            // Out of line: registers back from the scratch area, whatever this stop is.
            let out_of_line = self.out_of_line_end(tid, event);
            if let Some(Trap::Watch { hits, step }) = trap {
                // The step tripped a watchpoint (DR6 on this same trap): reported, and the step
                // is over too (out of line: the registers are back at the original place).
                self.watch_stop(tid, hits, step);
                return;
            }
            match out_of_line {
                Some(step) if step_trap => return self.on_out_of_line_done(tid, step),
                None if step_trap => return self.on_step_done(tid),
                _ => {}
            }
            if own_int3 {
                // The instruction under our breakpoint was the program's own int3 (gdb's
                // "permanent breakpoint"): it has executed, its trap is the program's. Report it
                // as a signal (delivered at the next resume), never as our breakpoint again, or
                // a continue would never get past it. The instruction is done: no step trap
                // follows. (Never out of line: `sys::relocate` refuses int3.)
                self.event_stop(tid, ThreadState::StoppedSignal, Cause::signal(libc::SIGTRAP));
                self.threads.get_mut(&tid).unwrap().pending_signal = libc::SIGTRAP;
                return;
            }
            // The step ended some other way; its trap may still be queued (`flush_pending_trap`
            // takes it before a detach). If the instruction did not run, the thread is still on
            // the breakpoint, whose hit was reported: the next continue must step over it, not
            // hit it again.
            let t = self.threads.get_mut(&tid).unwrap();
            t.stale_step_trap = true;
            t.step_own_tf &= out_of_line.is_none(); // refused under TF: never the program's
            t.check_pc = true;
            let state = self.threads[&tid].state;
            if out_of_line.is_some()
                && event == ptrace::EVENT_STOP
                && state == ThreadState::SingleStepping
                && !is_group_stop_signal(sig)
            {
                // A late interrupt of an earlier all-stop ended the step out of line, the
                // other threads running: back on the breakpoint (not executed), step again;
                // past it, run on.
                self.set_state(tid, ThreadState::Stopped);
                let pc = self.pc(tid);
                if pc.is_some_and(|pc| self.memory.has_breakpoint(pc)) {
                    if self.start_out_of_line(tid) {
                        return;
                    }
                    self.threads.get_mut(&tid).unwrap().check_pc = true;
                    self.event_stop(tid, ThreadState::Stopped, Cause::of(CauseKind::Stopped));
                    return;
                }
                return self.resume_quietly(tid);
            }
        } else if stale && step_trap {
            self.threads.get_mut(&tid).unwrap().stale_step_trap = false;
            if !self.own_tf_trap(tid) {
                trace!("thread {tid}: late trap of an interrupted step swallowed");
                self.resume_quietly(tid);
                return;
            }
            // Also the program's own single-step trap (its TF was set): its SIGTRAP, below.
        } else if stale && event != ptrace::EVENT_STOP {
            // No longer expected (see above): neither is its own-TF mark.
            self.threads.get_mut(&tid).unwrap().step_own_tf = false;
        }
        if let Some(Trap::Watch { hits, .. }) = trap {
            self.watch_stop(tid, hits, false);
            return;
        }
        match event {
            ptrace::EVENT_CLONE | ptrace::EVENT_FORK | ptrace::EVENT_VFORK => {
                self.on_new_task(tid, event)
            }
            ptrace::EVENT_VFORK_DONE => {
                if self.vforking.remove(&tid) && self.vforking.is_empty() {
                    self.memory.restore_all();
                }
                self.resume_quietly(tid);
            }
            ptrace::EVENT_EXEC => self.on_exec(tid),
            ptrace::EVENT_EXIT => {
                self.threads.get_mut(&tid).unwrap().check_pc = false;
                let status = ptrace::event_msg(tid).unwrap_or(0) as i32;
                self.event_stop(tid, ThreadState::StoppedExiting, Cause::thread_exit(status));
                self.release_threads_killed_by_exec();
            }
            ptrace::EVENT_STOP => self.on_event_stop(tid, sig),
            0 => self.on_signal_stop(tid, sig, trap),
            other => {
                trace!("thread {tid}: unexpected event {other}, resuming");
                let _ = self.resume_thread(tid, 0);
            }
        }
    }

    /// A stepping thread reported an interrupt while its step's trap is already queued (the
    /// step completed; the interrupt was reported first). Lets it take the trap now, so that the
    /// step ends as a step, not as an interrupt whose trap would surface at some later resume
    /// (and be taken for the end of the next step). `sig`/`event` become that stop's. Returns
    /// true when the thread's stop was handled otherwise (it died).
    pub(super) fn take_queued_trap(&mut self, tid: i32, sig: &mut i32, event: &mut i32) -> bool {
        if !procfs::thread_signal_deliverable(self.pid, tid, libc::SIGTRAP)
            || ptrace::cont(tid, 0).is_err()
        {
            return false;
        }
        match wait::waitpid(tid, libc::__WALL) {
            Ok(Some((_, wait::Status::Stopped { sig: s, event: e }))) => {
                trace!("thread {tid}: interrupt reported before its step's trap; trap taken");
                (*sig, *event) = (s, e);
                false
            }
            Ok(Some((t, st))) => {
                self.on_wait(t, st);
                true
            }
            _ => false,
        }
    }

    /// PTRACE_EVENT_STOP: our interrupt arrived, a new thread's first stop, or a group-stop
    /// (job control) when the signal is a stop signal.
    pub(super) fn on_event_stop(&mut self, tid: i32, sig: i32) {
        let state = self.threads[&tid].state;
        match state {
            ThreadState::Stopping => {
                self.set_state(tid, ThreadState::Stopped);
                self.set_cause(tid, Cause::of(CauseKind::Stopped));
                self.out_of_line_child(tid); // a new thread born in a slot
                                             // Interrupted right after executing one of our int3s, its trap still queued:
                                             // report the hit at this stop, its PC on the breakpoint, as gdb does (unless
                                             // the int3 was the restart of a system call interrupted out of line).
                if self.ever_had_breakpoints {
                    if let Some(addr) = self.flush_pending_trap(tid) {
                        let rsp = self.regs(tid).map_or(0, |r| r.rsp);
                        let hit = self.memory.has_breakpoint(addr)
                            && !self.out_of_line_restart(tid, addr, rsp);
                        if hit && self.memory.reports(addr) {
                            // A tracepoint's hit, or a breakpoint whose condition is false:
                            // recorded or passed, not reported (tracer::tracepoints).
                            let regs = self.regs(tid);
                            if !regs.is_ok_and(|r| self.on_breakpoint_hit(tid, addr, &r)) {
                                self.set_state(tid, ThreadState::StoppedBreakpoint);
                                self.set_cause(tid, Cause::breakpoint(addr));
                            }
                        } else if hit {
                            self.on_rendezvous_quietly();
                        }
                    }
                }
                // Same for a watchpoint hit whose trap is still queued (watch.rs).
                if self.threads.get(&tid).map(|t| t.state) == Some(ThreadState::Stopped) {
                    self.watch_at_interrupt(tid);
                }
            }
            ThreadState::Running | ThreadState::SingleStepping if is_group_stop_signal(sig) => {
                if self.group_stop_reported {
                    // Another thread's part in a group stop already reported (each thread of
                    // the group reports its own, some only after the next continue).
                    self.resume_quietly(tid);
                } else {
                    // The program was stopped by job control: report it as a stop.
                    self.group_stop_reported = true;
                    self.event_stop(tid, ThreadState::Stopped, Cause::of(CauseKind::Stopped));
                }
            }
            ThreadState::Running => {
                // A late PTRACE_INTERRUPT from an earlier all-stop, which the thread had already
                // reached by another stop: nothing to report.
                let _ = self.resume_thread(tid, 0);
            }
            ThreadState::SingleStepping => {
                // Same, during a step: the step ended at this stop (see on_stop); do it over
                // again from where the thread is.
                let over = self.pc(tid).filter(|&pc| self.memory.has_breakpoint(pc));
                self.start_step(tid, over);
            }
            _ => {}
        }
    }

    /// A plain signal-delivery stop (`trap`: what a SIGTRAP was classified as).
    pub(super) fn on_signal_stop(&mut self, tid: i32, sig: i32, trap: Option<Trap>) {
        if trap == Some(Trap::Int3) && self.on_int3(tid) {
            return;
        }
        self.event_stop(tid, ThreadState::StoppedSignal, Cause::signal(sig));
        if let Some(t) = self.threads.get_mut(&tid) {
            t.pending_signal = sig;
        }
    }

    /// Whether the SIGTRAP that ended a step of `tid` over the breakpoint at X comes from the
    /// program's own `int3` at X (the original byte under ours is an int3 too): an int3 trap
    /// (the classifier's `Trap::Int3`, si_code SI_KERNEL: the caller checks) with the PC just
    /// after X. While the step runs ours is lifted, so this trap cannot be ours; `on_int3`
    /// would take it for ours since the PC is the one a hit of ours leaves. Call before
    /// `end_step` (which forgets X).
    pub(super) fn stepped_own_int3(&mut self, tid: i32) -> bool {
        let Some(over) = self.threads[&tid].step_over else { return false };
        let mut orig = [0u8; 1];
        self.pc(tid) == Some(over.wrapping_add(1))
            && self.memory.read(over, &mut orig).ok() == Some(1)
            && orig[0] == crate::sys::arch::BREAKPOINT_INSN
    }

    /// Our single step of `tid` completed.
    pub(super) fn on_step_done(&mut self, tid: i32) {
        self.set_state(tid, ThreadState::Stopped);
        self.out_of_line_stepped_in_place(tid);
        if self.own_tf_trap(tid) {
            // The program single-steps itself: this trap is its own too. Report it as the
            // SIGTRAP an untraced program gets after that instruction (as a step over no
            // breakpoint would have), delivered at the next resume from this very stop: the
            // program's handler sees the kernel's siginfo (TRAP_TRACE) and the PC after the
            // instruction, as it would natively. A continue stops here (the breakpoint's
            // step-over is done; a breakpoint at the new PC is checked at the next one).
            self.threads.get_mut(&tid).unwrap().check_pc = true;
            self.event_stop(tid, ThreadState::StoppedSignal, Cause::signal(libc::SIGTRAP));
            self.threads.get_mut(&tid).unwrap().pending_signal = libc::SIGTRAP;
            return;
        }
        if self.tracepoint_step_done(tid) || self.range_step_done(tid) {
            return;
        }
        if self.resuming {
            // Stepped over a breakpoint during a continue: on with the continue.
            self.advance_resume();
            return;
        }
        self.set_cause(tid, Cause::of(CauseKind::Stopped));
        self.threads.get_mut(&tid).unwrap().check_pc = true;
        if self.trigger == 0 {
            self.trigger = tid;
        }
    }

    /// Whether the step trap of `tid` (just taken) is also its program's own single-step trap:
    /// its TF was set when our step began (`step_own_tf`, cleared here) and the instruction
    /// executed (TRAP_TRACE; not the entry into a signal handler, nor a `syscall`'s exit report,
    /// which an untraced program does not get).
    pub(super) fn own_tf_trap(&mut self, tid: i32) -> bool {
        let own_tf = std::mem::take(&mut self.threads.get_mut(&tid).unwrap().step_own_tf);
        own_tf && matches!(ptrace::siginfo(tid), Ok(i) if i.code == ptrace::TRAP_TRACE)
    }

    /// A SIGTRAP from an `int3` (the classifier's `Trap::Int3`, si_code SI_KERNEL: the caller
    /// checked, so the siginfo is not read twice per hit; the byte before the PC): one of our
    /// breakpoints (reported, PC moved back onto it), or one removed while this trap was pending
    /// (swallowed, PC moved back). Returns false for any other SIGTRAP: the program's own.
    pub(super) fn on_int3(&mut self, tid: i32) -> bool {
        if !self.ever_had_breakpoints {
            return false;
        }
        let Ok(mut regs) = ptrace::get_regs(tid) else { return false };
        let addr = regs.rip.wrapping_sub(1);
        let ours = self.memory.has_breakpoint(addr);
        let stale = !ours
            && self.memory.was_removed(addr)
            && self.memory.raw_byte(addr) != Some(crate::sys::arch::BREAKPOINT_INSN);
        if !ours && !stale {
            return false;
        }
        regs.rip = addr;
        if ours && self.out_of_line_restart(tid, addr, regs.rsp) {
            // The kernel restarting a system call interrupted out of line: not a new hit; the
            // thread steps over it out of line again (or waits at it, during an all-stop).
            trace!("thread {tid}: restarts its system call at {addr:#x}");
            let running = self.run == RunState::Running && !self.stopping_all;
            let was = self.threads[&tid].state;
            self.set_state(tid, ThreadState::Stopped);
            let t = self.threads.get_mut(&tid).unwrap();
            t.regs = Some(regs);
            t.regs_dirty = true;
            t.check_pc = true;
            if running && was == ThreadState::Running && self.start_out_of_line(tid) {
                self.threads.get_mut(&tid).unwrap().check_pc = false;
                return true;
            }
            self.set_cause(tid, Cause::of(CauseKind::Stopped));
            if self.run == RunState::Running && !self.stopping_all {
                // Cannot step it now (a user step, say): stop here, on the breakpoint.
                self.event_stop(tid, ThreadState::Stopped, Cause::of(CauseKind::Stopped));
            }
            return true;
        }
        if ours && !self.memory.reports(addr) {
            return self.on_internal_breakpoint(tid, addr, regs);
        }
        if ours && self.on_breakpoint_hit(tid, addr, &regs) {
            return true; // a tracepoint's hit, or a breakpoint whose condition is false
        }
        if ours {
            // The PC goes back onto the breakpoint in our copy now and in the kernel's when the
            // thread next runs (flush_regs): executing the instruction in place then writes
            // the registers once instead of twice.
            self.event_stop(tid, ThreadState::StoppedBreakpoint, Cause::breakpoint(addr));
            let t = self.threads.get_mut(&tid).unwrap();
            t.check_pc = true;
            t.regs = Some(regs);
            t.regs_dirty = true;
        } else {
            if ptrace::set_regs(tid, &regs).is_err() {
                return false;
            }
            trace!("thread {tid}: trap of removed breakpoint {addr:#x} swallowed");
            self.resume_quietly(tid);
        }
        true
    }

    /// Resumes a thread after a stop nobody needs to see, unless an all-stop wants it stopped.
    pub(super) fn resume_quietly(&mut self, tid: i32) {
        let state = self.threads.get(&tid).map(|t| t.state);
        let keep_stopped = state == Some(ThreadState::Stopping)
            || self.run == RunState::Stopped
            || (self.stopping_all && !self.resuming);
        if keep_stopped {
            self.set_state(tid, ThreadState::Stopped);
            self.set_cause(tid, Cause::of(CauseKind::Stopped));
            return;
        }
        self.flush_regs(tid);
        if self.resume_thread(tid, 0).is_ok() {
            self.set_state(tid, ThreadState::Running);
        } else {
            self.set_state(tid, ThreadState::Exiting);
        }
    }

    /// Writes registers changed only in our copy (`regs_dirty`, and the XSAVE area) to the
    /// kernel, and the debug registers a thread does not hold yet (`watch.rs`). Must precede
    /// every resume of a thread.
    pub(super) fn flush_regs(&mut self, tid: i32) {
        self.flush_xregs(tid);
        self.watch_before_resume(tid);
        let Some(t) = self.threads.get_mut(&tid) else { return };
        if let (true, Some(regs)) = (t.regs_dirty, t.regs) {
            t.regs_dirty = false;
            if let Err(e) = ptrace::set_regs(tid, &regs) {
                trace!("thread {tid}: writing back registers failed: {e}");
            }
        }
    }

    /// The PC of a stopped thread.
    pub(super) fn pc(&mut self, tid: i32) -> Option<u64> {
        self.regs(tid).ok().map(|r| r.rip)
    }

    /// The registers of a stopped thread: from this stop's cache, or read (and cached).
    pub(super) fn regs(&mut self, tid: i32) -> std::result::Result<libc::user_regs_struct, Errno> {
        if let Some(r) = self.threads.get(&tid).and_then(|t| t.regs) {
            return Ok(r);
        }
        let r = ptrace::get_regs(tid)?;
        if let Some(t) = self.threads.get_mut(&tid) {
            if t.state.is_stopped() {
                t.regs = Some(r);
                self.dirty = true;
            }
        }
        Ok(r)
    }

    /// PTRACE_EVENT_CLONE/FORK/VFORK: register the new thread (and stop the world), or let a
    /// forked child go and resume its parent.
    pub(super) fn on_new_task(&mut self, tid: i32, event: i32) {
        let new = ptrace::event_msg(tid).unwrap_or(0) as i32;
        trace!("thread {tid}: event {event}, new task {new}");
        // A clone is a new thread when the kernel says it is of our thread group (one system
        // call); when it says not, /proc tells a clone without CLONE_THREAD from a task gone
        // already (taken for a thread, as it always was).
        let is_thread = event == ptrace::EVENT_CLONE
            && (signal::is_thread_of(self.pid, new) == Some(true)
                || procfs::status_field(new, "Tgid").map_or(true, |tgid| tgid == self.pid as i64));
        if is_thread && new > 0 {
            if !self.threads.contains_key(&new) {
                // Its first stop (PTRACE_EVENT_STOP) is still to come.
                self.set_state(new, ThreadState::Stopping);
            }
            self.event_stop(tid, ThreadState::StoppedThreadCreate, Cause::thread_create(new));
            return;
        }
        if event == ptrace::EVENT_VFORK && self.memory.has_breakpoints() {
            // The vfork child runs in the parent's memory: our int3s would kill it, and taking
            // them out of its memory takes them out of the parent's. Lift them until the parent's
            // PTRACE_EVENT_VFORK_DONE (threads of the parent that run meanwhile can miss them).
            self.memory.lift_all();
            self.vforking.insert(tid);
        }
        if self.offer_child(tid, new, event) {
            return;
        }
        if new > 0 {
            if self.early_children.remove(&new) {
                self.release_child(new);
            } else {
                // Its first stop is still to come: clean its copy of the memory now, with the
                // breakpoints of the fork. Before that stop comes the caller may stop the
                // process and remove one, or detach (which empties the table): lifting only
                // what the table names then would leave the child an int3, and it would die of
                // SIGTRAP. (It runs no code of its own before its first stop.)
                if self.vforking.is_empty() {
                    self.memory.lift_all_in(new);
                }
                self.expected_children.insert(new);
            }
        }
        // The parent goes on (unless an all-stop wants it).
        self.resume_quietly(tid);
    }

    /// PTRACE_EVENT_EXEC: every other thread is gone and the exec'ing thread now has the
    /// leader's tid. Rebuild the table around it.
    pub(super) fn on_exec(&mut self, tid: i32) {
        let former = ptrace::event_msg(tid).unwrap_or(tid as u64) as i32;
        trace!("thread {former}: exec, now thread {tid}");
        self.sys.on_exec(former, tid);
        let others: Vec<i32> = self.threads.keys().copied().filter(|&t| t != tid).collect();
        for t in others {
            self.remove_thread(t);
        }
        self.leader_untraced = false;
        // A new address space: the old /proc/PID/mem and every breakpoint address mean nothing
        // in it any more.
        self.memory.reset_for_exec();
        self.watch_on_exec();
        self.out_of_line_exec();
        self.tracepoints_exec();
        self.vforking.clear();
        self.libraries_on_exec();
        self.set_state(tid, ThreadState::Running);
        if self.run == RunState::Running {
            self.trigger = tid;
        }
        self.event_stop(tid, ThreadState::Stopped, Cause::of(CauseKind::Exec));
    }

    /// During an exec by one thread, the kernel kills every other thread and the exec'ing one
    /// waits in execve until they are gone. If we hold them in their exit stops while waiting
    /// for the exec'ing thread to stop (an all-stop), or for its single step to end (a
    /// `ptrace_dbg_step` of the thread that calls execve, the others held stopped), neither can
    /// make progress: let the dying ones go, whatever is being stepped. (exit_group needs no
    /// such help: nothing in the kernel waits for the killed threads, and the exiting thread
    /// reaches its own exit stop.) Called on every exit stop, and polled by the monitor while
    /// `needs_poll`.
    pub fn release_threads_killed_by_exec(&mut self) {
        if !self.needs_poll() {
            return;
        }
        let pid = self.pid;
        let exec_pending = self
            .threads
            .values()
            .filter(|t| matches!(t.state, ThreadState::Stopping | ThreadState::SingleStepping))
            .any(|t| procfs::in_execve(pid, t.tid));
        if !exec_pending {
            return;
        }
        let exiting: Vec<i32> = self
            .threads
            .values()
            .filter(|t| t.state == ThreadState::StoppedExiting)
            .map(|t| t.tid)
            .collect();
        for tid in exiting {
            trace!("thread {tid}: released from its exit stop (another thread is in execve)");
            let _ = ptrace::cont(tid, 0);
            self.set_state(tid, ThreadState::Exiting);
        }
    }
}
