#!/usr/bin/env python3
"""Count the calls a program makes to one function of libc (or of the program itself).

    python3 mini_ltrace.py malloc /bin/ls -l        # prints "calls to malloc: 123" on stderr

libc is not mapped yet when the program starts, so we first run to the program's entry
point, where the dynamic loader has mapped every library. (An IFUNC such as memcpy resolves
to another function: count its implementation, e.g. __memcpy_avx_unaligned_erms, instead.)

The program may exec another one (a shim such as `/usr/bin/env ls` or a python3 wrapper
does): an exec replaces the address space and its breakpoints, so we start over in the new
program and say so on stderr. Any stop may come first (a new thread, a signal): we look at
every stopped thread's cause, never assume the stop is ours.
"""
import os
import sys

from ptrace_dbg import CauseKind, Exited, Process
from ptrace_dbg.elf import Elf, find_library, load_bias, symbol_address


def say(text):
    print(f"mini_ltrace: {text}", file=sys.stderr)


def run_to_entry(p):
    """Sets a breakpoint at the current program's entry point; returns (program, entry)."""
    program = os.readlink(f"/proc/{p.pid}/exe")
    entry = Elf(program).entry + load_bias(p.pid, program)
    p.add_breakpoint(entry)
    return program, entry


def find_function(p, program, function):
    libc = find_library(p.pid, "libc.so")
    return (libc and symbol_address(p.pid, libc, function)) or \
        symbol_address(p.pid, program, function)


if len(sys.argv) < 3:
    sys.exit("usage: mini_ltrace.py FUNCTION PROGRAM [ARGS...]")
function, argv = sys.argv[1], sys.argv[2:]
with Process.launch(argv) as p:                        # stopped at its first instruction
    program, entry = run_to_entry(p)                   # 1. run to the program's entry point
    addr = None                                        # 2. then break on the function
    calls = 0
    while True:                                        # 3. run to the end, counting hits
        p.cont()
        try:
            p.wait_stop()
        except Exited:
            break
        causes = {t: p.stop_cause(t) for t in p.threads()}
        if any(c.kind == CauseKind.EXEC for c in causes.values()):
            old = program
            program, entry = run_to_entry(p)           # the old breakpoints are gone
            addr = None
            say(f"{old} exec'd {program}: counting in the new program"
                + (f" ({calls} calls before)" if calls else ""))
            continue
        hits = [c.pc for c in causes.values() if c.kind == CauseKind.BREAKPOINT]
        if entry is not None and entry in hits:
            p.remove_breakpoint(entry)
            entry = None
            addr = find_function(p, program, function)
            if addr is None:                           # it may exec one that has it
                say(f"no function {function} in libc or {program} (yet)")
            else:
                p.add_breakpoint(addr)
        calls += sum(pc == addr for pc in hits if addr is not None)
    if addr is None and not calls:
        sys.exit(f"mini_ltrace: no function {function} in libc or {program}")
    print(f"calls to {function}: {calls}", file=sys.stderr)
    code, signal = p.exit_status or (-1, 0)
    sys.exit(code)                                     # -1 (255) if a signal killed it
