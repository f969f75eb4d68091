//! The tracer: the state the monitor thread owns (thread table, run state) and the ptrace
//! algorithms over it (attach, stop-all, continue, event handling, detach, kill).
//!
//! The algorithms live in `attach` (how tracing begins), `run` (stop-all, continue, step,
//! detach, kill) and `events` (what each waitpid report does); this module keeps the state,
//! the one `set_state`, publishing, and the primitives' entry points.
//!
//! Every method here must be called from the monitor thread: it is the thread that seized the
//! tracees (or forked the launched program), and the kernel accepts ptrace requests, and
//! reports tracee stops to `waitpid(.., __WNOTHREAD)`, only for that thread.

use super::breakpoints::Memory;
use super::log::trace;
use super::monitor::Shared;
use super::thread::{Cause, CauseKind, Thread, ThreadInfo, ThreadState};
use super::{Error, Result};
use crate::sys::{procfs, ptrace, signal, spawn, wait, x86};
use nix::errno::Errno;
use once_cell::sync::Lazy;
use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

mod attach;
#[cfg(test)]
mod errno_map_tests;
mod events;
mod follow;
mod libraries;
mod out_of_line;
mod range;
mod run;
mod tracepoints;
pub use tracepoints::{Capture, CondOp, Condition};
mod syscalls;
mod trap;
mod watch;
mod xregs;

pub use follow::{TakenChild, FOLLOW_FORK};

/// Whether continuing from a breakpoint may execute simple instructions in place instead of
/// stepping them (on unless `PTRACE_DBG_NO_EMULATION` is set, for comparison and debugging).
static EMULATE: Lazy<bool> = Lazy::new(|| std::env::var_os("PTRACE_DBG_NO_EMULATION").is_none());

/// The process as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunState {
    /// Some thread runs (or an all-stop is still collecting stops).
    Running,
    /// Every live thread is stopped.
    Stopped,
    /// Every thread is gone and the exit status is known.
    Exited,
    /// We detached; the process runs on untraced.
    Detached,
}

impl RunState {
    /// Ok when stopped; else the error a call that needs the process stopped gets.
    pub fn require_stopped(self) -> Result<()> {
        match self {
            RunState::Stopped => Ok(()),
            RunState::Exited => Err(Error::Exited),
            RunState::Detached => Err(detached()),
            RunState::Running => {
                Err(Error::BadState("the process is running; stop it first".into()))
            }
        }
    }
}

/// How the traced process ended: exit code (or -1) and terminating signal (or 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExitStatus {
    pub code: i32,
    pub signal: i32,
}

impl ExitStatus {
    fn from_wait(st: wait::Status) -> Option<ExitStatus> {
        match st {
            wait::Status::Exited(code) => Some(ExitStatus { code, signal: 0 }),
            wait::Status::Signaled(signal) => Some(ExitStatus { code: -1, signal }),
            _ => None,
        }
    }
}

/// Job-control stop signals: a PTRACE_EVENT_STOP carrying one of these is a group-stop.
fn is_group_stop_signal(sig: i32) -> bool {
    matches!(sig, libc::SIGSTOP | libc::SIGTSTP | libc::SIGTTIN | libc::SIGTTOU)
}

