//! Hardware watchpoints against real processes (c-tests/tracees/watch.c): every thread present
//! and future, exact counts and values, steps, breakpoints at the same place, kernel writes,
//! fork, exec, detach, slot accounting.

mod common;

use common::*;
use ptrace_dbg::engine::{CauseKind, Error, LaunchOptions, Process, ThreadState, WatchKind};
use std::collections::HashMap;
use std::path::PathBuf;

fn watch_exe() -> PathBuf {
    build_tracee("watch")
}

fn launch_watch(args: &[&str]) -> Process {
    let mut opts = LaunchOptions::new();
    let exe = watch_exe();
    opts.argv = std::iter::once(exe.to_str().unwrap())
        .chain(args.iter().copied())
        .map(Into::into)
        .collect();
    Process::launch(&exe, &opts).expect("launch watch tracee")
}

fn sym(p: &Process, name: &str) -> u64 {
    program_symbol(&watch_exe(), p.pid(), name)
}

fn peek_u64(p: &Process, tid: i32, addr: u64) -> u64 {
    let mut b = [0u8; 8];
    p.peek(tid, addr, &mut b).expect("peek");
    u64::from_le_bytes(b)
}

/// Threads of the current stop with cause `kind`.
fn stopped_with(p: &Process, kind: CauseKind) -> Vec<i32> {
    p.threads().unwrap().into_iter().filter(|&t| p.stop_cause(t).unwrap().kind == kind).collect()
}

/// Continues and expects the process to exit with `code`, with no watchpoint, breakpoint or
/// signal stop on the way (thread exits, creations and exec stops are passed).
fn expect_exit(p: &Process, code: i32) {
    for (tid, kind) in run_to_exit(p) {
        assert!(
            matches!(kind, CauseKind::ThreadExit | CauseKind::ThreadCreate | CauseKind::Exec),
            "an unexpected stop on the way to the exit: thread {tid}, {kind:?}"
        );
    }
    assert_eq!(p.exit_status().unwrap().code, code);
}

/// Continues to the next stop, which must be a watchpoint hit of one thread; returns
/// (tid, id, pc).
fn cont_to_watch(p: &Process) -> (i32, i32, u64) {
    let (tid, kind) = cont_and_wait(p).expect("continue to the watchpoint");
    assert_eq!(kind, CauseKind::Watchpoint, "stopped by {kind:?} instead");
    assert_eq!(p.thread_state(tid).unwrap(), ThreadState::StoppedBreakpoint);
    let (id, _) = p.watchpoint_hit(tid).unwrap();
    (tid, id, p.get_regs(tid).unwrap().rip)
}

fn run_threads_writing(set_before_threads: bool) {
    const N: u64 = 1000;
    let p = launch_watch(&["threads", &N.to_string()]);
    let wvar = sym(&p, "wvar");
    let mut ids = HashMap::new();
    let add_all = |ids: &mut HashMap<i32, usize>| {
        for i in 0..4 {
            let id = p.add_watchpoint(wvar + 8 * i as u64, 8, WatchKind::Write).unwrap();
            ids.insert(id, i);
        }
    };
    if set_before_threads {
        // Every writer thread is created after this: each gets the registers at its clone.
        add_all(&mut ids);
    } else {
        // Set while the four writers exist (blocked on a barrier): written into each at once.
        let ready = sym(&p, "watch_ready");
        p.add_breakpoint(ready).unwrap();
        loop {
            let (tid, kind) = cont_and_wait(&p).unwrap();
            if kind == CauseKind::Breakpoint {
                assert_eq!(p.stop_cause(tid).unwrap().pc, ready);
                break;
            }
        }
        assert_eq!(p.threads().unwrap().len(), 5);
        p.remove_breakpoint(ready).unwrap();
        add_all(&mut ids);
    }
    // Per variable: the thread that writes it, and the last value seen.
    let mut writer: [Option<i32>; 4] = [None; 4];
    let mut last = [0u64; 4];
    let mut hits = 0u64;
    loop {
        p.cont().unwrap();
        match p.wait_stop(Some(WAIT)) {
            Err(Error::Exited) => break,
            Err(e) => panic!("{e} after {hits} hits"),
            Ok(_) => {}
        }
        for tid in stopped_with(&p, CauseKind::Watchpoint) {
            let (id, addr) = p.watchpoint_hit(tid).unwrap();
            let i = ids[&id];
            assert_eq!(addr, wvar + 8 * i as u64);
            let w = *writer[i].get_or_insert(tid);
            assert_eq!(w, tid, "wvar[{i}] is written by thread {w} only, hit reported for {tid}");
            let value = peek_u64(&p, tid, addr);
            assert_eq!(value, last[i] + 1, "wvar[{i}] at its hit holds the value just written");
            last[i] = value;
            hits += 1;
        }
    }
    assert_eq!(last, [N; 4], "every write of every thread was reported");
    assert_eq!(hits, 4 * N, "4 threads x {N} writes, each one stop");
    assert_eq!(p.exit_status().unwrap().code, 0);
}

