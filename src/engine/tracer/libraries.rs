//! The tracer's hooks for shared libraries (state and logic in `engine::solib`): library
//! events, symbol breakpoints, the internal rendezvous breakpoint's hits, and exec.
//!
//! Every method here runs on the monitor thread.

use super::*;
use crate::engine::solib::View;

/// `ptrace_dbg_set_follow` flag: report `CauseKind::Library` stops.
pub const FOLLOW_LIBRARIES: u32 = 2;

impl Tracer {
    fn view(&self) -> Result<View> {
        View::read(self.pid, &self.memory)
    }

    /// Turns library events on or off (process stopped).
    pub fn set_follow(&mut self, flags: u32) -> Result<()> {
        self.require_stopped()?;
        let view = self.view()?;
        self.solib.events = flags & FOLLOW_LIBRARIES != 0;
        self.ever_had_breakpoints = true;
        self.solib.arm(&self.memory, &view)
    }

    /// Adds a breakpoint on `symbol` (in `library`, or in any object), set now where it
    /// resolves and later in every object that defines it as it is loaded (process stopped).
    pub fn add_symbol_breakpoint(
        &mut self,
        library: Option<String>,
        symbol: String,
    ) -> Result<i32> {
        self.require_stopped()?;
        let view = self.view()?;
        self.ever_had_breakpoints = true;
        let id = self.solib.add(&self.memory, &view, library, symbol)?;
        trace!("symbol breakpoint {id}: set at {:?}", self.solib.sites(id));
        Ok(id)
    }

    /// Removes symbol breakpoint `id` from every place it is set (process stopped).
    pub fn remove_symbol_breakpoint(&mut self, id: i32) -> Result<()> {
        self.require_stopped()?;
        let view = self.view()?;
        self.solib.remove(&self.memory, &view, id)
    }

    /// The addresses symbol breakpoint `id` is set at now.
    pub fn symbol_breakpoint_sites(&self, id: i32) -> Result<Vec<u64>> {
        self.solib.sites(id)
    }

    /// A thread hit a breakpoint that only the engine owns: the loader's rendezvous. Update
    /// the symbol breakpoints; then report a library stop if the caller asked for them and the
    /// list changed, or else let the thread go on past it without anyone seeing a stop.
    /// `regs` has the PC moved back onto the breakpoint.
    pub(super) fn on_internal_breakpoint(
        &mut self,
        tid: i32,
        addr: u64,
        mut regs: libc::user_regs_struct,
    ) -> bool {
        let changed = self.solib.on_rendezvous(self.pid, &self.memory);
        trace!("thread {tid}: loader rendezvous at {addr:#x}, list changed: {changed}");
        {
            let t = self.threads.get_mut(&tid).unwrap();
            t.regs = Some(regs);
            t.regs_dirty = true;
            t.check_pc = true;
        }
        if changed && self.solib.events {
            self.event_stop(tid, ThreadState::Stopped, Cause::of(CauseKind::Library));
            return true;
        }
        // Past it in place: the rendezvous function is a bare `ret` (or `endbr64; ret`).
        if !self.execute_in_place(tid) && self.emulate_ret(tid, &mut regs) {
            self.threads.get_mut(&tid).unwrap().check_pc = false;
        } else if self.threads[&tid].regs.map(|r| r.rip) == Some(addr) {
            // Something else: step over it out of line while the others run, as any
            // breakpoint (when the scratch slots are there); else the process stops here
            // (cause STOPPED, the thread on the breakpoint) and the next continue steps over
            // it. Not seen with glibc, whose rendezvous function is a bare `ret`.
            let running = self.run == RunState::Running && !self.stopping_all;
            let was = self.threads[&tid].state;
            self.set_state(tid, ThreadState::Stopped);
            if running && was == ThreadState::Running && self.start_out_of_line(tid) {
                self.threads.get_mut(&tid).unwrap().check_pc = false;
                return true;
            }
            self.set_cause(tid, Cause::of(CauseKind::Stopped));
            if running {
                self.event_stop(tid, ThreadState::Stopped, Cause::of(CauseKind::Stopped));
            }
            return true;
        }
        self.resume_quietly(tid);
        true
    }

    /// Executes a `ret` at the thread's PC on our side. False if it is not a `ret`.
    fn emulate_ret(&mut self, tid: i32, regs: &mut libc::user_regs_struct) -> bool {
        let mut insn = [0u8; 1];
        let mut ret = [0u8; 8];
        if self.memory.read(regs.rip, &mut insn).ok() != Some(1) || insn[0] != 0xC3 {
            return false;
        }
        if self.memory.read(regs.rsp, &mut ret).ok() != Some(8) {
            return false;
        }
        regs.rip = u64::from_le_bytes(ret);
        regs.rsp = regs.rsp.wrapping_add(8);
        if ptrace::set_regs(tid, regs).is_err() {
            return false;
        }
        let t = self.threads.get_mut(&tid).unwrap();
        t.regs = Some(*regs);
        t.regs_dirty = false;
        true
    }

    /// A rendezvous hit found at a stop (its trap taken late): update the symbol breakpoints;
    /// the thread stays where it is, on the breakpoint, stepped over at the next continue.
    pub(super) fn on_rendezvous_quietly(&mut self) {
        self.solib.on_rendezvous(self.pid, &self.memory);
    }

    /// After exec: symbol breakpoints and the rendezvous breakpoint are set in the new image.
    pub(super) fn libraries_on_exec(&mut self) {
        let view = if self.solib.is_active() { self.view().ok() } else { None };
        self.solib.on_exec(&self.memory, view.as_ref());
    }
}
