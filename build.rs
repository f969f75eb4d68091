//! Writes include/ptrace_dbg.h with cbindgen, and gives the shared library its SONAME.

use std::env;
use std::fs;
use std::path::Path;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=src/ffi");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    println!("cargo:rerun-if-changed=Cargo.toml");
    println!("cargo:rerun-if-changed=include/ptrace_dbg.h");
    println!("cargo:rerun-if-env-changed=DOCS_RS");

    // The SONAME carries the ABI version: programs linked against libptrace_dbg.so load
    // libptrace_dbg.so.0. `-z nodelete`: the library runs monitor threads, so dlclose must
    // never unmap their code.
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libptrace_dbg.so.0");
    println!("cargo:rustc-cdylib-link-arg=-Wl,-z,nodelete");

    // docs.rs builds in a read-only source tree; the committed header is all it needs.
    if env::var_os("DOCS_RS").is_some() {
        return;
    }
    let root = env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let root = Path::new(&root);
    let header = generate_header(root);
    write_if_changed(&root.join("include/ptrace_dbg.h"), header.as_bytes());
}

/// The header text: cbindgen over src/ffi/ only, so engine and sys types never leak into it,
/// plus version macros from Cargo.toml so the two can never disagree.
fn generate_header(root: &Path) -> String {
    let config = cbindgen::Config::from_file(root.join("cbindgen.toml"))
        .unwrap_or_else(|e| panic!("cbindgen.toml: {e}"));
    let version = |part: &str| env::var(format!("CARGO_PKG_VERSION_{part}")).unwrap();
    let macros = format!(
        "\n/** The version of the header; ptrace_dbg_version() gives the loaded library's. */\n\
         #define PTRACE_DBG_VERSION_MAJOR {}\n\
         #define PTRACE_DBG_VERSION_MINOR {}\n\
         #define PTRACE_DBG_VERSION_PATCH {}\n",
        version("MAJOR"),
        version("MINOR"),
        version("PATCH")
    );
    let bindings = cbindgen::Builder::new()
        .with_config(config)
        .with_after_include(macros)
        .with_src(root.join("src/ffi/mod.rs"))
        .generate()
        .unwrap_or_else(|e| panic!("cbindgen could not generate the header: {e}"));
    let mut text = Vec::new();
    bindings.write(&mut text);
    String::from_utf8(text).expect("cbindgen writes UTF-8")
}

/// Writes `path` only when its bytes differ, so an unchanged header keeps its mtime and
/// nothing that depends on it rebuilds.
fn write_if_changed(path: &Path, content: &[u8]) {
    if fs::read(path).is_ok_and(|old| old == content) {
        return;
    }
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, content).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}
