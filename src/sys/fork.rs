//! Telling a forked child from its parent without a system call per check (issue 10: a
//! handle used in a forked child must fail at once). getpid is a system call, and on some
//! virtual machines a slow one (microseconds), too slow to make on every API call.

use nix::errno::Errno;
use std::sync::atomic::AtomicI32;

/// A word, zero at first, alone in an anonymous page marked `MADV_WIPEONFORK` (Linux 4.14):
/// the kernel gives every forked child a zero-filled page there, whatever the parent stored.
/// The page is never unmapped: the word lives as long as the process.
pub fn wipe_on_fork_word() -> Result<&'static AtomicI32, Errno> {
    // SAFETY: sysconf reads a constant of the system.
    let size = match unsafe { libc::sysconf(libc::_SC_PAGESIZE) } {
        n if n > 0 => n as usize,
        _ => 4096,
    };
    // SAFETY: a new private anonymous mapping at an address the kernel picks overlaps nothing
    // of ours.
    let page = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            size,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if page == libc::MAP_FAILED {
        return Err(Errno::last());
    }
    // SAFETY: `page` is the mapping just made, `size` bytes long.
    if unsafe { libc::madvise(page, size, libc::MADV_WIPEONFORK) } != 0 {
        let e = Errno::last();
        // SAFETY: unmaps the mapping made above, to which nothing else refers.
        unsafe { libc::munmap(page, size) };
        return Err(e);
    }
    // SAFETY: the page is mapped read/write, page-aligned and zero-filled, and never unmapped,
    // so its first four bytes are a valid AtomicI32 (all-zero bits are 0) for 'static; all
    // access goes through the atomic.
    Ok(unsafe { &*(page as *const AtomicI32) })
}
