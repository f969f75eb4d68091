//! Maps, symbols, loaded libraries and symbol breakpoints, checked against what the kernel
//! (/proc/PID/maps, /proc/PID/mem) and binutils (nm) say.

mod common;

use common::*;
use ptrace_dbg::engine::{CauseKind, Error, LaunchOptions, Process};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Builds `src` with gcc and `flags` into the test's temporary folder, named by a hash of the
/// source and flags and never replaced once there (tests run in parallel processes, and a
/// replaced file would show as "(deleted)" in a running tracee's maps).
fn build(name: &str, src: &str, flags: &[&str]) -> PathBuf {
    use std::hash::{Hash, Hasher};
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(src);
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (std::fs::read(&src).expect("read source"), flags).hash(&mut h);
    let (stem, ext) =
        name.split_once('.').map_or((name, String::new()), |(s, e)| (s, format!(".{e}")));
    let out = dir.join(format!("{stem}-{:016x}{ext}", h.finish()));
    if out.exists() {
        return out;
    }
    let tmp =
        dir.join(format!("{name}.tmp.{}.{:?}", std::process::id(), std::thread::current().id()));
    let st = Command::new("gcc")
        .args(["-O1", "-g"])
        .args(flags)
        .arg("-o")
        .arg(&tmp)
        .arg(&src)
        .status()
        .expect("run gcc");
    assert!(st.success(), "building {name} failed");
    // hard_link never replaces: a concurrent builder's identical copy wins and stays.
    let _ = std::fs::hard_link(&tmp, &out);
    let _ = std::fs::remove_file(&tmp);
    out
}

fn launch_program(path: &Path, args: &[&str]) -> Process {
    let mut opts = LaunchOptions::new();
    opts.argv = std::iter::once(path.to_str().unwrap())
        .chain(args.iter().copied())
        .map(Into::into)
        .collect();
    Process::launch(path, &opts).expect("launch")
}

/// `nm -S` of `path` (`-D` for the dynamic table): name -> (value, size), defined symbols.
fn nm(path: &Path, dynamic: bool) -> HashMap<String, (u64, u64)> {
    let mut cmd = Command::new("nm");
    cmd.args(["-S", "--defined-only"]);
    if dynamic {
        cmd.arg("-D");
    }
    let out = cmd.arg(path).output().expect("run nm");
    let mut map = HashMap::new();
    for l in String::from_utf8_lossy(&out.stdout).lines() {
        let f: Vec<&str> = l.split_whitespace().collect();
        if f.len() == 4 {
            let name = f[3].split('@').next().unwrap().to_string();
            let (v, s) =
                (u64::from_str_radix(f[0], 16).unwrap(), u64::from_str_radix(f[1], 16).unwrap());
            map.entry(name).or_insert((v, s));
        }
    }
    map
}

/// The separate debug file of `path` under /usr/lib/debug/.build-id, if installed.
fn debug_file_of(path: &Path) -> Option<PathBuf> {
    let out = Command::new("readelf").arg("-n").arg(path).output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let id = text.lines().find_map(|l| l.trim().strip_prefix("Build ID: "))?.trim().to_string();
    let p = PathBuf::from(format!("/usr/lib/debug/.build-id/{}/{}.debug", &id[..2], &id[2..]));
    p.exists().then_some(p)
}

/// `nm -S` of `path`, every function definition of every name (versions stripped). (Only
/// functions: a thread-local variable's value is an offset, not an address.)
fn nm_all(path: &Path, dynamic: bool) -> Vec<(String, (u64, u64))> {
    let mut cmd = Command::new("nm");
    cmd.args(["-S", "--defined-only"]);
    if dynamic {
        cmd.arg("-D");
    }
    let out = cmd.arg(path).output().expect("run nm");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.len() == 4 && matches!(f[2], "T" | "t" | "W" | "w" | "i")).then(|| {
                let name = f[3].split('@').next().unwrap().to_string();
                (
                    name,
                    (
                        u64::from_str_radix(f[0], 16).unwrap(),
                        u64::from_str_radix(f[1], 16).unwrap(),
                    ),
                )
            })
        })
        .collect()
}

/// Runs to the program's `main` (so its libraries are loaded) with a breakpoint by address.
fn run_to_main(p: &Process) {
    let main = p.symbol_address(None, "main").expect("main");
    p.add_breakpoint(main).unwrap();
    let (tid, kind) = cont_and_wait(p).unwrap();
    assert_eq!(kind, CauseKind::Breakpoint);
    assert_eq!(p.get_regs(tid).unwrap().rip, main);
    p.remove_breakpoint(main).unwrap();
}

