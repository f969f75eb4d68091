#!/bin/bash
# The README's examples compile as written and do what it says: this extracts the first ```c
# block under "## Quick start in C", builds it with -std=c11 -Wall -Wextra -Werror against
# include/ and the freshly built library, and runs it on /bin/true and on the tracee; then the
# same for the ```cpp block under "## Using it from C++" with -std=c++17.
# Usage (from make quickstart-test): CC= CXX= BUILD= DEV_LIB= $0
set -uo pipefail
cd "$(dirname "$0")/../.."
source c-tests/check-lib.sh

build=${BUILD:-build}/quickstart
dev_lib=$(realpath "${DEV_LIB:-build/lib}")
mkdir -p "$build"
src=$build/quickstart.c
exe=$build/quickstart
cpp_src=$build/quickstart_cpp.cpp
cpp_exe=$build/quickstart_cpp

# extract HEADING LANG: the lines strictly between the ```LANG fence and the closing ``` of
# the first such block after "## HEADING"; nothing if another "## " heading comes first.
extract() {
    awk -v heading="## $1" -v fence="\`\`\`$2" '
        $0 == heading { section = 1; next }
        section && !inblock && /^## / { exit }
        section && !inblock && $0 == fence { inblock = 1; next }
        inblock && /^```[[:space:]]*$/ { exit }
        inblock { print }
    ' README.md
}

readme_has_the_block() {
    extract "Quick start in C" c > "$src" || return 1
    local lines
    lines=$(wc -l < "$src")
    [ "$lines" -ge 10 ] || { echo "README.md: no \`\`\`c block under '## Quick start in C' ($lines lines)"; return 1; }
    grep -q 'int main' "$src" || { echo "the block has no main"; return 1; }
}

compiles_as_written() {
    "${CC:-gcc}" -std=c11 -Wall -Wextra -Werror -Iinclude -o "$exe" "$src" \
        -L"$dev_lib" -Wl,-rpath,"$dev_lib" -lptrace_dbg
}

reports_the_exit_of_bin_true() {
    local out
    out=$("$exe" /bin/true) || { echo "exit status $?: $out"; return 1; }
    grep -qE '^/bin/true exited with code 0, signal 0, after [0-9]+ stops$' <<<"$out" ||
        { echo "unexpected output: $out"; return 1; }
}

passes_arguments_and_reports_the_exit_code() {
    local out tracee=${BUILD:-build}/tracees/tracee
    [ -x "$tracee" ] || { echo "no $tracee (make tracees)"; return 1; }
    out=$("$exe" "$tracee" exit 3) || { echo "exit status $?: $out"; return 1; }
    grep -qE "exited with code 3, signal 0" <<<"$out" || { echo "unexpected output: $out"; return 1; }
    grep -qE '^stop [0-9]+: thread [0-9]+, thread exit$' <<<"$out" ||
        { echo "no exit stop reported: $out"; return 1; }
    # The breakpoint by name on libc's exit, set when libc was loaded, named by address.
    grep -qE '^stop [0-9]+: thread [0-9]+, breakpoint in exit$' <<<"$out" ||
        { echo "no breakpoint stop in exit: $out"; return 1; }
}

fails_cleanly_for_a_missing_program() {
    local out
    if out=$("$exe" /nonexistent/program 2>&1); then echo "succeeded: $out"; return 1; fi
    grep -q "launch:" <<<"$out" || { echo "unexpected output: $out"; return 1; }
}

cpp_example_compiles_and_runs() {
    local out tracee=${BUILD:-build}/tracees/tracee
    extract "Using it from C++" cpp > "$cpp_src" || return 1
    grep -q 'int main' "$cpp_src" || { echo "no \`\`\`cpp block with main under '## Using it from C++'"; return 1; }
    "${CXX:-g++}" -std=c++17 -Wall -Wextra -Wpedantic -Werror -Iinclude -o "$cpp_exe" "$cpp_src" \
        -L"$dev_lib" -Wl,-rpath,"$dev_lib" -lptrace_dbg || return 1
    out=$("$cpp_exe" "$tracee" exit 3) || { echo "exit status $?: $out"; return 1; }
    grep -qE '^thread [0-9]+ stopped at 0x[0-9a-f]+$' <<<"$out" || { echo "no stop line: $out"; return 1; }
    grep -qx 'exited with code 3' <<<"$out" || { echo "unexpected output: $out"; return 1; }
    # Issue 10: a missing program is reported, not an abort; a signal death names the signal.
    if out=$("$cpp_exe" /nonexistent/program 2>&1); then echo "succeeded: $out"; return 1; fi
    grep -q "ptrace_dbg_launch" <<<"$out" || { echo "missing program: $out"; return 1; }
    ! grep -q "terminate called" <<<"$out" || { echo "aborted: $out"; return 1; }
    out=$("$cpp_exe" /bin/sh -c 'kill -TERM $$') || { echo "exit status $?: $out"; return 1; }
    grep -qx 'killed by SIGTERM' <<<"$out" || { echo "signal death: $out"; return 1; }
}

watch_example_names_every_writer() {
    local out src=$build/whowrites.c exe=$build/whowrites prog=$build/watch-nopie addr
    extract "Watchpoints: who writes this variable?" c > "$src" || return 1
    grep -q 'int main' "$src" || { echo "no \`\`\`c block with main under '## Watchpoints'"; return 1; }
    "${CC:-gcc}" -std=c11 -Wall -Wextra -Werror -Iinclude -o "$exe" "$src" \
        -L"$dev_lib" -Wl,-rpath,"$dev_lib" -lptrace_dbg || return 1
    # The watch tracee, non-PIE so that nm gives the run-time address of wvar (wvar[0]).
    "${CC:-gcc}" -O1 -g -pthread -no-pie -o "$prog" c-tests/tracees/watch.c || return 1
    addr=0x$(nm "$prog" | awk '$3 == "wvar" { print $1 }')
    [ "$addr" != 0x ] || { echo "no wvar in $prog"; return 1; }
    # churn 30: 30 threads one after another, each writes wvar[0] = its number, then exits.
    out=$("$exe" "$addr" "$prog" churn 30) || { echo "exit status $?: $out"; return 1; }
    [ "$(grep -cE '^thread [0-9]+ wrote [0-9]+ \(pc 0x[0-9a-f]+\)$' <<<"$out")" = 30 ] ||
        { echo "not 30 writes reported: $out"; return 1; }
    [ "$(grep -oE '^thread [0-9]+' <<<"$out" | sort -u | wc -l)" = 30 ] ||
        { echo "not 30 distinct writers: $out"; return 1; }
    grep -qx 'thread [0-9]* wrote 30 (pc 0x[0-9a-f]*)' <<<"$out" || { echo "no write of 30: $out"; return 1; }
    grep -qx 'exited with code 0' <<<"$out" || { echo "unexpected end: $out"; return 1; }
}

check readme_has_the_block readme_has_the_block
check compiles_as_written compiles_as_written
check reports_the_exit_of_bin_true reports_the_exit_of_bin_true
check passes_arguments_and_reports_the_exit_code passes_arguments_and_reports_the_exit_code
check fails_cleanly_for_a_missing_program fails_cleanly_for_a_missing_program
check cpp_example_compiles_and_runs cpp_example_compiles_and_runs
check watch_example_names_every_writer watch_example_names_every_writer
summary
