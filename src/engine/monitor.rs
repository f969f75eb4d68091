//! The monitor thread: one per *family* of traced processes (a process and the children taken
//! from it with `FOLLOW_FORK`), the only thread that issues ptrace calls for any of them.
//!
//! Why one thread per family, not one per process: a child the kernel auto-attaches at a fork
//! is traced by the same kernel *thread* as its parent (`ptrace_init_task` links it to the
//! tracer task), every later ptrace request on it must come from that thread
//! (`ptrace_check_attach`), and only that thread's `waitpid(.., __WNOTHREAD)` sees its stops.
//! No call hands a tracee to another thread. The alternative, detaching the child stopped and
//! seizing it again from a new monitor, leaves a SIGSTOP the program can see (its parent's
//! `wait(WUNTRACED)`, a SIGCONT in the gap lets it run untraced and past its breakpoints) and
//! loses PTRACE_O_EXITKILL. So a family shares one thread, one queue and one doorbell; each
//! process keeps its own `Tracer` (thread table, all-stop, breakpoints) and its own `Shared`
//! (snapshot, event fd, closed state): one process stops and continues on its own. Host
//! threads stay bounded: one monitor thread (and one doorbell process) per family, whatever
//! its size: a launched program whose 99 children are followed costs 1 thread and 1 helper
//! process, where one monitor per process would cost 100 of each.
//!
//! Wait reports are routed to the process that knows the task (`Tracer::knows`); a task nobody
//! knows yet is a new thread (by its Tgid) or a fork child whose parent's event is still to
//! come (by its PPid). A process that is over leaves the family once the children it was
//! letting go have made their first stop (`Tracer::children_pending`); the thread ends with
//! the last process.
//!
//! API calls reach it as jobs (closures over one process's `Tracer`, tagged with that
//! process's `Shared::id`) on the family's queue and wait for the answer; a continue only
//! queues its job (`Shared::post_continue`), its checks made on the snapshot, which shows the
//! process running from then on.
//! It sleeps in one of two places:
//! - on the queue's condition variable, when no traced thread can report anything (all
//!   stopped): a queued job wakes it directly;
//! - in `waitpid(-1, __WALL | __WNOTHREAD | WUNTRACED)`, when something runs. `__WNOTHREAD`
//!   limits the wait to this thread's own tracees and children, so the host's children are never
//!   reaped. A job queued meanwhile must wake it: the caller "rings the doorbell".
//!
//! The doorbell is a tiny child process this thread forks (`sys::spawn::fork_doorbell`).
//! Ringing is `kill(doorbell, SIGSTOP)`; the stop is reported to our waitpid, and the monitor
//! sends SIGCONT *before* draining the queue (the other order loses a ring that arrives between
//! the drain and the SIGCONT: SIGCONT discards a pending SIGSTOP). We chose it over the other
//! wake-up, a SIGSTOP sent to a running traced thread, because it never touches the tracee:
//! there is no stray SIGSTOP to swallow later or to leave pending at detach, and a zombie
//! thread, which cannot be signalled, cannot make a wake-up fail. It costs one sleeping process
//! per family, which dies with this thread (PR_SET_PDEATHSIG) and is reaped by it.
//!
//! The host's threads never block on each other: queries read a mutex-guarded snapshot that the
//! monitor publishes; run-state waits (wait_stop, stop, kill) wait on the snapshot's condvar.

use super::log::trace;
use super::thread::{ThreadInfo, ThreadState};
use super::tracer::{ExitStatus, RunState, Tracer};
use super::{Error, Result};
use crate::sys::{procfs, signal, spawn, wait};
use nix::sys::eventfd::{EfdFlags, EventFd};
use std::collections::VecDeque;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// How often the monitor looks again in the rare states it must poll (`Tracer::needs_poll`).
const POLL_INTERVAL: Duration = Duration::from_micros(200);

/// The most wait statuses one sweep collects before the loop looks at its queue again.
const SWEEP_BATCH: usize = 64;

/// A unit of work for the monitor thread.
pub type Job = Box<dyn FnOnce(&mut Tracer) + Send>;

struct Queue {
    /// Jobs, each with the `Shared::id` of the process it is for.
    jobs: VecDeque<(u64, Job)>,
    /// The monitor is (about to be) blocked in waitpid: a new job must ring the doorbell.
    in_wait: bool,
    doorbell: i32,
    /// The monitor has ended; the error new calls get.
    closed: Option<Error>,
}

/// What the processes of one family share: the monitor's queue, and its thread (joined when
/// the last process of the family is dropped).
pub struct Family {
    queue: Mutex<Queue>,
    queue_cv: Condvar,
    /// The CPU the monitor thread last ran on (before it last went to sleep or to its
    /// events): a caller on that same CPU does not watch for it (`Spin::begin`).
    monitor_cpu: std::sync::atomic::AtomicI32,
    /// Jobs queued so far: what the monitor's watch of the queue looks at (no lock).
    enqueued: AtomicU64,
}

