#!/usr/bin/env python3
"""Count the calls a program makes to one function of libc (or of the program itself).

    python3 mini_ltrace.py malloc /bin/ls -l        # prints "calls to malloc: 123" on stderr

libc is not mapped yet when the program starts, so we first run to the program's entry
point, where the dynamic loader has mapped every library. (An IFUNC such as memcpy resolves
to another function: count its implementation, e.g. __memcpy_avx_unaligned_erms, instead.)
"""
import os
import sys

from ptrace_dbg import CauseKind, Exited, Process
from ptrace_dbg.elf import Elf, find_library, load_bias, symbol_address

if len(sys.argv) < 3:
    sys.exit("usage: mini_ltrace.py FUNCTION PROGRAM [ARGS...]")
function, argv = sys.argv[1], sys.argv[2:]
with Process.launch(argv) as p:                        # stopped at its first instruction
    program = os.readlink(f"/proc/{p.pid}/exe")
    entry = Elf(program).entry + load_bias(p.pid, program)
    p.add_breakpoint(entry)                            # 1. run to the program's entry point
    p.cont()
    p.wait_stop()
    p.remove_breakpoint(entry)
    libc = find_library(p.pid, "libc.so")              # 2. break on the function
    addr = (libc and symbol_address(p.pid, libc, function)) or \
        symbol_address(p.pid, program, function)
    if addr is None:
        sys.exit(f"mini_ltrace: no function {function} in libc or {program}")
    p.add_breakpoint(addr)
    calls = 0
    while True:                                        # 3. run to the end, counting hits
        p.cont()
        try:
            p.wait_stop()
        except Exited:
            break
        calls += sum(p.stop_cause(t).kind == CauseKind.BREAKPOINT for t in p.threads())
    print(f"calls to {function}: {calls}", file=sys.stderr)
    code, signal = p.exit_status or (-1, 0)
    sys.exit(code)                                     # -1 (255) if a signal killed it
