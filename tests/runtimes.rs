//! Programs nobody here wrote, run to completion under the engine: a JVM (many threads, lives on
//! SIGSEGV for null checks and safepoints), CPython with threads, and node. Each must print its
//! right output and exit 0 with every stop continued (signals delivered).

mod common;

use common::*;
use ptrace_dbg::engine::{CauseKind, LaunchOptions, Process};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::Command;

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
