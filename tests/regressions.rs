//! Regression tests from a hunt for engine bugs: system calls under breakpoints, steps that
//! end in other ways, exit stops during a continue, group stops, many threads and processes,
//! several host threads on one handle. Tracee: c-tests/tracees/hunt.c.
//! Every test is bounded by timeouts and kills its tracees (launched ones die with their
//! Process, spawned ones with their Spawned).

mod common;

use common::*;
use ptrace_dbg::engine::{CauseKind, Error, ExitStatus, Process, ThreadState};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
/// c-tests/tracees/hunt.c, compiled on first use.
fn hunt() -> PathBuf {
    build_tracee("hunt")
}

fn hunt_launch_with(
    args: &[&str],
    f: impl FnOnce(&mut ptrace_dbg::engine::LaunchOptions),
) -> Process {
    let mut opts = ptrace_dbg::engine::LaunchOptions::new();
    opts.argv = std::iter::once("hunt").chain(args.iter().copied()).map(Into::into).collect();
    f(&mut opts);
    Process::launch(&hunt(), &opts).expect("launch hunt")
}

fn hunt_launch(args: &[&str]) -> Process {
    hunt_launch_with(args, |_| {})
}

/// Address of `symbol` of hunt in process `pid`.
fn hsym(pid: i32, symbol: &str) -> u64 {
    program_symbol(&hunt(), pid, symbol)
}

/// Spawns hunt as the test's own child and waits for "ready".
fn hunt_spawn(args: &[&str]) -> Spawned {
    let mut child =
        Command::new(hunt()).args(args).stdout(Stdio::piped()).spawn().expect("spawn hunt");
    let pid = child.id() as i32;
    let mut out = child.stdout.take().unwrap();
    let line = read_line(&mut out, WAIT).expect("hunt did not get ready");
    assert!(line.starts_with("ready"), "unexpected first line {line:?}");
    std::mem::forget(out);
    Spawned { child, pid }
}

fn kill_ext(pid: i32, sig: i32) {
    // SAFETY: kill takes two integers.
    assert_eq!(unsafe { libc::kill(pid, sig) }, 0);
}

fn tgkill(pid: i32, tid: i32, sig: i32) {
    // SAFETY: tgkill takes three integers.
    assert_eq!(unsafe { libc::syscall(libc::SYS_tgkill, pid, tid, sig) }, 0);
}

/// Continues until exit like run_to_exit, but with a short per-stop timeout, returning the
/// error instead of panicking.
fn run_to_exit_bounded(
    p: &Process,
    per_stop: Duration,
) -> Result<Vec<(i32, CauseKind, i32)>, String> {
    let mut seen = Vec::new();
    for _ in 0..100_000 {
        p.cont().map_err(|e| format!("cont: {e} after {seen:?}"))?;
        match p.wait_stop(Some(per_stop)) {
            Ok(tid) => {
                let c = if tid > 0 { p.stop_cause(tid).ok() } else { None };
                let (kind, sig) = c.map_or((CauseKind::Stopped, 0), |c| (c.kind, c.signal));
                if seen.len() < 64 {
                    seen.push((tid, kind, sig));
                }
            }
            Err(Error::Exited) => return Ok(seen),
            Err(e) => {
                let tail: Vec<_> = seen.iter().rev().take(5).collect();
                return Err(format!("wait_stop: {e} (last stops {tail:?})"));
            }
        }
    }
    Err("did not exit".into())
}

/// Continues until some thread stops at a breakpoint; returns it.
fn cont_to_breakpoint(p: &Process) -> i32 {
    for _ in 0..100 {
        let (tid, kind) = cont_and_wait(p).unwrap();
        if kind == CauseKind::Breakpoint {
            return tid;
        }
    }
    panic!("no breakpoint hit");
}

// ----- 1. breakpoint on a `syscall` instruction -------------------------------------------

/// Continuing from a breakpoint on a `syscall` instruction single-steps it; on x86-64 the
/// kernel reports that step with SIGTRAP si_code TRAP_BRKPT (user_single_step_report), not
/// TRAP_TRACE. The engine takes it for the program's own SIGTRAP, reports a Signal stop and
/// delivers SIGTRAP on the next continue: the program dies.
#[test]
fn breakpoint_on_a_syscall_instruction_is_stepped_over_cleanly() {
    let p = hunt_launch(&["sysbp", "3"]);
    let addr = hsym(p.pid(), "hunt_getpid_syscall");
    p.add_breakpoint(addr).unwrap();
    let stops = run_to_exit_bounded(&p, WAIT).unwrap();
    let st = p.exit_status().unwrap();
    let hits = stops.iter().filter(|s| s.1 == CauseKind::Breakpoint).count();
    assert_eq!(st, ExitStatus { code: 0, signal: 0 }, "program must exit 0; stops were {stops:?}");
    assert_eq!(hits, 3, "three hits; stops {stops:?}");
    assert!(
        !stops.iter().any(|s| s.1 == CauseKind::Signal && s.2 == libc::SIGTRAP),
        "a fake SIGTRAP signal stop was reported: {stops:?}"
    );
}

