//! Helpers for the engine's integration tests: building the tracee program, starting it as the
//! host's own child (for attach tests), reading its output with timeouts, and reading what the
//! kernel says about it in /proc. Every process started here is SIGKILLed and reaped on drop.
#![allow(dead_code)]

use ptrace_dbg::engine::{CauseKind, Error, Process};
use std::io::Read;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Timeout for any single wait in a test.
pub const WAIT: Duration = Duration::from_secs(20);

/// The tracee program (c-tests/tracees/tracee.c), compiled on first use.
pub fn tracee() -> PathBuf {
    build_tracee("tracee")
}

/// c-tests/tracees/NAME.c, compiled on first use. The binary is named by a hash of its source
/// and never replaced once there, because tests run in parallel processes (nextest) and a
/// replaced file would show as "(deleted)" in a running tracee's maps.
pub fn build_tracee(name: &str) -> PathBuf {
    use std::hash::{Hash, Hasher};
    static BUILT: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("c-tests/tracees/{name}.c"));
    let text = std::fs::read(&src).expect("read tracee source");
    let mut h = std::collections::hash_map::DefaultHasher::new();
    text.hash(&mut h);
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let out = dir.join(format!("{name}-{:016x}", h.finish()));
    let mut built = BUILT.lock().unwrap_or_else(|p| p.into_inner());
    if built.iter().any(|b| b == name) || out.exists() {
        return out;
    }
    let tmp = dir.join(format!("{name}.tmp.{}", std::process::id()));
    let st = Command::new("gcc")
        .args(["-O1", "-g", "-pthread", "-o"])
        .arg(&tmp)
        .arg(&src)
        .status()
        .expect("run gcc");
    assert!(st.success(), "building {name} failed");
    // hard_link never replaces: a concurrent builder's identical copy wins and stays.
    let _ = std::fs::hard_link(&tmp, &out);
    let _ = std::fs::remove_file(&tmp);
    assert!(out.exists(), "{name} not built");
    built.push(name.to_string());
    out
}

/// A tracee started by the test itself (the host's own child), killed and reaped on drop.
pub struct Spawned {
    pub child: Child,
    pub pid: i32,
}

impl Spawned {
    /// Starts `tracee MODE ARGS...` with stdout piped and waits for its "ready" line.
    pub fn ready(args: &[&str]) -> (Spawned, String) {
        let mut child =
            Command::new(tracee()).args(args).stdout(Stdio::piped()).spawn().expect("spawn tracee");
        let pid = child.id() as i32;
        let mut out = child.stdout.take().unwrap();
        let line = read_line(&mut out, WAIT).expect("tracee did not get ready");
        assert!(line.starts_with("ready"), "unexpected first line {line:?}");
        // Keep the pipe open (the tracee may write more) by leaking it into a thread-less holder.
        std::mem::forget(out);
        (Spawned { child, pid }, line)
    }

    /// Waits (bounded, on a pidfd) for the child to exit and returns its wait status.
    pub fn wait_exit(&mut self) -> std::process::ExitStatus {
        assert!(wait_pid_exit(self.pid, WAIT), "tracee {} did not exit", self.pid);
        self.child.wait().expect("wait")
    }
}

/// Waits up to `timeout` until process `pid` (a child or not) has exited, on a pidfd.
pub fn wait_pid_exit(pid: i32, timeout: Duration) -> bool {
    // SAFETY: pidfd_open takes two integers.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) } as i32;
    if fd < 0 {
        return true; // already gone and reaped
    }
    // SAFETY: a fresh descriptor owned here.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    poll_readable(fd.as_raw_fd(), timeout)
}

impl Drop for Spawned {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Reads one line from a pipe with a timeout (poll), byte by byte.
pub fn read_line(r: &mut impl ReadFd, timeout: Duration) -> Option<String> {
    let deadline = Instant::now() + timeout;
    let mut line = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || !poll_readable(r.raw_fd(), left) {
            return None;
        }
        let mut b = [0u8; 1];
        match r.read_some(&mut b) {
            Ok(0) => {
                return if line.is_empty() {
                    None
                } else {
                    Some(String::from_utf8_lossy(&line).into())
                }
            }
            Ok(_) if b[0] == b'\n' => return Some(String::from_utf8_lossy(&line).into()),
            Ok(_) => line.push(b[0]),
            Err(_) => return None,
        }
    }
}

