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

/// A `user_regs_struct` of zeros (libc gives it no `Default`): a placeholder before registers
/// are read, and the start of test fixtures.
pub const ZERO_REGS: libc::user_regs_struct = libc::user_regs_struct {
    r15: 0,
    r14: 0,
    r13: 0,
    r12: 0,
    rbp: 0,
    rbx: 0,
    r11: 0,
    r10: 0,
    r9: 0,
    r8: 0,
    rax: 0,
    rcx: 0,
    rdx: 0,
    rsi: 0,
    rdi: 0,
    orig_rax: 0,
    rip: 0,
    cs: 0,
    eflags: 0,
    rsp: 0,
    ss: 0,
    fs_base: 0,
    gs_base: 0,
    ds: 0,
    es: 0,
    fs: 0,
    gs: 0,
};
