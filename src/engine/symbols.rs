//! ELF symbols of the objects a process maps, and where they are in it.
//!
//! A [`SymbolFile`] is one ELF file's symbols (`.symtab`, `.dynsym`, and the `.symtab` of a
//! separate debug file under `/usr/lib/debug` when one is installed), read once with the
//! `object` crate and kept in a process-wide cache keyed by path, device, inode, mtime and size,
//! so a file replaced on disk is read again and an unchanged one never is. It has a name index
//! and an address-sorted table, so address-to-symbol is a binary search, not a scan.
//!
//! A [`Module`] is one mapped image of such a file in a process: the address range it covers
//! and its load bias (runtime address = file address + bias), found from `/proc/PID/maps` and
//! the file's `PT_LOAD` headers. The file is read through `/proc/PID/map_files`, which opens
//! the very file the process mapped even when the path now names another one.
//!
//! What is resolvable when: the modules are whatever is mapped. At a launched program's first
//! instruction (the loader has not run) that is the program and the dynamic loader; libraries
//! appear as the loader maps them. A static binary is one module. No code here runs on the
//! monitor thread only: it reads `/proc` and files, never ptrace.

use crate::sys::maps::{self, MapEntry};
use object::read::elf::{ElfFile64, FileHeader, ProgramHeader};
use object::{Object, ObjectSymbol, SymbolKind};
use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::sync::{Arc, Mutex};

const PAGE: u64 = 4096;

fn page_down(a: u64) -> u64 {
    a & !(PAGE - 1)
}

/// One `PT_LOAD` program header.
#[derive(Debug, Clone, Copy)]
pub struct Segment {
    pub vaddr: u64,
    pub memsz: u64,
    pub offset: u64,
}

/// A symbol found by name: its file address and size.
#[derive(Debug, Clone, Copy)]
struct Named {
    addr: u64,
    size: u64,
    /// 0 global, 1 weak, 2 local: the better definition wins when several share a name.
    rank: u8,
    code: bool,
}

/// One entry of the address table: `[start, end)` in file addresses.
#[derive(Debug, Clone)]
struct Entry {
    start: u64,
    end: u64,
    name: Arc<str>,
}

/// The symbols of one ELF file.
#[derive(Debug)]
pub struct SymbolFile {
    /// `ET_DYN` (PIE or shared library): loaded at a bias chosen at run time.
    pub is_dyn: bool,
    pub segments: Vec<Segment>,
    /// `PT_DYNAMIC`'s file address, if the file has one.
    pub dynamic: Option<u64>,
    /// The separate debug file whose `.symtab` was read too, if any.
    pub debug_file: Option<String>,
    by_name: HashMap<Arc<str>, Named>,
    table: Vec<Entry>,
}

/// A symbol read from a file, before indexing.
struct Raw {
    name: Arc<str>,
    addr: u64,
    size: u64,
    rank: u8,
    code: bool,
}

fn collect<'d: 'f, 'f>(
    syms: impl Iterator<Item = object::read::elf::ElfSymbol64<'d, 'f>>,
) -> Vec<Raw> {
    let mut out = Vec::new();
    for s in syms {
        if !s.is_definition() || s.address() == 0 {
            continue;
        }
        let code = match s.kind() {
            SymbolKind::Text => true,
            SymbolKind::Data => false,
            _ => continue,
        };
        let Ok(name) = s.name() else { continue };
        if name.is_empty() {
            continue;
        }
        let rank = if s.is_weak() {
            1
        } else if s.is_global() {
            0
        } else {
            2
        };
        out.push(Raw { name: Arc::from(name), addr: s.address(), size: s.size(), rank, code });
    }
    out
}

