//! Fault tests (issue 6): the tracee SIGKILLed from outside in every state, a handle released
//! while another host thread is inside a call on it, a tracee that execs, forks, vforks or
//! exits from a non-main thread while stop-all runs, ten processes traced at once. Every wait
//! is bounded; each test checks that the host got back every thread, descriptor and child
//! process the library used (strictly when each test has the process to itself: under nextest,
//! or `--test-threads=1`).
//!
//! Short in `make test`; FAULT_ROUNDS=N repeats each scenario N times (`make stress`).
//! Tracees: c-tests/tracees/tracee.c and c-tests/tracees/faults.c.

mod common;

use common::*;
use ptrace_dbg::engine::{CauseKind, Error, ExitStatus, Process};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

const KILLED: ExitStatus = ExitStatus { code: -1, signal: libc::SIGKILL };

fn rounds(default: usize) -> usize {
    std::env::var("FAULT_ROUNDS").ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}
/// c-tests/tracees/faults.c, compiled on first use.
fn faults_bin() -> PathBuf {
    build_tracee("faults")
}

fn faults_launch(args: &[&str]) -> Process {
    let mut opts = ptrace_dbg::engine::LaunchOptions::new();
    opts.argv = std::iter::once("faults").chain(args.iter().copied()).map(Into::into).collect();
    Process::launch(&faults_bin(), &opts).expect("launch faults tracee")
}

/// Address of `symbol` of the faults tracee in process `pid`.
fn faults_sym(pid: i32, symbol: &str) -> u64 {
    program_symbol(&faults_bin(), pid, symbol)
}

fn sigkill(pid: i32) {
    // SAFETY: kill takes two integers.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGKILL) }, 0, "kill({pid}, SIGKILL)");
}

/// Short pseudo-random pauses (no sleeping for states: only to vary where a kill lands).
struct Jitter(u64);
impl Jitter {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn pause(&mut self, max_us: u64) {
        let us = self.next() % (max_us + 1);
        let end = Instant::now() + Duration::from_micros(us);
        while Instant::now() < end {
            std::hint::spin_loop();
        }
    }
}

// ----- host resources ---------------------------------------------------------------------

fn count_dir(path: &str) -> usize {
    std::fs::read_dir(path).map(|d| d.count()).unwrap_or(0)
}

/// Children of the host process (any of its threads), per /proc.
fn host_children() -> Vec<i32> {
    let mut v = Vec::new();
    for t in std::fs::read_dir("/proc/self/task").into_iter().flatten().flatten() {
        let path = t.path().join("children");
        if let Ok(s) = std::fs::read_to_string(path) {
            v.extend(s.split_whitespace().filter_map(|x| x.parse::<i32>().ok()));
        }
    }
    v.sort();
    v
}

/// Threads, descriptors and children of the host, to compare before and after a scenario.
#[derive(Debug, PartialEq, Eq, Clone)]
struct Resources {
    threads: usize,
    fds: usize,
    children: Vec<i32>,
}

impl Resources {
    fn now() -> Resources {
        Resources {
            threads: count_dir("/proc/self/task"),
            // read_dir holds one descriptor of its own while listing: the same every time.
            fds: count_dir("/proc/self/fd"),
            children: host_children(),
        }
    }

    /// Whether this test has the host process to itself, so the counts mean something.
    fn strict() -> bool {
        std::env::var_os("NEXTEST").is_some()
            || std::env::var("RUST_TEST_THREADS").is_ok_and(|v| v == "1")
    }

