//! Breakpoints, single-step, registers and memory against real processes.

mod common;

use common::*;
use ptrace_dbg::engine::{CauseKind, Error, ExitStatus, Process, ThreadState};
use std::time::Duration;

/// Launches `tracee ARGS` and sets a breakpoint on `target_fn`; returns the process and address.
fn launch_with_bp(args: &[&str]) -> (Process, u64) {
    let p = launch(args);
    let addr = symbol_addr(p.pid(), "target_fn");
    p.add_breakpoint(addr).unwrap();
    (p, addr)
}

#[test]
fn breakpoint_hit_reports_cause_and_pc_and_stays_armed() {
    let (p, addr) = launch_with_bp(&["bp_loop", "5"]);
    for i in 0..5u64 {
        let (tid, kind) = cont_and_wait(&p).unwrap();
        assert_eq!((tid, kind), (p.pid(), CauseKind::Breakpoint), "hit {i}");
        assert_eq!(p.stop_cause(tid).unwrap().pc, addr);
        assert_eq!(p.thread_state(tid).unwrap(), ThreadState::StoppedBreakpoint);
        let regs = p.get_regs(tid).unwrap();
        assert_eq!(regs.rip, addr, "the PC reads as the breakpoint address");
        assert_eq!(regs.rdi, i, "target_fn's argument");
    }
    let rest = run_to_exit(&p);
    assert!(rest.iter().all(|e| e.1 != CauseKind::Breakpoint), "{rest:?}");
    assert_eq!(p.exit_status().unwrap(), ExitStatus { code: 0, signal: 0 });
}

#[test]
fn breakpoint_errors() {
    let (p, addr) = launch_with_bp(&["bp_loop", "1"]);
    assert!(matches!(p.add_breakpoint(addr), Err(Error::BreakpointExists(a)) if a == addr));
    assert!(matches!(p.remove_breakpoint(addr + 1), Err(Error::NoBreakpoint(_))));
    assert!(matches!(p.add_breakpoint(0), Err(Error::Fault { .. })));
    assert!(matches!(p.add_breakpoint(u64::MAX), Err(Error::Fault { .. })));
    p.remove_breakpoint(addr).unwrap();
    p.add_breakpoint(addr).unwrap();
    p.cont().unwrap();
    // Running: breakpoint changes are refused until the process stops (here at the hit).
    let r = p.add_breakpoint(addr + 4);
    assert!(matches!(r, Err(Error::BadState(_))) || r.is_ok(), "{r:?}");
    p.wait_stop(Some(WAIT)).unwrap();
    p.kill().unwrap();
}

#[test]
fn removed_breakpoint_is_not_hit_and_text_is_restored() {
    let (p, addr) = launch_with_bp(&["bp_loop", "3"]);
    let before = raw_mem(p.pid(), addr, 1)[0];
    assert_eq!(before, 0xCC, "int3 in memory");
    let mut shown = [0u8; 4];
    p.peek(p.pid(), addr, &mut shown).unwrap();
    assert_ne!(shown[0], 0xCC, "peek hides our int3");
    assert_eq!(cont_and_wait(&p).unwrap().1, CauseKind::Breakpoint);
    p.remove_breakpoint(addr).unwrap();
    assert_eq!(raw_mem(p.pid(), addr, 4), shown.to_vec(), "original bytes back");
    assert!(run_to_exit(&p).iter().all(|e| e.1 != CauseKind::Breakpoint));
    assert_eq!(p.exit_status().unwrap().code, 0);
}