#[test]
fn four_threads_writing_give_4000_watchpoint_stops_set_before_they_exist() {
    run_threads_writing(true);
}

#[test]
fn four_threads_writing_give_4000_watchpoint_stops_set_while_they_exist() {
    run_threads_writing(false);
}

#[test]
fn threads_created_and_exiting_while_a_watchpoint_is_set_are_each_caught() {
    const N: u64 = 50;
    let p = launch_watch(&["churn", &N.to_string()]);
    let wvar = sym(&p, "wvar");
    let id = p.add_watchpoint(wvar, 8, WatchKind::Write).unwrap();
    let mut seen_tids = Vec::new();
    let mut next = 1;
    loop {
        p.cont().unwrap();
        match p.wait_stop(Some(WAIT)) {
            Err(Error::Exited) => break,
            Err(e) => panic!("{e}"),
            Ok(_) => {}
        }
        for tid in stopped_with(&p, CauseKind::Watchpoint) {
            assert_eq!(p.watchpoint_hit(tid).unwrap(), (id, wvar));
            assert_ne!(tid, p.pid(), "only the short-lived threads write");
            assert_eq!(peek_u64(&p, tid, wvar), next);
            next += 1;
            seen_tids.push(tid);
        }
    }
    assert_eq!(next, N + 1, "each of the {N} threads' write was reported");
    seen_tids.dedup();
    assert_eq!(seen_tids.len() as u64, N, "each by its own thread");
    assert_eq!(p.exit_status().unwrap().code, 0);
}

#[test]
fn execute_watchpoint_fires_before_the_instruction_and_continue_and_step_go_past() {
    let p = launch_watch(&["call", "3"]);
    let f = sym(&p, "target_fn");
    let id = p.add_watchpoint(f, 1, WatchKind::Execute).unwrap();
    let (tid, hit, pc) = cont_to_watch(&p);
    assert_eq!((hit, pc), (id, f), "stopped before target_fn's first instruction");
    assert_eq!(p.stop_cause(tid).unwrap().pc, f);
    // A step executes the instruction rather than faulting on it again.
    p.step(tid).unwrap();
    assert_eq!(p.stop_cause(tid).unwrap().kind, CauseKind::Stopped);
    assert_eq!(p.get_regs(tid).unwrap().rip, f + 7, "the 7-byte load ran");
    // Two more calls, two more hits; the continue from each does not hit it again.
    for _ in 0..2 {
        let (_, hit, pc) = cont_to_watch(&p);
        assert_eq!((hit, pc), (id, f));
    }
    expect_exit(&p, 0);
}

#[test]
fn execute_watchpoint_leaves_code_a_breakpoint_would_change_untouched() {
    // The program checksums target_fn's code around calling it: an int3 shows, the
    // execute watchpoint does not.
    let p = launch_watch(&["checksum", "3"]);
    let f = sym(&p, "target_fn");
    let id = p.add_watchpoint(f, 1, WatchKind::Execute).unwrap();
    for _ in 0..3 {
        let (_, hit, pc) = cont_to_watch(&p);
        assert_eq!((hit, pc), (id, f));
    }
    expect_exit(&p, 0);
    // The control: a software breakpoint there is seen by the program.
    let p = launch_watch(&["checksum", "3"]);
    p.add_breakpoint(sym(&p, "target_fn")).unwrap();
    let causes = run_to_exit(&p);
    assert_eq!(causes.iter().filter(|(_, k)| *k == CauseKind::Breakpoint).count(), 3);
    assert_eq!(p.exit_status().unwrap().code, 1, "the program saw its code patched");
}

