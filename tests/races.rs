//! Races of the hand-off paths: a continue only queues its job (`Shared::post_continue`) and
//! the snapshot shows the process resumed until the monitor has run it; the event fd follows
//! the published run state. These tests drive real tracees through the real API from several
//! host threads and check that no stop is lost or doubled, that answers given right after a
//! queued continue agree with each other, and that no wait outlasts the event it waits for.
//! Every wait is bounded; launched tracees die with their Process, spawned ones with their
//! Spawned.

mod common;

use common::*;
use ptrace_dbg::engine::{CauseKind, Error, Process};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

/// The first argument of target_fn at a breakpoint on its entry.
fn arg(p: &Process, tid: i32) -> u64 {
    p.get_regs(tid).expect("get_regs at a breakpoint").rdi
}

/// The tracee's `bp_loop N` (hits target_fn N times, its argument the loop counter) with a
/// breakpoint on target_fn: the process, its pid, the breakpoint's address.
fn bp_loop_with_breakpoint(hits: &str) -> (Arc<Process>, i32, u64) {
    let p = Arc::new(launch(&["bp_loop", hits]));
    let pid = p.pid();
    let addr = symbol_addr(pid, "target_fn");
    p.add_breakpoint(addr).unwrap();
    (p, pid, addr)
}

/// Read-only queries from another host thread while the controller runs the process; they
/// must never fail in a way the state cannot explain, and once the process has exited every
/// answer says so.
fn observe(p: &Process, done: &AtomicBool, addr: u64) {
    let fd = p.event_fd();
    let mut exited = false;
    let mut buf = [0u8; 8];
    while !done.load(Ordering::Relaxed) {
        let ts = match p.threads() {
            Ok(ts) => {
                assert!(!exited, "threads() answered after an Exited answer");
                ts
            }
            Err(Error::Exited) => {
                exited = true;
                Vec::new()
            }
            Err(e) => panic!("threads: {e}"),
        };
        for t in ts {
            match p.thread_state(t) {
                Ok(_) | Err(Error::NoSuchThread(_)) => {}
                Err(Error::Exited) => exited = true,
                Err(e) => panic!("thread_state: {e}"),
            }
            match p.get_regs(t) {
                Ok(_) | Err(Error::BadState(_)) | Err(Error::NoSuchThread(_)) => {}
                Err(Error::Exited) => exited = true,
                Err(e) => panic!("get_regs: {e}"),
            }
            match p.peek(t, addr, &mut buf) {
                Ok(_) => assert_ne!(buf[0], 0xCC, "peek shows our int3"),
                Err((_, Error::BadState(_))) | Err((_, Error::NoSuchThread(_))) => {}
                Err((_, Error::Exited)) => exited = true,
                Err((_, e)) => panic!("peek: {e}"),
            }
        }
        let _ = poll_readable(fd, Duration::ZERO);
        match p.wait_stop(Some(Duration::ZERO)) {
            Ok(_) | Err(Error::Timeout(_)) => assert!(!exited, "wait_stop: a stop after Exited"),
            Err(Error::Exited) => exited = true,
            Err(e) => panic!("wait_stop(0): {e}"),
        }
        if exited {
            assert!(p.exit_status().is_ok(), "Exited, but exit_status {:?}", p.exit_status());
        }
    }
}

/// Two host threads running `observe` on `p` until the flag returned is set.
fn observers(p: &Arc<Process>, addr: u64) -> (Arc<AtomicBool>, Vec<std::thread::JoinHandle<()>>) {
    let done = Arc::new(AtomicBool::new(false));
    let threads = (0..2)
        .map(|_| {
            let (p, done) = (p.clone(), done.clone());
            std::thread::spawn(move || observe(&p, &done, addr))
        })
        .collect();
    (done, threads)
}

