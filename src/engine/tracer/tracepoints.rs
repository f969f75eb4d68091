//! Tracepoints (record and go on) and the monitor-side decisions on ordinary breakpoints
//! (ignore counts, conditions).
//!
//! A tracepoint is an int3 in the breakpoint table like any breakpoint, but its hit is handled
//! by the monitor thread alone: the registers (and, if asked, some memory) go into a record
//! (`engine::records`), the thread goes on from the breakpoint (the instruction executed in
//! place, or stepped out of line in the scratch area, see `out_of_line`), and it resumes. No
//! other thread stops, and no host thread is woken except through the event fd, which polls
//! readable while records wait. The cost of a hit is thus independent of the number of
//! threads: one int3 trap, a few ptrace calls, no hand-off to a host thread.
//!
//! When the record buffer is full the hitting thread is "parked": its record is kept (nothing
//! is lost), but it stays in its stop until a reader makes room (`unpark_tracepoint_threads`,
//! posted to the monitor by `Records::take`). Continue leaves parked threads stopped.
//!
//! An ordinary breakpoint may carry an ignore count and a condition (a register compared with
//! a value). A hit whose condition is false, or that the ignore count swallows, goes on the
//! same way as a tracepoint's, so a conditional breakpoint stops the world only when its
//! condition holds. The condition is tested first; the ignore count counts the hits where it
//! held (gdb's order).
//!
//! A tracepoint and an ordinary breakpoint can share an address (one int3): a hit is recorded
//! and then stops the world as the breakpoint's would.
//!
//! Hooks (called from the event code): `on_breakpoint_hit` (an int3 hit of ours),
//! `tracepoint_step_done` (a step in place of ours ended), `tracepoint_parked`
//! (continue skips the thread), `tracepoints_forget` (a thread is gone), `tracepoints_exec`,
//! `tracepoints_detach`; and in `add_breakpoint`/`remove_breakpoint` the shared addresses.

use super::*;
use crate::engine::records::{Record, RecordKind, Records, DATA_MAX};
use crate::engine::xregs::general;
use std::collections::{HashMap, VecDeque};

/// How a condition compares a register with its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CondOp {
    Eq,
    Ne,
    /// Unsigned comparisons.
    Lt,
    Le,
    Gt,
    Ge,
    /// Signed comparisons.
    SLt,
    SLe,
    SGt,
    SGe,
    /// `(reg & value) != 0`.
    AnyBits,
}

/// A condition on an ordinary breakpoint: register `reg` (`REG_NAMES` order) `op` `value`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Condition {
    pub reg: usize,
    pub op: CondOp,
    pub value: u64,
}

impl Condition {
    fn holds(&self, regs: &libc::user_regs_struct) -> bool {
        let r = general(regs)[self.reg];
        let v = self.value;
        match self.op {
            CondOp::Eq => r == v,
            CondOp::Ne => r != v,
            CondOp::Lt => r < v,
            CondOp::Le => r <= v,
            CondOp::Gt => r > v,
            CondOp::Ge => r >= v,
            CondOp::SLt => (r as i64) < v as i64,
            CondOp::SLe => (r as i64) <= v as i64,
            CondOp::SGt => (r as i64) > v as i64,
            CondOp::SGe => (r as i64) >= v as i64,
            CondOp::AnyBits => r & v != 0,
        }
    }
}

/// What a tracepoint captures besides the registers: `len` bytes at `[reg + offset]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capture {
    pub reg: usize,
    pub offset: i64,
    pub len: usize,
}

#[derive(Debug, Clone, Copy)]
struct Tracepoint {
    id: i32,
    capture: Option<Capture>,
}

/// The monitor decisions on one ordinary breakpoint.
#[derive(Debug, Clone, Copy, Default)]
struct Decision {
    condition: Option<Condition>,
    /// Hits (with the condition true) still to be passed over.
    ignore: u64,
}

