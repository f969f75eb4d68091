//! Programs nobody here wrote, run to completion under the engine: a JVM (many threads, lives on
//! SIGSEGV for null checks and safepoints), CPython with threads, and node. Each must print its
//! right output and exit 0 with every stop continued (signals delivered).

mod common;

use common::*;
use ptrace_dbg::engine::{CauseKind, Error, LaunchOptions, Process};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// Runs a launched program to its entry point (its libraries mapped by then), sets breakpoints
/// on libc's `write` and `writev`, and runs it to its exit through stop/continue cycles (the
/// first `cycles` with some requested stops, then the program's own events), reading every
/// thread's registers at each stop. Returns the breakpoint hits seen.
fn exercise(p: &Process, cycles: usize) -> usize {
    let entry = entry_point(p.pid());
    p.add_breakpoint(entry).unwrap();
    loop {
        let (tid, kind) = cont_and_wait(p).unwrap();
        if kind == CauseKind::Breakpoint && p.get_regs(tid).unwrap().rip == entry {
            break;
        }
    }
    p.remove_breakpoint(entry).unwrap();
    let targets: Vec<u64> =
        ["write", "writev"].iter().map(|f| library_symbol(p.pid(), "libc.so", f)).collect();
    for &t in &targets {
        p.add_breakpoint(t).unwrap();
    }
    let mut hits = 0;
    for cycle in 0..100_000 {
        p.cont().unwrap();
        let stopped = if cycle < cycles && cycle % 3 == 2 {
            p.stop() // the program may exit before it takes effect: Exited
        } else {
            p.wait_stop(Some(WAIT)).map(|_| ())
        };
        match stopped {
            Ok(()) => {}
            Err(Error::Exited) => return hits,
            Err(e) => panic!("{e}"),
        }
        for tid in p.threads().unwrap() {
            let regs = p.get_regs(tid).unwrap();
            assert!(regs.rsp != 0 && regs.rip != 0, "thread {tid}: {regs:?}");
            if p.stop_cause(tid).unwrap().kind == CauseKind::Breakpoint {
                assert!(targets.contains(&regs.rip));
                hits += 1;
            }
        }
    }
    panic!("no exit after 100000 stops");
}

/// Launches `program args` with stdout to a pipe, runs it to exit, and returns (stdout's first
/// line, the stop causes seen).
fn run_traced(program: &str, args: &[&str]) -> (String, Vec<(i32, CauseKind)>, i32) {
    let (mut r, w) = pipe();
    let mut opts = LaunchOptions::new();
    opts.argv = std::iter::once(program).chain(args.iter().copied()).map(Into::into).collect();
    opts.stdio[1] = w.as_raw_fd();
    let p = Process::launch(Path::new(program), &opts).expect("launch");
    drop(w);
    // Every stopped thread's cause at every stop (not only the trigger's).
    let mut events = Vec::new();
    loop {
        match cont_and_wait(&p) {
            Ok(_) => {
                for tid in p.threads().unwrap() {
                    if let Ok(c) = p.stop_cause(tid) {
                        events.push((tid, c.kind));
                    }
                }
            }
            Err(ptrace_dbg::engine::Error::Exited) => break,
            Err(e) => panic!("{program}: {e}"),
        }
    }
    let status = p.exit_status().unwrap();
    assert_eq!(status.signal, 0, "{program} killed by signal {}", status.signal);
    (read_line(&mut r, WAIT).unwrap_or_default(), events, status.code)
}

fn have(program: &str) -> bool {
    Command::new(program).arg("--version").output().map(|o| o.status.success()).unwrap_or(false)
}

#[test]
fn jvm_runs_to_completion_with_its_signals_delivered() {
    assert!(have("java") || Command::new("java").arg("-version").output().is_ok(), "java missing");
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("java");
    std::fs::create_dir_all(&dir).unwrap();
    let src = dir.join("Hello.java");
    std::fs::write(
        &src,
        r#"public class Hello {
    public static void main(String[] args) throws Exception {
        Thread[] ts = new Thread[4];
        long[] sums = new long[4];
        for (int i = 0; i < 4; i++) {
            final int k = i;
            ts[i] = new Thread(() -> { long s = 0; for (int j = 0; j < 2_000_000; j++) s += j % (k + 3); sums[k] = s; });
            ts[i].start();
        }
        for (Thread t : ts) t.join();
        Object o = null;
        int npe = 0;
        for (int i = 0; i < 1000; i++) { try { o.hashCode(); } catch (NullPointerException e) { npe++; } }
        System.out.println("sums " + sums[0] + " " + sums[3] + " npe " + npe);
    }
}
"#,
    )
    .unwrap();
    let st = Command::new("javac").arg("-d").arg(&dir).arg(&src).status().expect("javac");
    assert!(st.success());
    let (line, events, code) = run_traced("java", &["-cp", dir.to_str().unwrap(), "Hello"]);
    assert_eq!(line, "sums 1999999 4999996 npe 1000");
    assert_eq!(code, 0);
    let threads = events.iter().filter(|e| e.1 == CauseKind::ThreadCreate).count();
    assert!(threads >= 4, "the JVM's threads were seen created: {threads}");
}