/// Every breakpoint hit is reported once, in order, while other host threads query the
/// process: the argument of each hit is the next one (a doubled stop repeats one, a lost one
/// skips one). Right after a continue returns, what the caller sees is either the process
/// running or the next stop, never the stop the continue ended: the thread's state, the event
/// fd, and `wait_stop(0)` agree with each other.
#[test]
fn each_hit_reported_once_right_after_queued_continues() {
    const HITS: u64 = 400;
    for round in 0..3 {
        let (p, pid, addr) = bp_loop_with_breakpoint(&HITS.to_string());
        let fd = p.event_fd();
        let (done, observers) = observers(&p, addr);
        for want in 0..HITS {
            p.cont().unwrap();
            // At once, from the same thread: running, or already the next hit.
            match p.thread_state(pid) {
                Ok(s) if s.is_stopped() => {
                    assert_eq!(arg(&p, pid), want, "round {round}: stale stop right after cont")
                }
                Ok(_) => {}
                Err(e) => panic!("round {round} hit {want}: thread_state: {e}"),
            }
            if poll_readable(fd, Duration::ZERO) {
                match p.wait_stop(Some(Duration::ZERO)) {
                    Ok(tid) => assert_eq!(tid, pid),
                    Err(e) => panic!("round {round} hit {want}: fd readable, wait_stop(0) {e}"),
                }
                assert_eq!(arg(&p, pid), want, "round {round}: readable for the old stop");
            }
            let tid = p.wait_stop(Some(WAIT)).unwrap_or_else(|e| {
                panic!("round {round} hit {want}: wait_stop: {e}");
            });
            assert_eq!(tid, pid);
            assert_eq!(p.stop_cause(tid).unwrap().kind, CauseKind::Breakpoint);
            assert_eq!(arg(&p, tid), want, "round {round}: hit lost or doubled");
            assert!(poll_readable(fd, Duration::ZERO), "round {round}: stopped, fd not readable");
        }
        // Then the main thread's exit stop, then the exit.
        let rest = run_to_exit(&p);
        assert!(
            rest.iter().all(|&(_, k)| k == CauseKind::ThreadExit),
            "round {round}: after the last hit {rest:?}"
        );
        assert_eq!(p.exit_status().unwrap().code, 0);
        assert!(poll_readable(fd, Duration::ZERO), "exited, fd not readable");
        done.store(true, Ordering::Relaxed);
        for o in observers {
            o.join().unwrap();
        }
    }
}

/// Several threads hit one breakpoint: at each stop every thread whose cause is Breakpoint
/// has its hit counted by its argument; each thread's hits must be 0, 1, 2, ... with none
/// lost or doubled, across continues queued while two other host threads query.
#[test]
fn threads_hits_neither_lost_nor_doubled_with_observers() {
    const THREADS: usize = 3;
    const CALLS: u64 = 150;
    let p = Arc::new(launch(&["bp_threads", &THREADS.to_string(), &CALLS.to_string()]));
    let addr = symbol_addr(p.pid(), "target_fn");
    p.add_breakpoint(addr).unwrap();
    let (done, observers) = observers(&p, addr);
    let mut next: std::collections::BTreeMap<i32, u64> = Default::default();
    let _limit = deadline(Duration::from_secs(240), "threads_hits test");
    loop {
        p.cont().unwrap();
        match p.wait_stop(Some(WAIT)) {
            Ok(_) => {}
            Err(Error::Exited) => break,
            Err(e) => panic!("wait_stop: {e} (hits so far {next:?})"),
        }
        for t in p.threads().unwrap() {
            let Ok(c) = p.stop_cause(t) else { continue };
            if c.kind == CauseKind::Breakpoint {
                let a = arg(&p, t);
                let n = next.entry(t).or_insert(0);
                assert_eq!(a, *n, "thread {t}: hit {a} where {n} was next (lost or doubled)");
                *n += 1;
            }
        }
    }
    assert_eq!(p.exit_status().unwrap().code, 0);
    let workers: Vec<u64> = next.values().copied().filter(|&n| n > 0).collect();
    assert_eq!(workers, vec![CALLS; THREADS], "hits per thread {next:?}");
    done.store(true, Ordering::Relaxed);
    for o in observers {
        o.join().unwrap();
    }
}