impl Family {
    fn new() -> Arc<Family> {
        Arc::new(Family {
            queue: Mutex::new(Queue {
                jobs: VecDeque::new(),
                in_wait: false,
                doorbell: 0,
                closed: None,
            }),
            queue_cv: Condvar::new(),
            monitor_cpu: std::sync::atomic::AtomicI32::new(-1),
            enqueued: AtomicU64::new(0),
        })
    }

    /// Notes the CPU the monitor thread runs on (monitor thread).
    fn note_monitor_cpu(&self) {
        self.monitor_cpu.store(crate::sys::time::current_cpu(), Ordering::Relaxed);
    }

    /// Whether the calling thread runs on the CPU the monitor last ran on: watching there
    /// would only keep the monitor (and the tracee it resumes) from running.
    fn on_monitor_cpu(&self) -> bool {
        let cpu = self.monitor_cpu.load(Ordering::Relaxed);
        cpu >= 0 && crate::sys::time::current_cpu() == cpu
    }
}

/// The monitor thread of a family, joined when the last handle goes. Only API threads hold it
/// (never the monitor thread itself, which would then join itself).
pub struct FamilyThread(Mutex<Option<std::thread::JoinHandle<()>>>);

impl Drop for FamilyThread {
    fn drop(&mut self) {
        if let Some(thread) = lock(&self.0).take() {
            let _ = thread.join();
        }
    }
}

/// Numbers the processes of every family (`Shared::id`).
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

struct EventFdState {
    used: bool,
    signalled: bool,
    /// The process is not running (as last published).
    quiet: bool,
    /// Tracepoint records wait to be read (`engine::records`).
    records: bool,
}

/// What queries see, published by the monitor.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub run: RunState,
    pub trigger: i32,
    pub threads: Vec<ThreadInfo>,
    pub exit: Option<ExitStatus>,
}

/// State shared between the monitor thread and the API threads, for one process.
pub struct Shared {
    /// This process among the family's (the tag of its jobs).
    id: u64,
    family: Arc<Family>,
    /// This process has left the family (exited or detached); the error new calls get.
    closed: Mutex<Option<Error>>,
    snap: Mutex<Snapshot>,
    snap_cv: Condvar,
    /// Host threads sleeping on `snap_cv` (changed under `snap`'s lock): a publication with
    /// none skips the notify, a futex system call per stop.
    snap_waiters: AtomicUsize,
    /// Continues queued so far (`post_continue`; changed under `snap`'s lock). A publication
    /// made before the monitor ran the last of them shows the process resumed.
    continues: AtomicU64,
    /// Whether callers watch for a stop (`wait_for`) or for the monitor's answer to a call
    /// before sleeping (`Spin`): two patterns, learnt apart.
    spin_stop: Spin,
    spin_answer: Spin,
    event_fd: EventFd,
    /// Counts publications, so that a waiter can watch for the next one without the lock.
    generation: AtomicU64,
    /// The event fd's state: whether anyone asked for it (until then it is left alone, saving
    /// two system calls per stop) and whether it currently holds a count.
    event_signalled: Mutex<EventFdState>,
}

