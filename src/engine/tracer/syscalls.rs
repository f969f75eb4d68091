//! System-call stops, the ptrace side (the feature's state and decisions are in
//! `engine::syscalls`). The event code calls these hooks at fixed points:
//! - `resume_thread`: every resume of a thread that is not a step (PTRACE_SYSCALL or
//!   PTRACE_CONT, as the mode wants);
//! - `on_syscall_trap`: first thing at every stop, for SIGTRAP|0x80 and PTRACE_EVENT_SECCOMP;
//! - `syscall_step_over`: a continue steps a thread over a breakpoint on a `syscall`
//!   instruction (PTRACE_SINGLESTEP would run the call without its stops);
//! - `syscalls_before_detach`, `keep_filtered_child`, `on_filtered_child_stop`: what a
//!   seccomp filter, which cannot be removed, asks of detach and of fork children.
//!
//! Every method here runs on the monitor thread (see the parent module).

use super::*;
use crate::engine::syscalls::{self, filter, Kind, Mode, SyscallSet, SyscallStop, Verdict};

/// seccomp(2) operation and prctl option used when installing the filter.
const SECCOMP_SET_MODE_FILTER: u64 = 1;
/// The filter is for tracing, not a sandbox: it must not switch on the speculative store
/// bypass mitigation the kernel otherwise gives every seccomp-filtered task (prctl/seccomp
/// default), which slows all of the program's code, not only its system calls.
const SECCOMP_FILTER_FLAG_SPEC_ALLOW: u64 = 4;
const PR_SET_NO_NEW_PRIVS: u64 = 38;
const NR_SECCOMP: u64 = 317;
const NR_PRCTL: u64 = 157;

impl Tracer {
    /// Resumes `tid` (not a step): PTRACE_SYSCALL when the syscall mode wants its next syscall
    /// stop, PTRACE_CONT otherwise.
    pub(super) fn resume_thread(&mut self, tid: i32, sig: i32) -> std::result::Result<(), Errno> {
        self.sys.launch_stop = false;
        if self.sys.active() {
            if let Some(r) = self.threads.get(&tid).and_then(|t| t.regs) {
                self.sys.resumed_with(tid, r.orig_rax, [r.rdi, r.rsi, r.rdx, r.r10, r.r8, r.r9]);
            }
        }
        if self.sys.resume_with_syscall(tid) {
            ptrace::syscall(tid, sig)
        } else {
            ptrace::cont(tid, sig)
        }
    }

    /// Hook (registers written at a stop, which may move the PC onto a breakpoint): whether the
    /// next continue must check the PC (`check_pc`). Not for a thread inside a system call (from
    /// its entry or seccomp stop to its exit): its PC is where the call will return, an
    /// instruction it has not reached; a breakpoint there is hit after the call. Stepped or
    /// executed in place from the entry stop, that instruction would run before the call (on
    /// its -ENOSYS), and the call's exit stop and the hit would be lost.
    pub(super) fn regs_written_may_sit_on_breakpoint(&self, tid: i32) -> bool {
        self.sys.entered(tid).is_none()
    }

    /// Hook (a single step of `tid` ended at this stop): a call the step ran (from its entry
    /// or seccomp stop) ended with the step's trap and no exit stop; the thread is out of it
    /// unless the stop is an event inside the call (fork, clone, exec: its exit stop is to come
    /// at the next PTRACE_SYSCALL).
    pub(super) fn syscalls_step_ended(&mut self, tid: i32, event: i32) {
        let in_call = matches!(
            event,
            ptrace::EVENT_FORK
                | ptrace::EVENT_VFORK
                | ptrace::EVENT_CLONE
                | ptrace::EVENT_EXEC
                | ptrace::EVENT_VFORK_DONE
        );
        if !in_call {
            self.sys.left_call(tid);
        }
    }