#[test]
fn python_threads_run_to_completion() {
    let script = "import threading\n\
        out = []\n\
        def work(k):\n    out.append(sum(i % (k + 2) for i in range(20000)))\n\
        ts = [threading.Thread(target=work, args=(k,)) for k in range(4)]\n\
        [t.start() for t in ts]\n[t.join() for t in ts]\n\
        print('total', sum(out))\n";
    let expected: u64 = (0..4u64).map(|k| (0..20000u64).map(|i| i % (k + 2)).sum::<u64>()).sum();
    let (line, events, code) = run_traced("python3", &["-c", script]);
    assert_eq!(line, format!("total {expected}"));
    assert_eq!(code, 0);
    let created = events.iter().filter(|e| e.1 == CauseKind::ThreadCreate).count();
    assert!(created >= 4, "{events:?}");
}

#[test]
fn node_runs_to_completion() {
    if !have("node") {
        panic!("node is not installed; .ci/run installs it");
    }
    let (line, _, code) = run_traced(
        "node",
        &["-e", "let s = 0; for (let i = 0; i < 1e6; i++) s += i % 7; console.log('sum', s)"],
    );
    let expected: u64 = (0..1_000_000u64).map(|i| i % 7).sum();
    assert_eq!(line, format!("sum {expected}"));
    assert_eq!(code, 0);
}

/// Launches `program args` (stdout to a pipe), exercises it (breakpoints on libc's write,
/// stop/continue cycles, every thread's registers), runs it to exit, and returns its first
/// output line, its exit code and the breakpoint hits.
fn launch_and_exercise(program: &str, args: &[&str]) -> (String, i32, usize) {
    let (mut r, w) = pipe();
    let mut opts = LaunchOptions::new();
    opts.argv = std::iter::once(program).chain(args.iter().copied()).map(Into::into).collect();
    opts.stdio[1] = w.as_raw_fd();
    let p = Process::launch(Path::new(program), &opts).expect("launch");
    drop(w);
    let hits = exercise(&p, 40);
    let status = p.exit_status().unwrap();
    assert_eq!(status.signal, 0, "{program} killed by signal {}", status.signal);
    (read_line(&mut r, WAIT).unwrap_or_default(), status.code, hits)
}

const PY_THREADS: &str = "import threading\n\
    out = []\n\
    def work(k):\n    out.append(sum(i % (k + 2) for i in range(20000)))\n\
    ts = [threading.Thread(target=work, args=(k,)) for k in range(4)]\n\
    [t.start() for t in ts]\n[t.join() for t in ts]\n\
    print('total', sum(out))\n";

fn py_expected() -> String {
    let total: u64 = (0..4u64).map(|k| (0..20000u64).map(|i| i % (k + 2)).sum::<u64>()).sum();
    format!("total {total}")
}

/// The real python3 binary (`python3` on PATH may be a shell shim that execs it, and an exec
/// drops every breakpoint).
fn python_executable() -> String {
    let out = Command::new("python3")
        .args(["-c", "import sys; print(sys.executable)"])
        .output()
        .expect("python3");
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

#[test]
fn python_with_breakpoints_on_libc_write_and_stop_cycles() {
    let python = python_executable();
    let (line, code, hits) = launch_and_exercise(&python, &["-c", PY_THREADS]);
    assert_eq!(line, py_expected());
    assert_eq!(code, 0);
    assert!(hits >= 1, "python's print reaches write");
}

#[test]
fn jvm_with_breakpoints_on_libc_write_and_stop_cycles() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("java-ex");
    std::fs::create_dir_all(&dir).unwrap();
    let src = dir.join("Sum.java");
    std::fs::write(&src, "public class Sum { public static void main(String[] a) { long s = 0; for (int i = 0; i < 1000000; i++) s += i % 7; System.out.println(\"sum \" + s); } }\n").unwrap();
    assert!(Command::new("javac").arg("-d").arg(&dir).arg(&src).status().unwrap().success());
    let (line, code, _) = launch_and_exercise("java", &["-cp", dir.to_str().unwrap(), "Sum"]);
    let expected: u64 = (0..1_000_000u64).map(|i| i % 7).sum();
    assert_eq!(line, format!("sum {expected}"));
    assert_eq!(code, 0);
}