/// Locks a mutex, ignoring poisoning: a panic was already turned into an error at the job that
/// raised it, and the data under these locks is always left consistent between statements.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Shared {
    /// The shared state of a new process of `family`.
    pub(crate) fn new(family: Arc<Family>) -> Result<Arc<Shared>> {
        let event_fd = EventFd::from_flags(EfdFlags::EFD_CLOEXEC | EfdFlags::EFD_NONBLOCK)
            .map_err(|e| Error::os("eventfd", e))?;
        Ok(Arc::new(Shared {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            family,
            closed: Mutex::new(None),
            snap: Mutex::new(Snapshot {
                run: RunState::Running,
                trigger: 0,
                threads: Vec::new(),
                exit: None,
            }),
            snap_cv: Condvar::new(),
            snap_waiters: AtomicUsize::new(0),
            continues: AtomicU64::new(0),
            spin_stop: Spin::default(),
            spin_answer: Spin::default(),
            event_fd,
            event_signalled: Mutex::new(EventFdState {
                used: false,
                signalled: false,
                quiet: false,
                records: false,
            }),
            generation: AtomicU64::new(0),
        }))
    }

    /// Publishes a new snapshot (monitor thread) and keeps the event fd readable exactly while
    /// the process is not running. `continues`: how many of the queued continues the monitor
    /// has run; while one is still queued, the process shows as resumed (`show_resumed`).
    pub(crate) fn publish(
        &self,
        run: RunState,
        trigger: i32,
        threads: Vec<ThreadInfo>,
        exit: Option<ExitStatus>,
        continues: u64,
    ) {
        let mut snap = lock(&self.snap);
        *snap = Snapshot { run, trigger, threads, exit };
        if continues < self.continues.load(Ordering::Relaxed) {
            show_resumed(&mut snap);
        }
        let run = snap.run;
        self.sync_event_fd(run);
        self.generation.fetch_add(1, Ordering::Release);
        // Read under the lock: a waiter counts itself under it before it looks at the snapshot,
        // so either it is counted here or it sees this publication. Waiters wait for the process
        // to be quiet (`wait_for`): a publication of a running process wakes none of them.
        let waiters = self.snap_waiters.load(Ordering::Relaxed);
        drop(snap);
        if waiters > 0 && run != RunState::Running {
            self.snap_cv.notify_all();
        }
    }

    /// Makes the event fd readable exactly while the process is not running or tracepoint
    /// records wait (once used).
    fn sync_event_fd(&self, run: RunState) {
        let mut ev = lock(&self.event_signalled);
        ev.quiet = run != RunState::Running;
        Self::sync_event_fd_locked(&self.event_fd, &mut ev);
    }

    /// Tracepoint records began or ceased to wait (called under the record buffer's lock).
    pub(crate) fn set_records_waiting(&self, waiting: bool) {
        let mut ev = lock(&self.event_signalled);
        ev.records = waiting;
        Self::sync_event_fd_locked(&self.event_fd, &mut ev);
    }

    fn sync_event_fd_locked(event_fd: &EventFd, ev: &mut EventFdState) {
        if !ev.used {
            return;
        }
        let readable = ev.quiet || ev.records;
        if readable && !ev.signalled {
            let _ = event_fd.write(1);
            ev.signalled = true;
        } else if !readable && ev.signalled {
            let _ = event_fd.read();
            ev.signalled = false;
        }
    }

    /// A copy of the current snapshot.
    pub fn snapshot(&self) -> Snapshot {
        lock(&self.snap).clone()
    }

    /// Runs `f` on the current snapshot under its lock (no copy).
    pub fn read<R>(&self, f: impl FnOnce(&Snapshot) -> R) -> R {
        f(&lock(&self.snap))
    }

    /// Waits until `done(snapshot)` holds, the deadline passes, or the process has left the
    /// family (`close`); returns the answer, or else the last snapshot (`is_closed` tells the
    /// last case). `done` must not hold while the process is running: only publications of a
    /// process that is not running (and the end of the process's monitor) wake waiters.
    pub fn wait_for<R>(
        &self,
        deadline: Option<Instant>,
        done: impl Fn(&Snapshot) -> Option<R>,
    ) -> std::result::Result<R, Snapshot> {
        let mut seen = self.generation.load(Ordering::Acquire);
        if let Some(r) = done(&lock(&self.snap)) {
            return Ok(r);
        }
        // Watch the publication counter briefly before sleeping: a stop is often microseconds
        // away, and seeing it without sleeping saves the wake-up (not on one CPU: `spin_for`).
        // A publication that does not satisfy `done` (the process resumed by a queued
        // continue) does not end the watch.
        if self.spin_stop.begin(self.family.on_monitor_cpu()) {
            let start = Instant::now();
            while start.elapsed() < SPIN_LIMIT && deadline.map_or(true, |d| Instant::now() < d) {
                let now_seen = self.generation.load(Ordering::Acquire);
                if now_seen != seen {
                    seen = now_seen;
                    if let Some(r) = done(&lock(&self.snap)) {
                        self.spin_stop.end(true);
                        return Ok(r);
                    }
                }
                watch_pause();
            }
            self.spin_stop.end(false);
        }
        let mut snap = lock(&self.snap);
        self.snap_waiters.fetch_add(1, Ordering::Relaxed);
        let r = loop {
            if let Some(r) = done(&snap) {
                break Ok(r);
            }
            // Closed with the snapshot still showing it running: the monitor failed (a panic)
            // and nothing will publish again. (Checked under `snap`'s lock: `close` takes it
            // before notifying, so its notify cannot fall between this check and the wait.)
            if self.is_closed() {
                break Err(snap.clone());
            }
            match deadline {
                None => snap = self.snap_cv.wait(snap).unwrap_or_else(|p| p.into_inner()),
                Some(d) => {
                    let now = Instant::now();
                    if now >= d {
                        break Err(snap.clone());
                    }
                    snap = self
                        .snap_cv
                        .wait_timeout(snap, d - now)
                        .unwrap_or_else(|p| p.into_inner())
                        .0;
                }
            }
        };
        self.snap_waiters.fetch_sub(1, Ordering::Relaxed);
        r
    }

    /// The raw event fd (owned by `Shared`).
    pub fn event_fd(&self) -> std::os::fd::RawFd {
        {
            let snap = lock(&self.snap);
            lock(&self.event_signalled).used = true;
            self.sync_event_fd(snap.run);
        }
        use std::os::fd::AsRawFd;
        self.event_fd.as_raw_fd()
    }

    /// Runs `f` on the monitor thread and returns its answer. Any host thread may call this.
    pub fn call<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Tracer) -> Result<R> + Send + 'static,
    ) -> Result<R> {
        let (tx, rx) = mpsc::sync_channel::<Result<R>>(1);
        self.submit(Box::new(move |t: &mut Tracer| {
            let r = catch_unwind(AssertUnwindSafe(|| f(t)))
                .unwrap_or_else(|p| Err(Error::Internal(panic_text(&p))));
            // Publish before answering: the caller's next query must see what this job did.
            t.publish();
            let _ = tx.send(r);
        }))?;
        if let Some(r) = self.spin_for(&rx) {
            return r;
        }
        rx.recv().unwrap_or_else(|_| Err(self.closed_error()))
    }

    /// Runs `f` (which starts an all-stop, a step or a kill) on the monitor thread and waits
    /// until the process is no longer running; returns the run state it settled in. The
    /// answer comes when the stop completes, so the caller is woken once, where `call` and
    /// then `wait_for` woke it twice. `Error::Timeout` after `timeout`.
    pub fn call_until_quiet(
        &self,
        timeout: Duration,
        f: impl FnOnce(&mut Tracer) -> Result<()> + Send + 'static,
    ) -> Result<RunState> {
        let (tx, rx) = mpsc::sync_channel::<Result<RunState>>(1);
        self.submit(Box::new(move |t: &mut Tracer| {
            let r = catch_unwind(AssertUnwindSafe(|| f(t)))
                .unwrap_or_else(|p| Err(Error::Internal(panic_text(&p))));
            t.publish();
            match r {
                Err(e) => drop(tx.send(Err(e))),
                Ok(()) if t.run_state() != RunState::Running => drop(tx.send(Ok(t.run_state()))),
                Ok(()) => t.when_quiet(tx),
            }
        }))?;
        if let Some(r) = self.spin_for(&rx) {
            return r;
        }
        match rx.recv_timeout(timeout) {
            Ok(r) => r,
            Err(mpsc::RecvTimeoutError::Timeout) => Err(Error::Timeout(format!(
                "the process did not stop within {}s",
                timeout.as_secs()
            ))),
            Err(mpsc::RecvTimeoutError::Disconnected) => Err(self.closed_error()),
        }
    }

    /// Queues a continue (`f`, given the number of this continue) for the monitor without
    /// waiting for it: a caller that continues and then waits for the next stop is woken once
    /// per stop instead of twice, which on one CPU is two context switches fewer. The checks
    /// the monitor would make are made here, on the snapshot: it is stopped, or the error is
    /// the one `Tracer::require_stopped` gives. From here until the monitor has run the job,
    /// the snapshot shows the process resumed (`show_resumed`), so no caller sees the stop
    /// that this continue ends, and a second continue fails as it would after the first had
    /// run. Jobs run in order: whatever a caller queues next runs after this continue.
    pub(crate) fn post_continue(
        &self,
        f: impl FnOnce(&mut Tracer, u64) + Send + 'static,
    ) -> Result<()> {
        let mut snap = lock(&self.snap);
        snap.run.require_stopped()?;
        let n = self.continues.load(Ordering::Relaxed) + 1;
        let notify = self.enqueue(Box::new(move |t: &mut Tracer| {
            let _ = catch_unwind(AssertUnwindSafe(|| f(t, n)));
        }))?;
        self.continues.store(n, Ordering::Relaxed);
        show_resumed(&mut snap);
        self.sync_event_fd(RunState::Running);
        self.generation.fetch_add(1, Ordering::Release);
        // The monitor is woken once the snapshot is released: its job ends in a publication.
        drop(snap);
        if notify {
            self.family.queue_cv.notify_one();
        }
        Ok(())
    }

    /// Queues a job for the monitor without waiting for it (nobody needs its answer).
    pub(crate) fn post(&self, job: Job) {
        let _ = self.submit(Box::new(move |t: &mut Tracer| {
            let _ = catch_unwind(AssertUnwindSafe(|| job(t)));
        }));
    }

    /// Queues a job for the monitor and wakes it: through the condition variable when it
    /// sleeps on the queue, through the doorbell when it sleeps in waitpid.
    fn submit(&self, job: Job) -> Result<()> {
        if self.enqueue(job)? {
            self.family.queue_cv.notify_one();
        }
        Ok(())
    }

    /// Queues a job; rings the doorbell if the monitor sleeps in waitpid. True: it may sleep
    /// on the queue, and the caller must notify `queue_cv` once it holds no lock (the woken
    /// monitor, on one CPU, preempts the caller at once and would block on a lock the caller
    /// still holds: two more switches).
    fn enqueue(&self, job: Job) -> Result<bool> {
        if let Some(e) = &*lock(&self.closed) {
            return Err(e.clone());
        }
        let mut q = lock(&self.family.queue);
        if let Some(e) = &q.closed {
            return Err(e.clone());
        }
        q.jobs.push_back((self.id, job));
        self.family.enqueued.fetch_add(1, Ordering::Release);
        if q.in_wait {
            // Under the queue's lock, so that the doorbell cannot be replaced meanwhile.
            // ESRCH: the doorbell died; its exit wakes the monitor anyway, which then starts a
            // new one and drains the queue.
            let _ = signal::kill(q.doorbell, libc::SIGSTOP);
            return Ok(false);
        }
        Ok(true)
    }

    /// The error calls get once the process has left the family (or the monitor has ended).
    pub fn closed_error(&self) -> Error {
        if let Some(e) = &*lock(&self.closed) {
            return e.clone();
        }
        lock(&self.family.queue).closed.clone().unwrap_or(Error::Exited)
    }

    /// Whether the process has left the family (or the monitor has ended).
    pub fn is_closed(&self) -> bool {
        lock(&self.closed).is_some() || lock(&self.family.queue).closed.is_some()
    }

    /// The process leaves the family: new calls get `reason`; waiters are woken.
    fn close(&self, reason: Error) {
        let mut closed = lock(&self.closed);
        if closed.is_none() {
            *closed = Some(reason);
        }
        drop(closed);
        // A waiter checks `closed` under the snapshot's lock and sleeps releasing it: taking
        // the lock once here orders this notify after any such check.
        drop(lock(&self.snap));
        self.snap_cv.notify_all();
    }

    /// The family this process belongs to (a child taken from it joins it).
    pub(crate) fn family(&self) -> Arc<Family> {
        self.family.clone()
    }
}

