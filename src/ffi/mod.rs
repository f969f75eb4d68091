//! The C ABI: every `ptrace_dbg_*` function, the `#[repr(C)]` types and the constants of
//! `include/ptrace_dbg.h`. cbindgen reads only this folder. No ptrace here: an exported
//! function checks its arguments, looks up its handle, calls the engine and maps the result.
//!
//! # Writing an exported function
//! - Run the whole body in [`panic::boundary`] (returns a result code) or
//!   [`panic::boundary_or`] (returns a pointer, size or nothing, with a default on failure),
//!   so no panic reaches C and every failure sets this thread's `ptrace_dbg_last_error()`.
//! - The body returns `Result<_, error::Failure>`; an `engine::Error` converts with `?`
//!   through [`error::code_of`], the one mapping from engine errors to codes.
//! - Check pointers with [`args`] (`out`, `optional_out`, `input`, `c_str`, `slice`,
//!   `slice_mut`) and integers with `args::flags` / `args::index`; failures name the argument.
//! - Look handles up in a [`handle::Registry`]; a bad handle is `PTRACE_DBG_E_INVALID_HANDLE`.
//! - Write out-parameters last, only on success.
//! - Functions taking pointers are `unsafe extern "C"` with a `# Safety` section; each
//!   `unsafe` block says why it is sound in a `// SAFETY:` comment.
//! - The doc comment becomes the header's: say what the function does, when it may be
//!   called, and which codes it returns.
//!
//! ```ignore
//! static PROCESSES: Registry<engine::Process, ptrace_dbg_process> = Registry::new("process");
//!
//! /// The process id of the traced process. Returns `PTRACE_DBG_OK`,
//! /// `PTRACE_DBG_E_INVALID_HANDLE` or `PTRACE_DBG_E_INVALID_ARGUMENT` (NULL `out`).
//! ///
//! /// # Safety
//! /// `out` must be NULL or writable.
//! #[no_mangle]
//! pub unsafe extern "C" fn ptrace_dbg_pid(p: *const ptrace_dbg_process, out: *mut i32) -> c_int {
//!     boundary(|| {
//!         let process = PROCESSES.get(p)?;
//!         // SAFETY: the caller promises `out` is NULL or writable.
//!         let out = unsafe { args::out(out, "out") }?;
//!         out.write(process.pid()?);
//!         Ok(())
//!     })
//! }
//! ```
#![warn(clippy::undocumented_unsafe_blocks)]
// The C names (ptrace_dbg_process, ...) are the contract, not Rust style.
#![allow(non_camel_case_types)]

pub mod args;
pub mod codes;
pub mod error;
pub mod handle;
pub mod launch;
pub mod panic;
pub mod regs;
pub mod signals;
pub mod types;
pub mod version;

// The functions that drive a process, in the order the header shows them (cbindgen follows
// the module order; the blank lines keep rustfmt from sorting them).
// Process lifecycle: attach, launch, detach, kill, free.
pub mod process;

// Run control and thread queries.
pub mod run;

// Breakpoints, registers, memory.
pub mod debug;

// Memory maps, symbols, loaded libraries, breakpoints by name.
pub mod symbols;
// Registers beyond ptrace_dbg_regs: x87/SSE, the XSAVE area, any register by name.
pub mod xregs;

// Hardware watchpoints.
pub mod watch;

// Following children.
pub mod follow;

// Hits at scale: tracepoints and records, breakpoint conditions, range stepping.
pub mod trace;
// System-call stops.
pub mod syscalls;
