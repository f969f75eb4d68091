//! The breakpoint table: address -> the original byte under our `int3`.
//!
//! Breakpoints stay in the tracee's memory from `add` to `remove` (or detach), rather than being
//! inserted at every continue and removed at every stop as the seed did: a stop/continue cycle
//! then costs nothing per breakpoint, only the one a thread sits on is stepped over. The price is
//! that every read of tracee memory through the library must show the original bytes instead of
//! ours (`hide`), and every write must keep ours in place (`absorb_write`).
//!
//! `Breakpoints` is the plain table; `Memory` puts it and `/proc/PID/mem` behind one lock,
//! used by the monitor thread (add, remove, lift, restore) and by any API thread (peek, poke).

use super::{Error, Result};
use crate::sys::arch::BREAKPOINT_INSN;
use crate::sys::mem::MemFile;
use crate::sys::x86;
use std::collections::{BTreeMap, HashSet};

#[derive(Default)]
pub struct Breakpoints {
    /// Inserted breakpoints: address -> original byte.
    pub(super) table: BTreeMap<u64, u8>,
    /// Addresses of removed breakpoints: a thread that hit one just before it was removed still
    /// has the trap pending, and that trap must be swallowed, not delivered.
    former: HashSet<u64>,
    /// Who else wants an int3 at an address besides the user (`add`/`remove`): the engine's
    /// own breakpoints (the loader's r_brk, never reported) and symbol breakpoints. An address
    /// of `table` without an entry here is the user's alone.
    owners: std::collections::HashMap<u64, Owners>,
}

/// Who wants the int3 at one address.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Owners {
    /// Set with `ptrace_dbg_add_breakpoint`.
    pub user: bool,
    /// The engine's own (reported to nobody, stepped over silently).
    pub internal: bool,
    /// How many symbol breakpoints resolved to it (reported like the user's).
    pub symbol: u32,
}

/// A non-user owner of a breakpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    Internal,
    Symbol,
}

impl Owners {
    fn is_empty(&self) -> bool {
        !self.user && !self.internal && self.symbol == 0
    }
}

fn fault(addr: u64, e: nix::errno::Errno) -> Error {
    Error::Fault {
        addr,
        done: 0,
        detail: format!("cannot access the byte at {addr:#x}: {}", e.desc()),
    }
}

impl Breakpoints {
    pub fn contains(&self, addr: u64) -> bool {
        self.table.contains_key(&addr)
    }

    pub fn len(&self) -> usize {
        self.table.len()
    }

    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    /// Whether `addr` held a breakpoint that has since been removed.
    pub fn was_removed(&self, addr: u64) -> bool {
        self.former.contains(&addr)
    }

    /// Saves the byte at `addr` and writes `int3` over it.
    pub fn add(&mut self, mem: &MemFile, addr: u64) -> Result<()> {
        if let Some(o) = self.owners.get_mut(&addr) {
            if o.user {
                return Err(Error::BreakpointExists(addr));
            }
            o.user = true;
            return Ok(());
        }
        if self.table.contains_key(&addr) {
            return Err(Error::BreakpointExists(addr));
        }
        let mut orig = [0u8; 1];
        if let (0, Some(e)) = mem.read_at(addr, &mut orig) {
            return Err(fault(addr, e));
        }
        if let (0, Some(e)) = mem.write_at(addr, &[BREAKPOINT_INSN]) {
            return Err(fault(addr, e));
        }
        self.table.insert(addr, orig[0]);
        self.former.remove(&addr);
        Ok(())
    }

    /// Writes the original byte back and forgets the breakpoint.
    pub fn remove(&mut self, mem: &MemFile, addr: u64) -> Result<()> {
        let orig = *self.table.get(&addr).ok_or(Error::NoBreakpoint(addr))?;
        if let Some(o) = self.owners.get_mut(&addr) {
            if !o.user {
                return Err(Error::NoBreakpoint(addr));
            }
            o.user = false;
            if !o.is_empty() {
                return Ok(()); // the int3 stays for its other owners
            }
            self.owners.remove(&addr);
        }
        if let (0, Some(e)) = mem.write_at(addr, &[orig]) {
            return Err(fault(addr, e));
        }
        self.table.remove(&addr);
        self.former.insert(addr);
        Ok(())
    }

