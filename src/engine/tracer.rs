//! The tracer: the state the monitor thread owns (thread table, run state) and the ptrace
//! algorithms over it (attach, stop-all, continue, event handling, detach, kill).
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
use once_cell::sync::Lazy;

/// Whether continuing from a breakpoint may execute simple instructions in place instead of
/// stepping them (on unless `PTRACE_DBG_NO_EMULATION` is set, for comparison and debugging).
static EMULATE: Lazy<bool> = Lazy::new(|| std::env::var_os("PTRACE_DBG_NO_EMULATION").is_none());
use nix::errno::Errno;
use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

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

/// How long a step over a breakpoint may sit in a system call before the other threads are
/// let run (see `Tracer::unblock_step_over`).
const STEP_OVER_PATIENCE: std::time::Duration = std::time::Duration::from_millis(10);

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
    /// When the current step over a breakpoint (during a continue) began, if the instruction
    /// is a system call (which may block).
    step_over_since: Option<std::time::Instant>,
    /// Callers waiting for the process to stop running (answered at the next publish that
    /// shows it stopped, exited or detached).
    quiet_waiters: Vec<std::sync::mpsc::SyncSender<Result<RunState>>>,
    /// Threads in a vfork whose child shares their memory: our breakpoints are lifted from it
    /// until the thread's PTRACE_EVENT_VFORK_DONE.
    vforking: HashSet<i32>,
    dirty: bool,
}

impl Tracer {
    pub(crate) fn new(pid: i32, launched: bool, shared: Arc<Shared>) -> Tracer {
        Tracer {
            pid,
            launched,
            shared,
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
            step_over_since: None,
            group_stop_reported: false,
            vforking: HashSet::new(),
            dirty: true,
        }
    }

    pub fn pid(&self) -> i32 {
        self.pid
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
            || !self.expected_children.is_empty()
    }

    /// An all-stop waits for threads that may be blocked in execve while the threads exec is
    /// destroying sit in their exit stops: the monitor must poll instead of blocking (see
    /// `release_threads_killed_by_exec`).
    pub fn needs_poll(&self) -> bool {
        (self.stopping_all
            && self.count(ThreadState::StoppedExiting) > 0
            && self.count(ThreadState::Stopping) > 0)
            || (self.resuming && self.step_over_since.is_some())
    }

    /// The polling `needs_poll` asks for, once per tick of the monitor.
    pub fn poll_tick(&mut self) {
        self.release_threads_killed_by_exec();
        self.give_up_on_zombies();
        self.unblock_step_over();
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
        self.shared.publish(self.run, self.trigger, infos, self.exit);
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
        if self.run == RunState::Running && self.published_run == RunState::Running {
            return;
        }
        self.publish();
    }

    // ----- attach and launch ---------------------------------------------------------------

