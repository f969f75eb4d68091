//! Three cases from gdb's own testsuite that the library once got wrong (issue 11), driven the
//! way those tests drive gdb. Tracee: c-tests/tracees/gdbcases.c.
//!
//! 1. gdb.threads/non-ldr-exc-*.exp: single-stepping a non-leader thread into `execve` (or
//!    `exit_group`) while the other threads stay stopped (`set scheduler-locking on`, `stepi`).
//! 2. gdb.base/bp-permanent.exp: a breakpoint on an `int3` of the program's own.
//! 3. gdb.threads/detach-step-over.exp: detaching while threads step over breakpoints, in
//!    repeated attach/hit/detach rounds (`DETACH_ROUNDS`, 6 by default; `make stress`: 200).
//!
//! Every wait is bounded; launched tracees die with their Process, spawned ones with their
//! Spawned.

mod common;

use common::*;
use ptrace_dbg::engine::{CauseKind, Process, ThreadState};
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

fn gdbcases() -> PathBuf {
    build_tracee("gdbcases")
}

fn launch_case(args: &[&str]) -> Process {
    let mut opts = ptrace_dbg::engine::LaunchOptions::new();
    opts.argv = std::iter::once("gdbcases").chain(args.iter().copied()).map(Into::into).collect();
    Process::launch(&gdbcases(), &opts).expect("launch gdbcases")
}

fn sym(p: &Process, name: &str) -> u64 {
    program_symbol(&gdbcases(), p.pid(), name)
}

fn pc(p: &Process, tid: i32) -> u64 {
    p.get_regs(tid).expect("get_regs").rip
}

fn peek_i32(p: &Process, tid: i32, addr: u64) -> i32 {
    let mut b = [0u8; 4];
    assert_eq!(p.peek(tid, addr, &mut b).expect("peek"), 4);
    i32::from_le_bytes(b)
}

/// Continues until some thread stops at a breakpoint; returns it.
fn cont_to_breakpoint(p: &Process) -> i32 {
    for _ in 0..100 {
        let (tid, kind) = cont_and_wait(p).expect("continue to the breakpoint");
        if kind == CauseKind::Breakpoint {
            return tid;
        }
    }
    panic!("no breakpoint hit");
}

// ----- 1. stepping a non-leader thread into execve / exit_group ----------------------------

/// The ending thread (`mode`: gdbcases exec-thread or exec-leader) stops at `bp`; then only it
/// is stepped (the leader waits in pthread_join, two threads spin, all held stopped) until its
/// execve is done. The exec kills the others, and
/// the exec'ing thread waits in the kernel until they are gone: the library must let them
/// finish exiting although it holds every thread but the stepped one. The step ends with an
/// EXEC stop on the leader's tid, the only thread left.
fn step_into_execve(mode: &str, bp: &str) {
    let p = launch_case(&[mode]);
    let pid = p.pid();
    p.add_breakpoint(sym(&p, bp)).unwrap();
    let tid = cont_to_breakpoint(&p);
    if mode == "exec-leader" {
        assert_eq!(tid, pid);
        assert_eq!(p.threads().unwrap().len(), 3, "leader, two spinners");
    } else {
        assert_ne!(tid, pid, "the breakpoint is in the second thread");
        assert_eq!(p.threads().unwrap().len(), 4, "leader, two spinners, the exec'ing thread");
    }
    let mut steps = 0;
    loop {
        steps += 1;
        assert!(steps <= 3, "two instructions to the end of the execve");
        // Before the fix: Timeout after 30 s, the leader held in its exit stop, `tid` in D.
        p.step(tid).unwrap_or_else(|e| panic!("step {steps} of thread {tid}: {e}"));
        if p.stop_cause(pid).map(|c| c.kind).ok() == Some(CauseKind::Exec) {
            break;
        }
        assert_eq!(p.thread_state(tid).unwrap(), ThreadState::Stopped, "a plain step");
    }
    assert_eq!(p.threads().unwrap(), vec![pid], "only the exec'ing thread is left");
    run_to_exit(&p);
    assert_eq!(p.exit_status().unwrap().code, 7, "the new image ran to its end");
}

