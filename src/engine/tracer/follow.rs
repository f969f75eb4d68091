//! Following the program into its children (`FOLLOW_FORK`): a fork, vfork or clone without
//! CLONE_THREAD stops the parent with cause `Fork`, and `take_child` turns the child into a
//! `Tracer` of its own, served by the same monitor thread (see `monitor` for why).
//!
//! Hooks called from the event code: `offer_child` (the parent's fork event), `child_arrived`
//! (the child's first stop), `child_gone` (its exit before it was taken), `release_offered`
//! (the parent leaves its stop: children not taken are let go, as without the flag).
//! `offer_child` collects the child's first stop itself (`await_first_stop`, bounded), so that
//! the fork stop is reported with nothing of the family running and `take_child` is one
//! round trip to a monitor sleeping on its queue (workload 11 of `make bench`).
//!
//! What a taken child carries over from its parent: the follow flags; after a fork or a clone
//! the breakpoint table at the moment of the take (the child's copy of the memory is cleaned
//! of our int3s at the fork stop and they are written back when it is taken); after a vfork nothing (the child
//! runs in the parent's memory, from which the breakpoints are lifted until the child execs or
//! exits; then the parent gets them back). Whether it was launched (freeing its handle kills
//! it; the kernel's PTRACE_O_EXITKILL is inherited, so it also dies with the host).
//!
//! Every method here runs on the monitor thread.

use super::*;
use std::collections::BTreeMap;

/// `set_follow` flag: follow fork, vfork and clone without CLONE_THREAD.
pub const FOLLOW_FORK: u32 = 1;

/// How long the fork event waits for the child's first stop (`await_first_stop`) before
/// leaving it to the loop.
const FIRST_STOP_WAIT: std::time::Duration = std::time::Duration::from_millis(2);

/// How long letting go of an offered child waits for its first stop (`release_offered`)
/// before leaving it to the loop.
const RELEASE_FIRST_STOP_WAIT: std::time::Duration = std::time::Duration::from_millis(100);

/// Whether `offer_child` waits for the child's first stop at all (on unless
/// `PTRACE_DBG_NO_FIRST_STOP_WAIT` is set: every child then takes the path of one slow to
/// reach its first stop, whose stop the loop collects; for tests and comparison).
static FIRST_STOP_WAIT_ON: once_cell::sync::Lazy<bool> =
    once_cell::sync::Lazy::new(|| std::env::var_os("PTRACE_DBG_NO_FIRST_STOP_WAIT").is_none());

/// A child offered at the parent's current fork stop.
#[derive(Debug, Clone, Copy)]
struct Offered {
    /// Its first stop has come: it sits stopped at its first instruction after the fork.
    arrived: bool,
    /// Created by vfork: it shares the parent's memory.
    vfork: bool,
}

/// What `take_child` hands to the child's handle.
pub struct TakenChild {
    pub memory: Arc<Memory>,
    pub xregs: crate::engine::xregs::XRegs,
    pub records: Arc<crate::engine::records::Records>,
}

/// The follow state of one process.
#[derive(Default)]
pub struct Follow {
    /// `FOLLOW_FORK` is on.
    fork: bool,
    /// Children offered at the current stop (by their pid), until taken or let go.
    offered: BTreeMap<i32, Offered>,
    /// Children taken by the current job, for the monitor to add to the family.
    adopted: Vec<Tracer>,
}

impl Tracer {
    /// `set_follow`: children (`FOLLOW_FORK`, here) and library events (`libraries`, whose
    /// hook runs only when that flag is asked for or was on). Process stopped; `flags` checked
    /// by the caller.
    pub fn set_follow_flags(&mut self, flags: u32) -> Result<()> {
        self.require_stopped()?;
        if flags & super::libraries::FOLLOW_LIBRARIES != 0 || self.solib.events {
            self.set_follow(flags)?;
        }
        self.follow.fork = flags & FOLLOW_FORK != 0;
        Ok(())
    }

    /// The flags `set_follow_flags` last set (`FOLLOW_FORK`, `FOLLOW_LIBRARIES`).
    pub fn follow_flags(&self) -> u32 {
        let libraries = if self.solib.events { super::libraries::FOLLOW_LIBRARIES } else { 0 };
        libraries | if self.follow.fork { FOLLOW_FORK } else { 0 }
    }

