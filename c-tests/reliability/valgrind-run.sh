#!/bin/sh
# Runs C tests under valgrind memcheck, one valgrind per test, and judges the library:
#   c-tests/reliability/valgrind-run.sh TEST_BINARY [NAME...]
# NAME: test names (default: every TEST in c-tests/test_*.c but those in $VALGRIND_SKIP).
# Environment: VALGRIND (valgrind), VALGRIND_FLAGS, REL (log directory, build/reliability),
# VALGRIND_SKIP (test names not run, space-separated).
#
# Fails when memcheck finds an error or a definite leak in a test's process (valgrind makes it
# exit 99, which the runner reports), or when any definitely-lost block or memcheck error has
# a frame in the library (a `ptrace_dbg::` Rust function, a `ptrace_dbg_*` entry point or
# libptrace_dbg.so). A test that fails otherwise under valgrind (its timing assumptions, at
# ~20x slower) is listed but not judged: that is not what this run is for.
# Logs: $REL/valgrind/NAME.log; a summary line per test.
#
# valgrind follows the runner's forked test children itself (no exec happens); with
# --trace-children=no it lets go of the programs the tests exec (the tracees), which is what
# we want: they are not ours to check, and valgrind's own ptrace-free emulation is not
# involved in tracing them. The library's raw fork/waitpid/ptrace calls run as they are.
set -u
bin=$1
shift
VALGRIND=${VALGRIND:-valgrind}
REL=${REL:-build/reliability}
default_flags="--leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99"
VALGRIND_FLAGS=${VALGRIND_FLAGS:-$default_flags --trace-children=no}
VALGRIND_SKIP=${VALGRIND_SKIP-}
here=$(dirname "$0")
logs=$REL/valgrind
mkdir -p "$logs"

if [ $# -eq 0 ]; then
    set -- $(grep -ohE '^TEST(_TIMEOUT)?\([a-z0-9_]+' "$here"/../test_*.c | sed 's/.*(//')
fi

failed=0 library=0 ran=0 skipped=0 slow=0
start=$(date +%s)
for name in "$@"; do
    case " $VALGRIND_SKIP " in
    *" $name "*)
        skipped=$((skipped + 1))
        echo "skip $name (VALGRIND_SKIP)"
        continue
        ;;
    esac
    log=$logs/$name.log
    ran=$((ran + 1))
    # shellcheck disable=SC2086
    # valgrind writes to stderr, with the test's output: a --log-file descriptor would be
    # inherited by the launched programs (valgrind reopens it unprotected in forked children),
    # which the descriptor-leak tests rightly flag.
    timeout 600 $VALGRIND $VALGRIND_FLAGS "$bin" "$name" > "$log" 2>&1
    status=$?
    # Loss records and errors: blocks of lines from a "definitely lost" or error headline to
    # the next blank record line; count those with a frame in the library.
    found=$(awk '
        /==[0-9]+== *$/ { if (inrec && lib) n++; inrec = 0; lib = 0; next }
        /are definitely lost in loss record/ || /Invalid (read|write|free)/ ||
        /uninitialised/ || /unaddressable/ || /Syscall param/ || /Mismatched free/ ||
        /overlap/ || /Conditional jump/ { inrec = 1 }
        inrec && (/ptrace_dbg::/ || /ptrace_dbg_[a-z_]+ \(/ || /libptrace_dbg/) &&
            !/test_body_/ { lib = 1 }
        END { if (inrec && lib) n++; print n + 0 }' "$log")
    lost=$(grep -h "definitely lost:" "$log" |
        awk '{ gsub(",", "", $4); s += $4 } END { print s + 0 }')
    # memcheck errors (and definite leaks) make valgrind exit 99 in the test's process, which
    # the runner reports as "exited with status 99". Other failures under valgrind are timing
    # (everything runs ~20 times slower): reported, not judged.
    if grep -q "exited with status 99" "$log" || [ "$status" -gt 1 ]; then
        failed=$((failed + 1))
        echo "FAIL $name (status $status, definitely lost $lost bytes; $log)"
        grep -E '^(FAIL|hostile FAIL)' "$log" | sed 's/^/    /'
    elif [ "$found" -ne 0 ]; then
        echo "FAIL $name: $found library records ($log)"
    elif [ "$status" -ne 0 ]; then
        slow=$((slow + 1))
        echo "ok $name (memory clean; the test itself failed under valgrind, not judged:)"
        grep -E '^FAIL' "$log" | sed 's/^/    /'
    else
        echo "ok $name (definitely lost: $lost bytes)"
    fi
    if [ "$found" -ne 0 ]; then
        library=$((library + found))
        echo "    $found leak/error records with a libptrace_dbg frame, in $log"
    fi
done
took=$(( $(date +%s) - start ))
echo "valgrind: $ran tests in ${took}s, $failed failed on memory," \
    "$library records from the library, $slow failed for other reasons (not judged)," \
    "$skipped skipped"
[ "$failed" -eq 0 ] && [ "$library" -eq 0 ]
