//! A tiny x86-64 decoder and emulator for the instructions that usually sit under a breakpoint
//! (function entries): nops, `endbr64`, `push r64`, `mov r64, r64`, `add/sub r64, imm`, and
//! `mov r64, [rip + disp32]`.
//!
//! Why: continuing from a breakpoint naively takes two stops (restore the byte, single-step,
//! re-insert, continue); on small VMs the single-step trap is the dearest part of a hit.
//! Executing the instruction on the tracer's side (a few register writes, at most one 8-byte
//! memory access) makes it one stop. Anything not recognised here is stepped as before, so
//! this only has to be right, not complete: the tests compare every supported instruction's
//! effect with a real single step.
//!
//! Pure computation: the caller reads the bytes and performs the memory effect.

/// A decoded instruction this module can execute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Insn {
    pub len: u8,
    pub op: Op,
}

/// The supported operations. Registers are hardware numbers (0 rax .. 15 r15).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Nop,
    Push(u8),
    MovRegReg {
        dst: u8,
        src: u8,
    },
    /// `add`/`sub` of a sign-extended immediate to a 64-bit register (sets the flags).
    AddImm {
        reg: u8,
        imm: i64,
        sub: bool,
    },
    /// `mov reg, [rip + disp]`: an 8-byte load relative to the next instruction.
    LoadRip {
        reg: u8,
        disp: i32,
    },
}

/// What is left to do to memory after `apply` updated the registers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemEffect {
    None,
    /// Store the 8 bytes of `value` (little-endian) at `addr`.
    Store {
        addr: u64,
        value: u64,
    },
    /// Load 8 bytes from `addr` into register `reg`.
    Load {
        addr: u64,
        reg: u8,
    },
}

/// Decodes the instruction at the start of `code` (the original bytes, no int3 of ours),
/// if it is one we can execute.
pub fn decode(code: &[u8]) -> Option<Insn> {
    let b = |i: usize| code.get(i).copied();
    let insn = |len: usize, op: Op| Some(Insn { len: len as u8, op });
    match b(0)? {
        0x90 => return insn(1, Op::Nop),
        0x50..=0x57 => return insn(1, Op::Push(b(0)? - 0x50)),
        0xF3 if code.get(1..4)? == [0x0F, 0x1E, 0xFA] => return insn(4, Op::Nop), // endbr64
        0x66 if b(1)? == 0x90 => return insn(2, Op::Nop),
        _ => {}
    }
    if let Some(len) = multibyte_nop_len(code) {
        return insn(len, Op::Nop);
    }
    // REX prefix: 0100WRXB.
    let rex = b(0)?;
    if rex & 0xF0 != 0x40 {
        return None;
    }
    let (w, r, x, bb) = (rex & 8 != 0, (rex >> 2) & 1, (rex >> 1) & 1, rex & 1);
    if !w && b(1)? >= 0x50 && b(1)? <= 0x57 && r == 0 && x == 0 {
        return insn(2, Op::Push(b(1)? - 0x50 + (bb << 3))); // push r8..r15
    }
    if !w || x != 0 {
        return None;
    }
    let opcode = b(1)?;
    let modrm = b(2)?;
    let (md, reg, rm) = (modrm >> 6, ((modrm >> 3) & 7) | (r << 3), (modrm & 7) | (bb << 3));
    match (opcode, md) {
        (0x89, 3) => insn(3, Op::MovRegReg { dst: rm, src: reg }),
        (0x8B, 3) => insn(3, Op::MovRegReg { dst: reg, src: rm }),
        (0x8B, 0) if modrm & 7 == 5 => {
            let disp = i32::from_le_bytes(code.get(3..7)?.try_into().ok()?);
            insn(7, Op::LoadRip { reg, disp })
        }
        (0x83, 3) if matches!((modrm >> 3) & 7, 0 | 5) => {
            let imm = b(3)? as i8 as i64;
            insn(4, Op::AddImm { reg: rm, imm, sub: (modrm >> 3) & 7 == 5 })
        }
        (0x81, 3) if matches!((modrm >> 3) & 7, 0 | 5) => {
            let imm = i32::from_le_bytes(code.get(3..7)?.try_into().ok()?) as i64;
            insn(7, Op::AddImm { reg: rm, imm, sub: (modrm >> 3) & 7 == 5 })
        }
        _ => None,
    }
}

/// The length of a `nop r/m` (`0F 1F /0`, optionally after 0x66 and 0x2E prefixes) at the start
/// of `code`: the forms compilers pad with.
fn multibyte_nop_len(code: &[u8]) -> Option<usize> {
    let mut i = 0;
    while matches!(code.get(i), Some(0x66) | Some(0x2E)) && i < 4 {
        i += 1;
    }
    if code.get(i..i + 2)? != [0x0F, 0x1F] {
        return None;
    }
    let modrm = *code.get(i + 2)?;
    if (modrm >> 3) & 7 != 0 {
        return None;
    }
    let (md, rm) = (modrm >> 6, modrm & 7);
    let mut len = i + 3;
    if md != 3 && rm == 4 {
        len += 1; // SIB
    }
    len += match md {
        0 if rm == 5 => 4,
        0 => 0,
        1 => 1,
        2 => 4,
        _ => 0,
    };
    (len <= code.len()).then_some(len)
}