impl SymbolFile {
    /// Parses an ELF64 file's headers and symbols; `debug` adds a debug file's `.symtab`.
    fn parse(data: &[u8], debug: Option<(&[u8], String)>) -> Result<SymbolFile, String> {
        let elf = ElfFile64::<object::Endianness>::parse(data).map_err(|e| e.to_string())?;
        let endian = elf.endian();
        let mut segments = Vec::new();
        let mut dynamic = None;
        for ph in elf.elf_program_headers() {
            match ph.p_type(endian) {
                object::elf::PT_LOAD => segments.push(Segment {
                    vaddr: ph.p_vaddr(endian),
                    memsz: ph.p_memsz(endian),
                    offset: ph.p_offset(endian),
                }),
                object::elf::PT_DYNAMIC => dynamic = Some(ph.p_vaddr(endian)),
                _ => {}
            }
        }
        let is_dyn = elf.elf_header().e_type(endian) == object::elf::ET_DYN;
        let mut raw = collect(elf.symbols());
        raw.extend(collect(elf.dynamic_symbols()));
        let mut debug_file = None;
        if let Some((d, path)) = debug {
            if let Ok(delf) = ElfFile64::<object::Endianness>::parse(d) {
                raw.extend(collect(delf.symbols()));
                debug_file = Some(path);
            }
        }
        Ok(SymbolFile::index(is_dyn, segments, dynamic, debug_file, raw))
    }

    fn index(
        is_dyn: bool,
        segments: Vec<Segment>,
        dynamic: Option<u64>,
        debug_file: Option<String>,
        raw: Vec<Raw>,
    ) -> SymbolFile {
        let mut by_name: HashMap<Arc<str>, Named> = HashMap::with_capacity(raw.len());
        let mut add = |name: Arc<str>, n: Named| {
            let better =
                by_name.get(&name).map_or(true, |old| (n.rank, !n.code) < (old.rank, !old.code));
            if better {
                by_name.insert(name, n);
            }
        };
        for r in &raw {
            let n = Named { addr: r.addr, size: r.size, rank: r.rank, code: r.code };
            add(r.name.clone(), n);
            // "memcpy@GLIBC_2.2.5" (a versioned name in .symtab) answers to "memcpy" too,
            // after any unversioned definition.
            if let Some((base, _)) = r.name.split_once('@') {
                if !base.is_empty() {
                    add(Arc::from(base), Named { rank: n.rank + 3, ..n });
                }
            }
        }
        // The address table: at one address, the best name (global first, then shorter).
        let mut rows: Vec<&Raw> = raw.iter().collect();
        rows.sort_by(|a, b| {
            (a.addr, a.rank, !a.code, a.name.contains('@'), a.name.len()).cmp(&(
                b.addr,
                b.rank,
                !b.code,
                b.name.contains('@'),
                b.name.len(),
            ))
        });
        let mut table: Vec<Entry> = Vec::with_capacity(rows.len());
        for r in rows {
            match table.last_mut() {
                Some(last) if last.start == r.addr => {
                    last.end = last.end.max(r.addr + r.size);
                }
                _ => {
                    table.push(Entry { start: r.addr, end: r.addr + r.size, name: r.name.clone() })
                }
            }
        }
        // A symbol without a size (hand-written assembly, say) reaches the next symbol.
        for i in 0..table.len() {
            if table[i].end == table[i].start {
                table[i].end = table.get(i + 1).map_or(table[i].start + 1, |n| n.start);
            }
        }
        SymbolFile { is_dyn, segments, dynamic, debug_file, by_name, table }
    }

    /// The file address of the symbol `name` (the best definition: global, weak, then local).
    pub fn lookup(&self, name: &str) -> Option<u64> {
        self.by_name.get(name).map(|n| n.addr)
    }

    /// The file address of the function `name`.
    pub fn lookup_code(&self, name: &str) -> Option<u64> {
        self.by_name.get(name).filter(|n| n.code).map(|n| n.addr)
    }

    /// The size of the symbol `name`.
    pub fn size_of(&self, name: &str) -> Option<u64> {
        self.by_name.get(name).map(|n| n.size)
    }

    /// The symbol containing file address `addr` and the offset into it.
    pub fn symbolize(&self, addr: u64) -> Option<(&Arc<str>, u64)> {
        let idx = self.table.partition_point(|e| e.start <= addr);
        // Walk back over the few symbols nested in a bigger one (rare) to the one containing it.
        self.table[..idx]
            .iter()
            .rev()
            .take(16)
            .find(|e| addr < e.end)
            .map(|e| (&e.name, addr - e.start))
    }

