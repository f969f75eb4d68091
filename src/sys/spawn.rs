//! Creating processes from the monitor thread: the program to trace (held before exec until
//! the monitor has seized it) and the monitor's doorbell child.
//!
//! Both fork a possibly multi-threaded host, so the child runs only async-signal-safe calls
//! (no allocation, no locks) between fork and exec or _exit: everything it needs is prepared
//! in the parent first.

use nix::errno::Errno;
use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// Everything the child needs, prepared before fork.
pub struct LaunchSpec {
    /// The resolved program path (already searched in PATH).
    pub path: CString,
    pub argv: Vec<CString>,
    pub envp: Vec<CString>,
    pub cwd: Option<CString>,
    /// Descriptors to become the child's 0, 1, 2; -1 inherits.
    pub stdio: [i32; 3],
    pub disable_aslr: bool,
}

/// Which step of the child's setup failed (sent back over the error pipe with errno).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetupStep {
    Chdir,
    Dup2,
    Personality,
    Execve,
}

impl SetupStep {
    fn from_code(c: i32) -> SetupStep {
        match c {
            1 => SetupStep::Chdir,
            2 => SetupStep::Dup2,
            3 => SetupStep::Personality,
            _ => SetupStep::Execve,
        }
    }
    /// The failing call's name, for error messages.
    pub fn call(self) -> &'static str {
        match self {
            SetupStep::Chdir => "chdir",
            SetupStep::Dup2 => "dup2",
            SetupStep::Personality => "personality",
            SetupStep::Execve => "execve",
        }
    }
}

/// A forked child blocked on a pipe read, waiting for `release` before it execs.
pub struct HeldChild {
    pub pid: i32,
    go: Option<OwnedFd>,
    err: OwnedFd,
}

fn pipe_cloexec() -> Result<(OwnedFd, OwnedFd), Errno> {
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: `fds` is a valid array of two ints for pipe2 to fill.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } == -1 {
        return Err(Errno::last());
    }
    // SAFETY: pipe2 succeeded, so both descriptors are open and owned by nobody else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// Forks the program described by `spec`, held before exec. The caller seizes `pid`, then calls
/// `release`. All library descriptors are CLOEXEC, so none leaks into the program.
pub fn fork_held(spec: &LaunchSpec) -> Result<HeldChild, Errno> {
    let (go_r, go_w) = pipe_cloexec()?;
    let (err_r, err_w) = pipe_cloexec()?;
    let mut argv: Vec<*const libc::c_char> = spec.argv.iter().map(|s| s.as_ptr()).collect();
    argv.push(std::ptr::null());
    let mut envp: Vec<*const libc::c_char> = spec.envp.iter().map(|s| s.as_ptr()).collect();
    envp.push(std::ptr::null());
    let cwd = spec.cwd.as_ref().map_or(std::ptr::null(), |c| c.as_ptr());
    let (go_rfd, err_wfd) = (go_r.as_raw_fd(), err_w.as_raw_fd());

    // SAFETY: fork itself is safe to call; the child branch below only makes async-signal-safe
    // system calls on memory prepared before the fork, then execs or _exits.
    let pid = unsafe { libc::fork() };
    if pid == -1 {
        return Err(Errno::last());
    }
    if pid == 0 {
        // SAFETY: child of fork: only async-signal-safe calls, no allocation, never returns.
        unsafe { held_child_main(go_rfd, err_wfd, spec, &argv, &envp, cwd) }
    }
    drop(go_r);
    drop(err_w);
    Ok(HeldChild { pid, go: Some(go_w), err: err_r })
}

