//! The library's version at run time; the header carries the same numbers as
//! `PTRACE_DBG_VERSION_MAJOR/_MINOR/_PATCH` (written by build.rs from Cargo.toml).

use std::ffi::{c_char, CStr};

/// The version from Cargo.toml, NUL-terminated for C.
const VERSION: &CStr =
    match CStr::from_bytes_with_nul(concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes()) {
        Ok(version) => version,
        Err(_) => panic!("the package version holds a NUL"),
    };

/// The library's version, `"MAJOR.MINOR.PATCH"`, a static string. Compare it with the
/// `PTRACE_DBG_VERSION_*` macros to see whether the library loaded at run time is the one
/// compiled against.
///
/// Callable any time from any thread; never fails.
#[no_mangle]
pub extern "C" fn ptrace_dbg_version() -> *const c_char {
    VERSION.as_ptr()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_is_the_package_version() {
        // SAFETY: a static NUL-terminated string.
        let version = unsafe { CStr::from_ptr(ptrace_dbg_version()) };
        let expected = format!(
            "{}.{}.{}",
            env!("CARGO_PKG_VERSION_MAJOR"),
            env!("CARGO_PKG_VERSION_MINOR"),
            env!("CARGO_PKG_VERSION_PATCH")
        );
        assert_eq!(version.to_str().unwrap(), expected);
    }
}
