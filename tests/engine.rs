//! The engine against real processes: attach, launch, all-stop, events, detach, kill.
//! Every check compares with what the kernel says (/proc, wait statuses).

mod common;

use common::*;
use ptrace_dbg::engine::{CauseKind, Error, ExitStatus, Process, ThreadState};
use std::collections::BTreeSet;
use std::os::fd::AsRawFd;
use std::time::Duration;

fn set(v: &[i32]) -> BTreeSet<i32> {
    v.iter().copied().collect()
}

/// Every thread of an attached process is in a tracing stop ('t') per /proc.
fn assert_all_traced_stopped(pid: i32, p: &Process) {
    let tids = p.threads().unwrap();
    for tid in &tids {
        assert_eq!(task_state(pid, *tid), Some('t'), "thread {tid} is not in a tracing stop");
        assert!(p.thread_state(*tid).unwrap() as i32 >= ThreadState::Stopped as i32);
    }
}

/// After detach every task runs untraced: no 't' or 'T', and TracerPid 0.
fn assert_runs_untraced(pid: i32) {
    for tid in live_tasks(pid) {
        let st = task_state(pid, tid);
        assert!(
            !matches!(st, Some('t') | Some('T')),
            "thread {tid} is in state {st:?} after detach"
        );
        let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/task/{tid}/status")) else {
            continue; // exited since the listing
        };
        assert!(status.contains("TracerPid:\t0"), "thread {tid} still traced: {status}");
    }
}

#[test]
fn attach_stops_every_thread_and_detach_lets_them_run() {
    let (child, _) = Spawned::ready(&["spin", "4"]);
    let p = Process::attach(child.pid).expect("attach");
    let tids = p.threads().unwrap();
    assert_eq!(tids.len(), 5);
    assert_eq!(tids[0], child.pid, "main thread first");
    assert_eq!(set(&tids), set(&proc_tasks(child.pid)));
    assert_all_traced_stopped(child.pid, &p);
    assert_eq!(wait_stop_within(&p, Duration::ZERO).unwrap(), 0, "a requested stop has no trigger");
    p.detach().unwrap();
    assert_runs_untraced(child.pid);
    assert!(matches!(p.threads(), Err(Error::BadState(_))));
}

#[test]
fn attach_finds_threads_created_during_attach() {
    let (child, _) = Spawned::ready(&["churn", "4"]);
    for _ in 0..5 {
        let p = Process::attach(child.pid).expect("attach");
        let listed = set(&p.threads().unwrap());
        // Stopped: /proc can differ only by threads already past their exit.
        for tid in live_tasks(child.pid) {
            assert!(listed.contains(&tid), "live thread {tid} missing from {listed:?}");
        }
        for tid in &listed {
            assert_eq!(task_state(child.pid, *tid), Some('t'), "thread {tid} not stopped");
        }
        p.detach().unwrap();
        assert_runs_untraced(child.pid);
    }
}

#[test]
fn zombie_leader_neither_fails_attach_nor_blocks_stop_and_detach() {
    let (mut child, line) = Spawned::ready(&["pthread_exit_main"]);
    let worker: i32 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    assert_eq!(task_state(child.pid, child.pid), Some('Z'));
    let p = Process::attach(child.pid).expect("attach to a process whose main thread exited");
    assert_eq!(p.threads().unwrap(), vec![worker], "the zombie leader is not listed");
    p.cont().unwrap();
    p.stop().unwrap();
    assert_eq!(task_state(child.pid, worker), Some('t'));
    p.detach().unwrap();
    assert_runs_untraced(child.pid);
    // The process still works untraced: SIGUSR1 makes it exit 7.
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.pid), nix::sys::signal::SIGUSR1)
        .unwrap();
    assert_eq!(child.wait_exit().code(), Some(7));
}