/// The program's own symbols resolve to where nm says plus the load address, and a breakpoint
/// there is hit: for a PIE, a fixed-address program and a static one.
#[test]
fn program_symbols_resolve_for_pie_non_pie_and_static_programs() {
    for (name, flags) in [
        ("symbols-pie", &["-pie", "-fPIE"][..]),
        ("symbols-nopie", &["-no-pie", "-fno-pie"][..]),
        ("symbols-static", &["-static"][..]),
    ] {
        let exe = build(name, "c-tests/tracees/symbols.c", flags);
        let p = launch_program(&exe, &[]);
        let pie = name == "symbols-pie";
        let base = if pie { load_base(p.pid(), &exe) } else { 0 };
        let syms = nm(&exe, false);
        for s in ["sym_alpha", "sym_beta", "sym_counter", "main"] {
            let want = base + syms[s].0;
            assert_eq!(p.symbol_address(None, s).unwrap(), want, "{name}: {s}");
            let file = exe.file_name().unwrap().to_str().unwrap();
            assert_eq!(p.symbol_address(Some(file), s).unwrap(), want, "{name}: {s} in {file}");
        }
        assert!(matches!(
            p.symbol_address(None, "no_such_symbol_anywhere"),
            Err(Error::NotFound(_))
        ));
        assert!(matches!(p.symbol_address(Some("libnothere.so"), "main"), Err(Error::NotFound(_))));
        let alpha = p.symbol_address(None, "sym_alpha").unwrap();
        p.add_breakpoint(alpha).unwrap();
        let (tid, kind) = cont_and_wait(&p).unwrap();
        assert_eq!((kind, p.get_regs(tid).unwrap().rip), (CauseKind::Breakpoint, alpha), "{name}");
        // Every function of the program symbolizes back to itself, at any offset into it.
        for (s, &(v, size)) in syms.iter().filter(|(_, &(_, size))| size > 0) {
            if !matches!(s.as_str(), "sym_alpha" | "sym_beta" | "main") {
                continue;
            }
            for off in [0, size / 2, size - 1] {
                let (got, got_off, path) = p.address_symbol(base + v + off).unwrap();
                assert_eq!((&*got, got_off), (s.as_str(), off), "{name}");
                assert_eq!(
                    std::fs::canonicalize(path).unwrap(),
                    std::fs::canonicalize(&exe).unwrap()
                );
            }
        }
        p.remove_breakpoint(alpha).unwrap();
        let _ = run_to_exit(&p);
        assert_eq!(p.exit_status().unwrap().code, 0, "{name}");
    }
}

/// libc's write and malloc, by library name and without one, agree with nm -D + libc's base.
#[test]
fn libc_symbols_resolve_once_libc_is_loaded() {
    let exe = build("symbols-libc", "c-tests/tracees/symbols.c", &[]);
    let p = launch_program(&exe, &[]);
    // At the first instruction the loader has not run: libc is not there yet.
    assert!(matches!(p.symbol_address(Some("libc.so.6"), "write"), Err(Error::NotFound(_))));
    run_to_main(&p);
    for s in ["write", "malloc"] {
        let want = library_symbol(p.pid(), "libc.so", s);
        assert_eq!(p.symbol_address(Some("libc.so.6"), s).unwrap(), want, "{s}");
        assert_eq!(p.symbol_address(None, s).unwrap(), want, "{s}");
        let (name, off, path) = p.address_symbol(want).unwrap();
        assert_eq!(off, 0);
        assert!(path.contains("libc.so"), "{path}");
        assert_eq!(p.symbol_address(None, &name).unwrap(), want, "{name} is an alias of {s}");
    }
    let libs = p.libraries().unwrap();
    assert!(libs.len() >= 3, "{libs:?}");
    assert_eq!(std::fs::canonicalize(&libs[0].path).unwrap(), std::fs::canonicalize(&exe).unwrap());
    assert!(libs.iter().any(|l| l.path.contains("libc.so.6") && l.link_map != 0 && l.base != 0));
}

