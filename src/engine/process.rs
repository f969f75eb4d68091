//! `Process`: the engine's public API for one traced process. Any host thread may call any
//! method concurrently; calls that need ptrace become jobs on the process's monitor thread,
//! queries read the monitor's published snapshot.

use super::breakpoints::Memory;
use super::ending::Ending;
use super::monitor::{self, Monitor, Snapshot, Start};
use super::thread::{Cause, ThreadInfo, ThreadState};
use super::tracer::{ExitStatus, RunState};
use super::watchpoints::WatchKind;
use super::{Error, Result};
use crate::sys::spawn::LaunchSpec;
use std::ffi::{CString, OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long `stop`, `kill`, `detach` and start-up wait for every thread to report before giving
/// up with `Error::Timeout` (a thread in uninterruptible sleep never stops).
const STOP_WAIT: Duration = Duration::from_secs(30);

/// What to launch, and how.
#[derive(Debug, Clone, Default)]
pub struct LaunchOptions {
    /// Arguments, argv[0] first. Empty: the path alone.
    pub argv: Vec<OsString>,
    /// The environment; None inherits the host's.
    pub env: Option<Vec<OsString>>,
    /// Working directory; None inherits.
    pub cwd: Option<PathBuf>,
    /// Descriptors for the program's stdin, stdout, stderr; -1 inherits.
    pub stdio: [i32; 3],
    /// Start with address-space randomisation off (personality ADDR_NO_RANDOMIZE).
    pub disable_aslr: bool,
}

impl LaunchOptions {
    /// Inherit everything.
    pub fn new() -> LaunchOptions {
        LaunchOptions { stdio: [-1; 3], ..Default::default() }
    }
}

/// A traced process.
pub struct Process {
    pid: i32,
    launched: bool,
    monitor: Monitor,
    /// Tracee memory and breakpoints, read and written from the calling thread.
    memory: Arc<Memory>,
    /// The XSAVE areas read during the current stops, shared with the monitor.
    xregs: super::xregs::XRegs,
    /// Makes "the thread is stopped" and a memory transfer one step: peek/poke hold it shared
    /// from their check to the end of the transfer; continue, step and detach hold it
    /// exclusively, so no transfer overlaps a resume (or a breakpoint's lift for a step-over).
    resume_guard: std::sync::RwLock<()>,
    /// Detach and kill calls under way, so blocked calls report the end, not its stop.
    ending: Ending,
    /// Tracepoint records, readable from any thread, after the end too.
    records: Arc<super::records::Records>,
    /// Symbol lookups' cached view of the loaded objects (`solib::Lookup`).
    lookup: super::solib::Lookup,
}

fn cstring(s: &OsStr, what: &str) -> Result<CString> {
    CString::new(s.as_bytes())
        .map_err(|_| Error::InvalidArgument(format!("{what} contains a NUL byte")))
}

/// Finds `program` the way execvp does: a name with a '/' is used as is; a bare name is looked
/// up in PATH (default "/usr/local/bin:/usr/bin:/bin") for an executable regular file.
fn resolve_program(program: &Path) -> Result<PathBuf> {
    if program.as_os_str().is_empty() {
        return Err(Error::InvalidArgument("the program path is empty".into()));
    }
    if program.as_os_str().as_bytes().contains(&b'/') {
        return Ok(program.to_path_buf());
    }
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".into());
    for dir in std::env::split_paths(&path) {
        let candidate =
            if dir.as_os_str().is_empty() { PathBuf::from(".") } else { dir }.join(program);
        if nix::unistd::access(&candidate, nix::unistd::AccessFlags::X_OK).is_ok()
            && candidate.is_file()
        {
            return Ok(candidate);
        }
    }
    Err(Error::Os { call: "execvp (PATH search)", errno: nix::errno::Errno::ENOENT })
}

impl Process {
    /// Attaches to every thread of `pid` and returns with all of them stopped.
    pub fn attach(pid: i32) -> Result<Process> {
        let (monitor, pid, launched) = monitor::start(Start::Attach(pid))?;
        let p = Process::new(monitor, pid, launched)?;
        p.wait_quiet()?;
        Ok(p)
    }

    /// Forks and execs `program` traced; returns with it stopped at its first instruction.
    pub fn launch(program: &Path, opts: &LaunchOptions) -> Result<Process> {
        let path = resolve_program(program)?;
        let argv: Vec<CString> = if opts.argv.is_empty() {
            vec![cstring(program.as_os_str(), "the program path")?]
        } else {
            opts.argv.iter().map(|a| cstring(a, "an argument")).collect::<Result<_>>()?
        };
        let env: Vec<OsString> = match &opts.env {
            Some(env) => env.clone(),
            None => std::env::vars_os()
                .map(|(k, v)| {
                    let mut kv = k;
                    kv.push("=");
                    kv.push(v);
                    kv
                })
                .collect(),
        };
        let envp = env.iter().map(|e| cstring(e, "an environment entry")).collect::<Result<_>>()?;
        let cwd = match &opts.cwd {
            Some(c) => Some(cstring(c.as_os_str(), "the working directory")?),
            None => None,
        };
        for (i, &fd) in opts.stdio.iter().enumerate() {
            if fd < -1 {
                return Err(Error::InvalidArgument(format!("stdio descriptor {i} is {fd}")));
            }
            if fd >= 0 && !crate::sys::procfs::fd_is_open(fd) {
                return Err(Error::InvalidArgument(format!(
                    "descriptor {fd} (for fd {i}) is not open"
                )));
            }
        }
        let spec = LaunchSpec {
            path: cstring(path.as_os_str(), "the program path")?,
            argv,
            envp,
            cwd,
            stdio: opts.stdio,
            disable_aslr: opts.disable_aslr,
        };
        let (monitor, pid, launched) = monitor::start(Start::Launch(spec))?;
        Process::new(monitor, pid, launched)
    }

    fn new(monitor: Monitor, pid: i32, launched: bool) -> Result<Process> {
        let memory = monitor.shared.call(|t| Ok(t.memory()))?;
        let xregs = monitor.shared.call(|t| Ok(t.xregs()))?;
        let records = monitor.shared.call(|t| Ok(t.records()))?;
        Ok(Process {
            pid,
            launched,
            monitor,
            memory,
            xregs,
            resume_guard: std::sync::RwLock::new(()),
            ending: Ending::default(),
            records,
            lookup: Default::default(),
        })
    }

    /// The process id.
    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// Whether we launched it (free kills it) rather than attached (free detaches).
    pub fn launched(&self) -> bool {
        self.launched
    }

    fn snapshot(&self) -> Snapshot {
        self.monitor.shared.snapshot()
    }

    /// Runs `f` on thread `tid`'s published state, under the snapshot's lock (no copy).
    fn with_thread<R>(&self, tid: i32, f: impl FnOnce(&ThreadInfo) -> Result<R>) -> Result<R> {
        self.monitor.shared.read(|s| {
            live(s)?;
            f(s.threads.iter().find(|t| t.tid == tid).ok_or(Error::NoSuchThread(tid))?)
        })
    }

    /// Live threads, main thread first (zombies and exited threads excluded).
    pub fn threads(&self) -> Result<Vec<i32>> {
        self.monitor.shared.read(|s| {
            live(s)?;
            Ok(s.threads.iter().filter(|t| !t.state.is_zombie()).map(|t| t.tid).collect())
        })
    }

    /// The state of one thread.
    pub fn thread_state(&self, tid: i32) -> Result<ThreadState> {
        self.with_thread(tid, |t| Ok(t.state))
    }

    /// Why a stopped thread is stopped.
    pub fn stop_cause(&self, tid: i32) -> Result<Cause> {
        self.with_thread(tid, |t| stopped(t).map(|()| t.cause))
    }

    /// Waits until the process is not running (start-up, stop, kill).
    fn wait_quiet(&self) -> Result<RunState> {
        let quiet = |s: &Snapshot| (s.run != RunState::Running).then_some(s.run);
        self.monitor.shared.wait_for(Some(Instant::now() + STOP_WAIT), quiet).map_err(|s| {
            if self.monitor.shared.is_closed() {
                return self.monitor.shared.closed_error();
            }
            let waiting: Vec<i32> =
                s.threads.iter().filter(|t| t.state.is_running()).map(|t| t.tid).collect();
            Error::Timeout(format!(
                "threads {waiting:?} did not stop within {}s",
                STOP_WAIT.as_secs()
            ))
        })
    }

    /// Stops every thread; returns when all are stopped. EXITED or BAD_STATE, not OK, when
    /// another thread's detach or kill ends the process's tracing meanwhile.
    pub fn stop(&self) -> Result<()> {
        self.ending.settle(&self.monitor.shared, self.stop_for_ending(), None)
    }

    /// `stop` without the wait for ending calls, for those calls themselves.
    fn stop_for_ending(&self) -> Result<()> {
        settled(self.monitor.shared.call_until_quiet(STOP_WAIT, |t| t.request_stop())?)
    }

    /// Resumes every thread.
    pub fn cont(&self) -> Result<()> {
        let _resuming = self.resume_guard.write().unwrap_or_else(|p| p.into_inner());
        self.lookup.invalidate();
        match self.monitor.shared.post_continue(|t, n| t.queued_continue(n)) {
            // The snapshot lags the monitor: a process whose exit (or stop) is pending in the
            // kernel still shows as running, while a read of /proc may already have told the
            // caller it is gone. A refusal is rare, so it is the monitor's to give: it collects
            // pending events before it runs a job.
            Err(Error::BadState(_)) => self.monitor.shared.call(|t| t.cont()),
            r => r,
        }
    }

    /// Waits until every thread is stopped because of some thread's event. Returns the thread
    /// whose event stopped the process (0 for a requested stop). None waits forever.
    pub fn wait_stop(&self, timeout: Option<Duration>) -> Result<i32> {
        let deadline = timeout.map(|t| Instant::now() + t);
        let quiet = |s: &Snapshot| (s.run != RunState::Running).then_some((s.run, s.trigger));
        match self.monitor.shared.wait_for(deadline, quiet) {
            // The stop may be a detach's or a kill's on another thread: report their outcome.
            Ok((RunState::Stopped, trigger)) => {
                self.ending.settle(&self.monitor.shared, Ok(trigger), deadline)
            }
            Ok((RunState::Exited, _)) => Err(Error::Exited),
            Ok(_) => Err(Error::BadState("the process was detached".into())),
            // The monitor ended without publishing an end (it failed): its error.
            Err(_) if self.monitor.shared.is_closed() => Err(self.monitor.shared.closed_error()),
            Err(_) => Err(Error::Timeout("the process is still running".into())),
        }
    }

    /// A descriptor that polls readable while wait_stop would not block. Owned by the process.
    pub fn event_fd(&self) -> i32 {
        self.monitor.shared.event_fd()
    }

    /// Stops, detaches every thread; the process runs on untraced.
    pub fn detach(&self) -> Result<()> {
        let _ending = self.ending.begin();
        let deadline = Instant::now() + STOP_WAIT;
        loop {
            self.stop_for_ending()?;
            let detached = {
                let _resuming = self.resume_guard.write().unwrap_or_else(|p| p.into_inner());
                self.lookup.invalidate();
                self.monitor.shared.call(|t| t.detach())
            };
            match detached {
                // Another host thread continued it between our stop and detach: again.
                Err(Error::BadState(m)) if m.contains("running") && Instant::now() < deadline => {
                    continue
                }
                r => return r,
            }
        }
    }

    /// SIGKILLs the process and waits for it to be reaped.
    pub fn kill(&self) -> Result<()> {
        self.lookup.invalidate();
        let _ending = self.ending.begin();
        match self.monitor.shared.call_until_quiet(STOP_WAIT, |t| t.kill()) {
            Ok(RunState::Exited) => Ok(()),
            Ok(other) => Err(Error::Internal(format!("after SIGKILL the process is {other:?}"))),
            Err(Error::Timeout(_)) => {
                Err(Error::Timeout(format!("process {} did not exit after SIGKILL", self.pid)))
            }
            Err(e) => Err(e),
        }
    }

    /// After exit: the exit code (or -1) and terminating signal (or 0).
    pub fn exit_status(&self) -> Result<ExitStatus> {
        let s = self.snapshot();
        match (s.run, s.exit) {
            (RunState::Exited, Some(e)) => Ok(e),
            (RunState::Detached, _) => Err(Error::BadState("the process was detached".into())),
            _ => Err(Error::BadState("the process has not exited".into())),
        }
    }

    /// Single-steps one stopped thread (over a breakpoint under its PC); the others stay
    /// stopped. Returns when the step is done (or another stop, such as a signal, ended it).
    pub fn step(&self, tid: i32) -> Result<()> {
        let resuming = self.resume_guard.write().unwrap_or_else(|p| p.into_inner());
        self.lookup.invalidate();
        let r = settled(self.monitor.shared.call_until_quiet(STOP_WAIT, move |t| t.step(tid))?);
        // Released before waiting for a detach, which needs it.
        drop(resuming);
        self.ending.settle(&self.monitor.shared, r, None)
    }

    /// Holds off resumes for a memory transfer; BadState while one is under way (the process
    /// is, or is about to be, running).
    fn hold_stopped(&self) -> Result<std::sync::RwLockReadGuard<'_, ()>> {
        match self.resume_guard.try_read() {
            Ok(g) => Ok(g),
            Err(std::sync::TryLockError::Poisoned(p)) => Ok(p.into_inner()),
            Err(std::sync::TryLockError::WouldBlock) => {
                Err(Error::BadState("the process is being resumed".into()))
            }
        }
    }

    /// How many instructions under breakpoints the engine executed itself instead of stepping
    /// them (see `sys::x86`); for tests and benchmarks.
    pub fn executed_in_place(&self) -> Result<u64> {
        self.monitor.shared.call(|t| Ok(t.executed_in_place()))
    }

    /// How many steps over breakpoints the engine made out of line (in the scratch area)
    /// rather than in place with the breakpoint lifted; for tests and benchmarks.
    pub fn stepped_out_of_line(&self) -> Result<u64> {
        self.monitor.shared.call(|t| Ok(t.stepped_out_of_line()))
    }

    /// The address of the scratch area for out-of-line steps in the tracee, if one is mapped.
    pub fn scratch_area(&self) -> Result<Option<u64>> {
        self.monitor.shared.call(|t| Ok(t.scratch_area()))
    }

    // ----- tracepoints and breakpoint decisions (see `tracer::tracepoints`) -----------------

    /// Sets a tracepoint at `addr` (process stopped); returns its id.
    pub fn add_tracepoint(&self, addr: u64) -> Result<i32> {
        self.monitor.shared.call(move |t| t.add_tracepoint(addr))
    }

    /// Removes tracepoint `id` (process stopped).
    pub fn remove_tracepoint(&self, id: i32) -> Result<()> {
        self.monitor.shared.call(move |t| t.remove_tracepoint(id))
    }

    /// Makes tracepoint `id` capture memory at each hit (process stopped).
    pub fn set_tracepoint_capture(&self, id: i32, c: super::tracer::Capture) -> Result<()> {
        self.monitor.shared.call(move |t| t.set_tracepoint_capture(id, c))
    }

    /// Takes up to `out.len()` records, oldest first; never blocks. Works after the end too.
    pub fn read_records(&self, out: &mut [super::records::Record]) -> usize {
        self.records.take(out)
    }

    /// Sets the record buffer's capacity (1 to `records::MAX_CAPACITY`).
    pub fn set_record_capacity(&self, capacity: usize) -> Result<()> {
        if capacity == 0 || capacity > super::records::MAX_CAPACITY {
            return Err(Error::InvalidArgument(format!(
                "record capacity {capacity} is not in 1..={}",
                super::records::MAX_CAPACITY
            )));
        }
        self.records.set_capacity(capacity);
        Ok(())
    }

    /// The record buffer's counters.
    pub fn record_stats(&self) -> super::records::RecordStats {
        self.records.stats()
    }

    /// Sets or clears the condition of the ordinary breakpoint at `addr` (process stopped).
    pub fn set_breakpoint_condition(
        &self,
        addr: u64,
        c: Option<super::tracer::Condition>,
    ) -> Result<()> {
        self.monitor.shared.call(move |t| t.set_breakpoint_condition(addr, c))
    }

    /// Sets the ignore count of the ordinary breakpoint at `addr` (process stopped).
    pub fn set_breakpoint_ignore_count(&self, addr: u64, count: u64) -> Result<()> {
        self.monitor.shared.call(move |t| t.set_breakpoint_ignore_count(addr, count))
    }

    /// Single-steps thread `tid` while its PC stays in `[start, end)` (at most `max` steps; 0:
    /// no limit), the other threads stopped; returns how many instructions it executed. Ends
    /// early on a breakpoint in the range, a signal or another event, with its usual cause.
    pub fn step_range(&self, tid: i32, start: u64, end: u64, max: u64) -> Result<u64> {
        let resuming = self.resume_guard.write().unwrap_or_else(|p| p.into_inner());
        let r = settled(
            self.monitor
                .shared
                .call_until_quiet(STOP_WAIT, move |t| t.step_range(tid, start, end, max))?,
        );
        drop(resuming);
        self.ending.settle(&self.monitor.shared, r, None)?;
        self.monitor.shared.call(|t| Ok(t.range_steps()))
    }

    // ----- end of tracepoints ----------------------------------------------------------------

    /// Sets a breakpoint at `addr` (process stopped).
    pub fn add_breakpoint(&self, addr: u64) -> Result<()> {
        self.monitor.shared.call(move |t| t.add_breakpoint(addr))
    }

    /// Removes the breakpoint at `addr` (process stopped).
    pub fn remove_breakpoint(&self, addr: u64) -> Result<()> {
        self.monitor.shared.call(move |t| t.remove_breakpoint(addr))
    }

    /// Sets a hardware watchpoint on every thread, present and future (process stopped);
    /// returns its id. See `tracer::watch` and `engine::watchpoints`.
    pub fn add_watchpoint(&self, addr: u64, len: usize, kind: WatchKind) -> Result<i32> {
        self.monitor.shared.call(move |t| t.add_watchpoint(addr, len, kind))
    }

    /// Removes watchpoint `id` from every thread (process stopped).
    pub fn remove_watchpoint(&self, id: i32) -> Result<()> {
        self.monitor.shared.call(move |t| t.remove_watchpoint(id))
    }

    /// The watchpoint stopped thread `tid` tripped at this stop: its id and address.
    /// `NoWatchpoint` when its stop is not a watchpoint hit.
    pub fn watchpoint_hit(&self, tid: i32) -> Result<(i32, u64)> {
        self.with_thread(tid, |t| {
            stopped(t)?;
            match t.cause.watch_id {
                0 => Err(Error::NoWatchpoint(format!(
                    "thread {tid} did not stop at a watchpoint (its cause is {:?})",
                    t.cause.kind
                ))),
                id => Ok((id, t.cause.pc)),
            }
        })
    }

    /// The registers of a stopped thread.
    pub fn get_regs(&self, tid: i32) -> Result<libc::user_regs_struct> {
        // Registers already read during this stop (at a breakpoint hit, say) are published:
        // no trip to the monitor.
        if let Some(regs) = self.with_thread(tid, |t| stopped(t).map(|()| t.regs))? {
            return Ok(regs);
        }
        self.monitor.shared.call(move |t| t.get_regs(tid))
    }

    /// Writes the registers of a stopped thread.
    pub fn set_regs(&self, tid: i32, regs: &libc::user_regs_struct) -> Result<()> {
        let regs = *regs;
        self.monitor.shared.call(move |t| t.set_regs(tid, &regs))
    }

    /// The FXSAVE image (`user_fpregs_struct`) of a stopped thread (see `engine::xregs`).
    pub fn get_fpregs(&self, tid: i32) -> Result<[u8; 512]> {
        self.check_stopped_thread(tid)?;
        let cached = self.xregs.with(tid, |c| {
            let mut out = [0u8; 512];
            out[..416].copy_from_slice(&c.area[..416]);
            out
        });
        if let Some(image) = cached {
            return Ok(image);
        }
        self.monitor.shared.call(move |t| t.get_fpregs(tid))
    }

    /// Replaces the x87 and SSE state of a stopped thread (written before it runs again).
    pub fn set_fpregs(&self, tid: i32, image: &[u8; 512]) -> Result<()> {
        let image = *image;
        self.monitor.shared.call(move |t| t.set_fpregs(tid, &image))
    }

    /// The raw XSAVE area (`NT_X86_XSTATE`) of a stopped thread, the kernel's exact size.
    pub fn get_xstate(&self, tid: i32) -> Result<Vec<u8>> {
        if crate::sys::xstate::layout().xsave {
            self.check_stopped_thread(tid)?;
            if let Some(area) = self.xregs.with(tid, |c| c.area.clone()) {
                return Ok(area);
            }
        }
        self.monitor.shared.call(move |t| t.get_xstate(tid))
    }

    /// Writes the raw XSAVE area of a stopped thread (exactly `get_xstate`'s length).
    pub fn set_xstate(&self, tid: i32, area: &[u8]) -> Result<()> {
        let area = area.to_vec();
        self.monitor.shared.call(move |t| t.set_xstate(tid, &area))
    }

    /// Any register of a stopped thread by name (`engine::xregs::Catalogue`), as little-endian
    /// bytes of its natural size.
    pub fn read_register(&self, tid: i32, name: &str) -> Result<Vec<u8>> {
        let reg = super::xregs::Catalogue::get().lookup(name)?;
        // As get_regs: what was read during this stop is at hand, no trip to the monitor.
        match &reg.location {
            super::xregs::Location::General(i) => {
                let regs = self.get_regs(tid)?;
                return Ok(super::xregs::general(&regs)[*i].to_le_bytes().to_vec());
            }
            super::xregs::Location::Area(pieces) => {
                self.check_stopped_thread(tid)?;
                if let Some(bytes) = self.xregs.read(tid, pieces) {
                    return Ok(bytes);
                }
            }
            super::xregs::Location::Debug(_) => {}
        }
        self.monitor.shared.call(move |t| t.read_register(tid, reg))
    }

    /// Writes a register of a stopped thread by name; `bytes` must have its natural size.
    /// Written to the thread before it runs again (debug registers at once).
    pub fn write_register(&self, tid: i32, name: &str, bytes: &[u8]) -> Result<()> {
        let reg = super::xregs::Catalogue::get().lookup(name)?;
        if bytes.len() != reg.size {
            return Err(Error::InvalidArgument(format!(
                "register {name} has {} bytes, not {}",
                reg.size,
                bytes.len()
            )));
        }
        let bytes = bytes.to_vec();
        self.monitor.shared.call(move |t| t.write_register(tid, reg, &bytes))
    }

    /// Checks, on the published snapshot, that `tid` is a stopped thread of ours.
    fn check_stopped_thread(&self, tid: i32) -> Result<()> {
        self.with_thread(tid, stopped)
    }

    /// Reads tracee memory through stopped thread `tid`, our breakpoints hidden. On a fault the
    /// bytes before the first unreadable one are in `buf` and the error says how many.
    pub fn peek(
        &self,
        tid: i32,
        addr: u64,
        buf: &mut [u8],
    ) -> std::result::Result<usize, (usize, Error)> {
        let _stopped = self.hold_stopped().map_err(|e| (0, e))?;
        self.check_stopped_thread(tid).map_err(|e| (0, e))?;
        self.memory.read(addr, buf).inspect_err(|(_, e)| self.sync_if_gone(e))
    }

    /// Takes the child `pid` offered at the current stop (cause `Fork`) as a process of its
    /// own, on this process's monitor thread; returns with it stopped at its first instruction
    /// after the fork.
    pub fn take_child(&self, pid: i32) -> Result<Process> {
        let shared = monitor::Shared::new(self.monitor.shared.family())?;
        let for_child = shared.clone();
        let taken = self.monitor.shared.call(move |t| t.take_child(pid, for_child))?;
        let monitor = Monitor { shared, thread: self.monitor.thread.clone() };
        let super::tracer::TakenChild { memory, xregs, records } = taken;
        let child = Process {
            pid,
            launched: self.launched,
            monitor,
            memory,
            xregs,
            resume_guard: std::sync::RwLock::new(()),
            ending: Ending::default(),
            lookup: Default::default(),
            records,
        };
        child.wait_quiet()?;
        Ok(child)
    }

    /// Writes tracee memory (read-only mappings too) through stopped thread `tid`.
    pub fn poke(
        &self,
        tid: i32,
        addr: u64,
        data: &[u8],
    ) -> std::result::Result<usize, (usize, Error)> {
        let _stopped = self.hold_stopped().map_err(|e| (0, e))?;
        self.check_stopped_thread(tid).map_err(|e| (0, e))?;
        self.memory.write(addr, data).inspect_err(|(_, e)| self.sync_if_gone(e))
    }

    /// A read of /proc that found the process gone (`Exited`) comes a moment after the monitor
    /// reaped it and before it published the exit. One round trip to the monitor (it publishes
    /// after each job) makes every later answer agree: exit_status has the status, continue
    /// says EXITED, not "running".
    fn sync_if_gone(&self, e: &Error) {
        if matches!(e, Error::Exited) {
            let _ = self.monitor.shared.call(|_| Ok(()));
        }
    }
}