#[test]
fn simultaneous_hits_are_never_lost() {
    const THREADS: usize = 4;
    const CALLS: usize = 2000;
    let (p, addr) = launch_with_bp(&["bp_threads", "4", "2000"]);
    let mut hits = 0;
    let mut stops = 0;
    loop {
        match cont_and_wait(&p) {
            Ok(_) => {
                stops += 1;
                for tid in p.threads().unwrap() {
                    // No thread shows its PC one byte into the breakpointed instruction (a trap
                    // still queued is reported at this stop, PC moved back).
                    assert_ne!(p.get_regs(tid).unwrap().rip, addr + 1, "thread {tid}");
                    if let Ok(c) = p.stop_cause(tid) {
                        if c.kind == CauseKind::Breakpoint {
                            assert_eq!(c.pc, addr);
                            assert_eq!(p.get_regs(tid).unwrap().rip, addr);
                            hits += 1;
                        }
                    }
                }
            }
            Err(Error::Exited) => break,
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(hits, THREADS * CALLS, "over {stops} stops");
    assert_eq!(p.exit_status().unwrap(), ExitStatus { code: 0, signal: 0 });
}

#[test]
fn programs_own_sigtrap_is_a_signal_and_is_delivered() {
    for mode in ["sigtrap", "own_int3"] {
        let (p, _) = launch_with_bp(&[mode]);
        let (tid, kind) = cont_and_wait(&p).unwrap();
        assert_eq!(kind, CauseKind::Signal, "{mode}");
        assert_eq!(p.stop_cause(tid).unwrap().signal, libc::SIGTRAP);
        let rest = run_to_exit(&p);
        assert!(
            rest.iter().any(|e| e.1 == CauseKind::Breakpoint) || mode == "sigtrap",
            "{mode}: {rest:?}"
        );
        // Exit 0: the program's SIGTRAP handler ran exactly once.
        assert_eq!(p.exit_status().unwrap(), ExitStatus { code: 0, signal: 0 }, "{mode}");
    }
}

#[test]
fn forked_children_run_clean_of_our_breakpoints() {
    let (p, _) = launch_with_bp(&["bp_fork"]);
    let events = run_to_exit(&p);
    let hits = events.iter().filter(|e| e.1 == CauseKind::Breakpoint).count();
    assert!(hits >= 2, "the parent's own calls hit: {events:?}");
    // Exit 0: both children exited 0 (an int3 left in them would have killed them).
    assert_eq!(p.exit_status().unwrap(), ExitStatus { code: 0, signal: 0 });
}

#[test]
fn detach_leaves_text_byte_identical() {
    let (child, _) = Spawned::ready(&["threads", "2"]);
    let addr = symbol_addr(child.pid, "target_fn");
    let before = raw_mem(child.pid, addr, 64);
    let p = Process::attach(child.pid).unwrap();
    p.add_breakpoint(addr).unwrap();
    p.add_breakpoint(addr + 7).unwrap();
    assert_ne!(raw_mem(child.pid, addr, 64), before);
    p.detach().unwrap();
    assert_eq!(raw_mem(child.pid, addr, 64), before);
}

#[test]
fn single_step_moves_one_thread_only() {
    let p = launch(&["spin", "2"]);
    // Run until both threads exist, then stop.
    let mut created = 0;
    while created < 2 {
        if cont_and_wait(&p).unwrap().1 == CauseKind::ThreadCreate {
            created += 1;
        }
    }
    let tids = p.threads().unwrap();
    let (stepper, others) = (tids[1], &tids[2..]);
    let other_pcs: Vec<u64> = others.iter().map(|&t| p.get_regs(t).unwrap().rip).collect();
    let mut pc = p.get_regs(stepper).unwrap().rip;
    let mut moved = 0;
    for _ in 0..20 {
        p.step(stepper).unwrap();
        assert_eq!(p.thread_state(stepper).unwrap(), ThreadState::Stopped);
        let now = p.get_regs(stepper).unwrap().rip;
        if now != pc {
            moved += 1;
        }
        pc = now;
    }
    assert!(moved >= 10, "the PC moved on only {moved} of 20 steps");
    let after: Vec<u64> = others.iter().map(|&t| p.get_regs(t).unwrap().rip).collect();
    assert_eq!(after, other_pcs, "the other threads did not move");
    for t in others {
        assert_eq!(task_state(p.pid(), *t), Some('t'));
    }
    p.kill().unwrap();
}

#[test]
fn step_over_a_breakpoint_under_the_pc() {
    let (p, addr) = launch_with_bp(&["bp_loop", "2"]);
    assert_eq!(cont_and_wait(&p).unwrap().1, CauseKind::Breakpoint);
    p.step(p.pid()).unwrap();
    let pc = p.get_regs(p.pid()).unwrap().rip;
    assert_eq!(pc, addr + 7, "one instruction (mov 7 bytes) past the breakpoint");
    assert_eq!(raw_mem(p.pid(), addr, 1)[0], 0xCC, "the breakpoint is back in");
    // The next call hits it again.
    assert_eq!(cont_and_wait(&p).unwrap().1, CauseKind::Breakpoint);
    assert_eq!(p.get_regs(p.pid()).unwrap().rdi, 1);
    run_to_exit(&p);
    assert_eq!(p.exit_status().unwrap().code, 0);
}

#[test]
fn call_a_function_by_hand() {
    let (p, _) = launch_with_bp(&["bp_loop", "1"]);
    assert_eq!(cont_and_wait(&p).unwrap().1, CauseKind::Breakpoint);
    let tid = p.pid();
    let saved = p.get_regs(tid).unwrap();
    let func = symbol_addr(p.pid(), "add_numbers");
    let landing = symbol_addr(p.pid(), "landing");
    p.add_breakpoint(landing).unwrap();
    let mut regs = saved;
    regs.rdi = 20;
    regs.rsi = 22;
    regs.rip = func;
    // A return address on an aligned stack below the red zone.
    regs.rsp = ((saved.rsp - 256) & !0xf) - 8;
    p.poke(tid, regs.rsp, &landing.to_le_bytes()).unwrap();
    p.set_regs(tid, &regs).unwrap();
    let (t, kind) = cont_and_wait(&p).unwrap();
    assert_eq!((t, kind), (tid, CauseKind::Breakpoint));
    assert_eq!(p.stop_cause(tid).unwrap().pc, landing);
    assert_eq!(p.get_regs(tid).unwrap().rax, 42, "add_numbers(20, 22)");
    p.set_regs(tid, &saved).unwrap();
    p.remove_breakpoint(landing).unwrap();
    run_to_exit(&p);
    assert_eq!(p.exit_status().unwrap().code, 0);
}

#[test]
fn regs_of_a_running_thread_are_bad_state() {
    let p = launch(&["spin", "0"]);
    p.cont().unwrap();
    assert!(matches!(p.get_regs(p.pid()), Err(Error::BadState(_))));
    let mut b = [0u8; 8];
    assert!(matches!(p.peek(p.pid(), 0x1000, &mut b), Err((0, Error::BadState(_)))));
    assert!(matches!(p.get_regs(424242), Err(Error::NoSuchThread(424242))));
    p.kill().unwrap();
}

/// Stops `tracee pattern` (or `poke`) at target_fn, with `pattern` filled.
fn stopped_at_target(mode: &str) -> (Process, u64) {
    let (p, addr) = launch_with_bp(&[mode]);
    assert_eq!(cont_and_wait(&p).unwrap().1, CauseKind::Breakpoint);
    p.remove_breakpoint(addr).unwrap();
    (p, addr)
}

#[test]
fn peek_reads_what_the_kernel_holds_in_bulk() {
    let (p, _) = stopped_at_target("pattern");
    let addr = symbol_addr(p.pid(), "pattern");
    let mut buf = vec![0u8; 1 << 20];
    assert_eq!(p.peek(p.pid(), addr, &mut buf).unwrap(), 1 << 20);
    assert!(buf.iter().enumerate().all(|(i, &b)| b == (i * 7 % 251) as u8));
    assert_eq!(buf[..4096], raw_mem(p.pid(), addr, 4096)[..]);
    assert_eq!(p.peek(p.pid(), addr, &mut []).unwrap(), 0);
    p.kill().unwrap();
}

/// An address where a mapping ends and nothing is mapped after it.
fn end_of_mapping_before_hole(pid: i32) -> u64 {
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).unwrap();
    let ranges: Vec<(u64, u64)> = maps
        .lines()
        .map(|l| {
            let r = l.split_whitespace().next().unwrap();
            let (a, b) = r.split_once('-').unwrap();
            (u64::from_str_radix(a, 16).unwrap(), u64::from_str_radix(b, 16).unwrap())
        })
        .collect();
    ranges.windows(2).find(|w| w[0].1 < w[1].0).map(|w| w[0].1).expect("a hole")
}

#[test]
fn peek_and_poke_stop_at_the_first_unmapped_byte() {
    let (p, _) = stopped_at_target("pattern");
    let end = end_of_mapping_before_hole(p.pid());
    let mut buf = vec![0u8; 64];
    match p.peek(p.pid(), end - 16, &mut buf) {
        Err((16, Error::Fault { addr, done: 16, .. })) => assert_eq!(addr, end),
        r => panic!("unexpected {r:?}"),
    }
    assert_eq!(buf[..16], raw_mem(p.pid(), end - 16, 16)[..]);
    assert!(matches!(p.peek(p.pid(), 0, &mut buf), Err((0, Error::Fault { .. }))));
    assert!(matches!(
        p.peek(p.pid(), 0xffff_8000_0000_0000, &mut buf),
        Err((0, Error::Fault { .. }))
    ));
    assert!(matches!(p.peek(p.pid(), u64::MAX - 8, &mut buf), Err((0, Error::InvalidArgument(_)))));
    let data = vec![0x5au8; 64];
    let before = raw_mem(p.pid(), end - 16, 16);
    match p.poke(p.pid(), end - 16, &data) {
        Err((16, Error::Fault { done: 16, .. })) => {}
        r => panic!("unexpected {r:?}"),
    }
    assert_ne!(before, vec![0x5a; 16]);
    assert_eq!(raw_mem(p.pid(), end - 16, 16), vec![0x5a; 16]);
    p.kill().unwrap();
}

#[test]
fn poke_patches_read_only_code() {
    let (p, _) = stopped_at_target("poke");
    let func = symbol_addr(p.pid(), "check_poke");
    // mov eax, 0; ret
    let code = [0xB8, 0, 0, 0, 0, 0xC3];
    assert_eq!(p.poke(p.pid(), func, &code).unwrap(), code.len());
    assert_eq!(raw_mem(p.pid(), func, 6), code.to_vec());
    run_to_exit(&p);
    assert_eq!(p.exit_status().unwrap().code, 0, "the patched function returned 0");
}

#[test]
fn poke_over_a_breakpoint_keeps_it_and_changes_the_original() {
    let (p, addr) = launch_with_bp(&["bp_loop", "1"]);
    let mut orig = [0u8; 2];
    p.peek(p.pid(), addr, &mut orig).unwrap();
    p.poke(p.pid(), addr, &orig).unwrap();
    assert_eq!(raw_mem(p.pid(), addr, 2), vec![0xCC, orig[1]], "int3 stays in memory");
    let mut again = [0u8; 2];
    p.peek(p.pid(), addr, &mut again).unwrap();
    assert_eq!(again, orig);
    assert_eq!(cont_and_wait(&p).unwrap().1, CauseKind::Breakpoint);
    run_to_exit(&p);
    assert_eq!(p.exit_status().unwrap().code, 0);
}

#[test]
fn memory_is_reopened_after_exec() {
    let tracee = tracee();
    let p = launch(&["exec_from_thread", tracee.to_str().unwrap(), "pattern"]);
    let before = symbol_addr(p.pid(), "pattern");
    let mut b = [0u8; 8];
    p.peek(p.pid(), before, &mut b).unwrap();
    loop {
        let (_, kind) = cont_and_wait(&p).unwrap();
        if kind == CauseKind::Exec {
            break;
        }
    }
    // A new image: set a breakpoint and read through the new address space.
    let addr = symbol_addr(p.pid(), "target_fn");
    let mut code = [0u8; 16];
    p.peek(p.pid(), addr, &mut code).unwrap();
    assert_eq!(code.to_vec(), raw_mem(p.pid(), addr, 16));
    p.add_breakpoint(addr).unwrap();
    let (_, kind) = cont_and_wait(&p).unwrap();
    assert_eq!(kind, CauseKind::Breakpoint);
    let pat = symbol_addr(p.pid(), "pattern");
    let mut buf = [0u8; 16];
    p.peek(p.pid(), pat, &mut buf).unwrap();
    assert_eq!(buf[3], 21);
    run_to_exit(&p);
    assert_eq!(p.exit_status().unwrap().code, 0);
    let _ = Duration::ZERO;
}

#[test]
fn detach_mid_run_leaves_no_pending_breakpoint_trap_behind() {
    // Threads hitting a breakpoint together: when the world stops, some have executed the int3
    // but were interrupted before their trap was reported. Detached like that they would die of
    // SIGTRAP. The program must finish normally after detach at any stop.
    for round in 0..10 {
        let (p, _) = launch_with_bp(&["bp_threads", "4", "300"]);
        let pid = p.pid();
        for _ in 0..(5 + round * 3) {
            if cont_and_wait(&p).is_err() {
                break;
            }
        }
        if p.detach().is_err() {
            continue; // exited already
        }
        // The launched program is the host's child: reap it ourselves.
        assert!(wait_pid_exit(pid, WAIT), "round {round}: still running after detach");
        let mut status = 0;
        // SAFETY: waitpid on our own child with a valid out-pointer.
        let r = unsafe { libc::waitpid(pid, &mut status, 0) };
        assert_eq!(r, pid);
        assert!(
            libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
            "round {round}: the program ended with wait status {status:#x}"
        );
    }
}

#[test]
fn a_signal_arriving_during_a_step_is_reported_not_lost() {
    let (p, _) = launch_with_bp(&["bp_loop", "3"]);
    assert_eq!(cont_and_wait(&p).unwrap().1, CauseKind::Breakpoint);
    let tid = p.pid();
    let pc = p.get_regs(tid).unwrap().rip;
    // Queue SIGUSR1 for the stopped thread; the step's resume delivers it first.
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(p.pid()), nix::sys::signal::SIGUSR1).unwrap();
    p.step(tid).unwrap();
    let cause = p.stop_cause(tid).unwrap();
    assert_eq!((cause.kind, cause.signal), (CauseKind::Signal, libc::SIGUSR1));
    assert_eq!(p.get_regs(tid).unwrap().rip, pc, "the instruction was not executed yet");
    // Continuing delivers it: SIGUSR1's default action ends the program.
    run_to_exit(&p);
    assert_eq!(p.exit_status().unwrap(), ExitStatus { code: -1, signal: libc::SIGUSR1 });
}

