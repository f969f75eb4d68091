//! The errno -> result code mapping, one table per class of call site, read as C callers see
//! it (engine error, then `ffi::error::code_of`). A ptrace request on a thread believed
//! stopped, a seize, any other system call, and tracee memory each classify errnos their own
//! way; an ESRCH taken for an OS error (issue 19) is the kind of slip these tables catch.

use super::{attach_error, thread_error};
use crate::engine::breakpoints::{Breakpoints, Memory};
use crate::engine::Error;
use crate::ffi::codes::*;
use crate::ffi::error::code_of;
use crate::sys::mem::MemFile;
use nix::errno::Errno;

/// Errnos worth a row in every table: the ones each class treats specially, and a spread of
/// others that must fall through to the general answer.
const OTHERS: [Errno; 8] = [
    Errno::EIO,
    Errno::EFAULT,
    Errno::EINVAL,
    Errno::EBUSY,
    Errno::ENOMEM,
    Errno::EAGAIN,
    Errno::ECHILD,
    Errno::ENOENT,
];

fn check(class: &str, rows: &[(Errno, i32)], map: impl Fn(Errno) -> Error) {
    for &(errno, want) in rows {
        let error = map(errno);
        assert_eq!(code_of(&error), want, "{class}: {errno:?} became {error:?}");
    }
}

fn rows(special: &[(Errno, i32)], rest: i32) -> Vec<(Errno, i32)> {
    let mut v = special.to_vec();
    v.extend(OTHERS.iter().filter(|e| !special.iter().any(|(s, _)| s == *e)).map(|&e| (e, rest)));
    v
}

#[test]
fn a_ptrace_request_on_a_stopped_thread() {
    // GETREGS, SETREGS, the PC read before a step: ESRCH means the thread died meanwhile.
    let table = rows(
        &[
            (Errno::ESRCH, PTRACE_DBG_E_NO_SUCH_THREAD),
            (Errno::EPERM, PTRACE_DBG_E_PERMISSION),
            (Errno::EACCES, PTRACE_DBG_E_PERMISSION),
        ],
        PTRACE_DBG_E_OS,
    );
    check("thread request", &table, |e| thread_error(1234, "ptrace(PTRACE_GETREGS)", e));
    assert!(matches!(thread_error(1234, "x", Errno::ESRCH), Error::NoSuchThread(1234)));
}

#[test]
fn a_seize() {
    let table = rows(
        &[
            (Errno::ESRCH, PTRACE_DBG_E_NO_SUCH_PROCESS),
            (Errno::EPERM, PTRACE_DBG_E_PERMISSION),
            (Errno::EACCES, PTRACE_DBG_E_PERMISSION),
        ],
        PTRACE_DBG_E_OS,
    );
    check("seize", &table, |e| attach_error(i32::MAX, e));
}

#[test]
fn any_other_system_call() {
    // eventfd, fork, kill, waitpid, reading /proc: only permission errors are told apart.
    let table = rows(
        &[
            (Errno::ESRCH, PTRACE_DBG_E_OS),
            (Errno::EPERM, PTRACE_DBG_E_PERMISSION),
            (Errno::EACCES, PTRACE_DBG_E_PERMISSION),
        ],
        PTRACE_DBG_E_OS,
    );
    check("system call", &table, |e| Error::os("kill(SIGKILL)", e));
}

#[test]
fn tracee_memory() {
    // Opening /proc/PID/mem of a process that is gone: EXITED (ENOENT from the kernel).
    let gone = Memory::new(i32::MAX);
    let mut buf = [0u8; 8];
    assert!(matches!(gone.read(0x1000, &mut buf), Err((0, Error::Exited))));
    assert!(matches!(gone.write(0x1000, &buf), Err((0, Error::Exited))));
    // An address that is not mapped: FAULT, whatever errno the transfer stopped with, for
    // reads, writes and breakpoints alike.
    let me = Memory::new(std::process::id() as i32);
    let r = me.read(0x10, &mut buf);
    assert!(matches!(r, Err((0, Error::Fault { addr: 0x10, done: 0, .. }))), "{r:?}");
    assert_eq!(code_of(&r.unwrap_err().1), PTRACE_DBG_E_FAULT);
    let w = me.write(0x10, &buf);
    assert!(matches!(w, Err((0, Error::Fault { .. }))), "{w:?}");
    let file = MemFile::open(std::process::id() as i32).unwrap();
    let b = Breakpoints::default().add(&file, 0x10);
    assert!(matches!(b, Err(Error::Fault { addr: 0x10, .. })), "{b:?}");
    // A range wrapping around the address space is the caller's mistake.
    let r = me.read(u64::MAX - 2, &mut buf);
    assert!(matches!(&r, Err((0, e)) if code_of(e) == PTRACE_DBG_E_INVALID_ARGUMENT), "{r:?}");
}
