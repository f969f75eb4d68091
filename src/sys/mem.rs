//! Tracee memory in bulk: `process_vm_readv` for reads, `/proc/PID/mem` for what it cannot do
//! (writes into read-only mappings, and finding the exact first unreadable byte).
//! PTRACE_PEEKDATA would move 8 bytes a system call; these move megabytes.

use nix::errno::Errno;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// `process_vm_readv` of one range. Returns the bytes read, which may stop short at an
/// unmapped page.
pub fn read_vm(pid: i32, addr: u64, buf: &mut [u8]) -> Result<usize, Errno> {
    if buf.is_empty() {
        return Ok(0);
    }
    let local = libc::iovec { iov_base: buf.as_mut_ptr().cast(), iov_len: buf.len() };
    let remote = libc::iovec { iov_base: addr as usize as *mut libc::c_void, iov_len: buf.len() };
    // SAFETY: `local` describes `buf`, which is valid and writable for its length; the remote
    // iovec is only an address in the other process, checked by the kernel.
    let n = unsafe { libc::process_vm_readv(pid, &local, 1, &remote, 1, 0) };
    if n < 0 {
        Err(Errno::last())
    } else {
        Ok(n as usize)
    }
}

/// An open `/proc/PID/mem`. It stays bound to the address space it was opened on, so it must
/// be reopened after the process execs.
pub struct MemFile {
    fd: OwnedFd,
}

/// `/proc/PID/mem` offsets are `off_t`: addresses at or above 2^63 cannot be expressed.
fn offset(addr: u64) -> Result<libc::off_t, Errno> {
    libc::off_t::try_from(addr).map_err(|_| Errno::EIO)
}

impl MemFile {
    /// Opens `/proc/PID/mem` read-write, close-on-exec.
    pub fn open(pid: i32) -> Result<MemFile, Errno> {
        let path = std::ffi::CString::new(format!("/proc/{pid}/mem")).map_err(|_| Errno::EINVAL)?;
        // SAFETY: `path` is a valid NUL-terminated string for the duration of the call.
        let fd = unsafe { libc::open(path.as_ptr(), libc::O_RDWR | libc::O_CLOEXEC) };
        if fd < 0 {
            return Err(Errno::last());
        }
        // SAFETY: open succeeded: the descriptor is ours alone.
        Ok(MemFile { fd: unsafe { OwnedFd::from_raw_fd(fd) } })
    }

    /// Reads as much of `buf` as is mapped from `addr` on. Returns the count and, if it stopped
    /// short, the error at the first unreadable byte.
    pub fn read_at(&self, addr: u64, buf: &mut [u8]) -> (usize, Option<Errno>) {
        let fd = self.fd.as_raw_fd();
        transfer(addr, buf.len(), |done, off| {
            let rest = &mut buf[done..];
            // SAFETY: `rest` is valid and writable for `rest.len()` bytes.
            unsafe { libc::pread(fd, rest.as_mut_ptr().cast(), rest.len(), off) }
        })
    }

    /// Writes as much of `data` as is mapped from `addr` on (read-only mappings included, as
    /// PTRACE_POKETEXT does). Returns the count and, if it stopped short, the error.
    pub fn write_at(&self, addr: u64, data: &[u8]) -> (usize, Option<Errno>) {
        let fd = self.fd.as_raw_fd();
        transfer(addr, data.len(), |done, off| {
            let rest = &data[done..];
            // SAFETY: `rest` is valid and readable for `rest.len()` bytes.
            unsafe { libc::pwrite(fd, rest.as_ptr().cast(), rest.len(), off) }
        })
    }
}

/// Repeats `io(done, offset)` (a pread or pwrite of the rest) until `len` bytes moved or it
/// fails; returns the count and the error that stopped it.
fn transfer(
    addr: u64,
    len: usize,
    mut io: impl FnMut(usize, libc::off_t) -> isize,
) -> (usize, Option<Errno>) {
    let mut done = 0;
    while done < len {
        let off = match addr.checked_add(done as u64).map(offset) {
            Some(Ok(o)) => o,
            Some(Err(e)) => return (done, Some(e)),
            None => return (done, Some(Errno::EIO)),
        };
        match io(done, off) {
            n if n > 0 => done += n as usize,
            0 => return (done, Some(Errno::EIO)),
            _ if Errno::last() == Errno::EINTR => continue,
            _ => return (done, Some(Errno::last())),
        }
    }
    (done, None)
}
