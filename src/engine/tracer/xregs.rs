//! Registers beyond `user_regs_struct`: the FXSAVE image, the raw XSAVE area, and any register
//! by name (the catalogue and the cache are in `engine::xregs`). Two hooks tie them to the
//! thread's life: `flush_xregs` before the thread runs (called from `flush_regs`) and
//! `XRegs::forget` when it leaves its stop (called from `set_state`).
//!
//! Every method must be called from the monitor thread.

use super::{thread_error, Tracer};
use crate::engine::xregs::{self, CachedArea, Location, RegisterInfo, XRegs};
use crate::engine::{Error, Result};
use crate::sys::arch::REG_NAMES;
use crate::sys::{ptrace, xstate};
use nix::errno::Errno;

impl Tracer {
    /// Runs `f` on the cached XSAVE area of stopped thread `tid`, read (one GETREGSET) at its
    /// first use in this stop.
    fn with_area<R>(&mut self, tid: i32, f: impl FnOnce(&mut CachedArea) -> R) -> Result<R> {
        self.stopped_thread(tid)?;
        if self.xregs.with(tid, |_| ()).is_none() {
            let mut area = xstate::get(tid)
                .map_err(|e| thread_error(tid, "ptrace(PTRACE_GETREGSET, NT_X86_XSTATE)", e))?;
            xstate::apply_init_values(&mut area, xstate::layout());
            self.xregs.insert(tid, area);
        }
        Ok(self.xregs.with(tid, f).expect("cached above"))
    }

    /// The shared cache of XSAVE areas, for `Process`'s reads without the monitor.
    pub fn xregs(&self) -> XRegs {
        self.xregs.clone()
    }

    /// Hook, before thread `tid` runs: writes its XSAVE area back if registers were written
    /// during this stop (one SETREGSET for all of them). A failure cannot be reported to the
    /// caller any more (the checks are made when writing), so it is logged.
    pub(super) fn flush_xregs(&mut self, tid: i32) {
        if let Some(area) = self.xregs.take_dirty(tid) {
            if let Err(e) = xstate::set(tid, &area) {
                crate::engine::log::trace!("thread {tid}: writing back the XSAVE area failed: {e}");
            }
        }
    }

    /// The FXSAVE image (the kernel's `user_fpregs_struct`) of a stopped thread; the 96 bytes
    /// after xmm15 (reserved, and the kernel's software bytes) read as zeros.
    pub fn get_fpregs(&mut self, tid: i32) -> Result<[u8; xstate::FXSAVE_SIZE]> {
        self.with_area(tid, |c| {
            let mut out = [0u8; xstate::FXSAVE_SIZE];
            out[..416].copy_from_slice(&c.area[..416]);
            out
        })
    }

    /// Replaces the x87 and SSE state (the first 416 bytes of `image`, through xmm15) of a
    /// stopped thread; written before it runs again.
    pub fn set_fpregs(&mut self, tid: i32, image: &[u8; xstate::FXSAVE_SIZE]) -> Result<()> {
        let mxcsr = u32::from_le_bytes(image[24..28].try_into().expect("4 bytes"));
        let pieces = [
            xregs::Piece { component: xstate::X87, offset: 0, len: 24 },
            xregs::Piece { component: xstate::SSE, offset: 24, len: 4 },
            xregs::Piece { component: xstate::X87, offset: 32, len: 128 },
            xregs::Piece { component: xstate::SSE, offset: 160, len: 256 },
        ];
        self.with_area(tid, |cached| {
            check_mxcsr(&cached.area, mxcsr)?;
            for p in pieces {
                let bytes = &image[p.offset..p.offset + p.len];
                xregs::write_pieces(&mut cached.area, &[p], bytes);
            }
            cached.dirty = true;
            Ok(())
        })?
    }

    /// The whole XSAVE area of a stopped thread, exactly as long as the kernel's regset, with
    /// the writes made during this stop and init values for components not in use.
    pub fn get_xstate(&mut self, tid: i32) -> Result<Vec<u8>> {
        if !xstate::layout().xsave {
            return Err(Error::NotSupported("the CPU or kernel has no XSAVE".into()));
        }
        self.with_area(tid, |c| c.area.clone())
    }

    /// Writes the whole XSAVE area of a stopped thread now (the kernel checks it: the answer is
    /// the caller's); `area` must be exactly as long as `get_xstate`'s. Pending register writes
    /// of this stop are replaced by it.
    pub fn set_xstate(&mut self, tid: i32, area: &[u8]) -> Result<()> {
        if !xstate::layout().xsave {
            return Err(Error::NotSupported("the CPU or kernel has no XSAVE".into()));
        }
        let (size, mask) = self.with_area(tid, |c| (c.area.len(), xregs::mxcsr_mask(&c.area)))?;
        if area.len() != size {
            return Err(Error::InvalidArgument(format!(
                "the XSAVE area of thread {tid} is {size} bytes (what ptrace_dbg_get_xstate \
                 returns), not {}",
                area.len()
            )));
        }
        check_mxcsr_with(mask, u32::from_le_bytes(area[24..28].try_into().expect("4 bytes")))?;
        let result = xstate::set(tid, area);
        // Whatever the kernel took is what the thread has now: read it again at the next use.
        self.xregs.forget(tid);
        result.map_err(|e| match e {
            Errno::EINVAL | Errno::EFAULT => Error::InvalidArgument(format!(
                "the kernel refused the XSAVE area ({e}): its header (xstate_bv beyond the \
                 enabled features, xcomp_bv not 0, reserved bytes) or MXCSR is invalid"
            )),
            e => thread_error(tid, "ptrace(PTRACE_SETREGSET, NT_X86_XSTATE)", e),
        })
    }

