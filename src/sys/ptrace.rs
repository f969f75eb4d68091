//! ptrace requests. Every function here must be called from the tracer thread (the engine's
//! monitor): the kernel only accepts ptrace requests from the thread that attached.
//!
//! nix has most requests; the resuming ones (`cont`, `step`, `detach`) are written over libc
//! because nix takes the signal to deliver as `Option<Signal>`, which cannot express the
//! real-time signals (SIGRTMIN..SIGRTMAX) that glibc and runtimes such as the JVM use.

use nix::errno::Errno;
use nix::sys::ptrace;
use nix::unistd::Pid;

/// Options set on every traced thread (clones inherit them).
pub const TRACE_OPTIONS: i32 = libc::PTRACE_O_TRACECLONE
    | libc::PTRACE_O_TRACESYSGOOD
    | libc::PTRACE_O_TRACEEXEC
    | libc::PTRACE_O_TRACEEXIT
    | libc::PTRACE_O_TRACEFORK
    | libc::PTRACE_O_TRACEVFORK
    | libc::PTRACE_O_TRACEVFORKDONE;

/// `status >> 16` values of event stops.
pub const EVENT_FORK: i32 = libc::PTRACE_EVENT_FORK;
pub const EVENT_VFORK: i32 = libc::PTRACE_EVENT_VFORK;
pub const EVENT_CLONE: i32 = libc::PTRACE_EVENT_CLONE;
pub const EVENT_VFORK_DONE: i32 = libc::PTRACE_EVENT_VFORK_DONE;
pub const EVENT_EXEC: i32 = libc::PTRACE_EVENT_EXEC;
pub const EVENT_EXIT: i32 = libc::PTRACE_EVENT_EXIT;
pub const EVENT_STOP: i32 = libc::PTRACE_EVENT_STOP;

/// PTRACE_SEIZE with our options, `exit_kill` adding PTRACE_O_EXITKILL (launched processes).
/// Seize, unlike PTRACE_ATTACH, sends no SIGSTOP: stops are requested with `interrupt`, which
/// cannot race another stop into a stray SIGSTOP that leaks to the program.
pub fn seize(tid: i32, exit_kill: bool) -> Result<(), Errno> {
    let mut bits = TRACE_OPTIONS;
    if exit_kill {
        bits |= libc::PTRACE_O_EXITKILL;
    }
    let opts = ptrace::Options::from_bits_truncate(bits);
    ptrace::seize(Pid::from_raw(tid), opts)
}

/// PTRACE_INTERRUPT: the thread reports PTRACE_EVENT_STOP soon (seized threads only).
pub fn interrupt(tid: i32) -> Result<(), Errno> {
    ptrace::interrupt(Pid::from_raw(tid))
}

fn resume(request: libc::c_uint, tid: i32, sig: i32) -> Result<(), Errno> {
    // SAFETY: resuming requests take no pointer; `data` carries the signal number by value.
    let r = unsafe {
        libc::ptrace(
            request,
            tid,
            std::ptr::null_mut::<libc::c_void>(),
            sig as libc::c_long as *mut libc::c_void,
        )
    };
    if r == -1 {
        Err(Errno::last())
    } else {
        Ok(())
    }
}

/// PTRACE_CONT, delivering `sig` (0: none).
pub fn cont(tid: i32, sig: i32) -> Result<(), Errno> {
    resume(libc::PTRACE_CONT, tid, sig)
}

/// PTRACE_SINGLESTEP, delivering `sig` (0: none).
pub fn step(tid: i32, sig: i32) -> Result<(), Errno> {
    resume(libc::PTRACE_SINGLESTEP, tid, sig)
}

/// PTRACE_DETACH, delivering `sig` (0: none).
pub fn detach(tid: i32, sig: i32) -> Result<(), Errno> {
    resume(libc::PTRACE_DETACH, tid, sig)
}

/// PTRACE_GETEVENTMSG: the new tid of a clone/fork, the former tid at exec, the wait status
/// at exit.
pub fn event_msg(tid: i32) -> Result<u64, Errno> {
    ptrace::getevent(Pid::from_raw(tid)).map(|v| v as u64)
}

/// PTRACE_GETSIGINFO: `(si_signo, si_code, si_pid)` of the signal that stopped the thread.
pub fn siginfo(tid: i32) -> Result<SigInfo, Errno> {
    let si = ptrace::getsiginfo(Pid::from_raw(tid))?;
    // SAFETY: si_pid reads the kill/tkill member of the union; for other si_codes the value is
    // meaningless but still plain memory, and callers look at it only for SI_USER/SI_TKILL.
    let pid = unsafe { si.si_pid() };
    Ok(SigInfo { signo: si.si_signo, code: si.si_code, pid })
}