/// The monitor-owned state of one traced process.
pub struct Tracer {
    pid: i32,
    launched: bool,
    shared: Arc<Shared>,
    threads: BTreeMap<i32, Thread>,
    run: RunState,
    /// The thread whose event stopped the process; 0 for a requested stop.
    trigger: i32,
    /// An all-stop is under way: every running thread was interrupted.
    stopping_all: bool,
    /// `kill` was called: every stop is answered with PTRACE_CONT until the exit.
    killing: bool,
    /// The leader was a zombie when we attached (main called pthread_exit): not traced by us,
    /// so the process's end is the exit of the last traced thread.
    leader_untraced: bool,
    /// Initial stops of fork children whose parent's fork event has not been seen yet.
    early_children: HashSet<i32>,
    /// Fork children announced by their parent's event whose initial stop is still to come.
    expected_children: HashSet<i32>,
    exit: Option<ExitStatus>,
    /// The exit status of the last traced thread to go (used when `leader_untraced`).
    last_thread_status: Option<ExitStatus>,
    /// Tracee memory and the breakpoint table (shared with the API threads).
    memory: Arc<Memory>,
    /// A continue is under way: threads on breakpoints are being stepped over one at a time
    /// (the others stay stopped so none can run past a lifted breakpoint), then all resume.
    resuming: bool,
    /// A breakpoint was set at some time: SIGTRAPs must be looked at closely from then on.
    ever_had_breakpoints: bool,
    /// How many instructions under breakpoints were executed in place rather than stepped.
    executed_in_place: u64,
    /// The run state of the last published snapshot.
    published_run: RunState,
    /// Threads of the table per state (index: `ThreadState as usize`).
    state_counts: [usize; 11],
    /// A group stop (job control) was reported to the caller; the other threads' reports of
    /// the same group stop are not news. Reset when we deliver the next stop signal.
    group_stop_reported: bool,
    /// Steps over breakpoints out of line: the scratch area and who is in it.
    ool: out_of_line::OutOfLine,
    /// Callers waiting for the process to stop running (answered at the next publish that
    /// shows it stopped, exited or detached).
    quiet_waiters: Vec<std::sync::mpsc::SyncSender<Result<RunState>>>,
    /// How many queued continues have run (`Shared::post_continue`), published with each
    /// snapshot.
    continues: u64,
    /// Threads in a vfork whose child shares their memory: our breakpoints are lifted from it
    /// until the thread's PTRACE_EVENT_VFORK_DONE.
    vforking: HashSet<i32>,
    /// Following children (`follow`).
    follow: follow::Follow,
    /// Shared libraries: the loader's rendezvous breakpoint and symbol breakpoints
    /// (`libraries`, `super::solib`).
    solib: super::solib::Solib,
    /// Hardware watchpoints (their hooks: `watch.rs`).
    watch: super::watchpoints::Watchpoints,
    /// Cached XSAVE areas of stopped threads (registers beyond `user_regs_struct`).
    xregs: super::xregs::XRegs,
    /// Tracepoints, their records, and ordinary breakpoints' ignore counts and conditions.
    tp: tracepoints::Tracepoints,
    /// The range step under way, or the last one.
    range: range::RangeStep,
    /// System-call tracing: the traced set, the mode, each thread's call in progress
    /// (`engine::syscalls`; its hooks are in `syscalls.rs`).
    sys: crate::engine::syscalls::SyscallTrace,
    dirty: bool,
}

impl Tracer {
    pub(crate) fn new(pid: i32, launched: bool, shared: Arc<Shared>) -> Tracer {
        Tracer {
            pid,
            launched,
            shared: shared.clone(),
            threads: BTreeMap::new(),
            run: RunState::Running,
            trigger: 0,
            stopping_all: false,
            killing: false,
            leader_untraced: false,
            early_children: HashSet::new(),
            expected_children: HashSet::new(),
            exit: None,
            last_thread_status: None,
            memory: Arc::new(Memory::new(pid)),
            resuming: false,
            ever_had_breakpoints: false,
            executed_in_place: 0,
            published_run: RunState::Running,
            state_counts: [0; 11],
            quiet_waiters: Vec::new(),
            continues: 0,
            ool: Default::default(),
            group_stop_reported: false,
            vforking: HashSet::new(),
            follow: follow::Follow::default(),
            solib: Default::default(),
            watch: Default::default(),
            xregs: Default::default(),
            tp: tracepoints::Tracepoints::new(shared.clone()),
            range: Default::default(),
            sys: crate::engine::syscalls::SyscallTrace::new(),
            dirty: true,
        }
    }

    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// What this process shares with its handle.
    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    pub fn run_state(&self) -> RunState {
        self.run
    }

    /// The process is over for us (exited or detached): the monitor may end.
    pub fn finished(&self) -> bool {
        matches!(self.run, RunState::Exited | RunState::Detached)
    }

