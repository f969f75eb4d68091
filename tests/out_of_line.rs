//! Steps over breakpoints out of line (src/engine/tracer/out_of_line.rs): every execution of a
//! breakpointed instruction, by any thread, is a hit, even while another thread sits blocked in
//! that same instruction; the relocated instruction leaves exactly the state a real single step
//! of the original leaves; no stop ever shows the scratch area.
//! The tracee is c-tests/tracees/ool.c.

mod common;

use common::*;
use ptrace_dbg::engine::{CauseKind, Error, LaunchOptions, Process};
use std::path::PathBuf;

fn ool_exe() -> PathBuf {
    build_tracee("ool")
}

fn launch_ool(args: &[&str], f: impl FnOnce(&mut LaunchOptions)) -> Process {
    let mut opts = LaunchOptions::new();
    opts.argv = std::iter::once("ool").chain(args.iter().copied()).map(Into::into).collect();
    f(&mut opts);
    Process::launch(&ool_exe(), &opts).expect("launch ool")
}

fn sym(p: &Process, name: &str) -> u64 {
    program_symbol(&ool_exe(), p.pid(), name)
}

/// No thread's registers point into the scratch area (rip, nor rcx after a `syscall`).
fn check_no_scratch(p: &Process) {
    let Some(area) = p.scratch_area().unwrap() else { return };
    let inside = |v: u64| v >= area && v < area + 64 * 1024;
    for tid in p.threads().unwrap() {
        if p.stop_cause(tid).is_ok_and(|c| c.kind == CauseKind::ThreadExit) {
            continue;
        }
        let Ok(r) = p.get_regs(tid) else { continue };
        assert!(!inside(r.rip), "thread {tid} stopped with rip {:#x} in the scratch area", r.rip);
        assert!(!inside(r.rcx), "thread {tid} stopped with rcx {:#x} in the scratch area", r.rcx);
    }
}

/// Every thread stopped at the breakpoint at `addr` at this stop.
fn hits_at(p: &Process, addr: u64) -> usize {
    let mut n = 0;
    for tid in p.threads().unwrap() {
        if p.stop_cause(tid).is_ok_and(|c| c.kind == CauseKind::Breakpoint) {
            assert_eq!(p.get_regs(tid).unwrap().rip, addr);
            n += 1;
        }
    }
    n
}

#[test]
fn a_syscall_shared_by_threads_counts_every_call_while_others_block_in_it() {
    // Three threads block in read, nanosleep and futex wait through the one `syscall` of
    // raw_syscall while 2 threads make 300 getppid calls each through it; then a write, a futex
    // wake, and SIGUSR1 ends the nanosleep (delivered while the sleeper is out of line).
    let (callers, n) = (2, 300);
    let p = launch_ool(&["syscalls", &callers.to_string(), &n.to_string()], |_| {});
    let bp = sym(&p, "rsc_insn");
    p.add_breakpoint(bp).unwrap();
    let mut hits = 0;
    let mut usr1 = 0;
    let mut stepped = 0;
    loop {
        match cont_and_wait(&p) {
            Ok((tid, kind)) => {
                stepped = p.stepped_out_of_line().unwrap();
                check_no_scratch(&p);
                hits += hits_at(&p, bp);
                if kind == CauseKind::Signal && p.stop_cause(tid).unwrap().signal == libc::SIGUSR1 {
                    usr1 += 1;
                    let pc = p.get_regs(tid).unwrap().rip;
                    assert!(
                        pc == bp + 2 || pc == bp,
                        "SIGUSR1 reported at {pc:#x}, not at the syscall ({bp:#x}) or after it"
                    );
                }
            }
            Err(Error::Exited) => break,
            Err(e) => panic!("{e} after {hits} hits"),
        }
    }
    assert_eq!(p.exit_status().unwrap().code, 0, "the program saw a wrong result");
    assert_eq!(usr1, 1, "SIGUSR1 reported once");
    assert_eq!(hits, 3 + callers * n + 2, "every call through the syscall is one hit");
    assert!(stepped > 0, "no step went out of line");
}

#[test]
fn eight_threads_2000_hits_each_on_a_call_are_counted_exactly() {
    let p = launch_ool(&["hits", "8", "2000"], |_| {});
    let bp = sym(&p, "hit_target");
    p.add_breakpoint(bp).unwrap();
    let mut hits = 0;
    loop {
        match cont_and_wait(&p) {
            Ok(_) => {
                // Every hit before this stop went on out of line (none lifted the breakpoint).
                let stepped = p.stepped_out_of_line().unwrap();
                assert!(stepped >= hits as u64, "{stepped} steps out of line for {hits} hits");
                hits += hits_at(&p, bp);
            }
            Err(Error::Exited) => break,
            Err(e) => panic!("{e} after {hits} hits"),
        }
    }
    assert_eq!(hits, 16_000, "every call of hit_target by 8 threads is one hit");
    assert_eq!(p.exit_status().unwrap().code, 0, "hit_inner ran 16,000 times");
}