/// What another host thread does right after a continue was queued (before the monitor has
/// necessarily run it).
#[derive(Clone, Copy, Debug)]
enum Other {
    Stop,
    Kill,
    Step,
    Cont,
    WaitStop,
}

/// One host thread continues a process stopped at a breakpoint; another, released the moment
/// the continue returns, stops, kills, steps, continues or waits. Neither call may hang or
/// give an answer its state cannot explain, and afterwards every answer agrees: a stopped
/// process shows stopped (fd readable, wait_stop(0) at once), a killed one exited.
#[test]
fn continue_then_another_thread_acts_at_once() {
    let others = [Other::Stop, Other::Kill, Other::Step, Other::Cont, Other::WaitStop];
    for round in 0..150 {
        let other = others[round % others.len()];
        let (p, pid, _) = bp_loop_with_breakpoint("100000000");
        let fd = p.event_fd();
        let (tid, kind) = cont_and_wait(&p).unwrap();
        assert_eq!((tid, kind), (pid, CauseKind::Breakpoint));
        let go = Arc::new(AtomicU32::new(0));
        let ready = Arc::new(Barrier::new(2));
        let (p2, go2, ready2) = (p.clone(), go.clone(), ready.clone());
        let actor = std::thread::spawn(move || {
            ready2.wait();
            while go2.load(Ordering::Acquire) == 0 {
                std::hint::spin_loop();
            }
            let t0 = Instant::now();
            let r = match other {
                Other::Stop => p2.stop(),
                Other::Kill => p2.kill(),
                Other::Step => p2.step(pid),
                Other::Cont => p2.cont(),
                Other::WaitStop => p2.wait_stop(Some(WAIT)).map(|_| ()),
            };
            (r, t0.elapsed())
        });
        let _limit = deadline(Duration::from_secs(60), format!("round {round} ({other:?})"));
        ready.wait();
        p.cont().unwrap();
        go.store(1, Ordering::Release);
        let t0 = Instant::now();
        let mine = p.wait_stop(Some(WAIT));
        let mine_took = t0.elapsed();
        let (theirs, theirs_took) = actor.join().unwrap();
        let what = format!(
            "round {round} ({other:?}): wait_stop {mine:?} in {mine_took:?}, \
             theirs {theirs:?} in {theirs_took:?}"
        );
        assert!(!matches!(mine, Err(Error::Timeout(_))), "{what}");
        assert!(
            mine_took < Duration::from_secs(10) && theirs_took < Duration::from_secs(10),
            "{what}"
        );
        match other {
            Other::Kill => {
                assert!(theirs.is_ok(), "{what}");
                assert!(matches!(mine, Ok(_) | Err(Error::Exited)), "{what}");
                assert_eq!(p.exit_status().unwrap().signal, libc::SIGKILL, "{what}");
                assert!(matches!(p.wait_stop(Some(Duration::ZERO)), Err(Error::Exited)), "{what}");
                assert!(matches!(p.cont(), Err(Error::Exited)), "{what}");
                assert!(matches!(p.thread_state(pid), Err(Error::Exited)), "{what}");
                assert!(poll_readable(fd, Duration::ZERO), "{what}: exited, fd not readable");
                continue;
            }
            Other::Stop => assert!(theirs.is_ok(), "{what}"),
            Other::Step => {
                assert!(matches!(theirs, Ok(()) | Err(Error::BadState(_))), "{what}")
            }
            Other::Cont => {
                assert!(matches!(theirs, Ok(()) | Err(Error::BadState(_))), "{what}");
                if theirs.is_ok() {
                    // It continued from the stop my wait saw (or the one after): stop it.
                    p.stop().unwrap_or_else(|e| panic!("{what}: then stop: {e}"));
                }
            }
            Other::WaitStop => {
                theirs.unwrap_or_else(|e| panic!("{what}: {e}"));
            }
        }
        mine.unwrap_or_else(|e| panic!("{what}: {e}"));
        // Stopped now, and every answer says so.
        assert!(poll_readable(fd, Duration::ZERO), "{what}: stopped, fd not readable");
        assert!(p.wait_stop(Some(Duration::ZERO)).is_ok(), "{what}: stopped, wait_stop(0)");
        let s = p.thread_state(pid).unwrap();
        assert!(s.is_stopped(), "{what}: stopped, thread state {s:?}");
        // The stop my continue ended is not the one I saw: the breakpoint (argument 1) or a
        // requested stop after it; a step from the first hit lands inside target_fn.
        if p.stop_cause(pid).unwrap().kind == CauseKind::Breakpoint {
            let a = arg(&p, pid);
            assert!(a >= 1, "{what}: the stop the continue ended ({a}) was reported again");
        }
        p.kill().unwrap();
    }
}