#[test]
fn zombie_leader_process_exit_is_reported() {
    let (mut child, _) = Spawned::ready(&["pthread_exit_main"]);
    let p = Process::attach(child.pid).expect("attach");
    p.cont().unwrap();
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.pid), nix::sys::signal::SIGUSR1)
        .unwrap();
    let tid = p.wait_stop(Some(WAIT)).unwrap();
    assert_eq!(p.stop_cause(tid).unwrap().signal, libc::SIGUSR1);
    let events = run_to_exit(&p);
    assert!(events.iter().any(|e| e.1 == CauseKind::ThreadExit), "exit stop seen: {events:?}");
    assert_eq!(p.exit_status().unwrap(), ExitStatus { code: 7, signal: 0 });
    assert_eq!(child.wait_exit().code(), Some(7));
}

#[test]
fn attach_to_job_control_stopped_process_returns() {
    let (child, _) = Spawned::ready(&["threads", "2"]);
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.pid), nix::sys::signal::SIGSTOP)
        .unwrap();
    // Wait (bounded) on the kernel's word that the group stop completed.
    let deadline = std::time::Instant::now() + WAIT;
    while proc_tasks(child.pid).iter().any(|&t| task_state(child.pid, t) != Some('T')) {
        assert!(std::time::Instant::now() < deadline, "SIGSTOP did not stop the tracee");
        std::thread::yield_now();
    }
    let p = Process::attach(child.pid).expect("attach to a stopped process");
    assert_eq!(p.threads().unwrap().len(), 3);
    p.detach().unwrap();
}

#[test]
fn launch_stops_at_exec_and_reports_exit_code() {
    let p = launch(&["exit", "42"]);
    assert_eq!(p.threads().unwrap(), vec![p.pid()]);
    assert_eq!(wait_stop_within(&p, Duration::ZERO).unwrap(), p.pid());
    assert_eq!(p.stop_cause(p.pid()).unwrap().kind, CauseKind::Exec);
    assert_eq!(task_state(p.pid(), p.pid()), Some('t'));
    let events = run_to_exit(&p);
    let exit = events.iter().find(|e| e.1 == CauseKind::ThreadExit).expect("exit event");
    assert_eq!(exit.0, p.pid());
    assert_eq!(p.exit_status().unwrap(), ExitStatus { code: 42, signal: 0 });
    assert!(matches!(wait_stop_within(&p, Duration::ZERO), Err(Error::Exited)));
    assert!(matches!(p.threads(), Err(Error::Exited)));
    assert!(matches!(p.cont(), Err(Error::Exited)));
}

#[test]
fn thread_exit_event_has_status_while_registers_readable() {
    let p = launch(&["exit", "3"]);
    p.cont().unwrap();
    let tid = p.wait_stop(Some(WAIT)).unwrap();
    let cause = p.stop_cause(tid).unwrap();
    assert_eq!(cause.kind, CauseKind::ThreadExit);
    assert_eq!((cause.exit_status, cause.signal), (3, 0));
    assert_eq!(p.thread_state(tid).unwrap(), ThreadState::StoppedExiting);
    assert!(run_to_exit(&p).is_empty());
    assert_eq!(p.exit_status().unwrap().code, 3);
}

#[test]
fn launch_searches_path_for_a_bare_name() {
    let mut opts = ptrace_dbg::engine::LaunchOptions::new();
    opts.argv = vec!["true".into()];
    let p = Process::launch(std::path::Path::new("true"), &opts).expect("launch true from PATH");
    run_to_exit(&p);
    assert_eq!(p.exit_status().unwrap(), ExitStatus { code: 0, signal: 0 });
}

#[test]
fn launch_failure_is_an_error_not_an_exit_127() {
    let opts = ptrace_dbg::engine::LaunchOptions::new();
    match Process::launch(std::path::Path::new("/nonexistent/program"), &opts) {
        Err(Error::Os { call, errno }) => {
            assert_eq!(call, "execve");
            assert_eq!(errno, nix::errno::Errno::ENOENT);
        }
        Err(e) => panic!("unexpected error {e}"),
        Ok(_) => panic!("launching a missing program succeeded"),
    }
    match Process::launch(std::path::Path::new("no-such-program-anywhere"), &opts) {
        Err(Error::Os { errno, .. }) => assert_eq!(errno, nix::errno::Errno::ENOENT),
        Err(e) => panic!("unexpected error {e}"),
        Ok(_) => panic!("launching a missing program succeeded"),
    }
    // A file that is not executable.
    let src = concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml");
    assert!(matches!(
        Process::launch(std::path::Path::new(src), &opts),
        Err(Error::Permission { .. })
    ));
}

