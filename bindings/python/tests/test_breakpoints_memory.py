"""Breakpoints, registers and memory, on the tracee's target_fn, pattern and check_poke."""

from __future__ import annotations

import unittest

import helpers
from helpers import WAIT, launch, run_to_exit, symbol
from ptrace_dbg import (
    BreakpointExists, CauseKind, ExitStatus, Fault, NoBreakpoint, Process, REG_NAMES, Registers,
    ThreadState,
)


class Base(unittest.TestCase):
    def setUp(self):
        helpers.require_tracee(self)

    def launch(self, *args: str) -> Process:
        p = launch(*args)
        self.addCleanup(p.close)
        return p

    def run_to(self, p: Process, addr: int) -> int:
        """Continues to the breakpoint at addr (set here if needed); the thread there."""
        p.cont()
        tid = p.wait_stop(WAIT)
        cause = p.stop_cause(tid)
        self.assertEqual((cause.kind, cause.pc), (CauseKind.BREAKPOINT, addr), str(cause))
        return tid


class BreakpointTest(Base):
    def test_every_call_of_target_fn_hits(self):
        p = self.launch("bp_loop", "5")
        target = symbol(p, "target_fn")
        p.add_breakpoint(target)
        with self.assertRaises(BreakpointExists):
            p.add_breakpoint(target)
        with self.assertRaises(NoBreakpoint):
            p.remove_breakpoint(target + 1)
        for i in range(5):
            tid = self.run_to(p, target)
            self.assertEqual(p.thread_state(tid), ThreadState.STOPPED_BREAKPOINT)
            self.assertEqual(p.get_pc(tid), target)
            self.assertEqual(p.regs(tid)["rdi"], i)  # target_fn(i)
        p.remove_breakpoint(target)
        run_to_exit(p)
        self.assertEqual(p.exit_status, ExitStatus(0, 0))

    def test_breakpoint_bytes_never_show(self):
        p = self.launch("bp_loop", "1")
        target = symbol(p, "target_fn")
        before = p.peek(target, 16)
        p.add_breakpoint(target)
        self.assertEqual(p.peek(target, 16), before)


class RegistersTest(Base):
    def test_round_trip_and_partial_update(self):
        p = self.launch("bp_loop", "3")
        target = symbol(p, "target_fn")
        p.add_breakpoint(target)
        tid = self.run_to(p, target)
        original = p.regs(tid)
        self.assertIsInstance(original, Registers)
        self.assertEqual(set(original), set(REG_NAMES))
        self.assertEqual(original.rip, target)
        self.assertEqual(original["rsp"], p.get_sp(tid))

        p.set_regs(tid, {"rax": 0x1234_5678_9ABC_DEF0, "r15": -1})
        now = p.regs(tid)
        self.assertEqual(now["rax"], 0x1234_5678_9ABC_DEF0)
        self.assertEqual(now["r15"], 2**64 - 1)
        for name in REG_NAMES:
            if name not in ("rax", "r15"):
                self.assertEqual(now[name], original[name], name)
        p.set_reg(tid, "rbx", 42)
        self.assertEqual(p.get_reg(tid, "rbx"), 42)
        p.set_regs(tid, original)  # a whole Registers works too
        self.assertEqual(p.regs(tid), original)
        p.remove_breakpoint(target)
        run_to_exit(p)
        self.assertEqual(p.exit_status, ExitStatus(0, 0))

    def test_call_a_function_by_hand(self):
        """add_numbers(40, 2) in the tracee: set rip, rdi, rsi and a return address."""
        p = self.launch("bp_loop", "1")
        target, add, landing = (symbol(p, n) for n in ("target_fn", "add_numbers", "landing"))
        p.add_breakpoint(target)
        tid = self.run_to(p, target)
        saved = p.regs(tid)
        sp = (saved.rsp - 256) & ~0xF
        p.poke(sp - 8, landing.to_bytes(8, "little"), tid=tid)  # the return address
        p.set_regs(tid, {"rip": add, "rdi": 40, "rsi": 2, "rsp": sp - 8})
        p.add_breakpoint(landing)
        self.run_to(p, landing)
        self.assertEqual(p.regs(tid).rax, 42)
        p.set_regs(tid, saved)
        p.set_pc(tid, saved.rip)
        self.assertEqual(p.get_pc(tid), target)
        run_to_exit(p)
        self.assertEqual(p.exit_status, ExitStatus(0, 0))


class MemoryTest(Base):
    def test_peek_pattern(self):
        p = self.launch("pattern")
        target, pattern = symbol(p, "target_fn"), symbol(p, "pattern")
        p.add_breakpoint(target)
        self.run_to(p, target)
        expected = bytes(i * 7 % 251 for i in range(1 << 20))
        self.assertEqual(p.peek(pattern, 1 << 20), expected)
        self.assertEqual(p.peek(pattern + 1000, 3), expected[1000:1003])
        self.assertEqual(p.peek(pattern, 0), b"")

    def test_partial_peek_raises_fault_with_the_bytes(self):
        p = self.launch("pattern")
        regions = p.maps()
        starts = {m.start for m in regions}
        edge = next(m for m in regions if m.perms.startswith("r") and m.end not in starts
                    and m.end - m.start >= 4096)
        whole = p.peek(edge.end - 100, 100)
        with self.assertRaises(Fault) as cm:
            p.peek(edge.end - 100, 200)
        self.assertEqual(cm.exception.done, 100)
        self.assertEqual(cm.exception.data, whole)
        with self.assertRaises(Fault) as cm:
            p.peek(8, 16)  # nothing mapped at address 8
        self.assertEqual((cm.exception.done, cm.exception.data), (0, b""))

    def test_poke_data_and_code(self):
        p = self.launch("poke")
        target, pattern, check = (symbol(p, n) for n in ("target_fn", "pattern", "check_poke"))
        p.add_breakpoint(target)
        self.run_to(p, target)
        p.poke(pattern + 10, b"\x01\x02\x03")
        self.assertEqual(p.peek(pattern + 8, 7), bytes([8 * 7 % 251, 9 * 7 % 251, 1, 2, 3,
                                                        13 * 7 % 251, 14 * 7 % 251]))
        p.poke(check, bytearray(b"\x31\xc0\xc3"))  # xor eax, eax; ret: check_poke returns 0
        run_to_exit(p)
        self.assertEqual(p.exit_status, ExitStatus(0, 0))

    def test_partial_poke_raises_fault(self):
        p = self.launch("pattern")
        regions = p.maps()
        starts = {m.start for m in regions}
        edge = next(m for m in regions if m.perms.startswith("rw") and m.end not in starts)
        with self.assertRaises(Fault) as cm:
            p.poke(edge.end - 4, b"\xAA" * 8)
        self.assertEqual(cm.exception.done, 4)
        self.assertEqual(p.peek(edge.end - 4, 4), b"\xAA" * 4)


if __name__ == "__main__":
    unittest.main()