/// Random addresses inside libc's functions name a symbol that contains them (nm's word), at
/// the right offset; addresses in no object are NOT_FOUND.
#[test]
fn address_symbol_agrees_with_nm_for_libc_and_rejects_addresses_in_no_object() {
    let exe = build("symbols-addr", "c-tests/tracees/symbols.c", &[]);
    let p = launch_program(&exe, &[]);
    run_to_main(&p);
    let write = library_symbol(p.pid(), "libc.so", "write");
    let (_, _, libc_path) = p.address_symbol(write).unwrap();
    let libc_base = write - nm(Path::new(&libc_path), true)["write"].0;
    // name -> every (value, size) it has: a versioned name (posix_spawnp@GLIBC_2.2.5 and
    // posix_spawnp@@GLIBC_2.15) has one per version.
    let mut reference: HashMap<String, Vec<(u64, u64)>> = HashMap::new();
    let mut files = vec![PathBuf::from(&libc_path)];
    // The library reads an installed separate debug file (libc6-dbg): so does the reference.
    files.extend(debug_file_of(Path::new(&libc_path)));
    for (f, dynamic) in [(0, true), (0, false), (1, false)] {
        let Some(file) = files.get(f) else { continue };
        for (k, v) in nm_all(file, dynamic) {
            reference.entry(k).or_default().push(v);
        }
    }
    let funcs: Vec<(&String, (u64, u64))> = reference
        .iter()
        .flat_map(|(k, vs)| vs.iter().map(move |&v| (k, v)))
        .filter(|&(_, (v, s))| v != 0 && s > 0)
        .collect();
    assert!(funcs.len() > 500, "libc has {} sized symbols", funcs.len());
    let mut seed = 0x2545F4914F6CDD1Du64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for _ in 0..2000 {
        let (name, (v, size)) = funcs[(next() % funcs.len() as u64) as usize];
        let addr = libc_base + v + next() % size;
        let (got, off, path) =
            p.address_symbol(addr).unwrap_or_else(|e| panic!("{addr:#x} in {name} at {v:#x}: {e}"));
        assert_eq!(path, libc_path);
        let file_addr = addr - libc_base;
        let known = reference
            .get(&*got)
            .unwrap_or_else(|| panic!("{addr:#x} (in {name}) gave {got}, which nm does not know"));
        assert!(
            known.iter().any(|&(gv, gs)| gv <= file_addr
                && file_addr < gv + gs.max(1)
                && off == file_addr - gv),
            "{addr:#x} in {name}: {got}+{off:#x}, nm has {got} at {known:x?}"
        );
    }
    assert!(matches!(p.address_symbol(0x10), Err(Error::NotFound(_))));
    // The vDSO has no file: its symbols come from its image in memory.
    let vdso = p.symbol_address(Some("[vdso]"), "__vdso_clock_gettime").unwrap();
    let vdso_map = proc_maps(p.pid()).into_iter().find(|m| m.4 == "[vdso]").unwrap();
    assert!(vdso_map.0 <= vdso && vdso < vdso_map.1);
    let (name, off, path) = p.address_symbol(vdso + 1).unwrap();
    assert_eq!((name.contains("clock_gettime"), off, path.as_str()), (true, 1, "[vdso]"));
    // Without a library name, clock_gettime is libc's (the vDSO's is what libc calls).
    assert_eq!(
        p.symbol_address(None, "clock_gettime").unwrap(),
        library_symbol(p.pid(), "libc.so", "clock_gettime")
    );
    let sp = p.get_regs(p.pid()).unwrap().rsp;
    assert!(matches!(p.address_symbol(sp), Err(Error::NotFound(_))));
}

fn proc_maps(pid: i32) -> Vec<(u64, u64, u64, String, String)> {
    std::fs::read_to_string(format!("/proc/{pid}/maps"))
        .unwrap()
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.splitn(6, ' ').collect();
            let (s, e) = f[0].split_once('-').unwrap();
            (
                u64::from_str_radix(s, 16).unwrap(),
                u64::from_str_radix(e, 16).unwrap(),
                u64::from_str_radix(f[2], 16).unwrap(),
                f[1].to_string(),
                f.get(5).map_or("", |p| p.trim_start()).to_string(),
            )
        })
        .collect()
}