/// Launches `tracee ARGS` with stdout to a pipe and returns the first line it prints.
fn first_line_of(args: &[&str], f: impl FnOnce(&mut ptrace_dbg::engine::LaunchOptions)) -> String {
    let (mut r, w) = pipe();
    let p = launch_with(args, |o| {
        o.stdio[1] = w.as_raw_fd();
        f(o)
    });
    drop(w);
    run_to_exit(&p);
    assert_eq!(p.exit_status().unwrap().code, 0);
    read_line(&mut r, WAIT).expect("output line")
}

#[test]
fn launch_passes_env_cwd_and_stdio() {
    assert_eq!(
        first_line_of(&["env", "PTRACE_DBG_TEST"], |o| o.env =
            Some(vec!["PTRACE_DBG_TEST=hello".into()])),
        "hello"
    );
    assert_eq!(first_line_of(&["env", "PATH"], |o| o.env = Some(vec![])), "(unset)");
    // envp NULL inherits the host's environment.
    let home = std::env::var("HOME").unwrap_or_else(|_| "(unset)".into());
    assert_eq!(first_line_of(&["env", "HOME"], |_| {}), home);
    assert_eq!(first_line_of(&["cwd"], |o| o.cwd = Some("/usr/lib".into())), "/usr/lib");
}

#[test]
fn launch_stdin_comes_from_the_given_fd() {
    let (in_r, in_w) = pipe();
    let (mut out_r, out_w) = pipe();
    let p = launch_with(&["echo"], |o| {
        o.stdio[0] = in_r.as_raw_fd();
        o.stdio[1] = out_w.as_raw_fd();
    });
    drop(out_w);
    drop(in_r);
    let mut w = std::fs::File::from(in_w);
    std::io::Write::write_all(&mut w, b"through the pipe\n").unwrap();
    drop(w);
    run_to_exit(&p);
    assert_eq!(read_line(&mut out_r, WAIT).unwrap(), "through the pipe");
}

/// The host's descriptors above 2 without FD_CLOEXEC: the ones any fork/exec passes on.
fn host_inheritable_fds() -> Vec<i32> {
    let mut fds: Vec<i32> = std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .filter(|&fd: &i32| {
            // SAFETY: F_GETFD on an integer only reads the descriptor's flags.
            let flags = unsafe { libc::fcntl(fd, libc::F_GETFD) };
            fd > 2 && flags != -1 && flags & libc::FD_CLOEXEC == 0
        })
        .collect();
    fds.sort();
    fds
}

#[test]
fn launch_leaks_no_library_descriptor() {
    let line = first_line_of(&["fds"], |_| {});
    let got: Vec<i32> = if line == "none" {
        vec![]
    } else {
        line.split(' ').map(|e| e.split(':').next().unwrap().parse().unwrap()).collect()
    };
    assert_eq!(got, host_inheritable_fds(), "tracee's fds: {line}");
}

#[test]
fn launch_can_disable_aslr() {
    let a = first_line_of(&["stack_addr"], |o| o.disable_aslr = true);
    let b = first_line_of(&["stack_addr"], |o| o.disable_aslr = true);
    assert_eq!(a, b, "stack address differs with ASLR disabled");
    let c = first_line_of(&["stack_addr"], |_| {});
    let d = first_line_of(&["stack_addr"], |_| {});
    assert_ne!(c, d, "ASLR seems off for the machine; the check above proves nothing");
}

