#!/usr/bin/env python3
"""Count the calls a program makes to one function of libc (or of the program itself).

    python3 mini_ltrace.py malloc /bin/ls -l        # prints "calls to malloc: 123" on stderr

libc is not mapped yet when the program starts: a breakpoint by name is set in every object
that defines the function, now or when the dynamic loader maps it, and library stops tell us
when something was loaded. (An IFUNC such as memcpy resolves to its resolver: count its
implementation, e.g. __memcpy_avx_unaligned_erms, instead.)

The program may exec another one (a shim such as `/usr/bin/env ls` or a python3 wrapper
does): the breakpoint by name is set again in the new program, and we say so on stderr. Any
stop may come first (a new thread, a signal): we look at every stopped thread's cause, and
count only hits of our function.
"""
import os
import sys

from ptrace_dbg import CauseKind, Exited, NotFound, Process


def say(text):
    print(f"mini_ltrace: {text}", file=sys.stderr)


def defined(p, function):
    """Whether a loaded object defines ``function`` now."""
    try:
        p.symbol_address(function)
        return True
    except NotFound:
        return False


def is_function(p, pc, function):
    """Whether ``pc`` is the start of ``function`` in the object it is in."""
    try:
        sym = p.address_symbol(pc)
        return sym.offset == 0 and p.symbol_address(function, sym.path) == pc
    except NotFound:
        return False


if len(sys.argv) < 3:
    sys.exit("usage: mini_ltrace.py FUNCTION PROGRAM [ARGS...]")
function, argv = sys.argv[1], sys.argv[2:]
with Process.launch(argv) as p:                        # stopped at its first instruction
    program = os.readlink(f"/proc/{p.pid}/exe")
    try:
        p.add_symbol_breakpoint(function)              # now, or when its library loads
    except NotFound:                                   # (a static program loads nothing)
        sys.exit(f"mini_ltrace: no function {function} in {program}")
    p.follow_libraries()                               # stop when objects are loaded
    found = defined(p, function)
    calls = 0
    while True:                                        # run to the end, counting hits
        p.cont()
        try:
            p.wait_stop()
        except Exited:
            break
        causes = [p.stop_cause(t) for t in p.threads()]
        if any(c.kind == CauseKind.EXEC for c in causes):
            old, program = program, os.readlink(f"/proc/{p.pid}/exe")
            say(f"{old} exec'd {program}: counting in the new program"
                + (f" ({calls} calls before)" if calls else ""))
        if any(c.kind in (CauseKind.LIBRARY, CauseKind.EXEC) for c in causes):
            found = found or defined(p, function)
        calls += sum(c.kind == CauseKind.BREAKPOINT and is_function(p, c.pc, function)
                     for c in causes)
    if not found:
        sys.exit(f"mini_ltrace: no function {function} in {program} or its libraries")
    print(f"calls to {function}: {calls}", file=sys.stderr)
    code, signal = p.exit_status or (-1, 0)
    sys.exit(code)                                     # -1 (255) if a signal killed it
