//! Threads that die while the library still believes them stopped, and threads that exit:
//! what callers see must be one of the documented outcomes, never an OS error, and an exited
//! thread must leave the table within a bounded time. Every wait here is bounded; every test
//! of a wait runs under its own short deadline, so a wait that never returns fails fast, named.

mod common;

use common::*;
use ptrace_dbg::engine::{CauseKind, Error, Process, ThreadState};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

/// Runs `f` on a new host thread; fails the test, naming `what`, if it has not returned
/// within `limit` (the hung thread is left behind; the test process ends with the failure).
fn within<T: Send + 'static>(
    limit: Duration,
    what: &str,
    f: impl FnOnce() -> T + Send + 'static,
) -> T {
    let (tx, rx) = mpsc::channel();
    let h = std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(limit) {
        Ok(v) => {
            h.join().unwrap();
            v
        }
        Err(mpsc::RecvTimeoutError::Disconnected) => match h.join() {
            Err(p) => std::panic::resume_unwind(p),
            Ok(()) => unreachable!(),
        },
        Err(mpsc::RecvTimeoutError::Timeout) => {
            panic!("{what}: did not return within {limit:?}")
        }
    }
}

/// Launches `spin 3` (main and three threads spinning in user code) and stops it with all
/// four threads known.
fn four_stopped_threads() -> Process {
    let p = launch(&["spin", "3"]);
    let deadline = Instant::now() + WAIT;
    loop {
        assert!(Instant::now() < deadline, "spin 3 did not show 4 threads");
        cont_and_wait(&p).expect("run to the next thread creation");
        if p.threads().unwrap().len() == 4 {
            break;
        }
    }
    // Let the threads run into their loops (not a wait for a state: any stop point will do).
    p.cont().unwrap();
    std::thread::sleep(Duration::from_millis(2));
    p.stop().unwrap();
    p
}

/// What a call through a dying thread may answer: success, the thread is gone, the process
/// is gone. Any other error (an OS error above all) is a wrong classification.
fn acceptable<T>(r: &Result<T, Error>) -> bool {
    matches!(r, Ok(_) | Err(Error::NoSuchThread(_)) | Err(Error::Exited))
}

#[derive(Default, Debug)]
struct Tally {
    ok: usize,
    no_such_thread: usize,
    exited: usize,
    step_of_exiting: usize,
}

impl Tally {
    fn count<T>(&mut self, what: &str, r: &Result<T, Error>) {
        match r {
            Ok(_) => self.ok += 1,
            Err(Error::NoSuchThread(_)) => self.no_such_thread += 1,
            Err(Error::Exited) => self.exited += 1,
            Err(e) => panic!("{what}: {e:?} (only OK, NO_SUCH_THREAD or EXITED may answer)"),
        }
    }
}