/// A general register by hardware number.
pub(crate) fn reg_mut(regs: &mut libc::user_regs_struct, n: u8) -> &mut u64 {
    match n {
        0 => &mut regs.rax,
        1 => &mut regs.rcx,
        2 => &mut regs.rdx,
        3 => &mut regs.rbx,
        4 => &mut regs.rsp,
        5 => &mut regs.rbp,
        6 => &mut regs.rsi,
        7 => &mut regs.rdi,
        8 => &mut regs.r8,
        9 => &mut regs.r9,
        10 => &mut regs.r10,
        11 => &mut regs.r11,
        12 => &mut regs.r12,
        13 => &mut regs.r13,
        14 => &mut regs.r14,
        _ => &mut regs.r15,
    }
}

/// Sets a register by hardware number (for a completed `MemEffect::Load`).
pub fn set_reg(regs: &mut libc::user_regs_struct, n: u8, value: u64) {
    *reg_mut(regs, n) = value;
}

const CF: u64 = 1 << 0;
const PF: u64 = 1 << 2;
const AF: u64 = 1 << 4;
const ZF: u64 = 1 << 6;
const SF: u64 = 1 << 7;
const OF: u64 = 1 << 11;
/// The trap flag: a thread single-stepping itself must really execute.
pub const TF: u64 = 1 << 8;

/// The arithmetic flags of `a + b = res` (or `a - b = res` when `sub`), as the CPU sets them.
fn arith_flags(a: u64, b: u64, res: u64, sub: bool) -> u64 {
    let mut f = 0;
    let carry = if sub { a < b } else { res < a };
    let overflow = if sub { (a ^ b) & (a ^ res) } else { !(a ^ b) & (a ^ res) } >> 63 != 0;
    if carry {
        f |= CF;
    }
    if (res as u8).count_ones() % 2 == 0 {
        f |= PF;
    }
    if (a ^ b ^ res) & 0x10 != 0 {
        f |= AF;
    }
    if res == 0 {
        f |= ZF;
    }
    if res >> 63 != 0 {
        f |= SF;
    }
    if overflow {
        f |= OF;
    }
    f
}

