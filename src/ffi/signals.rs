//! Signal names, for printing stop causes.

use std::ffi::{c_char, CStr};

/// Names of signals 1 to 64 on x86-64 Linux; real-time signals as gdb names them.
const SIGNAL_NAMES: [&CStr; 64] = [
    c"SIGHUP",
    c"SIGINT",
    c"SIGQUIT",
    c"SIGILL",
    c"SIGTRAP",
    c"SIGABRT",
    c"SIGBUS",
    c"SIGFPE",
    c"SIGKILL",
    c"SIGUSR1",
    c"SIGSEGV",
    c"SIGUSR2",
    c"SIGPIPE",
    c"SIGALRM",
    c"SIGTERM",
    c"SIGSTKFLT",
    c"SIGCHLD",
    c"SIGCONT",
    c"SIGSTOP",
    c"SIGTSTP",
    c"SIGTTIN",
    c"SIGTTOU",
    c"SIGURG",
    c"SIGXCPU",
    c"SIGXFSZ",
    c"SIGVTALRM",
    c"SIGPROF",
    c"SIGWINCH",
    c"SIGIO",
    c"SIGPWR",
    c"SIGSYS",
    c"SIG32",
    c"SIG33",
    c"SIG34",
    c"SIG35",
    c"SIG36",
    c"SIG37",
    c"SIG38",
    c"SIG39",
    c"SIG40",
    c"SIG41",
    c"SIG42",
    c"SIG43",
    c"SIG44",
    c"SIG45",
    c"SIG46",
    c"SIG47",
    c"SIG48",
    c"SIG49",
    c"SIG50",
    c"SIG51",
    c"SIG52",
    c"SIG53",
    c"SIG54",
    c"SIG55",
    c"SIG56",
    c"SIG57",
    c"SIG58",
    c"SIG59",
    c"SIG60",
    c"SIG61",
    c"SIG62",
    c"SIG63",
    c"SIG64",
];

/// The name of signal `signo`: `"SIGSEGV"` for 11; real-time signals 32 to 64 are
/// `"SIG32"` to `"SIG64"`; anything else (0, negative, above 64) is `"<invalid>"`.
///
/// A static string. Callable any time from any thread; never fails.
#[no_mangle]
pub extern "C" fn ptrace_dbg_signal_name(signo: i32) -> *const c_char {
    let name = usize::try_from(signo)
        .ok()
        .and_then(|n| n.checked_sub(1))
        .and_then(|i| SIGNAL_NAMES.get(i));
    name.map_or(c"<invalid>", |name| name).as_ptr()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(signo: i32) -> &'static str {
        // SAFETY: signal_name returns static NUL-terminated strings.
        unsafe { CStr::from_ptr(ptrace_dbg_signal_name(signo)) }.to_str().unwrap()
    }

    #[test]
    fn names_match_the_kernel_numbers() {
        let cases = [
            (libc::SIGHUP, "SIGHUP"),
            (libc::SIGBUS, "SIGBUS"),
            (libc::SIGSEGV, "SIGSEGV"),
            (libc::SIGSTKFLT, "SIGSTKFLT"),
            (libc::SIGCHLD, "SIGCHLD"),
            (libc::SIGSTOP, "SIGSTOP"),
            (libc::SIGPWR, "SIGPWR"),
            (libc::SIGSYS, "SIGSYS"),
            (32, "SIG32"),
            (50, "SIG50"),
            (64, "SIG64"),
        ];
        for (signo, expected) in cases {
            assert_eq!(name(signo), expected, "signal {signo}");
        }
    }

    #[test]
    fn out_of_range_numbers_are_invalid() {
        for signo in [0, -1, 65, i32::MIN, i32::MAX] {
            assert_eq!(name(signo), "<invalid>", "signal {signo}");
        }
    }
}
