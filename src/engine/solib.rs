//! Shared libraries: the dynamic loader's rendezvous (`r_debug`, `link_map`), the loaded
//! objects in load order, symbol breakpoints that follow `dlopen`/`dlclose`, and the lookup
//! cache API threads use for symbols.
//!
//! Finding the rendezvous, as gdbserver does: the program's `PT_DYNAMIC` (located through
//! `AT_PHDR` of `/proc/PID/auxv` and the load bias) holds `DT_DEBUG`, which ld.so fills with
//! `&_r_debug`; before ld.so has run it is 0, and then `_r_debug` in the interpreter (based at
//! `AT_BASE`) is the fallback. `r_debug` = {int r_version; link_map *r_map; r_brk; r_state;
//! r_ldbase}; `link_map` = {l_addr, l_name, l_ld, l_next, l_prev}. ld.so calls `r_brk`
//! (`_dl_debug_state`, an empty function) before and after every change of the list, with
//! `r_state` RT_ADD or RT_DELETE, then RT_CONSISTENT. The engine keeps an internal breakpoint
//! there (only while someone needs it: a symbol breakpoint or library events), never shown as
//! a stop of its own unless library events were asked for.
//!
//! What is resolvable when:
//! - stopped at a launched program's first instruction, ld.so has not run: `r_debug` is empty,
//!   the objects are the program and ld.so (from `/proc/PID/maps`); symbols of both resolve,
//!   and `_dl_debug_state` of ld.so takes the internal breakpoint;
//! - after ld.so's start-up (the first RT_CONSISTENT), every `DT_NEEDED` library;
//! - a static program is a single object with no loader: its symbols resolve, nothing is ever
//!   loaded later (a symbol it does not define is NOT_FOUND at once).

use super::breakpoints::{Memory, Owner};
use super::symbols::{self, Module, ModuleKey};
use super::{Error, Result};
use crate::sys::maps::{self, MapEntry};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

const AT_PHDR: u64 = 3;
const AT_BASE: u64 = 7;
const DT_NULL: u64 = 0;
const DT_DEBUG: u64 = 21;
/// `r_state`: the list is consistent (RT_ADD = 1 and RT_DELETE = 2 mean a change under way).
pub const RT_CONSISTENT: u64 = 0;
/// The names ld.so's rendezvous function goes by (gdb's `solib_break_names`).
const BREAK_NAMES: [&str; 3] = ["_dl_debug_state", "_r_debug_state", "r_debug_state"];
/// Longest list walked and longest name read: a corrupt list must not loop forever.
const MAX_OBJECTS: usize = 65536;
const MAX_NAME: usize = 4096;

fn word(mem: &Memory, addr: u64) -> Option<u64> {
    let mut b = [0u8; 8];
    (mem.read(addr, &mut b).ok()? == 8).then(|| u64::from_le_bytes(b))
}

fn c_string(mem: &Memory, addr: u64) -> Option<String> {
    let mut out = Vec::new();
    let mut chunk = [0u8; 256];
    while out.len() < MAX_NAME {
        // Read up to the end of the page, so a name at the end of a mapping reads.
        let at = addr + out.len() as u64;
        let n = chunk.len().min((4096 - (at % 4096)) as usize);
        let got = match mem.read(at, &mut chunk[..n]) {
            Ok(got) => got,
            Err((got, _)) if got > 0 => got,
            Err(_) => return None,
        };
        if let Some(nul) = chunk[..got].iter().position(|&c| c == 0) {
            out.extend_from_slice(&chunk[..nul]);
            return Some(String::from_utf8_lossy(&out).into_owned());
        }
        out.extend_from_slice(&chunk[..got]);
    }
    Some(String::from_utf8_lossy(&out).into_owned())
}

