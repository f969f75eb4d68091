//! Relocating one x86-64 instruction into a scratch slot for an out-of-line step over a
//! breakpoint (what gdb calls displaced stepping), and fixing the registers up afterwards.
//!
//! The instruction is copied byte for byte, so relative branches keep their displacement: a
//! branch taken in the slot lands at `target - orig + slot`, which the fix-up maps back by the
//! same offset as a fall-through (`slot + len` -> `orig + len`). The only rewrite is for a
//! `[rip + disp32]` memory operand: its ModRM becomes `[reg + disp32]` (same length, the
//! displacement untouched) with a register the instruction does not use, loaded with the value
//! rip has after the original (`orig + len`) and restored by the fix-up. What an instruction
//! leaves behind that names its own address is fixed up too: the return address a `call`
//! pushes, and the one `syscall` saves in rcx.
//!
//! Each slot ends with `jmp [rip+0]; .quad orig+len`, so a task that runs on from the slot
//! without being fixed up (the child of a `fork`/`clone`/`vfork` made by a `syscall` in the
//! slot, before its first stop is seen) goes back to the original code instead of into
//! whatever follows.
//!
//! iced-x86 (decoder and instruction info only) does the decoding: the full x86-64 length
//! rules and which registers an instruction uses, implicit ones included.
//!
//! Pure computation: the caller reads the code, writes the slot and the registers.

use iced_x86::{Code, Decoder, DecoderOptions, FlowControl, InstructionInfoFactory, Register};

/// Bytes per slot: the longest instruction (15), the jump back (6) and its target (8).
pub const SLOT_SIZE: u64 = 32;

/// How the instruction moves rip, for the fix-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Falls through, or branches by a displacement relative to itself (jmp, jcc, loop,
    /// call rel32): rip moves back by `slot - orig`.
    Relative,
    /// Jumps to an absolute address it read (ret, indirect jmp/call), or may set rip to
    /// anything (`syscall`: rt_sigreturn): rip is already right unless it is in the slot.
    Absolute,
}

/// One instruction relocated into a slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Relocated {
    /// The slot's contents (`size` bytes used).
    pub bytes: [u8; SLOT_SIZE as usize],
    pub size: usize,
    /// The original instruction's length.
    pub len: u8,
    pub flow: Flow,
    /// A call: the return address it pushes names the slot.
    pub call: bool,
    /// A `syscall`: rcx names the slot; an interrupted call restarts 2 bytes back.
    pub syscall: bool,
    /// A rep-prefixed string instruction: a single step runs one iteration, and rip stays on
    /// the instruction until the last.
    pub repeats: bool,
    /// `pushf`: the flags it pushes in the slot carry the trap flag of our single step, which
    /// the fix-up clears (a thread whose own TF is set never steps out of line).
    pub pushf: bool,
    /// The register (hardware number) standing in for rip in a `[rip + disp]` operand; it must
    /// hold `orig + len` while the slot executes, and gets its value back in the fix-up.
    pub scratch_reg: Option<u8>,
}

/// Why an instruction cannot be stepped out of line (it is then stepped in place, the
/// breakpoint lifted and the other threads held).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Not a valid instruction (or cut short by unreadable memory).
    Invalid,
    /// `int3` / `int1`: the program's own trap must be raised at its own address.
    Trap,
    /// Transactional memory (`xbegin`'s abort target, `xend`): not worth relocating.
    Transactional,
    /// A `[rip + disp]` operand and no register left to stand in for rip.
    NoFreeRegister,
}

