//! Reading `/proc`: a process's tasks, a task's scheduler state and status fields.

use nix::errno::Errno;
use std::fs;
use std::io::ErrorKind;

fn errno_of(e: &std::io::Error) -> Errno {
    match e.raw_os_error() {
        Some(n) => Errno::from_raw(n),
        None if e.kind() == ErrorKind::NotFound => Errno::ENOENT,
        None => Errno::EIO,
    }
}

/// Reads a small /proc file. procfs reports size 0, so `fs::read_to_string` grows its buffer
/// from 32 bytes in several reads; one 4 KiB buffer takes it in one.
fn read_small(path: &str) -> Option<String> {
    use std::io::Read;
    let mut buf = Vec::with_capacity(4096);
    fs::File::open(path).ok()?.read_to_end(&mut buf).ok()?;
    String::from_utf8(buf).ok()
}

/// The thread ids listed in `/proc/PID/task`, ascending. ENOENT/ESRCH: no such process.
pub fn tasks(pid: i32) -> Result<Vec<i32>, Errno> {
    let dir = fs::read_dir(format!("/proc/{pid}/task")).map_err(|e| errno_of(&e))?;
    let mut tids: Vec<i32> = dir
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str().and_then(|s| s.parse().ok()))
        .collect();
    tids.sort_unstable();
    Ok(tids)
}

/// The state letter of `/proc/PID/task/TID/stat` (R, S, D, T, t, Z, X, ...), or None if the
/// task is gone.
pub fn task_state(pid: i32, tid: i32) -> Option<char> {
    let stat = read_small(&format!("/proc/{pid}/task/{tid}/stat"))?;
    // The command name is in parentheses and may contain anything, so split after the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.trim_start().chars().next()
}

/// A numeric field ("Tgid", "TracerPid", ...) of `/proc/TID/status`, or None if the task is
/// gone or the field is absent.
pub fn status_field(tid: i32, name: &str) -> Option<i64> {
    let status = read_small(&format!("/proc/{tid}/status"))?;
    status.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        if key == name {
            value.trim().parse().ok()
        } else {
            None
        }
    })
}

/// `kernel.yama.ptrace_scope`, if Yama is present.
pub fn yama_ptrace_scope() -> Option<i32> {
    fs::read_to_string("/proc/sys/kernel/yama/ptrace_scope").ok()?.trim().parse().ok()
}

/// Whether the task is blocked inside a system call (`/proc/PID/task/TID/syscall` shows a
/// number, not "running").
pub fn in_syscall(pid: i32, tid: i32) -> bool {
    read_small(&format!("/proc/{pid}/task/{tid}/syscall"))
        .and_then(|s| s.split_whitespace().next().map(|n| n.parse::<i64>().is_ok_and(|n| n >= 0)))
        .unwrap_or(false)
}

/// Whether the task is blocked inside execve/execveat (`/proc/PID/task/TID/syscall` shows the
/// syscall number of a blocked task, "running" for a running one).
pub fn in_execve(pid: i32, tid: i32) -> bool {
    let Some(s) = read_small(&format!("/proc/{pid}/task/{tid}/syscall")) else {
        return false;
    };
    let nr = s.split_whitespace().next().and_then(|n| n.parse::<i64>().ok());
    matches!(nr, Some(n) if n == libc::SYS_execve || n == libc::SYS_execveat)
}

/// Whether `fd` is an open descriptor of this process.
pub fn fd_is_open(fd: i32) -> bool {
    // SAFETY: F_GETFD on any integer is harmless; it only reports EBADF for a closed one.
    fd >= 0 && unsafe { libc::fcntl(fd, libc::F_GETFD) } != -1
}

/// Whether signal `sig` is pending for thread `tid` alone (`SigPnd` of its status; signals a
/// fault or an int3 raised are thread-directed).
pub fn thread_signal_pending(pid: i32, tid: i32, sig: i32) -> bool {
    thread_sigmask(pid, tid, "SigPnd:").is_some_and(|m| sig >= 1 && m & (1u64 << (sig - 1)) != 0)
}

/// Whether signal `sig` is pending for thread `tid` alone and not blocked by it, so that the
/// thread takes it as soon as it runs (a trap the CPU raised is never blocked: the kernel
/// unblocks it as it queues it).
pub fn thread_signal_deliverable(pid: i32, tid: i32, sig: i32) -> bool {
    let Some(status) = read_small(&format!("/proc/{pid}/task/{tid}/status")) else {
        return false;
    };
    let bit = |key: &str| mask_in(&status, key).is_some_and(|m| m & (1u64 << (sig - 1)) != 0);
    sig >= 1 && bit("SigPnd:") && !bit("SigBlk:")
}

fn thread_sigmask(pid: i32, tid: i32, key: &str) -> Option<u64> {
    mask_in(&read_small(&format!("/proc/{pid}/task/{tid}/status"))?, key)
}

fn mask_in(status: &str, key: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
}

/// The address range of the first mapping of `/proc/PID/maps` whose path column is `name`
/// (e.g. "[vdso]").
pub fn mapping(pid: i32, name: &str) -> Option<(u64, u64)> {
    let maps = fs::read_to_string(format!("/proc/{pid}/maps")).ok()?;
    maps.lines().find_map(|line| {
        if line.split_whitespace().nth(5) != Some(name) {
            return None;
        }
        let (start, end) = line.split_whitespace().next()?.split_once('-')?;
        Some((u64::from_str_radix(start, 16).ok()?, u64::from_str_radix(end, 16).ok()?))
    })
}
