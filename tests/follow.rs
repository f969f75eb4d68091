//! Following the program into its children (issue 17): fork, vfork, posix_spawn, system(),
//! a shell pipeline, exec in a child, grandchildren, forks from several threads, children that
//! die or whose parent dies first, children never taken. Every process of a family is driven
//! by a thread of its own here; what each saw is checked against what the kernel says (exit
//! statuses, /proc TracerPid, the bytes in memory).

mod common;

use common::*;
use ptrace_dbg::engine::{CauseKind, Error, ExitStatus, LaunchOptions, Process, ThreadState};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

const FOLLOW_FORK: u32 = 1;

fn family() -> PathBuf {
    build_tracee("family")
}

fn launch_family(args: &[&str]) -> Process {
    let mut opts = LaunchOptions::new();
    opts.argv = std::iter::once("family").chain(args.iter().copied()).map(Into::into).collect();
    Process::launch(&family(), &opts).expect("launch family")
}

/// What one process of a family did, as its driver saw it.
#[derive(Debug, Clone)]
struct Seen {
    pid: i32,
    hits: usize,
    /// Children taken at its fork stops.
    children: Vec<i32>,
    execs: usize,
    exit: ExitStatus,
}

/// Whether `pid` runs the family program now (to set the breakpoint after an exec).
fn runs_family(pid: i32) -> bool {
    let exe = std::fs::canonicalize(family()).unwrap();
    std::fs::read_link(format!("/proc/{pid}/exe")).map(|e| e == exe).unwrap_or(false)
}

/// Sets the breakpoint on `hit` if the process runs the family program.
fn break_on_hit(p: &Process) {
    if runs_family(p.pid()) {
        p.add_breakpoint(program_symbol(&family(), p.pid(), "hit")).unwrap();
    }
}

/// Runs `p` to its exit: counts breakpoint hits (every thread stopped at one, per stop), takes
/// every child offered (driven by a thread of its own in `scope`), sets the breakpoint again
/// after an exec. Sends what it saw on `tx`.
fn drive<'s>(
    scope: &'s std::thread::Scope<'s, '_>,
    p: Process,
    tx: mpsc::Sender<Seen>,
    take: bool,
) {
    let mut seen = Seen {
        pid: p.pid(),
        hits: 0,
        children: Vec::new(),
        execs: 0,
        exit: ExitStatus { code: -2, signal: 0 },
    };
    for _ in 0..100_000 {
        p.cont().unwrap_or_else(|e| panic!("continue {}: {e}", p.pid()));
        match p.wait_stop(Some(WAIT)) {
            Ok(_) => {}
            Err(Error::Exited) => {
                seen.exit = p.exit_status().unwrap();
                tx.send(seen).unwrap();
                return;
            }
            Err(e) => panic!("wait_stop {}: {e}", p.pid()),
        }
        for tid in p.threads().unwrap() {
            let cause = p.stop_cause(tid).unwrap();
            match cause.kind {
                CauseKind::Breakpoint => seen.hits += 1,
                CauseKind::Fork if take => {
                    let child = p.take_child(cause.new_tid).expect("take_child");
                    assert_eq!(child.pid(), cause.new_tid);
                    assert_eq!(
                        traced_by(child.pid()),
                        traced_by(p.pid()),
                        "the child is traced by its parent's monitor thread"
                    );
                    seen.children.push(child.pid());
                    let tx = tx.clone();
                    scope.spawn(move || drive(scope, child, tx, take));
                }
                CauseKind::Fork => seen.children.push(cause.new_tid),
                CauseKind::Exec => {
                    seen.execs += 1;
                    break_on_hit(&p);
                }
                _ => {}
            }
        }
    }
    panic!("process {} did not exit", p.pid());
}

/// Follows a whole family from `root` (breakpoint on `hit` in every process running the family
/// program); returns what every process saw, by pid.
fn run_family(root: Process, take: bool) -> BTreeMap<i32, Seen> {
    root.set_follow(FOLLOW_FORK).unwrap();
    break_on_hit(&root);
    let (tx, rx) = mpsc::channel();
    std::thread::scope(|s| {
        let tx2 = tx.clone();
        s.spawn(move || drive(s, root, tx2, take));
    });
    drop(tx);
    rx.iter().map(|seen| (seen.pid, seen)).collect()
}

/// The TracerPid of `pid` (0: untraced; None: gone).
fn traced_by(pid: i32) -> Option<i64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find_map(|l| l.strip_prefix("TracerPid:")).map(|v| v.trim().parse().unwrap())
}

fn exited(code: i32) -> ExitStatus {
    ExitStatus { code, signal: 0 }
}

#[test]
fn three_forked_children_each_counted_exactly() {
    const N: usize = 20;
    let root = launch_family(&["forks", "3", &N.to_string()]);
    let pid = root.pid();
    let seen = run_family(root, true);
    assert_eq!(seen.len(), 4, "the parent and 3 children: {seen:?}");
    let parent = &seen[&pid];
    assert_eq!(parent.hits, N, "{seen:?}");
    assert_eq!(parent.exit, exited(0), "the parent saw every child exit with its code");
    assert_eq!(parent.children.len(), 3);
    for (i, c) in parent.children.iter().enumerate() {
        // Children are offered in fork order: child i hits N*(i+1) times, exits 10+i.
        assert_eq!(seen[c].hits, N * (i + 1), "child {i} ({c})");
        assert_eq!(seen[c].exit, exited(10 + i as i32), "child {i} ({c})");
    }
}