/// Memory maps, symbols, loaded objects and symbol breakpoints (`solib`, `symbols`).
impl Process {
    /// The current view of the loaded objects (cached while the process stays stopped).
    fn objects(&self) -> Result<Arc<super::solib::View>> {
        self.monitor.shared.read(live)?;
        let stopped = || self.monitor.shared.read(|s| s.run == RunState::Stopped);
        self.lookup.view(self.pid, &self.memory, stopped).inspect_err(|e| self.sync_if_gone(e))
    }

    /// Every mapping of `/proc/PID/maps`, read now; also kept for `mapping_path`.
    pub fn maps(&self) -> Result<Vec<crate::sys::maps::MapEntry>> {
        self.monitor.shared.read(live)?;
        let maps = crate::sys::maps::maps(self.pid)
            .map_err(super::solib::os_error)
            .inspect_err(|e| self.sync_if_gone(e))?;
        *self.lookup.last_maps.lock().unwrap_or_else(|p| p.into_inner()) = maps.clone();
        Ok(maps)
    }

    /// The path of entry `index` of the last `maps` listing.
    pub fn mapping_path(&self, index: usize) -> Result<String> {
        let maps = self.lookup.last_maps.lock().unwrap_or_else(|p| p.into_inner());
        maps.get(index).map(|m| m.path.clone()).ok_or_else(|| {
            Error::InvalidArgument(format!(
                "index {index} is not an entry of the last maps listing ({} entries)",
                maps.len()
            ))
        })
    }