#[test]
fn execute_watchpoint_and_breakpoint_at_one_address_stop_once_per_call() {
    let p = launch_watch(&["call", "3"]);
    let f = sym(&p, "target_fn");
    p.add_breakpoint(f).unwrap();
    let id = p.add_watchpoint(f, 1, WatchKind::Execute).unwrap();
    for call in 0..3 {
        let (tid, kind) = cont_and_wait(&p).unwrap();
        assert_eq!(kind, CauseKind::Breakpoint, "call {call}: the breakpoint's cause");
        assert_eq!(p.stop_cause(tid).unwrap().pc, f);
        assert_eq!(p.watchpoint_hit(tid).unwrap(), (id, f), "and the watchpoint named");
        assert_eq!(p.get_regs(tid).unwrap().rip, f);
    }
    expect_exit(&p, 0);
}

#[test]
fn watchpoint_hit_during_a_single_step_is_reported_and_the_step_completes() {
    let p = launch_watch(&["store", "2"]);
    let (store, wvar) = (sym(&p, "store_fn"), sym(&p, "wvar"));
    p.add_breakpoint(store).unwrap();
    let (tid, kind) = cont_and_wait(&p).unwrap();
    assert_eq!(kind, CauseKind::Breakpoint);
    p.remove_breakpoint(store).unwrap();
    let id = p.add_watchpoint(wvar, 8, WatchKind::Write).unwrap();
    p.step(tid).unwrap();
    assert_eq!(p.stop_cause(tid).unwrap().kind, CauseKind::Watchpoint);
    assert_eq!(p.watchpoint_hit(tid).unwrap(), (id, wvar));
    assert_eq!(p.get_regs(tid).unwrap().rip, store + 7, "the store completed");
    assert_eq!(peek_u64(&p, tid, wvar), 100);
    // The second call is a plain hit.
    let (_, hit, pc) = cont_to_watch(&p);
    assert_eq!((hit, pc), (id, store + 7));
    expect_exit(&p, 0);
}

#[test]
fn watchpoint_hit_while_stepping_over_a_breakpoint_is_reported_and_the_breakpoint_stays() {
    let p = launch_watch(&["store", "2"]);
    let (store, wvar) = (sym(&p, "store_fn"), sym(&p, "wvar"));
    p.add_breakpoint(store).unwrap();
    let (tid, kind) = cont_and_wait(&p).unwrap();
    assert_eq!(kind, CauseKind::Breakpoint);
    let id = p.add_watchpoint(wvar, 8, WatchKind::Write).unwrap();
    // The continue steps over the breakpoint (the store must run on the CPU to trip).
    let (t2, hit, pc) = cont_to_watch(&p);
    assert_eq!((t2, hit, pc), (tid, id, store + 7));
    assert_eq!(peek_u64(&p, tid, wvar), 100);
    // The breakpoint went back in: the second call hits it, then the watchpoint.
    let (_, kind) = cont_and_wait(&p).unwrap();
    assert_eq!(kind, CauseKind::Breakpoint);
    let (_, _, pc) = cont_to_watch(&p);
    assert_eq!(pc, store + 7);
    assert_eq!(peek_u64(&p, tid, wvar), 101);
    expect_exit(&p, 0);
}

#[test]
fn a_kernel_write_into_a_watched_buffer_does_not_stop_but_the_programs_own_does() {
    let p = launch_watch(&["read_into"]);
    let wbuf = sym(&p, "wbuf");
    let id = p.add_watchpoint(wbuf, 8, WatchKind::Write).unwrap();
    // read(2) fills wbuf from the kernel: no stop. The program's own store does stop.
    let (tid, hit, _) = cont_to_watch(&p);
    assert_eq!(hit, id);
    let mut b = [0u8; 8];
    p.peek(tid, wbuf, &mut b).unwrap();
    assert_eq!(&b, b"BBCDEFGH", "the stop is the program's store after the read");
    expect_exit(&p, 0);
}