/// Relocates the instruction at the start of `code` (original bytes, at address `orig`) into
/// the slot at `slot`.
pub fn relocate(code: &[u8], orig: u64, slot: u64) -> Result<Relocated, Refusal> {
    let mut decoder = Decoder::with_ip(64, code, orig, DecoderOptions::NONE);
    let insn = decoder.decode();
    if insn.is_invalid() {
        return Err(Refusal::Invalid);
    }
    let len = insn.len();
    let code_kind = insn.code();
    if matches!(code_kind, Code::Int3 | Code::Int1) {
        return Err(Refusal::Trap);
    }
    let flow = match insn.flow_control() {
        FlowControl::XbeginXabortXend => return Err(Refusal::Transactional),
        FlowControl::IndirectBranch | FlowControl::IndirectCall | FlowControl::Return => {
            Flow::Absolute
        }
        // rt_sigreturn sets rip to anything (the code a signal interrupted): only a rip left
        // in the slot (the usual slot + 2) moves back.
        _ if code_kind == Code::Syscall => Flow::Absolute,
        _ => Flow::Relative,
    };
    let call = matches!(insn.flow_control(), FlowControl::Call | FlowControl::IndirectCall);
    let mut bytes = [0u8; SLOT_SIZE as usize];
    bytes[..len].copy_from_slice(&code[..len]);
    let mut scratch_reg = None;
    if insn.is_ip_rel_memory_operand() {
        let offsets = decoder.get_constant_offsets(&insn);
        if !offsets.has_displacement() || offsets.displacement_offset() == 0 {
            return Err(Refusal::NoFreeRegister);
        }
        // A rip-relative operand has no SIB byte: the ModRM sits right before disp32.
        let modrm_at = offsets.displacement_offset() - 1;
        let mut factory = InstructionInfoFactory::new();
        let used: Vec<Register> = factory
            .info(&insn)
            .used_registers()
            .iter()
            .map(|u| u.register().full_register())
            .collect();
        let modrm = code[modrm_at];
        let mut found = None;
        // rm 4 would need a SIB byte (rsp, r12); every other base keeps the length.
        for rm in [3u8, 5, 6, 7, 0, 1, 2] {
            let mut patched = bytes;
            patched[modrm_at] = (modrm & 0x38) | 0x80 | rm;
            let mut d = Decoder::with_ip(64, &patched[..len], slot, DecoderOptions::NONE);
            let p = d.decode();
            if p.is_invalid() || p.len() != len || p.code() != code_kind {
                continue;
            }
            let base = p.memory_base();
            if p.memory_index() != Register::None {
                continue;
            }
            let Some(n) = gpr_number(base) else { continue };
            if used.contains(&base) || base == Register::RSP {
                continue;
            }
            found = Some((patched, n));
            break;
        }
        let (patched, n) = found.ok_or(Refusal::NoFreeRegister)?;
        bytes = patched;
        scratch_reg = Some(n);
    }
    // The way back: jmp [rip+0] and the address after the original.
    let back = orig.wrapping_add(len as u64);
    bytes[len..len + 6].copy_from_slice(&[0xFF, 0x25, 0, 0, 0, 0]);
    bytes[len + 6..len + 14].copy_from_slice(&back.to_le_bytes());
    Ok(Relocated {
        bytes,
        size: len + 14,
        len: len as u8,
        flow,
        call,
        syscall: code_kind == Code::Syscall,
        pushf: matches!(code_kind, Code::Pushfq | Code::Pushfw),
        repeats: insn.is_string_instruction() && (insn.has_rep_prefix() || insn.has_repne_prefix()),
        scratch_reg,
    })
}

/// The hardware number of a 64-bit general register.
fn gpr_number(r: Register) -> Option<u8> {
    const REGS: [Register; 16] = [
        Register::RAX,
        Register::RCX,
        Register::RDX,
        Register::RBX,
        Register::RSP,
        Register::RBP,
        Register::RSI,
        Register::RDI,
        Register::R8,
        Register::R9,
        Register::R10,
        Register::R11,
        Register::R12,
        Register::R13,
        Register::R14,
        Register::R15,
    ];
    REGS.iter().position(|&x| x == r).map(|i| i as u8)
}

/// A register by hardware number.
pub fn reg(regs: &libc::user_regs_struct, n: u8) -> u64 {
    let mut r = *regs;
    *crate::sys::x86::reg_mut(&mut r, n)
}

/// Prepares the registers for the slot: rip at the slot, the scratch register loaded.
/// Returns the scratch register's value to give back in `fix_up`.
pub fn enter(r: &Relocated, orig: u64, slot: u64, regs: &mut libc::user_regs_struct) -> u64 {
    regs.rip = slot;
    match r.scratch_reg {
        Some(n) => {
            let saved = reg(regs, n);
            crate::sys::x86::set_reg(regs, n, orig.wrapping_add(r.len as u64));
            saved
        }
        None => 0,
    }
}

/// A memory word the fix-up must change: the return address a `call` in the slot pushed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StackFix {
    pub addr: u64,
    /// The value there if the call pushed it (the slot's next instruction).
    pub pushed: u64,
    /// What the original call would have pushed.
    pub value: u64,
}