    /// The runtime address of `symbol`, in `library` (a path, or a file name such as
    /// "libc.so.6") or, with None, in the program and then each library in load order.
    pub fn symbol_address(&self, library: Option<&str>, symbol: &str) -> Result<u64> {
        self.objects()?.symbol_address(library, symbol)
    }

    /// The symbol containing `addr`: its name, the offset into it, and its object's path.
    pub fn address_symbol(&self, addr: u64) -> Result<(Arc<str>, u64, String)> {
        let view = self.objects()?;
        let m = super::symbols::containing(&view.modules, addr)
            .ok_or_else(|| Error::NotFound(format!("{addr:#x} is in no loaded object")))?;
        let (name, off) = m.symbolize(addr).ok_or_else(|| {
            Error::NotFound(format!("{addr:#x} is in {} but in none of its symbols", m.path))
        })?;
        Ok((name.clone(), off, m.path.clone()))
    }

    /// The loaded objects (the loader's list); also kept for `library_path`.
    pub fn libraries(&self) -> Result<Vec<super::solib::Library>> {
        let libs = self.objects()?.libraries(&self.memory);
        *self.lookup.last_libraries.lock().unwrap_or_else(|p| p.into_inner()) = libs.clone();
        Ok(libs)
    }

    /// The path of entry `index` of the last `libraries` listing.
    pub fn library_path(&self, index: usize) -> Result<String> {
        let libs = self.lookup.last_libraries.lock().unwrap_or_else(|p| p.into_inner());
        libs.get(index).map(|l| l.path.clone()).ok_or_else(|| {
            Error::InvalidArgument(format!(
                "index {index} is not an entry of the last libraries listing ({} entries)",
                libs.len()
            ))
        })
    }

