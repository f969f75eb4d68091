//! The instructions the engine executes in place of a single step (src/sys/x86.rs) must leave
//! exactly the state a real single step leaves. Two runs of the same program with ASLR off:
//! one single-steps through `emu_block` (the CPU executes everything), the other has a
//! breakpoint on every instruction of it (the engine executes the supported ones itself when
//! continuing). The registers and the stack at every instruction must be equal.

mod common;

use common::*;
use ptrace_dbg::engine::{CauseKind, Error, Process};

/// Registers and the 128 bytes under the stack pointer at one instruction.
#[derive(Debug, PartialEq)]
struct State {
    regs: libc::user_regs_struct,
    stack: Vec<u8>,
}

fn state(p: &Process, tid: i32) -> State {
    let mut regs = p.get_regs(tid).unwrap();
    // RF (resume flag) is set by the kernel around a trap and says nothing about the program.
    regs.eflags &= !(1 << 16);
    let mut stack = vec![0u8; 128];
    p.peek(tid, regs.rsp - 64, &mut stack).unwrap();
    State { regs, stack }
}

fn launch_emu() -> (Process, u64, u64) {
    let p = launch_with(&["emu"], |o| {
        o.disable_aslr = true;
        o.env = Some(vec!["A=1".into()]);
    });
    let start = symbol_addr(p.pid(), "emu_block");
    let end = start + 0x69; // emu_block's size is checked below against the stepping run
    (p, start, end)
}

#[test]
fn executing_in_place_equals_single_stepping() {
    // Run 1: the CPU executes every instruction (single steps), 4 calls of emu_block.
    let (p, start, end) = launch_emu();
    p.add_breakpoint(start).unwrap();
    let mut stepped = Vec::new();
    let mut addrs = std::collections::BTreeSet::new();
    for _ in 0..4 {
        assert_eq!(cont_and_wait(&p).unwrap().1, CauseKind::Breakpoint);
        let tid = p.pid();
        loop {
            let s = state(&p, tid);
            if s.regs.rip < start || s.regs.rip >= end {
                break;
            }
            addrs.insert(s.regs.rip);
            stepped.push(s);
            p.step(tid).unwrap();
        }
    }
    run_to_exit(&p);
    assert_eq!(p.exit_status().unwrap().code, 0);
    assert_eq!(addrs.len(), 31, "emu_block has 31 instructions: {addrs:x?}");
    assert_eq!(*addrs.iter().next_back().unwrap(), end - 1, "ret is the last byte");

    // Run 2: a breakpoint on every instruction; continuing executes the supported ones in place.
    let (p, ..) = launch_emu();
    for &a in &addrs {
        p.add_breakpoint(a).unwrap();
    }
    let mut hit = Vec::new();
    let mut executed = 0;
    loop {
        match cont_and_wait(&p) {
            Ok((tid, CauseKind::Breakpoint)) => {
                hit.push(state(&p, tid));
                executed = p.executed_in_place().unwrap();
            }
            Ok(_) => {}
            Err(Error::Exited) => break,
            Err(e) => panic!("{e}"),
        }
    }
    // 25 of the 31 instructions are ones the engine executes itself; 4 calls (the last
    // instruction, ret, is stepped after the last hit, so all 100 were counted by then).
    assert_eq!(executed, 100, "instructions executed in place");
    assert_eq!(p.exit_status().unwrap().code, 0);
    assert_eq!(hit.len(), stepped.len());
    for (i, (h, s)) in hit.iter().zip(&stepped).enumerate() {
        assert_eq!(h, s, "state before instruction {i} (at {:#x}) differs", s.regs.rip);
    }
}