/// What a snapshot shows while a continue is queued (`Shared::post_continue`): the process
/// running, its stopped threads running (one in its exit stop on its way out), no registers.
/// An exited or detached process stays so.
fn show_resumed(snap: &mut Snapshot) {
    if matches!(snap.run, RunState::Exited | RunState::Detached) {
        return;
    }
    snap.run = RunState::Running;
    snap.trigger = 0;
    for t in &mut snap.threads {
        if t.state == ThreadState::StoppedExiting {
            t.state = ThreadState::Exiting;
        } else if t.state.is_stopped() {
            t.state = ThreadState::Running;
        }
        t.regs = None;
    }
}

/// Whether callers watch for the monitor's answer or stop briefly before sleeping on it, per
/// process. Answers usually come within microseconds, and on a machine with a CPU to spare,
/// watching saves the wake-up (a futex and a context switch per call). It does not pay when
/// the CPU is not spare after all or when the process runs long between stops: the watch then
/// only delays the threads it waits for, or burns a CPU for nothing. So a caller never
/// watches on the CPU the monitor last ran on (the scheduler put them together, other work
/// keeping the other CPU busy), and watches that saw nothing, two or more in a row, make the
/// next ones skip the watch (1, 3, 7 ... up to 255 of them); one that saw its answer makes the
/// next one watch again. A lone miss changes nothing: a loop whose waits alternate between a
/// long one and a short one (a program that forks, then exits at once) keeps watching.
/// Never on one CPU.
#[derive(Default)]
struct Spin {
    /// Watches in a row that saw nothing (at most 9).
    misses: std::sync::atomic::AtomicU32,
    /// Waits still to skip the watch.
    skip: std::sync::atomic::AtomicU32,
}

