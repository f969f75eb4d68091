//! System-call stops against real processes (c-tests/tracees/syscalls.c): exact counts from
//! several threads, changing calls, exec, breakpoints and steps on a `syscall`, thread
//! life, interruptions, detach, kill and the seccomp filter.

mod common;

use common::*;
use ptrace_dbg::engine::syscalls::{self, Mode, SyscallStop};
use ptrace_dbg::engine::{CauseKind, Error, LaunchOptions, Process};
use std::collections::HashMap;
use std::os::fd::AsRawFd;

const NR_READ: i32 = 0;
const NR_WRITE: i32 = 1;
const NR_RT_SIGRETURN: i32 = 15;
const NR_GETPID: i32 = 39;
const NR_EXECVE: i32 = 59;
const NR_GETUID: i32 = 102;
const NR_GETPPID: i32 = 110;
const NR_OPENAT: i32 = 257;
const NR_UNLINKAT: i32 = 263;
const NR_EXIT_GROUP: i32 = 231;

fn exe() -> std::path::PathBuf {
    build_tracee("syscalls")
}

/// Launches `syscalls ARGS`, stdout into a pipe the test reads.
fn launch_piped(args: &[&str]) -> (Process, std::fs::File) {
    let (r, w) = pipe();
    let mut opts = LaunchOptions::new();
    opts.argv = std::iter::once("syscalls").chain(args.iter().copied()).map(Into::into).collect();
    opts.stdio[1] = w.as_raw_fd();
    let p = Process::launch(&exe(), &opts).expect("launch syscalls tracee");
    drop(w);
    (p, r)
}

/// One event seen by `run`: a syscall stop, or another stop kind.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Ev {
    Sys(i32, SyscallStop),
    Other(i32, CauseKind),
}

/// Continues until exit; at every stop collects each thread's syscall stop (every thread, not
/// only the trigger: several can be at one at once) and lets `f` act on it.
fn run(p: &Process, mut f: impl FnMut(&Process, i32, &SyscallStop)) -> Vec<Ev> {
    let mut seen = Vec::new();
    for _ in 0..100_000 {
        p.cont().expect("continue");
        let trigger = match p.wait_stop(Some(WAIT)) {
            Ok(t) => t,
            Err(Error::Exited) => return seen,
            Err(e) => panic!("wait_stop: {e} after {} events", seen.len()),
        };
        for tid in p.threads().unwrap() {
            let Ok(cause) = p.stop_cause(tid) else { continue };
            match cause.kind {
                CauseKind::SyscallEntry | CauseKind::SyscallExit => {
                    let s = p.syscall_info(tid).expect("syscall_info at a syscall stop");
                    assert_eq!(s.is_exit, cause.kind == CauseKind::SyscallExit);
                    if s.is_exit {
                        // An exit shows the argument registers as the kernel has them (after
                        // execve and rt_sigreturn too), whether read again or kept from the
                        // entry.
                        let r = p.get_regs(tid).unwrap();
                        assert_eq!(s.args, [r.rdi, r.rsi, r.rdx, r.r10, r.r8, r.r9], "{s:?}");
                    }
                    f(p, tid, &s);
                    seen.push(Ev::Sys(tid, p.syscall_info(tid).unwrap()));
                }
                CauseKind::Stopped => {}
                k if tid == trigger => seen.push(Ev::Other(tid, k)),
                _ => {}
            }
        }
    }
    panic!("no exit after 100000 stops");
}

fn sys_events(evs: &[Ev]) -> Vec<(i32, SyscallStop)> {
    evs.iter()
        .filter_map(|e| match e {
            Ev::Sys(t, s) => Some((*t, *s)),
            _ => None,
        })
        .collect()
}

