//! The classic-BPF seccomp program that stops the chosen calls: SECCOMP_RET_TRACE for an
//! x86-64 call whose number is in the set, SECCOMP_RET_ALLOW for everything else (i386 and
//! x32 calls included). Built here as plain instructions; `tracer::syscalls` makes the tracee
//! install it.
//!
//! What a call outside the set costs: the program never runs for an allowed call. Its result
//! depends on the number and arch only, so the kernel's seccomp action cache (Linux 5.11)
//! answers ALLOW from a bitmap; the length of the program does not matter (a one-instruction
//! RET_ALLOW filter costs the same). What remains is the kernel's slow syscall entry for a
//! task with a filter (syscall_trace_enter, __secure_computing, populate_seccomp_data), the
//! same for any filter and any tracer (strace's included): measured on workload 8a's VM
//! (AMD EPYC, Linux 6.18, retpolines and safe-RET), 40 to 47 ns on a 145 ns `getpid`, about
//! 1.3x its CPU time, with or without us attached. None of our ptrace options adds to it: only
//! PTRACE_SYSCALL (or a step) gives a task per-call ptrace work, and between a traced call's
//! exit and the next seccomp stop the thread runs under PTRACE_CONT.

/// One `struct sock_filter` (code, jt, jf, k).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Insn {
    pub code: u16,
    pub jt: u8,
    pub jf: u8,
    pub k: u32,
}

const BPF_LD_W_ABS: u16 = 0x20; // BPF_LD | BPF_W | BPF_ABS
const BPF_JEQ_K: u16 = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
const BPF_RET_K: u16 = 0x06; // BPF_RET | BPF_K
/// offsetof(struct seccomp_data, nr) and (.., arch).
const DATA_NR: u32 = 0;
const DATA_ARCH: u32 = 4;
pub const RET_ALLOW: u32 = 0x7fff_0000;
pub const RET_TRACE: u32 = 0x7ff0_0000;

/// The program for these x86-64 call numbers: 4 + 2 per number instructions (the kernel
/// takes up to 4096).
pub fn program(numbers: &[u32]) -> Vec<Insn> {
    let ld = |k| Insn { code: BPF_LD_W_ABS, jt: 0, jf: 0, k };
    let ret = |k| Insn { code: BPF_RET_K, jt: 0, jf: 0, k };
    let mut p = vec![
        ld(DATA_ARCH),
        // Not x86-64: allow (skip nothing when equal, skip the next when not).
        Insn { code: BPF_JEQ_K, jt: 1, jf: 0, k: super::ARCH_X86_64 },
        ret(RET_ALLOW),
        ld(DATA_NR),
    ];
    for &n in numbers {
        // Equal: fall through to RET_TRACE; else jump over it.
        p.push(Insn { code: BPF_JEQ_K, jt: 0, jf: 1, k: n });
        p.push(ret(RET_TRACE));
    }
    p.push(ret(RET_ALLOW));
    p
}

/// The program as the bytes of a `struct sock_filter` array (8 bytes each).
pub fn to_bytes(p: &[Insn]) -> Vec<u8> {
    let mut b = Vec::with_capacity(p.len() * 8);
    for i in p {
        b.extend_from_slice(&i.code.to_le_bytes());
        b.push(i.jt);
        b.push(i.jf);
        b.extend_from_slice(&i.k.to_le_bytes());
    }
    b
}

/// Runs the program on (arch, nr), as the kernel would: for tests.
pub fn run(p: &[Insn], arch: u32, nr: u32) -> u32 {
    let mut acc = 0u32;
    let mut pc = 0usize;
    loop {
        let i = p[pc];
        pc += 1;
        match i.code {
            BPF_LD_W_ABS => acc = if i.k == DATA_ARCH { arch } else { nr },
            BPF_JEQ_K => pc += if acc == i.k { i.jt } else { i.jf } as usize,
            BPF_RET_K => return i.k,
            _ => unreachable!("instruction {i:?} not built by `program`"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::syscalls::{ARCH_I386, ARCH_X86_64};

    #[test]
    fn traces_exactly_the_numbers_of_x86_64_calls() {
        let p = program(&[1, 39, 263]);
        assert_eq!(p.len(), 4 + 2 * 3 + 1);
        for nr in 0..600 {
            let want = if [1, 39, 263].contains(&nr) { RET_TRACE } else { RET_ALLOW };
            assert_eq!(run(&p, ARCH_X86_64, nr), want, "nr {nr}");
            assert_eq!(run(&p, ARCH_I386, nr), RET_ALLOW);
        }
        assert_eq!(run(&p, ARCH_X86_64, 0x4000_0001), RET_ALLOW);
        assert_eq!(to_bytes(&p).len(), p.len() * 8);
        assert_eq!(&to_bytes(&p)[..8], &[0x20, 0, 0, 0, 4, 0, 0, 0]);
    }
}
