//! Every register by name: the catalogue of names this CPU and kernel have (general, x87, SSE,
//! AVX, AVX-512, PKRU, debug registers), where each one lives, and the per-thread cache of the
//! XSAVE area that reads and writes go through.
//!
//! Where a register lives:
//! - the general ones in `user_regs_struct` (the tracer's existing register cache);
//! - x87, SSE, AVX, AVX-512 and PKRU in the XSAVE area (`NT_X86_XSTATE`), at offsets from CPUID
//!   leaf 0xD (`sys::xstate::layout`). A wide register is assembled from pieces in different
//!   components, the way gdb and lldb do: ymm0-15 = xmm (SSE) + upper half (AVX); zmm0-15 =
//!   ymm + ZMM_Hi256; zmm16-31 (and xmm16-31, ymm16-31) sit whole in Hi16_ZMM.
//! - the debug registers in the kernel's `struct user` (PEEKUSER/POKEUSER, not cached: the
//!   kernel checks each write, so it is made at once and its error reported).
//!
//! The cache: one XSAVE area per stopped thread, read at the first use in a stop, with the
//! init optimisation undone (a component whose `xstate_bv` bit is clear reads as its
//! architectural initial value, never stale bytes). Writes change the cached area, set the
//! component's bit, and mark it dirty; the tracer writes it back once (one SETREGSET) before the
//! thread runs again (`Tracer::flush_regs`), and drops it when the thread leaves its stop.

use super::{Error, Result};
use crate::sys::arch::REG_NAMES;
use crate::sys::xstate::{self, Layout, AVX, HI16_ZMM, OPMASK, PKRU, SSE, X87, ZMM_HI256};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

/// A run of bytes of a register inside the XSAVE area, and the component it belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Piece {
    pub component: u32,
    pub offset: usize,
    pub len: usize,
}

/// Where a register's bytes are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// Index in `user_regs_struct` (`REG_NAMES`).
    General(usize),
    /// Pieces of the XSAVE area, lowest bytes first.
    Area(Vec<Piece>),
    /// Debug register n.
    Debug(usize),
}

/// One register of the catalogue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisterInfo {
    pub name: String,
    /// Size in bytes (little-endian).
    pub size: usize,
    pub location: Location,
    /// Why this machine lacks it (None: available).
    pub missing: Option<&'static str>,
}

/// Every register name the library knows, and the ones this machine has, in a stable order.
#[derive(Debug)]
pub struct Catalogue {
    all: Vec<RegisterInfo>,
    by_name: HashMap<String, usize>,
    /// Indices into `all` of the available registers, in catalogue order.
    available: Vec<usize>,
}