fn check_counts(seccomp: bool) {
    const N: usize = 250;
    let (p, _out) = launch_piped(&["count", &N.to_string()]);
    let flags = syscalls::ENTRY | syscalls::EXIT | if seccomp { syscalls::SECCOMP } else { 0 };
    p.trace_syscalls(Some(&[NR_GETPPID, NR_WRITE]), flags).unwrap();
    assert_eq!(p.syscall_mode().unwrap(), if seccomp { Mode::Seccomp } else { Mode::Ptrace });
    let evs = run(&p, |_, _, _| {});
    assert_eq!(p.exit_status().unwrap().code, 0, "the tracee's own checks failed");
    let me = std::process::id() as i64;
    // Per thread: calls alternate entry, exit, with the same number.
    let mut per_thread: HashMap<i32, Vec<SyscallStop>> = HashMap::new();
    for (tid, s) in sys_events(&evs) {
        assert!(s.number == NR_GETPPID as i64 || s.number == NR_WRITE as i64, "untraced {s:?}");
        per_thread.entry(tid).or_default().push(s);
    }
    assert_eq!(per_thread.len(), 4, "four threads made traced calls: {:?}", per_thread.keys());
    let mut lengths = Vec::new();
    for (tid, stops) in &per_thread {
        assert_eq!(stops.len(), 4 * N, "thread {tid}: every traced entry and exit once");
        for pair in stops.chunks(2) {
            let (entry, exit) = (pair[0], pair[1]);
            assert!(!entry.is_exit && exit.is_exit, "thread {tid}: {pair:?}");
            assert_eq!(entry.number, exit.number);
            assert_eq!(entry.arch, syscalls::ARCH_X86_64);
            if entry.number == NR_GETPPID as i64 {
                assert_eq!(exit.ret, me, "getppid returns the tracer's pid");
            } else {
                assert_eq!(entry.args[1], exit.args[1]);
                assert_eq!(exit.ret, entry.args[2] as i64, "write returns its length");
                assert!(!exit.is_error);
                lengths.push(entry.args[2]);
            }
        }
        let getppids = stops.iter().filter(|s| s.number == NR_GETPPID as i64).count();
        assert_eq!(getppids, 2 * N);
    }
    lengths.sort();
    lengths.dedup();
    assert_eq!(lengths, vec![1, 2, 3, 4], "each thread's writes have its own length");
}

#[test]
fn counts_are_exact_from_four_threads_and_untraced_calls_never_stop() {
    check_counts(false);
}

#[test]
fn counts_are_exact_with_the_seccomp_filter_too() {
    check_counts(true);
}