/// Something readable with a raw fd.
pub trait ReadFd {
    fn raw_fd(&self) -> i32;
    fn read_some(&mut self, buf: &mut [u8]) -> std::io::Result<usize>;
}
impl ReadFd for std::process::ChildStdout {
    fn raw_fd(&self) -> i32 {
        self.as_raw_fd()
    }
    fn read_some(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.read(buf)
    }
}
impl ReadFd for std::fs::File {
    fn raw_fd(&self) -> i32 {
        self.as_raw_fd()
    }
    fn read_some(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.read(buf)
    }
}

/// Whether `fd` becomes readable within `timeout`.
pub fn poll_readable(fd: i32, timeout: Duration) -> bool {
    let mut pfd = libc::pollfd { fd, events: libc::POLLIN, revents: 0 };
    // SAFETY: one valid pollfd for the duration of the call.
    let n = unsafe { libc::poll(&mut pfd, 1, timeout.as_millis() as i32) };
    n == 1
}

/// A pipe: (read end as a File, write end fd).
pub fn pipe() -> (std::fs::File, OwnedFd) {
    let mut fds = [0; 2];
    // SAFETY: valid array for pipe2.
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    // SAFETY: freshly created descriptors, owned here.
    unsafe { (std::fs::File::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) }
}

/// Tasks of `pid` per /proc, ascending.
pub fn proc_tasks(pid: i32) -> Vec<i32> {
    let mut v: Vec<i32> = std::fs::read_dir(format!("/proc/{pid}/task"))
        .map(|d| d.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok()).collect())
        .unwrap_or_default();
    v.sort();
    v
}

/// The state letter of a task per /proc/PID/task/TID/stat.
pub fn task_state(pid: i32, tid: i32) -> Option<char> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/task/{tid}/stat")).ok()?;
    s[s.rfind(')')? + 1..].trim_start().chars().next()
}

/// Live tasks of `pid`: listed in /proc and not zombie/dead.
pub fn live_tasks(pid: i32) -> Vec<i32> {
    proc_tasks(pid)
        .into_iter()
        .filter(|&t| !matches!(task_state(pid, t), Some('Z') | Some('X') | None))
        .collect()
}

/// Resumes and waits for the next stop; returns the trigger thread and its cause kind.
pub fn cont_and_wait(p: &Process) -> Result<(i32, CauseKind), Error> {
    p.cont()?;
    let tid = p.wait_stop(Some(WAIT))?;
    let kind = if tid > 0 { p.stop_cause(tid)?.kind } else { CauseKind::Stopped };
    Ok((tid, kind))
}

/// Continues until the process exits, answering every stop; returns the causes seen in order.
pub fn run_to_exit(p: &Process) -> Vec<(i32, CauseKind)> {
    let mut seen = Vec::new();
    for _ in 0..10_000 {
        match cont_and_wait(p) {
            Ok(ev) => seen.push(ev),
            Err(Error::Exited) => return seen,
            Err(e) => panic!("unexpected error while running to exit: {e} (after {seen:?})"),
        }
    }
    panic!("process did not exit after 10000 stops");
}

/// A launched tracee that is killed if the test fails before it ends.
pub fn launch(args: &[&str]) -> Process {
    launch_with(args, |_| {})
}

/// Launches the tracee with options adjusted by `f`.
pub fn launch_with(
    args: &[&str],
    f: impl FnOnce(&mut ptrace_dbg::engine::LaunchOptions),
) -> Process {
    let mut opts = ptrace_dbg::engine::LaunchOptions::new();
    opts.argv = std::iter::once("tracee").chain(args.iter().copied()).map(Into::into).collect();
    f(&mut opts);
    Process::launch(&tracee(), &opts).expect("launch tracee")
}

/// The address of `symbol` of the tracee program in process `pid`: its offset in the ELF file
/// (from `nm`) plus the load address of the executable (from /proc/PID/maps), so PIE works.
pub fn symbol_addr(pid: i32, symbol: &str) -> u64 {
    program_symbol(&tracee(), pid, symbol)
}

/// The address of `symbol` of program `exe` (a tracee built here) running as `pid`.
pub fn program_symbol(exe: &std::path::Path, pid: i32, symbol: &str) -> u64 {
    let out = Command::new("nm").arg(exe).output().expect("run nm");
    let text = String::from_utf8_lossy(&out.stdout);
    let offset = text
        .lines()
        .find_map(|l| {
            let mut f = l.split_whitespace();
            let (v, _, name) = (f.next()?, f.next()?, f.next()?);
            (name == symbol).then(|| u64::from_str_radix(v, 16).ok()).flatten()
        })
        .unwrap_or_else(|| panic!("symbol {symbol} not in {}", exe.display()));
    load_base(pid, exe) + offset
}