/// The child's side of `fork_held`.
///
/// # Safety
/// Must only run in the child of a fork, with pointers prepared by the parent.
unsafe fn held_child_main(
    go: libc::c_int,
    err: libc::c_int,
    spec: &LaunchSpec,
    argv: &[*const libc::c_char],
    envp: &[*const libc::c_char],
    cwd: *const libc::c_char,
) -> ! {
    // SAFETY (whole body): raw async-signal-safe system calls on fds and pointers that the parent
    // prepared and that stay valid in this copy of its memory.
    unsafe {
        let fail = |step: i32| -> ! {
            let report = [step, *libc::__errno_location()];
            libc::write(err, report.as_ptr().cast(), std::mem::size_of_val(&report));
            libc::_exit(127)
        };
        let mut byte = 0u8;
        loop {
            let n = libc::read(go, (&mut byte as *mut u8).cast(), 1);
            if n == 1 {
                break;
            }
            if n == 0 || *libc::__errno_location() != libc::EINTR {
                libc::_exit(127); // the tracer went away before releasing us
            }
        }
        // The monitor thread blocks every signal; the program starts with none blocked.
        let mut empty: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut empty);
        libc::sigprocmask(libc::SIG_SETMASK, &empty, std::ptr::null_mut());
        // Move the chosen descriptors out of the way first, so that e.g. stdout_fd == 0 cannot be
        // clobbered by an earlier dup2; dup2 then clears CLOEXEC on the targets.
        let mut moved = [-1; 3];
        for (i, &fd) in spec.stdio.iter().enumerate() {
            if fd >= 0 {
                moved[i] = libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 3);
                if moved[i] == -1 {
                    fail(2);
                }
            }
        }
        for (i, &fd) in moved.iter().enumerate() {
            if fd >= 0 && libc::dup2(fd, i as libc::c_int) == -1 {
                fail(2);
            }
        }
        if !cwd.is_null() && libc::chdir(cwd) == -1 {
            fail(1);
        }
        if spec.disable_aslr {
            let current = libc::personality(0xffff_ffff);
            if current == -1
                || libc::personality((current | libc::ADDR_NO_RANDOMIZE) as libc::c_ulong) == -1
            {
                fail(3);
            }
        }
        libc::execve(spec.path.as_ptr(), argv.as_ptr(), envp.as_ptr());
        fail(4)
    }
}

impl HeldChild {
    /// Lets the child go on to exec.
    pub fn release(&mut self) -> Result<(), Errno> {
        let go = self.go.take().ok_or(Errno::EINVAL)?;
        // SAFETY: writes one byte from a valid local to an open pipe we own.
        let n = unsafe { libc::write(go.as_raw_fd(), [1u8].as_ptr().cast(), 1) };
        if n == 1 {
            Ok(())
        } else {
            Err(Errno::last())
        }
    }

    /// After the child exited without exec: which setup step failed, with which errno.
    pub fn setup_error(&self) -> Option<(SetupStep, Errno)> {
        let mut report = [0i32; 2];
        // SAFETY: reads at most size_of(report) bytes into a valid local buffer.
        let n = unsafe {
            libc::read(
                self.err.as_raw_fd(),
                report.as_mut_ptr().cast(),
                std::mem::size_of_val(&report),
            )
        };
        if n as usize == std::mem::size_of_val(&report) {
            Some((SetupStep::from_code(report[0]), Errno::from_raw(report[1])))
        } else {
            None
        }
    }
}

/// Forks the monitor's doorbell: a child that only sleeps, so that stopping it with SIGSTOP wakes
/// the monitor's `waitpid`. It closes every descriptor (holding none of the host's pipes open),
/// leaves the host's session (so terminal signals to the host's process group miss it), and dies
/// with the monitor thread (PR_SET_PDEATHSIG).
pub fn fork_doorbell() -> Result<i32, Errno> {
    let parent = std::process::id() as libc::pid_t;
    // SAFETY: the child branch makes only async-signal-safe system calls and never returns.
    let pid = unsafe { libc::fork() };
    if pid == -1 {
        return Err(Errno::last());
    }
    if pid == 0 {
        // SAFETY: child of fork: raw system calls only, then sleeps until killed.
        unsafe {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            if libc::getppid() != parent {
                libc::_exit(0);
            }
            libc::syscall(libc::SYS_close_range, 0u32, u32::MAX, 0u32);
            libc::setsid();
            loop {
                libc::pause();
            }
        }
    }
    Ok(pid)
}