#[test]
fn read_write_watchpoints_see_reads_and_write_ones_do_not() {
    let p = launch_watch(&["reads"]);
    let wvar = sym(&p, "wvar");
    let w1 = p.add_watchpoint(wvar + 8, 8, WatchKind::Write).unwrap();
    let w2 = p.add_watchpoint(wvar + 16, 8, WatchKind::Write).unwrap();
    let (_, hit, _) = cont_to_watch(&p);
    assert_eq!(hit, w2, "the read of wvar[1] did not trip its write watchpoint");
    assert_ne!(hit, w1);
    expect_exit(&p, 0);
    let p = launch_watch(&["reads"]);
    let rw = p.add_watchpoint(wvar_of(&p) + 8, 8, WatchKind::ReadWrite).unwrap();
    let (_, hit, _) = cont_to_watch(&p);
    assert_eq!(hit, rw, "the read of wvar[1] tripped its read/write watchpoint");
    expect_exit(&p, 0);
}

fn wvar_of(p: &Process) -> u64 {
    sym(p, "wvar")
}

#[test]
fn a_forked_child_runs_untrapped() {
    let p = launch_watch(&["fork"]);
    let wvar = sym(&p, "wvar");
    let id = p.add_watchpoint(wvar, 8, WatchKind::Write).unwrap();
    // The child's ten writes stop nothing (it has no debug registers); the parent's write
    // after the child exited does. On the way: the child's SIGCHLD.
    let (tid, kind) = loop {
        let (tid, kind) = cont_and_wait(&p).unwrap();
        if kind != CauseKind::Signal || p.stop_cause(tid).unwrap().signal != libc::SIGCHLD {
            break (tid, kind);
        }
    };
    assert_eq!(kind, CauseKind::Watchpoint);
    assert_eq!(tid, p.pid());
    assert_eq!(p.watchpoint_hit(tid).unwrap(), (id, wvar));
    assert_eq!(peek_u64(&p, tid, wvar), 9);
    expect_exit(&p, 0); // 3 would mean the child did not exit normally (SIGTRAP)
}

#[test]
fn exec_removes_every_watchpoint_and_invalidates_its_id() {
    let p = launch_watch(&["exec_store"]);
    let wvar = sym(&p, "wvar");
    let id = p.add_watchpoint(wvar, 8, WatchKind::Write).unwrap();
    let (_, hit, _) = cont_to_watch(&p);
    assert_eq!(hit, id);
    let (_, kind) = cont_and_wait(&p).unwrap();
    assert_eq!(kind, CauseKind::Exec);
    assert!(matches!(p.remove_watchpoint(id), Err(Error::NoWatchpoint(_))));
    // All four slots are free again, and the new program's stores do not stop.
    let ids: Vec<i32> =
        (0..4).map(|i| p.add_watchpoint(0x1000 + 8 * i, 8, WatchKind::Write).unwrap()).collect();
    assert!(!ids.contains(&id), "ids are not reused");
    for id in ids {
        p.remove_watchpoint(id).unwrap();
    }
    expect_exit(&p, 0);
}

#[test]
fn detach_clears_the_debug_registers_so_the_program_writes_on_unharmed() {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let child = Command::new(watch_exe())
        .arg("detach")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    // Killed and reaped on drop if the test fails.
    let mut spawned = Spawned { pid: child.id() as i32, child };
    let mut out = spawned.child.stdout.take().unwrap();
    assert_eq!(read_line(&mut out, WAIT).as_deref(), Some("ready"));
    let p = Process::attach(spawned.pid).unwrap();
    let wvar = program_symbol(&watch_exe(), spawned.pid, "wvar");
    let id = p.add_watchpoint(wvar, 8, WatchKind::Write).unwrap();
    spawned.child.stdin.take().unwrap().write_all(b"g").unwrap();
    let (tid, hit, _) = cont_to_watch(&p);
    assert_eq!(hit, id);
    assert_eq!(peek_u64(&p, tid, wvar), 1);
    p.detach().unwrap();
    // 999 more writes, untraced: a debug register left enabled would kill it with SIGTRAP.
    let status = spawned.wait_exit();
    assert_eq!(status.code(), Some(0), "the detached program ended with {status:?}");
}

#[test]
fn a_launched_process_with_watchpoints_is_killed_cleanly() {
    let p = launch_watch(&["store", "3"]);
    p.add_watchpoint(sym(&p, "wvar"), 8, WatchKind::Write).unwrap();
    let _ = cont_to_watch(&p);
    p.kill().unwrap();
    assert_eq!(p.exit_status().unwrap().signal, libc::SIGKILL);
}