/// The tracepoint state of one process (the tracer's `tp`).
pub(super) struct Tracepoints {
    by_addr: HashMap<u64, Tracepoint>,
    by_id: HashMap<i32, u64>,
    next_id: i32,
    /// Tracepoint addresses where the user has an ordinary breakpoint too.
    user_at: std::collections::HashSet<u64>,
    /// Ignore counts and conditions of ordinary breakpoints.
    decisions: HashMap<u64, Decision>,
    /// Threads held because the buffer was full, in the order they came, with the time.
    parked: VecDeque<(i32, u64)>,
    /// Threads stepping in place over a tracepoint (out of line was impossible).
    in_place: std::collections::HashSet<i32>,
    /// System-call stops are recorded, not reported (`syscalls::RECORD`).
    record_syscalls: bool,
    records: Arc<Records>,
}

impl Tracepoints {
    /// The event fd becomes readable for records pushed since the last call (the monitor
    /// calls this after each batch of events, once the hitting threads were let go).
    pub(super) fn flush_record_signal(&self) {
        self.records.flush_signal();
    }

    pub(super) fn new(shared: Arc<Shared>) -> Tracepoints {
        Tracepoints {
            by_addr: HashMap::new(),
            by_id: HashMap::new(),
            next_id: 1,
            user_at: Default::default(),
            decisions: HashMap::new(),
            parked: VecDeque::new(),
            in_place: Default::default(),
            record_syscalls: false,
            records: Arc::new(Records::new(shared)),
        }
    }

    fn is_parked(&self, tid: i32) -> bool {
        !self.parked.is_empty() && self.parked.iter().any(|&(t, _)| t == tid)
    }
}

impl Tracer {
    /// The record buffer (shared with the API threads).
    pub fn records(&self) -> Arc<Records> {
        self.tp.records.clone()
    }

    /// Sets a tracepoint at `addr` (process stopped); returns its id. Maps the scratch area
    /// for out-of-line steps now, while every thread is stopped, so that hits can be stepped
    /// over with the other threads running.
    pub fn add_tracepoint(&mut self, addr: u64) -> Result<i32> {
        self.require_stopped()?;
        if self.tp.by_addr.contains_key(&addr) {
            return Err(Error::BreakpointExists(addr));
        }
        self.ever_had_breakpoints = true;
        // A breakpoint the user sees (theirs, or a symbol's) shares its int3; an internal one
        // (the loader's) becomes reported by this claim (`Breakpoints::add`).
        let shared = self.memory.reports(addr);
        if !shared {
            self.memory.add_breakpoint(addr)?;
        }
        let id = self.tp.next_id;
        self.tp.next_id = self.tp.next_id.checked_add(1).unwrap_or(1);
        self.tp.by_addr.insert(addr, Tracepoint { id, capture: None });
        self.tp.by_id.insert(id, addr);
        if shared {
            self.tp.user_at.insert(addr);
        }
        let by = self
            .threads
            .values()
            .find(|t| t.state.is_stopped() && t.state != ThreadState::StoppedExiting)
            .map(|t| t.tid);
        if let Some(tid) = by {
            self.ensure_scratch(tid);
        }
        trace!("tracepoint {id} at {addr:#x}: inserted");
        Ok(id)
    }

    fn tracepoint_addr(&self, id: i32) -> Result<u64> {
        self.tp
            .by_id
            .get(&id)
            .copied()
            .ok_or_else(|| Error::InvalidArgument(format!("no tracepoint with id {id}")))
    }

    /// Removes tracepoint `id` (process stopped). An ordinary breakpoint at its address stays.
    pub fn remove_tracepoint(&mut self, id: i32) -> Result<()> {
        self.require_stopped()?;
        let addr = self.tracepoint_addr(id)?;
        if !self.tp.user_at.remove(&addr) {
            self.memory.remove_breakpoint(addr)?;
            self.out_of_line_breakpoint_removed(addr);
        }
        self.tp.by_id.remove(&id);
        self.tp.by_addr.remove(&addr);
        trace!("tracepoint {id} at {addr:#x}: removed");
        Ok(())
    }

