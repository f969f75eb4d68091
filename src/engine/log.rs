//! Trace logging, off unless `PTRACE_DBG_LOG` is `trace` or `debug` in the environment.
//! The library prints nothing otherwise: it is a guest in its host's process.

use once_cell::sync::Lazy;
use std::io::Write;

/// Whether logging was asked for (read once, at first use).
pub static ENABLED: Lazy<bool> =
    Lazy::new(|| matches!(std::env::var("PTRACE_DBG_LOG").as_deref(), Ok("trace") | Ok("debug")));

/// Writes one line to stderr; a failing stderr is ignored (never a panic in the host).
pub fn line(args: std::fmt::Arguments<'_>) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "ptrace_dbg: {args}");
}

/// `trace!("format", args...)`: one line to stderr when logging is enabled.
macro_rules! trace {
    ($($arg:tt)*) => {
        if *$crate::engine::log::ENABLED {
            $crate::engine::log::line(format_args!($($arg)*));
        }
    };
}
pub(crate) use trace;