    /// Seizes every thread of `pid` and interrupts each; the stops arrive through waitpid.
    /// Lists `/proc/PID/task` again and again until a listing shows no thread we have not
    /// seized, because the program may create threads while we attach.
    pub fn attach(&mut self) -> Result<()> {
        let pid = self.pid;
        if pid <= 0 {
            return Err(Error::InvalidArgument(format!("pid {pid} is not a process id")));
        }
        if pid == signal::getpid() {
            return Err(Error::InvalidArgument("cannot attach to the host's own process".into()));
        }
        match procfs::status_field(pid, "Tgid") {
            None => return Err(Error::NoSuchProcess(format!("no process with pid {pid}"))),
            Some(tgid) if tgid != pid as i64 => {
                return Err(Error::InvalidArgument(format!(
                    "{pid} is a thread of process {tgid}, not a process id"
                )))
            }
            Some(_) => {}
        }
        // TracerPid in /proc names the tracing *thread*: this one.
        let me = signal::gettid() as i64;
        let mut seen: HashSet<i32> = HashSet::new();
        loop {
            let tids = procfs::tasks(pid).map_err(|e| match e {
                Errno::ENOENT | Errno::ESRCH => {
                    Error::NoSuchProcess(format!("process {pid} vanished during attach"))
                }
                e => Error::os("read /proc/PID/task", e),
            })?;
            let fresh: Vec<i32> = tids.into_iter().filter(|t| !seen.contains(t)).collect();
            if fresh.is_empty() {
                break;
            }
            for tid in fresh {
                seen.insert(tid);
                if self.threads.contains_key(&tid) {
                    continue; // auto-attached through PTRACE_O_TRACECLONE and already reported
                }
                // No look at /proc first (a thousand threads, a thousand opens): a zombie (a
                // leader that called pthread_exit) is told by the EPERM seizing it gives.
                match ptrace::seize(tid, false) {
                    Ok(()) => {}
                    Err(Errno::ESRCH) => continue, // exited between listing and seizing
                    Err(Errno::EPERM) if procfs::status_field(tid, "TracerPid") == Some(me) => {
                        // Auto-attached as a clone of a thread we seized; its first stop will come.
                        self.set_state(tid, ThreadState::Stopping);
                        continue;
                    }
                    Err(Errno::EPERM)
                        if matches!(procfs::task_state(pid, tid), Some('Z') | Some('X') | None) =>
                    {
                        if tid == pid {
                            self.leader_untraced = true;
                        }
                        continue;
                    }
                    Err(e) if tid == pid || self.threads.is_empty() => {
                        return Err(attach_error(pid, e))
                    }
                    Err(e) => return Err(attach_error(tid, e)),
                }
                self.set_state(tid, ThreadState::Stopping);
                if let Err(e) = ptrace::interrupt(tid) {
                    if e != Errno::ESRCH {
                        return Err(Error::os("ptrace(PTRACE_INTERRUPT)", e));
                    }
                    // Died right after the seize: its exit status will arrive.
                    self.set_state(tid, ThreadState::Exiting);
                }
            }
        }
        if self.threads.is_empty() {
            return Err(Error::NoSuchProcess(format!(
                "process {pid} has no thread left to attach"
            )));
        }
        self.stopping_all = true;
        self.trigger = 0;
        self.collect_attach_stops();
        self.check_all_stopped();
        Ok(())
    }

    /// Takes the stops our interrupts cause, thread by thread, as a plain tracer would: each
    /// interrupted thread stops as soon as it gets a CPU, so one yield usually lets it report.
    /// A thread that does not (blocked uninterruptibly, say) is left to the monitor's loop
    /// after a moment, so this can never hang the monitor.
    fn collect_attach_stops(&mut self) {
        let stopping: Vec<i32> = self
            .threads
            .values()
            .filter(|t| t.state == ThreadState::Stopping)
            .map(|t| t.tid)
            .collect();
        for tid in stopping {
            for _ in 0..64 {
                if self.threads.get(&tid).map(|t| t.state) != Some(ThreadState::Stopping) {
                    break;
                }
                match wait::waitpid(tid, libc::__WALL | libc::WNOHANG) {
                    Ok(Some((t, st))) => self.on_wait(t, st),
                    Ok(None) => std::thread::yield_now(),
                    Err(_) => break,
                }
            }
        }
    }

    /// Undoes a failed attach: lets go of every thread seized so far.
    pub fn abandon(&mut self) {
        let tids: Vec<i32> = self.threads.keys().copied().collect();
        for tid in tids {
            let _ = ptrace::detach(tid, 0);
            self.set_state(tid, ThreadState::Detached);
        }
        self.set_run(RunState::Detached);
    }

    /// Seizes the held child, lets it exec, and waits (on this, the monitor thread) for its
    /// PTRACE_EVENT_EXEC stop. An exec failure comes back as the child's setup error.
    pub fn launch(&mut self, child: &mut spawn::HeldChild) -> Result<()> {
        let pid = child.pid;
        let fail = |e: Error| {
            let _ = signal::kill(pid, libc::SIGKILL);
            let _ = wait::waitpid(pid, libc::__WALL);
            e
        };
        ptrace::seize(pid, true).map_err(|e| fail(Error::os("ptrace(PTRACE_SEIZE)", e)))?;
        child.release().map_err(|e| fail(Error::os("write(launch pipe)", e)))?;
        loop {
            let (_, status) = match wait::waitpid(pid, libc::__WALL) {
                Ok(Some(r)) => r,
                Ok(None) => continue,
                Err(e) => return Err(fail(Error::os("waitpid", e))),
            };
            match status {
                wait::Status::Stopped { event: ptrace::EVENT_EXEC, .. } => break,
                wait::Status::Stopped { sig, event: 0 } => {
                    // A signal before exec (e.g. from the terminal): deliver it and go on.
                    let _ = ptrace::cont(pid, sig);
                }
                wait::Status::Stopped { .. } => {
                    let _ = ptrace::cont(pid, 0);
                }
                wait::Status::Exited(_) | wait::Status::Signaled(_) => {
                    return Err(match child.setup_error() {
                        Some((step, Errno::EACCES | Errno::EPERM)) => {
                            Error::Permission { call: step.call(), errno: Errno::EACCES, hint: "" }
                        }
                        Some((step, errno)) => Error::Os { call: step.call(), errno },
                        None => Error::Internal(format!(
                            "launched child exited before exec ({status:?})"
                        )),
                    });
                }
                wait::Status::Continued => {}
            }
        }
        self.set_state(pid, ThreadState::Stopped);
        self.set_cause(pid, Cause::of(CauseKind::Exec));
        self.trigger = pid;
        self.set_run(RunState::Stopped);
        Ok(())
    }

