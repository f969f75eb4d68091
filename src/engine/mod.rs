//! The engine: Go's debug/proc process model for Linux, in Rust.
//!
//! One monitor thread per family of traced processes (a process and the children taken from
//! it) issues every ptrace call (`monitor`); the thread
//! table and the ptrace algorithms it runs live in `tracer`; `Process` is the API any host
//! thread calls. No unsafe code here: the system calls are in `crate::sys`.
#![forbid(unsafe_code)]

pub mod breakpoints;
pub mod ending;
pub mod error;
pub(crate) mod log;
pub mod monitor;
pub mod process;
pub mod records;
pub mod solib;
pub mod symbols;
pub mod syscalls;
pub mod thread;
pub mod tracer;
pub mod watchpoints;
pub mod xregs;

pub use error::{Error, Result};
pub use process::{LaunchOptions, Process};
pub use thread::{Cause, CauseKind, ThreadState};
pub use tracer::{ExitStatus, RunState};
pub use watchpoints::WatchKind;