    /// ptrace_dbg_trace_syscalls: replaces the traced set (process stopped). With
    /// `syscalls::SECCOMP`, a launched process still at its launch stop gets a seccomp filter
    /// for the set (see `install_filter`).
    pub fn trace_syscalls(&mut self, set: SyscallSet, flags: u32) -> Result<()> {
        self.require_stopped()?;
        if flags & syscalls::SECCOMP != 0 && !set.is_all() {
            let covered = self.sys.filter().is_some_and(|f| set.is_subset_of(f));
            if !covered {
                if self.sys.filter().is_none() && !self.at_launch_stop() {
                    return Err(Error::BadState(
                        "a seccomp filter can only be installed in a launched process at its \
                         launch stop, before it first runs (a filter outlives a detach)"
                            .into(),
                    ));
                }
                if self.at_launch_stop() {
                    self.install_filter(&set)?;
                }
                // Otherwise: the set goes beyond the filter; PTRACE_SYSCALL covers it.
            }
        }
        if self.at_launch_stop() && !self.sys.active() && self.sys.filter().is_none() {
            self.sys.hide_launch_exit(self.pid);
        }
        self.sys.configure(set, flags);
        self.syscalls_record_mode(flags & syscalls::RECORD != 0);
        trace!("syscalls: flags {flags:#x}, mode {:?}", self.sys.mode());
        Ok(())
    }

    /// The launched program has not run yet: its one thread sits in the exec stop that
    /// `launch` ended with (no continue, no step since).
    fn at_launch_stop(&self) -> bool {
        self.launched
            && self.sys.launch_stop
            && self.threads.len() == 1
            && self.threads.get(&self.pid).is_some_and(|t| t.cause.kind == CauseKind::Exec)
    }

    /// Hook (first thing at every stop): a syscall-enter/exit stop (SIGTRAP|0x80) or a seccomp
    /// stop is classified here and reported or let go. Returns false for any other stop.
    pub(super) fn on_syscall_trap(&mut self, tid: i32, sig: i32, event: i32) -> bool {
        let seccomp = event == ptrace::EVENT_SECCOMP;
        if !(seccomp || (event == 0 && sig == ptrace::SYSCALL_TRAP)) {
            return false;
        }
        let (stepping, state) = {
            let t = &self.threads[&tid];
            (t.stepping, t.state)
        };
        let step_over = stepping && self.sys.step_over.remove(&tid);
        if stepping && !step_over {
            // A single step running through a call the filter names: the step goes on. (With
            // PTRACE_SINGLESTEP the kernel makes no syscall stops, so a stepped call is never
            // reported, in either mode.)
            if ptrace::step(tid, 0).is_err() {
                self.end_step(tid);
                self.set_state(tid, ThreadState::Exiting);
            }
            return true;
        }
        if step_over {
            // The `syscall` under a breakpoint has executed (this is its entry): the
            // breakpoint goes back in.
            self.end_step(tid);
        }
        let Ok(info) = ptrace::syscall_info(tid) else {
            // Killed under us: its exit status will come.
            self.set_state(tid, ThreadState::Exiting);
            return true;
        };
        let (kind, nr, ret) = match info.op {
            ptrace::SyscallOp::Entry { nr, .. } => (Kind::Enter, nr, 0),
            ptrace::SyscallOp::Seccomp { nr, .. } => (Kind::Seccomp, nr, 0),
            ptrace::SyscallOp::Exit { rval, .. } => {
                let nr = match self.sys.entered(tid) {
                    Some(nr) => nr,
                    None => self.regs(tid).map_or(u64::MAX, |r| r.orig_rax),
                };
                (Kind::Exit, nr, rval)
            }
            ptrace::SyscallOp::None => {
                // Not a syscall stop after all (cannot happen with TRACESYSGOOD): let it go.
                self.syscall_stop_done(tid, step_over);
                return true;
            }
        };
        let interrupted = state == ThreadState::Stopping;
        let exit_args = match kind {
            Kind::Exit => self.sys.exit_args(tid, nr, info.arch),
            _ => None,
        };
        let (verdict, nr) = self.sys.on_stop(tid, kind, nr, info.arch, ret, interrupted);
        if let ptrace::SyscallOp::Entry { args, .. } | ptrace::SyscallOp::Seccomp { args, .. } =
            info.op
        {
            self.sys.entered_with(tid, args);
        }
        trace!("thread {tid}: syscall {kind:?} {nr} -> {verdict:?}");
        if verdict == Verdict::Swallow {
            self.syscall_stop_done(tid, step_over);
            return true;
        }
        let stop = match info.op {
            ptrace::SyscallOp::Entry { args, .. } | ptrace::SyscallOp::Seccomp { args, .. } => {
                SyscallStop {
                    number: nr as i64,
                    is_exit: false,
                    args,
                    ret: 0,
                    is_error: false,
                    arch: info.arch,
                    pc: info.ip,
                    sp: info.sp,
                }
            }
            ptrace::SyscallOp::Exit { rval, is_error } => {
                // The arguments the entry had (one GETREGS less per exit), else the registers.
                let args = exit_args.unwrap_or_else(|| {
                    let r = self.regs(tid).ok();
                    r.map_or([0; 6], |r| [r.rdi, r.rsi, r.rdx, r.r10, r.r8, r.r9])
                });
                SyscallStop {
                    number: nr as i64,
                    is_exit: true,
                    args,
                    ret: rval,
                    is_error,
                    arch: info.arch,
                    pc: info.ip,
                    sp: info.sp,
                }
            }
            ptrace::SyscallOp::None => unreachable!("handled above"),
        };
        if self.syscall_recorded(tid, &stop, step_over) {
            return true; // record mode (tracer::tracepoints)
        }
        self.event_stop(tid, ThreadState::Stopped, Cause::syscall(stop));
        true
    }

