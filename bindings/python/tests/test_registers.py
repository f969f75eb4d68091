"""Registers beyond the general ones (issue 13): by name, the FXSAVE struct, the raw XSAVE
area, on build/tracees/xregs (c-tests/tracees/xregs.c), which exits 0 only if its registers
hold at the end what it loaded (or what the test wrote)."""

from __future__ import annotations

import ctypes
import os
import unittest

import helpers
from helpers import WAIT, run_to_exit, symbol

from ptrace_dbg import CauseKind, InvalidArgument, NotSupported, Process

XREGS = os.path.join(os.path.dirname(helpers.TRACEE), "xregs")


def pattern(phase: int, seed: int, reg: int, n: int) -> bytes:
    """xregs_byte of c-tests/xregs_pattern.h."""
    return bytes((seed * 53 + phase * 101 + reg * 31 + b * 7 + 1) & 0xFF for b in range(n))


@unittest.skipUnless(os.access(XREGS, os.X_OK), f"{XREGS} is not built (make tracees)")
class RegistersTest(unittest.TestCase):
    def stopped_at_checkpoint(self, *args: str):
        with open(os.devnull, "wb") as devnull:  # its "features" line
            p = Process.launch([XREGS, *args], stdout=devnull)
        self.addCleanup(p.close)
        # The tracee runs its patterns only after main starts; its symbols need the mapping.
        p.add_breakpoint(symbol(p, "xregs_checkpoint", XREGS))
        p.cont()
        tid = p.wait_stop(WAIT)
        self.assertEqual(p.stop_cause(tid).kind, CauseKind.BREAKPOINT)
        return p, tid

    def test_read_write_by_name_struct_and_xstate(self):
        p, tid = self.stopped_at_checkpoint("0")
        names = dict(p.register_names())
        self.assertEqual(names["xmm3"], 16)
        self.assertEqual(p.read_register(tid, "xmm3"), pattern(0, 0, 8 + 3, 16))
        if "ymm3" in names:
            self.assertEqual(p.read_register(tid, "ymm3"), pattern(0, 0, 8 + 3, 32))
        if "zmm31" in names:
            self.assertEqual(p.read_register(tid, "zmm31"), pattern(0, 0, 8 + 31, 64))
        fp = p.fpregs(tid)
        self.assertEqual(bytes(fp.xmm_space)[48:64], pattern(0, 0, 8 + 3, 16))
        self.assertEqual(bytes(fp.st_space)[16:26], p.read_register(tid, "st1"))
        self.assertEqual(p.read_register(tid, "rip"),
                         symbol(p, "xregs_checkpoint", XREGS).to_bytes(8, "little"))

        saved = p.get_xstate(tid)
        self.assertEqual(saved[160 + 48:160 + 64], pattern(0, 0, 8 + 3, 16))
        # Clobber xmm3, see it, then restore everything: the program finds its patterns.
        p.write_register(tid, "xmm3", b"\xab" * 16)
        self.assertEqual(p.read_register(tid, "xmm3"), b"\xab" * 16)
        self.assertEqual(bytes(p.fpregs(tid).xmm_space)[48:64], b"\xab" * 16)
        p.set_xstate(tid, saved)
        self.assertEqual(p.read_register(tid, "xmm3"), pattern(0, 0, 8 + 3, 16))

        with self.assertRaises(InvalidArgument):
            p.read_register(tid, "xmm99")
        with self.assertRaises(InvalidArgument):
            p.write_register(tid, "xmm0", b"\x00" * 8)
        with self.assertRaises(NotSupported):
            p.read_register(tid, "dr4")
        with self.assertRaises(InvalidArgument):
            p.set_xstate(tid, saved[:-1])
        self.assertEqual(p.read_register(tid, "xmm3"), pattern(0, 0, 8 + 3, 16))
        run_to_exit(p)
        self.assertEqual(p.exit_status.code, 0)

    def test_fpregs_struct_is_the_kernel_layout(self):
        self.assertEqual(ctypes.sizeof(helpers.ptrace_dbg._lib.FpRegs), 512)
        self.assertEqual(helpers.ptrace_dbg._lib.FpRegs.st_space.offset, 32)
        self.assertEqual(helpers.ptrace_dbg._lib.FpRegs.xmm_space.offset, 160)


if __name__ == "__main__":
    unittest.main()