/// Same defect through Process::step on a thread whose PC is at a `syscall` instruction.
#[test]
fn stepping_a_syscall_instruction_ends_as_a_plain_step() {
    let p = hunt_launch(&["sysbp", "1"]);
    let addr = hsym(p.pid(), "hunt_getpid_syscall");
    p.add_breakpoint(addr).unwrap();
    let (tid, kind) = cont_and_wait(&p).unwrap();
    assert_eq!(kind, CauseKind::Breakpoint);
    p.step(tid).unwrap();
    let cause = p.stop_cause(tid).unwrap();
    let rip = p.get_regs(tid).unwrap().rip;
    p.remove_breakpoint(addr).unwrap();
    let rest = run_to_exit_bounded(&p, WAIT).unwrap();
    assert_eq!(
        (cause.kind, rip),
        (CauseKind::Stopped, addr + 2),
        "a step over `syscall` must end as a plain step one instruction on (cause {cause:?})"
    );
    assert_eq!(p.exit_status().unwrap(), ExitStatus { code: 0, signal: 0 }, "stops {rest:?}");
}

// ----- 2. step with a signal to deliver ------------------------------------------------------

/// Process::step of a thread stopped with a signal (handler installed): PTRACE_SINGLESTEP with
/// the signal sets up the handler frame and then reports SIGTRAP with si_code SIGTRAP
/// (ptrace_notify from signal_delivered), not TRAP_TRACE: the engine reports a SIGTRAP signal
/// stop and delivers SIGTRAP on continue, killing the program.
#[test]
fn stepping_from_a_signal_stop_enters_the_handler_cleanly() {
    let p = hunt_launch(&["sigstep"]);
    let (tid, kind) = cont_and_wait(&p).unwrap();
    assert_eq!(kind, CauseKind::Signal);
    assert_eq!(p.stop_cause(tid).unwrap().signal, libc::SIGUSR1);
    p.step(tid).unwrap();
    let cause = p.stop_cause(tid).unwrap();
    let rest = run_to_exit_bounded(&p, WAIT).unwrap();
    let st = p.exit_status().unwrap();
    assert_eq!(cause.kind, CauseKind::Stopped, "step ended with {cause:?}");
    assert_eq!(st, ExitStatus { code: 0, signal: 0 }, "stops after the step: {rest:?}");
}

// ----- 3. breakpoint on a blocking system call ------------------------------------------------

/// A worker sits at a breakpoint on a `syscall` of read() on a pipe that main writes only a
/// little later. Continue steps the worker over the (blocking) read while every other thread
/// stays stopped: main never writes, the program never progresses.
#[test]
fn step_over_a_blocking_syscall_lets_the_other_threads_run() {
    let p = hunt_launch(&["readblock"]);
    let addr = hsym(p.pid(), "hunt_read_syscall");
    p.add_breakpoint(addr).unwrap();
    let tid = cont_to_breakpoint(&p);
    assert_ne!(tid, p.pid());
    // Without the bug the program ends ~300 ms later.
    let r = run_to_exit_bounded(&p, Duration::from_secs(5));
    let main_state = task_state(p.pid(), p.pid());
    if r.is_err() {
        let _ = p.kill();
    }
    assert!(r.is_ok(), "program did not finish: {r:?}; main thread state {main_state:?}");
}