#[test]
fn freeing_an_attached_process_with_breakpoints_leaves_its_text_as_it_was() {
    let (mut child, _) = Spawned::ready(&["threads", "2"]);
    let addr = symbol_addr(child.pid, "target_fn");
    let before = raw_mem(child.pid, addr, 64);
    let p = Process::attach(child.pid).unwrap();
    p.add_breakpoint(addr).unwrap();
    p.add_breakpoint(addr + 7).unwrap();
    drop(p); // free without detach: detaches, and takes the breakpoints out first
    assert_eq!(raw_mem(child.pid, addr, 64), before);
    assert!(child.child.try_wait().unwrap().is_none(), "still running after free");
}

/// A breakpoint removed at a hit while 4 threads hammer it: after the removal no breakpoint
/// stop and no SIGTRAP reaches the caller or the program (which a trap of a hit racing the
/// stop would kill): hits that raced the stop were reported at it. Several rounds, the
/// breakpoint removed at its first, second or third hit.
#[test]
fn removing_a_breakpoint_swallows_the_traps_still_pending_on_it() {
    for round in 0..12 {
        let (p, addr) = launch_with_bp(&["bp_threads", "4", "3000"]);
        let mut hits = 0;
        while hits <= round % 3 {
            let (_, kind) = cont_and_wait(&p).unwrap();
            hits += usize::from(kind == CauseKind::Breakpoint);
        }
        p.remove_breakpoint(addr).unwrap();
        let stops = run_to_exit(&p);
        assert!(
            stops.iter().all(|&(_, k)| k != CauseKind::Signal && k != CauseKind::Breakpoint),
            "round {round}: after the removal: {stops:?}"
        );
        assert_eq!(p.exit_status().unwrap(), ExitStatus { code: 0, signal: 0 }, "round {round}");
    }
}

