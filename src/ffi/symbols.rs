//! Memory maps, symbols, loaded libraries, library events and breakpoints by symbol name.

use super::args;
use super::codes::PTRACE_DBG_E_BUFFER_TOO_SMALL;
use super::error::Failure;
use super::panic::boundary;
use super::process::PROCESSES;
use super::types::ptrace_dbg_process;
use std::ffi::{c_char, c_int};

/// Mapping protection: readable.
pub const PTRACE_DBG_PROT_READ: u32 = 1;
/// Mapping protection: writable.
pub const PTRACE_DBG_PROT_WRITE: u32 = 2;
/// Mapping protection: executable.
pub const PTRACE_DBG_PROT_EXEC: u32 = 4;
/// Mapping flag: shared (`s` in `/proc/PID/maps`), not private.
pub const PTRACE_DBG_MAP_SHARED: u32 = 1;

/// `ptrace_dbg_set_follow` flag: follow fork, vfork and clone without CLONE_THREAD. Each new
/// process stops its parent with cause `PTRACE_DBG_CAUSE_FORK` (`cause.new_tid` = the child's
/// pid) until `ptrace_dbg_take_child` takes it or the parent runs again (which lets it go).
pub const PTRACE_DBG_FOLLOW_FORK: u32 = 1;
/// `ptrace_dbg_set_follow` flag: stop with cause `PTRACE_DBG_CAUSE_LIBRARY` whenever the
/// dynamic loader's list of objects has changed (dlopen, dlclose, start-up).
pub const PTRACE_DBG_FOLLOW_LIBRARIES: u32 = 2;

/// One mapping of the process, as a line of `/proc/PID/maps` gives it (its path through
/// `ptrace_dbg_mapping_path`).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ptrace_dbg_mapping {
    /// First address.
    pub start: u64,
    /// One past the last address.
    pub end: u64,
    /// Offset into the mapped file (0 for anonymous memory).
    pub offset: u64,
    /// Inode of the mapped file (0 for anonymous memory).
    pub inode: u64,
    /// Device of the mapped file: major number.
    pub dev_major: u32,
    /// Device of the mapped file: minor number.
    pub dev_minor: u32,
    /// `PTRACE_DBG_PROT_*` bits.
    pub prot: u32,
    /// `PTRACE_DBG_MAP_*` bits.
    pub flags: u32,
}

/// One object in the dynamic loader's list (its path through `ptrace_dbg_library_path`).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ptrace_dbg_library {
    /// `l_addr`: the load bias (runtime address = address in the ELF file + base); 0 for a
    /// program that is not position-independent.
    pub base: u64,
    /// `l_ld`: the address of its dynamic section (0 if none).
    pub dynamic: u64,
    /// The address of its `link_map` entry in the process (0 when the list comes from the
    /// memory maps because the loader has not run yet, or the program is static).
    pub link_map: u64,
}

/// Copies `s` and a NUL into `buf` (`cap` bytes); `len` gets `strlen(s)`. BUFFER_TOO_SMALL
/// (with `len` set) when `cap <= strlen(s)`.
///
/// # Safety
/// As the exported functions' `buf` and `len`.
unsafe fn copy_string(
    s: &str,
    buf: *mut c_char,
    cap: usize,
    len: *mut usize,
    what: &str,
) -> Result<(), Failure> {
    // SAFETY: passed on from the exported function's caller.
    let buf = unsafe { args::slice_mut(buf.cast::<u8>(), cap, "buf") }?;
    // SAFETY: passed on from the exported function's caller.
    if let Some(len) = unsafe { args::optional_out(len) } {
        len.write(s.len());
    }
    if s.len() >= cap {
        return Err(Failure::new(
            PTRACE_DBG_E_BUFFER_TOO_SMALL,
            format!("{what} needs {} bytes with its NUL; the buffer has {cap}", s.len() + 1),
        ));
    }
    buf[..s.len()].copy_from_slice(s.as_bytes());
    buf[s.len()] = 0;
    Ok(())
}

/// An optional C string argument (NULL: None), checked for UTF-8.
///
/// # Safety
/// `ptr` must be NULL or a NUL-terminated string.
unsafe fn optional_str<'a>(ptr: *const c_char, name: &str) -> Result<Option<&'a str>, Failure> {
    if ptr.is_null() {
        return Ok(None);
    }
    // SAFETY: non-NULL, the caller promises a NUL-terminated string.
    let s = unsafe { args::c_str(ptr, name) }?;
    s.to_str()
        .map(Some)
        .map_err(|_| Failure::invalid_argument(format!("argument `{name}` is not UTF-8")))
}

