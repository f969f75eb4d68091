//! Tracepoints (src/engine/tracer/tracepoints.rs): hits recorded by the monitor thread with
//! no stop of the world, a bounded buffer that holds threads rather than losing records,
//! conditions and ignore counts on ordinary breakpoints.
//! The tracee is c-tests/tracees/tp.c.

mod common;

use common::*;
use ptrace_dbg::engine::records::Record;
use ptrace_dbg::engine::tracer::{CondOp, Condition};
use ptrace_dbg::engine::{CauseKind, Error, LaunchOptions, Process};
use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

fn tp_exe() -> PathBuf {
    build_tracee("tp")
}

fn launch_tp(args: &[&str]) -> Process {
    let mut opts = LaunchOptions::new();
    opts.argv = std::iter::once("tp").chain(args.iter().copied()).map(Into::into).collect();
    Process::launch(&tp_exe(), &opts).expect("launch tp")
}

fn sym(p: &Process, name: &str) -> u64 {
    program_symbol(&tp_exe(), p.pid(), name)
}

fn empty_record() -> Record {
    Record::EMPTY
}

/// Reads records until the process has exited and none is left (bounded by `limit`), calling
/// `slow` between reads; returns them in order.
fn drain_until_exit(
    p: &Process,
    chunk: usize,
    limit: Duration,
    mut slow: impl FnMut(),
) -> Vec<Record> {
    let deadline = Instant::now() + limit;
    let mut all = Vec::new();
    let mut buf = vec![empty_record(); chunk];
    loop {
        let n = p.read_records(&mut buf);
        all.extend_from_slice(&buf[..n]);
        if n == 0 {
            match p.wait_stop(Some(Duration::from_millis(20))) {
                Err(Error::Exited) => {
                    let n = p.read_records(&mut buf);
                    if n == 0 {
                        return all;
                    }
                    all.extend_from_slice(&buf[..n]);
                }
                Err(Error::Timeout(_)) => {}
                // Thread births and ends stop the world as always: go on.
                Ok(t) => match p.stop_cause(t).map(|c| c.kind) {
                    Ok(CauseKind::ThreadCreate | CauseKind::ThreadExit) => p.cont().unwrap(),
                    other => panic!("unexpected stop (trigger {t}): {other:?}"),
                },
                Err(e) => panic!("wait_stop: {e}"),
            }
        } else {
            slow();
        }
        assert!(Instant::now() < deadline, "records still coming after {limit:?}: {}", all.len());
    }
}

/// Waits for the next stop that is not a thread's birth or end (those are continued).
fn wait_event(p: &Process) -> i32 {
    loop {
        let tid = p.wait_stop(Some(WAIT)).unwrap();
        match p.stop_cause(tid).unwrap().kind {
            CauseKind::ThreadCreate | CauseKind::ThreadExit => p.cont().unwrap(),
            _ => return tid,
        }
    }
}