/// Single thread blocked in read() while being stepped over a breakpoint on its `syscall`
/// (continue). stop() interrupts the read; the syscall's exit work still reports the single
/// step (SIGTRAP, TRAP_BRKPT) and that signal is dequeued right after our interrupt stop: the
/// next continue reports it as the program's own SIGTRAP and the one after delivers it.
#[test]
fn stop_during_a_blocked_step_over_leaves_no_sigtrap_behind() {
    let (r, w) = pipe();
    use std::os::fd::AsRawFd;
    let rfd = r.as_raw_fd();
    let p = hunt_launch_with(&["readstdin"], |o| o.stdio[0] = rfd);
    let addr = hsym(p.pid(), "hunt_read_syscall");
    p.add_breakpoint(addr).unwrap();
    assert_eq!(cont_to_breakpoint(&p), p.pid());
    p.cont().unwrap();
    // Blocked in read, being stepped.
    assert!(matches!(wait_stop_within(&p, Duration::from_millis(200)), Err(Error::Timeout(_))));
    p.stop().unwrap();
    p.remove_breakpoint(addr).unwrap();
    nix::unistd::write(&w, b"x").unwrap();
    let stops = run_to_exit_bounded(&p, WAIT).unwrap();
    drop(r);
    assert_eq!(
        p.exit_status().unwrap(),
        ExitStatus { code: 0, signal: 0 },
        "stops after stop(): {stops:?}"
    );
}

/// A thread sitting at a breakpoint (its `check_pc` set) receives its PTRACE_EVENT_EXIT because
/// another thread called exit_group (here: deterministically, by single-stepping that thread
/// into exit_group; an exit_group racing an all-stop does the same, see
/// hunt_exit_group_while_threads_hit_breakpoints). The next continue "steps it over the
/// breakpoint" from its exit stop: no step trap ever comes, only (eventually) its exit status,
/// and the continue never resumes the other threads held in their exit stops. Nothing exits.
#[test]
fn continue_after_a_thread_at_a_breakpoint_got_its_exit_stop() {
    // On this kernel the zapped thread sometimes stays in its old stop (SIGKILL consumed, no
    // exit stop) until continued; then this run cannot show the bug: try again (bounded).
    for _attempt in 0..8 {
        if let Some(r) = exit_stop_at_breakpoint_attempt() {
            let (r, states) = r;
            assert!(r.is_ok(), "{r:?}; thread states {states:?}");
            return;
        }
    }
    panic!("could not get main into its exit stop at a breakpoint in 8 attempts");
}

/// The stops seen (or why it failed), and the thread states at the end.
type Attempt = (Result<Vec<(i32, CauseKind, i32)>, String>, Vec<(i32, Option<ThreadState>)>);

fn exit_stop_at_breakpoint_attempt() -> Option<Attempt> {
    let p = hunt_launch(&["exitgrp_bp"]);
    let main = p.pid();
    let addr = hsym(main, "hunt_fn");
    let go = hsym(main, "hunt_go");
    p.add_breakpoint(addr).unwrap();
    // Until main sits at the breakpoint (the worker is spinning by then).
    loop {
        let (tid, kind) = cont_and_wait(&p).unwrap();
        if kind == CauseKind::Breakpoint && tid == main && p.threads().unwrap().len() == 2 {
            break;
        }
    }
    let worker = p.threads().unwrap()[1];
    p.poke(main, go, &1u64.to_le_bytes()).unwrap();
    // Step the worker out of its spin loop into exit_group.
    let mut exited = false;
    for _ in 0..1000 {
        p.step(worker).unwrap();
        if p.stop_cause(worker).unwrap().kind == CauseKind::ThreadExit {
            exited = true;
            break;
        }
    }
    assert!(exited, "the worker did not reach exit_group");
    // Wait (bounded) until the monitor has seen main's exit stop: any monitor call makes it
    // sweep its pending wait statuses first.
    let deadline = Instant::now() + Duration::from_secs(2);
    while p.thread_state(main).unwrap() != ThreadState::StoppedExiting {
        if Instant::now() >= deadline {
            return None;
        }
        p.executed_in_place().unwrap();
        std::thread::yield_now();
    }
    let r = run_to_exit_bounded(&p, Duration::from_secs(5));
    let states: Vec<_> =
        p.threads().unwrap_or_default().iter().map(|&t| (t, p.thread_state(t).ok())).collect();
    Some((r, states))
}

/// SIGKILL from outside while a thread is stepped over a blocking syscall (others held).
#[test]
fn sigkill_during_a_blocked_step_over_ends_in_exited() {
    let p = hunt_launch(&["readblock"]);
    let addr = hsym(p.pid(), "hunt_read_syscall");
    p.add_breakpoint(addr).unwrap();
    cont_to_breakpoint(&p);
    p.cont().unwrap();
    kill_ext(p.pid(), libc::SIGKILL);
    // The kill stops the world (exit events) or ends it (continue returns before the monitor
    // has resumed anything: the kill can find every thread still stopped, and they exit
    // without exit stops); then run on to the exit.
    match p.wait_stop(Some(WAIT)) {
        Ok(_) => {
            let r = run_to_exit_bounded(&p, WAIT);
            assert!(r.is_ok(), "{r:?}");
        }
        Err(Error::Exited) => {}
        Err(e) => panic!("{e}"),
    }
    assert_eq!(p.exit_status().unwrap().signal, libc::SIGKILL);
}