    /// What the library follows: library events (`CauseKind::Library` stops) and children
    /// (`FOLLOW_FORK`); unknown bits are the caller's to reject. Process stopped.
    pub fn set_follow(&self, flags: u32) -> Result<()> {
        self.monitor.shared.call(move |t| t.set_follow_flags(flags))
    }

    /// The follow flags in force (`set_follow`'s, or those a taken child inherited).
    pub fn follow_flags(&self) -> Result<u32> {
        self.monitor.shared.call(|t| Ok(t.follow_flags()))
    }

    /// A breakpoint on `symbol`, set now where it resolves and in every object that defines it
    /// as it is loaded later; removed from an object's memory when it is unloaded.
    pub fn add_symbol_breakpoint(&self, library: Option<&str>, symbol: &str) -> Result<i32> {
        if symbol.is_empty() || library == Some("") {
            return Err(Error::InvalidArgument("the symbol or library name is empty".into()));
        }
        let (library, symbol) = (library.map(str::to_string), symbol.to_string());
        self.monitor.shared.call(move |t| t.add_symbol_breakpoint(library, symbol))
    }

    /// Removes symbol breakpoint `id` everywhere it is set.
    pub fn remove_symbol_breakpoint(&self, id: i32) -> Result<()> {
        self.monitor.shared.call(move |t| t.remove_symbol_breakpoint(id))
    }