#[test]
fn four_slots_fifth_is_no_resource_and_1000_cycles_leak_none() {
    let p = launch_watch(&["store", "1"]);
    let wvar = sym(&p, "wvar");
    let mut last = 0;
    for cycle in 0..1000u64 {
        let kind = [WatchKind::Write, WatchKind::ReadWrite, WatchKind::Execute][cycle as usize % 3];
        let len = if kind == WatchKind::Execute { 1 } else { 8 };
        let id = p.add_watchpoint(wvar + 8 * (cycle % 4), len, kind).unwrap();
        assert!(id > last, "ids grow");
        last = id;
        p.remove_watchpoint(id).unwrap();
        assert!(matches!(p.remove_watchpoint(id), Err(Error::NoWatchpoint(_))));
    }
    let ids: Vec<i32> =
        (0..4).map(|i| p.add_watchpoint(wvar + 8 * i, 8, WatchKind::Write).unwrap()).collect();
    match p.add_watchpoint(wvar, 8, WatchKind::Write) {
        Err(Error::NoResource(m)) => assert!(m.contains("slots"), "{m}"),
        other => panic!("a fifth watchpoint: {other:?}"),
    }
    // The watchpoint on wvar[0] works after all that.
    let (_, hit, _) = cont_to_watch(&p);
    assert_eq!(hit, ids[0]);
    expect_exit(&p, 0);
}

#[test]
fn bad_requests_are_refused_with_reasons() {
    let p = launch_watch(&["store", "1"]);
    let wvar = sym(&p, "wvar");
    for (addr, len, kind, says) in [
        (wvar, 3, WatchKind::Write, "1, 2, 4 or 8"),
        (wvar, 16, WatchKind::Write, "1, 2, 4 or 8"),
        (wvar, 0, WatchKind::ReadWrite, "1, 2, 4 or 8"),
        (wvar + 4, 8, WatchKind::Write, "aligned"),
        (wvar + 1, 2, WatchKind::Write, "aligned"),
        (wvar, 8, WatchKind::Execute, "length 1"),
        (0xffff_ffff_ff60_0000, 8, WatchKind::Write, "user-space"),
        (u64::MAX - 7, 8, WatchKind::Write, "user-space"),
        // Canonical and below 2^56, but not user space under 4-level paging: the kernel says.
        (0x00ff_0000_0000_0000, 8, WatchKind::Write, ""),
    ] {
        match p.add_watchpoint(addr, len, kind) {
            Err(Error::InvalidArgument(m)) => assert!(m.contains(says), "{m}"),
            Ok(id) if says.is_empty() => p.remove_watchpoint(id).unwrap(), // 5-level paging
            other => panic!("{addr:#x} {len} {kind:?}: {other:?}"),
        }
    }
    assert!(matches!(p.remove_watchpoint(0), Err(Error::NoWatchpoint(_))));
    assert!(matches!(p.remove_watchpoint(-1), Err(Error::NoWatchpoint(_))));
    assert!(matches!(p.watchpoint_hit(p.pid()), Err(Error::NoWatchpoint(_))));
    assert!(matches!(p.watchpoint_hit(1), Err(Error::NoSuchThread(1))));
    // Nothing half-set remains: four fit.
    for i in 0..4 {
        p.add_watchpoint(wvar + 8 * i, 8, WatchKind::Write).unwrap();
    }
    p.kill().unwrap();
    assert!(matches!(p.add_watchpoint(wvar, 8, WatchKind::Write), Err(Error::Exited)));
}

/// DR7 of every thread of `pid`, read by this test thread as a tracer of its own (seize,
/// interrupt, PEEKUSER, detach): what the kernel holds after the library let go.
fn dr7_of_every_thread(pid: i32) -> Vec<(i32, u64)> {
    let dr7_offset = 848 + 7 * 8; // offsetof(struct user, u_debugreg[7])
    live_tasks(pid)
        .into_iter()
        .map(|tid| {
            // SAFETY: plain ptrace requests on a thread of our own child; no pointers passed
            // except NULLs and the status word.
            unsafe {
                assert_eq!(libc::ptrace(libc::PTRACE_SEIZE, tid, 0, 0), 0, "seize {tid}");
                assert_eq!(libc::ptrace(libc::PTRACE_INTERRUPT, tid, 0, 0), 0);
                let mut st = 0;
                assert_eq!(libc::waitpid(tid, &mut st, libc::__WALL), tid);
                nix::errno::Errno::clear();
                let v = libc::ptrace(libc::PTRACE_PEEKUSER, tid, dr7_offset, 0);
                assert_eq!(nix::errno::Errno::last_raw(), 0, "PEEKUSER DR7 of {tid}");
                assert_eq!(libc::ptrace(libc::PTRACE_DETACH, tid, 0, 0), 0);
                (tid, v as u64)
            }
        })
        .collect()
}