/// One host thread continues a process stopped at a breakpoint; another detaches it at once.
/// The detach must leave the process untraced, running, and clean of int3s, and both calls
/// must return promptly with answers that agree (the waiter learns of the detach).
#[test]
fn continue_then_detach_from_another_thread() {
    for round in 0..60 {
        let child = std::process::Command::new(tracee())
            .args(["bp_loop", "2000000000"])
            .spawn()
            .expect("spawn tracee");
        let spawned = Spawned { pid: child.id() as i32, child };
        let pid = spawned.pid;
        // Attach once it runs the tracee (after its exec).
        let exe = std::fs::canonicalize(tracee()).unwrap();
        let t0 = Instant::now();
        while std::fs::read_link(format!("/proc/{pid}/exe")).ok().as_ref() != Some(&exe) {
            assert!(t0.elapsed() < WAIT, "tracee never ran");
            std::thread::yield_now();
        }
        let p = Arc::new(Process::attach(pid).expect("attach"));
        let addr = symbol_addr(pid, "target_fn");
        let original = raw_mem(pid, addr, 1)[0];
        p.add_breakpoint(addr).unwrap();
        cont_and_wait(&p).unwrap();
        let go = Arc::new(AtomicU32::new(0));
        let (p2, go2) = (p.clone(), go.clone());
        let actor = std::thread::spawn(move || {
            while go2.load(Ordering::Acquire) == 0 {
                std::hint::spin_loop();
            }
            p2.detach()
        });
        let _limit = deadline(Duration::from_secs(60), format!("round {round}"));
        p.cont().unwrap();
        go.store(1, Ordering::Release);
        let mut mine = p.wait_stop(Some(WAIT));
        let theirs = actor.join().unwrap();
        let what = format!("round {round}: wait_stop {mine:?}, detach {theirs:?}");
        assert!(theirs.is_ok(), "{what}");
        if mine.is_ok() {
            // Saw a stop before the detach: the next answer must be the detach.
            mine = p.wait_stop(Some(Duration::ZERO));
        }
        assert!(matches!(mine, Err(Error::BadState(_))), "{what}: then {mine:?}");
        assert!(matches!(p.cont(), Err(Error::BadState(_))), "{what}");
        assert!(p.exit_status().is_err(), "{what}");
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        assert!(status.contains("TracerPid:\t0\n"), "{what}: still traced");
        assert_eq!(raw_mem(pid, addr, 1)[0], original, "{what}: int3 left behind");
        // Running on (not stopped): it leaves any stop state within the wait.
        let t0 = Instant::now();
        loop {
            let st = task_state(pid, pid);
            if matches!(st, Some('R') | Some('S')) {
                break;
            }
            assert!(t0.elapsed() < WAIT, "{what}: state {st:?} after detach");
            std::thread::yield_now();
        }
        drop(p);
        drop(spawned);
    }
}

