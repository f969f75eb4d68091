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

/// Registers, the 128 bytes around the stack pointer and the block's output words at one
/// instruction.
#[derive(Debug, PartialEq)]
struct State {
    regs: libc::user_regs_struct,
    stack: Vec<u8>,
    out: Vec<u8>,
}

fn state(p: &Process, tid: i32, out: u64) -> State {
    let mut regs = p.get_regs(tid).unwrap();
    // RF (resume flag) is set by the kernel around a trap and says nothing about the program.
    regs.eflags &= !(1 << 16);
    // orig_rax is the kernel's note of the system call a stop is in: at a single step's trap
    // right after `syscall` it is the call's number, at a breakpoint's trap always -1.
    regs.orig_rax = 0;
    let mut stack = vec![0u8; 128];
    p.peek(tid, regs.rsp - 64, &mut stack).unwrap();
    let mut o = vec![0u8; 16];
    p.peek(tid, out, &mut o).unwrap();
    State { regs, stack, out: o }
}

#[test]
fn each_instruction_class_out_of_line_equals_a_real_single_step() {
    // ool_block has one instruction of each class (rip-relative lea/mov/cmp/movups/store/add
    // with an immediate, call rel32, call [rip+d], jmp, jcc both ways, loop, push/pop,
    // syscall, ret); it is called with a = 0 and a = 1 (the jumps go both ways).
    // Run 1: the CPU single-steps every instruction in place.
    let launch = || launch_ool(&["block"], |o| o.disable_aslr = true);
    let p = launch();
    let (start, end, out) = (sym(&p, "ool_block"), sym(&p, "ool_block_end"), sym(&p, "ool_out"));
    p.add_breakpoint(start).unwrap();
    let mut stepped = Vec::new();
    let mut addrs = std::collections::BTreeSet::new();
    for _ in 0..2 {
        let (tid, kind) = cont_and_wait(&p).unwrap();
        assert_eq!(kind, CauseKind::Breakpoint);
        loop {
            let s = state(&p, tid, out);
            if s.regs.rip < start || s.regs.rip >= end {
                break;
            }
            addrs.insert(s.regs.rip);
            stepped.push(s);
            p.step(tid).unwrap();
            assert!(p.wait_stop(Some(WAIT)).is_ok());
        }
    }
    run_to_exit(&p);
    assert_eq!(p.exit_status().unwrap().code, 0);
    assert_eq!(addrs.len(), 35, "ool_block's instructions, ud2 never reached: {addrs:x?}");

    // Run 2: a breakpoint on every instruction; continuing steps them out of line (or executes
    // the few simple ones in place).
    let p = launch();
    for &a in &addrs {
        p.add_breakpoint(a).unwrap();
    }
    let mut hit = Vec::new();
    let mut out_of_line = 0;
    loop {
        match cont_and_wait(&p) {
            Ok((tid, CauseKind::Breakpoint)) => {
                hit.push(state(&p, tid, out));
                out_of_line = p.stepped_out_of_line().unwrap();
            }
            Ok((_, CauseKind::ThreadExit)) => {}
            Ok(other) => panic!("unexpected stop {other:?}"),
            Err(Error::Exited) => break,
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(p.exit_status().unwrap().code, 0);
    assert_eq!(hit.len(), stepped.len());
    for (i, (h, s)) in hit.iter().zip(&stepped).enumerate() {
        assert_eq!(h, s, "state before instruction {i} (at {:#x}) differs", s.regs.rip);
    }
    // All but the few executed in place (push, mov r64, [rip]), and the last ret (stepped
    // after the last hit), went out of line.
    assert!(out_of_line >= stepped.len() as u64 - 12, "only {out_of_line} out of line");
}

#[test]
fn a_fault_out_of_line_is_reported_at_the_original_instruction() {
    let fault = |step_in_place: bool| {
        let p = launch_ool(&["fault"], |o| o.disable_aslr = true);
        let bp = sym(&p, "ool_fault_insn");
        p.add_breakpoint(bp).unwrap();
        let (tid, kind) = cont_and_wait(&p).unwrap();
        assert_eq!(kind, CauseKind::Breakpoint);
        if step_in_place {
            p.step(tid).unwrap();
            p.wait_stop(Some(WAIT)).unwrap();
        } else {
            assert_eq!(cont_and_wait(&p).unwrap(), (tid, CauseKind::Signal));
        }
        assert_eq!(p.stop_cause(tid).unwrap().signal, libc::SIGSEGV);
        let s = state(&p, tid, sym(&p, "ool_out"));
        assert_eq!(s.regs.rip, bp, "SIGSEGV reported at the faulting instruction");
        let ool = p.stepped_out_of_line().unwrap();
        p.kill().unwrap();
        (s, ool)
    };
    let (in_place, _) = fault(true);
    let (out_of_line, steps) = fault(false);
    assert_eq!(steps, 1, "the faulting instruction went out of line");
    assert_eq!(in_place, out_of_line);
}

/// Runs `ool fork_exec WHAT` with a breakpoint on rsc_insn to its end; returns the hits.
fn fork_exec_hits(what: &str) -> usize {
    let p = launch_ool(&["fork_exec", what], |_| {});
    let bp = sym(&p, "rsc_insn");
    p.add_breakpoint(bp).unwrap();
    let mut hits = 0;
    loop {
        match cont_and_wait(&p) {
            Ok(_) => {
                check_no_scratch(&p);
                hits += hits_at(&p, bp);
            }
            Err(Error::Exited) => break,
            Err(e) => panic!("{e} after {hits} hits"),
        }
    }
    assert_eq!(p.exit_status().unwrap().code, 0, "the program or its child saw a wrong result");
    hits
}

#[test]
fn fork_while_a_thread_is_out_of_line_leaves_parent_and_child_working() {
    // The reader's read, the write that ends it; the child (forked by libc) is let go with
    // its breakpoint bytes lifted and must exit 42 (the program checks).
    assert_eq!(fork_exec_hits("fork"), 2);
}

#[test]
fn fork_through_the_breakpointed_syscall_puts_the_child_back_in_the_original_code() {
    // Read, fork (stepped out of line: the child is born in the slot and moved back to the
    // original code before it runs), write.
    assert_eq!(fork_exec_hits("rawfork"), 3);
}

#[test]
fn exec_while_a_thread_is_out_of_line_gets_a_new_scratch_area_when_needed() {
    let p = launch_ool(&["fork_exec", "exec"], |_| {});
    p.add_breakpoint(sym(&p, "rsc_insn")).unwrap();
    while cont_and_wait(&p).unwrap().1 != CauseKind::Exec {}
    assert_eq!(p.stepped_out_of_line().unwrap(), 1, "the reader stepped out of line before");
    assert_eq!(p.scratch_area().unwrap(), None, "the new image has no scratch area yet");
    // The new image: `hits 1 3` (3 calls of hit_target, whose call is stepped out of line).
    let bp = sym(&p, "hit_target");
    p.add_breakpoint(bp).unwrap();
    let mut hits = 0;
    let mut area_after = None;
    loop {
        match cont_and_wait(&p) {
            Ok(_) => {
                hits += hits_at(&p, bp);
                area_after = p.scratch_area().unwrap().or(area_after);
                check_no_scratch(&p);
            }
            Err(Error::Exited) => break,
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(hits, 3);
    assert!(area_after.is_some(), "a scratch area was mapped in the new image");
    assert_eq!(p.exit_status().unwrap().code, 0);
}

/// Launches `ool fork_exec wait` and runs it to the main thread's getppid hit, the reader
/// then blocked in read out of line (and stopped there). Returns the process, the breakpoint
/// and the scratch area.
fn stopped_with_a_thread_out_of_line() -> (Process, u64, u64) {
    let p = launch_ool(&["fork_exec", "wait"], |_| {});
    let bp = sym(&p, "rsc_insn");
    p.add_breakpoint(bp).unwrap();
    let mut hits = 0;
    while hits < 2 {
        let (_, kind) = cont_and_wait(&p).unwrap();
        if kind == CauseKind::Breakpoint {
            hits += hits_at(&p, bp);
        }
    }
    check_no_scratch(&p);
    let area = p.scratch_area().unwrap().expect("the reader stepped out of line");
    (p, bp, area)
}

#[test]
fn detach_while_a_thread_is_out_of_line_leaves_a_clean_working_process() {
    let (p, bp, area) = stopped_with_a_thread_out_of_line();
    let pid = p.pid();
    p.detach().unwrap();
    // No breakpoint byte, no scratch area: the reader's read restarts on the real syscall.
    assert_eq!(raw_mem(pid, bp, 2), [0x0F, 0x05], "the syscall is back in the text");
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).unwrap();
    let mapped = maps.lines().any(|l| {
        let mut r = l.split(['-', ' ']);
        let lo = u64::from_str_radix(r.next().unwrap(), 16).unwrap();
        let hi = u64::from_str_radix(r.next().unwrap(), 16).unwrap();
        lo <= area && area < hi
    });
    assert!(!mapped, "the scratch area {area:#x} is still mapped after detach:\n{maps}");
    // It waits for SIGUSR2 (blocked, taken by sigwait) before it finishes.
    // SAFETY: a signal to this test's own child.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGUSR2) }, 0);
    assert!(wait_pid_exit(pid, WAIT), "the detached process did not run to its end");
    let mut st = 0;
    // SAFETY: pid is this test process's own child (launched by its monitor thread).
    let r = unsafe { libc::waitpid(pid, &mut st, 0) };
    assert_eq!(r, pid);
    assert!(libc::WIFEXITED(st) && libc::WEXITSTATUS(st) == 0, "status {st:#x}");
}

#[test]
fn kill_while_a_thread_is_out_of_line_ends_the_process() {
    let (p, _, _) = stopped_with_a_thread_out_of_line();
    p.kill().unwrap();
    assert!(matches!(p.wait_stop(Some(WAIT)), Err(Error::Exited)));
    assert_eq!(p.exit_status().unwrap().signal, libc::SIGKILL);
}