impl Spin {
    /// Whether to watch now (counts a skipped wait); never when `same_cpu`: the watcher is on
    /// the CPU of the thread it waits for.
    fn begin(&self, same_cpu: bool) -> bool {
        if !*SPIN || same_cpu {
            return false;
        }
        let skip = self.skip.load(Ordering::Relaxed);
        if skip > 0 {
            self.skip.store(skip - 1, Ordering::Relaxed);
            return false;
        }
        true
    }

    /// How the watch went.
    fn end(&self, saw: bool) {
        if saw {
            self.misses.store(0, Ordering::Relaxed);
        } else {
            let misses = (self.misses.load(Ordering::Relaxed) + 1).min(9);
            self.misses.store(misses, Ordering::Relaxed);
            self.skip.store((1 << (misses - 1)) - 1, Ordering::Relaxed);
        }
    }
}

impl Shared {
    /// Watches briefly for an answer from the monitor (`Spin`).
    fn spin_for<T>(&self, rx: &mpsc::Receiver<T>) -> Option<T> {
        if !self.spin_answer.begin(self.family.on_monitor_cpu()) {
            return None;
        }
        let start = Instant::now();
        while start.elapsed() < SPIN_LIMIT {
            match rx.try_recv() {
                Ok(v) => {
                    self.spin_answer.end(true);
                    return Some(v);
                }
                Err(mpsc::TryRecvError::Empty) => watch_pause(),
                Err(mpsc::TryRecvError::Disconnected) => return None,
            }
        }
        self.spin_answer.end(false);
        None
    }
}

/// Whether callers may spin briefly for the monitor: only with more than one CPU to run on.
static SPIN: once_cell::sync::Lazy<bool> = once_cell::sync::Lazy::new(|| {
    std::env::var_os("PTRACE_DBG_NO_SPIN").is_none()
        && std::thread::available_parallelism().is_ok_and(|n| n.get() > 1)
});

/// Whether the process may run on more than one CPU (as when it started), so that host
/// threads may spin for the monitor and be woken early (`Records::push`).
pub(crate) fn may_spin() -> bool {
    *SPIN
}

/// One beat of a watch: gives the CPU to any other thread that is ready to run on it (the
/// monitor, the tracee or a caller the scheduler placed here), and returns at once when none
/// is. A plain busy-wait would keep such a thread waiting for the rest of the watch.
fn watch_pause() {
    std::thread::yield_now();
}