#[test]
fn signal_stop_is_reported_and_delivered_on_continue() {
    let p = launch(&["sigusr1"]);
    let (tid, kind) = cont_and_wait(&p).unwrap();
    assert_eq!((tid, kind), (p.pid(), CauseKind::Signal));
    assert_eq!(p.stop_cause(tid).unwrap().signal, libc::SIGUSR1);
    assert_eq!(p.thread_state(tid).unwrap(), ThreadState::StoppedSignal);
    run_to_exit(&p);
    // Exit code 0 means the handler ran exactly once.
    assert_eq!(p.exit_status().unwrap(), ExitStatus { code: 0, signal: 0 });
}

#[test]
fn clone_reports_thread_create_and_traces_the_new_thread() {
    let p = launch(&["clone_exit"]);
    let (tid, kind) = cont_and_wait(&p).unwrap();
    assert_eq!((tid, kind), (p.pid(), CauseKind::ThreadCreate));
    let new_tid = p.stop_cause(tid).unwrap().new_tid;
    assert!(new_tid > 0 && new_tid != p.pid());
    assert_eq!(p.threads().unwrap(), vec![p.pid(), new_tid]);
    assert_eq!(
        task_state(p.pid(), new_tid),
        Some('t'),
        "the new thread is stopped before its first instruction"
    );
    let events = run_to_exit(&p);
    assert!(events.contains(&(new_tid, CauseKind::ThreadExit)), "{events:?}");
    assert_eq!(p.exit_status().unwrap().code, 0);
}

#[test]
fn exec_from_a_non_main_thread_rebuilds_the_thread_table() {
    let tracee = tracee();
    let p = launch(&["exec_from_thread", tracee.to_str().unwrap(), "exit", "5"]);
    let mut saw_exec = false;
    for _ in 0..100 {
        match cont_and_wait(&p) {
            Ok((tid, CauseKind::Exec)) => {
                assert_eq!(tid, p.pid(), "the exec'ing thread takes the leader's tid");
                assert_eq!(p.threads().unwrap(), vec![p.pid()]);
                assert_eq!(live_tasks(p.pid()), vec![p.pid()]);
                saw_exec = true;
            }
            Ok(_) => {}
            Err(Error::Exited) => break,
            Err(e) => panic!("{e}"),
        }
    }
    assert!(saw_exec, "no EXEC stop");
    assert_eq!(p.exit_status().unwrap().code, 5);
}

#[test]
fn forked_children_run_untraced_to_their_own_exit() {
    let p = launch(&["forks"]);
    run_to_exit(&p);
    // The tracee exits 0 only if its fork and vfork children exited 11 and 12 on their own.
    assert_eq!(p.exit_status().unwrap(), ExitStatus { code: 0, signal: 0 });
}

#[test]
fn sigkill_from_outside_while_running_ends_in_exited() {
    let p = launch(&["spin", "3"]);
    p.cont().unwrap();
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(p.pid()), nix::sys::signal::SIGKILL).unwrap();
    run_after_current(&p);
    assert_eq!(p.exit_status().unwrap(), ExitStatus { code: -1, signal: 9 });
}

#[test]
fn sigkill_from_outside_while_stopped_ends_in_exited() {
    let p = launch(&["spin", "3"]);
    p.cont().unwrap();
    p.stop().unwrap();
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(p.pid()), nix::sys::signal::SIGKILL).unwrap();
    run_after_current(&p);
    assert_eq!(p.exit_status().unwrap(), ExitStatus { code: -1, signal: 9 });
}