impl Catalogue {
    /// The catalogue for a layout (the machine's, or a made-up one in tests).
    pub fn new(layout: &Layout) -> Catalogue {
        let mut all = Vec::new();
        let mut add = |name: String, size: usize, location: Location, missing: Option<_>| {
            all.push(RegisterInfo { name, size, location, missing });
        };
        let piece = |component, offset, len| Piece { component, offset, len };
        let area = |pieces: &[Piece]| Location::Area(pieces.to_vec());
        for (i, name) in REG_NAMES.iter().enumerate() {
            add(name.to_string(), 8, Location::General(i), None);
        }
        for i in 0..8 {
            add(format!("st{i}"), 10, area(&[piece(X87, 32 + 16 * i, 10)]), None);
        }
        // The FXSAVE control words; 64-bit FXSAVE keeps 64-bit instruction and operand
        // pointers, split as gdb does: fioff/fiseg the low/high half of FIP, fooff/foseg FDP's.
        // ftag is the abridged tag (one bit per register: 1 = not empty), as FXSAVE stores it.
        for (name, offset, len) in [
            ("fctrl", 0, 2),
            ("fstat", 2, 2),
            ("ftag", 4, 2),
            ("fop", 6, 2),
            ("fioff", 8, 4),
            ("fiseg", 12, 4),
            ("fooff", 16, 4),
            ("foseg", 20, 4),
        ] {
            add(name.into(), len, area(&[piece(X87, offset, len)]), None);
        }
        add("mxcsr".into(), 4, area(&[piece(SSE, 24, 4)]), None);
        let xmm = |i: usize| piece(SSE, 160 + 16 * i, 16);
        for i in 0..16 {
            add(format!("xmm{i}"), 16, area(&[xmm(i)]), None);
        }
        let no_avx = (!layout.has(AVX)).then_some("the CPU or kernel has no AVX state");
        let (avx, _) = layout.component(AVX);
        let ymmh = |i: usize| piece(AVX, avx + 16 * i, 16);
        for i in 0..16 {
            add(format!("ymm{i}"), 32, area(&[xmm(i), ymmh(i)]), no_avx);
        }
        let has_avx512 = [AVX, OPMASK, ZMM_HI256, HI16_ZMM].iter().all(|b| layout.has(*b));
        let no_avx512 = (!has_avx512).then_some("the CPU or kernel has no AVX-512 state");
        let (zmmh, _) = layout.component(ZMM_HI256);
        let (hi16, _) = layout.component(HI16_ZMM);
        let (kregs, _) = layout.component(OPMASK);
        let high = |i: usize, len| piece(HI16_ZMM, hi16 + 64 * (i - 16), len);
        for i in 16..32 {
            add(format!("xmm{i}"), 16, area(&[high(i, 16)]), no_avx512);
        }
        for i in 16..32 {
            add(format!("ymm{i}"), 32, area(&[high(i, 32)]), no_avx512);
        }
        for i in 0..16 {
            let pieces = [xmm(i), ymmh(i), piece(ZMM_HI256, zmmh + 32 * i, 32)];
            add(format!("zmm{i}"), 64, area(&pieces), no_avx512);
        }
        for i in 16..32 {
            add(format!("zmm{i}"), 64, area(&[high(i, 64)]), no_avx512);
        }
        for i in 0..8 {
            add(format!("k{i}"), 8, area(&[piece(OPMASK, kregs + 8 * i, 8)]), no_avx512);
        }
        let no_pkru = (!layout.has(PKRU)).then_some("the CPU or kernel has no protection keys");
        add("pkru".into(), 4, area(&[piece(PKRU, layout.component(PKRU).0, 4)]), no_pkru);
        for i in 0..8 {
            let missing = matches!(i, 4 | 5)
                .then_some("dr4 and dr5 do not exist in 64-bit mode (they alias dr6 and dr7)");
            add(format!("dr{i}"), 8, Location::Debug(i), missing);
        }
        let by_name = all.iter().enumerate().map(|(i, r)| (r.name.clone(), i)).collect();
        let available = (0..all.len()).filter(|i| all[*i].missing.is_none()).collect();
        Catalogue { all, by_name, available }
    }

    /// The machine's catalogue, built once.
    pub fn get() -> &'static Catalogue {
        static CATALOGUE: OnceLock<Catalogue> = OnceLock::new();
        CATALOGUE.get_or_init(|| Catalogue::new(xstate::layout()))
    }

    /// The register called `name`, known whether or not this machine has it.
    pub fn find(&self, name: &str) -> Option<&RegisterInfo> {
        self.by_name.get(name).map(|i| &self.all[*i])
    }

    /// The register called `name` if this machine has it: `InvalidArgument` for a name no
    /// register has, `NotSupported` for one this CPU or kernel lacks.
    pub fn lookup(&self, name: &str) -> Result<&RegisterInfo> {
        let reg = self
            .find(name)
            .ok_or_else(|| Error::InvalidArgument(format!("no register is called {name:?}")))?;
        match reg.missing {
            Some(why) => Err(Error::NotSupported(format!("register {name}: {why}"))),
            None => Ok(reg),
        }
    }

    /// How many registers this machine has.
    pub fn count(&self) -> usize {
        self.available.len()
    }

    /// The `index`-th register this machine has.
    pub fn available(&self, index: usize) -> Option<&RegisterInfo> {
        self.available.get(index).map(|i| &self.all[*i])
    }
}

/// The XSAVE area of one stopped thread, as read at this stop and changed since.
#[derive(Debug, Clone)]
pub struct CachedArea {
    /// Standard-format XSAVE area of the kernel's exact size (or an FXSAVE image without
    /// XSAVE), init values filled in.
    pub area: Vec<u8>,
    /// Changed since it was read: must be written back before the thread runs.
    pub dirty: bool,
}