/// How long a caller watches for the monitor's answer before sleeping on it.
const SPIN_LIMIT: Duration = Duration::from_micros(50);

pub(crate) fn panic_text(p: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        format!("panic: {s}")
    } else if let Some(s) = p.downcast_ref::<String>() {
        format!("panic: {s}")
    } else {
        "panic".to_string()
    }
}

/// A process's link to its family's monitor thread.
pub struct Monitor {
    pub shared: Arc<Shared>,
    /// The family's thread, joined when the last process of the family is dropped.
    pub thread: Arc<FamilyThread>,
}

/// How the monitor begins: attach to a pid, or launch a held child.
pub enum Start {
    Attach(i32),
    Launch(spawn::LaunchSpec),
}

/// Starts a monitor thread for a new family, runs the start-up on it and returns once that
/// succeeded (the process may still be collecting its first stops) or failed (the monitor has
/// ended).
pub fn start(start: Start) -> Result<(Monitor, i32, bool)> {
    let shared = Shared::new(Family::new())?;
    let (tx, rx) = mpsc::sync_channel::<Result<i32>>(1);
    let shared2 = shared.clone();
    let launched = matches!(start, Start::Launch(_));
    let thread = std::thread::Builder::new()
        .name("ptrace_dbg-mon".into())
        .spawn(move || monitor_main(shared2, start, tx))
        .map_err(|e| Error::Internal(format!("cannot start the monitor thread: {e}")))?;
    match rx.recv() {
        Ok(Ok(pid)) => {
            let thread = Arc::new(FamilyThread(Mutex::new(Some(thread))));
            Ok((Monitor { shared, thread }, pid, launched))
        }
        Ok(Err(e)) => {
            let _ = thread.join();
            Err(e)
        }
        Err(_) => {
            let _ = thread.join();
            Err(Error::Internal("the monitor thread ended during start-up".into()))
        }
    }
}

fn monitor_main(shared: Arc<Shared>, start: Start, started: mpsc::SyncSender<Result<i32>>) {
    signal::block_all_in_this_thread();
    let family = shared.family();
    let doorbell = match spawn::fork_doorbell() {
        Ok(pid) => pid,
        Err(e) => {
            let _ = started.send(Err(Error::os("fork(doorbell)", e)));
            return;
        }
    };
    lock(&family.queue).doorbell = doorbell;
    let mut mon = MonitorLoop { family, watch: Spin::default(), doorbell, members: Vec::new() };
    let tracer = match mon.begin(&shared, start) {
        Ok(t) => t,
        Err(e) => {
            shared.close(e.clone());
            mon.close(e.clone());
            let _ = started.send(Err(e));
            return;
        }
    };
    let _ = started.send(Ok(tracer.pid()));
    mon.members.push(tracer);
    let outcome = catch_unwind(AssertUnwindSafe(|| mon.run()));
    let outcome_ok = outcome.is_ok();
    let reason = match outcome {
        Ok(()) => Error::Exited,
        Err(p) => Error::Internal(format!("the monitor thread failed: {}", panic_text(&p))),
    };
    for t in std::mem::take(&mut mon.members) {
        // A process detached as the loop ended is detached, not exited (`leave_reason`); a
        // panic is the same for all.
        let why = if outcome_ok { leave_reason(&t) } else { reason.clone() };
        t.shared().close(why);
    }
    mon.close(reason);
}

/// Why a process left the family: the error its later calls get.
fn leave_reason(t: &Tracer) -> Error {
    match t.run_state() {
        RunState::Detached => Error::BadState("the process was detached".into()),
        _ => Error::Exited,
    }
}

struct MonitorLoop {
    family: Arc<Family>,
    /// The monitor's own brief watch of the queue before it sleeps on it.
    watch: Spin,
    doorbell: i32,
    /// The family's processes; one that is over stays until the children it lets go have
    /// made their first stop.
    members: Vec<Tracer>,
}

impl MonitorLoop {
    fn begin(&mut self, shared: &Arc<Shared>, start: Start) -> Result<Tracer> {
        match start {
            Start::Attach(pid) => {
                let mut t = Tracer::new(pid, false, shared.clone());
                if let Err(e) = t.attach() {
                    t.abandon();
                    return Err(e);
                }
                t.publish();
                Ok(t)
            }
            Start::Launch(spec) => {
                let mut child = spawn::fork_held(&spec).map_err(|e| Error::os("fork", e))?;
                let mut t = Tracer::new(child.pid, true, shared.clone());
                t.launch(&mut child)?;
                t.publish();
                Ok(t)
            }
        }
    }

    /// Publishes what changed, adds the children taken, and lets the processes that are over
    /// leave the family (closing their handles' `Shared`).
    fn settle(&mut self) {
        let mut i = 0;
        while i < self.members.len() {
            let adopted = self.members[i].take_adopted();
            self.members.extend(adopted);
            let t = &mut self.members[i];
            t.publish_settled();
            if t.finished() {
                if !t.shared().is_closed() {
                    t.shared().close(leave_reason(t));
                }
                if !t.children_pending() {
                    let t = self.members.swap_remove(i);
                    trace!("process {}: leaves the family", t.pid());
                    continue;
                }
            }
            i += 1;
        }
    }