    /// Where symbol breakpoint `id` is set now.
    pub fn symbol_breakpoint_sites(&self, id: i32) -> Result<Vec<u64>> {
        self.monitor.shared.call(move |t| t.symbol_breakpoint_sites(id))
    }
}

// ----- system calls (engine::syscalls) ----------------------------------------------------

impl Process {
    /// Stops at the entry and/or exit (`syscalls::ENTRY`, `EXIT`) of the calls in `numbers`
    /// (None: every call), in every thread, present and future; flags 0 turns it off.
    /// Replaces the previous set. `syscalls::SECCOMP` asks for a seccomp filter (launched
    /// process at its launch stop). The process must be stopped.
    pub fn trace_syscalls(&self, numbers: Option<&[i32]>, flags: u32) -> Result<()> {
        use super::syscalls::{self, SyscallSet};
        if flags & !syscalls::ALL_FLAGS != 0 {
            return Err(Error::InvalidArgument(format!("unknown flag bits {flags:#x}")));
        }
        if flags == syscalls::SECCOMP {
            return Err(Error::InvalidArgument("SECCOMP needs ENTRY and/or EXIT with it".into()));
        }
        let set = match numbers {
            None => SyscallSet::all(),
            Some(ns) => {
                if let Some(bad) = ns.iter().find(|&&n| !(0..=syscalls::MAX_NUMBER).contains(&n)) {
                    return Err(Error::InvalidArgument(format!(
                        "system call number {bad} is out of range (0..={})",
                        syscalls::MAX_NUMBER
                    )));
                }
                SyscallSet::of(ns)
            }
        };
        self.monitor.shared.call(move |t| t.trace_syscalls(set, flags))
    }