    /// A syscall stop nobody needs to see: resume the thread, or go on with the continue whose
    /// step over a breakpoint it ends.
    pub(super) fn syscall_stop_done(&mut self, tid: i32, step_over: bool) {
        if step_over && self.resuming && self.run == RunState::Running {
            self.set_state(tid, ThreadState::Stopped);
            self.advance_resume();
        } else {
            self.resume_quietly(tid);
        }
    }

    /// Whether the instruction at `pc` (as the program sees it, breakpoints hidden) is a
    /// `syscall`.
    pub(super) fn is_syscall_insn(&self, pc: u64) -> bool {
        let mut insn = [0u8; 2];
        self.memory.read(pc, &mut insn).is_ok() && insn == [0x0F, 0x05]
    }

    /// Hook (continue, stepping thread `tid` over the breakpoint at `pc`, whose instruction is
    /// a `syscall`): while system calls are traced, the step is made with PTRACE_SYSCALL, so
    /// it ends at the call's entry stop, which is then classified like any other: the caller
    /// sees the breakpoint, then the entry, then the exit. Returns false to step as usual.
    pub(super) fn syscall_step_over(&mut self, tid: i32, pc: u64) -> bool {
        if !self.sys.active() {
            return false;
        }
        self.memory.lift(pc);
        self.flush_regs(tid);
        let sig = {
            let t = self.threads.get_mut(&tid).unwrap();
            t.step_over = Some(pc);
            t.stepping = true;
            t.cause = Cause::of(CauseKind::Stopped);
            std::mem::take(&mut t.pending_signal)
        };
        self.sys.step_over.insert(tid);
        match ptrace::syscall(tid, sig) {
            Ok(()) => {
                self.set_state(tid, ThreadState::SingleStepping);
                true
            }
            Err(_) => {
                self.sys.step_over.remove(&tid);
                self.end_step(tid);
                self.set_state(tid, ThreadState::Exiting);
                true
            }
        }
    }