    fn any(&self, f: impl Fn(&Tracer) -> bool) -> bool {
        self.members.iter().any(f)
    }

    /// The loop: collect events, run jobs, sleep; until every process of the family is over.
    fn run(&mut self) {
        loop {
            self.settle();
            if self.members.is_empty() {
                return;
            }
            let jobs: Vec<(u64, Job)> = lock(&self.family.queue).jobs.drain(..).collect();
            if !jobs.is_empty() {
                // Woken with everything stopped, events may still have come meanwhile (a
                // SIGKILL takes stopped threads to their exit stops): collect them before the
                // jobs look at the table. Not once every process is over: a launched program
                // we let go is still this thread's child, and its exit status is the host's.
                if self.any(|t| !t.finished()) {
                    self.sweep();
                    self.settle();
                }
                for (id, job) in jobs {
                    // A job for a process that has left is dropped: its caller gets the
                    // process's `closed_error`.
                    if let Some(t) = self.members.iter_mut().find(|t| t.shared().id == id) {
                        job(t);
                        t.publish();
                    }
                }
                continue;
            }
            if self.any(|t| t.needs_poll()) || self.doorbell <= 0 {
                // Without a doorbell (none could be forked) nothing could wake a blocking
                // waitpid for a request: poll instead, and keep trying to get one.
                if self.doorbell <= 0 {
                    self.new_doorbell();
                }
                self.sweep();
                for t in &mut self.members {
                    t.poll_tick();
                    t.publish_settled();
                }
                let q = lock(&self.family.queue);
                if q.jobs.is_empty() {
                    let _ = self.family.queue_cv.wait_timeout(q, POLL_INTERVAL);
                }
            } else if self.any(|t| t.may_report()) {
                if self.collect_stops() {
                    continue;
                }
                {
                    let mut q = lock(&self.family.queue);
                    if !q.jobs.is_empty() {
                        continue;
                    }
                    q.in_wait = true;
                }
                self.family.note_monitor_cpu();
                let r = wait::waitpid(-1, wait::WAIT_FLAGS);
                lock(&self.family.queue).in_wait = false;
                match r {
                    Ok(Some((tid, st))) => {
                        self.dispatch(tid, st);
                        // Collect whatever else is pending in one go (many threads stopping
                        // together) before publishing; nothing is when all have stopped.
                        if self.any(|t| t.may_report() && !t.finished()) && !self.collect_stops() {
                            self.sweep();
                        }
                    }
                    Ok(None) => {}
                    Err(e) => {
                        // ECHILD cannot happen while the doorbell lives; anything else is a bug.
                        trace!("waitpid failed: {e}");
                        std::thread::yield_now();
                    }
                }
            } else {
                // Everything is stopped, and a caller usually queues its next job within
                // microseconds of the publication: with a CPU to spare, watch the queue briefly
                // before sleeping, which saves waking an idle CPU per call (tens of us on a
                // VM). Adaptive as the callers' watch (`Spin`).
                let seen = self.family.enqueued.load(Ordering::Acquire);
                if lock(&self.family.queue).jobs.is_empty() && self.watch.begin(false) {
                    let start = Instant::now();
                    let mut saw = false;
                    while start.elapsed() < SPIN_LIMIT {
                        if self.family.enqueued.load(Ordering::Acquire) != seen {
                            saw = true;
                            break;
                        }
                        watch_pause();
                    }
                    self.watch.end(saw);
                }
                self.family.note_monitor_cpu();
                let q = lock(&self.family.queue);
                if q.jobs.is_empty() {
                    drop(self.family.queue_cv.wait(q).unwrap_or_else(|p| p.into_inner()));
                }
            }
        }
    }

    /// `Tracer::collect_stops` for every process that may report.
    fn collect_stops(&mut self) -> bool {
        let mut any = false;
        for t in &mut self.members {
            if t.may_report() && !t.finished() {
                any |= t.collect_stops();
            }
        }
        any
    }

    /// Collects the pending wait statuses without blocking: at most `SWEEP_BATCH`, so that
    /// threads that stop again as fast as they are let go (tracepoint hits on one CPU) cannot
    /// keep the loop from its jobs and from publishing (`settle`: the records' event fd).
    fn sweep(&mut self) {
        for _ in 0..SWEEP_BATCH {
            match wait::waitpid(-1, wait::WAIT_FLAGS | libc::WNOHANG) {
                Ok(Some((tid, st))) => self.dispatch(tid, st),
                _ => return,
            }
        }
    }

    fn dispatch(&mut self, tid: i32, st: wait::Status) {
        if tid == self.doorbell {
            self.on_doorbell(st);
        } else if let Some(i) = self.owner(tid, st) {
            self.members[i].on_wait(tid, st);
            if self.members.len() > 1 {
                self.hand_over_first_stops();
            }
        } else {
            trace!("task {tid}: {st:?}, known to no process of the family");
        }
    }