#[test]
fn calls_are_skipped_rewritten_and_their_results_changed() {
    let dir = std::env::temp_dir().join(format!("ptrace_dbg_sys_{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let victim = dir.join("victim");
    let (a, b) = (dir.join("a"), dir.join("b"));
    std::fs::write(&victim, "v").unwrap();
    std::fs::write(&a, "AAA").unwrap();
    std::fs::write(&b, "BBB").unwrap();
    let (p, mut out) = launch_piped(&["change", victim.to_str().unwrap(), a.to_str().unwrap()]);
    let pid = p.pid();
    p.trace_syscalls(Some(&[NR_UNLINKAT, NR_OPENAT, NR_GETPID]), syscalls::ENTRY | syscalls::EXIT)
        .unwrap();
    let a_path = a.to_str().unwrap().to_string();
    let b_path = std::ffi::CString::new(b.to_str().unwrap()).unwrap();
    let mut rewritten = 0;
    let evs = run(&p, |p, tid, s| match (s.number as i32, s.is_exit) {
        (NR_UNLINKAT, false) => p.set_syscall(tid, -1, None).unwrap(),
        (NR_UNLINKAT, true) => p.set_syscall_return(tid, -(libc::EPERM as i64)).unwrap(),
        (NR_OPENAT, false) => {
            let mut buf = vec![0u8; a_path.len() + 1];
            p.peek(tid, s.args[1], &mut buf).unwrap();
            if buf[..a_path.len()] == *a_path.as_bytes() && buf[a_path.len()] == 0 {
                // The new path goes below the red zone of the caller's stack.
                let at = (s.sp - 1024) & !15;
                p.poke(tid, at, b_path.as_bytes_with_nul()).unwrap();
                let mut args = s.args;
                args[1] = at;
                p.set_syscall(tid, NR_OPENAT as i64, Some(args)).unwrap();
                assert_eq!(p.syscall_info(tid).unwrap().args[1], at);
                rewritten += 1;
            }
        }
        (NR_GETPID, true) => {
            p.set_syscall_return(tid, 4242).unwrap();
            assert_eq!(p.syscall_info(tid).unwrap().ret, 4242);
        }
        _ => {}
    });
    assert_eq!(rewritten, 1);
    assert_eq!(p.exit_status().unwrap().code, 0);
    let lines: Vec<String> = (0..3).map(|_| read_line(&mut out, WAIT).unwrap()).collect();
    assert_eq!(lines[0], "unlinkat=-1 errno=1 exists=1");
    assert!(victim.exists(), "the skipped unlinkat removed nothing");
    assert_eq!(lines[1], "openat=ok content=BBB");
    assert_eq!(lines[2], format!("getpid=4242 real={pid}"));
    let unlink_exit = sys_events(&evs)
        .into_iter()
        .find(|(_, s)| s.number == NR_UNLINKAT as i64 && s.is_exit)
        .unwrap();
    assert_eq!(unlink_exit.1.ret, -(libc::EPERM as i64));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Arguments changed at an entry stop, through the registers or set_syscall, are the ones the
/// call runs with and the ones its exit shows.
fn check_exit_args_after_changes(seccomp: bool) {
    const N: usize = 6;
    let (p, _out) = launch_piped(&["bench", "3", &N.to_string()]);
    let flags = syscalls::ENTRY | syscalls::EXIT | if seccomp { syscalls::SECCOMP } else { 0 };
    p.trace_syscalls(Some(&[NR_WRITE]), flags).unwrap();
    let mut set: HashMap<i32, u64> = HashMap::new();
    let mut n = 0;
    let evs = run(&p, |p, tid, s| {
        if !s.is_exit {
            // Another buffer on the caller's stack (a byte to /dev/null: any readable one).
            let buf = (s.sp - 512 - 8 * n as u64) & !7;
            match n % 3 {
                0 => {
                    let mut r = p.get_regs(tid).unwrap();
                    r.rsi = buf;
                    p.set_regs(tid, &r).unwrap();
                }
                1 => {
                    let mut args = s.args;
                    args[1] = buf;
                    p.set_syscall(tid, NR_WRITE as i64, Some(args)).unwrap();
                }
                _ => {} // unchanged
            }
            set.insert(tid, if n % 3 == 2 { s.args[1] } else { buf });
            n += 1;
        } else {
            assert_eq!(s.args[1], set[&tid], "write {n}: the buffer it ran with");
            assert_eq!(s.ret, 1);
        }
    });
    assert_eq!(p.exit_status().unwrap().code, 0, "every write wrote its byte");
    assert_eq!(sys_events(&evs).len(), 2 * N);
}

#[test]
fn exit_args_are_those_the_call_ran_with_after_changes_at_its_entry() {
    check_exit_args_after_changes(false);
    check_exit_args_after_changes(true);
}

/// A call turned at its entry into one that replaces the register file (execve here, through
/// set_syscall or through set_regs' orig_rax): its exit stop, in the new image, shows the
/// registers the kernel has there (`run` checks every exit), not the arguments kept from the
/// entry for the call the thread entered with.
fn check_exit_args_after_number_change(seccomp: bool, via_regs: bool) {
    let (p, _out) = launch_piped(&["bench", "0", "3"]);
    let flags = syscalls::ENTRY | syscalls::EXIT | if seccomp { syscalls::SECCOMP } else { 0 };
    p.trace_syscalls(Some(&[NR_WRITE]), flags).unwrap();
    let (mut entries, mut exits) = (0, 0);
    let evs = run(&p, |p, tid, s| {
        if s.is_exit {
            exits += 1;
            return;
        }
        entries += 1;
        if entries > 1 {
            return;
        }
        // execve(exe, {"syscalls", "bench", "0", "0", NULL}, NULL), built below the red zone.
        let base = (s.sp - 4096) & !15;
        let path = exe();
        let strings: [&[u8]; 5] =
            [path.to_str().unwrap().as_bytes(), b"syscalls", b"bench", b"0", b"0"];
        let mut at = base + 64;
        let mut ptrs = Vec::new();
        for st in strings {
            let mut z = st.to_vec();
            z.push(0);
            assert_eq!(p.poke(tid, at, &z).unwrap(), z.len());
            ptrs.push(at);
            at += z.len() as u64;
        }
        let argv: Vec<u8> =
            ptrs[1..].iter().chain([0u64].iter()).flat_map(|a| a.to_le_bytes()).collect();
        assert_eq!(p.poke(tid, base, &argv).unwrap(), argv.len());
        let args = [ptrs[0], base, 0, 0, 0, 0];
        if via_regs {
            let mut r = p.get_regs(tid).unwrap();
            r.orig_rax = NR_EXECVE as u64;
            [r.rdi, r.rsi, r.rdx, r.r10, r.r8, r.r9] = args;
            p.set_regs(tid, &r).unwrap();
        } else {
            p.set_syscall(tid, NR_EXECVE as i64, Some(args)).unwrap();
        }
    });
    assert!(
        evs.contains(&Ev::Other(p.pid(), CauseKind::Exec)),
        "the write became an exec: {evs:?}"
    );
    assert_eq!(p.exit_status().unwrap().code, 0, "the new image ran `bench 0 0`");
    assert_eq!((entries, exits), (1, 1), "one write entered, its exit in the new image: {evs:?}");
}

#[test]
fn exit_args_after_a_call_turned_into_execve_at_its_entry() {
    for seccomp in [false, true] {
        for via_regs in [false, true] {
            check_exit_args_after_number_change(seccomp, via_regs);
        }
    }
}

#[test]
fn traced_set_survives_exec_and_execve_exits_in_the_new_image() {
    let (p, _out) = launch_piped(&["reexec", "3"]);
    p.trace_syscalls(Some(&[NR_GETPPID, NR_EXECVE]), syscalls::ENTRY | syscalls::EXIT).unwrap();
    let evs = run(&p, |_, _, _| {});
    assert_eq!(p.exit_status().unwrap().code, 0);
    let getppid_exits =
        sys_events(&evs).iter().filter(|(_, s)| s.number == NR_GETPPID as i64 && s.is_exit).count();
    assert_eq!(getppid_exits, 4, "one getppid per image, the 3 exec'd ones included");
    // Each execve: entry, the exec stop, then its exit (0) in the new image.
    let shape: Vec<String> = evs
        .iter()
        .filter_map(|e| match e {
            Ev::Sys(_, s) if s.number == NR_EXECVE as i64 => Some(format!(
                "{}{}",
                if s.is_exit { "exit=" } else { "entry" },
                if s.is_exit { s.ret.to_string() } else { String::new() }
            )),
            Ev::Other(_, CauseKind::Exec) => Some("exec".into()),
            _ => None,
        })
        .collect();
    assert_eq!(shape, ["entry", "exec", "exit=0"].repeat(3));
}

#[test]
fn execve_by_a_non_leader_thread_exits_under_the_leaders_tid() {
    let (p, _out) = launch_piped(&["thread-exec"]);
    let pid = p.pid();
    p.trace_syscalls(Some(&[NR_EXECVE]), syscalls::ENTRY | syscalls::EXIT).unwrap();
    let evs = run(&p, |_, _, _| {});
    let execs: Vec<&Ev> =
        evs.iter().filter(|e| matches!(e, Ev::Sys(..) | Ev::Other(_, CauseKind::Exec))).collect();
    match execs[..] {
        [Ev::Sys(t1, e1), Ev::Other(t2, CauseKind::Exec), Ev::Sys(t3, e3)] => {
            assert_ne!(*t1, pid, "a second thread called execve");
            assert!(!e1.is_exit && e3.is_exit && e3.number == NR_EXECVE as i64 && e3.ret == 0);
            assert_eq!((*t2, *t3), (pid, pid));
        }
        _ => panic!("unexpected sequence {execs:?}"),
    }
}

#[test]
fn breakpoint_on_a_traced_syscall_instruction_comes_first_then_entry_then_exit() {
    let (p, _out) = launch_piped(&["bp-syscall", "4"]);
    let pid = p.pid();
    let site = program_symbol(&exe(), pid, "syscall_site");
    p.add_breakpoint(site).unwrap();
    p.trace_syscalls(Some(&[NR_GETPPID]), syscalls::ENTRY | syscalls::EXIT).unwrap();
    let mut order = Vec::new();
    let mut hits = 0;
    loop {
        p.cont().unwrap();
        let tid = match p.wait_stop(Some(WAIT)) {
            Ok(t) => t,
            Err(Error::Exited) => break,
            Err(e) => panic!("{e}"),
        };
        let kind = p.stop_cause(tid).unwrap().kind;
        if kind == CauseKind::ThreadExit {
            continue; // the end of the program
        }
        order.push(kind);
        if kind == CauseKind::Breakpoint {
            hits += 1;
            if hits == 2 {
                // A single step over the traced `syscall`: the call runs within the step,
                // without syscall stops (PTRACE_SINGLESTEP makes none).
                p.step(tid).unwrap();
                assert_eq!(p.stop_cause(tid).unwrap().kind, CauseKind::Stopped);
                assert_eq!(p.get_regs(tid).unwrap().rip, site + 2);
                order.push(CauseKind::Stopped);
            }
        }
        if kind == CauseKind::SyscallExit {
            assert_eq!(p.syscall_info(tid).unwrap().pc, site + 2);
        }
    }
    use CauseKind::*;
    let want = [
        vec![Breakpoint, SyscallEntry, SyscallExit],
        vec![Breakpoint, Stopped],
        vec![Breakpoint, SyscallEntry, SyscallExit],
        vec![Breakpoint, SyscallEntry, SyscallExit],
    ]
    .concat();
    assert_eq!(order, want);
    assert_eq!(p.exit_status().unwrap().code, 0);
}

#[test]
fn threads_created_and_exiting_are_traced_from_their_first_call() {
    let (p, _out) = launch_piped(&["threads-life", "5"]);
    let pid = p.pid();
    p.trace_syscalls(Some(&[NR_GETPPID]), syscalls::ENTRY | syscalls::EXIT).unwrap();
    let evs = run(&p, |_, _, _| {});
    assert_eq!(p.exit_status().unwrap().code, 0);
    let sys = sys_events(&evs);
    assert_eq!(sys.len(), 10);
    let tids: std::collections::BTreeSet<i32> = sys.iter().map(|(t, _)| *t).collect();
    assert_eq!(tids.len(), 5, "each new thread's one getppid");
    assert!(!tids.contains(&pid));
    let creates = evs.iter().filter(|e| matches!(e, Ev::Other(_, CauseKind::ThreadCreate))).count();
    assert_eq!(creates, 5);
}

/// Continues until thread `tid` is blocked in read(2) per /proc (bounded: the kernel's word).
fn wait_blocked_in_read(pid: i32) {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let sc = std::fs::read_to_string(format!("/proc/{pid}/syscall")).unwrap_or_default();
        if sc.starts_with("0 ") && task_state(pid, pid) == Some('S') {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "not blocked in read: {sc}");
        std::thread::yield_now();
    }
}

#[test]
fn our_interrupt_is_invisible_and_a_signal_shows_the_restart() {
    let (p, mut out) = launch_piped(&["block"]);
    let pid = p.pid();
    p.trace_syscalls(Some(&[NR_READ]), syscalls::ENTRY | syscalls::EXIT).unwrap();
    // Up to the entry of the blocking read (ld.so's reads of libraries come first).
    cont_to_blocking_read_entry(&p);
    assert_eq!(read_line(&mut out, WAIT).as_deref(), Some("ready"));
    // Blocked in read: an all-stop interrupts it; neither the -ERESTARTSYS exit nor the
    // re-entry is reported.
    p.cont().unwrap();
    wait_blocked_in_read(pid);
    p.stop().unwrap();
    assert_eq!(p.stop_cause(pid).unwrap().kind, CauseKind::Stopped);
    p.cont().unwrap();
    wait_blocked_in_read(pid);
    // Someone else's signal: the exit with -ERESTARTSYS, the signal, the handler's
    // rt_sigreturn (its exit shows the restored rax: read's number, about to be re-entered),
    // the restarted call.
    p.stop().unwrap();
    p.trace_syscalls(Some(&[NR_READ, NR_RT_SIGRETURN]), syscalls::ENTRY | syscalls::EXIT).unwrap();
    p.cont().unwrap();
    wait_blocked_in_read(pid);
    signal(pid, libc::SIGUSR1);
    let mut seen = Vec::new();
    loop {
        let tid = match p.wait_stop(Some(WAIT)) {
            Ok(t) => t,
            Err(Error::Exited) => break,
            Err(e) => panic!("{e}"),
        };
        let c = p.stop_cause(tid).unwrap();
        match c.kind {
            CauseKind::SyscallEntry | CauseKind::SyscallExit => {
                let s = p.syscall_info(tid).unwrap();
                if s.is_exit {
                    // rt_sigreturn's exit shows the registers it restored.
                    let r = p.get_regs(tid).unwrap();
                    assert_eq!(s.args, [r.rdi, r.rsi, r.rdx, r.r10, r.r8, r.r9], "{s:?}");
                }
                let call = if s.number == NR_RT_SIGRETURN as i64 { "rt_sigreturn " } else { "" };
                seen.push(format!(
                    "{call}{}{}",
                    if s.is_exit { "exit=" } else { "entry" },
                    if s.is_exit { s.ret.to_string() } else { String::new() }
                ));
            }
            CauseKind::Signal => seen.push(format!("signal {}", c.signal)),
            _ => {}
        }
        p.cont().unwrap();
    }
    assert_eq!(
        seen,
        [
            "exit=-512",
            &format!("signal {}", libc::SIGUSR1),
            "rt_sigreturn entry",
            "rt_sigreturn exit=0",
            "entry",
            "exit=1"
        ]
    );
    assert_eq!(p.exit_status().unwrap().code, 0);
}

/// Continues to the entry of the tracee's one-byte read (ld.so's reads of libraries, which
/// come first, are larger).
fn cont_to_blocking_read_entry(p: &Process) {
    loop {
        p.cont().unwrap();
        let tid = p.wait_stop(Some(WAIT)).unwrap();
        if p.syscall_info(tid).is_ok_and(|s| !s.is_exit && s.args[2] == 1) {
            return;
        }
    }
}

/// Continues until a thread stops at a system call; returns it.
fn cont_to_syscall(p: &Process) -> (i32, SyscallStop) {
    loop {
        p.cont().unwrap();
        let tid = p.wait_stop(Some(WAIT)).unwrap();
        if let Ok(s) = p.syscall_info(tid) {
            return (tid, s);
        }
    }
}

fn signal(pid: i32, sig: i32) {
    // SAFETY: kill takes two integers.
    assert_eq!(unsafe { libc::kill(pid, sig) }, 0);
}

#[test]
fn detach_at_a_syscall_stop_leaves_a_process_that_runs_on() {
    let (p, mut out) = launch_piped(&["block"]);
    let pid = p.pid();
    p.trace_syscalls(Some(&[NR_READ]), syscalls::ENTRY | syscalls::EXIT).unwrap();
    cont_to_blocking_read_entry(&p);
    assert_eq!(read_line(&mut out, WAIT).as_deref(), Some("ready"));
    p.detach().unwrap();
    wait_blocked_in_read(pid);
    assert_eq!(
        std::fs::read_to_string(format!("/proc/{pid}/status"))
            .unwrap()
            .lines()
            .find(|l| l.starts_with("TracerPid:"))
            .unwrap()
            .split_whitespace()
            .nth(1),
        Some("0")
    );
    signal(pid, libc::SIGUSR1);
    assert_eq!(read_line(&mut out, WAIT).as_deref(), Some("read=1"));
    let mut st = 0;
    // SAFETY: waits for our own child (the launched process), status into a local.
    assert_eq!(unsafe { libc::waitpid(pid, &mut st, 0) }, pid);
    assert!(libc::WIFEXITED(st) && libc::WEXITSTATUS(st) == 0);
}

#[test]
fn kill_at_a_syscall_stop_ends_the_process() {
    let (p, _out) = launch_piped(&["count", "5"]);
    p.trace_syscalls(Some(&[NR_WRITE]), syscalls::ENTRY).unwrap();
    let (tid, s) = cont_to_syscall(&p);
    assert_eq!((s.number, s.is_exit), (NR_WRITE as i64, false));
    assert_eq!(p.stop_cause(tid).unwrap().kind, CauseKind::SyscallEntry);
    p.kill().unwrap();
    assert_eq!(p.exit_status().unwrap().signal, libc::SIGKILL);
}

#[test]
fn tracing_off_stops_no_more_and_getuid_never_stops() {
    let (p, _out) = launch_piped(&["count", "20"]);
    p.trace_syscalls(Some(&[NR_GETUID]), syscalls::EXIT).unwrap();
    let (_, s) = cont_to_syscall(&p);
    assert_eq!((s.number, s.is_exit), (NR_GETUID as i64, true));
    p.trace_syscalls(None, 0).unwrap();
    assert_eq!(p.syscall_mode().unwrap(), Mode::Off);
    let evs = run(&p, |_, _, _| {});
    assert!(sys_events(&evs).is_empty(), "{evs:?}");
    assert_eq!(p.exit_status().unwrap().code, 0);
}

#[test]
fn seccomp_filter_children_keep_working_and_detach_is_refused() {
    let (p, mut out) = launch_piped(&["fork"]);
    p.trace_syscalls(Some(&[NR_WRITE]), syscalls::ENTRY | syscalls::EXIT | syscalls::SECCOMP)
        .unwrap();
    assert_eq!(p.syscall_mode().unwrap(), Mode::Seccomp);
    assert!(matches!(p.detach(), Err(Error::BadState(_))));
    let evs = run(&p, |_, _, _| {});
    assert_eq!(read_line(&mut out, WAIT).as_deref(), Some("child=0 parent=1"));
    assert_eq!(p.exit_status().unwrap().code, 0);
    // The parent's write (the child's is not ours to report) and the say() line's write.
    let writes: Vec<_> = sys_events(&evs).into_iter().filter(|(_, s)| s.is_exit).collect();
    assert_eq!(writes.len(), 2, "{writes:?}");
}

#[test]
fn seccomp_is_refused_once_the_program_has_run() {
    let (p, _out) = launch_piped(&["count", "1"]);
    p.trace_syscalls(Some(&[NR_WRITE]), syscalls::ENTRY).unwrap();
    cont_to_syscall(&p);
    let r = p.trace_syscalls(Some(&[NR_WRITE]), syscalls::ENTRY | syscalls::SECCOMP);
    assert!(matches!(r, Err(Error::BadState(_))), "{r:?}");
    assert!(matches!(
        p.trace_syscalls(Some(&[-1]), syscalls::ENTRY),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(p.trace_syscalls(None, 16), Err(Error::InvalidArgument(_))));
    assert!(matches!(p.trace_syscalls(None, syscalls::SECCOMP), Err(Error::InvalidArgument(_))));
    p.kill().unwrap();
}

#[test]
fn exit_group_has_an_entry_and_no_exit() {
    let (p, _out) = launch_piped(&["count", "1"]);
    p.trace_syscalls(Some(&[NR_EXIT_GROUP]), syscalls::ENTRY | syscalls::EXIT).unwrap();
    let evs = run(&p, |_, _, _| {});
    assert_eq!(p.exit_status().unwrap().code, 0);
    let sys = sys_events(&evs);
    assert_eq!(sys.len(), 1, "{sys:?}");
    assert!(!sys[0].1.is_exit && sys[0].1.number == NR_EXIT_GROUP as i64 && sys[0].1.args[0] == 0);
    let after: Vec<&Ev> = evs.iter().skip_while(|e| !matches!(e, Ev::Sys(..))).skip(1).collect();
    assert!(
        after.iter().all(|e| matches!(e, Ev::Other(_, CauseKind::ThreadExit))) && !after.is_empty(),
        "after exit_group's entry only thread exits: {after:?}"
    );
}

#[test]
fn an_attached_process_blocked_in_a_call_is_traced_from_its_restart() {
    // The program, our own child, blocks in read(2); we attach (our interrupt breaks the read
    // off, before tracing began), trace read, and let a signal interrupt it once more.
    let child = std::process::Command::new(exe())
        .arg("block")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Killed and reaped if the test fails.
    let mut child = Spawned { pid: child.id() as i32, child };
    let pid = child.pid;
    let mut out = child.child.stdout.take().unwrap();
    assert_eq!(read_line(&mut out, WAIT).as_deref(), Some("ready"));
    wait_blocked_in_read(pid);
    let p = Process::attach(pid).unwrap();
    p.trace_syscalls(Some(&[NR_READ]), syscalls::ENTRY | syscalls::EXIT).unwrap();
    // The read restarts: its entry is the first stop.
    let (tid, s) = cont_to_syscall(&p);
    assert_eq!((tid, s.number, s.is_exit, s.args[2]), (pid, NR_READ as i64, false, 1));
    p.cont().unwrap();
    wait_blocked_in_read(pid);
    signal(pid, libc::SIGUSR1);
    let mut seen = Vec::new();
    while seen.len() < 4 {
        let tid = p.wait_stop(Some(WAIT)).unwrap();
        let c = p.stop_cause(tid).unwrap();
        match c.kind {
            CauseKind::SyscallEntry | CauseKind::SyscallExit => {
                let s = p.syscall_info(tid).unwrap();
                seen.push(if s.is_exit { format!("exit={}", s.ret) } else { "entry".into() });
            }
            CauseKind::Signal => seen.push(format!("signal {}", c.signal)),
            _ => {}
        }
        if seen.len() < 4 {
            p.cont().unwrap();
        }
    }
    assert_eq!(seen, ["exit=-512", &format!("signal {}", libc::SIGUSR1), "entry", "exit=1"]);
    // Detached at the read's exit stop, it prints what it read and ends.
    p.detach().unwrap();
    assert_eq!(read_line(&mut out, WAIT).as_deref(), Some("read=1"));
    assert!(child.wait_exit().success());
}

#[test]
fn a_second_seccomp_set_beyond_the_filter_falls_back_to_ptrace_syscall() {
    let (p, _out) = launch_piped(&["count", "10"]);
    let seccomp = syscalls::ENTRY | syscalls::EXIT | syscalls::SECCOMP;
    p.trace_syscalls(Some(&[NR_WRITE]), seccomp).unwrap();
    assert_eq!(p.syscall_mode().unwrap(), Mode::Seccomp);
    // Inside the filter: still the kernel's filtering. Beyond it: PTRACE_SYSCALL.
    p.trace_syscalls(Some(&[NR_WRITE]), seccomp).unwrap();
    assert_eq!(p.syscall_mode().unwrap(), Mode::Seccomp);
    p.trace_syscalls(Some(&[NR_WRITE, NR_GETPPID]), seccomp).unwrap();
    assert_eq!(p.syscall_mode().unwrap(), Mode::Ptrace);
    let evs = run(&p, |_, _, _| {});
    assert_eq!(p.exit_status().unwrap().code, 0);
    let sys = sys_events(&evs);
    let count = |nr: i32| sys.iter().filter(|(_, s)| s.number == nr as i64).count();
    assert_eq!((count(NR_WRITE), count(NR_GETPPID), sys.len()), (80, 80, 160));
}

/// Registers written at a syscall entry stop (set_regs), with a breakpoint on the instruction
/// after the `syscall` (the entry stop's PC, which the thread has not executed yet): the call
/// runs and its exit is reported, then the breakpoint is hit there.
#[test]
fn breakpoint_after_the_syscall_is_hit_after_registers_written_at_its_entry() {
    for seccomp in [false, true] {
        let (p, _out) = launch_piped(&["bench", "0", "2"]);
        let flags = syscalls::ENTRY | syscalls::EXIT | if seccomp { syscalls::SECCOMP } else { 0 };
        p.trace_syscalls(Some(&[NR_WRITE]), flags).unwrap();
        let mut seen = Vec::new();
        let mut bp = None;
        for _ in 0..100 {
            let tid = match cont_and_wait(&p) {
                Ok((tid, _)) => tid,
                Err(Error::Exited) => break,
                Err(e) => panic!("{e} after {seen:?}"),
            };
            let cause = p.stop_cause(tid).unwrap();
            match cause.kind {
                CauseKind::SyscallEntry => {
                    let s = p.syscall_info(tid).unwrap();
                    if bp.is_none() {
                        p.add_breakpoint(s.pc).unwrap();
                        bp = Some(s.pc);
                    }
                    let r = p.get_regs(tid).unwrap();
                    p.set_regs(tid, &r).unwrap();
                    seen.push("entry".to_string());
                }
                CauseKind::SyscallExit => {
                    seen.push(format!("exit {}", p.syscall_info(tid).unwrap().ret))
                }
                CauseKind::Breakpoint => seen.push("breakpoint".to_string()),
                k => seen.push(format!("{k:?}")),
            }
        }
        assert_eq!(
            p.exit_status().unwrap().code,
            0,
            "seccomp {seccomp}: the writes wrote: {seen:?}"
        );
        assert_eq!(seen.pop().as_deref(), Some("ThreadExit"), "seccomp {seccomp}");
        assert_eq!(
            seen,
            ["entry", "exit 1", "breakpoint", "entry", "exit 1", "breakpoint"],
            "seccomp {seccomp}"
        );
    }
}

/// A step from a syscall entry stop runs the call and ends after it with a step trap: the
/// kernel makes no exit stop for it. The call must not stay "entered": if it did, the exit stop
/// of a later call whose entry was not seen (here a fork made by stepping its `syscall`, whose
/// exit comes at the next continue) would be taken for that call's exit: the first getppid's
/// number and arguments, the fork's result.
#[test]
fn a_call_left_by_a_step_does_not_name_a_later_exit() {
    const NR_FORK: u64 = 57;
    let (p, _out) = launch_piped(&["bp-syscall", "3"]);
    p.trace_syscalls(Some(&[NR_GETPPID]), syscalls::ENTRY | syscalls::EXIT).unwrap();
    let (tid, kind) = cont_and_wait(&p).unwrap();
    assert_eq!(kind, CauseKind::SyscallEntry);
    let site = p.syscall_info(tid).unwrap().pc - 2; // the `syscall` instruction
    p.step(tid).unwrap(); // the getppid runs; no exit stop
    for _ in 0..1000 {
        if p.get_regs(tid).unwrap().rip == site {
            break;
        }
        p.step(tid).unwrap();
    }
    let mut r = p.get_regs(tid).unwrap();
    assert_eq!(r.rip, site, "back at the `syscall` by single steps");
    r.rax = NR_FORK; // this one forks (the child returns 0 and exits 3, untraced)
    p.set_regs(tid, &r).unwrap();
    p.step(tid).unwrap(); // ends at the fork event, inside the call
    let mut seen = Vec::new();
    loop {
        match cont_and_wait(&p) {
            Ok((t, CauseKind::SyscallEntry | CauseKind::SyscallExit)) => {
                let s = p.syscall_info(t).unwrap();
                seen.push((s.number, s.is_exit));
                if s.is_exit {
                    assert!(s.ret > 0 && s.ret != 0x7fff_ffff, "{s:?}");
                    let r = p.get_regs(t).unwrap();
                    assert_eq!(s.args, [r.rdi, r.rsi, r.rdx, r.r10, r.r8, r.r9], "{s:?}");
                }
            }
            Ok((_, CauseKind::ThreadExit)) => {}
            Ok((t, CauseKind::Signal)) => {
                let sig = p.stop_cause(t).unwrap().signal;
                assert_eq!(sig, libc::SIGCHLD, "the child's end, nothing else: {seen:?}");
            }
            Ok(other) => panic!("unexpected stop {other:?} after {seen:?}"),
            Err(Error::Exited) => break,
            Err(e) => panic!("{e} after {seen:?}"),
        }
    }
    assert_eq!(p.exit_status().unwrap().code, 0);
    let g = NR_GETPPID as i64;
    // The third getppid (the second `syscall` became the fork): the fork's exit is untraced.
    assert_eq!(seen, [(g, false), (g, true)], "the fork's exit is not the getppid's");
}