    /// Hook (detach): a process with our seccomp filter cannot be let go: with no tracer, the
    /// filter's calls would fail with ENOSYS.
    pub(super) fn syscalls_before_detach(&self) -> Result<()> {
        if self.sys.filter().is_some() {
            return Err(Error::BadState(
                "the process has a seccomp filter from ptrace_dbg_trace_syscalls; detached, its \
                 traced calls would fail with ENOSYS: kill it instead"
                    .into(),
            ));
        }
        Ok(())
    }

    /// Hook (a fork child of the program is let go): a child inherits the seccomp filter, so
    /// it cannot run untraced; it stays traced, out of sight, every stop let go at once.
    /// Returns false when there is no filter (the child is detached as usual).
    pub(super) fn keep_filtered_child(&mut self, child: i32) -> bool {
        if self.sys.filter().is_none() {
            return false;
        }
        trace!("fork child {child}: kept traced (it inherited the seccomp filter)");
        self.sys.filtered_children.insert(child);
        let _ = ptrace::cont(child, 0);
        true
    }

    /// Hook (a stop of a task not in the thread table): a fork child kept by
    /// `keep_filtered_child` (or one of its own children) is resumed at once, signals
    /// delivered. Returns false for other tasks.
    pub(super) fn on_filtered_child_stop(&mut self, tid: i32, sig: i32, event: i32) -> bool {
        if !self.sys.filtered_children.contains(&tid) {
            return false;
        }
        match event {
            ptrace::EVENT_FORK | ptrace::EVENT_VFORK | ptrace::EVENT_CLONE => {
                if let Ok(new) = ptrace::event_msg(tid) {
                    let new = new as i32;
                    self.sys.filtered_children.insert(new);
                    if self.early_children.remove(&new) {
                        let _ = ptrace::cont(new, 0);
                    }
                }
                let _ = ptrace::cont(tid, 0);
            }
            0 if sig != ptrace::SYSCALL_TRAP => {
                let _ = ptrace::cont(tid, sig);
            }
            _ => {
                let _ = ptrace::cont(tid, 0);
            }
        }
        true
    }

    /// Installs a seccomp filter returning SECCOMP_RET_TRACE for the calls of `set` in the
    /// launched process, at its launch stop. The program has not run yet: its only thread
    /// sits in its exec stop, inside execve. We take it to execve's exit stop, make it execute
    /// `seccomp(SECCOMP_SET_MODE_FILTER, 0, &prog)` from a `syscall` instruction in its vDSO
    /// with the program on its stack, and put its registers back: it is then at the exit stop
    /// of that call, with the state execve left, and runs the program from its first
    /// instruction when continued. Without CAP_SYS_ADMIN the kernel demands no_new_privs
    /// first (EACCES), which we then set, as strace does: from then on, set-user-ID and file
    /// capabilities no longer raise privileges at exec in this process and its children.
    fn install_filter(&mut self, set: &SyscallSet) -> Result<()> {
        let tid = self.pid;
        // The launch's execve exit is taken here, not hidden later; and whatever happens
        // below, the thread is no longer in its exec stop: no second filter goes in this way.
        self.sys.forget(tid);
        self.sys.launch_stop = false;
        let prog = filter::program(&set.numbers());
        // execve's exit stop.
        ptrace::syscall(tid, 0).map_err(|e| thread_error(tid, "ptrace(PTRACE_SYSCALL)", e))?;
        self.wait_injected_stop(tid)?;
        let saved = ptrace::get_regs(tid).map_err(|e| thread_error(tid, "ptrace(GETREGS)", e))?;
        let result = self.run_filter_install(tid, &saved, &prog);
        // Whatever happened, the program's registers go back.
        ptrace::set_regs(tid, &saved).map_err(|e| thread_error(tid, "ptrace(SETREGS)", e))?;
        if let Some(t) = self.threads.get_mut(&tid) {
            t.regs = Some(saved);
            t.regs_dirty = false;
        }
        result?;
        let mut options = ptrace::TRACE_OPTIONS | libc::PTRACE_O_TRACESECCOMP;
        if self.launched {
            options |= libc::PTRACE_O_EXITKILL;
        }
        ptrace::set_options(tid, options).map_err(|e| Error::os("ptrace(PTRACE_SETOPTIONS)", e))?;
        self.sys.filter_installed(set);
        trace!("syscalls: seccomp filter for {} calls installed", set.numbers().len());
        Ok(())
    }