    /// Makes tracepoint `id` capture `len` bytes (at most `DATA_MAX`; 0: none) at
    /// `[reg + offset]` with each hit (process stopped).
    pub fn set_tracepoint_capture(&mut self, id: i32, capture: Capture) -> Result<()> {
        self.require_stopped()?;
        let addr = self.tracepoint_addr(id)?;
        if capture.len > DATA_MAX {
            return Err(Error::InvalidArgument(format!(
                "a record holds at most {DATA_MAX} bytes, not {}",
                capture.len
            )));
        }
        let tp = self.tp.by_addr.get_mut(&addr).unwrap();
        tp.capture = (capture.len > 0).then_some(capture);
        Ok(())
    }

    /// Whether `addr` holds an ordinary breakpoint of the user's.
    fn user_breakpoint_at(&self, addr: u64) -> bool {
        self.memory.reports(addr)
            && (!self.tp.by_addr.contains_key(&addr) || self.tp.user_at.contains(&addr))
    }

    /// Hook of `add_breakpoint`: an ordinary breakpoint at a tracepoint's address shares its
    /// int3. Returns true when that was the case (nothing more to insert).
    pub(super) fn breakpoint_added_at_tracepoint(&mut self, addr: u64) -> Result<bool> {
        if !self.tp.by_addr.contains_key(&addr) {
            return Ok(false);
        }
        if !self.tp.user_at.insert(addr) {
            return Err(Error::BreakpointExists(addr));
        }
        Ok(true)
    }

    /// Hook of `remove_breakpoint`: its ignore count and condition go; at a tracepoint's
    /// address the int3 stays for the tracepoint. Returns true when that was the case.
    pub(super) fn breakpoint_removed_at_tracepoint(&mut self, addr: u64) -> Result<bool> {
        self.tp.decisions.remove(&addr);
        if !self.tp.by_addr.contains_key(&addr) {
            return Ok(false);
        }
        if !self.tp.user_at.remove(&addr) {
            return Err(Error::NoBreakpoint(addr));
        }
        Ok(true)
    }

    /// Sets (or, with None, clears) the condition of the ordinary breakpoint at `addr`.
    pub fn set_breakpoint_condition(&mut self, addr: u64, c: Option<Condition>) -> Result<()> {
        self.require_stopped()?;
        if !self.user_breakpoint_at(addr) {
            return Err(Error::NoBreakpoint(addr));
        }
        self.tp.decisions.entry(addr).or_default().condition = c;
        Ok(())
    }

    /// Sets how many more hits (with its condition true) of the ordinary breakpoint at `addr`
    /// are passed over without a stop.
    pub fn set_breakpoint_ignore_count(&mut self, addr: u64, count: u64) -> Result<()> {
        self.require_stopped()?;
        if !self.user_breakpoint_at(addr) {
            return Err(Error::NoBreakpoint(addr));
        }
        self.tp.decisions.entry(addr).or_default().ignore = count;
        Ok(())
    }

    /// Whether a hit of the user's breakpoint at `addr` must stop the world (its condition
    /// holds and its ignore count is used up); counts the ignored hit.
    fn user_stop_wanted(&mut self, addr: u64, regs: &libc::user_regs_struct) -> bool {
        if !self.user_breakpoint_at(addr) {
            return false;
        }
        let Some(d) = self.tp.decisions.get_mut(&addr) else { return true };
        if d.condition.is_some_and(|c| !c.holds(regs)) {
            return false;
        }
        if d.ignore > 0 {
            d.ignore -= 1;
            return false;
        }
        true
    }

    fn capture(&mut self, tid: i32, tp: Tracepoint, addr: u64, regs: &libc::user_regs_struct) {
        let mut r = Record {
            kind: RecordKind::Tracepoint,
            tid,
            id: tp.id,
            time_ns: crate::sys::time::monotonic_ns(),
            pc: addr,
            regs: *regs,
            data: [0; DATA_MAX],
            data_len: 0,
        };
        if let Some(c) = tp.capture {
            let at = general(regs)[c.reg].wrapping_add(c.offset as u64);
            r.data_len = match self.memory.read(at, &mut r.data[..c.len]) {
                Ok(n) | Err((n, _)) => n as u32,
            };
        }
        if self.tp.records.push(r) {
            self.tp.parked.push_back((tid, r.time_ns));
            self.tp.records.parked();
            // The reader must hear of it now to make room.
            self.tp.records.flush_signal();
            trace!("thread {tid}: record buffer full; held at {addr:#x}");
        }
    }