/// A process killed from outside right after a continue was queued, with more threads than the
/// monitor collects in one sweep: a host thread already in wait_stop and one polling the event
/// fd learn of the exit promptly, and every answer agrees afterwards.
#[test]
fn outside_sigkill_after_queued_continue_wakes_every_waiter() {
    for round in 0..40 {
        let p = Arc::new(launch(&["threads", "80"]));
        let _limit = deadline(Duration::from_secs(60), format!("round {round}"));
        while p.threads().unwrap().len() < 81 {
            if let Err(e) = cont_and_wait(&p) {
                let ts: Vec<_> = p
                    .threads()
                    .unwrap()
                    .into_iter()
                    .map(|t| (t, p.thread_state(t).unwrap()))
                    .collect();
                panic!("round {round}: setting up: {e}; threads {ts:?}");
            }
        }
        let fd = p.event_fd();
        p.cont().unwrap();
        let p2 = p.clone();
        let waiter = std::thread::spawn(move || {
            let t0 = Instant::now();
            let mut r = p2.wait_stop(Some(WAIT));
            // Stops at exit stops are answered by continuing until the exit.
            while r.is_ok() {
                match p2.cont() {
                    Ok(()) | Err(Error::BadState(_)) => {}
                    Err(e) => return (Err(e), t0.elapsed()),
                }
                r = p2.wait_stop(Some(WAIT));
            }
            (r.map(|_| ()), t0.elapsed())
        });
        // SAFETY: kill takes two integers.
        assert_eq!(unsafe { libc::kill(p.pid(), libc::SIGKILL) }, 0);
        let (r, took) = waiter.join().unwrap();
        assert!(matches!(r, Err(Error::Exited)), "round {round}: waiter got {r:?} after {took:?}");
        assert!(took < Duration::from_secs(10), "round {round}: waiter took {took:?}");
        assert_eq!(p.exit_status().unwrap().signal, libc::SIGKILL);
        assert!(poll_readable(fd, Duration::ZERO), "round {round}: exited, fd not readable");
        assert!(matches!(p.threads(), Err(Error::Exited)));
    }
}

/// Two host threads each continue and wait for the next stop, on one process hitting a
/// breakpoint: continues race (one of them finds the process running, or finds it resumed by
/// the other's queued continue and asks the monitor). Neither may hang, and each thread sees
/// the hits in order, never one twice: a stop it saw is never shown to it again once either
/// continue has been queued.
#[test]
fn two_threads_continue_and_wait_never_see_a_stop_twice() {
    const HITS: u64 = 300;
    for round in 0..4 {
        let (p, _, _) = bp_loop_with_breakpoint(&HITS.to_string());
        let _limit = deadline(Duration::from_secs(120), format!("round {round}"));
        let workers: Vec<_> = (0..2)
            .map(|w| {
                let p = p.clone();
                std::thread::spawn(move || {
                    let mut last: Option<u64> = None;
                    let mut seen = 0u64;
                    loop {
                        // A continue of mine that was accepted ended a stop at or after the
                        // last one I read: the next stop I see is a later one.
                        let mine = match p.cont() {
                            Ok(()) => true,
                            Err(Error::BadState(_)) => false,
                            Err(Error::Exited) => return seen,
                            Err(e) => panic!("round {round} worker {w}: cont: {e}"),
                        };
                        let tid = match p.wait_stop(Some(WAIT)) {
                            Ok(tid) => tid,
                            Err(Error::Exited) => return seen,
                            Err(e) => panic!("round {round} worker {w}: wait_stop: {e}"),
                        };
                        // The other thread may have resumed it since: then these answers are
                        // of a later stop, or errors.
                        let Ok(c) = p.stop_cause(tid) else { continue };
                        if c.kind != CauseKind::Breakpoint {
                            continue;
                        }
                        let Ok(regs) = p.get_regs(tid) else { continue };
                        let a = regs.rdi;
                        if let Some(l) = last {
                            if mine {
                                assert!(
                                    a > l,
                                    "round {round} worker {w}: hit {a} again after cont"
                                );
                            } else {
                                assert!(a >= l, "round {round} worker {w}: hit {a} after {l}");
                            }
                        }
                        last = Some(a);
                        seen += 1;
                    }
                })
            })
            .collect();
        let seen: Vec<u64> = workers.into_iter().map(|h| h.join().unwrap()).collect();
        assert!(seen.iter().sum::<u64>() > 0, "round {round}: no hit seen");
        assert_eq!(p.exit_status().unwrap().code, 0);
    }
}