    /// Register `reg` (from the catalogue, available on this machine) of stopped thread `tid`,
    /// as little-endian bytes of its size.
    pub fn read_register(&mut self, tid: i32, reg: &RegisterInfo) -> Result<Vec<u8>> {
        match &reg.location {
            Location::General(i) => {
                self.stopped_thread(tid)?;
                let regs = self.regs(tid).map_err(|e| thread_error(tid, "ptrace(GETREGS)", e))?;
                Ok(xregs::general(&regs)[*i].to_le_bytes().to_vec())
            }
            Location::Area(pieces) => self.with_area(tid, |c| xregs::read_pieces(&c.area, pieces)),
            Location::Debug(n) => {
                self.stopped_thread(tid)?;
                let v = xstate::peek_debugreg(tid, *n)
                    .map_err(|e| thread_error(tid, "ptrace(PTRACE_PEEKUSER)", e))?;
                Ok(v.to_le_bytes().to_vec())
            }
        }
    }

    /// Writes register `reg` of stopped thread `tid` from `bytes` (exactly its size). General
    /// and XSAVE registers go to the thread before it runs again; debug registers at once.
    pub fn write_register(&mut self, tid: i32, reg: &RegisterInfo, bytes: &[u8]) -> Result<()> {
        match &reg.location {
            Location::General(i) => {
                self.stopped_thread(tid)?;
                let mut regs =
                    self.regs(tid).map_err(|e| thread_error(tid, "ptrace(GETREGS)", e))?;
                let value = u64::from_le_bytes(bytes.try_into().expect("size checked"));
                xregs::set_general(&mut regs, *i, value);
                // The kernel checks segment selectors and bases (privilege level, a user
                // address): those are written at once, so a refusal reaches the caller
                // instead of being lost at the resume. The rest wait for it.
                let checked = KERNEL_CHECKED.contains(&REG_NAMES[*i]);
                if checked {
                    ptrace::set_regs(tid, &regs)
                        .map_err(|e| thread_error(tid, "ptrace(PTRACE_SETREGS)", e))?;
                }
                let check_pc = self.regs_written_may_sit_on_breakpoint(tid);
                let t = self.threads.get_mut(&tid).expect("stopped thread");
                t.regs = Some(regs);
                t.regs_dirty = !checked;
                // Its PC may now be on a breakpoint: the next continue must check.
                t.check_pc |= check_pc;
                self.dirty = true;
                Ok(())
            }
            Location::Area(pieces) => self.with_area(tid, |cached| {
                if reg.name == "mxcsr" {
                    check_mxcsr(&cached.area, u32::from_le_bytes(bytes.try_into().expect("4")))?;
                }
                xregs::write_pieces(&mut cached.area, pieces, bytes);
                cached.dirty = true;
                Ok(())
            })?,
            Location::Debug(n) => {
                self.stopped_thread(tid)?;
                let value = u64::from_le_bytes(bytes.try_into().expect("size checked"));
                self.watch_note_raw_write(); // watch.rs: detach clears DR7 then
                xstate::poke_debugreg(tid, *n, value).map_err(|e| match e {
                    Errno::EINVAL | Errno::EIO | Errno::EPERM => Error::InvalidArgument(format!(
                        "the kernel refused {} = {value:#x} ({e})",
                        reg.name
                    )),
                    e => thread_error(tid, "ptrace(PTRACE_POKEUSER)", e),
                })
            }
        }
    }
}

/// General registers whose values the kernel checks on PTRACE_SETREGS.
const KERNEL_CHECKED: [&str; 8] = ["cs", "ss", "ds", "es", "fs", "gs", "fs_base", "gs_base"];

/// The kernel refuses (EINVAL, at the write-back where nobody could be told) an MXCSR with bits
/// outside the CPU's mask: refuse it when it is written instead.
fn check_mxcsr(area: &[u8], mxcsr: u32) -> Result<()> {
    check_mxcsr_with(xregs::mxcsr_mask(area), mxcsr)
}

/// As `check_mxcsr`, with the mask at hand.
fn check_mxcsr_with(mask: u32, mxcsr: u32) -> Result<()> {
    if mxcsr & !mask != 0 {
        return Err(Error::InvalidArgument(format!(
            "mxcsr {mxcsr:#x} sets bits the CPU reserves (mask {mask:#x})"
        )));
    }
    Ok(())
}