fn debug_registers_are_clear_after(let_go: impl FnOnce(Process)) {
    let (child, _) = Spawned::ready(&["threads", "3"]);
    let p = Process::attach(child.pid).unwrap();
    let pattern = symbol_addr(child.pid, "pattern");
    p.add_watchpoint(pattern, 8, WatchKind::Write).unwrap();
    p.add_watchpoint(pattern + 64, 4, WatchKind::ReadWrite).unwrap();
    p.add_watchpoint(symbol_addr(child.pid, "target_fn"), 1, WatchKind::Execute).unwrap();
    // Run and stop once, so that the registers went in by both ways (at once and at resume).
    p.cont().unwrap();
    p.stop().unwrap();
    let_go(p);
    let dr7 = dr7_of_every_thread(child.pid);
    assert_eq!(dr7.len(), 4, "the main thread and its three: {dr7:?}");
    assert!(dr7.iter().all(|&(_, v)| v == 0), "DR7 left set: {dr7:?}");
}

#[test]
fn detach_leaves_dr7_zero_on_every_thread() {
    debug_registers_are_clear_after(|p| p.detach().unwrap());
}

#[test]
fn freeing_an_attached_process_leaves_dr7_zero_on_every_thread() {
    debug_registers_are_clear_after(drop);
}

#[test]
fn an_access_under_a_breakpoint_runs_on_the_cpu_so_its_watchpoint_trips() {
    // target_fn begins with `mov sink(%rip), %rax`, an instruction the engine would otherwise
    // execute in place (its read through /proc/PID/mem would not trip anything).
    let p = launch_watch(&["call", "2"]);
    let (f, sink) = (sym(&p, "target_fn"), sym(&p, "sink"));
    p.add_breakpoint(f).unwrap();
    let (tid, kind) = cont_and_wait(&p).unwrap();
    assert_eq!(kind, CauseKind::Breakpoint);
    let id = p.add_watchpoint(sink, 8, WatchKind::ReadWrite).unwrap();
    let (t, hit, pc) = cont_to_watch(&p);
    assert_eq!((t, hit), (tid, id));
    assert_eq!(pc, f + 7, "the load itself tripped it, not the store after it");
    p.remove_watchpoint(id).unwrap();
    let (_, kind) = cont_and_wait(&p).unwrap();
    assert_eq!(kind, CauseKind::Breakpoint, "the breakpoint is back for the second call");
    p.remove_breakpoint(f).unwrap();
    expect_exit(&p, 0);
}

#[test]
fn a_push_under_a_breakpoint_runs_on_the_cpu_so_a_stack_watchpoint_trips() {
    // push_fn begins with `push %rbx`, which the engine would otherwise execute in place (its
    // write through /proc/PID/mem would not trip anything).
    let p = launch_watch(&["push", "2"]);
    let f = sym(&p, "push_fn");
    p.add_breakpoint(f).unwrap();
    let (tid, kind) = cont_and_wait(&p).unwrap();
    assert_eq!(kind, CauseKind::Breakpoint);
    let slot = p.get_regs(tid).unwrap().rsp - 8;
    let id = p.add_watchpoint(slot, 8, WatchKind::Write).unwrap();
    let (t, hit, pc) = cont_to_watch(&p);
    assert_eq!((t, hit, pc), (tid, id, f + 1), "the push tripped it");
    assert_eq!(peek_u64(&p, tid, slot), p.get_regs(tid).unwrap().rbx);
    p.remove_watchpoint(id).unwrap();
    p.remove_breakpoint(f).unwrap();
    expect_exit(&p, 0);
}