/// One entry of the loader's list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Library {
    /// `l_addr`: the load bias.
    pub base: u64,
    /// `l_ld`: its dynamic section.
    pub dynamic: u64,
    /// The `link_map` entry's address (0 when the list came from the maps, before ld.so ran).
    pub link_map: u64,
    /// `l_name`, or the program's path for the program (whose `l_name` is empty).
    pub path: String,
}

/// The objects of a process at one moment: its maps, the ELF images in them, and the auxv.
pub struct View {
    pub maps: Vec<MapEntry>,
    /// In address order.
    pub modules: Vec<Module>,
    /// Indices into `modules`: the program first, then the loader's order, then the rest.
    pub order: Vec<usize>,
    exe: Option<usize>,
    interp: Option<usize>,
    r_debug: Option<u64>,
}

/// A failed read of /proc/PID/maps: the process gone is `Exited`.
pub(super) fn os_error(e: nix::errno::Errno) -> Error {
    match e {
        nix::errno::Errno::ENOENT | nix::errno::Errno::ESRCH => Error::Exited,
        e => Error::os("read(/proc/PID/maps)", e),
    }
}

impl View {
    /// Reads the maps, auxv and (through `mem`) the rendezvous of process `pid`.
    pub fn read(pid: i32, mem: &Memory) -> Result<View> {
        let maps = maps::maps(pid).map_err(os_error)?;
        let auxv = maps::auxv(pid).unwrap_or_default();
        let aux = |t| auxv.iter().find(|(k, _)| *k == t).map(|(_, v)| *v);
        let modules = symbols::modules(pid, &maps);
        let exe = aux(AT_PHDR)
            .and_then(|phdr| modules.iter().position(|m| m.start <= phdr && phdr < m.end));
        let interp = aux(AT_BASE)
            .filter(|&b| b != 0)
            .and_then(|b| modules.iter().position(|m| m.bias == b && m.file.is_dyn));
        let mut view = View { maps, modules, order: Vec::new(), exe, interp, r_debug: None };
        view.r_debug = view.find_r_debug(mem);
        let list = view.link_maps(mem).unwrap_or_default();
        let mut order: Vec<usize> = view.exe.into_iter().collect();
        for l in &list {
            let m = view
                .modules
                .iter()
                .position(|m| m.bias == l.base && (l.link_map == 0 || m.file.dynamic.is_some()));
            if let Some(i) = m.filter(|i| !order.contains(i)) {
                order.push(i);
            }
        }
        for i in 0..view.modules.len() {
            if !order.contains(&i) && Some(i) != view.interp {
                order.push(i);
            }
        }
        if let Some(i) = view.interp.filter(|i| !order.contains(i)) {
            order.push(i);
        }
        view.order = order;
        Ok(view)
    }

    /// The address of `r_debug` once ld.so has set it up (`DT_DEBUG`, else `_r_debug`).
    fn find_r_debug(&self, mem: &Memory) -> Option<u64> {
        let initialised = |addr: u64| word(mem, addr).is_some_and(|v| v as u32 != 0);
        if let Some(exe) = self.exe.map(|i| &self.modules[i]) {
            if let Some(dynamic) = exe.file.dynamic {
                let mut at = dynamic.wrapping_add(exe.bias);
                for _ in 0..4096 {
                    let (tag, val) = (word(mem, at)?, word(mem, at + 8)?);
                    if tag == DT_NULL {
                        break;
                    }
                    if tag == DT_DEBUG && val != 0 && initialised(val) {
                        return Some(val);
                    }
                    at += 16;
                }
            }
        }
        let interp = &self.modules[self.interp?];
        interp.lookup("_r_debug").filter(|&a| initialised(a))
    }