/// The extended-register state of the tracer: the cached areas of stopped threads.
///
/// The monitor thread fills and changes them; API threads read registers straight from them
/// (`Process::read_register`), as they read the general registers from the published
/// snapshot, so a read of a register during a stop costs no trip to the monitor after the
/// first. An area is removed when its thread leaves its stop, before the thread's new state is
/// published: a reader that finds one reads the registers of the stop the snapshot shows.
#[derive(Debug, Default, Clone)]
pub struct XRegs {
    areas: Arc<Mutex<HashMap<i32, CachedArea>>>,
}

impl XRegs {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<i32, CachedArea>> {
        // Nothing panics while holding it; a poisoned map is still consistent.
        self.areas.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `f` on the cached area of `tid`, if it was read during this stop.
    pub fn with<R>(&self, tid: i32, f: impl FnOnce(&mut CachedArea) -> R) -> Option<R> {
        self.lock().get_mut(&tid).map(f)
    }

    /// Caches a freshly read area.
    pub fn insert(&self, tid: i32, area: Vec<u8>) {
        self.lock().insert(tid, CachedArea { area, dirty: false });
    }

    /// Register bytes from the cached area of `tid`, if there is one (any thread).
    pub fn read(&self, tid: i32, pieces: &[Piece]) -> Option<Vec<u8>> {
        self.with(tid, |c| read_pieces(&c.area, pieces))
    }

    /// Hook: the thread left its stop (resumed, exited, detached): the area is no longer known.
    pub fn forget(&self, tid: i32) {
        self.lock().remove(&tid);
    }

