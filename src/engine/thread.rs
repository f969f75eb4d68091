//! Thread states and stop causes: the seed's eleven states, each named once, with the
//! predicates the algorithms use.

/// Where one traced thread is in its life. The values are the C API's
/// `PTRACE_DBG_STATE_*` constants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(i32)]
pub enum ThreadState {
    /// Executing user code (we resumed it and have seen no stop since).
    Running = 0,
    /// Resumed with PTRACE_SINGLESTEP; a step trap (or another stop) will follow.
    SingleStepping = 1,
    /// We sent PTRACE_INTERRUPT (or expect a new thread's first stop) and wait for it.
    Stopping = 2,
    /// Stopped because we asked (interrupt, attach, a new thread's first stop, a job-control
    /// stop), or after stepping.
    Stopped = 3,
    /// Stopped at one of our breakpoints.
    StoppedBreakpoint = 4,
    /// Stopped with a signal about to be delivered (it is delivered on continue).
    StoppedSignal = 5,
    /// Stopped after creating a thread (PTRACE_EVENT_CLONE).
    StoppedThreadCreate = 6,
    /// Stopped in PTRACE_EVENT_EXIT: about to exit, registers still readable.
    StoppedExiting = 7,
    /// Continued from its exit stop (or a zombie leader after pthread_exit): no longer
    /// controllable, its final wait status is still to come.
    Exiting = 8,
    /// Gone; its wait status was collected.
    Exited = 9,
    /// Released with PTRACE_DETACH.
    Detached = 10,
}

impl ThreadState {
    /// The thread executes (or may, as far as we know) and a wait status will come from it.
    pub fn is_running(self) -> bool {
        matches!(self, ThreadState::Running | ThreadState::SingleStepping | ThreadState::Stopping)
    }

    /// The thread sits in a ptrace-stop: registers and memory may be used, it may be resumed.
    pub fn is_stopped(self) -> bool {
        matches!(
            self,
            ThreadState::Stopped
                | ThreadState::StoppedBreakpoint
                | ThreadState::StoppedSignal
                | ThreadState::StoppedThreadCreate
                | ThreadState::StoppedExiting
        )
    }

    /// The thread is dying: it cannot be stopped, signalled or detached any more, and stop-all
    /// must not wait for it.
    pub fn is_zombie(self) -> bool {
        self == ThreadState::Exiting
    }

    /// Nothing more will happen to this thread.
    pub fn is_terminal(self) -> bool {
        matches!(self, ThreadState::Exited | ThreadState::Detached)
    }

    /// A short name for logs.
    pub fn name(self) -> &'static str {
        match self {
            ThreadState::Running => "running",
            ThreadState::SingleStepping => "single-stepping",
            ThreadState::Stopping => "stopping",
            ThreadState::Stopped => "stopped",
            ThreadState::StoppedBreakpoint => "stopped-breakpoint",
            ThreadState::StoppedSignal => "stopped-signal",
            ThreadState::StoppedThreadCreate => "stopped-thread-create",
            ThreadState::StoppedExiting => "stopped-exiting",
            ThreadState::Exiting => "exiting",
            ThreadState::Exited => "exited",
            ThreadState::Detached => "detached",
        }
    }
}

/// Why a stopped thread is stopped. The values are the C API's `PTRACE_DBG_CAUSE_*`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(i32)]
pub enum CauseKind {
    /// Stopped on request (stop, attach, a new thread's first stop, a job-control stop).
    Stopped = 0,
    /// Hit a breakpoint.
    Breakpoint = 1,
    /// A signal is about to be delivered.
    Signal = 2,
    /// Created a thread.
    ThreadCreate = 3,
    /// Is exiting.
    ThreadExit = 4,
    /// Completed an execve.
    Exec = 5,
    /// Forked, vforked or cloned a new process (only with `FOLLOW_FORK`): `new_tid` is its pid,
    /// `Process::take_child` takes it.
    Fork = 10,
    /// Tripped a hardware watchpoint (only ever seen by callers that set one).
    Watchpoint = 6,
    /// At the entry of a traced system call (only while tracing system calls).
    SyscallEntry = 7,
    /// At the exit of a traced system call (only while tracing system calls).
    SyscallExit = 8,
    /// The dynamic loader's list of objects changed (only with library events turned on).
    Library = 9,
}