/// The `library` (NULL: any) and `symbol` (not NULL) arguments of the by-name calls.
///
/// # Safety
/// Each pointer must be NULL or a NUL-terminated string that outlives `'a`.
unsafe fn library_and_symbol<'a>(
    library: *const c_char,
    symbol: *const c_char,
) -> Result<(Option<&'a str>, &'a str), Failure> {
    // SAFETY: passed on from the caller.
    let library = unsafe { optional_str(library, "library") }?;
    // SAFETY: as above.
    let symbol = unsafe { optional_str(symbol, "symbol") }?
        .ok_or_else(|| Failure::invalid_argument("argument `symbol` is NULL"))?;
    Ok((library, symbol))
}

/// Lists the process's memory mappings, read from `/proc/PID/maps` now, in address order.
/// `*count` is always set to the number of mappings; `PTRACE_DBG_E_BUFFER_TOO_SMALL` when
/// `cap < *count` (then nothing is written to `out`, which may be NULL when `cap` is 0). The
/// listing is kept: `ptrace_dbg_mapping_path` names its entries by index until the next call.
/// After exec it is the new program's memory. A process that is exiting (its last thread
/// past its exit stop, its exit not yet collected) has no address space left: 0 mappings.
///
/// Returns `PTRACE_DBG_OK`, `PTRACE_DBG_E_BUFFER_TOO_SMALL`, `PTRACE_DBG_E_EXITED`,
/// `PTRACE_DBG_E_BAD_STATE` (detached), `PTRACE_DBG_E_INVALID_ARGUMENT` (NULL `count`, or NULL
/// `out` with `cap` > 0), `PTRACE_DBG_E_INVALID_HANDLE`. Callable running or stopped.
///
/// # Safety
/// `out` must be NULL or writable for `cap` elements; `count` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn ptrace_dbg_maps(
    p: *mut ptrace_dbg_process,
    out: *mut ptrace_dbg_mapping,
    cap: usize,
    count: *mut usize,
) -> c_int {
    boundary(|| {
        let process = PROCESSES.get(p)?;
        // SAFETY: the caller promises `count` is NULL or writable.
        let count = unsafe { args::out(count, "count") }?;
        // SAFETY: the caller promises `out` is NULL or writable for `cap` elements.
        let out = unsafe { args::slice_mut(out, cap, "out") }?;
        let maps = process.maps()?;
        count.write(maps.len());
        if maps.len() > cap {
            return Err(Failure::new(
                PTRACE_DBG_E_BUFFER_TOO_SMALL,
                format!("the process has {} mappings; `cap` is {cap}", maps.len()),
            ));
        }
        for (o, m) in out.iter_mut().zip(&maps) {
            *o = ptrace_dbg_mapping {
                start: m.start,
                end: m.end,
                offset: m.offset,
                inode: m.inode,
                dev_major: m.dev_major,
                dev_minor: m.dev_minor,
                prot: m.prot,
                flags: if m.shared { PTRACE_DBG_MAP_SHARED } else { 0 },
            };
        }
        Ok(())
    })
}

/// The path of mapping `index` of the last `ptrace_dbg_maps` listing on this handle, as
/// `/proc/PID/maps` shows it: a file path, a pseudo-name such as `[stack]` or `[vdso]`, or ""
/// for anonymous memory. Copied with its NUL into `buf` (`cap` bytes); `*len` (may be NULL)
/// gets its length without the NUL, also when the buffer is too small.
///
/// Returns `PTRACE_DBG_OK`, `PTRACE_DBG_E_BUFFER_TOO_SMALL`, `PTRACE_DBG_E_INVALID_ARGUMENT`
/// (`index` not in the last listing, NULL `buf` with `cap` > 0), `PTRACE_DBG_E_INVALID_HANDLE`.
///
/// # Safety
/// `buf` must be NULL or writable for `cap` bytes; `len` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn ptrace_dbg_mapping_path(
    p: *mut ptrace_dbg_process,
    index: usize,
    buf: *mut c_char,
    cap: usize,
    len: *mut usize,
) -> c_int {
    boundary(|| {
        let path = PROCESSES.get(p)?.mapping_path(index)?;
        // SAFETY: the caller's promises on `buf` and `len`.
        unsafe { copy_string(&path, buf, cap, len, "the path") }
    })
}

