#!/bin/bash
# Checks of the built artifacts that no C test can make from inside: the exported symbols,
# the SONAME, the header compiling as C99 and C++17, and the test runner itself.
# Usage: c-tests/abi-checks.sh (from the repository root, after `make`).
set -uo pipefail
cd "$(dirname "$0")/.."
source c-tests/check-lib.sh

so=${SO:-target/release/libptrace_dbg.so}
dev_lib=${DEV_LIB:-build/lib} # links named libptrace_dbg.so and .so.0 to $so
header=include/ptrace_dbg.h
build=${BUILD:-build}/c-tests
warn=(-Wall -Wextra -Wpedantic -Werror)
mkdir -p "$build"

exported_symbols_are_exactly_the_header_functions() {
    local declared exported
    declared=$(c-tests/header-functions.sh "$header") || return 1
    exported=$(nm -D --defined-only "$so" | awk '{print $NF}' | sort -u) || return 1
    [ -n "$declared" ] || { echo "the header declares no function"; return 1; }
    diff <(echo "$declared") <(echo "$exported") >/dev/null && return 0
    echo "exported but not declared:" $(comm -13 <(echo "$declared") <(echo "$exported"))
    echo "declared but not exported:" $(comm -23 <(echo "$declared") <(echo "$exported"))
    return 1
}

soname_is_libptrace_dbg_so_0() {
    readelf -d "$so" | grep -F '(SONAME)' | grep -qF '[libptrace_dbg.so.0]' ||
        { readelf -d "$so" | grep -F SONAME; echo "SONAME is not libptrace_dbg.so.0"; return 1; }
}

linked_with_z_nodelete() {
    readelf -d "$so" | grep -F '(FLAGS_1)' | grep -qw NODELETE
}

# Compiles $1 with the compiler and flags that follow, links the library, and runs it.
compile_and_run() {
    local src=$1 out=$build/$(basename "$1").bin
    shift
    "$@" "${warn[@]}" -Iinclude "$src" -o "$out" -L"$dev_lib" \
        -Wl,-rpath,"$(cd "$dev_lib" && pwd)" -lptrace_dbg && "$out"
}

# The runner must report every kind of failure and kill what a test leaves behind.
runner_reports_failures_and_cleans_up() {
    local out pidfile=$build/selftest.pid status
    rm -f "$pidfile"
    out=$(RUNNER_SELFTEST_PIDFILE=$pidfile "$build/runner_selftest")
    status=$?
    [ "$status" -ne 0 ] || { echo "exit status 0 with failing tests"; return 1; }
    local expected=(
        '^ok passes$'
        '^FAIL fails_a_check: c-tests/runner_selftest.c:[0-9]+: CHECK\(1 \+ 1 == 3\) failed$'
        '^FAIL fails_an_int_comparison: .*: 2 \+ 2 == 5 failed: 4 != 5$'
        '^FAIL crashes: .*killed by signal 11'
        '^FAIL hangs: .*timed out after 1 s$'
        '^ok leaves_a_process_behind$'
        '^FAIL overstays_its_deadline: c-tests/runner_selftest.c:[0-9]+: never_returns\(\) did not return within 1 s$'
    )
    local pattern
    for pattern in "${expected[@]}"; do
        grep -qE "$pattern" <<<"$out" || { echo "no line matches $pattern in: $out"; return 1; }
    done
    [ "$(tail -n1 <<<"$out")" = "2 passed, 5 failed" ] || { echo "last line: $(tail -n1 <<<"$out")"; return 1; }
    [ "$(RUNNER_SELFTEST_PIDFILE=/dev/null "$build/runner_selftest" passes | tail -n1)" = "1 passed, 0 failed" ] ||
        { echo "the filter did not select one test"; return 1; }
    local leftover
    leftover=$(cat "$pidfile") || return 1
    ! kill -0 "$leftover" 2>/dev/null || { echo "process $leftover outlived its test"; return 1; }
}

check exported_symbols_are_exactly_the_header_functions exported_symbols_are_exactly_the_header_functions
check soname_is_libptrace_dbg_so_0 soname_is_libptrace_dbg_so_0
check linked_with_z_nodelete linked_with_z_nodelete
check header_compiles_as_c99 compile_and_run c-tests/header_check_c99.c "${CC:-gcc}" -std=c99
check header_compiles_as_cxx17 compile_and_run c-tests/header_check.cpp "${CXX:-g++}" -std=c++17
check runner_reports_failures_and_cleans_up runner_reports_failures_and_cleans_up
summary