    fn run_filter_install(
        &mut self,
        tid: i32,
        saved: &libc::user_regs_struct,
        prog: &[filter::Insn],
    ) -> Result<()> {
        let syscall_insn = self.vdso_syscall_insn().ok_or(Error::Os {
            call: "seccomp filter: no `syscall` instruction found in the vDSO",
            errno: Errno::ENOSYS,
        })?;
        // The program and its struct sock_fprog {u16 len; sock_filter *filter}, below the red
        // zone of the stack.
        let bytes = filter::to_bytes(prog);
        let fprog_at = (saved.rsp - 4096 - bytes.len() as u64 - 16) & !15;
        let filter_at = fprog_at + 16;
        let mut fprog = [0u8; 16];
        fprog[..2].copy_from_slice(&(prog.len() as u16).to_le_bytes());
        fprog[8..].copy_from_slice(&filter_at.to_le_bytes());
        self.memory.write(fprog_at, &fprog).map_err(|(_, e)| e)?;
        self.memory.write(filter_at, &bytes).map_err(|(_, e)| e)?;
        let install = [SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_SPEC_ALLOW, fprog_at, 0, 0, 0];
        let mut r =
            self.inject_syscall_from_exit_stop(tid, saved, syscall_insn, NR_SECCOMP, install)?;
        if r == -(libc::EACCES as i64) {
            let nnp = [PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0, 0];
            let n = self.inject_syscall_from_exit_stop(tid, saved, syscall_insn, NR_PRCTL, nnp)?;
            if n != 0 {
                return Err(Error::os("prctl(PR_SET_NO_NEW_PRIVS) in the tracee", errno_of(n)));
            }
            r =
                self.inject_syscall_from_exit_stop(tid, saved, syscall_insn, NR_SECCOMP, install)?;
        }
        if r != 0 {
            return Err(Error::os("seccomp(SECCOMP_SET_MODE_FILTER) in the tracee", errno_of(r)));
        }
        Ok(())
    }

    /// Makes stopped thread `tid` (at a syscall-exit stop) execute system call `nr` at
    /// `insn` (a `syscall` instruction) and returns its result; the thread is left at that
    /// call's exit stop.
    fn inject_syscall_from_exit_stop(
        &mut self,
        tid: i32,
        base: &libc::user_regs_struct,
        insn: u64,
        nr: u64,
        args: [u64; 6],
    ) -> Result<i64> {
        let mut regs = *base;
        regs.rip = insn;
        regs.rax = nr;
        regs.orig_rax = u64::MAX; // no restart logic on the way out of the current stop
        [regs.rdi, regs.rsi, regs.rdx, regs.r10, regs.r8, regs.r9] = args;
        ptrace::set_regs(tid, &regs).map_err(|e| thread_error(tid, "ptrace(SETREGS)", e))?;
        for _ in 0..2 {
            ptrace::syscall(tid, 0).map_err(|e| thread_error(tid, "ptrace(PTRACE_SYSCALL)", e))?;
            self.wait_injected_stop(tid)?;
        }
        match ptrace::syscall_info(tid) {
            Ok(ptrace::SyscallInfo { op: ptrace::SyscallOp::Exit { rval, .. }, .. }) => Ok(rval),
            other => Err(Error::Internal(format!("injected system call: stop {other:?}"))),
        }
    }

