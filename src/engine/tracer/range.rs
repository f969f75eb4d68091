//! Range stepping (gdb's `vCont;r`): single-steps one thread while its PC stays in
//! `[start, end)`, entirely on the monitor thread, so a debugger's "next line" costs one call,
//! not two thread hand-offs per instruction. The other threads stay stopped, as with `step`.
//!
//! It ends at the first instruction outside the range, after `max` steps (`step_n`), or early
//! at any other stop with its usual cause (a signal, an exit, an exec). Landing on one of our
//! breakpoints inside the range is a breakpoint stop (cause BREAKPOINT, the instruction not yet
//! executed), unless the breakpoint's condition is false or it is only a tracepoint: the hit is
//! then recorded (or passed over) and the stepping goes on. A tracepoint's record made while
//! range stepping never holds the thread (the buffer may exceed its capacity by that record).

use super::*;

/// The range step under way (or the last one, for its count).
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct RangeStep {
    tid: i32,
    start: u64,
    end: u64,
    /// Steps allowed (0: no limit).
    max: u64,
    /// Instructions executed so far.
    steps: u64,
    active: bool,
}

impl Tracer {
    /// Starts a range step of stopped thread `tid` (process stopped). Returns at once; the
    /// caller waits for the process to be stopped again, then asks `range_steps`.
    pub fn step_range(&mut self, tid: i32, start: u64, end: u64, max: u64) -> Result<()> {
        if start >= end {
            return Err(Error::InvalidArgument(format!(
                "the range [{start:#x}, {end:#x}) is empty"
            )));
        }
        self.require_stopped()?;
        let pc = {
            self.stopped_thread(tid)?;
            self.regs(tid).map_err(|e| thread_error(tid, "ptrace(PTRACE_GETREGS)", e))?.rip
        };
        self.step(tid)?;
        self.range = RangeStep { tid, start, end, max, steps: 0, active: true };
        trace!("thread {tid}: range step [{start:#x}, {end:#x}) from {pc:#x}, max {max}");
        Ok(())
    }

    /// How many instructions the last range step executed.
    pub fn range_steps(&self) -> u64 {
        self.range.steps
    }

    /// Hook (`step`, `cont`): any other resume ends a range step.
    pub(super) fn range_cancel(&mut self) {
        self.range.active = false;
    }

    /// Hook: a single step of `tid` ended with its trap. True when a range step goes on (the
    /// thread was stepped again); false when it is over (or none is under way): the step's
    /// usual end follows.
    pub(super) fn range_step_done(&mut self, tid: i32) -> bool {
        if !self.range.active || self.range.tid != tid {
            return false;
        }
        self.range.steps += 1;
        let r = self.range;
        let pc = match self.regs(tid) {
            Ok(regs) if regs.rip >= r.start && regs.rip < r.end => regs.rip,
            _ => {
                self.range.active = false;
                return false;
            }
        };
        if r.max != 0 && r.steps >= r.max {
            self.range.active = false;
            return false;
        }
        if self.memory.has_breakpoints() && self.memory.has_breakpoint(pc) {
            let regs = self.regs(tid).unwrap();
            if self.breakpoint_wants_stop(tid, pc, &regs) {
                self.range.active = false;
                self.event_stop(tid, ThreadState::StoppedBreakpoint, Cause::breakpoint(pc));
                self.threads.get_mut(&tid).unwrap().check_pc = true;
                return true;
            }
            self.start_step(tid, Some(pc));
            return true;
        }
        self.start_step(tid, None);
        true
    }
}