    /// How many address-table entries the file has.
    pub fn table_len(&self) -> usize {
        self.table.len()
    }

    /// The load bias of an image whose mapping of file offset `offset` starts at `start`.
    fn bias_for(&self, start: u64, offset: u64) -> Option<u64> {
        let seg = self.segments.iter().find(|s| page_down(s.offset) == offset)?;
        Some(start.wrapping_sub(page_down(seg.vaddr)))
    }

    /// The runtime range `[start, end)` of the image at `bias`.
    fn range(&self, bias: u64) -> (u64, u64) {
        let lo = self.segments.iter().map(|s| page_down(s.vaddr)).min().unwrap_or(0);
        let hi = self.segments.iter().map(|s| s.vaddr + s.memsz).max().unwrap_or(0);
        (lo.wrapping_add(bias), hi.div_ceil(PAGE).saturating_mul(PAGE).wrapping_add(bias))
    }
}

// ----- the file cache ---------------------------------------------------------------------------

/// What identifies a file's contents well enough: its path and its inode's identity and times.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct FileKey {
    path: String,
    dev: u64,
    ino: u64,
    mtime: (i64, i64),
    size: u64,
}

type Loaded = Result<Arc<SymbolFile>, String>;

/// Every file read so far; bounded, cleared when full (files are few: a process maps tens).
static FILES: once_cell::sync::Lazy<Mutex<HashMap<FileKey, Loaded>>> =
    once_cell::sync::Lazy::new(|| Mutex::new(HashMap::new()));
const FILE_CACHE_LIMIT: usize = 512;

/// The separate debug file of an object, Debian's layout: by build id under
/// `/usr/lib/debug/.build-id/`, else by `.gnu_debuglink` name beside the file, in its `.debug`
/// folder, or under `/usr/lib/debug` + its folder.
fn debug_file_for(data: &[u8], path: &str) -> Option<(Vec<u8>, String)> {
    let elf = ElfFile64::<object::Endianness>::parse(data).ok()?;
    let build_id = elf.build_id().ok().flatten().map(<[u8]>::to_vec);
    let mut candidates = Vec::new();
    if let Some(id) = build_id.as_ref().filter(|id| id.len() >= 2) {
        let hex: String = id.iter().map(|b| format!("{b:02x}")).collect();
        candidates.push(format!("/usr/lib/debug/.build-id/{}/{}.debug", &hex[..2], &hex[2..]));
    }
    if let Ok(Some((name, _crc))) = elf.gnu_debuglink() {
        let name = String::from_utf8_lossy(name).into_owned();
        let dir = std::path::Path::new(path).parent().map(|d| d.to_string_lossy().into_owned());
        if let Some(dir) = dir.filter(|d| d.starts_with('/')) {
            candidates.push(format!("{dir}/{name}"));
            candidates.push(format!("{dir}/.debug/{name}"));
            candidates.push(format!("/usr/lib/debug{dir}/{name}"));
        }
    }
    for c in candidates {
        if c == path {
            continue;
        }
        let Ok(d) = std::fs::read(&c) else { continue };
        // A debug file of another build would give wrong addresses: the build ids must agree.
        let dbg_id = ElfFile64::<object::Endianness>::parse(&*d)
            .ok()
            .and_then(|e| e.build_id().ok().flatten().map(<[u8]>::to_vec));
        if build_id.is_some() && dbg_id != build_id {
            continue;
        }
        return Some((d, c));
    }
    None
}

/// The symbols of the file at `read_path` (a `/proc/PID/map_files` entry or a plain path);
/// `path` is its name for debug-file lookup. Cached by path, inode and mtime.
pub fn load(read_path: &str, path: &str) -> Loaded {
    let meta = std::fs::metadata(read_path).map_err(|e| format!("{path}: {e}"))?;
    let key = FileKey {
        path: path.to_string(),
        dev: meta.dev(),
        ino: meta.ino(),
        mtime: (meta.mtime(), meta.mtime_nsec()),
        size: meta.size(),
    };
    if let Some(hit) = FILES.lock().unwrap_or_else(|p| p.into_inner()).get(&key) {
        return hit.clone();
    }
    let loaded = read_file(read_path, path).map(Arc::new);
    let mut files = FILES.lock().unwrap_or_else(|p| p.into_inner());
    if files.len() >= FILE_CACHE_LIMIT {
        files.clear();
    }
    files.insert(key, loaded.clone());
    loaded
}