#[test]
fn eight_threads_ten_thousand_hits_each_every_record_exact_and_in_order() {
    let (threads, n) = (8usize, 10_000u64);
    let p = launch_tp(&["hits", &threads.to_string(), &n.to_string()]);
    let target = sym(&p, "tp_target");
    let ool = sym(&p, "tp_ool");
    let id = p.add_tracepoint(target).unwrap();
    let id2 = p.add_tracepoint(ool).unwrap();
    assert_ne!(id, id2);
    p.cont().unwrap();
    let records = drain_until_exit(&p, 4096, Duration::from_secs(120), || {});
    assert_eq!(p.exit_status().unwrap().code, 0, "the tracee's own count is wrong");
    let mut per_thread: HashMap<i32, (u64, bool)> = HashMap::new();
    let mut last_time = 0;
    for r in &records {
        assert!(r.time_ns >= last_time, "records out of time order");
        last_time = r.time_ns;
        assert_eq!(r.regs.rip, r.pc);
        let e = per_thread.entry(r.tid).or_insert((0, false));
        if r.id == id {
            assert_eq!(r.pc, target);
            // After tp_ool's hit, only its own call of tp_target(n).
            assert!(!e.1 || e.0 == n, "thread {} hit tp_target after tp_ool", r.tid);
            assert_eq!(r.regs.rdi, e.0, "thread {}: rdi is not its loop counter", r.tid);
            e.0 += 1;
        } else {
            assert_eq!((r.id, r.pc), (id2, ool));
            assert_eq!(r.regs.rdi, n);
            assert_eq!(e.0, n, "thread {}: tp_ool before its loop ended", r.tid);
            e.1 = true;
        }
    }
    // tp_ool calls tp_target(n) once more: n + 1 hits of tp_target per thread.
    assert_eq!(per_thread.len(), threads, "{per_thread:?}");
    for (tid, (count, ool_hit)) in &per_thread {
        assert_eq!(*count, n + 1, "thread {tid}");
        assert!(ool_hit, "thread {tid} never hit tp_ool");
    }
    assert_eq!(records.len() as u64, threads as u64 * (n + 2));
    let stats = p.record_stats();
    assert_eq!(stats.recorded, records.len() as u64);
    assert_eq!(stats.pending, 0);
}

#[test]
fn a_full_buffer_holds_threads_and_a_slow_reader_gets_every_record() {
    let (threads, n) = (3usize, 2_000u64);
    let p = launch_tp(&["hits", &threads.to_string(), &n.to_string()]);
    p.set_record_capacity(16).unwrap();
    let id = p.add_tracepoint(sym(&p, "tp_target")).unwrap();
    p.cont().unwrap();
    let records = drain_until_exit(&p, 5, Duration::from_secs(120), || {
        std::thread::sleep(Duration::from_micros(200)) // a deliberately slow reader
    });
    assert_eq!(p.exit_status().unwrap().code, 0);
    let mut next: HashMap<i32, u64> = HashMap::new();
    for r in &records {
        assert_eq!(r.id, id);
        let e = next.entry(r.tid).or_default();
        assert_eq!(r.regs.rdi, *e, "thread {}", r.tid);
        *e += 1;
    }
    assert_eq!(records.len() as u64, threads as u64 * (n + 1));
    let stats = p.record_stats();
    assert!(stats.waits > 0, "the buffer never filled: {stats:?}");
    assert!(stats.wait_ns > 0, "{stats:?}");
}

#[test]
fn a_conditional_breakpoint_stops_only_when_its_condition_holds() {
    let p = launch_tp(&["hits", "1", "1000"]);
    let target = sym(&p, "tp_target");
    p.add_breakpoint(target).unwrap();
    p.set_breakpoint_condition(target, Some(Condition { reg: 14, op: CondOp::Eq, value: 700 }))
        .unwrap();
    p.cont().unwrap();
    let tid = wait_event(&p);
    assert_eq!(p.stop_cause(tid).unwrap().kind, CauseKind::Breakpoint);
    assert_eq!(p.get_regs(tid).unwrap().rdi, 700);
    // Ignore count: of the hits with rdi >= 900, pass over 5, stop at the sixth (905).
    p.set_breakpoint_condition(target, Some(Condition { reg: 14, op: CondOp::Ge, value: 900 }))
        .unwrap();
    p.set_breakpoint_ignore_count(target, 5).unwrap();
    p.cont().unwrap();
    let tid = wait_event(&p);
    assert_eq!(p.get_regs(tid).unwrap().rdi, 905);
    p.remove_breakpoint(target).unwrap();
    p.cont().unwrap();
    assert!(drain_until_exit(&p, 1, WAIT, || {}).is_empty());
    assert_eq!(p.exit_status().unwrap().code, 0);
}