    /// Some thread may still report to waitpid (the monitor must block there, not on its queue).
    /// (Even a zombie leader counts: its exit status comes once the others are reaped, and a
    /// process whose threads have all gone must be seen to exit. Blocking in waitpid then
    /// costs callers only the doorbell.)
    pub fn may_report(&self) -> bool {
        self.run == RunState::Running
            || self.killing
            || self.count_running() > 0
            || self.count(ThreadState::Exiting) > 0
            || self.children_pending()
    }

    /// An all-stop waits for threads that may be blocked in execve while the threads exec is
    /// destroying sit in their exit stops: the monitor must poll instead of blocking (see
    /// `release_threads_killed_by_exec`).
    pub fn needs_poll(&self) -> bool {
        self.stopping_all && self.exec_may_wait_on_exit_stops()
    }

    /// Some thread sits in its exit stop while another may be blocked in execve waiting for it
    /// to be gone: one we are stopping, or one we are single-stepping (a `ptrace_dbg_step`
    /// holds every other thread stopped, so nothing else would let the exit stops go).
    fn exec_may_wait_on_exit_stops(&self) -> bool {
        self.count(ThreadState::StoppedExiting) > 0
            && self.count(ThreadState::Stopping) + self.count(ThreadState::SingleStepping) > 0
    }

    /// The polling `needs_poll` asks for, once per tick of the monitor.
    pub fn poll_tick(&mut self) {
        self.release_threads_killed_by_exec();
        self.give_up_on_zombies();
    }

    /// A thread we interrupted can die without a stop of any kind (killed while the SIGKILL's
    /// group exit was already under way: no PTRACE_EVENT_EXIT). A dead leader then waits, a
    /// zombie, for the others to be reaped, while they wait in their exit stops for an all-stop
    /// that waits for the leader. /proc tells the zombie: it is Exiting, not Stopping.
    fn give_up_on_zombies(&mut self) {
        let pid = self.pid;
        let dead: Vec<i32> = self
            .threads
            .values()
            .filter(|t| t.state == ThreadState::Stopping)
            .filter(|t| matches!(procfs::task_state(pid, t.tid), Some('Z') | Some('X') | None))
            .map(|t| t.tid)
            .collect();
        for tid in dead {
            trace!("thread {tid}: died without stopping");
            self.set_state(tid, ThreadState::Exiting);
        }
        self.check_all_stopped();
    }

    /// While an all-stop collects stops, takes them thread by thread with
    /// `waitpid(tid, WNOHANG)`. `waitpid(-1)` walks every traced thread in the kernel, so
    /// collecting a thousand stops through it, one per call, costs a million steps (it was most
    /// of an attach to 1,000 threads). Returns whether it collected anything; below a few
    /// threads it leaves the work to `waitpid(-1)`.
    pub fn collect_stops(&mut self) -> bool {
        if self.count(ThreadState::Stopping) < 8 {
            return false;
        }
        let stopping: Vec<i32> = self
            .threads
            .values()
            .filter(|t| t.state == ThreadState::Stopping)
            .map(|t| t.tid)
            .collect();
        let mut any = false;
        for tid in stopping {
            if let Ok(Some((t, st))) = wait::waitpid(tid, libc::__WALL | libc::WNOHANG) {
                self.on_wait(t, st);
                any = true;
            }
        }
        any
    }

    /// How many threads of the table are in `state` (kept by `set_state`, so that the
    /// monitor's per-event checks do not scan a table of a thousand threads).
    fn count(&self, state: ThreadState) -> usize {
        self.state_counts[state as usize]
    }

    /// How many threads are in a stop (`ThreadState::is_stopped`).
    fn count_stopped(&self) -> usize {
        self.count(ThreadState::Stopped)
            + self.count(ThreadState::StoppedBreakpoint)
            + self.count(ThreadState::StoppedSignal)
            + self.count(ThreadState::StoppedThreadCreate)
            + self.count(ThreadState::StoppedExiting)
    }

