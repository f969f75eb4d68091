"""Tracepoints, records, conditions and range stepping from Python (build/tracees/tp)."""

from __future__ import annotations

import os
import select
import time
import unittest

import helpers
from ptrace_dbg import CauseKind, Exited, InvalidArgument, Process, RecordKind

TP = os.path.join(os.path.dirname(helpers.TRACEE), "tp")


def symbol(p: Process, name: str) -> int:
    return helpers.symbol(p, name, TP)


def drain(p: Process) -> list:
    """Every record until the process exits; thread births and ends are continued."""
    records = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        select.select([p], [], [], helpers.WAIT)
        got = p.read_records()
        records.extend(got)
        if got:
            continue
        try:
            tid = p.wait_stop(timeout=0)
        except Exited:
            return records + p.read_records()
        except TimeoutError:
            continue
        kind = p.stop_cause(tid).kind
        assert kind in (CauseKind.THREAD_CREATE, CauseKind.THREAD_EXIT), kind
        p.cont()
    raise AssertionError("no exit")


@unittest.skipUnless(os.access(TP, os.X_OK), "no tp tracee (make tracees)")
class TracepointTest(unittest.TestCase):
    def test_two_threads_every_hit_recorded_in_order(self):
        n = 500
        with Process.launch([TP, "hits", "2", str(n)]) as p:
            tp_id = p.add_tracepoint(symbol(p, "tp_target"))
            p.tracepoint_capture(tp_id, "rsp", 0, 8)
            p.set_record_capacity(16)
            p.cont()
            records = drain(p)
            self.assertEqual(p.exit_status.code, 0)
            nxt = {}
            for r in records:
                self.assertEqual((r.kind, r.id), (RecordKind.TRACEPOINT, tp_id))
                self.assertEqual(r.regs.rdi, nxt.get(r.tid, 0))
                self.assertEqual(len(r.data), 8)
                nxt[r.tid] = nxt.get(r.tid, 0) + 1
            self.assertEqual(sorted(nxt.values()), [n + 1, n + 1])
            self.assertEqual(p.record_stats()["recorded"], 2 * (n + 1))

    def test_step_range_and_a_condition(self):
        with Process.launch([TP, "range"]) as p:
            # tp_range: mov $100,%ecx (5 bytes); dec %ecx (2), nop (1), jnz (2): the loop ends
            # at +10 (tp_range_end); two nops, then tp_range_inner at +12.
            start = symbol(p, "tp_range")
            end, inner = start + 10, start + 12
            p.add_breakpoint(start)
            p.cont()
            tid = p.wait_stop(timeout=helpers.WAIT)
            self.assertEqual(p.step_range(tid, start, end), 301)
            self.assertEqual(p.get_pc(tid), end)
            p.add_breakpoint(inner)
            p.set_breakpoint_condition(inner, "rcx", "==", 7)  # rcx is 0 there: passed
            self.assertEqual(p.step_n(tid, 3), 3)
            self.assertEqual(p.get_pc(tid), inner + 1)
            with self.assertRaises(InvalidArgument):
                p.set_breakpoint_condition(inner, "rcx", "=~", 7)
            with self.assertRaises(InvalidArgument):
                p.step_range(tid, end, start)


if __name__ == "__main__":
    unittest.main()