/// The runtime address of `symbol` (a function or variable of an ELF symbol table: `.symtab`,
/// `.dynsym`, or an installed separate debug file). `library` NULL searches the program, then
/// every loaded library in load order, and takes the first definition; else `library` is a
/// path or a file name ("libc.so.6") of a loaded object, and only it is searched. Works for
/// position-independent and fixed-address programs, libraries and static programs. Stopped at
/// a launched program's first instruction only the program and the dynamic loader are loaded;
/// libraries resolve once the loader has mapped them. For an indirect function (`memcpy` in
/// glibc) this is its resolver.
///
/// Returns `PTRACE_DBG_OK`, `PTRACE_DBG_E_NOT_FOUND` (no such symbol, or no such loaded
/// object), `PTRACE_DBG_E_EXITED`, `PTRACE_DBG_E_BAD_STATE` (detached),
/// `PTRACE_DBG_E_INVALID_ARGUMENT` (NULL `symbol` or `addr`, not UTF-8),
/// `PTRACE_DBG_E_INVALID_HANDLE`. Callable running or stopped (stopped, the loaded objects are
/// read once and reused until the process runs again).
///
/// # Safety
/// `library` must be NULL or a C string; `symbol` a C string; `addr` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn ptrace_dbg_symbol_address(
    p: *mut ptrace_dbg_process,
    library: *const c_char,
    symbol: *const c_char,
    addr: *mut u64,
) -> c_int {
    boundary(|| {
        let process = PROCESSES.get(p)?;
        // SAFETY: the caller promises C strings (`library` may be NULL).
        let (library, symbol) = unsafe { library_and_symbol(library, symbol) }?;
        // SAFETY: the caller promises `addr` is NULL or writable.
        let addr = unsafe { args::out(addr, "addr") }?;
        addr.write(process.symbol_address(library, symbol)?);
        Ok(())
    })
}

/// The symbol containing `addr`: its name into `name` (`cap` bytes, with its NUL), the offset
/// of `addr` into it into `*offset`, and the path of its object into `path` (`path_cap`
/// bytes). `offset` may be NULL; `path` may be NULL when `path_cap` is 0. Fast: each object's
/// symbols are a sorted table, and while the process stays stopped the objects are not read
/// again (about a microsecond a call).
///
/// Returns `PTRACE_DBG_OK`, `PTRACE_DBG_E_NOT_FOUND` (`addr` is in no loaded object, or in
/// none of its symbols), `PTRACE_DBG_E_BUFFER_TOO_SMALL` (`name` or `path`; nothing written),
/// `PTRACE_DBG_E_EXITED`, `PTRACE_DBG_E_BAD_STATE` (detached), `PTRACE_DBG_E_INVALID_ARGUMENT`
/// (NULL `name` or a NULL `path` with a size), `PTRACE_DBG_E_INVALID_HANDLE`.
///
/// # Safety
/// `name` must be writable for `cap` bytes; `path` NULL or writable for `path_cap` bytes;
/// `offset` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn ptrace_dbg_address_symbol(
    p: *mut ptrace_dbg_process,
    addr: u64,
    name: *mut c_char,
    cap: usize,
    offset: *mut u64,
    path: *mut c_char,
    path_cap: usize,
) -> c_int {
    boundary(|| {
        let process = PROCESSES.get(p)?;
        if name.is_null() {
            return Err(Failure::invalid_argument("argument `name` is NULL"));
        }
        // SAFETY: checked against NULL; the caller promises `cap` writable bytes.
        let name_buf = unsafe { args::slice_mut(name.cast::<u8>(), cap, "name") }?;
        // SAFETY: the caller promises `path` is NULL or writable for `path_cap` bytes.
        let path_buf = unsafe { args::slice_mut(path.cast::<u8>(), path_cap, "path") }?;
        let (sym, off, file) = process.address_symbol(addr)?;
        if sym.len() >= cap {
            return Err(Failure::new(
                PTRACE_DBG_E_BUFFER_TOO_SMALL,
                format!(
                    "the name {sym} needs {} bytes with its NUL; `cap` is {cap}",
                    sym.len() + 1
                ),
            ));
        }
        if path_cap > 0 && file.len() >= path_cap {
            return Err(Failure::new(
                PTRACE_DBG_E_BUFFER_TOO_SMALL,
                format!(
                    "the path needs {} bytes with its NUL; `path_cap` is {path_cap}",
                    file.len() + 1
                ),
            ));
        }
        name_buf[..sym.len()].copy_from_slice(sym.as_bytes());
        name_buf[sym.len()] = 0;
        if path_cap > 0 {
            path_buf[..file.len()].copy_from_slice(file.as_bytes());
            path_buf[file.len()] = 0;
        }
        // SAFETY: the caller promises `offset` is NULL or writable.
        if let Some(o) = unsafe { args::optional_out(offset) } {
            o.write(off);
        }
        Ok(())
    })
}