    /// Waits (on the monitor, for one thread that is about to stop) for the next syscall stop
    /// of `tid` during an injection.
    fn wait_injected_stop(&mut self, tid: i32) -> Result<()> {
        match wait::waitpid(tid, libc::__WALL) {
            Ok(Some((_, wait::Status::Stopped { sig: ptrace::SYSCALL_TRAP, event: 0 }))) => Ok(()),
            Ok(Some((t, st @ (wait::Status::Exited(_) | wait::Status::Signaled(_))))) => {
                self.on_wait(t, st);
                Err(Error::Exited)
            }
            other => Err(Error::Internal(format!("installing the seccomp filter: {other:?}"))),
        }
    }

    /// The address of a `syscall` instruction (0f 05) in the process's vDSO.
    fn vdso_syscall_insn(&self) -> Option<u64> {
        let (start, end) = procfs::mapping(self.pid, "[vdso]")?;
        let mut code = vec![0u8; (end - start) as usize];
        let n = self.memory.read(start, &mut code).ok()?;
        code[..n].windows(2).position(|w| w == [0x0f, 0x05]).map(|i| start + i as u64)
    }

    /// ptrace_dbg_set_syscall: at an entry stop of `tid`, the call's number and arguments.
    pub fn set_syscall(&mut self, tid: i32, number: i64, args: Option<[u64; 6]>) -> Result<()> {
        let mut stop = self.syscall_stop(tid, false)?;
        let mut regs =
            self.regs(tid).map_err(|e| thread_error(tid, "ptrace(PTRACE_GETREGS)", e))?;
        regs.orig_rax = number as u64;
        if let Some(a) = args {
            [regs.rdi, regs.rsi, regs.rdx, regs.r10, regs.r8, regs.r9] = a;
            stop.args = a;
        }
        stop.number = number;
        self.write_syscall_regs(tid, &regs, stop)
    }

    /// ptrace_dbg_set_syscall_return: at an exit stop (or an entry stop whose call is skipped),
    /// the result the program sees.
    pub fn set_syscall_return(&mut self, tid: i32, ret: i64) -> Result<()> {
        let t = self.stopped_thread(tid)?;
        let at_entry = t.cause.kind == CauseKind::SyscallEntry;
        let mut stop = self.syscall_stop(tid, !at_entry)?;
        if at_entry && stop.number != -1 {
            return Err(Error::BadState(format!(
                "thread {tid} is at the entry of a call that will run: its result can be set \
                 at the exit, or here after skipping the call (number -1)"
            )));
        }
        let mut regs =
            self.regs(tid).map_err(|e| thread_error(tid, "ptrace(PTRACE_GETREGS)", e))?;
        regs.rax = ret as u64;
        stop.ret = ret;
        stop.is_error = (-4095..0).contains(&ret);
        self.write_syscall_regs(tid, &regs, stop)
    }

    /// The syscall stop `tid` is reported at (exit or entry as asked), or the error.
    fn syscall_stop(&self, tid: i32, exit: bool) -> Result<SyscallStop> {
        let t = self.stopped_thread(tid)?;
        match t.cause.syscall {
            Some(s) if s.is_exit == exit => Ok(s),
            _ => Err(Error::BadState(format!(
                "thread {tid} is not at a system call's {} stop",
                if exit { "exit" } else { "entry" }
            ))),
        }
    }

    fn write_syscall_regs(
        &mut self,
        tid: i32,
        regs: &libc::user_regs_struct,
        stop: SyscallStop,
    ) -> Result<()> {
        ptrace::set_regs(tid, regs).map_err(|e| thread_error(tid, "ptrace(PTRACE_SETREGS)", e))?;
        let t = self.threads.get_mut(&tid).unwrap();
        t.regs = Some(*regs);
        t.regs_dirty = false;
        t.cause.syscall = Some(stop);
        self.dirty = true;
        Ok(())
    }

    /// The syscall mode (for tests and benchmarks).
    pub fn syscall_mode(&self) -> Mode {
        self.sys.mode()
    }
}

fn errno_of(r: i64) -> Errno {
    Errno::from_raw((-r) as i32)
}