    /// How many threads may still report a stop (`ThreadState::is_running`).
    fn count_running(&self) -> usize {
        self.count(ThreadState::Running)
            + self.count(ThreadState::SingleStepping)
            + self.count(ThreadState::Stopping)
    }

    // ----- state changes -------------------------------------------------------------------

    /// The one place a thread's state changes (the seed's setState); logs the transition.
    fn set_state(&mut self, tid: i32, state: ThreadState) {
        if let Some(t) = self.threads.get_mut(&tid) {
            if !state.is_stopped() {
                t.regs = None; // registers are only known while stopped
                t.regs_dirty = false;
                self.xregs.forget(tid);
            }
            if t.state != state {
                trace!("thread {tid}: {} -> {}", t.state.name(), state.name());
                self.state_counts[t.state as usize] -= 1;
                self.state_counts[state as usize] += 1;
                t.state = state;
            }
        } else {
            trace!("thread {tid}: new, {}", state.name());
            self.threads.insert(tid, Thread::new(tid, state));
            self.state_counts[state as usize] += 1;
        }
        self.dirty = true;
    }

    fn set_cause(&mut self, tid: i32, cause: Cause) {
        if let Some(t) = self.threads.get_mut(&tid) {
            t.cause = cause;
            self.dirty = true;
        }
    }

    fn remove_thread(&mut self, tid: i32) {
        self.watch_forget_thread(tid);
        self.sys.forget(tid);
        self.set_state(tid, ThreadState::Exited);
        if self.threads.remove(&tid).is_some() {
            self.state_counts[ThreadState::Exited as usize] -= 1;
        }
    }

    fn set_run(&mut self, run: RunState) {
        if self.run != run {
            trace!("process {}: {:?} -> {:?}", self.pid, self.run, run);
            self.run = run;
            self.dirty = true;
            if run != RunState::Stopped {
                self.release_offered();
            }
        }
    }

    /// Publishes the snapshot queries read, if anything changed. Called by the monitor before
    /// it answers a request and after every batch of events.
    pub fn publish(&mut self) {
        if !self.dirty {
            return;
        }
        self.dirty = false;
        self.published_run = self.run;
        let info =
            |t: &Thread| ThreadInfo { tid: t.tid, state: t.state, cause: t.cause, regs: t.regs };
        // Main thread first while it lives; the rest by tid (the table's order).
        let live = |t: &&Thread| !t.state.is_terminal();
        let main = self.threads.get(&self.pid).filter(live).map(info);
        let rest = self.threads.values().filter(live).filter(|t| t.tid != self.pid).map(info);
        let infos: Vec<ThreadInfo> = main.into_iter().chain(rest).collect();
        self.shared.publish(self.run, self.trigger, infos, self.exit, self.continues);
        if self.run != RunState::Running {
            for tx in self.quiet_waiters.drain(..) {
                let _ = tx.send(Ok(self.run));
            }
        }
    }

    /// Answers `tx` once the process is no longer running (see `Shared::call_until_quiet`).
    pub(crate) fn when_quiet(&mut self, tx: std::sync::mpsc::SyncSender<Result<RunState>>) {
        self.quiet_waiters.push(tx);
    }

    /// `publish` after a batch of events, skipped while the process was and still is running:
    /// nothing a caller waits for has changed then, and an attach to a thousand threads would
    /// otherwise copy the table a thousand times.
    pub fn publish_settled(&mut self) {
        self.tp.flush_record_signal();
        if self.run == RunState::Running && self.published_run == RunState::Running {
            return;
        }
        self.publish();
    }

    // ----- queries that need the monitor ---------------------------------------------------

    /// Whether `tid` is a live, stopped thread of ours (for calls that need one).
    pub fn stopped_thread(&self, tid: i32) -> Result<&Thread> {
        match self.run {
            RunState::Exited => return Err(Error::Exited),
            RunState::Detached => return Err(detached()),
            _ => {}
        }
        match self.threads.get(&tid) {
            Some(t) if t.state.is_stopped() => Ok(t),
            Some(t) if t.state.is_terminal() || t.state.is_zombie() => {
                Err(Error::NoSuchThread(tid))
            }
            Some(t) => {
                Err(Error::BadState(format!("thread {tid} is {}, not stopped", t.state.name())))
            }
            None => Err(Error::NoSuchThread(tid)),
        }
    }