#[test]
fn a_tracepoint_and_a_breakpoint_at_one_address_record_and_stop() {
    let p = launch_tp(&["hits", "1", "5"]);
    let target = sym(&p, "tp_target");
    let id = p.add_tracepoint(target).unwrap();
    p.add_breakpoint(target).unwrap();
    assert!(matches!(p.add_breakpoint(target), Err(Error::BreakpointExists(_))));
    p.cont().unwrap();
    let tid = wait_event(&p);
    assert_eq!(p.stop_cause(tid).unwrap().kind, CauseKind::Breakpoint);
    let mut buf = vec![empty_record(); 8];
    assert_eq!(p.read_records(&mut buf), 1);
    assert_eq!((buf[0].id, buf[0].tid, buf[0].regs.rdi), (id, tid, 0));
    // The breakpoint goes; the tracepoint stays and records the rest without stopping.
    p.remove_breakpoint(target).unwrap();
    assert!(matches!(p.remove_breakpoint(target), Err(Error::NoBreakpoint(_))));
    p.cont().unwrap();
    let rest = drain_until_exit(&p, 8, Duration::from_secs(30), || {});
    let rdis: Vec<u64> = rest.iter().map(|r| r.regs.rdi).collect();
    assert_eq!(rdis, vec![1, 2, 3, 4, 5]); // 5: tp_ool's call
    assert_eq!(p.exit_status().unwrap().code, 0);
}

#[test]
fn records_survive_stop_detach_and_kill_and_can_be_read_after_exit() {
    let p = launch_tp(&["forever"]);
    let target = sym(&p, "tp_target");
    let id = p.add_tracepoint(target).unwrap();
    p.set_record_capacity(64).unwrap();
    p.cont().unwrap();
    // The buffer fills (64) and the thread is held: the process still runs, and a stop works.
    let deadline = Instant::now() + WAIT;
    while p.record_stats().waits == 0 {
        assert!(Instant::now() < deadline, "the buffer did not fill");
        let _ = p.wait_stop(Some(Duration::from_millis(5)));
    }
    p.stop().unwrap();
    let pending = p.record_stats().pending;
    assert!(pending >= 64, "{pending}");
    // A continue does not let the held thread run while the buffer is full.
    p.cont().unwrap();
    p.stop().unwrap();
    assert_eq!(p.record_stats().pending, pending);
    // Removing the tracepoint and killing: the records stay readable.
    p.remove_tracepoint(id).unwrap();
    assert!(p.remove_tracepoint(id).is_err());
    p.kill().unwrap();
    let mut buf = vec![empty_record(); 256];
    let n = p.read_records(&mut buf);
    assert_eq!(n as u64, pending);
    for (i, r) in buf[..n].iter().enumerate() {
        assert_eq!(r.regs.rdi, i as u64);
    }
}

#[test]
fn a_memory_capture_reads_bytes_at_a_register_plus_offset() {
    let p = launch_tp(&["hits", "1", "3"]);
    let target = sym(&p, "tp_target");
    let id = p.add_tracepoint(target).unwrap();
    // 8 bytes at [rsp]: the return address into worker.
    let rsp = ptrace_dbg::sys::arch::REG_NAMES.iter().position(|r| *r == "rsp").unwrap();
    p.set_tracepoint_capture(
        id,
        ptrace_dbg::engine::tracer::Capture { reg: rsp, offset: 0, len: 8 },
    )
    .unwrap();
    assert!(p
        .set_tracepoint_capture(
            id,
            ptrace_dbg::engine::tracer::Capture { reg: rsp, offset: 0, len: 65 }
        )
        .is_err());
    p.cont().unwrap();
    let recs = drain_until_exit(&p, 16, Duration::from_secs(30), || {});
    assert_eq!(recs.len(), 4);
    let worker_ret = u64::from_le_bytes(recs[0].data[..8].try_into().unwrap());
    for r in &recs[..3] {
        assert_eq!(r.data_len, 8);
        assert_eq!(u64::from_le_bytes(r.data[..8].try_into().unwrap()), worker_ret);
    }
    // The last hit is from tp_ool: another return address.
    assert_ne!(u64::from_le_bytes(recs[3].data[..8].try_into().unwrap()), worker_ret);
}