/// Lists the loaded objects in load order, as the dynamic loader's `r_debug`/`link_map` list
/// has them: the program first, then its libraries (and the vDSO and the loader). Before the
/// loader has run (stopped at a launched program's first instruction) and for a static
/// program, the list comes from the memory maps: the program and the loader, `link_map` 0.
/// `*count` is always set; `PTRACE_DBG_E_BUFFER_TOO_SMALL` when `cap < *count`. The listing
/// is kept for `ptrace_dbg_library_path` until the next call.
///
/// Returns `PTRACE_DBG_OK`, `PTRACE_DBG_E_BUFFER_TOO_SMALL`, `PTRACE_DBG_E_EXITED`,
/// `PTRACE_DBG_E_BAD_STATE` (detached), `PTRACE_DBG_E_INVALID_ARGUMENT` (NULL `count`, or NULL
/// `out` with `cap` > 0), `PTRACE_DBG_E_INVALID_HANDLE`. Stopped for a consistent answer.
///
/// # Safety
/// `out` must be NULL or writable for `cap` elements; `count` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn ptrace_dbg_libraries(
    p: *mut ptrace_dbg_process,
    out: *mut ptrace_dbg_library,
    cap: usize,
    count: *mut usize,
) -> c_int {
    boundary(|| {
        let process = PROCESSES.get(p)?;
        // SAFETY: the caller promises `count` is NULL or writable.
        let count = unsafe { args::out(count, "count") }?;
        // SAFETY: the caller promises `out` is NULL or writable for `cap` elements.
        let out = unsafe { args::slice_mut(out, cap, "out") }?;
        let libs = process.libraries()?;
        count.write(libs.len());
        if libs.len() > cap {
            return Err(Failure::new(
                PTRACE_DBG_E_BUFFER_TOO_SMALL,
                format!("the process has {} loaded objects; `cap` is {cap}", libs.len()),
            ));
        }
        for (o, l) in out.iter_mut().zip(&libs) {
            *o = ptrace_dbg_library { base: l.base, dynamic: l.dynamic, link_map: l.link_map };
        }
        Ok(())
    })
}

/// The path of object `index` of the last `ptrace_dbg_libraries` listing: the loader's
/// `l_name` (the program's own path for the program), copied with its NUL into `buf`; `*len`
/// (may be NULL) gets its length without the NUL, also when the buffer is too small.
///
/// Returns `PTRACE_DBG_OK`, `PTRACE_DBG_E_BUFFER_TOO_SMALL`, `PTRACE_DBG_E_INVALID_ARGUMENT`
/// (`index` not in the last listing, NULL `buf` with `cap` > 0), `PTRACE_DBG_E_INVALID_HANDLE`.
///
/// # Safety
/// `buf` must be NULL or writable for `cap` bytes; `len` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn ptrace_dbg_library_path(
    p: *mut ptrace_dbg_process,
    index: usize,
    buf: *mut c_char,
    cap: usize,
    len: *mut usize,
) -> c_int {
    boundary(|| {
        let path = PROCESSES.get(p)?.library_path(index)?;
        // SAFETY: the caller's promises on `buf` and `len`.
        unsafe { copy_string(&path, buf, cap, len, "the path") }
    })
}