    /// The system call thread `tid` is stopped at (cause SyscallEntry or SyscallExit), from
    /// the published snapshot.
    pub fn syscall_info(&self, tid: i32) -> Result<super::syscalls::SyscallStop> {
        self.with_thread(tid, |t| {
            stopped(t)?;
            t.cause.syscall.ok_or_else(|| {
                Error::BadState(format!("thread {tid} is not stopped at a system call"))
            })
        })
    }

    /// At an entry stop: the call's number (-1 skips it) and, if given, its arguments.
    pub fn set_syscall(&self, tid: i32, number: i64, args: Option<[u64; 6]>) -> Result<()> {
        if !(-1..=super::syscalls::MAX_NUMBER as i64).contains(&number) {
            return Err(Error::InvalidArgument(format!(
                "system call number {number} is out of range (-1..={})",
                super::syscalls::MAX_NUMBER
            )));
        }
        self.monitor.shared.call(move |t| t.set_syscall(tid, number, args))
    }

    /// At an exit stop (or the entry stop of a skipped call): the result the program sees.
    pub fn set_syscall_return(&self, tid: i32, ret: i64) -> Result<()> {
        self.monitor.shared.call(move |t| t.set_syscall_return(tid, ret))
    }

    /// The syscall mode in use (for tests and benchmarks).
    pub fn syscall_mode(&self) -> Result<super::syscalls::Mode> {
        self.monitor.shared.call(|t| Ok(t.syscall_mode()))
    }
}