    /// Whether `tid` is a task this tracer deals with: one of its threads, or a child it
    /// forked whose fate is still in its hands. The monitor routes wait reports by it.
    pub fn knows(&self, tid: i32) -> bool {
        self.threads.contains_key(&tid)
            || self.expected_children.contains(&tid)
            || self.early_children.contains(&tid)
            || self.follow.offered.contains_key(&tid)
    }

    /// Children whose first stop is still to come (offered or to be let go): the monitor must
    /// keep waiting for them, even once this process is over.
    pub fn children_pending(&self) -> bool {
        !self.expected_children.is_empty() || self.follow.offered.values().any(|c| !c.arrived)
    }

    /// Fork children whose first stop this process holds with no fork event naming them yet
    /// (`early_children`): the monitor routes such a stop by guess (`MonitorLoop::owner`).
    pub fn early_children(&self) -> Vec<i32> {
        self.early_children.iter().copied().collect()
    }

    /// Whether this process awaits the first stop of `child`, which its fork event named (to
    /// be taken, or let go).
    pub fn awaits_first_stop(&self, child: i32) -> bool {
        self.expected_children.contains(&child)
            || self.follow.offered.get(&child).is_some_and(|c| !c.arrived)
    }

    /// The first stop of `child`, which another process of the family held as its own early
    /// child (`early_children`), comes to the process whose fork event named it (one that
    /// `awaits_first_stop`): handled as its first stop would have been.
    pub fn first_stop_handed_over(&mut self, child: i32) {
        trace!("child {child}: its first stop, collected by another process, handed over");
        if !self.child_arrived(child) && self.expected_children.remove(&child) {
            self.release_child(child);
        }
    }

    /// `child` (one of `early_children`) goes to another process of the family.
    pub fn hand_over_early_child(&mut self, child: i32) {
        self.early_children.remove(&child);
    }

    /// The children taken since the last call (the monitor adds them to its family).
    pub fn take_adopted(&mut self) -> Vec<Tracer> {
        std::mem::take(&mut self.follow.adopted)
    }

    /// Hook (fork event of `tid`): when following, the parent stops with cause `Fork` and the
    /// child waits to be taken. Returns false when not following (the old path lets it go).
    pub(super) fn offer_child(&mut self, tid: i32, child: i32, event: i32) -> bool {
        if !self.follow.fork || child <= 0 {
            return false;
        }
        let arrived = match self.early_children.remove(&child) {
            true => Some(true),
            false if *FIRST_STOP_WAIT_ON => self.await_first_stop(child, FIRST_STOP_WAIT),
            false => Some(false),
        }; // None: it died before its first stop
        let vfork = event == ptrace::EVENT_VFORK;
        if !vfork {
            // Clean the child's copy of the memory now: the caller may change the breakpoints
            // during this stop, and letting the child go later must not leave it an int3 the
            // table no longer names. Taking it writes the breakpoints of that moment back in.
            self.memory.lift_all_in(child);
        }
        trace!("thread {tid}: offers child {child} (vfork {vfork}, arrived {arrived:?})");
        if let Some(arrived) = arrived {
            self.follow.offered.insert(child, Offered { arrived, vfork });
        } // else it died before its first stop: reported, but there is nothing to take
        self.event_stop(tid, ThreadState::Stopped, Cause::fork(child));
        true
    }