/// What the library follows besides the process's own threads; `flags` replaces the previous
/// set (read it with `ptrace_dbg_get_follow` to change one bit). `PTRACE_DBG_FOLLOW_LIBRARIES`
/// makes every change of the loaded objects (dlopen, dlclose, and the loader's start-up) stop
/// the process with cause `PTRACE_DBG_CAUSE_LIBRARY` on the thread that made it.
/// `PTRACE_DBG_FOLLOW_FORK` makes every fork, vfork and clone of a process stop it with cause
/// `PTRACE_DBG_CAUSE_FORK` (see `ptrace_dbg_take_child`). 0 turns both off; without a flag its
/// cause is never reported.
///
/// Returns `PTRACE_DBG_OK`, `PTRACE_DBG_E_INVALID_ARGUMENT` (an unknown or reserved flag),
/// `PTRACE_DBG_E_BAD_STATE` (running or detached), `PTRACE_DBG_E_EXITED`,
/// `PTRACE_DBG_E_INVALID_HANDLE`. Process stopped.
#[no_mangle]
pub extern "C" fn ptrace_dbg_set_follow(p: *mut ptrace_dbg_process, flags: u32) -> c_int {
    boundary(|| {
        let process = PROCESSES.get(p)?;
        let flags =
            args::flags(flags, PTRACE_DBG_FOLLOW_LIBRARIES | PTRACE_DBG_FOLLOW_FORK, "flags")?;
        Ok(process.set_follow(flags)?)
    })
}

/// The follow flags in force: what `ptrace_dbg_set_follow` last set, or, for a child taken
/// with `ptrace_dbg_take_child`, what it inherited from its parent.
///
/// Returns `PTRACE_DBG_OK`, `PTRACE_DBG_E_INVALID_ARGUMENT` (NULL `flags`),
/// `PTRACE_DBG_E_INVALID_HANDLE`. Any state.
///
/// # Safety
/// `flags` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn ptrace_dbg_get_follow(
    p: *mut ptrace_dbg_process,
    flags: *mut u32,
) -> c_int {
    boundary(|| {
        // SAFETY: the caller's promise on `flags`.
        let out = unsafe { args::out(flags, "flags") }?;
        out.write(PROCESSES.get(p)?.follow_flags()?);
        Ok(())
    })
}

/// A breakpoint on a function by name: set now in every loaded object that defines `symbol`
/// (only in `library`, a path or file name, when not NULL), and in every object that defines
/// it when one is loaded later (dlopen). When such an object is unloaded (dlclose) the
/// breakpoint leaves it without a byte being written into that memory. A hit stops the process
/// with cause `PTRACE_DBG_CAUSE_BREAKPOINT` and `cause.pc` the address, as any breakpoint.
/// `*id` names it for `ptrace_dbg_remove_symbol_breakpoint`. The loader's own breakpoint that
/// makes this work never shows as a stop.
///
/// Returns `PTRACE_DBG_OK` (set, or pending until an object defining it loads),
/// `PTRACE_DBG_E_NOT_FOUND` (nothing defines it and the program has no dynamic loader, e.g.
/// a static program), `PTRACE_DBG_E_BAD_STATE` (running or detached), `PTRACE_DBG_E_EXITED`,
/// `PTRACE_DBG_E_INVALID_ARGUMENT` (NULL or empty `symbol`, empty `library`, NULL `id`),
/// `PTRACE_DBG_E_INVALID_HANDLE`. Process stopped.
///
/// # Safety
/// `library` must be NULL or a C string; `symbol` a C string; `id` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn ptrace_dbg_add_symbol_breakpoint(
    p: *mut ptrace_dbg_process,
    library: *const c_char,
    symbol: *const c_char,
    id: *mut i32,
) -> c_int {
    boundary(|| {
        let process = PROCESSES.get(p)?;
        // SAFETY: the caller promises C strings (`library` may be NULL).
        let (library, symbol) = unsafe { library_and_symbol(library, symbol) }?;
        // SAFETY: the caller promises `id` is NULL or writable.
        let id = unsafe { args::out(id, "id") }?;
        id.write(process.add_symbol_breakpoint(library, symbol)?);
        Ok(())
    })
}

/// Removes symbol breakpoint `id` from every object it is set in.
///
/// Returns `PTRACE_DBG_OK`, `PTRACE_DBG_E_NOT_FOUND` (no such id), `PTRACE_DBG_E_BAD_STATE`
/// (running or detached), `PTRACE_DBG_E_EXITED`, `PTRACE_DBG_E_INVALID_HANDLE`. Process
/// stopped.
#[no_mangle]
pub extern "C" fn ptrace_dbg_remove_symbol_breakpoint(
    p: *mut ptrace_dbg_process,
    id: i32,
) -> c_int {
    boundary(|| Ok(PROCESSES.get(p)?.remove_symbol_breakpoint(id)?))
}