#[test]
fn step_of_a_non_leader_thread_into_execve_ends_in_an_exec_stop() {
    // From a breakpoint two instructions before the `syscall`: a plain step executes it.
    step_into_execve("exec-thread", "gdb_execve");
}

#[test]
fn step_over_a_breakpoint_on_execve_in_a_non_leader_thread_ends_in_an_exec_stop() {
    // From a breakpoint on the `syscall` itself: a step over the breakpoint executes it.
    step_into_execve("exec-thread", "gdb_execve_syscall");
}

#[test]
fn step_of_the_leader_into_execve_ends_in_an_exec_stop() {
    // The leader's exec waits for the other threads' deaths just the same.
    step_into_execve("exec-leader", "gdb_execve");
}

/// The same exec under a continue: the step over the breakpoint on the `syscall` holds the
/// other threads stopped until the exec kills them.
#[test]
fn continue_over_a_breakpoint_on_execve_in_a_non_leader_thread_ends_in_an_exec_stop() {
    let p = launch_case(&["exec-thread"]);
    let pid = p.pid();
    p.add_breakpoint(sym(&p, "gdb_execve_syscall")).unwrap();
    assert_ne!(cont_to_breakpoint(&p), pid);
    let stops = run_to_exit(&p);
    assert!(stops.contains(&(pid, CauseKind::Exec)), "{stops:?}");
    assert_eq!(p.exit_status().unwrap().code, 7, "the new image ran to its end");
}

/// Same with exit_group: the other threads are killed and stop in their exit stops; the step
/// ends with the stepped thread in its own (nothing in the kernel waits for the others), and
/// the process then exits with the code given.
#[test]
fn step_of_a_non_leader_thread_into_exit_group_ends_in_its_exit_stop() {
    let p = launch_case(&["exit-thread"]);
    let pid = p.pid();
    p.add_breakpoint(sym(&p, "gdb_exit_group_syscall")).unwrap();
    let tid = cont_to_breakpoint(&p);
    assert_ne!(tid, pid);
    p.step(tid).unwrap_or_else(|e| panic!("step of thread {tid} into exit_group: {e}"));
    let cause = p.stop_cause(tid).unwrap();
    assert_eq!(cause.kind, CauseKind::ThreadExit);
    assert_eq!(cause.exit_status, 5);
    run_to_exit(&p);
    assert_eq!(p.exit_status().unwrap().code, 5);
}

// ----- 2. a breakpoint on the program's own int3 -------------------------------------------

/// With a library breakpoint on the program's own `int3`: each continue passes the
/// instruction once. The hit is reported as BREAKPOINT; the next continue executes the int3,
/// whose SIGTRAP is the program's (reported as a signal, PC after the int3), and the one after
/// delivers it (the handler runs, or the program dies of it as it would untraced).
fn own_int3_with_breakpoint(handler: bool) {
    let args: &[&str] = if handler { &["own-int3", "handler"] } else { &["own-int3"] };
    let p = launch_case(args);
    let trap = sym(&p, "own_trap");
    let (calls, handled) = (sym(&p, "trap_calls"), sym(&p, "traps_handled"));
    p.add_breakpoint(trap).unwrap();
    let rounds = if handler { 5 } else { 1 };
    for round in 1..=rounds {
        let (tid, kind) = cont_and_wait(&p).unwrap();
        assert_eq!(kind, CauseKind::Breakpoint, "round {round}: the breakpoint is hit");
        assert_eq!(pc(&p, tid), trap);
        assert_eq!(peek_i32(&p, tid, calls), round, "round {round}: the program advanced");
        assert_eq!(peek_i32(&p, tid, handled), round - 1);
        // Before the fix: BREAKPOINT again, at the same place, for ever.
        let (tid2, kind) = cont_and_wait(&p).unwrap();
        assert_eq!((tid2, kind), (tid, CauseKind::Signal), "round {round}: the int3's SIGTRAP");
        assert_eq!(p.stop_cause(tid).unwrap().signal, libc::SIGTRAP);
        assert_eq!(pc(&p, tid), trap + 1, "round {round}: the int3 was executed");
        assert_eq!(peek_i32(&p, tid, calls), round);
        assert_eq!(peek_i32(&p, tid, handled), round - 1, "not delivered yet");
    }
    // Then the end: no further stop but the exit stop.
    let stops = run_to_exit(&p);
    assert!(stops.iter().all(|&(_, k)| k == CauseKind::ThreadExit), "{stops:?}");
    let status = p.exit_status().unwrap();
    if handler {
        assert_eq!((status.code, status.signal), (0, 0), "every int3 handled once");
    } else {
        assert_eq!(status.signal, libc::SIGTRAP, "killed by its own SIGTRAP, as untraced");
    }
}