/// A step that lands on an execute watchpoint ends there as a step; the watched instruction
/// has not run, so the next continue reports the hit (also when a breakpoint sits there too,
/// which the engine would otherwise step over or execute in place), and then goes past it.
fn step_onto_an_execute_watchpoint(with_breakpoint: bool) {
    let p = launch_watch(&["call", "2"]);
    let f = sym(&p, "target_fn");
    let second = f + 7; // `add %rdi, %rax`, after the 7-byte load
    let first_id = p.add_watchpoint(f, 1, WatchKind::Execute).unwrap();
    let id = p.add_watchpoint(second, 1, WatchKind::Execute).unwrap();
    if with_breakpoint {
        p.add_breakpoint(second).unwrap();
    }
    let (tid, hit, pc) = cont_to_watch(&p);
    assert_eq!((hit, pc), (first_id, f));
    p.step(tid).unwrap();
    assert_eq!(p.get_regs(tid).unwrap().rip, second);
    assert_eq!(p.stop_cause(tid).unwrap().kind, CauseKind::Stopped, "a step, not a hit yet");
    let (t, kind) = cont_and_wait(&p).unwrap();
    assert_eq!(t, tid);
    let want = if with_breakpoint { CauseKind::Breakpoint } else { CauseKind::Watchpoint };
    assert_eq!(kind, want);
    assert_eq!(p.watchpoint_hit(tid).unwrap(), (id, second));
    assert_eq!(p.get_regs(tid).unwrap().rip, second);
    // The second call: both again, once each.
    let (_, hit, _) = cont_to_watch(&p);
    assert_eq!(hit, first_id);
    let (_, kind) = cont_and_wait(&p).unwrap();
    assert_eq!(kind, want);
    expect_exit(&p, 0);
}

#[test]
fn a_step_onto_an_execute_watchpoint_then_continue_reports_it_once() {
    step_onto_an_execute_watchpoint(false);
}

#[test]
fn a_step_onto_an_execute_watchpoint_with_a_breakpoint_reports_it_once() {
    step_onto_an_execute_watchpoint(true);
}

#[test]
fn debug_registers_written_by_name_are_cleared_at_detach_too() {
    // No watchpoint through the API: dr0 and dr7 written directly on every thread.
    let (child, _) = Spawned::ready(&["threads", "3"]);
    let p = Process::attach(child.pid).unwrap();
    let pattern = symbol_addr(child.pid, "pattern");
    let dr7: u64 = 1 | (0b01 << 16) | (0b11 << 18); // slot 0: write, 4 bytes
    for tid in p.threads().unwrap() {
        p.write_register(tid, "dr0", &pattern.to_le_bytes()).unwrap();
        p.write_register(tid, "dr7", &dr7.to_le_bytes()).unwrap();
        assert_eq!(p.read_register(tid, "dr7").unwrap(), dr7.to_le_bytes());
    }
    p.detach().unwrap();
    let left = dr7_of_every_thread(child.pid);
    assert_eq!(left.len(), 4);
    assert!(left.iter().all(|&(_, v)| v == 0), "DR7 left set: {left:?}");
}

#[test]
fn a_hit_of_a_debug_register_written_by_name_is_the_callers_sigtrap() {
    // Slot 1 programmed directly while a watchpoint of ours holds slot 0: the hit of slot 1
    // is not taken for a watchpoint (the caller owns it): it comes as a SIGTRAP signal stop.
    let p = launch_watch(&["reads"]);
    let wvar = sym(&p, "wvar");
    p.add_watchpoint(wvar + 24, 8, WatchKind::Write).unwrap(); // wvar[3]: never written
    let tid = p.pid();
    let dr7 = u64::from_le_bytes(p.read_register(tid, "dr7").unwrap().try_into().unwrap());
    p.write_register(tid, "dr1", &(wvar + 16).to_le_bytes()).unwrap(); // wvar[2] = 1
    let slot1: u64 = (1 << 2) | (0b01 << 20) | (0b10 << 22); // L1, write, 8 bytes
    p.write_register(tid, "dr7", &(dr7 | slot1).to_le_bytes()).unwrap();
    let (t, kind) = cont_and_wait(&p).unwrap();
    assert_eq!((t, kind), (tid, CauseKind::Signal));
    assert_eq!(p.stop_cause(tid).unwrap().signal, libc::SIGTRAP);
    assert!(p.watchpoint_hit(tid).is_err());
    p.kill().unwrap();
}