/// Fixes the registers of a thread that stopped while (or after) executing the slot: the
/// scratch register restored, rip (and a syscall's rcx) moved from the slot to the original
/// code. `executed` tells whether the instruction ran (its step trap came, or rip moved).
/// Returns the stack word to fix for a call.
pub fn fix_up(
    r: &Relocated,
    orig: u64,
    slot: u64,
    saved: u64,
    regs: &mut libc::user_regs_struct,
) -> Option<StackFix> {
    if let Some(n) = r.scratch_reg {
        crate::sys::x86::set_reg(regs, n, saved);
    }
    let in_slot = regs.rip >= slot && regs.rip < slot + SLOT_SIZE;
    if regs.rip == slot {
        // Not executed (or faulted): back on the original instruction.
        regs.rip = orig;
        return None;
    }
    let next_in_slot = slot.wrapping_add(r.len as u64);
    let next = orig.wrapping_add(r.len as u64);
    if r.flow == Flow::Relative || in_slot {
        regs.rip = regs.rip.wrapping_sub(slot).wrapping_add(orig);
    }
    if r.syscall && regs.rcx == next_in_slot {
        regs.rcx = next;
    }
    r.call.then_some(StackFix { addr: regs.rsp, pushed: next_in_slot, value: next })
}

/// Where a task found at `rip` inside a slot (a child created by the slot's `syscall`) belongs
/// in the original code, and the same for its rcx.
pub fn translate(r: &Relocated, orig: u64, slot: u64, regs: &mut libc::user_regs_struct) -> bool {
    if regs.rip < slot || regs.rip > slot + r.len as u64 {
        return false;
    }
    regs.rip = regs.rip - slot + orig;
    if r.syscall && regs.rcx == slot + r.len as u64 {
        regs.rcx = orig + r.len as u64;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORIG: u64 = 0x40_1000;
    const SLOT: u64 = 0x7f00_0000_0000;

    #[test]
    fn plain_and_relative_instructions_are_copied_as_they_are() {
        for code in [
            &[0xE8, 0x10, 0, 0, 0][..], // call rel32
            &[0xEB, 0x05],              // jmp rel8
            &[0x0F, 0x84, 1, 2, 3, 4],  // je rel32
            &[0xE2, 0xFE],              // loop
            &[0x0F, 0x05],              // syscall
            &[0xC3],                    // ret
            &[0x48, 0x8B, 0x45, 0xF8],  // mov rax, [rbp-8]
        ] {
            let r = relocate(code, ORIG, SLOT).unwrap();
            assert_eq!(&r.bytes[..code.len()], code);
            assert_eq!(r.len as usize, code.len());
            assert_eq!(r.scratch_reg, None);
            assert_eq!(&r.bytes[code.len()..code.len() + 6], &[0xFF, 0x25, 0, 0, 0, 0]);
        }
        assert_eq!(relocate(&[0xC3], ORIG, SLOT).unwrap().flow, Flow::Absolute);
        assert!(relocate(&[0xE8, 0, 0, 0, 0], ORIG, SLOT).unwrap().call);
        assert!(relocate(&[0x0F, 0x05], ORIG, SLOT).unwrap().syscall);
        assert_eq!(relocate(&[0xCC], ORIG, SLOT), Err(Refusal::Trap));
        assert_eq!(relocate(&[0x0F], ORIG, SLOT), Err(Refusal::Invalid));
    }

    #[test]
    fn rip_relative_operands_get_a_free_base_register() {
        // mov rbx, [rip+0x10]: rbx is used, so the next candidate (rbp) stands in.
        let r = relocate(&[0x48, 0x8B, 0x1D, 0x10, 0, 0, 0], ORIG, SLOT).unwrap();
        assert_eq!(r.scratch_reg, Some(5));
        assert_eq!(&r.bytes[..7], &[0x48, 0x8B, 0x9D, 0x10, 0, 0, 0]);
        // cmp r13, [rip+4] with REX.B clear in the original: base rbx.
        let r = relocate(&[0x4C, 0x3B, 0x2D, 4, 0, 0, 0], ORIG, SLOT).unwrap();
        assert_eq!(r.scratch_reg, Some(3));
        // movups xmm0, [rip+8]
        let r = relocate(&[0x0F, 0x10, 0x05, 8, 0, 0, 0], ORIG, SLOT).unwrap();
        assert_eq!(r.scratch_reg, Some(3));
        // call [rip+0]: rsp is used implicitly, rbx is free.
        let r = relocate(&[0xFF, 0x15, 0, 0, 0, 0], ORIG, SLOT).unwrap();
        assert_eq!((r.scratch_reg, r.flow, r.call), (Some(3), Flow::Absolute, true));
    }

    #[test]
    fn rip_relative_with_rex_b_or_vex_keeps_its_encoding() {
        // mov eax, [rip+8] with REX.B set (still rip-relative): rm 3 with REX.B is r11.
        let r = relocate(&[0x41, 0x8B, 0x05, 8, 0, 0, 0], ORIG, SLOT).unwrap();
        assert_eq!(r.scratch_reg, Some(11));
        assert_eq!(&r.bytes[..7], &[0x41, 0x8B, 0x83, 8, 0, 0, 0]);
        // vmovdqu ymm0, [rip+8] (2-byte VEX): base rbx, same length.
        let r = relocate(&[0xC5, 0xFE, 0x6F, 0x05, 8, 0, 0, 0], ORIG, SLOT).unwrap();
        assert_eq!((r.scratch_reg, r.len), (Some(3), 8));
        // lock cmpxchg [rip+8], rbx (rax implicit, rbx explicit): rbp stands in.
        let r = relocate(&[0xF0, 0x48, 0x0F, 0xB1, 0x1D, 8, 0, 0, 0], ORIG, SLOT).unwrap();
        assert_eq!(r.scratch_reg, Some(5));
        // cmpl $5, [rip+8]: the immediate after the displacement stays.
        let r = relocate(&[0x83, 0x3D, 8, 0, 0, 0, 5], ORIG, SLOT).unwrap();
        assert_eq!(&r.bytes[..7], &[0x83, 0xBB, 8, 0, 0, 0, 5]);
        // The fix-up gives the stand-in register its value back.
        let mut regs = crate::sys::arch::ZERO_REGS;
        regs.rbx = 0x77;
        let saved = enter(&r, ORIG, SLOT, &mut regs);
        assert_eq!((saved, regs.rbx, regs.rip), (0x77, ORIG + 7, SLOT));
        regs.rip = SLOT + 7;
        fix_up(&r, ORIG, SLOT, saved, &mut regs);
        assert_eq!((regs.rbx, regs.rip), (0x77, ORIG + 7));
    }

    #[test]
    fn fix_up_maps_the_slot_back_to_the_original() {
        let mut regs: libc::user_regs_struct = crate::sys::arch::ZERO_REGS;
        let r = relocate(&[0xEB, 0x05], ORIG, SLOT).unwrap();
        regs.rip = SLOT + 7; // taken
        assert_eq!(fix_up(&r, ORIG, SLOT, 0, &mut regs), None);
        assert_eq!(regs.rip, ORIG + 7);
        let r = relocate(&[0xC3], ORIG, SLOT).unwrap();
        regs.rip = 0x1234;
        fix_up(&r, ORIG, SLOT, 0, &mut regs);
        assert_eq!(regs.rip, 0x1234);
        let r = relocate(&[0x0F, 0x05], ORIG, SLOT).unwrap();
        regs.rip = SLOT + 2;
        regs.rcx = SLOT + 2;
        fix_up(&r, ORIG, SLOT, 0, &mut regs);
        assert_eq!((regs.rip, regs.rcx), (ORIG + 2, ORIG + 2));
        let r = relocate(&[0xE8, 0x10, 0, 0, 0], ORIG, SLOT).unwrap();
        regs.rip = SLOT + 0x15;
        regs.rsp = 0x8000;
        let fix = fix_up(&r, ORIG, SLOT, 0, &mut regs).unwrap();
        assert_eq!(regs.rip, ORIG + 0x15);
        assert_eq!(fix, StackFix { addr: 0x8000, pushed: SLOT + 5, value: ORIG + 5 });
    }
}

#[cfg(test)]
mod review_tests {
    //! Review (rev1): the rewritten `[reg + disp]` operand addresses exactly what the original
    //! `[rip + disp]` did, for prefixed, VEX, EVEX and segment-overridden forms.
    use super::*;

    const ORIG: u64 = 0x5555_5555_1000;
    const SLOT: u64 = 0x7f00_0000_0040;

    fn check(code: &[u8]) {
        let orig = Decoder::with_ip(64, code, ORIG, DecoderOptions::NONE).decode();
        assert!(!orig.is_invalid() && orig.is_ip_rel_memory_operand(), "{code:x?}");
        let r = relocate(code, ORIG, SLOT).unwrap_or_else(|e| panic!("{code:x?}: {e:?}"));
        let p =
            Decoder::with_ip(64, &r.bytes[..r.len as usize], SLOT, DecoderOptions::NONE).decode();
        assert_eq!((p.code(), p.len()), (orig.code(), orig.len()), "{code:x?}");
        assert_eq!(p.segment_prefix(), orig.segment_prefix(), "{code:x?}");
        assert_eq!(p.memory_size(), orig.memory_size(), "{code:x?}");
        let n = r.scratch_reg.unwrap();
        assert_eq!(Some(n), gpr_number(p.memory_base()), "{code:x?}");
        let ea = (ORIG + orig.len() as u64).wrapping_add(p.memory_displacement64());
        assert_eq!(ea, orig.memory_displacement64(), "{code:x?}: effective address");
        for i in 0..orig.op_count() {
            assert_eq!(p.op_kind(i), orig.op_kind(i), "{code:x?} operand {i}");
            match orig.op_kind(i) {
                iced_x86::OpKind::Register => assert_eq!(p.op_register(i), orig.op_register(i)),
                iced_x86::OpKind::Memory => {}
                _ => assert_eq!(p.immediate(i), orig.immediate(i), "{code:x?} operand {i}"),
            }
        }
    }

    #[test]
    fn rewritten_operands_address_what_the_original_did() {
        check(&[0x64, 0x48, 0x8B, 0x05, 0x10, 0, 0, 0]); // mov rax, fs:[rip+0x10]
        check(&[0x65, 0x48, 0x8B, 0x1D, 0xF0, 0xFF, 0xFF, 0xFF]); // mov rbx, gs:[rip-0x10]
        check(&[0xFF, 0x35, 8, 0, 0, 0]); // push [rip+8]
        check(&[0x8F, 0x05, 8, 0, 0, 0]); // pop [rip+8]
        check(&[0xFF, 0x15, 8, 0, 0, 0]); // call [rip+8]
        check(&[0xFF, 0x25, 8, 0, 0, 0]); // jmp [rip+8]
        check(&[0x62, 0xF1, 0xFE, 0x48, 0x6F, 0x05, 1, 0, 0, 0]); // vmovdqu64 zmm0, [rip+1]
        check(&[0x62, 0x61, 0xFE, 0x48, 0x6F, 0x3D, 1, 0, 0, 0]); // vmovdqu64 zmm31, [rip+1]
        check(&[0xC4, 0xE2, 0x7D, 0x58, 0x05, 4, 0, 0, 0]); // vpbroadcastd ymm0, [rip+4]
        check(&[0xC4, 0x42, 0x7D, 0x58, 0x05, 4, 0, 0, 0]); // vpbroadcastd ymm8, [rip+4] (VEX.B)
        check(&[0x48, 0x0F, 0xC7, 0x0D, 8, 0, 0, 0]); // cmpxchg16b [rip+8]
                                                      // ... whose implicit rdx:rax and rcx:rbx are not taken to stand in for rip
        let r = relocate(&[0x48, 0x0F, 0xC7, 0x0D, 8, 0, 0, 0], ORIG, SLOT).unwrap();
        assert!(!matches!(r.scratch_reg, Some(0..=3)), "{:?}", r.scratch_reg);
        check(&[0x0F, 0xAE, 0x25, 8, 0, 0, 0]); // xsave [rip+8]
        check(&[0x48, 0x81, 0x3D, 8, 0, 0, 0, 0x44, 0x33, 0x22, 0x11]); // cmp [rip+8], imm32
        check(&[0x66, 0x0F, 0x3A, 0x0F, 0x05, 8, 0, 0, 0, 4]); // palignr xmm0, [rip+8], 4
        check(&[0xF0, 0x48, 0x0F, 0xC1, 0x05, 8, 0, 0, 0]); // lock xadd [rip+8], rax
    }
}