#[test]
fn breakpoint_on_the_programs_own_int3_passes_it_once_per_continue() {
    own_int3_with_breakpoint(true);
}

#[test]
fn breakpoint_on_the_programs_own_int3_without_handler_ends_as_untraced() {
    own_int3_with_breakpoint(false);
}

/// A step from a breakpoint on the program's own int3 executes it: the thread lands after
/// it, its SIGTRAP reported (and delivered at the next continue).
#[test]
fn step_from_a_breakpoint_on_the_programs_own_int3_lands_after_it() {
    let p = launch_case(&["own-int3", "handler"]);
    let trap = sym(&p, "own_trap");
    let handled = sym(&p, "traps_handled");
    p.add_breakpoint(trap).unwrap();
    for round in 1..=2 {
        let (tid, kind) = cont_and_wait(&p).unwrap();
        assert_eq!(kind, CauseKind::Breakpoint);
        assert_eq!(pc(&p, tid), trap);
        assert_eq!(peek_i32(&p, tid, handled), round - 1);
        p.step(tid).unwrap();
        assert_eq!(pc(&p, tid), trap + 1, "round {round}: the step executed the int3");
        assert_eq!(p.thread_state(tid).unwrap(), ThreadState::StoppedSignal);
        assert_eq!(p.stop_cause(tid).unwrap().signal, libc::SIGTRAP);
    }
    p.remove_breakpoint(trap).unwrap();
    // The remaining int3s raise plain SIGTRAP stops; each continue delivers one.
    let stops = run_to_exit(&p);
    let signals = stops.iter().filter(|&&(_, k)| k == CauseKind::Signal).count();
    assert_eq!(signals, 3, "{stops:?}");
    assert_eq!(p.exit_status().unwrap().code, 0, "every int3 handled once");
}

// ----- 3. detach while threads step over breakpoints ---------------------------------------

/// A tracee the test started itself (for attach), with its stdin and stdout.
struct Child {
    spawned: Spawned,
    input: std::process::ChildStdin,
    out: std::process::ChildStdout,
}

impl Child {
    /// Starts `gdbcases ARGS...` and waits for its "ready".
    fn ready(args: &[&str]) -> Child {
        let mut child = Command::new(gdbcases())
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn gdbcases");
        let pid = child.id() as i32;
        let input = child.stdin.take().unwrap();
        let mut out = child.stdout.take().unwrap();
        assert_eq!(read_line(&mut out, WAIT).as_deref(), Some("ready"));
        Child { spawned: Spawned { child, pid }, input, out }
    }

    fn pid(&self) -> i32 {
        self.spawned.pid
    }

    /// Sends `line`; returns the answer, or panics saying how the program ended.
    fn ask(&mut self, line: &str, context: &str) -> String {
        // A dead program: the write fails (EPIPE), and the read below says so.
        let _ = writeln!(self.input, "{line}");
        match read_line(&mut self.out, WAIT) {
            Some(answer) => answer,
            None => {
                let status = if wait_pid_exit(self.pid(), Duration::from_secs(2)) {
                    format!("{:?}", self.spawned.child.wait())
                } else {
                    "still running, silent".into()
                };
                panic!("{context}: no answer to {line:?}; the program: {status}");
            }
        }
    }

    /// Sends 'q' and checks that the program ends with 0.
    fn finish(mut self) {
        let _ = writeln!(self.input, "q");
        let status = self.spawned.wait_exit();
        assert_eq!(status.code(), Some(0), "the program ran to its normal end: {status:?}");
    }
}