    /// Hook: thread `tid` hit our int3 at `addr` (`regs` as at the hit, rip = `addr`, perhaps
    /// not yet written to the kernel). Records a tracepoint's hit; then, unless the user's
    /// breakpoint there wants the world stopped, lets the thread go on and returns true (the
    /// hit is handled). False: report it as a breakpoint stop, as before.
    pub(super) fn on_breakpoint_hit(
        &mut self,
        tid: i32,
        addr: u64,
        regs: &libc::user_regs_struct,
    ) -> bool {
        if self.tp.by_addr.is_empty() && self.tp.decisions.is_empty() {
            return false;
        }
        if self.breakpoint_wants_stop_capturing(tid, addr, regs) {
            return false;
        }
        self.set_state(tid, ThreadState::Stopped);
        self.set_cause(tid, Cause::of(CauseKind::Stopped));
        let t = self.threads.get_mut(&tid).unwrap();
        t.check_pc = true;
        if t.regs != Some(*regs) {
            t.regs = Some(*regs);
            t.regs_dirty = true;
        }
        if !self.tp.is_parked(tid) {
            self.go_on(tid);
        }
        true
    }

    /// Records a tracepoint's hit at `addr`, and says whether the world must stop there (an
    /// ordinary breakpoint whose condition holds and ignore count is used up). May park the
    /// thread (buffer full).
    fn breakpoint_wants_stop_capturing(
        &mut self,
        tid: i32,
        addr: u64,
        regs: &libc::user_regs_struct,
    ) -> bool {
        if let Some(tp) = self.tp.by_addr.get(&addr).copied() {
            self.capture(tid, tp, addr, regs);
        }
        self.user_stop_wanted(addr, regs)
    }

    /// As `breakpoint_wants_stop_capturing`, for a range step that lands on a breakpoint: the
    /// thread is never held (it is stepped on at once).
    pub(super) fn breakpoint_wants_stop(
        &mut self,
        tid: i32,
        addr: u64,
        regs: &libc::user_regs_struct,
    ) -> bool {
        let stop = self.breakpoint_wants_stop_capturing(tid, addr, regs);
        if let Some(i) = self.tp.parked.iter().position(|&(t, _)| t == tid) {
            self.tp.parked.remove(i);
            self.tp.records.unparked(0);
        }
        stop
    }

    /// A stopped thread goes on from the breakpoint under its PC while the others run: the
    /// instruction executed in place, or stepped out of line, or (where neither can be done)
    /// stepped in place with the breakpoint lifted. During an all-stop, or with the process
    /// stopped, it stays stopped; the next continue steps over the breakpoint.
    fn go_on(&mut self, tid: i32) {
        if self.run != RunState::Running || self.stopping_all {
            return self.resume_quietly(tid);
        }
        let Some(pc) = self.pc(tid) else { return self.resume_quietly(tid) };
        if !self.memory.has_breakpoint(pc) {
            self.threads.get_mut(&tid).unwrap().check_pc = false;
            return self.resume_quietly(tid);
        }
        self.threads.get_mut(&tid).unwrap().check_pc = false;
        if self.execute_in_place(tid) {
            return self.resume_quietly(tid);
        }
        // The scratch area was mapped when the tracepoint was set (mapping it now would need
        // every thread stopped).
        if self.scratch_area().is_some() && self.can_step_out_of_line(tid, pc, 0) {
            self.start_out_of_line(tid);
            return;
        }
        // Neither: the other threads may miss this breakpoint while it is lifted for the step
        // (the instruction is the program's own int3, undecodable, or the area is missing).
        trace!("thread {tid}: steps over {pc:#x} in place, the others running");
        self.tp.in_place.insert(tid);
        self.start_step(tid, Some(pc));
    }