/// A program's own `int $3` in its two-byte form (CD 03) raises the same kind of SIGTRAP as an
/// int3 of ours, but the byte before its PC is not 0xCC and no breakpoint of ours was ever
/// there: it is the program's signal (reported, delivered, the PC left alone), never taken
/// for the stale trap of a removed breakpoint, even with breakpoints set elsewhere.
#[test]
fn a_programs_two_byte_int3_is_its_own_signal() {
    let exe = build_tracee("self_step");
    let mut opts = ptrace_dbg::engine::LaunchOptions::new();
    opts.argv = vec!["self_step".into(), "int3_long".into()];
    let p = Process::launch(&exe, &opts).unwrap();
    // A breakpoint elsewhere (never hit in this mode), then removed: breakpoints have existed.
    let block = program_symbol(&exe, p.pid(), "stepped_block");
    p.add_breakpoint(block).unwrap();
    p.add_breakpoint(block + 1).unwrap();
    p.remove_breakpoint(block + 1).unwrap();
    let stops = run_to_exit(&p);
    let traps = stops.iter().filter(|&&(_, k)| k == CauseKind::Signal).count();
    assert_eq!(traps, 2, "{stops:?}");
    assert_eq!(p.exit_status().unwrap(), ExitStatus { code: 2, signal: 0 });
}