    /// Waits (bounded) until the host is back to `self`: a joined thread may linger in
    /// /proc for a moment.
    fn expect_back(&self, what: &str) {
        if !Resources::strict() {
            return;
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let now = Resources::now();
            if now == *self {
                return;
            }
            if Instant::now() > deadline {
                panic!("{what}: host resources leaked: before {self:?}, after {now:?}");
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}

/// Runs `f` on a new host thread; panics if it does not finish within `limit`.
fn bounded<T: Send + 'static>(
    limit: Duration,
    what: &str,
    f: impl FnOnce() -> T + Send + 'static,
) -> T {
    let (tx, rx) = mpsc::channel();
    let h = std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(limit) {
        Ok(v) => {
            h.join().unwrap();
            v
        }
        // It panicked: pass its panic on.
        Err(mpsc::RecvTimeoutError::Disconnected) => match h.join() {
            Err(p) => std::panic::resume_unwind(p),
            Ok(()) => unreachable!(),
        },
        Err(mpsc::RecvTimeoutError::Timeout) => {
            panic!("{what}: did not finish within {limit:?} (hang)")
        }
    }
}

/// Answers every stop until the process has exited; every call bounded.
fn drive_to_exit(p: &Process, what: &str) {
    let deadline = Instant::now() + WAIT;
    loop {
        assert!(Instant::now() < deadline, "{what}: no exit within {WAIT:?}");
        match p.wait_stop(Some(WAIT)) {
            Ok(_) => match p.cont() {
                // BadState: another host thread continued it first.
                Ok(()) | Err(Error::Exited) | Err(Error::BadState(_)) => {}
                Err(e) => panic!("{what}: cont: {e}"),
            },
            Err(Error::Exited) => return,
            Err(e) => panic!("{what}: wait_stop: {e}"),
        }
    }
}

/// After the process exited: killed by SIGKILL, reaped, every later call says Exited.
fn assert_killed_and_gone(p: &Process, what: &str) {
    assert_eq!(p.exit_status().unwrap(), KILLED, "{what}");
    assert!(matches!(p.threads(), Err(Error::Exited)), "{what}: threads after exit");
    assert!(matches!(p.cont(), Err(Error::Exited)), "{what}: cont after exit");
    assert!(matches!(p.stop(), Err(Error::Exited)), "{what}: stop after exit");
    assert!(matches!(p.kill(), Err(Error::Exited)), "{what}: kill after exit");
    let pid = p.pid();
    assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists(), "{what}: {pid} not reaped");
}

/// Continues past the start-up stops until `n` threads exist.
fn run_until_threads(p: &Process, n: usize) {
    for _ in 0..100 {
        if p.threads().unwrap().len() >= n {
            return;
        }
        cont_and_wait(p).unwrap();
    }
    panic!("never reached {n} threads");
}

/// Continues until some thread stops at a breakpoint; returns it.
fn cont_to_breakpoint(p: &Process) -> i32 {
    for _ in 0..1000 {
        let (tid, kind) = cont_and_wait(p).unwrap();
        if kind == CauseKind::Breakpoint {
            return tid;
        }
    }
    panic!("no breakpoint hit");
}

// ----- 1. SIGKILL from outside in every state -----------------------------------------------

#[derive(Debug, Clone, Copy)]
enum KillState {
    Running,
    Stopped,
    /// Another host thread inside Process::step, stepping one thread again and again.
    MidStep,
    /// Another host thread continuing from breakpoints (each continue steps a thread over one)
    /// and stepping the thread at the breakpoint over it.
    MidStepOver,
    /// Another host thread inside wait_stop with a long timeout.
    InWaitStop,
    /// Another host thread calling stop and cont in a loop.
    InStopLoop,
}

fn kill_in_state(state: KillState, jitter: &mut Jitter) {
    let what = format!("SIGKILL while {state:?}");
    let before = Resources::now();
    let p = match state {
        KillState::MidStepOver => {
            let p = launch(&["bp_threads", "3", "100000000"]);
            let addr = symbol_addr(p.pid(), "target_fn");
            p.add_breakpoint(addr).unwrap();
            cont_to_breakpoint(&p);
            p
        }
        _ => {
            let p = launch(&["spin", "2"]);
            run_until_threads(&p, 3);
            // Out of the thread-create stop (a kill there is the engine bug of
            // sigkill_at_a_thread_create_stop_then_continue_ends_in_exited).
            p.cont().unwrap();
            p.stop().unwrap();
            p
        }
    };
    let pid = p.pid();
    let tid = p.threads().unwrap()[1]; // the thread MidStep steps
    let p = Arc::new(p);
    let go = Arc::new(AtomicBool::new(true));
    let helper = {
        let (p, go) = (p.clone(), go.clone());
        let what = what.clone();
        std::thread::spawn(move || -> Vec<String> {
            let mut seen = Vec::new();
            let mut note = |r: String| {
                if !seen.contains(&r) {
                    seen.push(r)
                }
            };
            match state {
                KillState::Running | KillState::Stopped => {}
                KillState::MidStep => {
                    while go.load(Ordering::Relaxed) {
                        match p.step(tid) {
                            Ok(()) => {}
                            // Killed: the step ends in the exit stop or the exit.
                            Err(Error::Exited) | Err(Error::BadState(_)) => break,
                            Err(Error::NoSuchThread(_)) => break,
                            Err(e) => panic!("{what}: step: {e}"),
                        }
                    }
                }
                KillState::MidStepOver => {
                    while go.load(Ordering::Relaxed) {
                        let r = p.cont().and_then(|()| p.wait_stop(Some(WAIT)));
                        let tid = match r {
                            Ok(t) => t,
                            Err(Error::Exited) => break,
                            Err(e) => panic!("{what}: cont/wait_stop: {e}"),
                        };
                        if tid > 0
                            && matches!(p.stop_cause(tid), Ok(c) if c.kind == CauseKind::Breakpoint)
                        {
                            match p.step(tid) {
                                Ok(()) => {}
                                Err(Error::Exited)
                                | Err(Error::BadState(_))
                                | Err(Error::NoSuchThread(_)) => break,
                                Err(e) => panic!("{what}: step over: {e}"),
                            }
                        }
                    }
                }
                KillState::InWaitStop => {
                    // Long timeout: the kill must end the wait, not the timeout.
                    let t0 = Instant::now();
                    let r = p.wait_stop(Some(Duration::from_secs(60)));
                    assert!(
                        matches!(r, Ok(_) | Err(Error::Exited)),
                        "{what}: wait_stop gave {r:?}"
                    );
                    assert!(t0.elapsed() < Duration::from_secs(10), "{what}: wait_stop took long");
                    note(format!("wait_stop -> {r:?}"));
                }
                KillState::InStopLoop => {
                    while go.load(Ordering::Relaxed) {
                        match p.cont() {
                            Ok(()) | Err(Error::BadState(_)) => {}
                            Err(Error::Exited) => break,
                            Err(e) => panic!("{what}: cont: {e}"),
                        }
                        match p.stop() {
                            Ok(()) => {}
                            Err(Error::Exited) => break,
                            Err(e) => panic!("{what}: stop: {e}"),
                        }
                    }
                }
            }
            seen
        })
    };
    match state {
        KillState::Running | KillState::InWaitStop => p.cont().unwrap(),
        KillState::Stopped => {
            p.cont().unwrap();
            p.stop().unwrap();
        }
        _ => {}
    }
    // Let the helper get into its call (varying where the kill lands), then kill.
    jitter.pause(if matches!(state, KillState::InWaitStop) { 20_000 } else { 3_000 });
    sigkill(pid);
    go.store(false, Ordering::Relaxed);
    let p2 = p.clone();
    let w = what.clone();
    bounded(Duration::from_secs(60), &what, move || {
        drive_to_exit(&p2, &w);
    });
    let _seen = bounded(Duration::from_secs(30), &format!("{what}: helper"), move || {
        helper.join().unwrap()
    });
    assert_killed_and_gone(&p, &what);
    let p = Arc::try_unwrap(p).unwrap_or_else(|_| panic!("{what}: handle still shared"));
    drop(p);
    before.expect_back(&what);
}

fn kill_in_states(states: &[KillState], seed: u64) {
    // Warm up what the helpers build once (tracee binary, nm), so the baseline holds.
    let _ = tracee();
    let mut jitter = Jitter(seed);
    let n = rounds(3);
    for _ in 0..n {
        for &s in states {
            kill_in_state(s, &mut jitter);
        }
    }
    println!(
        "sigkill faults: {} kills in {states:?}, every one ended in Exited with signal 9",
        n * states.len()
    );
}

/// SIGKILL while running, and while another host thread waits in wait_stop (60 s timeout):
/// the wait returns at once, the process ends Exited with signal 9, nothing leaks.
#[test]
fn sigkill_from_outside_while_running_or_waited_on_ends_in_exited() {
    kill_in_states(&[KillState::Running, KillState::InWaitStop], 0x9e37_79b9_7f4a_7c15);
}

/// SIGKILL while stopped, while another host thread steps a thread, steps threads over a
/// breakpoint, or loops stop/cont. Each of these lands on a stopped process some of the time
/// and then hits the engine bug of sigkill_while_stopped_then_continue_ends_in_exited.
#[test]
fn sigkill_from_outside_while_stopped_or_stepping_ends_in_exited() {
    kill_in_states(
        &[KillState::Stopped, KillState::MidStep, KillState::MidStepOver, KillState::InStopLoop],
        0x2545_f491_4f6c_dd1d,
    );
}

// ----- 2. releasing a handle while another host thread is inside a call on it ---------------

#[derive(Debug, Clone, Copy)]
enum InFlight {
    WaitStop,
    Stop,
    Peek,
}

/// The Rust form of `ptrace_dbg_process_free` with another thread inside a call: Rust's
/// ownership cannot drop a Process another thread is using, so "free" here is what the C
/// function does: kill (launched) or detach (attached), then drop our reference. Outcome,
/// checked: the other thread's call returns promptly (wait_stop with a 60 s timeout included)
/// with success or the documented error (Exited after a kill, BadState "detached" after a
/// detach), later calls fail the same way, and when the last reference goes the monitor
/// thread is joined: no host thread, descriptor or child process is left behind.
fn release_during(call: InFlight, attached: bool) {
    let what = format!("release during {call:?} (attached {attached})");
    let mut child = None;
    let before = Resources::now();
    let p = if attached {
        let c = Command::new(tracee())
            .args(["spin", "2"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let pid = c.id() as i32;
        child = Some(c);
        Process::attach(pid).expect("attach")
    } else {
        let p = launch(&["spin", "2"]);
        run_until_threads(&p, 3);
        p
    };
    let pid = p.pid();
    let pattern = symbol_addr(pid, "pattern");
    let p = Arc::new(p);
    let entered = Arc::new(AtomicBool::new(false));
    let helper = {
        let p = p.clone();
        let entered = entered.clone();
        let what = what.clone();
        std::thread::spawn(move || -> (usize, Error) {
            let mut ok = 0;
            loop {
                entered.store(true, Ordering::Release);
                let r = match call {
                    InFlight::WaitStop => p.wait_stop(Some(Duration::from_secs(60))).map(|_| ()),
                    InFlight::Stop => p.stop().and_then(|()| p.cont()),
                    InFlight::Peek => {
                        let tids = p.threads();
                        let mut buf = vec![0u8; 4096];
                        match tids {
                            // Empty for a moment while a kill lands.
                            Ok(t) if t.is_empty() => Ok(()),
                            Ok(t) => p.peek(t[0], pattern, &mut buf).map(|_| ()).map_err(|e| e.1),
                            Err(e) => Err(e),
                        }
                    }
                };
                match r {
                    Ok(()) => ok += 1,
                    // Racing with our own cont in the Stop loop, or peek of a running thread.
                    Err(Error::BadState(m)) if !m.contains("detached") => ok += 1,
                    Err(Error::NoSuchThread(_)) => ok += 1,
                    // A peek whose process dies under it: Fault from the memory already
                    // gone, or Os(ESRCH) from opening /proc/PID/mem (an undocumented error:
                    // reported as an engine bug; it should be Exited). The next call says
                    // Exited.
                    Err(Error::Fault { .. }) if matches!(call, InFlight::Peek) => ok += 1,
                    Err(Error::Os { errno: nix::errno::Errno::ESRCH, .. })
                        if matches!(call, InFlight::Peek) =>
                    {
                        ok += 1
                    }
                    Err(e @ (Error::Exited | Error::BadState(_))) => return (ok, e),
                    Err(e) => panic!("{what}: {e}"),
                }
                assert!(ok < 10_000_000, "{what}: the call never failed after release");
            }
        })
    };
    if matches!(call, InFlight::WaitStop) {
        p.cont().unwrap();
    }
    while !entered.load(Ordering::Acquire) {
        std::thread::yield_now();
    }
    std::thread::sleep(Duration::from_millis(5)); // let it get inside the call
                                                  // "Free": what ptrace_dbg_process_free does, then let go of our reference.
    let freed = p.clone();
    let w = what.clone();
    bounded(Duration::from_secs(40), &what, move || {
        let r = if freed.launched() { freed.kill() } else { freed.detach() };
        assert!(matches!(r, Ok(()) | Err(Error::Exited)), "{w}: free gave {r:?}");
    });
    drop(p);
    let (ok, err) =
        bounded(Duration::from_secs(20), &format!("{what}: the other call"), move || {
            helper.join().unwrap()
        });
    if attached {
        assert!(matches!(&err, Error::BadState(m) if m.contains("detached")), "{what}: {err}");
        // It runs on, untraced.
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        assert!(status.contains("TracerPid:\t0"), "{what}: still traced");
        let mut c = child.take().unwrap();
        c.kill().unwrap();
        c.wait().unwrap();
    } else {
        assert!(matches!(err, Error::Exited), "{what}: {err}");
        assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists(), "{what}: not reaped");
    }
    let _ = ok;
    before.expect_back(&what);
}

#[test]
fn releasing_a_handle_while_another_thread_is_inside_a_call_on_it() {
    let _ = tracee();
    let n = rounds(1);
    for _ in 0..n {
        for call in [InFlight::WaitStop, InFlight::Stop, InFlight::Peek] {
            for attached in [false, true] {
                release_during(call, attached);
            }
        }
    }
    println!("release faults: {} releases with a call in flight, none leaked", n * 6);
}

// ----- 3. exec, fork, vfork and thread exits during stop-all ---------------------------------

/// Continues and stops (and now and then waits for an event) as fast as it can until the
/// process exits or `max_cycles` pass; checks the thread list against /proc at every stop.
/// Returns the exit status (None: still running after max_cycles, then killed).
fn stop_all_hammer(
    p: &Process,
    what: &str,
    max_cycles: usize,
    jitter: &mut Jitter,
) -> Option<ExitStatus> {
    let pid = p.pid();
    for i in 0..max_cycles {
        match p.cont() {
            Ok(()) => {}
            Err(Error::Exited) => return Some(p.exit_status().unwrap()),
            Err(e) => panic!("{what}: cont: {e}"),
        }
        jitter.pause(200);
        let r = if i % 3 == 0 { p.wait_stop(Some(WAIT)).map(|_| ()) } else { p.stop() };
        match r {
            Ok(()) => {
                // Every listed thread sits in a tracing stop.
                let listed = match p.threads() {
                    Ok(t) => t,
                    Err(Error::Exited) => return Some(p.exit_status().unwrap()),
                    Err(e) => panic!("{what}: threads: {e}"),
                };
                for tid in listed {
                    let st = task_state(pid, tid);
                    assert!(
                        st == Some('t') || st.is_none(),
                        "{what}: listed thread {tid} is {st:?}, not in a tracing stop"
                    );
                }
            }
            Err(Error::Exited) => return Some(p.exit_status().unwrap()),
            Err(e) => panic!("{what}: stop/wait_stop: {e}"),
        }
    }
    None
}

/// Launches one program of the stop-all race test.
type Starter<'a> = Box<dyn Fn() -> Process + 'a>;

#[test]
fn stop_all_racing_exec_fork_vfork_and_thread_exits() {
    let _ = tracee();
    let _ = faults_bin();
    let mut jitter = Jitter(0x2545_f491_4f6c_dd1d);
    let tracee_path = tracee().to_str().unwrap().to_string();
    // exec from a non-main thread, 8 times in a row (each image starts 3 more threads), the
    // last image exits 5: exec_from_thread PATH exec_from_thread PATH ... exit 5.
    let mut chain: Vec<String> = Vec::new();
    for _ in 0..8 {
        chain.push("exec_from_thread".into());
        chain.push(tracee_path.clone());
    }
    chain.extend(["exit".to_string(), "5".to_string()]);
    let chain_args: Vec<&str> = chain.iter().map(|s| s.as_str()).collect();
    let n = rounds(2);
    let mut runs = 0;
    for _ in 0..n {
        // (what, launch, expected exit)
        let cases: Vec<(&str, Starter, Option<ExitStatus>)> = vec![
            (
                "exec chain",
                Box::new(|| launch(&chain_args)),
                Some(ExitStatus { code: 5, signal: 0 }),
            ),
            ("forks", Box::new(|| launch(&["forks"])), Some(ExitStatus { code: 0, signal: 0 })),
            (
                "clone_exit",
                Box::new(|| launch(&["clone_exit"])),
                Some(ExitStatus { code: 0, signal: 0 }),
            ),
            (
                "forkloop",
                Box::new(|| faults_launch(&["forkloop", "40"])),
                Some(ExitStatus { code: 0, signal: 0 }),
            ),
            (
                "exit_from_thread",
                Box::new(|| faults_launch(&["exit_from_thread", "42", "3"])),
                Some(ExitStatus { code: 42, signal: 0 }),
            ),
            ("churn", Box::new(|| launch(&["churn", "3"])), None),
        ];
        for (what, start, want) in cases {
            let p = start();
            let got =
                stop_all_hammer(&p, what, if want.is_some() { 100_000 } else { 500 }, &mut jitter);
            match want {
                Some(w) => assert_eq!(got, Some(w), "{what}: exit status"),
                None => {
                    assert_eq!(got, None, "{what} ended by itself");
                    p.kill().unwrap_or_else(|e| panic!("{what}: kill: {e}"));
                }
            }
            runs += 1;
        }
    }
    println!("stop-all races: {runs} programs (exec chains, forks, vforks, thread exits) run to their exit codes");
}

// ----- 4. ten processes at once ----------------------------------------------------------------

/// Ten host threads, each launching its own program with two threads hitting a breakpoint:
/// each counts exactly its hits and sees its own exit code, with stops racing the hits.
#[test]
fn ten_processes_at_once_count_their_breakpoints_exactly() {
    let _ = faults_bin();
    let before = Resources::now();
    let n = rounds(1);
    let calls = 100;
    for _ in 0..n {
        let handles: Vec<_> = (0..10)
            .map(|i| {
                std::thread::spawn(move || {
                    let code = 10 + i;
                    let p =
                        faults_launch(&["bp_count", "2", &calls.to_string(), &code.to_string()]);
                    let addr = faults_sym(p.pid(), "fault_fn");
                    p.add_breakpoint(addr).unwrap();
                    let mut hits = 0;
                    let mut cycle = 0;
                    loop {
                        cycle += 1;
                        match p.cont() {
                            Ok(()) => {}
                            Err(Error::Exited) => break,
                            Err(e) => panic!("process {i}: cont: {e}"),
                        }
                        let r = if cycle % 5 == 0 {
                            p.stop()
                        } else {
                            p.wait_stop(Some(WAIT)).map(|_| ())
                        };
                        match r {
                            Ok(()) => {
                                for t in p.threads().unwrap_or_default() {
                                    if let Ok(c) = p.stop_cause(t) {
                                        if c.kind == CauseKind::Breakpoint {
                                            assert_eq!(c.pc, addr);
                                            hits += 1;
                                        }
                                    }
                                }
                            }
                            Err(Error::Exited) => break,
                            Err(e) => panic!("process {i}: {e}"),
                        }
                        assert!(cycle < 100_000, "process {i} does not end");
                    }
                    (i, p.exit_status().unwrap(), hits)
                })
            })
            .collect();
        for h in handles {
            let (i, st, hits) = h.join().unwrap();
            assert_eq!(st, ExitStatus { code: 10 + i, signal: 0 }, "process {i}");
            assert_eq!(hits, 2 * calls, "process {i}: breakpoint hits");
        }
    }
    before.expect_back("ten processes");
    println!("ten processes at once: {} rounds, every exit code and hit count exact", n);
}

// ----- engine bugs found here, kept as regression tests ----------------------------------------

/// Continuing a process whose last thread sits in its exit stop, then stopping it at once:
/// stop() used to return Ok with the process "stopped" and no live thread, and the exit showed
/// only after the next continue (about 7 tries in 10). Now stop reports the exit, or the
/// process really is stopped with a thread.
#[test]
fn stop_right_after_the_last_exit_stop_reports_exited() {
    for i in 0..10 {
        let p = launch(&["exit", "3"]);
        let (_, k) = cont_and_wait(&p).unwrap();
        assert_eq!(k, CauseKind::ThreadExit);
        p.cont().unwrap();
        let r = p.stop();
        let threads = p.threads();
        let w = p.wait_stop(Some(Duration::from_millis(10)));
        let st = p.exit_status();
        assert!(
            matches!(r, Err(Error::Exited)) || !matches!(threads, Ok(ref t) if t.is_empty()),
            "try {i}: stop {r:?}, threads {threads:?}, then wait_stop {w:?}, exit_status {st:?}"
        );
    }
}

/// kill() of a running process that creates threads all the time (`churn 2`) answered
/// Err(Internal("after SIGKILL the process is Stopped")) in about a quarter of tries (then
/// threads() was empty, wait_stop returned a stale stop, only the next continue reported
/// Exited). Fixed by 42e41ba ("Kill settles only in Exited"); kept as a regression test.
#[test]
fn kill_of_a_process_creating_threads_reports_exited() {
    let mut failures = Vec::new();
    for i in 0..100 {
        let p = launch(&["churn", "2"]);
        p.cont().unwrap();
        if let Err(e) = p.kill() {
            failures.push(format!("try {i}: {e}; threads {:?}", p.threads()));
        } else {
            assert_eq!(p.exit_status().unwrap(), KILLED);
        }
    }
    assert!(failures.is_empty(), "{} of 100 kills failed: {failures:?}", failures.len());
}

/// SIGKILL from outside while the process (`spin 2`, three threads) is stopped, then
/// continue: in about 4 of 10 tries the process never settles. wait_stop times out again and
/// again (10 s and more), stop() times out after 30 s, exit_status says "not exited"; the
/// engine shows the threads Running while /proc shows the leader a zombie ('Z') and the other
/// threads gone. Only kill() recovers. The same happens when the main thread sits at a
/// thread-create stop. (engine.rs's sigkill_from_outside_while_stopped_ends_in_exited passes
/// because its process is stopped before its threads exist.) Expected: the exit stops, then
/// the exit with signal 9, are reported.
#[test]
fn sigkill_while_stopped_then_continue_ends_in_exited() {
    for i in 0..20 {
        let p = launch(&["spin", "2"]);
        run_until_threads(&p, 3);
        p.cont().unwrap();
        p.stop().unwrap();
        sigkill(p.pid());
        let mut seen = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            assert!(Instant::now() < deadline, "try {i}: no exit; stops {seen:?}");
            match p.wait_stop(Some(Duration::from_secs(3))) {
                Ok(t) => {
                    seen.push(t);
                    match p.cont() {
                        Ok(()) | Err(Error::Exited) => {}
                        Err(e) => panic!("try {i}: cont: {e}"),
                    }
                }
                Err(Error::Exited) => break,
                Err(e) => {
                    let states: Vec<_> = p
                        .threads()
                        .unwrap_or_default()
                        .iter()
                        .map(|&t| (t, p.thread_state(t).ok(), task_state(p.pid(), t)))
                        .collect();
                    panic!("try {i}: wait_stop: {e}; threads (ours, /proc) {states:?}");
                }
            }
        }
        assert_eq!(p.exit_status().unwrap(), KILLED);
    }
}

// ----- following children (issue 17) ------------------------------------------------------

/// c-tests/tracees/family.c (processes that fork).
fn family_launch(args: &[&str]) -> Process {
    let mut opts = ptrace_dbg::engine::LaunchOptions::new();
    opts.argv = std::iter::once("family").chain(args.iter().copied()).map(Into::into).collect();
    Process::launch(&build_tracee("family"), &opts).expect("launch family tracee")
}

/// Whether `pid` is neither traced nor stopped by anyone (or gone).
fn let_go(pid: i32) -> bool {
    let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else { return true };
    let state = status.lines().find_map(|l| l.strip_prefix("State:")).unwrap_or("").trim();
    state.starts_with('Z') || state.starts_with('X') || status.contains("TracerPid:\t0")
}

/// A followed family (a parent and its taken children, all with breakpoints) SIGKILLed from
/// outside at random points (a child, the parent, or nobody), then its handles freed in a
/// random order, some while running: every process ends untraced or gone, and the host gets
/// back its threads, descriptors and children.
#[test]
fn followed_family_killed_from_outside_and_freed_in_any_order() {
    let _ = build_tracee("family");
    let before = Resources::now();
    let mut jitter = Jitter(0x5eed_f011);
    for round in 0..rounds(3) * 4 {
        let root = family_launch(&["forks", "3", "200"]);
        root.set_follow(1).unwrap();
        let hit = program_symbol(&build_tracee("family"), root.pid(), "hit");
        root.add_breakpoint(hit).unwrap();
        let mut procs = vec![root];
        // Run the parent until it has offered its three children; take each.
        while procs.len() < 4 {
            let (tid, kind) = cont_and_wait(&procs[0]).unwrap();
            if kind == CauseKind::Fork {
                let child = procs[0].stop_cause(tid).unwrap().new_tid;
                let c = procs[0].take_child(child).unwrap();
                c.cont().unwrap();
                procs.push(c);
            }
        }
        procs[0].cont().unwrap();
        jitter.pause(2000);
        let pids: Vec<i32> = procs.iter().map(|p| p.pid()).collect();
        match round % 4 {
            0 => sigkill(pids[1 + (jitter.next() % 3) as usize]),
            1 => sigkill(pids[0]),
            _ => {}
        }
        jitter.pause(500);
        // Free in a random order.
        while !procs.is_empty() {
            let i = (jitter.next() % procs.len() as u64) as usize;
            let p = procs.swap_remove(i);
            let what = format!("round {round}, process {}", p.pid());
            bounded(WAIT, &what, move || drop(p));
        }
        for pid in pids {
            let deadline = Instant::now() + WAIT;
            while !let_go(pid) {
                assert!(Instant::now() < deadline, "round {round}: {pid} left traced or stopped");
                std::thread::yield_now();
            }
        }
    }
    before.expect_back("followed family");
}