/// The deterministic form: the main thread sits at a breakpoint on the `syscall` of a read
/// that blocks, and a continue steps it over the breakpoint (it blocks in the read; the other
/// threads are let run after a moment). Detach stops it with an interrupt, which ends the read
/// early: the system call's exit work queues the single step's trap (SIGTRAP, TRAP_BRKPT), and
/// our interrupt stop is taken before it. Before the fix the detached program died of that
/// trap every time.
#[test]
fn detach_during_a_blocked_step_over_leaves_no_trap_behind() {
    let mut child = Child::ready(&["read-loop", "2"]);
    let pid = child.pid();
    let p = Process::attach(pid).unwrap();
    p.add_breakpoint(sym(&p, "gdb_read_syscall")).unwrap();
    // The interrupted read restarts on the breakpoint.
    assert_eq!(cont_to_breakpoint(&p), pid);
    p.cont().unwrap();
    // Wait (bounded) until the step over the breakpoint is blocked in the read.
    let deadline = Instant::now() + WAIT;
    let in_read = || {
        std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/syscall"))
            .is_ok_and(|s| s.starts_with("0 "))
    };
    while !in_read() {
        assert!(Instant::now() < deadline, "the step over the read never blocked");
        std::thread::yield_now();
    }
    p.detach().unwrap();
    drop(p);
    assert_eq!(child.ask("x", "after the detach"), "got");
    child.finish();
}

/// A small xorshift generator: the rounds vary where the detach falls.
struct Rng(u64);
impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// gdb's detach-step-over: threads run through a breakpointed instruction the library must
/// single-step over (not one it executes in place); the host continues and detaches at varying
/// moments, often with a step over the breakpoint in flight. After every detach, every thread
/// of the program must still run (a single-step trap left pending kills it with SIGTRAP as soon
/// as the thread runs untraced), and after all rounds the program ends normally.
#[test]
fn detach_during_step_overs_leaves_no_trap_behind() {
    let rounds: usize =
        std::env::var("DETACH_ROUNDS").ok().and_then(|v| v.parse().ok()).unwrap_or(6);
    let seed =
        std::env::var("DETACH_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or_else(|| {
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos()
                as u64
                | 1
        });
    eprintln!("detach rounds: {rounds}, DETACH_SEED={seed}");
    let mut rng = Rng(seed);
    let mut child = Child::ready(&["detach-step", "4"]);
    let pid = child.pid();
    let mut hot = 0;
    for round in 0..rounds {
        let p = Process::attach(pid).unwrap_or_else(|e| panic!("round {round}: attach: {e}"));
        if hot == 0 {
            hot = sym(&p, "hot");
        }
        p.add_breakpoint(hot).unwrap();
        let hits = rng.below(4) as usize;
        if round % 2 == 0 {
            // One host thread: a few hits, then continue (steps over the breakpoint begin at
            // once for the threads sitting on it) and detach right away.
            for _ in 0..hits {
                cont_to_breakpoint(&p);
            }
            p.cont().unwrap();
            for _ in 0..rng.below(200) {
                std::thread::yield_now();
            }
            p.detach().unwrap_or_else(|e| panic!("round {round}: detach: {e}"));
        } else {
            // Two host threads: one continues in a loop, the other detaches once it has seen
            // `hits` breakpoint hits.
            let seen = AtomicUsize::new(0);
            std::thread::scope(|s| {
                s.spawn(|| loop {
                    if p.cont().is_err() {
                        return;
                    }
                    match p.wait_stop(Some(WAIT)) {
                        Ok(_) => {
                            seen.fetch_add(1, Ordering::SeqCst);
                        }
                        Err(_) => return, // detached
                    }
                });
                let deadline = Instant::now() + WAIT;
                while seen.load(Ordering::SeqCst) < hits && Instant::now() < deadline {
                    std::thread::yield_now();
                }
                p.detach().unwrap_or_else(|e| panic!("round {round}: detach: {e}"));
            });
        }
        drop(p);
        // Every worker must pass through `hot` again, untraced.
        let context = format!("round {round} (DETACH_SEED={seed})");
        assert_eq!(child.ask("p", &context), "ok", "{context}: every thread runs on");
    }
    child.finish();
}