/// The lowest mapping address of `exe` in process `pid`.
pub fn load_base(pid: i32, exe: &std::path::Path) -> u64 {
    let exe = std::fs::canonicalize(exe).unwrap();
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).unwrap();
    maps.lines()
        .filter(|l| l.ends_with(exe.to_str().unwrap()))
        .filter_map(|l| u64::from_str_radix(l.split('-').next()?, 16).ok())
        .min()
        .expect("executable not mapped")
}

/// Reads memory of `pid` directly from /proc/PID/mem (what the kernel holds, our int3s included).
pub fn raw_mem(pid: i32, addr: u64, len: usize) -> Vec<u8> {
    use std::os::unix::fs::FileExt;
    let f = std::fs::File::open(format!("/proc/{pid}/mem")).unwrap();
    let mut buf = vec![0u8; len];
    f.read_exact_at(&mut buf, addr).unwrap();
    buf
}

/// The program's entry point (AT_ENTRY in /proc/PID/auxv): by the time a thread gets there,
/// the dynamic loader has mapped every library the program links.
pub fn entry_point(pid: i32) -> u64 {
    let auxv = std::fs::read(format!("/proc/{pid}/auxv")).expect("read auxv");
    auxv.chunks_exact(16)
        .map(|c| {
            (
                u64::from_le_bytes(c[..8].try_into().unwrap()),
                u64::from_le_bytes(c[8..].try_into().unwrap()),
            )
        })
        .find(|&(key, _)| key == libc::AT_ENTRY)
        .map(|(_, v)| v)
        .expect("AT_ENTRY")
}

/// The address of a dynamic symbol of a shared library mapped in `pid` whose path contains
/// `lib` (e.g. "libc.so"): its `nm -D` value plus the library's lowest mapping.
pub fn library_symbol(pid: i32, lib: &str, symbol: &str) -> u64 {
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).unwrap();
    let (path, base) = maps
        .lines()
        .filter_map(|l| {
            let path = l.split_whitespace().nth(5)?;
            let name = path.rsplit('/').next()?;
            let start = u64::from_str_radix(l.split('-').next()?, 16).ok()?;
            name.contains(lib).then(|| (path.to_string(), start))
        })
        .min_by_key(|(_, b)| *b)
        .unwrap_or_else(|| panic!("{lib} not mapped in {pid}"));
    let out = Command::new("nm").args(["-D", "--defined-only"]).arg(&path).output().expect("nm -D");
    let value = String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let name = f.get(2)?.split('@').next()?;
            (name == symbol).then(|| u64::from_str_radix(f[0], 16).ok()).flatten()
        })
        .unwrap_or_else(|| panic!("{symbol} not in {path}"));
    base + value
}

/// A deadline for a call that might never return (a test of a timeout): keep the guard alive
/// across the call. If it is still alive after `limit`, the test fails at once with a message
/// naming `what` (the whole test process exits; launched tracees die with it, EXITKILL),
/// instead of hanging until the runner's limit.
pub struct Deadline {
    done: std::sync::Arc<(std::sync::Mutex<bool>, std::sync::Condvar)>,
}

pub fn deadline(limit: Duration, what: impl Into<String>) -> Deadline {
    let done = std::sync::Arc::new((std::sync::Mutex::new(false), std::sync::Condvar::new()));
    let what = what.into();
    let watch = done.clone();
    std::thread::spawn(move || {
        let (lock, cv) = &*watch;
        let end = Instant::now() + limit;
        let mut finished = lock.lock().unwrap_or_else(|p| p.into_inner());
        while !*finished {
            let left = end.saturating_duration_since(Instant::now());
            if left.is_zero() {
                eprintln!("DEADLINE: {what} did not return within {limit:?}");
                std::process::exit(101);
            }
            finished = cv.wait_timeout(finished, left).unwrap_or_else(|p| p.into_inner()).0;
        }
    });
    Deadline { done }
}

impl Drop for Deadline {
    fn drop(&mut self) {
        let (lock, cv) = &*self.done;
        *lock.lock().unwrap_or_else(|p| p.into_inner()) = true;
        cv.notify_all();
    }
}

/// `wait_stop(timeout)` under a deadline of `timeout` + 3 s.
pub fn wait_stop_within(p: &Process, timeout: Duration) -> Result<i32, Error> {
    let _d = deadline(timeout + Duration::from_secs(3), format!("wait_stop({timeout:?})"));
    p.wait_stop(Some(timeout))
}