/// exec replaces the address space: breakpoints of the old image are forgotten (the same
/// address in the new one, ASLR off, takes a new breakpoint and holds its own code) and memory
/// writes go to the new image.
#[test]
fn exec_forgets_the_old_images_breakpoints_and_writes_to_the_new_one() {
    let tracee = tracee();
    let p = launch_with(&["exec_from_thread", tracee.to_str().unwrap(), "pattern"], |o| {
        o.disable_aslr = true
    });
    let old = symbol_addr(p.pid(), "target_fn");
    p.add_breakpoint(old).unwrap();
    loop {
        let (_, kind) = cont_and_wait(&p).unwrap();
        if kind == CauseKind::Exec {
            break;
        }
    }
    let addr = symbol_addr(p.pid(), "target_fn");
    assert_eq!(addr, old, "ASLR off: the same address in the new image");
    assert_ne!(raw_mem(p.pid(), addr, 1)[0], 0xCC, "no int3 in the new image");
    assert!(matches!(p.remove_breakpoint(addr), Err(Error::NoBreakpoint(_))));
    p.add_breakpoint(addr).unwrap();
    let pat = symbol_addr(p.pid(), "pattern");
    p.poke(p.pid(), pat, &[0x5A]).unwrap();
    assert_eq!(raw_mem(p.pid(), pat, 1), vec![0x5A], "the poke reached the new image");
    let (_, kind) = cont_and_wait(&p).unwrap();
    assert_eq!(kind, CauseKind::Breakpoint);
    run_to_exit(&p);
    assert_eq!(p.exit_status().unwrap().code, 0);
}