/// The parts of a `siginfo_t` the engine looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SigInfo {
    pub signo: i32,
    pub code: i32,
    pub pid: i32,
}

/// `si_code` of an int3 trap (the kernel's SI_KERNEL).
pub const SI_KERNEL: i32 = 0x80;
/// `si_code` of a single-step trap.
pub const TRAP_TRACE: i32 = 2;
/// `si_code` of a hardware breakpoint trap.
pub const TRAP_BRKPT: i32 = 1;

/// PTRACE_GETREGS.
pub fn get_regs(tid: i32) -> Result<libc::user_regs_struct, Errno> {
    ptrace::getregs(Pid::from_raw(tid))
}

/// PTRACE_SETREGS.
pub fn set_regs(tid: i32, regs: &libc::user_regs_struct) -> Result<(), Errno> {
    ptrace::setregs(Pid::from_raw(tid), *regs)
}

// ----- system-call stops (the engine's syscalls feature) ------------------------------------

/// WSTOPSIG of a syscall stop. With PTRACE_O_TRACESYSGOOD (in TRACE_OPTIONS) syscall stops
/// report SIGTRAP|0x80, so they cannot be taken for a SIGTRAP, and PTRACE_GET_SYSCALL_INFO can
/// tell entry from exit. The option only matters for threads resumed with PTRACE_SYSCALL, so
/// it is set on every thread from the start.
pub const SYSCALL_TRAP: i32 = libc::SIGTRAP | 0x80;
/// `status >> 16` of a seccomp stop (a filter returned SECCOMP_RET_TRACE).
pub const EVENT_SECCOMP: i32 = libc::PTRACE_EVENT_SECCOMP;

/// PTRACE_SYSCALL, delivering `sig` (0: none): the thread runs to its next system-call entry
/// or exit (or any other stop).
pub fn syscall(tid: i32, sig: i32) -> Result<(), Errno> {
    resume(libc::PTRACE_SYSCALL, tid, sig)
}

/// PTRACE_SETOPTIONS (clones inherit a thread's options).
pub fn set_options(tid: i32, options: i32) -> Result<(), Errno> {
    ptrace::setoptions(Pid::from_raw(tid), ptrace::Options::from_bits_truncate(options))
}

/// What PTRACE_GET_SYSCALL_INFO says about a syscall stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyscallOp {
    /// Not in a syscall stop (or TRACESYSGOOD missing).
    None,
    /// Syscall-enter stop.
    Entry { nr: u64, args: [u64; 6] },
    /// Syscall-exit stop.
    Exit { rval: i64, is_error: bool },
    /// Seccomp stop (acts as an enter stop); `data` is the filter's SECCOMP_RET_DATA.
    Seccomp { nr: u64, args: [u64; 6], data: u32 },
}

/// One PTRACE_GET_SYSCALL_INFO answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyscallInfo {
    pub op: SyscallOp,
    /// AUDIT_ARCH_X86_64, or AUDIT_ARCH_I386 for an `int 0x80` call.
    pub arch: u32,
    pub ip: u64,
    pub sp: u64,
}

/// PTRACE_GET_SYSCALL_INFO (Linux 5.3).
pub fn syscall_info(tid: i32) -> Result<SyscallInfo, Errno> {
    // struct ptrace_syscall_info: u8 op, u8 pad, u16 flags, u32 arch, u64 ip, u64 sp, then the
    // union {nr, args[6]} / {s64 rval, u8 is_error} / {nr, args[6], u32 ret_data}: 88 bytes.
    let mut buf = [0u64; 11];
    // SAFETY: the kernel writes at most `addr` (= the buffer's size) bytes into `buf`.
    let r = unsafe {
        libc::ptrace(
            0x420e, // PTRACE_GET_SYSCALL_INFO
            tid,
            std::mem::size_of_val(&buf) as *mut libc::c_void,
            buf.as_mut_ptr() as *mut libc::c_void,
        )
    };
    if r == -1 {
        return Err(Errno::last());
    }
    let op = buf[0] as u8;
    let arch = (buf[0] >> 32) as u32;
    let mut args = [0u64; 6];
    args.copy_from_slice(&buf[4..10]);
    let op = match op {
        1 => SyscallOp::Entry { nr: buf[3], args },
        2 => SyscallOp::Exit { rval: buf[3] as i64, is_error: buf[4] as u8 != 0 },
        3 => SyscallOp::Seccomp { nr: buf[3], args, data: buf[10] as u32 },
        _ => SyscallOp::None,
    };
    Ok(SyscallInfo { op, arch, ip: buf[1], sp: buf[2] })
}