#[test]
fn step_range_runs_a_loop_in_the_monitor_and_stops_early_on_a_breakpoint() {
    let p = launch_tp(&["range"]);
    let (start, end) = (sym(&p, "tp_range_start"), sym(&p, "tp_range_end"));
    let (start2, inner, end2) =
        (sym(&p, "tp_range2_start"), sym(&p, "tp_range_inner"), sym(&p, "tp_range2_end"));
    p.add_breakpoint(start).unwrap();
    // A tracepoint at the loop's head inside the range records each of its 100 passes.
    let id = p.add_tracepoint(sym(&p, "tp_range_loop")).unwrap();
    p.cont().unwrap();
    let tid = wait_event(&p);
    assert_eq!(p.get_regs(tid).unwrap().rip, start);
    assert!(p.step_range(tid, end, start, 0).is_err(), "an empty range is refused");
    // mov, then 100 times dec/nop/jnz: 301 instructions, ending on the first one past it.
    assert_eq!(p.step_range(tid, start, end, 0).unwrap(), 301);
    assert_eq!(p.get_regs(tid).unwrap().rip, end);
    assert_eq!(p.stop_cause(tid).unwrap().kind, CauseKind::Stopped);
    let mut buf = vec![empty_record(); 200];
    assert_eq!(p.read_records(&mut buf), 100);
    assert!(buf[..100].iter().all(|r| r.id == id && r.tid == tid));
    assert_eq!(buf[0].regs.rcx & 0xffff_ffff, 100);
    assert_eq!(buf[99].regs.rcx & 0xffff_ffff, 1);
    // A breakpoint inside the range ends it early, as a breakpoint hit, after 2 instructions.
    p.add_breakpoint(inner).unwrap();
    assert_eq!(p.step_range(tid, start2, end2, 0).unwrap(), 2);
    let cause = p.stop_cause(tid).unwrap();
    assert_eq!((cause.kind, cause.pc), (CauseKind::Breakpoint, inner));
    assert_eq!(p.get_regs(tid).unwrap().rip, inner);
    // step_n: three instructions over the breakpoint (nop, nop, ret), back into main.
    assert_eq!(p.step_range(tid, 0, u64::MAX, 3).unwrap(), 3);
    let rip = p.get_regs(tid).unwrap().rip;
    assert!(!(start..=end2).contains(&rip), "rip {rip:#x} still in tp_range");
    p.cont().unwrap();
    assert!(drain_until_exit(&p, 1, WAIT, || {}).is_empty());
    assert_eq!(p.exit_status().unwrap().code, 0);
}

#[test]
fn syscall_stops_in_record_mode_become_records_and_stop_nothing() {
    use ptrace_dbg::engine::records::RecordKind;
    use ptrace_dbg::engine::syscalls::{ENTRY, EXIT, RECORD};
    let n = 2_000u64;
    let p = launch_tp(&["syscalls", &n.to_string()]);
    p.set_record_capacity(8).unwrap();
    let getppid = libc::SYS_getppid as i32;
    p.trace_syscalls(Some(&[getppid]), ENTRY | EXIT | RECORD).unwrap();
    p.cont().unwrap();
    let records = drain_until_exit(&p, 7, Duration::from_secs(120), || {});
    assert_eq!(p.exit_status().unwrap().code, 0);
    let me = std::process::id() as u64;
    let mut open: HashMap<i32, bool> = HashMap::new();
    for r in &records {
        assert_eq!(r.id, getppid);
        let entered = open.entry(r.tid).or_default();
        match r.kind {
            RecordKind::SyscallEntry => {
                assert!(!*entered, "thread {}: two entries in a row", r.tid);
                assert_eq!(r.regs.orig_rax, getppid as u64);
                *entered = true;
            }
            RecordKind::SyscallExit => {
                assert!(*entered, "thread {}: an exit without its entry", r.tid);
                assert_eq!(r.regs.rax, me, "getppid's result");
                *entered = false;
            }
            k => panic!("record of kind {k:?}"),
        }
    }
    assert_eq!(records.len() as u64, 2 * n);
    assert!(p.record_stats().waits > 0);
}