    /// Adds `owner`'s claim on an int3 at `addr`, inserting it if nobody had one there.
    pub fn acquire(&mut self, mem: &MemFile, addr: u64, owner: Owner) -> Result<()> {
        if !self.table.contains_key(&addr) {
            self.add(mem, addr)?;
            self.owners.insert(addr, Owners::default());
        } else {
            self.owners.entry(addr).or_insert(Owners { user: true, ..Default::default() });
        }
        let o = self.owners.get_mut(&addr).expect("inserted above");
        match owner {
            Owner::Internal => o.internal = true,
            Owner::Symbol => o.symbol += 1,
        }
        Ok(())
    }

    /// Drops `owner`'s claim on `addr`. The int3 goes when nobody is left: written back over
    /// with the original byte when `mapped`, else (the memory is no longer the object it was set
    /// in: a library unloaded) only forgotten, so nothing is written into what is there now.
    pub fn release(&mut self, mem: &MemFile, addr: u64, owner: Owner, mapped: bool) {
        let Some(o) = self.owners.get_mut(&addr) else { return };
        match owner {
            Owner::Internal => o.internal = false,
            Owner::Symbol => o.symbol = o.symbol.saturating_sub(1),
        }
        if !o.is_empty() {
            if *o == (Owners { user: true, ..Default::default() }) {
                self.owners.remove(&addr);
            }
            return;
        }
        self.owners.remove(&addr);
        if let Some(orig) = self.table.remove(&addr) {
            if mapped {
                let _ = mem.write_at(addr, &[orig]);
            }
            self.former.insert(addr);
        }
    }

    /// Whether a hit at `addr` is the caller's to see (a user or symbol breakpoint), not only
    /// the engine's own.
    pub fn reports(&self, addr: u64) -> bool {
        self.table.contains_key(&addr)
            && self.owners.get(&addr).map_or(true, |o| o.user || o.symbol > 0)
    }

    /// Puts the original byte back temporarily (to step over the breakpoint).
    pub fn lift(&self, mem: &MemFile, addr: u64) {
        if let Some(&orig) = self.table.get(&addr) {
            let _ = mem.write_at(addr, &[orig]);
        }
    }

    /// Writes `int3` back after `lift` (if the breakpoint still exists).
    pub fn restore(&self, mem: &MemFile, addr: u64) {
        if self.table.contains_key(&addr) {
            let _ = mem.write_at(addr, &[BREAKPOINT_INSN]);
        }
    }

    /// Writes every original byte into `mem` (detach, or a forked child's copy of the memory).
    pub fn lift_all(&self, mem: &MemFile) {
        for (&addr, &orig) in &self.table {
            let _ = mem.write_at(addr, &[orig]);
        }
    }

    /// Writes `int3` at every breakpoint again after `lift_all`.
    pub fn restore_all(&self, mem: &MemFile) {
        for &addr in self.table.keys() {
            let _ = mem.write_at(addr, &[BREAKPOINT_INSN]);
        }
    }

    /// Replaces our bytes in `buf` (read from `addr`) with the originals.
    pub fn hide(&self, addr: u64, buf: &mut [u8]) {
        let end = addr.saturating_add(buf.len() as u64);
        for (&a, &orig) in self.table.range(addr..end) {
            buf[(a - addr) as usize] = orig;
        }
    }

    /// Before writing `data` at `addr`: the bytes that land on breakpoints become their new
    /// originals, and `int3` stays in memory.
    pub fn absorb_write(&mut self, addr: u64, data: &mut [u8]) {
        let end = addr.saturating_add(data.len() as u64);
        for (&a, orig) in self.table.range_mut(addr..end) {
            let i = (a - addr) as usize;
            *orig = data[i];
            data[i] = BREAKPOINT_INSN;
        }
    }

    /// Forgets everything (after exec the address space is a new one).
    pub fn clear(&mut self) {
        self.table.clear();
        self.former.clear();
        self.owners.clear();
    }
}

/// Tracee memory and the breakpoint table behind one lock, shared by the monitor (which adds,
/// removes, lifts and restores breakpoints) and the API threads (which read and write memory
/// directly, without a trip to the monitor: `/proc/PID/mem` and `process_vm_readv` work from any
/// thread of the tracer's process, and a 64 MiB read should not be copied twice).
pub struct Memory {
    pid: i32,
    inner: std::sync::Mutex<Inner>,
}

