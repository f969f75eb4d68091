#!/bin/bash
# `make install` into a staging root, then build programs the way a user would, with
# pkg-config, against the installed copy only: one linked to the shared library, one to the
# static archive. Usage: c-tests/install-test.sh (from the repository root).
set -uo pipefail
cd "$(dirname "$0")/.."
source c-tests/check-lib.sh

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
stage=$tmp/stage
lib=$stage/usr/lib
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)
cflags=(-std=c11 -Wall -Wextra -Wpedantic -Werror)
export PKG_CONFIG_LIBDIR=$lib/pkgconfig PKG_CONFIG_PATH= PKG_CONFIG_SYSROOT_DIR=$stage

installs_the_files() {
    make --no-print-directory install DESTDIR="$stage" PREFIX=/usr >/dev/null || return 1
    local f
    for f in "$lib/libptrace_dbg.so.$version" "$lib/libptrace_dbg.a" \
        "$stage/usr/include/ptrace_dbg.h" "$lib/pkgconfig/ptrace_dbg.pc"; do
        [ -f "$f" ] || { echo "missing $f"; return 1; }
    done
    [ "$(readlink "$lib/libptrace_dbg.so.0")" = "libptrace_dbg.so.$version" ] || return 1
    [ "$(readlink "$lib/libptrace_dbg.so")" = "libptrace_dbg.so.0" ] || return 1
    cmp -s include/ptrace_dbg.h "$stage/usr/include/ptrace_dbg.h"
}

pkg_config_describes_the_installed_copy() {
    [ "$(pkg-config --modversion ptrace_dbg)" = "$version" ] || return 1
    pkg-config --cflags ptrace_dbg | grep -qF -- "-I$stage/usr/include" || return 1
    pkg-config --libs ptrace_dbg | grep -qF -- "-L$lib" || return 1
}

# A program linked with `pkg-config --libs` loads the installed libptrace_dbg.so.0.
shared_program_runs_against_the_installed_copy() {
    local exe=$tmp/shared loaded
    gcc "${cflags[@]}" c-tests/install_check.c $(pkg-config --cflags --libs ptrace_dbg) -o "$exe" || return 1
    readelf -d "$exe" | grep -F '(NEEDED)' | grep -qF '[libptrace_dbg.so.0]' || { echo "not linked to libptrace_dbg.so.0"; return 1; }
    loaded=$(LD_LIBRARY_PATH=$lib "$exe") || { echo "failed: $loaded"; return 1; }
    [ "$(realpath "$loaded")" = "$(realpath "$lib/libptrace_dbg.so.$version")" ] ||
        { echo "loaded $loaded, not the installed copy"; return 1; }
}

# A program linked with the archive and `pkg-config --static` flags needs no shared copy.
static_program_runs_without_the_shared_library() {
    local exe=$tmp/static loaded libs
    libs=$(pkg-config --static --libs ptrace_dbg | sed 's/-lptrace_dbg\b/-l:libptrace_dbg.a/') || return 1
    gcc "${cflags[@]}" c-tests/install_check.c $(pkg-config --cflags ptrace_dbg) $libs -o "$exe" || return 1
    ! readelf -d "$exe" | grep -qF 'libptrace_dbg' || { echo "still needs the shared library"; return 1; }
    loaded=$(env -u LD_LIBRARY_PATH "$exe") || { echo "failed: $loaded"; return 1; }
    [ "$(realpath "$loaded")" = "$(realpath "$exe")" ] || { echo "loaded from $loaded"; return 1; }
}

# The Python package, copied out of the tree (as pip would install it), loads the installed
# library by its SONAME and traces a program with it.
python_package_runs_against_the_installed_copy() {
    local py=$tmp/py loaded
    mkdir -p "$py" && cp -r bindings/python/src/ptrace_dbg "$py/" || return 1
    loaded=$(cd "$tmp" && env -u PTRACE_DBG_LIBRARY PYTHONPATH="$py" LD_LIBRARY_PATH="$lib" \
        timeout 60 python3 -B -c '
import ptrace_dbg
with ptrace_dbg.Process.launch(["/bin/true"]) as p:
    while True:
        try:
            p.cont()
            p.wait_stop(timeout=10)
        except ptrace_dbg.Exited:
            break
    assert p.exit_status.code == 0, p.exit_status
print([l.split()[-1] for l in open("/proc/self/maps") if "libptrace_dbg" in l][0])
') || { echo "failed: $loaded"; return 1; }
    [ "$(realpath "$loaded")" = "$(realpath "$lib/libptrace_dbg.so.$version")" ] ||
        { echo "loaded $loaded, not the installed copy"; return 1; }
}

# make uninstall removes every file install put there (issue 10), the directories aside.
uninstall_removes_every_file() {
    local other=$tmp/other left
    make --no-print-directory install DESTDIR="$other" PREFIX=/opt/pd LIBDIR=/opt/pd/lib/x86_64-linux-gnu >/dev/null || return 1
    [ -f "$other/opt/pd/lib/x86_64-linux-gnu/libptrace_dbg.so.$version" ] || { echo "LIBDIR not used"; return 1; }
    make --no-print-directory uninstall DESTDIR="$other" PREFIX=/opt/pd LIBDIR=/opt/pd/lib/x86_64-linux-gnu >/dev/null || return 1
    left=$(find "$other" ! -type d)
    [ -z "$left" ] || { echo "left behind: $left"; return 1; }
}

check installs_the_files installs_the_files
check uninstall_removes_every_file uninstall_removes_every_file
check pkg_config_describes_the_installed_copy pkg_config_describes_the_installed_copy
check shared_program_runs_against_the_installed_copy shared_program_runs_against_the_installed_copy
check static_program_runs_without_the_shared_library static_program_runs_without_the_shared_library
check python_package_runs_against_the_installed_copy python_package_runs_against_the_installed_copy
summary