    /// Whether the process was launched by us (free kills it) or attached (free detaches).
    pub fn launched(&self) -> bool {
        self.launched
    }

    // ----- debugging primitives ------------------------------------------------------------

    /// The memory shared with the API threads.
    pub fn memory(&self) -> Arc<Memory> {
        self.memory.clone()
    }

    /// Sets a breakpoint (process stopped).
    pub fn add_breakpoint(&mut self, addr: u64) -> Result<()> {
        self.require_stopped()?;
        self.ever_had_breakpoints = true;
        if self.breakpoint_added_at_tracepoint(addr)? {
            return Ok(()); // the tracepoint's int3 serves both
        }
        self.memory.add_breakpoint(addr)?;
        trace!("breakpoint {addr:#x}: inserted ({} set)", self.memory.breakpoint_count());
        Ok(())
    }

    /// Removes a breakpoint (process stopped).
    pub fn remove_breakpoint(&mut self, addr: u64) -> Result<()> {
        self.require_stopped()?;
        if self.breakpoint_removed_at_tracepoint(addr)? {
            return Ok(()); // the int3 stays for the tracepoint
        }
        self.memory.remove_breakpoint(addr)?;
        self.out_of_line_breakpoint_removed(addr);
        trace!("breakpoint {addr:#x}: removed");
        Ok(())
    }

    /// The registers of a stopped thread.
    pub fn get_regs(&mut self, tid: i32) -> Result<libc::user_regs_struct> {
        self.stopped_thread(tid)?;
        self.regs(tid).map_err(|e| thread_error(tid, "ptrace(PTRACE_GETREGS)", e))
    }

    /// Writes the registers of a stopped thread.
    pub fn set_regs(&mut self, tid: i32, regs: &libc::user_regs_struct) -> Result<()> {
        self.stopped_thread(tid)?;
        ptrace::set_regs(tid, regs).map_err(|e| thread_error(tid, "ptrace(PTRACE_SETREGS)", e))?;
        self.out_of_line_regs_written(tid);
        let check_pc = self.regs_written_may_sit_on_breakpoint(tid);
        let t = self.threads.get_mut(&tid).unwrap();
        // Its PC may now be on a breakpoint: the next continue must check.
        t.check_pc |= check_pc;
        t.regs = Some(*regs);
        t.regs_dirty = false;
        self.dirty = true;
        Ok(())
    }
}

/// A ptrace request on a thread we believed stopped failed: ESRCH means it died meanwhile.
fn thread_error(tid: i32, call: &'static str, e: Errno) -> Error {
    match e {
        Errno::ESRCH => Error::NoSuchThread(tid),
        e => Error::os(call, e),
    }
}

fn detached() -> Error {
    Error::BadState("the process was detached".into())
}

/// The error for a failed seize, naming the likely cause of a permission error.
fn attach_error(tid: i32, e: Errno) -> Error {
    match e {
        Errno::ESRCH => Error::NoSuchProcess(format!("no process with pid {tid}")),
        Errno::EPERM | Errno::EACCES => {
            let hint = match procfs::status_field(tid, "TracerPid") {
                Some(t) if t != 0 => " (the process is already traced by another tracer)",
                _ => match procfs::yama_ptrace_scope() {
                    Some(scope) if scope > 0 => {
                        " (kernel.yama.ptrace_scope forbids it; run as root or set it to 0)"
                    }
                    _ => " (missing CAP_SYS_PTRACE, or the process belongs to another user)",
                },
            };
            Error::Permission { call: "ptrace(PTRACE_SEIZE)", errno: e, hint }
        }
        e => Error::os("ptrace(PTRACE_SEIZE)", e),
    }
}
