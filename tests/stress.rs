//! Stop/continue cycles on a program whose threads are created and exit continuously, checking
//! the thread list against /proc at every stop. Short in `make test`; `STRESS_CYCLES=10000` for
//! the full length.

mod common;

use common::*;
use ptrace_dbg::engine::{CauseKind, Error, Process, ThreadState};
use std::collections::BTreeSet;

fn cycles() -> usize {
    std::env::var("STRESS_CYCLES").ok().and_then(|v| v.parse().ok()).unwrap_or(1000)
}

/// Checks one stop: every listed thread is in a tracing stop; every live task is listed, except
/// one already past its exit event, which may linger for a moment but not over two stops.
fn check_stop(p: &Process, missing_before: &BTreeSet<i32>) -> BTreeSet<i32> {
    let pid = p.pid();
    let listed: BTreeSet<i32> = p.threads().unwrap().into_iter().collect();
    for &tid in &listed {
        let st = task_state(pid, tid);
        assert!(st == Some('t'), "listed thread {tid} is in state {st:?}, not a tracing stop");
    }
    let missing: BTreeSet<i32> =
        live_tasks(pid).into_iter().filter(|t| !listed.contains(t)).collect();
    for tid in missing.intersection(missing_before) {
        // Still alive and not a thread we let go from its exit stop (state Exiting, which may
        // take a while to finish exiting on a loaded machine)?
        let st = task_state(pid, *tid);
        let ours = p.thread_state(*tid);
        assert!(
            matches!(st, None | Some('Z') | Some('X')) || matches!(ours, Ok(ThreadState::Exiting)),
            "thread {tid} ({st:?}, {ours:?}) missing from the list at two stops in a row: lost"
        );
    }
    missing
}

#[test]
fn stop_continue_cycles_on_churning_threads_lose_no_thread() {
    let n = cycles();
    let p = launch(&["churn", "3"]);
    let mut missing = BTreeSet::new();
    let mut events = 0;
    for i in 0..n {
        p.cont().unwrap();
        if i % 2 == 0 {
            // A stop for the program's own reason (thread creation or exit, constantly).
            let tid = p.wait_stop(Some(WAIT)).expect("an event within the timeout");
            if tid != 0 {
                events += 1;
            }
        } else {
            // A requested stop racing those events.
            p.stop().unwrap();
        }
        missing = check_stop(&p, &missing);
    }
    assert!(events > n / 4, "only {events} event stops in {n} cycles");
    p.kill().unwrap();
    assert!(matches!(p.threads(), Err(Error::Exited)));
}

#[test]
fn attach_detach_cycles_on_churning_threads() {
    let (child, _) = Spawned::ready(&["churn", "3"]);
    for _ in 0..(cycles() / 20).max(10) {
        let p = Process::attach(child.pid).expect("attach");
        check_stop(&p, &BTreeSet::new());
        p.cont().unwrap();
        p.detach().unwrap();
        for tid in live_tasks(child.pid) {
            let st = task_state(child.pid, tid);
            assert!(!matches!(st, Some('t') | Some('T')), "thread {tid} left in {st:?}");
        }
    }
}

/// Breakpoint hits in all for the 8-thread test: 8,000 in `make test`, `STRESS_BP_HITS=100000`
/// in `make stress`.
fn bp_hits() -> usize {
    std::env::var("STRESS_BP_HITS").ok().and_then(|v| v.parse().ok()).unwrap_or(8000)
}

#[test]
fn eight_threads_hitting_breakpoints_are_counted_exactly() {
    let total = bp_hits() / 8 * 8;
    let per_thread = (total / 8).to_string();
    let p = launch(&["bp_threads", "8", &per_thread]);
    let addr = symbol_addr(p.pid(), "target_fn");
    p.add_breakpoint(addr).unwrap();
    let mut hits = 0;
    loop {
        match cont_and_wait(&p) {
            Ok(_) => {
                for tid in p.threads().unwrap() {
                    if p.stop_cause(tid).is_ok_and(|c| c.kind == CauseKind::Breakpoint) {
                        assert_eq!(p.get_regs(tid).unwrap().rip, addr);
                        hits += 1;
                    }
                }
            }
            Err(Error::Exited) => break,
            Err(e) => panic!("{e} after {hits} hits"),
        }
    }
    assert_eq!(hits, total, "every call of target_fn by 8 threads is one BREAKPOINT cause");
    assert_eq!(p.exit_status().unwrap().code, 0);
}

#[test]
fn eight_threads_hitting_a_breakpoint_stepped_out_of_line_are_counted_exactly() {
    // hit_target (c-tests/tracees/ool.c) starts with a call: never executed in place.
    let total = bp_hits() / 8 * 8;
    let per_thread = (total / 8).to_string();
    let exe = build_tracee("ool");
    let mut opts = ptrace_dbg::engine::LaunchOptions::new();
    opts.argv = ["ool", "hits", "8", &per_thread].iter().map(Into::into).collect();
    let p = Process::launch(&exe, &opts).expect("launch ool");
    let addr = program_symbol(&exe, p.pid(), "hit_target");
    p.add_breakpoint(addr).unwrap();
    let mut hits = 0;
    loop {
        match cont_and_wait(&p) {
            Ok(_) => {
                let stepped = p.stepped_out_of_line().unwrap();
                assert!(stepped >= hits as u64, "{stepped} steps out of line for {hits} hits");
                for tid in p.threads().unwrap() {
                    if p.stop_cause(tid).is_ok_and(|c| c.kind == CauseKind::Breakpoint) {
                        assert_eq!(p.get_regs(tid).unwrap().rip, addr);
                        hits += 1;
                    }
                }
            }
            Err(Error::Exited) => break,
            Err(e) => panic!("{e} after {hits} hits"),
        }
    }
    assert_eq!(hits, total, "every call of hit_target by 8 threads is one BREAKPOINT cause");
    assert_eq!(p.exit_status().unwrap().code, 0);
}