#[test]
fn node_with_breakpoints_on_libc_write_and_stop_cycles() {
    let (line, code, _) = launch_and_exercise(
        "node",
        &["-e", "let s = 0; for (let i = 0; i < 1e6; i++) s += i % 7; console.log('sum', s)"],
    );
    let expected: u64 = (0..1_000_000u64).map(|i| i % 7).sum();
    assert_eq!(line, format!("sum {expected}"));
    assert_eq!(code, 0);
}

/// Attaches to a running program (spawned by the test, which said "ready" and then works a
/// while), sets a breakpoint on libc's write, goes through stop/continue cycles reading every
/// thread's registers, removes it, detaches, and checks the program's last line and exit 0.
fn attach_cycle_detach(mut cmd: Command, expected: &str) {
    let mut child = cmd.stdout(Stdio::piped()).spawn().expect("spawn");
    let pid = child.id() as i32;
    let mut out = child.stdout.take().unwrap();
    assert_eq!(read_line(&mut out, WAIT).as_deref(), Some("ready"));
    let p = Process::attach(pid).expect("attach");
    let write = library_symbol(pid, "libc.so", "write");
    p.add_breakpoint(write).unwrap();
    for _ in 0..20 {
        p.cont().unwrap();
        p.stop().unwrap();
        for tid in p.threads().unwrap() {
            assert!(p.get_regs(tid).unwrap().rsp != 0);
        }
    }
    p.remove_breakpoint(write).unwrap();
    p.detach().unwrap();
    drop(p);
    assert_eq!(read_line(&mut out, Duration::from_secs(60)).as_deref(), Some(expected));
    assert!(wait_pid_exit(pid, WAIT));
    assert_eq!(child.wait().unwrap().code(), Some(0));
}

#[test]
fn attach_to_running_python_threads_then_detach() {
    let script = format!(
        "import sys\nprint('ready', flush=True)\n{}",
        PY_THREADS.replace("range(20000)", "range(300000)")
    );
    let mut cmd = Command::new("python3");
    cmd.args(["-c", &script]);
    let total: u64 = (0..4u64).map(|k| (0..300000u64).map(|i| i % (k + 2)).sum::<u64>()).sum();
    attach_cycle_detach(cmd, &format!("total {total}"));
}

#[test]
fn attach_to_a_running_jvm_then_detach() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("java-attach");
    std::fs::create_dir_all(&dir).unwrap();
    let src = dir.join("Work.java");
    std::fs::write(
        &src,
        r#"public class Work {
    public static void main(String[] a) throws Exception {
        System.out.println("ready");
        System.out.flush();
        long[] sums = new long[4];
        Thread[] ts = new Thread[4];
        for (int k = 0; k < 4; k++) {
            final int n = k;
            ts[k] = new Thread(() -> { long s = 0; for (int i = 0; i < 50_000_000; i++) s += i % (n + 2); sums[n] = s; });
            ts[k].start();
        }
        for (Thread t : ts) t.join();
        System.out.println("sum " + (sums[0] + sums[1] + sums[2] + sums[3]));
    }
}
"#,
    )
    .unwrap();
    assert!(Command::new("javac").arg("-d").arg(&dir).arg(&src).status().unwrap().success());
    let mut cmd = Command::new("java");
    cmd.args(["-cp", dir.to_str().unwrap(), "Work"]);
    let total: u64 = (0..4u64).map(|k| sum_mod(50_000_000, k + 2)).sum();
    attach_cycle_detach(cmd, &format!("sum {total}"));
}

#[test]
fn attach_to_a_running_node_then_detach() {
    let mut cmd = Command::new("node");
    cmd.args([
        "-e",
        "console.log('ready'); let s = 0; for (let i = 0; i < 3e8; i++) s += i % 7; console.log('sum', s)",
    ]);
    let total = sum_mod(300_000_000, 7);
    attach_cycle_detach(cmd, &format!("sum {total}"));
}

/// The sum of `i % m` for `i` in `0..n`, in closed form.
fn sum_mod(n: u64, m: u64) -> u64 {
    let r = n % m;
    n / m * (m * (m - 1) / 2) + r * (r.saturating_sub(1)) / 2
}
