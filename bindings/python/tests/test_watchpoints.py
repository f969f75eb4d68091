"""Hardware watchpoints through the binding, on c-tests/tracees/watch.c (build/tracees/watch)."""

from __future__ import annotations

import os
import unittest

import helpers
from helpers import WAIT, symbol
from ptrace_dbg import (
    CauseKind, Exited, InvalidArgument, NoBreakpoint, NoResource, Process, ThreadState, WatchKind,
)

WATCH = os.path.join(os.path.dirname(helpers.TRACEE), "watch")


class WatchpointTest(unittest.TestCase):
    def setUp(self):
        if not os.access(WATCH, os.X_OK):
            self.skipTest(f"{WATCH} is not built (make tracees)")

    def launch(self, *args: str) -> Process:
        p = Process.launch([WATCH, *args])
        self.addCleanup(p.close)
        return p

    def test_who_writes_the_variable(self):
        p = self.launch("threads", "20")
        wvar = symbol(p, "wvar", WATCH)
        ids = {p.add_watchpoint(wvar + 8 * i, 8, WatchKind.WRITE): i for i in range(4)}
        writers = {}
        values = [0] * 4
        while True:
            p.cont()
            try:
                p.wait_stop(WAIT)
            except Exited:
                break
            for tid in p.threads():
                cause = p.stop_cause(tid)
                if cause.kind != CauseKind.WATCHPOINT:
                    continue
                self.assertEqual(p.thread_state(tid), ThreadState.STOPPED_BREAKPOINT)
                wid, addr = p.watchpoint_hit(tid)
                self.assertEqual(addr, cause.pc)
                i = ids[wid]
                self.assertEqual(writers.setdefault(i, tid), tid)
                value = int.from_bytes(p.peek(addr, 8, tid=tid), "little")
                self.assertEqual(value, values[i] + 1)
                values[i] = value
        self.assertEqual(values, [20] * 4)
        self.assertEqual(len(set(writers.values())), 4)
        self.assertEqual(p.exit_status.code, 0)

    def test_bad_requests_slots_and_ids(self):
        p = self.launch("store", "1")
        wvar = symbol(p, "wvar", WATCH)
        for addr, length, kind in [(wvar, 3, WatchKind.WRITE), (wvar + 4, 8, WatchKind.WRITE),
                                   (wvar, 8, WatchKind.EXECUTE), (wvar, 8, 2), (wvar, -1, 1)]:
            with self.assertRaises(InvalidArgument):
                p.add_watchpoint(addr, length, kind)
        ids = [p.add_watchpoint(wvar + 8 * i) for i in range(4)]
        with self.assertRaises(NoResource):
            p.add_watchpoint(wvar, 1, WatchKind.READ_WRITE)
        p.remove_watchpoint(ids[1])
        with self.assertRaises(NoBreakpoint):
            p.remove_watchpoint(ids[1])
        with self.assertRaises(NoBreakpoint):
            p.watchpoint_hit(p.pid)
        p.cont()
        tid = p.wait_stop(WAIT)
        self.assertEqual(p.watchpoint_hit(tid), (ids[0], wvar))
        self.assertIn("watchpoint at", str(p.stop_cause(tid)))


if __name__ == "__main__":
    unittest.main()