/// The maps agree with /proc/PID/maps entry by entry, and after exec they are the new
/// program's.
#[test]
fn maps_agree_with_proc_and_are_the_new_images_after_exec() {
    let exe = build("symbols-maps", "c-tests/tracees/symbols.c", &[]);
    let tracee = tracee();
    let p = launch(&["exec_from_thread", exe.to_str().unwrap()]);
    let check = |p: &Process| {
        let ours = p.maps().unwrap();
        let kernel = proc_maps(p.pid());
        assert_eq!(ours.len(), kernel.len());
        for (i, (m, k)) in ours.iter().zip(&kernel).enumerate() {
            let perms = format!(
                "{}{}{}{}",
                if m.prot & 1 != 0 { 'r' } else { '-' },
                if m.prot & 2 != 0 { 'w' } else { '-' },
                if m.prot & 4 != 0 { 'x' } else { '-' },
                if m.shared { 's' } else { 'p' }
            );
            assert_eq!((m.start, m.end, m.offset, perms, m.path.clone()), k.clone());
            assert_eq!(p.mapping_path(i).unwrap(), k.4);
        }
        assert!(matches!(p.mapping_path(ours.len()), Err(Error::InvalidArgument(_))));
        ours
    };
    let before = check(&p);
    let name = |p: &Path| std::fs::canonicalize(p).unwrap().to_str().unwrap().to_string();
    assert!(before.iter().any(|m| m.path == name(&tracee)));
    loop {
        match cont_and_wait(&p) {
            Ok((_, CauseKind::Exec)) => break,
            Ok(_) => continue,
            Err(e) => panic!("no exec: {e}"),
        }
    }
    let after = check(&p);
    assert!(after.iter().any(|m| m.path == name(&exe)), "{after:?}");
    assert!(!after.iter().any(|m| m.path == name(&tracee)));
    // Symbols are the new program's too.
    assert_eq!(
        p.symbol_address(None, "sym_alpha").unwrap(),
        program_symbol(&exe, p.pid(), "sym_alpha")
    );
}

/// A symbol breakpoint set before the dlopen: set when the library loads, hit exactly once per
/// call, and gone from memory that is no longer the library after dlclose. Without library
/// events no library stop is ever reported.
#[test]
fn symbol_breakpoint_follows_dlopen_and_dlclose() {
    let lib = build("libsymtest.so", "c-tests/solib/libsymtest.c", &["-shared", "-fPIC"]);
    let exe = build("dlopener", "c-tests/tracees/dlopener.c", &["-ldl"]);
    let p = launch_program(&exe, &[lib.to_str().unwrap()]);
    let id = p.add_symbol_breakpoint(None, "f").unwrap();
    assert!(p.symbol_breakpoint_sites(id).unwrap().is_empty(), "not loaded yet");
    let checkpoint = p.symbol_address(None, "checkpoint").unwrap();
    p.add_breakpoint(checkpoint).unwrap();
    let mut hits = 0;
    let mut f_addr = 0;
    loop {
        let (tid, kind) = cont_and_wait(&p).unwrap();
        assert_ne!(kind, CauseKind::Library, "library events were not asked for");
        if kind != CauseKind::Breakpoint {
            continue;
        }
        let pc = p.get_regs(tid).unwrap().rip;
        if pc == checkpoint {
            break;
        }
        let sites = p.symbol_breakpoint_sites(id).unwrap();
        assert_eq!(sites, vec![pc]);
        f_addr = pc;
        hits += 1;
    }
    assert_eq!(hits, 1000);
    assert!(p.symbol_breakpoint_sites(id).unwrap().is_empty(), "still set after dlclose");
    let old_f = p.get_regs(p.pid()).unwrap().rdi;
    assert_eq!(old_f, f_addr);
    let maps = proc_maps(p.pid());
    if let Some(m) = maps.iter().find(|m| m.0 <= old_f && old_f < m.1) {
        assert!(!m.4.contains("libsymtest"), "the library is still mapped: {m:?}");
        assert_eq!(raw_mem(p.pid(), old_f, 1), [0x90], "our int3 was written into the new page");
    }
    assert!(matches!(p.remove_breakpoint(old_f), Err(Error::NoBreakpoint(_))));
    p.remove_breakpoint(checkpoint).unwrap();
    let _ = run_to_exit(&p);
    assert_eq!(p.exit_status().unwrap().code, 0);
    assert!(matches!(p.remove_symbol_breakpoint(id), Err(Error::Exited)));
}