    /// Hook: before the thread runs: the area to write back, if it was changed.
    pub fn take_dirty(&self, tid: i32) -> Option<Vec<u8>> {
        self.with(tid, |cached| {
            let dirty = std::mem::replace(&mut cached.dirty, false);
            dirty.then(|| cached.area.clone())
        })
        .flatten()
    }
}

/// A register's bytes: its pieces of `area`, concatenated.
pub fn read_pieces(area: &[u8], pieces: &[Piece]) -> Vec<u8> {
    let mut out = Vec::with_capacity(pieces.iter().map(|p| p.len).sum());
    for p in pieces {
        out.extend_from_slice(&area[p.offset..p.offset + p.len]);
    }
    out
}

/// Writes `bytes` over the pieces in `area` and sets each piece's component bit (or the
/// kernel would restore the initial value over them). `bytes` has the register's size.
pub fn write_pieces(area: &mut [u8], pieces: &[Piece], bytes: &[u8]) {
    let mut bv_bits = 0u64;
    let mut at = 0;
    for p in pieces {
        area[p.offset..p.offset + p.len].copy_from_slice(&bytes[at..at + p.len]);
        at += p.len;
        bv_bits |= 1 << p.component;
    }
    if area.len() >= xstate::FXSAVE_SIZE + xstate::XSAVE_HEADER_SIZE {
        let bv = xstate::read_bv(area);
        xstate::write_bv(area, bv | bv_bits);
    }
}

/// The MXCSR bits the CPU accepts, from the FXSAVE image (0 there means the default 0xffbf).
pub fn mxcsr_mask(area: &[u8]) -> u32 {
    let mask = u32::from_le_bytes(area[28..32].try_into().expect("4 bytes"));
    if mask == 0 {
        0xffbf
    } else {
        mask
    }
}

/// `user_regs_struct` as an array in `REG_NAMES` order.
pub fn general(r: &libc::user_regs_struct) -> [u64; 27] {
    [
        r.r15, r.r14, r.r13, r.r12, r.rbp, r.rbx, r.r11, r.r10, r.r9, r.r8, r.rax, r.rcx, r.rdx,
        r.rsi, r.rdi, r.orig_rax, r.rip, r.cs, r.eflags, r.rsp, r.ss, r.fs_base, r.gs_base, r.ds,
        r.es, r.fs, r.gs,
    ]
}

/// Sets field `i` (`REG_NAMES` order) of `user_regs_struct`.
pub fn set_general(r: &mut libc::user_regs_struct, i: usize, v: u64) {
    let field = match i {
        0 => &mut r.r15,
        1 => &mut r.r14,
        2 => &mut r.r13,
        3 => &mut r.r12,
        4 => &mut r.rbp,
        5 => &mut r.rbx,
        6 => &mut r.r11,
        7 => &mut r.r10,
        8 => &mut r.r9,
        9 => &mut r.r8,
        10 => &mut r.rax,
        11 => &mut r.rcx,
        12 => &mut r.rdx,
        13 => &mut r.rsi,
        14 => &mut r.rdi,
        15 => &mut r.orig_rax,
        16 => &mut r.rip,
        17 => &mut r.cs,
        18 => &mut r.eflags,
        19 => &mut r.rsp,
        20 => &mut r.ss,
        21 => &mut r.fs_base,
        22 => &mut r.gs_base,
        23 => &mut r.ds,
        24 => &mut r.es,
        25 => &mut r.fs,
        _ => &mut r.gs,
    };
    *field = v;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout(xcr0: u64) -> Layout {
        // Intel's offsets (gdb's i387_guess_xsave_layout).
        let mut components = [(0, 0); 64];
        components[2] = (576, 256);
        components[5] = (1088, 64);
        components[6] = (1152, 512);
        components[7] = (1664, 1024);
        components[9] = (2688, 8);
        Layout { xcr0, xsave: true, size: 2696, components }
    }

    #[test]
    fn names_are_unique_and_sizes_match_their_pieces() {
        let c = Catalogue::new(&layout(0x2e7));
        assert_eq!(c.by_name.len(), c.all.len());
        for r in &c.all {
            if let Location::Area(pieces) = &r.location {
                assert_eq!(pieces.iter().map(|p| p.len).sum::<usize>(), r.size, "{}", r.name);
            }
        }
        let zmm3 = c.find("zmm3").unwrap();
        assert_eq!(
            zmm3.location,
            Location::Area(vec![
                Piece { component: SSE, offset: 160 + 48, len: 16 },
                Piece { component: AVX, offset: 576 + 48, len: 16 },
                Piece { component: ZMM_HI256, offset: 1152 + 96, len: 32 },
            ])
        );
        assert_eq!(
            c.find("k7").unwrap().location,
            Location::Area(vec![Piece { component: OPMASK, offset: 1088 + 56, len: 8 }])
        );
        assert_eq!(c.available(0).unwrap().name, "r15");
        assert!(c.find("dr4").unwrap().missing.is_some());
        assert!(c.find("ZMM3").is_none());
    }

    #[test]
    fn a_cpu_without_avx512_lists_no_zmm_but_knows_the_names() {
        let full = Catalogue::new(&layout(0x2e7));
        let avx_only = Catalogue::new(&layout(0x7));
        let sse_only = Catalogue::new(&Layout { xcr0: 3, xsave: false, ..layout(3) });
        assert!(avx_only.count() < full.count() && sse_only.count() < avx_only.count());
        assert!(avx_only.find("zmm0").unwrap().missing.is_some());
        assert!(avx_only.find("ymm15").unwrap().missing.is_none());
        assert!(sse_only.find("ymm0").unwrap().missing.is_some());
        let names = |c: &Catalogue| -> Vec<String> {
            (0..c.count()).map(|i| c.available(i).unwrap().name.clone()).collect()
        };
        assert!(names(&avx_only).iter().all(|n| !n.starts_with('k') && !n.starts_with("zmm")));
        assert!(names(&full).contains(&"zmm31".to_string()));
        assert!(names(&full).contains(&"pkru".to_string()));
    }

    #[test]
    fn writing_pieces_sets_their_component_bits() {
        let l = layout(0x2e7);
        let c = Catalogue::new(&l);
        let mut area = vec![0u8; l.size];
        let Location::Area(pieces) = &c.find("zmm1").unwrap().location else { panic!() };
        let bytes: Vec<u8> = (0..64).collect();
        write_pieces(&mut area, pieces, &bytes);
        assert_eq!(xstate::read_bv(&area), 1 << SSE | 1 << AVX | 1 << ZMM_HI256);
        assert_eq!(read_pieces(&area, pieces), bytes);
        assert_eq!(&area[176..192], &bytes[..16]);
    }

    #[test]
    fn general_and_set_general_follow_reg_names() {
        let mut r = crate::sys::arch::ZERO_REGS;
        for i in 0..REG_NAMES.len() {
            set_general(&mut r, i, 1000 + i as u64);
        }
        let all = general(&r);
        for (i, v) in all.iter().enumerate() {
            assert_eq!(*v, 1000 + i as u64, "{}", REG_NAMES[i]);
        }
        assert_eq!((r.rip, r.rsp, r.eflags), (1016, 1019, 1018));
    }
}