/// Executes `insn` on `regs` (rip advanced past it) and returns the memory effect still to be
/// done. The caller must not use the result if that effect fails.
pub fn apply(insn: &Insn, regs: &mut libc::user_regs_struct) -> MemEffect {
    regs.rip = regs.rip.wrapping_add(insn.len as u64);
    match insn.op {
        Op::Nop => MemEffect::None,
        Op::Push(n) => {
            let value = *reg_mut(regs, n); // push rsp pushes the old value
            regs.rsp = regs.rsp.wrapping_sub(8);
            MemEffect::Store { addr: regs.rsp, value }
        }
        Op::MovRegReg { dst, src } => {
            let v = *reg_mut(regs, src);
            *reg_mut(regs, dst) = v;
            MemEffect::None
        }
        Op::AddImm { reg, imm, sub } => {
            let a = *reg_mut(regs, reg);
            let b = imm as u64;
            let res = if sub { a.wrapping_sub(b) } else { a.wrapping_add(b) };
            *reg_mut(regs, reg) = res;
            regs.eflags =
                (regs.eflags & !(CF | PF | AF | ZF | SF | OF)) | arith_flags(a, b, res, sub);
            MemEffect::None
        }
        Op::LoadRip { reg, disp } => {
            MemEffect::Load { addr: regs.rip.wrapping_add(disp as i64 as u64), reg }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zero() -> libc::user_regs_struct {
        regs_from([0u64; 27])
    }

    fn regs_from(v: [u64; 27]) -> libc::user_regs_struct {
        libc::user_regs_struct {
            r15: v[0],
            r14: v[1],
            r13: v[2],
            r12: v[3],
            rbp: v[4],
            rbx: v[5],
            r11: v[6],
            r10: v[7],
            r9: v[8],
            r8: v[9],
            rax: v[10],
            rcx: v[11],
            rdx: v[12],
            rsi: v[13],
            rdi: v[14],
            orig_rax: v[15],
            rip: v[16],
            cs: v[17],
            eflags: v[18],
            rsp: v[19],
            ss: v[20],
            fs_base: v[21],
            gs_base: v[22],
            ds: v[23],
            es: v[24],
            fs: v[25],
            gs: v[26],
        }
    }

    #[test]
    fn decodes_the_supported_forms_and_nothing_else() {
        type Case<'a> = (&'a [u8], Option<(u8, Op)>);
        let cases: &[Case] = &[
            (&[0x90], Some((1, Op::Nop))),
            (&[0xF3, 0x0F, 0x1E, 0xFA], Some((4, Op::Nop))),
            (&[0x0F, 0x1F, 0x40, 0x00], Some((4, Op::Nop))),
            (&[0x66, 0x0F, 0x1F, 0x44, 0x00, 0x00], Some((6, Op::Nop))),
            (&[0x0F, 0x1F, 0x80, 0, 0, 0, 0], Some((7, Op::Nop))),
            (&[0x66, 0x2E, 0x0F, 0x1F, 0x84, 0, 0, 0, 0, 0], Some((10, Op::Nop))),
            (&[0x55], Some((1, Op::Push(5)))),
            (&[0x41, 0x57], Some((2, Op::Push(15)))),
            (&[0x48, 0x89, 0xE5], Some((3, Op::MovRegReg { dst: 5, src: 4 }))),
            (&[0x49, 0x89, 0xF4], Some((3, Op::MovRegReg { dst: 12, src: 6 }))),
            (&[0x48, 0x83, 0xEC, 0x28], Some((4, Op::AddImm { reg: 4, imm: 0x28, sub: true }))),
            (&[0x48, 0x83, 0xC4, 0xF8], Some((4, Op::AddImm { reg: 4, imm: -8, sub: false }))),
            (
                &[0x48, 0x81, 0xEC, 0x00, 0x10, 0, 0],
                Some((7, Op::AddImm { reg: 4, imm: 0x1000, sub: true })),
            ),
            (&[0x48, 0x8B, 0x05, 1, 0, 0, 0], Some((7, Op::LoadRip { reg: 0, disp: 1 }))),
            (
                &[0x4C, 0x8B, 0x3D, 0xFC, 0xFF, 0xFF, 0xFF],
                Some((7, Op::LoadRip { reg: 15, disp: -4 })),
            ),
            (&[0xC3], None),                   // ret
            (&[0xE8, 0, 0, 0, 0], None),       // call
            (&[0x48, 0x8B, 0x45, 0xF8], None), // mov rax, [rbp-8]
            (&[0x89, 0xC0], None),             // 32-bit mov (zero-extends)
            (&[0x48, 0x83, 0xE4, 0xF0], None), // and rsp, -16
            (&[0x48], None),
            (&[], None),
        ];
        for (code, want) in cases {
            let got = decode(code).map(|i| (i.len, i.op));
            assert_eq!(got, *want, "{code:02x?}");
        }
    }

    /// An instruction that traps (the program's own int3 under a breakpoint of ours, gdb's
    /// "permanent breakpoint") or enters the kernel must be executed by the CPU, never here.
    #[test]
    fn trapping_instructions_are_never_executed_here() {
        let trapping: &[&[u8]] = &[
            &[0xCC],             // int3
            &[0xCD, 0x03],       // int 3
            &[0xF1],             // int1
            &[0x0F, 0x0B],       // ud2
            &[0xF4],             // hlt
            &[0x0F, 0x05],       // syscall
            &[0x48, 0xCC],       // rex.w int3
            &[0x66, 0xCC],       // operand-size prefix, int3
            &[0xF3, 0x0F, 0x0B], // rep ud2
        ];
        for code in trapping {
            assert_eq!(decode(code), None, "{code:02x?}");
        }
    }

    #[test]
    fn flags_of_add_and_sub_match_the_cpu_rules() {
        let mut r = zero();
        r.rbx = 1;
        apply(&Insn { len: 4, op: Op::AddImm { reg: 3, imm: 1, sub: true } }, &mut r);
        assert_eq!(r.rbx, 0);
        assert_eq!(r.eflags, ZF | PF);
        apply(&Insn { len: 4, op: Op::AddImm { reg: 3, imm: 1, sub: true } }, &mut r);
        assert_eq!(r.rbx, u64::MAX);
        assert_eq!(r.eflags, CF | SF | PF | AF);
        r.rbx = i64::MAX as u64;
        apply(&Insn { len: 4, op: Op::AddImm { reg: 3, imm: 1, sub: false } }, &mut r);
        assert_eq!(r.eflags & (OF | SF | CF), OF | SF);
        assert_eq!(r.rip, 12);
    }

    #[test]
    fn push_stores_the_old_value_below_the_stack_pointer() {
        let mut r = zero();
        r.rsp = 0x1000;
        r.rbp = 0xabc;
        let e = apply(&Insn { len: 1, op: Op::Push(5) }, &mut r);
        assert_eq!(e, MemEffect::Store { addr: 0xff8, value: 0xabc });
        let e = apply(&Insn { len: 1, op: Op::Push(4) }, &mut r);
        assert_eq!(e, MemEffect::Store { addr: 0xff0, value: 0xff8 });
    }
}
