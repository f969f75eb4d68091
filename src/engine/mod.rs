//! The engine: one monitor thread per traced process issues every ptrace call.
#![forbid(unsafe_code)]

pub mod error;
pub use error::{Error, Result};