// ----- 4. SIGTRAP blocked or ignored ----------------------------------------------------------

#[test]
fn breakpoints_work_with_sigtrap_blocked_or_ignored() {
    for mode in ["trapblock", "trapign"] {
        let p = hunt_launch(&[mode, "5"]);
        let addr = hsym(p.pid(), "hunt_fn");
        p.add_breakpoint(addr).unwrap();
        let stops = run_to_exit_bounded(&p, WAIT).unwrap();
        let hits = stops.iter().filter(|s| s.1 == CauseKind::Breakpoint).count();
        assert_eq!(
            p.exit_status().unwrap(),
            ExitStatus { code: 0, signal: 0 },
            "{mode}: {stops:?}"
        );
        assert_eq!(hits, 5, "{mode}: {stops:?}");
    }
}

// ----- 5. exit_group / exec while breakpoints are hit ----------------------------------------

#[test]
fn exit_group_while_threads_hit_breakpoints() {
    for _ in 0..5 {
        let p = hunt_launch(&["bp_exit", "4"]);
        let addr = hsym(p.pid(), "hunt_fn");
        p.add_breakpoint(addr).unwrap();
        let r = run_to_exit_bounded(&p, WAIT);
        assert!(r.is_ok(), "{r:?}");
        assert_eq!(p.exit_status().unwrap(), ExitStatus { code: 3, signal: 0 });
    }
}

#[test]
fn exec_while_threads_hit_breakpoints() {
    for _ in 0..5 {
        let p = hunt_launch(&["bp_exec", "3"]);
        let addr = hsym(p.pid(), "hunt_fn");
        p.add_breakpoint(addr).unwrap();
        let r = run_to_exit_bounded(&p, WAIT);
        assert!(r.is_ok(), "{r:?}");
        assert_eq!(p.exit_status().unwrap(), ExitStatus { code: 5, signal: 0 });
    }
}