    // ----- run control ---------------------------------------------------------------------

    /// Begins an all-stop: interrupts every running thread. The process becomes Stopped when the
    /// last of them has reported (`check_all_stopped`).
    fn stop_all(&mut self) {
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
    fn check_all_stopped(&mut self) {
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
    fn event_stop(&mut self, tid: i32, state: ThreadState, cause: Cause) {
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
    pub fn require_stopped(&self) -> Result<()> {
        match self.run {
            RunState::Stopped => Ok(()),
            RunState::Exited => Err(Error::Exited),
            RunState::Detached => Err(detached()),
            RunState::Running => {
                Err(Error::BadState("the process is running; stop it first".into()))
            }
        }
    }

    /// Resumes every stopped thread (ptrace_dbg_continue). A thread stopped by a signal gets it
    /// delivered; a thread in its exit stop is let go to finish exiting.
    pub fn cont(&mut self) -> Result<()> {
        self.require_stopped()?;
        self.trigger = 0;
        self.stopping_all = false;
        self.set_run(RunState::Running);
        self.resuming = true;
        self.advance_resume();
        Ok(())
    }

    /// The next step of a continue: step the next thread that sits on a breakpoint over it
    /// (its step trap brings us back here), or, when none is left, resume every stopped thread.
    fn advance_resume(&mut self) {
        // A thread in its exit stop runs no more user code: its PC does not matter.
        let needs_check = |t: &&Thread| {
            t.check_pc && t.state.is_stopped() && t.state != ThreadState::StoppedExiting
        };
        loop {
            let next = self.threads.values().find(needs_check);
            let Some(tid) = next.map(|t| t.tid) else { break };
            self.threads.get_mut(&tid).unwrap().check_pc = false;
            if !self.memory.has_breakpoints() {
                continue;
            }
            if let Some(pc) = self.pc(tid) {
                if self.memory.has_breakpoint(pc) {
                    if self.execute_in_place(tid) {
                        continue;
                    }
                    // Only a system call can keep a single step from ending: watch those.
                    let mut insn = [0u8; 2];
                    let syscall = self.memory.read(pc, &mut insn).is_ok() && insn == [0x0F, 0x05];
                    if self.start_step(tid, Some(pc)) {
                        self.step_over_since = syscall.then(std::time::Instant::now);
                        return;
                    }
                }
            }
        }
        self.resuming = false;
        self.step_over_since = None;
        self.resume_all_stopped();
    }

    /// A step over a breakpoint keeps the other threads stopped, so none can run past the
    /// lifted breakpoint. If the instruction is a system call that blocks (a `read` waiting
    /// for another thread, say), that would hang the program: after a moment of it, the others
    /// run on (they may miss that one breakpoint meanwhile) and the stepping thread is resumed
    /// when its step ends. Called by the monitor's polling while a step-over is under way, and
    /// only when no other thread still waits for a step over a breakpoint of its own.
    fn unblock_step_over(&mut self) {
        let Some(since) = self.step_over_since else { return };
        if !self.resuming || since.elapsed() < STEP_OVER_PATIENCE {
            return;
        }
        let stepping = self
            .threads
            .values()
            .find(|t| t.state == ThreadState::SingleStepping && t.step_over.is_some())
            .map(|t| t.tid);
        let Some(tid) = stepping else { return };
        if !procfs::in_syscall(self.pid, tid) {
            return;
        }
        let others_waiting = self
            .threads
            .values()
            .any(|t| t.check_pc && t.state.is_stopped() && t.state != ThreadState::StoppedExiting);
        if others_waiting {
            return;
        }
        trace!("thread {tid}: step over a breakpoint blocked in a system call; others resume");
        self.threads.get_mut(&tid).unwrap().resume_after_step = true;
        self.resuming = false;
        self.step_over_since = None;
        self.resume_all_stopped();
    }

    /// Resumes every stopped thread (the end of a continue).
    fn resume_all_stopped(&mut self) {
        let stopped: Vec<(i32, ThreadState, i32)> = self
            .threads
            .values()
            .filter(|t| t.state.is_stopped())
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
    fn execute_in_place(&mut self, tid: i32) -> bool {
        if !*EMULATE {
            return false;
        }
        let Ok(mut regs) = self.regs(tid) else { return false };
        if regs.eflags & x86::TF != 0 {
            return false; // the program single-steps itself: let the CPU trap
        }
        let Some(insn) = self.memory.decoded(regs.rip) else { return false };
        match x86::apply(&insn, &mut regs) {
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
    fn start_step(&mut self, tid: i32, over: Option<u64>) -> bool {
        if let Some(addr) = over {
            self.memory.lift(addr);
        }
        self.flush_regs(tid);
        let sig = {
            let t = self.threads.get_mut(&tid).unwrap();
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
    fn end_step(&mut self, tid: i32) {
        let Some(t) = self.threads.get_mut(&tid) else { return };
        t.stepping = false;
        if let Some(addr) = t.step_over.take() {
            self.memory.restore(addr);
        }
        if !self.threads.values().any(|t| t.stepping) {
            self.step_over_since = None;
        }
    }

    /// ptrace_dbg_step: one instruction of one stopped thread, the others staying stopped.
    /// Returns at once; the caller waits for the process to be Stopped again.
    pub fn step(&mut self, tid: i32) -> Result<()> {
        self.require_stopped()?;
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
        self.trigger = 0;
        self.set_run(RunState::Running);
        self.stopping_all = true;
        self.start_step(tid, over);
        self.check_all_stopped();
        Ok(())
    }

    /// Resumes one stopped thread with `sig`.
    fn resume(&mut self, tid: i32, state: ThreadState, sig: i32) {
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
        match ptrace::cont(tid, sig) {
            Ok(()) => self.set_state(tid, next),
            // Killed while stopped: it is on its way out, its exit status will come.
            Err(_) => self.set_state(tid, ThreadState::Exiting),
        }
    }

    /// Detaches every thread; the process runs on untraced with its pending signals.
    /// Must be called with the process stopped.
    pub fn detach(&mut self) -> Result<()> {
        self.require_stopped()?;
        if self.ever_had_breakpoints {
            let stopped: Vec<i32> =
                self.threads.values().filter(|t| t.state.is_stopped()).map(|t| t.tid).collect();
            for tid in stopped {
                self.flush_pending_trap(tid);
            }
            self.require_stopped()?; // a flush can turn up an exit
        }
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
        for child in std::mem::take(&mut self.early_children) {
            let _ = ptrace::detach(child, 0);
        }
        self.set_run(RunState::Detached);
        Ok(())
    }

    /// A thread interrupted right after it executed one of our int3s still has that SIGTRAP
    /// pending. Detached like that, it would die of it: the int3 is gone and its PC points one
    /// byte into an instruction. Let it take the trap now, while we trace it, and move its PC
    /// back. The trap is dequeued at once on the way back to user space, so the wait for this
    /// one thread is short; anything else it reports instead goes the usual way.
    fn flush_pending_trap(&mut self, tid: i32) -> Option<u64> {
        if !procfs::thread_signal_pending(self.pid, tid, libc::SIGTRAP) {
            return None;
        }
        let regs = self.regs(tid).ok()?;
        let addr = regs.rip.wrapping_sub(1);
        if !self.memory.has_breakpoint(addr) && !self.memory.was_removed(addr) {
            return None; // not ours: the program's own SIGTRAP, delivered in its time
        }
        let sig = self.threads[&tid].pending_signal;
        self.flush_regs(tid);
        if ptrace::cont(tid, 0).is_err() {
            return None;
        }
        match wait::waitpid(tid, libc::__WALL) {
            Ok(Some((_, wait::Status::Stopped { sig: libc::SIGTRAP, event: 0 }))) => {
                let mut regs = regs;
                regs.rip = addr;
                let _ = ptrace::set_regs(tid, &regs);
                trace!("thread {tid}: pending breakpoint trap at {addr:#x} taken");
                if let Some(t) = self.threads.get_mut(&tid) {
                    t.pending_signal = sig;
                    t.regs = Some(regs);
                    t.regs_dirty = false;
                    t.check_pc = true;
                }
                Some(addr)
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

    // ----- events --------------------------------------------------------------------------

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

    fn on_exit_status(&mut self, tid: i32, status: wait::Status) {
        self.expected_children.remove(&tid);
        self.early_children.remove(&tid);
        if !self.threads.contains_key(&tid) {
            return; // a thread exec removed, or a detached fork child: not ours any more
        }
        trace!("thread {tid}: wait status {status:?}");
        let was_stepping = self.threads[&tid].stepping;
        if was_stepping {
            self.end_step(tid); // put back the breakpoint its step lifted
        }
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
    fn on_unknown_stop(&mut self, tid: i32, sig: i32, event: i32) {
        let is_thread = procfs::status_field(tid, "Tgid") == Some(self.pid as i64);
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
        } else if self.expected_children.remove(&tid) {
            self.release_child(tid);
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
    fn release_child(&mut self, child: i32) {
        trace!("fork child {child}: detached");
        if self.vforking.is_empty() {
            self.memory.lift_all_in(child);
        }
        let _ = ptrace::detach(child, 0);
    }

    fn on_stop(&mut self, tid: i32, sig: i32, event: i32) {
        if self.killing {
            // Everything is dying: let each stop go so the exits can complete.
            let _ = ptrace::cont(tid, 0);
            self.set_state(tid, ThreadState::Exiting);
            return;
        }
        let (stepping, stale) = {
            let t = self.threads.get_mut(&tid).unwrap();
            (t.stepping, std::mem::take(&mut t.stale_step_trap))
        };
        let step_trap = event == 0 && sig == libc::SIGTRAP && self.is_step_trap(tid);
        if stepping {
            self.end_step(tid);
            if step_trap {
                self.on_step_done(tid);
                return;
            }
            // The step ended some other way; its trap may still be queued.
            self.threads.get_mut(&tid).unwrap().stale_step_trap = true;
        } else if stale && step_trap {
            trace!("thread {tid}: late trap of an interrupted step swallowed");
            self.resume_quietly(tid);
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
            0 => self.on_signal_stop(tid, sig),
            other => {
                trace!("thread {tid}: unexpected event {other}, resuming");
                let _ = ptrace::cont(tid, 0);
            }
        }
    }

    /// PTRACE_EVENT_STOP: our interrupt arrived, a new thread's first stop, or a group-stop
    /// (job control) when the signal is a stop signal.
    fn on_event_stop(&mut self, tid: i32, sig: i32) {
        let state = self.threads[&tid].state;
        match state {
            ThreadState::Stopping => {
                self.set_state(tid, ThreadState::Stopped);
                self.set_cause(tid, Cause::of(CauseKind::Stopped));
                // Interrupted right after executing one of our int3s, its trap still queued:
                // report the hit at this stop, its PC on the breakpoint, as gdb does.
                if self.ever_had_breakpoints {
                    if let Some(addr) = self.flush_pending_trap(tid) {
                        if self.memory.has_breakpoint(addr) {
                            self.set_state(tid, ThreadState::StoppedBreakpoint);
                            self.set_cause(tid, Cause::breakpoint(addr));
                        }
                    }
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
                let _ = ptrace::cont(tid, 0);
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

    /// A plain signal-delivery stop.
    fn on_signal_stop(&mut self, tid: i32, sig: i32) {
        if sig == libc::SIGTRAP && self.on_int3(tid) {
            return;
        }
        self.event_stop(tid, ThreadState::StoppedSignal, Cause::signal(sig));
        if let Some(t) = self.threads.get_mut(&tid) {
            t.pending_signal = sig;
        }
    }

    /// Whether the thread's SIGTRAP is the end of our single step (si_code TRAP_TRACE).
    /// The si_codes a single step ends with on x86-64: TRAP_TRACE after an instruction,
    /// TRAP_BRKPT after a `syscall` (the syscall-exit step report), and SIGTRAP itself when the
    /// step entered a signal handler (ptrace_notify from signal delivery).
    fn is_step_trap(&self, tid: i32) -> bool {
        matches!(ptrace::siginfo(tid), Ok(info)
            if matches!(info.code, ptrace::TRAP_TRACE | ptrace::TRAP_BRKPT | libc::SIGTRAP))
    }

    /// Our single step of `tid` completed.
    fn on_step_done(&mut self, tid: i32) {
        self.set_state(tid, ThreadState::Stopped);
        if std::mem::take(&mut self.threads.get_mut(&tid).unwrap().resume_after_step) {
            // Stepped over a breakpoint while the others ran: it runs on too, unless an all-stop
            // began meanwhile.
            self.resume_quietly(tid);
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

    /// A SIGTRAP from an `int3` (si_code SI_KERNEL, the byte before the PC): one of our
    /// breakpoints (reported, PC moved back onto it), or one removed while this trap was pending
    /// (swallowed, PC moved back). Returns false for any other SIGTRAP: the program's own.
    fn on_int3(&mut self, tid: i32) -> bool {
        if !self.ever_had_breakpoints {
            return false;
        }
        match ptrace::siginfo(tid) {
            Ok(info) if info.code == ptrace::SI_KERNEL => {}
            _ => return false,
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
    fn resume_quietly(&mut self, tid: i32) {
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
        if ptrace::cont(tid, 0).is_ok() {
            self.set_state(tid, ThreadState::Running);
        } else {
            self.set_state(tid, ThreadState::Exiting);
        }
    }

    /// Writes registers changed only in our copy (`regs_dirty`) to the kernel. Must precede
    /// every resume of a thread.
    fn flush_regs(&mut self, tid: i32) {
        let Some(t) = self.threads.get_mut(&tid) else { return };
        if let (true, Some(regs)) = (t.regs_dirty, t.regs) {
            t.regs_dirty = false;
            if let Err(e) = ptrace::set_regs(tid, &regs) {
                trace!("thread {tid}: writing back registers failed: {e}");
            }
        }
    }

    /// The PC of a stopped thread.
    fn pc(&mut self, tid: i32) -> Option<u64> {
        self.regs(tid).ok().map(|r| r.rip)
    }

    /// The registers of a stopped thread: from this stop's cache, or read (and cached).
    fn regs(&mut self, tid: i32) -> std::result::Result<libc::user_regs_struct, Errno> {
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
    fn on_new_task(&mut self, tid: i32, event: i32) {
        let new = ptrace::event_msg(tid).unwrap_or(0) as i32;
        trace!("thread {tid}: event {event}, new task {new}");
        let is_thread = event == ptrace::EVENT_CLONE
            && procfs::status_field(new, "Tgid").map_or(true, |tgid| tgid == self.pid as i64);
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
        if new > 0 {
            if self.early_children.remove(&new) {
                self.release_child(new);
            } else {
                self.expected_children.insert(new);
            }
        }
        // The parent goes on (unless an all-stop wants it).
        self.resume_quietly(tid);
    }

    /// PTRACE_EVENT_EXEC: every other thread is gone and the exec'ing thread now has the
    /// leader's tid. Rebuild the table around it.
    fn on_exec(&mut self, tid: i32) {
        let former = ptrace::event_msg(tid).unwrap_or(tid as u64) as i32;
        trace!("thread {former}: exec, now thread {tid}");
        let others: Vec<i32> = self.threads.keys().copied().filter(|&t| t != tid).collect();
        for t in others {
            self.remove_thread(t);
        }
        self.leader_untraced = false;
        // A new address space: the old /proc/PID/mem and every breakpoint address mean nothing
        // in it any more.
        self.memory.reset_for_exec();
        self.vforking.clear();
        self.set_state(tid, ThreadState::Running);
        if self.run == RunState::Running {
            self.trigger = tid;
        }
        self.event_stop(tid, ThreadState::Stopped, Cause::of(CauseKind::Exec));
    }

    /// During an exec by one thread, the kernel kills every other thread and the exec'ing one
    /// waits in execve until they are gone. If an all-stop holds them in their exit stops while
    /// waiting for the exec'ing thread to stop, neither can make progress: let the dying ones go.
    /// Called on every exit stop, and polled by the monitor while `needs_poll`.
    pub fn release_threads_killed_by_exec(&mut self) {
        if !self.needs_poll() {
            return;
        }
        let pid = self.pid;
        let exec_pending = self
            .threads
            .values()
            .filter(|t| t.state == ThreadState::Stopping)
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
        self.memory.add_breakpoint(addr)?;
        trace!("breakpoint {addr:#x}: inserted ({} set)", self.memory.breakpoint_count());
        Ok(())
    }

    /// Removes a breakpoint (process stopped).
    pub fn remove_breakpoint(&mut self, addr: u64) -> Result<()> {
        self.require_stopped()?;
        self.memory.remove_breakpoint(addr)?;
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
        let t = self.threads.get_mut(&tid).unwrap();
        // Its PC may now be on a breakpoint: the next continue must check.
        t.check_pc = true;
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