/// With library events asked for: a library stop after the dlopen shows the library in the
/// list, one after the dlclose shows it gone; continuing from them loses nothing.
#[test]
fn library_events_report_dlopen_and_dlclose_when_asked() {
    let lib = build("libsymtest-ev.so", "c-tests/solib/libsymtest.c", &["-shared", "-fPIC"]);
    let exe = build("dlopener-ev", "c-tests/tracees/dlopener.c", &["-ldl"]);
    let p = launch_program(&exe, &[lib.to_str().unwrap()]);
    p.set_follow(2).unwrap();
    let mut seen = Vec::new();
    loop {
        match cont_and_wait(&p) {
            Ok((_, CauseKind::Library)) => {
                let libs = p.libraries().unwrap();
                seen.push(libs.iter().any(|l| l.path.contains("libsymtest-ev")));
            }
            Ok(_) => {}
            Err(Error::Exited) => break,
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(p.exit_status().unwrap().code, 0);
    let opened = seen.iter().position(|&s| s).expect("no library stop showed the dlopen");
    assert!(seen[opened..].contains(&false), "no library stop showed the dlclose: {seen:?}");
}

/// A static program: its own symbols resolve and a symbol breakpoint on one is hit; a symbol
/// it lacks is NOT_FOUND at once (nothing can load it later).
#[test]
fn static_program_symbol_breakpoints() {
    let exe = build("symbols-static-bp", "c-tests/tracees/symbols.c", &["-static"]);
    let p = launch_program(&exe, &[]);
    assert!(matches!(p.add_symbol_breakpoint(None, "f_nowhere"), Err(Error::NotFound(_))));
    let id = p.add_symbol_breakpoint(None, "sym_alpha").unwrap();
    let sites = p.symbol_breakpoint_sites(id).unwrap();
    assert_eq!(sites, vec![nm(&exe, false)["sym_alpha"].0]);
    let (tid, kind) = cont_and_wait(&p).unwrap();
    assert_eq!((kind, p.get_regs(tid).unwrap().rip), (CauseKind::Breakpoint, sites[0]));
    p.remove_symbol_breakpoint(id).unwrap();
    assert!(matches!(p.remove_symbol_breakpoint(id), Err(Error::NotFound(_))));
    let _ = run_to_exit(&p);
    assert_eq!(p.exit_status().unwrap().code, 0);
}

/// A symbol breakpoint set before exec, on a function only the new program has, is set in the
/// new image and hit there.
#[test]
fn symbol_breakpoint_is_set_in_the_new_image_after_exec() {
    let exe = build("symbols-exec", "c-tests/tracees/symbols.c", &[]);
    let p = launch(&["exec_from_thread", exe.to_str().unwrap()]);
    let id = p.add_symbol_breakpoint(None, "sym_alpha").unwrap();
    assert!(p.symbol_breakpoint_sites(id).unwrap().is_empty());
    let mut execs = 0;
    loop {
        let (tid, kind) = cont_and_wait(&p).unwrap();
        match kind {
            CauseKind::Exec => execs += 1,
            CauseKind::Breakpoint => {
                let want = program_symbol(&exe, p.pid(), "sym_alpha");
                assert_eq!(p.get_regs(tid).unwrap().rip, want);
                assert_eq!(p.symbol_breakpoint_sites(id).unwrap(), vec![want]);
                break;
            }
            _ => {}
        }
    }
    assert_eq!(execs, 1);
    let _ = run_to_exit(&p);
    assert_eq!(p.exit_status().unwrap().code, 0);
}

/// A user breakpoint on the loader's rendezvous function, where the engine keeps its own:
/// the user's hits are reported, the engine's work goes on (the symbol breakpoint still
/// follows the dlopen), and after the user removes theirs nothing more is reported there.
#[test]
fn user_breakpoint_on_the_rendezvous_shares_it_with_the_engine() {
    let lib = build("libsymtest-rv.so", "c-tests/solib/libsymtest.c", &["-shared", "-fPIC"]);
    let exe = build("dlopener-rv", "c-tests/tracees/dlopener.c", &["-ldl"]);
    let p = launch_program(&exe, &[lib.to_str().unwrap()]);
    let id = p.add_symbol_breakpoint(None, "f").unwrap();
    let brk = p.symbol_address(Some("ld-linux-x86-64.so.2"), "_dl_debug_state").unwrap();
    p.add_breakpoint(brk).unwrap();
    let (mut brk_hits, mut f_hits) = (0, 0);
    loop {
        match cont_and_wait(&p) {
            Ok((tid, CauseKind::Breakpoint)) => {
                let pc = p.get_regs(tid).unwrap().rip;
                if pc == brk {
                    brk_hits += 1;
                    if brk_hits == 2 {
                        p.remove_breakpoint(brk).unwrap();
                    }
                } else {
                    assert_eq!(p.symbol_breakpoint_sites(id).unwrap(), vec![pc]);
                    f_hits += 1;
                }
            }
            Ok(_) => {}
            Err(Error::Exited) => break,
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!((brk_hits, f_hits), (2, 1000));
    assert_eq!(p.exit_status().unwrap().code, 0);
}