#[test]
fn thread_creation_racing_breakpoint_hits_loses_none() {
    let p = hunt_launch(&["spawn_bp", "200"]);
    let addr = hsym(p.pid(), "hunt_fn");
    p.add_breakpoint(addr).unwrap();
    let mut hits = 0;
    for _ in 0..100_000 {
        p.cont().unwrap();
        match p.wait_stop(Some(WAIT)) {
            Ok(_) => {
                for t in p.threads().unwrap() {
                    if let Ok(c) = p.stop_cause(t) {
                        if c.kind == CauseKind::Breakpoint {
                            hits += 1;
                        }
                    }
                }
            }
            Err(Error::Exited) => break,
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(p.exit_status().unwrap(), ExitStatus { code: 0, signal: 0 });
    assert_eq!(hits, 400, "every call of hunt_fn (2 per round) reported once");
}

// ----- 6. detach while threads sit in their exit stops ---------------------------------------

#[test]
fn detach_while_threads_sit_in_exit_stops() {
    let mut child = hunt_spawn(&["exit_on_usr1", "3"]);
    let p = Process::attach(child.pid).unwrap();
    p.cont().unwrap();
    tgkill(child.pid, child.pid, libc::SIGUSR1);
    let tid = p.wait_stop(Some(WAIT)).unwrap();
    assert_eq!(p.stop_cause(tid).unwrap().signal, libc::SIGUSR1);
    // Continue into exit stops.
    let mut saw_exit = false;
    for _ in 0..20 {
        let (tid, kind) = cont_and_wait(&p).unwrap();
        if kind == CauseKind::ThreadExit {
            let _ = tid;
            saw_exit = true;
            break;
        }
        if kind == CauseKind::Signal {
            continue;
        }
    }
    assert!(saw_exit);
    p.detach().unwrap();
    let st = child.wait_exit();
    assert_eq!(st.code(), Some(4));
}

// ----- 7. group stop from outside ------------------------------------------------------------

#[test]
fn group_stop_from_outside_is_one_stop_then_runs_and_detaches() {
    let child = Spawned::ready(&["spin", "2"]).0;
    let p = Process::attach(child.pid).unwrap();
    p.cont().unwrap();
    kill_ext(child.pid, libc::SIGSTOP);
    let tid = p.wait_stop(Some(WAIT)).unwrap();
    let c = p.stop_cause(tid).unwrap();
    assert_eq!((c.kind, c.signal), (CauseKind::Signal, libc::SIGSTOP));
    // Deliver it: a group stop, reported as a stop.
    let (_, k) = cont_and_wait(&p).unwrap();
    assert_eq!(k, CauseKind::Stopped);
    // Resume from the group stop; it must run.
    p.cont().unwrap();
    assert!(matches!(wait_stop_within(&p, Duration::from_millis(300)), Err(Error::Timeout(_))));
    p.detach().unwrap();
    // The outsider's SIGSTOP was never answered by a SIGCONT: the kernel puts the untraced
    // process back into its group stop (by design). SIGCONT must then let every thread run.
    kill_ext(child.pid, libc::SIGCONT);
    let deadline = Instant::now() + WAIT;
    loop {
        let stuck: Vec<_> = live_tasks(child.pid)
            .into_iter()
            .filter(|&t| matches!(task_state(child.pid, t), Some('t') | Some('T')))
            .collect();
        if stuck.is_empty() {
            break;
        }
        assert!(Instant::now() < deadline, "threads {stuck:?} still stopped after SIGCONT");
        std::thread::yield_now();
    }
    let status = std::fs::read_to_string(format!("/proc/{}/status", child.pid)).unwrap();
    assert!(status.contains("TracerPid:\t0"));
}

// ----- 8. many threads, many processes, concurrency -----------------------------------------

#[test]
fn attach_to_1000_threads() {
    let (child, _) = Spawned::ready(&["threads", "1000"]);
    let t0 = Instant::now();
    let p = Process::attach(child.pid).expect("attach");
    let took = t0.elapsed();
    assert_eq!(p.threads().unwrap().len(), 1001);
    p.cont().unwrap();
    p.stop().unwrap();
    p.detach().unwrap();
    for t in live_tasks(child.pid) {
        assert_ne!(task_state(child.pid, t), Some('t'));
    }
    assert!(took < Duration::from_secs(20), "attach took {took:?}");
}

#[test]
fn ten_processes_traced_at_once() {
    let handles: Vec<_> = (0..10)
        .map(|_| {
            std::thread::spawn(|| {
                let p = launch(&["bp_threads", "3", "50"]);
                let addr = symbol_addr(p.pid(), "target_fn");
                p.add_breakpoint(addr).unwrap();
                let stops = run_to_exit_bounded(&p, WAIT).unwrap();
                let hits = stops.len();
                (p.exit_status().unwrap(), hits)
            })
        })
        .collect();
    for h in handles {
        let (st, _) = h.join().unwrap();
        assert_eq!(st, ExitStatus { code: 0, signal: 0 });
    }
}

/// One host thread continues as fast as it can, another calls stop(): stop() should return
/// once the process was stopped, not wait out its 30 s timeout.
#[test]
fn stop_racing_cont_from_another_host_thread_returns_promptly() {
    let p = Arc::new(launch(&["spin", "2"]));
    let done = Arc::new(AtomicBool::new(false));
    let p2 = p.clone();
    let d2 = done.clone();
    let conter = std::thread::spawn(move || {
        while !d2.load(Ordering::Relaxed) {
            let _ = p2.cont();
        }
    });
    let mut worst = Duration::ZERO;
    let mut errors = Vec::new();
    for _ in 0..20 {
        let t0 = Instant::now();
        if let Err(e) = p.stop() {
            errors.push(e.to_string());
        }
        worst = worst.max(t0.elapsed());
        if worst > Duration::from_secs(5) {
            break;
        }
    }
    done.store(true, Ordering::Relaxed);
    conter.join().unwrap();
    let _ = p.kill();
    assert!(worst < Duration::from_secs(5), "stop() took {worst:?}; errors {errors:?}");
}

/// Two host threads hammer one process with queries and run control; nothing may deadlock or
/// panic, and get_regs of a stopped thread must succeed.
#[test]
fn concurrent_queries_and_run_control_from_several_host_threads() {
    let p = Arc::new(launch(&["bp_threads", "4", "100000000"]));
    let addr = symbol_addr(p.pid(), "target_fn");
    let done = Arc::new(AtomicBool::new(false));
    let mut hs = Vec::new();
    for _ in 0..3 {
        let p2 = p.clone();
        let d2 = done.clone();
        hs.push(std::thread::spawn(move || {
            let mut buf = [0u8; 16];
            while !d2.load(Ordering::Relaxed) {
                if let Ok(ts) = p2.threads() {
                    for t in ts {
                        let _ = p2.get_regs(t);
                        let _ = p2.peek(t, addr, &mut buf);
                        let _ = p2.thread_state(t);
                    }
                }
                let _ = p2.wait_stop(Some(Duration::from_millis(1)));
            }
        }));
    }
    p.add_breakpoint(addr).unwrap();
    let t0 = Instant::now();
    let mut n = 0;
    while t0.elapsed() < Duration::from_secs(3) {
        p.cont().unwrap();
        let tid = p.wait_stop(Some(WAIT)).expect("wait_stop");
        n += 1;
        if tid > 0 && p.stop_cause(tid).unwrap().kind == CauseKind::Breakpoint {
            let regs = p.get_regs(tid).unwrap();
            assert_eq!(regs.rip, addr);
            let mut b = [0u8; 1];
            p.peek(tid, addr, &mut b).unwrap();
            assert_ne!(b[0], 0xCC, "peek shows our int3");
        }
        if n % 7 == 0 {
            p.cont().unwrap();
            p.stop().unwrap();
        }
    }
    done.store(true, Ordering::Relaxed);
    for h in hs {
        h.join().unwrap();
    }
    p.kill().unwrap();
    assert!(n > 10);
    let _ = ThreadState::Stopped;
}

/// wait_stop's timeout is honoured (neither early nor much late).
#[test]
fn wait_stop_timeout_is_neither_early_nor_late() {
    let p = launch(&["spin", "0"]);
    p.cont().unwrap();
    for ms in [0u64, 5, 50, 200] {
        let t0 = Instant::now();
        assert!(matches!(wait_stop_within(&p, Duration::from_millis(ms)), Err(Error::Timeout(_))));
        let el = t0.elapsed();
        assert!(el >= Duration::from_millis(ms), "{ms} ms: returned after {el:?}");
        assert!(el < Duration::from_millis(ms + 100), "{ms} ms: returned after {el:?}");
    }
    p.kill().unwrap();
}

/// The event fd across many cont/stop cycles: readable exactly while stopped.
#[test]
fn event_fd_readable_exactly_while_stopped_across_cycles() {
    let p = launch(&["spin", "2"]);
    // Until both threads exist the program stops by itself (thread creation): get past that.
    while p.threads().unwrap().len() < 3 {
        cont_and_wait(&p).unwrap();
    }
    let fd = p.event_fd();
    for _ in 0..200 {
        assert!(poll_readable(fd, Duration::ZERO), "not readable while stopped");
        p.cont().unwrap();
        assert!(!poll_readable(fd, Duration::ZERO), "readable while running");
        p.stop().unwrap();
    }
    p.kill().unwrap();
    assert!(poll_readable(fd, Duration::ZERO), "not readable after exit");
}

/// A process killed from outside: once a read of /proc (maps) says it is gone, every later
/// answer agrees at once: exit_status has the SIGKILL, continue says EXITED (not "running").
/// The monitor reaps the last thread a moment before it publishes the exit; the CI's random
/// driver once saw that window.
#[test]
fn once_proc_says_exited_exit_status_and_continue_agree() {
    for round in 0..50 {
        let p = launch(&["spin", "3"]);
        while p.threads().unwrap().len() < 4 {
            cont_and_wait(&p).unwrap();
        }
        p.cont().unwrap();
        kill_ext(p.pid(), libc::SIGKILL);
        let _limit = deadline(WAIT, format!("round {round}: maps never said Exited"));
        loop {
            match p.maps() {
                Ok(_) => {}
                Err(Error::Exited) => break,
                Err(e) => panic!("round {round}: maps: {e}"),
            }
            // The kill takes the threads to their exit stops: let them go on. The exit may
            // then be published before maps sees the process gone: the same checks follow.
            match p.cont() {
                Ok(()) | Err(Error::BadState(_)) => {}
                Err(Error::Exited) => break,
                Err(e) => panic!("round {round}: cont: {e}"),
            }
        }
        let st = p.exit_status();
        assert!(
            matches!(st, Ok(ExitStatus { signal: libc::SIGKILL, .. })),
            "round {round}: /proc said Exited, exit_status {st:?}"
        );
        let c = p.cont();
        assert!(matches!(c, Err(Error::Exited)), "round {round}: /proc said Exited, cont {c:?}");
    }
}