/// A stop cause with its details (see `ptrace_dbg_cause`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cause {
    pub kind: CauseKind,
    /// Signal: the pending signal. ThreadExit: the terminating signal or 0.
    pub signal: i32,
    /// ThreadCreate: the new thread.
    pub new_tid: i32,
    /// ThreadExit: the exit status, or -1 when killed by a signal.
    pub exit_status: i32,
    /// Breakpoint: the breakpoint's address. Watchpoint: the watchpoint's address.
    pub pc: u64,
    /// Watchpoint (or a breakpoint shared with an execute watchpoint): the watchpoint's id;
    /// 0 otherwise.
    pub watch_id: i32,
    /// SyscallEntry/SyscallExit: the call, decoded at the stop (changed by set_syscall*).
    pub syscall: Option<crate::engine::syscalls::SyscallStop>,
}

impl Cause {
    /// A cause with only its kind set.
    pub fn of(kind: CauseKind) -> Cause {
        Cause { kind, signal: 0, new_tid: 0, exit_status: 0, pc: 0, watch_id: 0, syscall: None }
    }
    /// A signal about to be delivered.
    pub fn signal(signal: i32) -> Cause {
        Cause { signal, ..Cause::of(CauseKind::Signal) }
    }
    /// The thread created `new_tid`.
    pub fn thread_create(new_tid: i32) -> Cause {
        Cause { new_tid, ..Cause::of(CauseKind::ThreadCreate) }
    }
    /// The thread is exiting with this raw wait status (from PTRACE_GETEVENTMSG).
    pub fn thread_exit(wait_status: i32) -> Cause {
        let (exit_status, signal) = if libc::WIFSIGNALED(wait_status) {
            (-1, libc::WTERMSIG(wait_status))
        } else {
            (libc::WEXITSTATUS(wait_status), 0)
        };
        Cause { signal, exit_status, ..Cause::of(CauseKind::ThreadExit) }
    }
    /// Created the process `pid` (fork, vfork, clone without CLONE_THREAD).
    pub fn fork(pid: i32) -> Cause {
        Cause { new_tid: pid, ..Cause::of(CauseKind::Fork) }
    }
    /// Stopped at a traced system call's entry or exit.
    pub fn syscall(stop: crate::engine::syscalls::SyscallStop) -> Cause {
        let kind = if stop.is_exit { CauseKind::SyscallExit } else { CauseKind::SyscallEntry };
        Cause { syscall: Some(stop), ..Cause::of(kind) }
    }
    /// Stopped at the breakpoint at `pc`.
    pub fn breakpoint(pc: u64) -> Cause {
        Cause { pc, ..Cause::of(CauseKind::Breakpoint) }
    }
    /// Tripped watchpoint `id`, which watches `addr`.
    pub fn watchpoint(id: i32, addr: u64) -> Cause {
        Cause { pc: addr, watch_id: id, ..Cause::of(CauseKind::Watchpoint) }
    }
}

/// One traced thread, as the monitor sees it.
#[derive(Debug, Clone)]
pub struct Thread {
    pub tid: i32,
    pub state: ThreadState,
    pub cause: Cause,
    /// The signal to deliver when this thread is next resumed (0: none).
    pub pending_signal: i32,
    /// We resumed it with PTRACE_SINGLESTEP: its next TRAP_TRACE SIGTRAP is ours.
    pub stepping: bool,
    /// The breakpoint lifted for this thread's step over it, to be restored at its next stop.
    pub step_over: Option<u64>,
    /// Its PC may sit on a breakpoint (it stopped at one, or its registers were written):
    /// resuming must check, and step over it first.
    pub check_pc: bool,
    /// Its registers, when read during this stop (valid only while stopped; published, so
    /// register reads need no trip to the monitor).
    pub regs: Option<libc::user_regs_struct>,
    /// `regs` differ from the kernel's copy (a breakpoint hit's PC moved back, not yet written):
    /// they must be written before the thread runs again.
    pub regs_dirty: bool,
    /// Its step ended by another stop (an interrupt, a signal): the step's own trap may still
    /// be queued and comes at its next resume, to be swallowed then.
    pub stale_step_trap: bool,
    /// Its program had set the trap flag (TF) itself when we began our step: the step's trap
    /// is also the program's own single-step trap (the CPU raises one for both), to be
    /// delivered to it as a SIGTRAP, not swallowed as ours only.
    pub step_own_tf: bool,
}

impl Thread {
    pub fn new(tid: i32, state: ThreadState) -> Thread {
        Thread {
            tid,
            state,
            cause: Cause::of(CauseKind::Stopped),
            pending_signal: 0,
            stepping: false,
            step_over: None,
            check_pc: false,
            regs: None,
            regs_dirty: false,
            stale_step_trap: false,
            step_own_tf: false,
        }
    }
}

/// A thread as queries see it (a copy in the published snapshot).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThreadInfo {
    pub tid: i32,
    pub state: ThreadState,
    pub cause: Cause,
    /// Registers read during the current stop, if any.
    pub regs: Option<libc::user_regs_struct>,
}
