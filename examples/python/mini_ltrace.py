#!/usr/bin/env python3
"""Count the calls a program makes to one function of libc (or of the program itself).

    python3 mini_ltrace.py malloc /bin/ls -l        # prints "calls to malloc: 123" on stderr

libc is not mapped yet when the program starts: a breakpoint by name is set in every object
that defines the function, now or when the dynamic loader maps it. (An IFUNC such as memcpy
resolves to its resolver: count its implementation, e.g. __memcpy_avx_unaligned_erms, instead.)
"""
import sys

from ptrace_dbg import CauseKind, Exited, NotFound, Process

if len(sys.argv) < 3:
    sys.exit("usage: mini_ltrace.py FUNCTION PROGRAM [ARGS...]")
function, argv = sys.argv[1], sys.argv[2:]


def defined(p: Process) -> bool:
    try:
        p.symbol_address(function)
        return True
    except NotFound:
        return False


with Process.launch(argv) as p:                        # stopped at its first instruction
    try:
        p.add_symbol_breakpoint(function)              # now, or when its library loads
    except NotFound:                                   # (a static program loads nothing)
        sys.exit(f"mini_ltrace: no function {function} in {argv[0]}")
    p.follow_libraries()                               # stop when libraries are loaded
    found = defined(p)
    calls = 0
    while True:                                        # run to the end, counting hits
        p.cont()
        try:
            p.wait_stop()
        except Exited:
            break
        for t in p.threads():
            kind = p.stop_cause(t).kind
            calls += kind == CauseKind.BREAKPOINT
            found = found or (kind == CauseKind.LIBRARY and defined(p))
    if not found:
        sys.exit(f"mini_ltrace: no function {function} in {argv[0]} or its libraries")
    print(f"calls to {function}: {calls}", file=sys.stderr)
    code, signal = p.exit_status or (-1, 0)
    sys.exit(code)                                     # -1 (255) if a signal killed it