/// Stops 4 threads, SIGKILLs the process from outside (not through the library, which would
/// know), then at once works on every thread it believes stopped: registers read and written,
/// a step over a breakpoint, memory read. Many rounds, so the calls land both before and after
/// the monitor learns of the deaths; the ESRCH the kernel answers in between must come out as
/// NoSuchThread, never as an OS error.
#[test]
fn calls_on_threads_killed_behind_the_librarys_back_are_no_such_thread_or_exited() {
    let mut tally = Tally::default();
    for round in 0..40 {
        let p = Arc::new(four_stopped_threads());
        let pid = p.pid();
        let tids = p.threads().unwrap();
        let regs: Vec<_> = tids.iter().map(|&t| p.get_regs(t).unwrap()).collect();
        if round % 4 == 1 {
            // A breakpoint under one thread's PC: step must lift it, step, restore it.
            p.add_breakpoint(regs[1].rip).unwrap();
        }
        // SAFETY: kill(2) on our own launched child's pid.
        assert_eq!(unsafe { libc::kill(pid, libc::SIGKILL) }, 0);
        for pass in 0..3 {
            for (i, &tid) in tids.iter().enumerate() {
                let what = format!("round {round} pass {pass} thread {tid}");
                match (round + i) % 4 {
                    0 => tally.count(&format!("{what} get_regs"), &p.get_regs(tid)),
                    1 => {
                        let r = within(Duration::from_secs(5), "step of a killed thread", {
                            let p = p.clone();
                            move || p.step(tid)
                        });
                        // A thread the monitor has seen in its exit stop is a thread still,
                        // but one that cannot be stepped: BadState, as for any exiting thread.
                        if matches!(&r, Err(Error::BadState(m)) if m.contains("exiting")) {
                            let state = p.thread_state(tid);
                            assert!(
                                matches!(
                                    state,
                                    Ok(ThreadState::StoppedExiting | ThreadState::Exiting)
                                        | Err(Error::NoSuchThread(_) | Error::Exited)
                                ),
                                "{what} step: {r:?} but the thread is {state:?}"
                            );
                            tally.step_of_exiting += 1;
                            continue;
                        }
                        tally.count(&format!("{what} step"), &r)
                    }
                    2 => tally.count(&format!("{what} set_regs"), &p.set_regs(tid, &regs[i])),
                    _ => {
                        let mut buf = [0u8; 16];
                        let r = p.peek(tid, regs[i].rsp, &mut buf).map_err(|(_, e)| e);
                        tally.count(&format!("{what} peek"), &r)
                    }
                }
            }
        }
        // The process is gone in the end, whatever the calls saw.
        // (Threads the monitor saw in their exit stops hold the process stopped: continue.)
        let end = within(Duration::from_secs(10), "continuing a killed process to its end", {
            let p = p.clone();
            move || loop {
                match p.cont().and_then(|()| p.wait_stop(Some(WAIT))) {
                    Ok(_) => continue,
                    r => break r,
                }
            }
        });
        assert!(matches!(end, Err(Error::Exited)), "round {round}: {end:?}");
        assert!(acceptable(&p.get_regs(tids[0])));
    }
    eprintln!("calls on killed threads: {tally:?}");
    let total = tally.ok + tally.no_such_thread + tally.exited + tally.step_of_exiting;
    assert_eq!(total, 40 * 3 * 4, "every call classified: {tally:?}");
}

/// After a thread's exit event and a continue, the thread leaves the table within a bounded
/// time: thread_state says NoSuchThread and threads() no longer lists it. `churn 1` keeps
/// creating and joining short-lived threads, so the process itself lives on; 20 exits.
#[test]
fn an_exited_thread_is_no_such_thread_and_unlisted_soon_after_its_exit_event() {
    let p = Arc::new(launch(&["churn", "1"]));
    let pid = p.pid();
    let mut exits = 0;
    while exits < 20 {
        let (tid, kind) = within(Duration::from_secs(10), "cont_and_wait on churn", {
            let p = p.clone();
            move || cont_and_wait(&p)
        })
        .unwrap();
        if kind != CauseKind::ThreadExit || tid == pid {
            continue;
        }
        exits += 1;
        assert_eq!(p.thread_state(tid).unwrap(), ThreadState::StoppedExiting);
        assert!(p.threads().unwrap().contains(&tid), "{tid} unlisted before it exited");
        p.cont().unwrap();
        // Polls the library's own view (no state is assumed after a sleep): the thread's
        // final wait status is the monitor's to collect at any time from here on, whether the
        // process runs or stops again meanwhile.
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let state = p.thread_state(tid);
            let listed = p.threads().unwrap().contains(&tid);
            if matches!(state, Err(Error::NoSuchThread(t)) if t == tid) && !listed {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "thread {tid}, continued from its exit stop, still known after 5 s: state \
                 {state:?}, listed by threads(): {listed}"
            );
            std::thread::yield_now();
        }
        // Whatever stopped the process meanwhile is answered by the next cont_and_wait; a
        // process still running is stopped first so that cont succeeds.
        if p.wait_stop(Some(Duration::ZERO)).is_err() {
            p.stop().unwrap();
        }
    }
}