    /// The loader's list of objects, in load order, when ld.so has set it up.
    pub fn link_maps(&self, mem: &Memory) -> Option<Vec<Library>> {
        let r_debug = self.r_debug?;
        let mut lm = word(mem, r_debug + 8)?;
        let mut out = Vec::new();
        while lm != 0 && out.len() < MAX_OBJECTS {
            let base = word(mem, lm)?;
            let name = word(mem, lm + 8)?;
            let dynamic = word(mem, lm + 16)?;
            let mut path = if name == 0 { String::new() } else { c_string(mem, name)? };
            if path.is_empty() && out.is_empty() {
                path = self.exe.map(|i| self.modules[i].path.clone()).unwrap_or_default();
            }
            out.push(Library { base, dynamic, link_map: lm, path });
            lm = word(mem, lm + 24)?;
        }
        Some(out)
    }

    /// `r_state` of the rendezvous, when there is one.
    pub fn r_state(&self, mem: &Memory) -> Option<u64> {
        word(mem, self.r_debug? + 24).map(|v| v & 0xffff_ffff)
    }

    /// The loaded objects: the loader's list, or before ld.so ran (and for a static program)
    /// the program and the interpreter from the maps, with `link_map` 0.
    pub fn libraries(&self, mem: &Memory) -> Vec<Library> {
        if let Some(list) = self.link_maps(mem).filter(|l| !l.is_empty()) {
            return list;
        }
        [self.exe, self.interp]
            .into_iter()
            .flatten()
            .map(|i| {
                let m = &self.modules[i];
                Library {
                    base: if m.file.is_dyn { m.bias } else { 0 },
                    dynamic: m.file.dynamic.map_or(0, |d| d.wrapping_add(m.bias)),
                    link_map: 0,
                    path: m.path.clone(),
                }
            })
            .collect()
    }

    /// Where ld.so reports changes: `r_brk` once set up, else its `_dl_debug_state`.
    pub fn break_address(&self, mem: &Memory) -> Option<u64> {
        if let Some(brk) = self.r_debug.and_then(|r| word(mem, r + 16)).filter(|&b| b != 0) {
            return Some(brk);
        }
        let interp = &self.modules[self.interp?];
        BREAK_NAMES.iter().find_map(|n| interp.lookup_code(n))
    }

    /// The modules a `library` argument selects, in search order. Without a name the vDSO
    /// is left out: calls bind to libc's `clock_gettime`, not to the vDSO's (which libc calls),
    /// and a breakpoint by name must not land in it unless asked for by name.
    pub fn selected<'a>(&'a self, library: Option<&'a str>) -> impl Iterator<Item = &'a Module> {
        self.order
            .iter()
            .map(|&i| &self.modules[i])
            .filter(move |m| library.is_none_or_named(m))
            .filter(move |m| library.is_some() || !m.path.starts_with('['))
    }

    /// The address of `symbol` in the first selected module that defines it.
    pub fn symbol_address(&self, library: Option<&str>, symbol: &str) -> Result<u64> {
        if let Some(lib) = library {
            if self.selected(Some(lib)).next().is_none() {
                return Err(Error::NotFound(format!("no loaded object is named {lib}")));
            }
        }
        self.selected(library).find_map(|m| m.lookup(symbol)).ok_or_else(|| {
            Error::NotFound(match library {
                Some(lib) => format!("{lib} defines no symbol {symbol}"),
                None => format!("no loaded object defines a symbol {symbol}"),
            })
        })
    }
}

trait LibraryFilter {
    fn is_none_or_named(&self, m: &Module) -> bool;
}

impl LibraryFilter for Option<&str> {
    fn is_none_or_named(&self, m: &Module) -> bool {
        self.map_or(true, |l| m.is_named(l))
    }
}

// ----- the API threads' side: a cached view for symbol lookups -----------------------------------

/// What the API threads of one `Process` keep: the last view (reused while the process stays
/// stopped, so 100,000 address lookups read `/proc` once) and the last listings whose entries
/// `mapping_path`/`library_path` name by index.
#[derive(Default)]
pub struct Lookup {
    /// Bumped at every resume: a view read before it may be stale (mmap, dlopen, exec).
    epoch: AtomicU64,
    view: Mutex<Option<(u64, Arc<View>)>>,
    pub last_maps: Mutex<Vec<MapEntry>>,
    pub last_libraries: Mutex<Vec<Library>>,
}