/// The outcome of a stop or step: Ok when the process settled stopped.
fn settled(run: RunState) -> Result<()> {
    match run {
        RunState::Stopped => Ok(()),
        RunState::Exited => Err(Error::Exited),
        RunState::Detached => Err(Error::BadState("the process was detached".into())),
        RunState::Running => Err(Error::Internal("settled while running".into())),
    }
}

/// Ok while the process is traced; Exited or BadState once it is not.
fn live(s: &Snapshot) -> Result<()> {
    match s.run {
        RunState::Exited => Err(Error::Exited),
        RunState::Detached => Err(Error::BadState("the process was detached".into())),
        _ => Ok(()),
    }
}

/// Ok for a stopped thread; NoSuchThread for a dying one, BadState for a running one.
fn stopped(t: &ThreadInfo) -> Result<()> {
    if t.state.is_stopped() {
        Ok(())
    } else if t.state.is_zombie() {
        Err(Error::NoSuchThread(t.tid))
    } else {
        Err(Error::BadState(format!("thread {} is {}, not stopped", t.tid, t.state.name())))
    }
}

impl Drop for Process {
    /// A launched process is killed, an attached one detached (the family's monitor thread is
    /// joined with the family's last handle).
    fn drop(&mut self) {
        if !self.monitor.shared.is_closed() {
            let _ = if self.launched { self.kill() } else { self.detach() };
            if !self.monitor.shared.is_closed() && !self.launched {
                // Detach failed (e.g. timed out): do not leave a traced process behind a dead
                // handle. Killing is worse than detaching, so only the tracer's exit releases it.
                let _ = self.monitor.shared.call(|t| {
                    t.abandon();
                    Ok(())
                });
            }
        }
        // The family's monitor thread is joined when its last process goes (`FamilyThread`).
    }
}
