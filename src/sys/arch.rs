//! x86-64 specifics: the register layout of `user_regs_struct` and the breakpoint instruction.

/// Register names in the kernel's `user_regs_struct` order (the order of `ptrace_dbg_regs`).
pub const REG_NAMES: [&str; 27] = [
    "r15", "r14", "r13", "r12", "rbp", "rbx", "r11", "r10", "r9", "r8", "rax", "rcx", "rdx", "rsi",
    "rdi", "orig_rax", "rip", "cs", "eflags", "rsp", "ss", "fs_base", "gs_base", "ds", "es", "fs",
    "gs",
];

/// Index of `rip` in [`REG_NAMES`].
pub const REG_PC: usize = 16;
/// Index of `rsp` in [`REG_NAMES`].
pub const REG_SP: usize = 19;

/// The one-byte breakpoint instruction, `int3`.
pub const BREAKPOINT_INSN: u8 = 0xCC;