impl Lookup {
    /// The process is about to run: cached views may go stale.
    pub fn invalidate(&self) {
        self.epoch.fetch_add(1, Ordering::AcqRel);
        *self.view.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }

    /// The current view: cached while the process stays stopped, read afresh otherwise.
    pub fn view(&self, pid: i32, mem: &Memory, stopped: impl Fn() -> bool) -> Result<Arc<View>> {
        let epoch = self.epoch.load(Ordering::Acquire);
        if let Some((e, v)) = &*self.view.lock().unwrap_or_else(|p| p.into_inner()) {
            if *e == epoch && stopped() {
                return Ok(v.clone());
            }
        }
        let view = Arc::new(View::read(pid, mem)?);
        if stopped() && self.epoch.load(Ordering::Acquire) == epoch {
            *self.view.lock().unwrap_or_else(|p| p.into_inner()) = Some((epoch, view.clone()));
        }
        Ok(view)
    }
}

// ----- the monitor's side: the internal breakpoint and symbol breakpoints ------------------------

/// A breakpoint by symbol name, set in every loaded object that defines it and in every object
/// loaded later that does.
#[derive(Debug)]
struct SymbolBreakpoint {
    library: Option<String>,
    symbol: String,
    /// Where it is set: the address and the image it is in.
    sites: Vec<(u64, ModuleKey)>,
}

/// The monitor's library state (owned by the `Tracer`).
#[derive(Debug, Default)]
pub struct Solib {
    /// The caller asked for `PTRACE_DBG_CAUSE_LIBRARY` stops.
    pub events: bool,
    /// The internal breakpoint on the loader's rendezvous function, when set.
    brk: Option<u64>,
    bps: BTreeMap<i32, SymbolBreakpoint>,
    next_id: i32,
    /// The loader's list at the last RT_CONSISTENT: (link_map, l_addr) of each entry.
    last_list: Vec<(u64, u64)>,
    /// Where `r_debug` is, once seen: a hit in the middle of a change (RT_ADD, RT_DELETE)
    /// then costs one memory read, not a look at every object.
    r_debug: Option<u64>,
}

impl Solib {
    /// Whether `addr` is the internal rendezvous breakpoint.
    pub fn is_brk(&self, addr: u64) -> bool {
        self.brk == Some(addr)
    }

    /// Sets or removes the internal breakpoint as needed. Monitor thread, process stopped.
    pub fn arm(&mut self, mem: &Memory, view: &View) -> Result<()> {
        let needed = self.events || !self.bps.is_empty();
        match (needed, self.brk) {
            (true, None) => {
                if let Some(addr) = view.break_address(mem) {
                    mem.acquire(addr, Owner::Internal)?;
                    self.brk = Some(addr);
                }
                if self.last_list.is_empty() {
                    self.last_list = list_key(view, mem);
                }
            }
            (false, Some(addr)) => {
                mem.release(addr, Owner::Internal, true);
                self.brk = None;
            }
            _ => {}
        }
        Ok(())
    }

    /// Whether the process has a loader that can still load objects (the internal breakpoint
    /// is or can be set).
    pub fn has_rendezvous(&self, mem: &Memory, view: &View) -> bool {
        self.brk.is_some() || view.break_address(mem).is_some()
    }

    /// Adds a symbol breakpoint and sets it wherever it resolves now. Monitor thread, stopped.
    pub fn add(
        &mut self,
        mem: &Memory,
        view: &View,
        library: Option<String>,
        symbol: String,
    ) -> Result<i32> {
        self.next_id += 1;
        let id = self.next_id;
        self.bps.insert(id, SymbolBreakpoint { library, symbol, sites: Vec::new() });
        self.resync(mem, view);
        let resolved = !self.bps[&id].sites.is_empty();
        if !resolved && !self.has_rendezvous(mem, view) {
            let bp = self.bps.remove(&id).expect("inserted above");
            return Err(Error::NotFound(format!(
                "no loaded object defines {}, and the program has no dynamic loader to load one \
                 later",
                bp.symbol
            )));
        }
        self.arm(mem, view)?;
        Ok(id)
    }