    /// Hook: a single step of `tid` ended with its trap. True when it was our step in place
    /// over a tracepoint (the thread then runs on).
    pub(super) fn tracepoint_step_done(&mut self, tid: i32) -> bool {
        if !self.tp.in_place.remove(&tid) {
            return false;
        }
        self.resume_quietly(tid);
        true
    }

    /// Hook (continue): whether the thread is held for room in the record buffer.
    pub(super) fn tracepoint_parked(&self, tid: i32) -> bool {
        self.tp.is_parked(tid)
    }

    /// A reader made room in the record buffer (posted by `Records::take`): held threads go
    /// on, oldest first, as long as there is room.
    pub fn unpark_tracepoint_threads(&mut self) {
        self.tp.records.unpark_served();
        let now = crate::sys::time::monotonic_ns();
        while !self.tp.parked.is_empty() && self.tp.records.has_room() {
            let (tid, since) = self.tp.parked.pop_front().unwrap();
            self.tp.records.unparked(now.saturating_sub(since));
            trace!("thread {tid}: room in the record buffer; goes on");
            if self.threads.get(&tid).is_some_and(|t| t.state.is_stopped()) {
                self.go_on(tid);
            }
        }
    }

    fn release_all_parked(&mut self) {
        if self.tp.parked.is_empty() {
            return;
        }
        let now = crate::sys::time::monotonic_ns();
        let waited = self.tp.parked.drain(..).map(|(_, s)| now.saturating_sub(s)).sum();
        self.tp.records.none_parked(waited);
    }

    /// Hook: the thread is gone (its wait status came).
    pub(super) fn tracepoints_forget(&mut self, tid: i32) {
        self.tp.in_place.remove(&tid);
        if let Some(i) = self.tp.parked.iter().position(|&(t, _)| t == tid) {
            let (_, since) = self.tp.parked.remove(i).unwrap();
            self.tp.records.unparked(crate::sys::time::monotonic_ns().saturating_sub(since));
        }
    }

    /// Hook (`trace_syscalls`): whether system-call stops are recorded rather than reported.
    pub(super) fn syscalls_record_mode(&mut self, on: bool) {
        self.tp.record_syscalls = on;
    }

    /// Hook: a system-call stop of `tid` that would be reported. In record mode it becomes a
    /// record (registers as at the stop; `id` the call's number) and the thread goes on, or
    /// waits for room like a tracepoint's (not while it steps over a breakpoint: its record
    /// then exceeds the capacity by one). Returns whether it was recorded.
    pub(super) fn syscall_recorded(
        &mut self,
        tid: i32,
        stop: &crate::engine::syscalls::SyscallStop,
        step_over: bool,
    ) -> bool {
        if !self.tp.record_syscalls {
            return false;
        }
        let Ok(regs) = self.regs(tid) else { return false };
        let kind = if stop.is_exit { RecordKind::SyscallExit } else { RecordKind::SyscallEntry };
        let r = Record {
            kind,
            tid,
            id: stop.number as i32,
            time_ns: crate::sys::time::monotonic_ns(),
            pc: stop.pc,
            regs,
            data: [0; DATA_MAX],
            data_len: 0,
        };
        let full = self.tp.records.push(r);
        if full && !step_over {
            self.tp.parked.push_back((tid, r.time_ns));
            self.tp.records.parked();
            self.tp.records.flush_signal();
            self.set_state(tid, ThreadState::Stopped);
            self.set_cause(tid, Cause::of(CauseKind::Stopped));
            return true;
        }
        self.syscall_stop_done(tid, step_over);
        true
    }

    /// Hook: exec. The new image has none of our int3s; every tracepoint, condition and held
    /// thread is forgotten (records stay).
    pub(super) fn tracepoints_exec(&mut self) {
        self.release_all_parked();
        self.tp.by_addr.clear();
        self.tp.by_id.clear();
        self.tp.user_at.clear();
        self.tp.decisions.clear();
        self.tp.in_place.clear();
    }

    /// Hook: detach (or the end): held threads are let go with everything else.
    pub(super) fn tracepoints_detach(&mut self) {
        self.release_all_parked();
    }
}