    /// The first stop of a child whose parent's fork event has come, collected here: it is
    /// imminent (the kernel creates an auto-attached child with its trap stop pending, taken
    /// before it runs any code of its own), and with it collected the fork stop is reported
    /// with nothing of the family running: the caller's `take_child` and continues then find
    /// the monitor on its queue rather than in waitpid (a doorbell ring each saved), and
    /// `take_child` returns without waiting for the child's stop. Bounded (the CPU is yielded
    /// to the child meanwhile): a child that does not stop at once (frozen, or its stop
    /// consumed elsewhere) is left to the loop, which reports its stop to `child_arrived`.
    /// Some(true): it stopped; None: it died first (its exit status consumed here, as the loop
    /// would have); Some(false): not yet.
    fn await_first_stop(&mut self, child: i32, wait: std::time::Duration) -> Option<bool> {
        let deadline = std::time::Instant::now() + wait;
        loop {
            match wait::waitpid(child, libc::__WALL | libc::WNOHANG) {
                Ok(Some((_, wait::Status::Stopped { sig, event }))) => {
                    trace!("child {child}: first stop (sig {sig} event {event}) collected");
                    return Some(true);
                }
                Ok(Some((_, st @ (wait::Status::Exited(_) | wait::Status::Signaled(_))))) => {
                    trace!("child {child}: {st:?} before its first stop");
                    return None;
                }
                Ok(None) if std::time::Instant::now() < deadline => std::thread::yield_now(),
                _ => return Some(false),
            }
        }
    }

    /// Hook (first stop of an unknown task): an offered child's first stop. It stays stopped.
    pub(super) fn child_arrived(&mut self, child: i32) -> bool {
        match self.follow.offered.get_mut(&child) {
            Some(c) => {
                c.arrived = true;
                true
            }
            None => false,
        }
    }

    /// Hook (an exit status): an offered child died before it was taken.
    pub(super) fn child_gone(&mut self, child: i32) {
        self.follow.offered.remove(&child);
    }

    /// Hook (the run state leaves Stopped): the children not taken are let go as without the
    /// flag (clean of our int3s, untraced), one whose first stop has not come yet once it comes
    /// (waited for here).
    pub(super) fn release_offered(&mut self) {
        if self.follow.offered.is_empty() {
            return;
        }
        // The fork stops are consumed: a thread not resumed yet (another one's step over a
        // breakpoint comes first, and may end in a new stop) must not offer its child again.
        for t in self.threads.values_mut() {
            if t.cause.kind == CauseKind::Fork {
                t.cause = Cause::of(CauseKind::Stopped);
                self.dirty = true;
            }
        }
        for (child, c) in std::mem::take(&mut self.follow.offered) {
            if c.arrived {
                self.release_child(child);
                continue;
            }
            // Its first stop is imminent (the kernel created it stopped-to-be): take it now,
            // so that nothing is left traced once a detach or a free returns. Bounded: a child
            // held before its first stop (frozen, or starved of CPU) would otherwise block the
            // monitor and every process of the family; it is then let go by the loop when its
            // stop comes (the monitor thread lives on until it has).
            match self.await_first_stop(child, RELEASE_FIRST_STOP_WAIT) {
                Some(true) => self.release_child(child),
                None => {} // it died first (killed)
                Some(false) => {
                    self.expected_children.insert(child);
                }
            }
        }
    }

    /// `take_child`: the offered child `pid` becomes a process of its own, answering on
    /// `shared`; returns what its handle holds: its memory, register cache and record buffer.
    /// Its snapshot is published here, so that the handle sees it at once (the monitor adds
    /// the child to the family after this job). Process stopped.
    pub fn take_child(&mut self, pid: i32, shared: Arc<Shared>) -> Result<TakenChild> {
        self.require_stopped()?;
        let Some(c) = self.follow.offered.remove(&pid) else {
            return Err(Error::InvalidArgument(format!(
                "process {pid} is not a child offered at this stop (cause FORK)"
            )));
        };
        let mut child = Tracer::new(pid, self.launched, shared);
        child.follow.fork = self.follow.fork;
        if !c.vfork {
            child.memory.adopt_breakpoints(&self.memory);
            child.ever_had_breakpoints = self.ever_had_breakpoints;
        }
        if c.arrived {
            child.set_state(pid, ThreadState::Stopped);
            child.set_run(RunState::Stopped);
        } else {
            // Its first stop (PTRACE_EVENT_STOP) ends the child's all-stop.
            child.set_state(pid, ThreadState::Stopping);
            child.stopping_all = true;
        }
        trace!("child {pid}: taken");
        child.publish();
        let taken = TakenChild {
            memory: child.memory(),
            xregs: child.xregs(),
            records: child.records(), // its own buffer: tracepoints are not inherited
        };
        self.follow.adopted.push(child);
        Ok(taken)
    }
}