struct Inner {
    /// `/proc/PID/mem`, opened on first use; reset at exec (it stays bound to the old image).
    file: Option<MemFile>,
    breakpoints: Breakpoints,
    /// The instruction under each breakpoint, decoded on first need (None: not one we can
    /// execute ourselves). Cleared by any write and any breakpoint added or removed.
    /// With the original bytes there (up to 15, as many as were readable), which an
    /// out-of-line step copies.
    decoded: std::collections::HashMap<u64, Decoded>,
}

/// What `Memory::decoded` keeps per breakpoint address.
#[derive(Clone, Copy)]
struct Decoded {
    insn: Option<x86::Insn>,
    code: [u8; 15],
    len: u8,
}

impl Inner {
    fn file(&mut self, pid: i32) -> Result<&MemFile> {
        if self.file.is_none() {
            self.file = Some(MemFile::open(pid).map_err(|e| match e {
                // The process died under us (a call racing its exit): say so.
                nix::errno::Errno::ESRCH | nix::errno::Errno::ENOENT => Error::Exited,
                e => Error::os("open(/proc/PID/mem)", e),
            })?);
        }
        Ok(self.file.as_ref().unwrap())
    }
}

impl Memory {
    pub fn new(pid: i32) -> Memory {
        Memory {
            pid,
            inner: std::sync::Mutex::new(Inner {
                file: None,
                breakpoints: Breakpoints::default(),
                decoded: Default::default(),
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `f` with the memory file (opened if needed) and the table.
    fn with<R>(&self, f: impl FnOnce(&MemFile, &mut Breakpoints) -> Result<R>) -> Result<R> {
        let mut inner = self.lock();
        inner.file(self.pid)?;
        let Inner { file, breakpoints, .. } = &mut *inner;
        f(file.as_ref().unwrap(), breakpoints)
    }

    pub fn has_breakpoint(&self, addr: u64) -> bool {
        self.lock().breakpoints.contains(addr)
    }

    pub fn has_breakpoints(&self) -> bool {
        !self.lock().breakpoints.is_empty()
    }

    pub fn breakpoint_count(&self) -> usize {
        self.lock().breakpoints.len()
    }

    pub fn was_removed(&self, addr: u64) -> bool {
        self.lock().breakpoints.was_removed(addr)
    }

    pub fn add_breakpoint(&self, addr: u64) -> Result<()> {
        self.lock().decoded.clear();
        self.with(|mem, bps| bps.add(mem, addr))
    }

    pub fn remove_breakpoint(&self, addr: u64) -> Result<()> {
        self.lock().decoded.clear();
        self.with(|mem, bps| bps.remove(mem, addr))
    }

    /// Adds a claim of the engine (`Owner`) on an int3 at `addr` (see `Breakpoints::acquire`).
    pub fn acquire(&self, addr: u64, owner: Owner) -> Result<()> {
        self.lock().decoded.clear();
        self.with(|mem, bps| bps.acquire(mem, addr, owner))
    }

    /// Drops a claim (see `Breakpoints::release`).
    pub fn release(&self, addr: u64, owner: Owner, mapped: bool) {
        self.lock().decoded.clear();
        let _ = self.with(|mem, bps| {
            bps.release(mem, addr, owner, mapped);
            Ok(())
        });
    }

    /// Whether a hit at `addr` is reported to the caller (see `Breakpoints::reports`).
    pub fn reports(&self, addr: u64) -> bool {
        self.lock().breakpoints.reports(addr)
    }

    /// Takes the breakpoint at `addr` out of memory for a step over it.
    pub fn lift(&self, addr: u64) {
        let _ = self.with(|mem, bps| {
            bps.lift(mem, addr);
            Ok(())
        });
    }

    /// Puts the breakpoint at `addr` back after `lift`.
    pub fn restore(&self, addr: u64) {
        let _ = self.with(|mem, bps| {
            bps.restore(mem, addr);
            Ok(())
        });
    }

    /// Takes every breakpoint out of memory (detach, vfork).
    pub fn lift_all(&self) {
        if self.has_breakpoints() {
            let _ = self.with(|mem, bps| {
                bps.lift_all(mem);
                Ok(())
            });
        }
    }

    /// Puts every breakpoint back after `lift_all`.
    pub fn restore_all(&self) {
        if self.has_breakpoints() {
            let _ = self.with(|mem, bps| {
                bps.restore_all(mem);
                Ok(())
            });
        }
    }

    /// Takes every breakpoint out of the copy of the memory a forked child `pid` got.
    pub fn lift_all_in(&self, pid: i32) {
        let inner = self.lock();
        if !inner.breakpoints.is_empty() {
            if let Ok(child) = MemFile::open(pid) {
                inner.breakpoints.lift_all(&child);
            }
        }
    }

    /// A taken fork child's table: every breakpoint of `parent`, written into this (the
    /// child's) memory, a copy of the parent's cleaned of our int3s at the fork stop.
    pub fn adopt_breakpoints(&self, parent: &Memory) {
        let table = parent.lock().breakpoints.table.clone();
        if table.is_empty() {
            return;
        }
        let _ = self.with(|mem, bps| {
            for (&addr, &orig) in &table {
                let _ = mem.write_at(addr, &[BREAKPOINT_INSN]);
                bps.table.insert(addr, orig);
            }
            Ok(())
        });
    }

    /// Reads the bytes as they really are in memory (our int3s included). True if all read.
    pub fn read_raw(&self, addr: u64, buf: &mut [u8]) -> bool {
        let n = buf.len();
        self.with(|mem, _| Ok(mem.read_at(addr, buf).0 == n)).unwrap_or(false)
    }

    /// Writes bytes as they are, past the breakpoint table (the out-of-line scratch area, a
    /// system call briefly planted under a stopped thread). True if all written.
    pub fn write_raw(&self, addr: u64, data: &[u8]) -> bool {
        self.with(|mem, _| Ok(mem.write_at(addr, data).0 == data.len())).unwrap_or(false)
    }

    /// After exec: a new address space, no breakpoints, a memory file to reopen.
    pub fn reset_for_exec(&self) {
        let mut inner = self.lock();
        inner.file = None;
        inner.breakpoints.clear();
        inner.decoded.clear();
    }

    /// The instruction under the breakpoint at `addr`, if it is one `sys::x86` can execute.
    pub fn decoded(&self, addr: u64) -> Option<x86::Insn> {
        self.decode(addr).insn
    }

    /// The original bytes of the instruction at `addr` (our int3s hidden): up to 15, as many
    /// as are readable. Cached like `decoded`.
    pub fn code(&self, addr: u64) -> ([u8; 15], usize) {
        let d = self.decode(addr);
        (d.code, d.len as usize)
    }

    fn decode(&self, addr: u64) -> Decoded {
        if let Some(d) = self.lock().decoded.get(&addr) {
            return *d;
        }
        let mut code = [0u8; 15];
        let n = match self.read(addr, &mut code) {
            Ok(n) => n,
            Err((n, _)) => n,
        };
        let d = Decoded { insn: x86::decode(&code[..n]), code, len: n as u8 };
        self.lock().decoded.insert(addr, d);
        d
    }

    /// One byte as it really is in memory (our int3s included).
    pub fn raw_byte(&self, addr: u64) -> Option<u8> {
        self.with(|mem, _| {
            let mut b = [0u8];
            match mem.read_at(addr, &mut b) {
                (1, _) => Ok(b[0]),
                (_, e) => Err(fault(addr, e.unwrap_or(nix::errno::Errno::EIO))),
            }
        })
        .ok()
    }

    /// Reads `buf.len()` bytes from `addr`, showing original bytes where our breakpoints are.
    /// Returns the bytes read; stops at the first unreadable byte with `Error::Fault`.
    pub fn read(&self, addr: u64, buf: &mut [u8]) -> std::result::Result<usize, (usize, Error)> {
        check_range(addr, buf.len()).map_err(|e| (0, e))?;
        let mut inner = self.lock();
        // process_vm_readv first: the fastest bulk copy. It may stop short of an unmapped page
        // (at a page or iovec boundary); /proc/PID/mem then finds the exact first bad byte.
        let mut done = crate::sys::mem::read_vm(self.pid, addr, buf).unwrap_or(0);
        let mut failure = None;
        if done < buf.len() {
            match inner.file(self.pid) {
                Ok(file) => {
                    let (n, e) = file.read_at(addr + done as u64, &mut buf[done..]);
                    done += n;
                    failure = e;
                }
                Err(e) => return Err((done, e)),
            }
        }
        inner.breakpoints.hide(addr, &mut buf[..done]);
        match failure {
            None => Ok(done),
            Some(e) => Err((done, mem_fault(addr, done, e))),
        }
    }

    /// Writes `data` at `addr` (read-only mappings too, as PTRACE_POKETEXT does). Bytes landing
    /// on our breakpoints become their new originals; the int3s stay.
    pub fn write(&self, addr: u64, data: &[u8]) -> std::result::Result<usize, (usize, Error)> {
        check_range(addr, data.len()).map_err(|e| (0, e))?;
        if data.is_empty() {
            return Ok(0);
        }
        let mut inner = self.lock();
        inner.decoded.clear();
        let end = addr + data.len() as u64;
        let covers_bp = inner.breakpoints.table.range(addr..end).next().is_some();
        let mut patched;
        let data = if covers_bp {
            patched = data.to_vec();
            inner.breakpoints.absorb_write(addr, &mut patched);
            &patched[..]
        } else {
            data
        };
        let file = inner.file(self.pid).map_err(|e| (0, e))?;
        match file.write_at(addr, data) {
            (n, None) => Ok(n),
            (n, Some(e)) => Err((n, mem_fault(addr, n, e))),
        }
    }
}

/// Rejects ranges that wrap around the end of the address space.
fn check_range(addr: u64, len: usize) -> Result<()> {
    if addr.checked_add(len as u64).is_none() {
        return Err(Error::InvalidArgument(format!(
            "the range {addr:#x} + {len} wraps around the end of the address space"
        )));
    }
    Ok(())
}

fn mem_fault(addr: u64, done: usize, e: nix::errno::Errno) -> Error {
    let at = addr.wrapping_add(done as u64);
    Error::Fault { addr: at, done, detail: format!("{at:#x} is not accessible ({})", e.desc()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A breakpoint table over this test process's own heap, through /proc/self/mem.
    fn own_memory() -> (Vec<u8>, MemFile, u64) {
        let buf = vec![0x90u8; 64];
        let mem = MemFile::open(std::process::id() as i32).expect("open /proc/self/mem");
        let addr = buf.as_ptr() as u64;
        (buf, mem, addr)
    }

    fn byte(mem: &MemFile, addr: u64) -> u8 {
        let mut b = [0u8];
        assert_eq!(mem.read_at(addr, &mut b).0, 1);
        b[0]
    }

    #[test]
    fn owners_share_one_int3_and_the_last_one_out_restores_or_forgets() {
        let (_buf, mem, addr) = own_memory();
        let mut bps = Breakpoints::default();
        // The engine's own: in memory, not reported.
        bps.acquire(&mem, addr, Owner::Internal).unwrap();
        assert_eq!(byte(&mem, addr), BREAKPOINT_INSN);
        assert!(bps.contains(addr) && !bps.reports(addr));
        // The user's on top: reported; removing it leaves the engine's in place.
        bps.add(&mem, addr).unwrap();
        assert!(bps.reports(addr));
        assert!(matches!(bps.add(&mem, addr), Err(Error::BreakpointExists(_))));
        bps.remove(&mem, addr).unwrap();
        assert!(matches!(bps.remove(&mem, addr), Err(Error::NoBreakpoint(_))));
        assert_eq!(byte(&mem, addr), BREAKPOINT_INSN);
        assert!(!bps.reports(addr));
        // Two symbol breakpoints and the engine; the last release writes the byte back.
        bps.acquire(&mem, addr, Owner::Symbol).unwrap();
        bps.acquire(&mem, addr, Owner::Symbol).unwrap();
        bps.release(&mem, addr, Owner::Internal, true);
        bps.release(&mem, addr, Owner::Symbol, true);
        assert!(bps.reports(addr) && byte(&mem, addr) == BREAKPOINT_INSN);
        bps.release(&mem, addr, Owner::Symbol, true);
        assert!(!bps.contains(addr) && bps.was_removed(addr));
        assert_eq!(byte(&mem, addr), 0x90);
        // A user breakpoint gets a symbol owner and loses it: a plain user breakpoint again.
        bps.add(&mem, addr).unwrap();
        bps.acquire(&mem, addr, Owner::Symbol).unwrap();
        bps.release(&mem, addr, Owner::Symbol, true);
        assert!(bps.owners.is_empty() && bps.reports(addr));
        bps.remove(&mem, addr).unwrap();
        // Released as unmapped (a library unloaded): forgotten, nothing written.
        bps.acquire(&mem, addr + 1, Owner::Symbol).unwrap();
        assert_eq!(mem.write_at(addr + 1, &[0x55]).0, 1); // "another object mapped there"
        bps.release(&mem, addr + 1, Owner::Symbol, false);
        assert!(!bps.contains(addr + 1));
        assert_eq!(byte(&mem, addr + 1), 0x55);
    }
}
