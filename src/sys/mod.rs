//! The sys layer: thin wrappers over ptrace, wait, signals, `/proc`, process creation and
//! process memory. Nothing here keeps state; every function returns `Result<_, Errno>`.

pub mod arch;
pub mod debugreg;
pub mod fork;
pub mod maps;
pub mod mem;
pub mod procfs;
pub mod ptrace;
pub mod relocate;
pub mod signal;
pub mod spawn;
pub mod time;
pub mod wait;
pub mod x86;
pub mod xstate;
