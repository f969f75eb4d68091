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
