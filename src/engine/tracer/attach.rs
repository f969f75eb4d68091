//! Attaching to a process and launching one: the two ways a Tracer begins.
//!
//! Every method here runs on the monitor thread (see the parent module).

use super::*;

impl Tracer {
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
    pub(super) fn collect_attach_stops(&mut self) {
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
        // Our int3s must not stay behind in a process that runs on untraced.
        self.memory.lift_all();
        self.watch_release_all();
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
        self.sys.launch_stop = true; // a seccomp filter may be installed now (syscalls.rs)
        self.trigger = pid;
        self.set_run(RunState::Stopped);
        Ok(())
    }
}