fn read_file(read_path: &str, path: &str) -> Result<SymbolFile, String> {
    let data = std::fs::read(read_path).map_err(|e| format!("{path}: {e}"))?;
    if data.get(..4) != Some(b"\x7fELF") {
        return Err(format!("{path}: not an ELF file"));
    }
    let debug = debug_file_for(&data, path);
    SymbolFile::parse(&data, debug.as_ref().map(|(d, p)| (&d[..], p.clone())))
        .map_err(|e| format!("{path}: {e}"))
}

// ----- modules: images mapped in a process ------------------------------------------------------

/// What identifies one loaded image: its file (device, inode) and where it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ModuleKey {
    pub dev: (u32, u32),
    pub inode: u64,
    pub bias: u64,
}

/// One ELF image mapped in a process.
#[derive(Debug, Clone)]
pub struct Module {
    /// The path `/proc/PID/maps` shows.
    pub path: String,
    pub key: ModuleKey,
    /// The runtime range its `PT_LOAD` segments cover.
    pub start: u64,
    pub end: u64,
    /// Runtime address = file address + bias.
    pub bias: u64,
    pub file: Arc<SymbolFile>,
}

impl Module {
    /// Whether `library` names this module: a path (with a '/') equal to its path, or a file
    /// name equal to its file name ("libc.so.6").
    pub fn is_named(&self, library: &str) -> bool {
        if library.contains('/') {
            self.path == library
        } else {
            self.path.rsplit('/').next() == Some(library)
        }
    }

    /// The runtime address of the symbol `name`.
    pub fn lookup(&self, name: &str) -> Option<u64> {
        self.file.lookup(name).map(|a| a.wrapping_add(self.bias))
    }

    /// The runtime address of the function `name`.
    pub fn lookup_code(&self, name: &str) -> Option<u64> {
        self.file.lookup_code(name).map(|a| a.wrapping_add(self.bias))
    }

    /// The symbol containing runtime address `addr`, and the offset into it.
    pub fn symbolize(&self, addr: u64) -> Option<(&Arc<str>, u64)> {
        self.file.symbolize(addr.wrapping_sub(self.bias))
    }
}

/// The ELF images mapped in process `pid` (per `entries`, its maps), in address order, the
/// vDSO included. Files that cannot be read or are not ELF are left out.
pub fn modules(pid: i32, entries: &[MapEntry]) -> Vec<Module> {
    let mut out: Vec<Module> = Vec::new();
    let mut i = 0;
    while i < entries.len() {
        let first = &entries[i];
        // The mappings of one image: the same file at rising offsets (anonymous .bss between).
        let mut j = i + 1;
        let mut last_offset = first.offset;
        while first.is_file() && j < entries.len() {
            let e = &entries[j];
            if e.path.is_empty() {
                j += 1; // anonymous memory inside the image (.bss)
                continue;
            }
            if (e.dev_major, e.dev_minor, e.inode)
                != (first.dev_major, first.dev_minor, first.inode)
                || e.offset < last_offset
            {
                break;
            }
            last_offset = e.offset;
            j += 1;
        }
        if first.is_file() {
            if let Some(m) = module_of(pid, first) {
                out.push(m);
            }
        } else if first.path == "[vdso]" {
            out.extend(vdso_module(pid, first));
        }
        i = j;
    }
    out
}

fn module_of(pid: i32, first: &MapEntry) -> Option<Module> {
    let via_proc = maps::map_file_path(pid, first.start, first.end);
    let clean = first.path.strip_suffix(" (deleted)").unwrap_or(&first.path);
    let file = match load(&via_proc, clean) {
        Ok(f) => f,
        // map_files needs CAP_SYS_ADMIN (or CAP_CHECKPOINT_RESTORE) on some kernels: the path.
        Err(_) if clean == first.path => load(&first.path, clean).ok()?,
        Err(_) => return None,
    };
    let bias = file.bias_for(first.start, first.offset)?;
    let (start, end) = file.range(bias);
    Some(Module {
        path: first.path.clone(),
        key: ModuleKey { dev: (first.dev_major, first.dev_minor), inode: first.inode, bias },
        start,
        end,
        bias,
        file,
    })
}