    /// Removes a symbol breakpoint from every place it is set. Monitor thread, stopped.
    pub fn remove(&mut self, mem: &Memory, view: &View, id: i32) -> Result<()> {
        let bp = self
            .bps
            .remove(&id)
            .ok_or_else(|| Error::NotFound(format!("no symbol breakpoint with id {id}")))?;
        for (addr, _) in bp.sites {
            mem.release(addr, Owner::Symbol, true);
        }
        self.arm(mem, view)
    }

    /// Where symbol breakpoint `id` is set now.
    pub fn sites(&self, id: i32) -> Result<Vec<u64>> {
        let bp = self
            .bps
            .get(&id)
            .ok_or_else(|| Error::NotFound(format!("no symbol breakpoint with id {id}")))?;
        Ok(bp.sites.iter().map(|&(a, _)| a).collect())
    }

    /// Brings the symbol breakpoints in line with the objects mapped now: sites in objects
    /// that are gone are forgotten without writing (that memory is no longer theirs), and
    /// every object that defines a breakpoint's symbol and has no site yet gets one.
    fn resync(&mut self, mem: &Memory, view: &View) {
        let live: std::collections::HashSet<ModuleKey> =
            view.modules.iter().map(|m| m.key).collect();
        for bp in self.bps.values_mut() {
            bp.sites.retain(|&(addr, key)| {
                let keep = live.contains(&key);
                if !keep {
                    mem.release(addr, Owner::Symbol, false);
                }
                keep
            });
            for m in view.selected(bp.library.as_deref()) {
                if bp.sites.iter().any(|&(_, k)| k == m.key) {
                    continue;
                }
                if let Some(addr) = m.lookup_code(&bp.symbol) {
                    if mem.acquire(addr, Owner::Symbol).is_ok() {
                        bp.sites.push((addr, m.key));
                    }
                }
            }
        }
    }

    /// The rendezvous breakpoint was hit: at RT_CONSISTENT, brings symbol breakpoints up to
    /// date. Returns whether the loader's list changed since the last time. Monitor thread,
    /// the hitting thread stopped.
    pub fn on_rendezvous(&mut self, pid: i32, mem: &Memory) -> bool {
        let state = |r: u64| word(mem, r + 24).map(|v| v & 0xffff_ffff);
        if self.r_debug.and_then(state).is_some_and(|s| s != RT_CONSISTENT) {
            return false;
        }
        let Ok(view) = View::read(pid, mem) else { return false };
        self.r_debug = view.r_debug;
        if view.r_state(mem).is_some_and(|s| s != RT_CONSISTENT) {
            return false;
        }
        self.resync(mem, &view);
        let list = list_key(&view, mem);
        let changed = list != self.last_list;
        self.last_list = list;
        changed
    }

    /// Whether anything needs the rendezvous (symbol breakpoints or library events).
    pub fn is_active(&self) -> bool {
        self.events || !self.bps.is_empty()
    }

    /// After exec: the old image's addresses mean nothing (the table was cleared with it).
    /// Symbol breakpoints stay, and are set in the new image when `view` of it is given.
    pub fn on_exec(&mut self, mem: &Memory, view: Option<&View>) {
        self.brk = None;
        self.r_debug = None;
        self.last_list.clear();
        for bp in self.bps.values_mut() {
            bp.sites.clear();
        }
        if let Some(view) = view {
            self.resync(mem, view);
            let _ = self.arm(mem, view);
        }
    }
}

fn list_key(view: &View, mem: &Memory) -> Vec<(u64, u64)> {
    view.link_maps(mem).unwrap_or_default().iter().map(|l| (l.link_map, l.base)).collect()
}