/// Waits for the current stop (if running) and continues until exit.
fn run_after_current(p: &Process) {
    match p.wait_stop(Some(WAIT)) {
        Ok(_) => {
            run_to_exit(p);
        }
        Err(Error::Exited) => {}
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn kill_reaps_the_process() {
    let p = launch(&["spin", "2"]);
    let pid = p.pid();
    p.cont().unwrap();
    p.kill().unwrap();
    assert_eq!(p.exit_status().unwrap(), ExitStatus { code: -1, signal: 9 });
    assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists(), "not reaped");
    assert!(matches!(p.kill(), Err(Error::Exited)));
}

#[test]
fn stop_and_continue_many_threads() {
    let p = launch(&["spin", "8"]);
    p.cont().unwrap();
    // Let the threads start, waiting on the API (not on time): the clone events stop the world.
    let mut seen = 0;
    while seen < 8 {
        let tid = p.wait_stop(Some(WAIT)).unwrap();
        if p.stop_cause(tid).unwrap().kind == CauseKind::ThreadCreate {
            seen += 1;
        }
        p.cont().unwrap();
    }
    for _ in 0..50 {
        p.stop().unwrap();
        let tids = p.threads().unwrap();
        assert_eq!(tids.len(), 9);
        for t in &tids {
            assert_eq!(task_state(p.pid(), *t), Some('t'));
        }
        p.cont().unwrap();
        assert!(matches!(p.stop_cause(tids[0]), Err(Error::BadState(_))));
    }
    p.kill().unwrap();
}

#[test]
fn wait_stop_times_out_while_running() {
    let p = launch(&["spin", "0"]);
    p.cont().unwrap();
    assert!(matches!(wait_stop_within(&p, Duration::from_millis(20)), Err(Error::Timeout(_))));
    assert!(matches!(wait_stop_within(&p, Duration::ZERO), Err(Error::Timeout(_))));
    assert!(matches!(p.cont(), Err(Error::BadState(_))));
    p.stop().unwrap();
    assert_eq!(wait_stop_within(&p, Duration::ZERO).unwrap(), 0);
}

#[test]
fn event_fd_is_readable_exactly_when_stopped() {
    let p = launch(&["spin", "0"]);
    let fd = p.event_fd();
    assert!(poll_readable(fd, Duration::ZERO), "stopped after launch");
    p.cont().unwrap();
    assert!(!poll_readable(fd, Duration::from_millis(10)), "running");
    p.stop().unwrap();
    assert!(poll_readable(fd, Duration::ZERO), "stopped again");
}

#[test]
fn detach_delivers_the_pending_signal() {
    let (mut child, _) = Spawned::ready(&["sleeper"]);
    let p = Process::attach(child.pid).unwrap();
    p.cont().unwrap();
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.pid), nix::sys::signal::SIGUSR1)
        .unwrap();
    let tid = p.wait_stop(Some(WAIT)).unwrap();
    assert_eq!(p.stop_cause(tid).unwrap().signal, libc::SIGUSR1);
    p.detach().unwrap();
    // The handler (exit 7) runs only if detach delivered the signal.
    assert_eq!(child.wait_exit().code(), Some(7));
}

#[test]
fn attach_errors() {
    assert!(matches!(Process::attach(999_999_999), Err(Error::NoSuchProcess(_))));
    assert!(matches!(Process::attach(0), Err(Error::InvalidArgument(_))));
    assert!(matches!(Process::attach(std::process::id() as i32), Err(Error::InvalidArgument(_))));
    let (child, _) = Spawned::ready(&["threads", "1"]);
    let p = Process::attach(child.pid).unwrap();
    match Process::attach(child.pid) {
        Err(e @ Error::Permission { .. }) => {
            assert!(e.to_string().contains("already traced"), "{e}")
        }
        Err(e) => panic!("unexpected {e}"),
        Ok(_) => panic!("attached twice"),
    }
    let worker = p.threads().unwrap()[1];
    assert!(matches!(Process::attach(worker), Err(Error::InvalidArgument(_))));
    assert!(matches!(p.thread_state(12345678), Err(Error::NoSuchThread(12345678))));
    p.cont().unwrap();
    assert!(matches!(p.stop_cause(child.pid), Err(Error::BadState(_))));
    assert_eq!(p.thread_state(child.pid).unwrap(), ThreadState::Running);
    p.detach().unwrap();
}

#[test]
fn dropping_a_launched_process_kills_it_and_an_attached_one_is_detached() {
    let p = launch(&["spin", "1"]);
    let pid = p.pid();
    drop(p);
    assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists());
    let (child, _) = Spawned::ready(&["spin", "1"]);
    let p = Process::attach(child.pid).unwrap();
    drop(p);
    assert_runs_untraced(child.pid);
}