/// The vDSO, which has no file: its image is read from the process's memory (a few pages;
/// the same on every process of one kernel, so cached by its bytes' hash).
fn vdso_module(pid: i32, e: &MapEntry) -> Option<Module> {
    use std::hash::{Hash, Hasher};
    let len = usize::try_from(e.end.checked_sub(e.start)?).ok().filter(|&l| l <= 1 << 20)?;
    let mut data = vec![0u8; len];
    // /proc/PID/mem, not process_vm_readv: the latter refuses the vDSO's special mapping.
    let mem = std::fs::File::open(format!("/proc/{pid}/mem")).ok()?;
    std::os::unix::fs::FileExt::read_exact_at(&mem, &mut data, e.start).ok()?;
    let mut h = std::collections::hash_map::DefaultHasher::new();
    data.hash(&mut h);
    let key = FileKey { path: e.path.clone(), dev: 0, ino: 0, mtime: (0, 0), size: h.finish() };
    let cached = FILES.lock().unwrap_or_else(|p| p.into_inner()).get(&key).cloned();
    let file = match cached {
        Some(f) => f.ok()?,
        None => {
            let parsed = SymbolFile::parse(&data, None).map(Arc::new);
            FILES.lock().unwrap_or_else(|p| p.into_inner()).insert(key, parsed.clone());
            parsed.ok()?
        }
    };
    let bias = file.bias_for(e.start, 0)?;
    let (start, end) = file.range(bias);
    Some(Module {
        path: e.path.clone(),
        key: ModuleKey { dev: (0, 0), inode: 0, bias },
        start,
        end,
        bias,
        file,
    })
}

/// The module containing `addr` in `modules` sorted by start.
pub fn containing(modules: &[Module], addr: u64) -> Option<&Module> {
    let idx = modules.partition_point(|m| m.start <= addr);
    modules[..idx].iter().rev().take(4).find(|m| addr < m.end)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(name: &str, addr: u64, size: u64, rank: u8) -> Raw {
        Raw { name: Arc::from(name), addr, size, rank, code: true }
    }

    #[test]
    fn address_table_finds_containing_nested_and_sizeless_symbols() {
        let f = SymbolFile::index(
            true,
            vec![],
            None,
            None,
            vec![
                raw("big", 0x1000, 0x100, 0),
                raw("inner", 0x1010, 0x10, 2),
                raw("alias_weak", 0x2000, 0x20, 1),
                raw("alias", 0x2000, 0x20, 0),
                raw("asm", 0x3000, 0, 0),
                raw("next", 0x3040, 8, 0),
            ],
        );
        let name = |a| f.symbolize(a).map(|(n, o)| (n.to_string(), o));
        assert_eq!(name(0x1000), Some(("big".into(), 0)));
        assert_eq!(name(0x1015), Some(("inner".into(), 5)));
        assert_eq!(name(0x1050), Some(("big".into(), 0x50)));
        assert_eq!(name(0x2010), Some(("alias".into(), 0x10)));
        assert_eq!(name(0x303f), Some(("asm".into(), 0x3f)));
        assert_eq!(name(0x3048), None);
        assert_eq!(name(0x1100), None);
        assert_eq!(name(0xfff), None);
        assert_eq!(f.lookup("alias_weak"), Some(0x2000));
    }

    #[test]
    fn versioned_names_answer_to_their_base_name_after_a_plain_definition() {
        let f = SymbolFile::index(
            true,
            vec![],
            None,
            None,
            vec![raw("memcpy@GLIBC_2.2.5", 0x10, 4, 0), raw("memcpy", 0x20, 4, 0)],
        );
        assert_eq!(f.lookup("memcpy"), Some(0x20));
        assert_eq!(f.lookup("memcpy@GLIBC_2.2.5"), Some(0x10));
    }
}
