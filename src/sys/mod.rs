//! The sys layer: thin wrappers over ptrace, wait, signals, `/proc` and process memory.
//! Nothing here keeps state; every function returns `Result<_, Errno>`.

pub mod arch;