/// A breakpoint set on the program's own int3 and removed before it runs: the program's trap
/// is then its own signal (the byte is 0xCC, the program's), not the stale trap of the
/// removed breakpoint, and its handler runs once.
#[test]
fn a_removed_breakpoint_on_the_programs_own_int3_leaves_its_trap_to_it() {
    let no_aslr = |o: &mut ptrace_dbg::engine::LaunchOptions| o.disable_aslr = true;
    // A first run finds the program's int3 (ASLR off: the same address in the second).
    let p = launch_with(&["own_int3"], no_aslr);
    let (tid, kind) = cont_and_wait(&p).unwrap();
    assert_eq!(kind, CauseKind::Signal);
    let int3 = p.get_regs(tid).unwrap().rip - 1;
    drop(p);
    let p = launch_with(&["own_int3"], no_aslr);
    assert_eq!(raw_mem(p.pid(), int3, 1), vec![0xCC], "the program's own int3");
    p.add_breakpoint(int3).unwrap();
    p.remove_breakpoint(int3).unwrap();
    p.cont().unwrap();
    let tid = wait_stop_within(&p, Duration::from_secs(5)).expect("the program's trap");
    let cause = p.stop_cause(tid).unwrap();
    assert_eq!((cause.kind, cause.signal), (CauseKind::Signal, libc::SIGTRAP));
    run_to_exit(&p);
    // Exit 0: the program's SIGTRAP handler ran exactly once.
    assert_eq!(p.exit_status().unwrap(), ExitStatus { code: 0, signal: 0 });
}

/// A poke of exactly the breakpoint's one byte: it becomes the original, the int3 stays.
#[test]
fn a_one_byte_poke_onto_a_breakpoint_keeps_it() {
    let (p, addr) = launch_with_bp(&["bp_loop", "1"]);
    let mut orig = [0u8; 1];
    p.peek(p.pid(), addr, &mut orig).unwrap();
    p.poke(p.pid(), addr, &orig).unwrap();
    assert_eq!(raw_mem(p.pid(), addr, 1), vec![0xCC], "int3 stays in memory");
    let mut again = [0u8; 1];
    p.peek(p.pid(), addr, &mut again).unwrap();
    assert_eq!(again, orig);
    assert_eq!(cont_and_wait(&p).unwrap().1, CauseKind::Breakpoint);
    run_to_exit(&p);
    assert_eq!(p.exit_status().unwrap().code, 0);
}
