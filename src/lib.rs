//! ptrace_dbg: a Linux process-tracing engine with a C ABI.
//!
//! Layers, one direction of dependence: `ffi` (the C boundary) -> `engine` (the monitor
//! thread and the all-stop state machine) -> `sys` (thin syscall wrappers, x86-64 specifics).
//! The Rust API of the engine (`engine::Process`) is public so integration tests drive it
//! directly; C users see only the `ptrace_dbg_*` functions of `ffi`.

#![deny(unsafe_op_in_unsafe_fn)]

pub mod engine;
pub mod ffi;
pub mod sys;