    /// A fork child's first stop that came before the fork event naming it went to the
    /// process `owner` guessed (by its PPid, which clone(CLONE_PARENT) makes its creator's
    /// parent; else any process), which holds it as an early child. Once the creator's event
    /// has named the child (it awaits the stop, `Tracer::awaits_first_stop`), the stop is
    /// the creator's: otherwise it would offer a child whose stop never comes (take_child
    /// would time out, letting it go would wait for it forever).
    fn hand_over_first_stops(&mut self) {
        for i in 0..self.members.len() {
            for child in self.members[i].early_children() {
                let creator = self.members.iter().position(|t| t.awaits_first_stop(child));
                if let Some(j) = creator.filter(|&j| j != i) {
                    self.members[i].hand_over_early_child(child);
                    self.members[j].first_stop_handed_over(child);
                }
            }
        }
    }

    /// Which process of the family a wait report is for. A family of one takes everything, as
    /// before families. Otherwise the process that knows the task; for the first stop of a
    /// task nobody knows, the process it is a thread of, else the one that forked it.
    fn owner(&self, tid: i32, st: wait::Status) -> Option<usize> {
        if self.members.len() == 1 {
            return Some(0);
        }
        if let Some(i) = self.members.iter().position(|t| t.knows(tid)) {
            return Some(i);
        }
        if !matches!(st, wait::Status::Stopped { .. }) {
            return None;
        }
        let by = |field| {
            let id = procfs::status_field(tid, field)?;
            self.members.iter().position(|t| !t.finished() && t.pid() as i64 == id)
        };
        by("Tgid")
            .or_else(|| by("PPid"))
            .or_else(|| self.members.iter().position(|t| !t.finished()))
    }
    /// The doorbell stopped (rung): continue it before the queue is drained. It died: start a
    /// new one.
    fn on_doorbell(&mut self, st: wait::Status) {
        match st {
            wait::Status::Stopped { .. } => {
                let _ = signal::kill(self.doorbell, libc::SIGCONT);
            }
            wait::Status::Exited(_) | wait::Status::Signaled(_) => {
                trace!("doorbell {} died ({st:?}); starting a new one", self.doorbell);
                self.new_doorbell();
            }
            wait::Status::Continued => {}
        }
    }

    /// Forks a new doorbell; on failure the doorbell is 0 and the loop polls (see `run`).
    fn new_doorbell(&mut self) {
        let mut q = lock(&self.family.queue);
        match spawn::fork_doorbell() {
            Ok(pid) => {
                self.doorbell = pid;
                q.doorbell = pid;
            }
            Err(e) => {
                trace!("cannot start a doorbell: {e}");
                self.doorbell = 0;
                q.doorbell = 0;
            }
        }
    }

    /// Ends the monitor: new calls get `reason`; queued ones are answered with it; the doorbell
    /// is killed and reaped, so no child of ours outlives this thread.
    fn close(&mut self, reason: Error) {
        let jobs: Vec<(u64, Job)> = {
            let mut q = lock(&self.family.queue);
            q.closed = Some(reason);
            q.jobs.drain(..).collect()
        };
        drop(jobs); // dropping a job drops its reply sender: the caller sees `closed_error`
        if self.doorbell > 0 {
            let _ = signal::kill(self.doorbell, libc::SIGKILL);
            let _ = wait::waitpid(self.doorbell, libc::__WALL);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A monitor that fails (a panic caught by `monitor_main`) closes its processes without
    /// publishing an end: a snapshot showing the process running (really, or because a
    /// continue was queued: `show_resumed`) stays so. A waiter (wait_stop with no timeout)
    /// must learn of the close instead of sleeping forever.
    #[test]
    fn a_waiter_learns_of_the_close_of_a_process_shown_running() {
        for closed_first in [false, true] {
            let shared = Shared::new(Family::new()).unwrap();
            assert_eq!(shared.snapshot().run, RunState::Running);
            if closed_first {
                shared.close(Error::Internal("the monitor thread failed".into()));
            }
            let waiter = {
                let shared = shared.clone();
                std::thread::spawn(move || {
                    let t0 = Instant::now();
                    let limit = Some(t0 + Duration::from_secs(20));
                    let r = shared.wait_for(limit, |s| (s.run != RunState::Running).then_some(()));
                    (r.is_err(), shared.is_closed(), t0.elapsed())
                })
            };
            if !closed_first {
                // Close once the waiter sleeps on the snapshot (bounded: it counts itself
                // before it sleeps).
                let t0 = Instant::now();
                while shared.snap_waiters.load(Ordering::Relaxed) == 0 {
                    assert!(t0.elapsed() < Duration::from_secs(20), "the waiter never waited");
                    std::thread::yield_now();
                }
                shared.close(Error::Internal("the monitor thread failed".into()));
            }
            let (failed, closed, took) = waiter.join().unwrap();
            assert!(failed && closed, "closed first: {closed_first}");
            assert!(took < Duration::from_secs(5), "closed first: {closed_first}: took {took:?}");
        }
    }
}
