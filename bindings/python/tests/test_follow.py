"""Following children: set_follow(FOLLOW_FORK), the FORK cause, take_child."""

from __future__ import annotations

import os
import unittest

import helpers
from helpers import WAIT
from ptrace_dbg import FOLLOW_FORK, CauseKind, Exited, ExitStatus, InvalidArgument, Process

FAMILY = os.path.join(os.path.dirname(helpers.TRACEE), "family")


def run_counting(p: Process, hit: int, taken: list) -> int:
    """Runs ``p`` to its exit counting breakpoint hits; children offered are taken into
    ``taken`` (and run to their exit right away: the parent waits for each)."""
    hits = 0
    for _ in range(10000):
        p.cont()
        try:
            p.wait_stop(WAIT)
        except Exited:
            return hits
        for tid in p.threads():
            cause = p.stop_cause(tid)
            if cause.kind == CauseKind.BREAKPOINT:
                hits += 1
            elif cause.kind == CauseKind.FORK:
                child = p.take_child(cause.new_tid)
                with child:
                    self_hits = run_counting(child, hit, taken)
                    taken.append((child.pid, self_hits, child.exit_status))
    raise AssertionError("no exit")


class FollowTest(unittest.TestCase):
    def setUp(self):
        if not os.access(FAMILY, os.X_OK):
            self.skipTest(f"{FAMILY} is not built (make tracees)")

    def test_three_children_counted_exactly(self):
        with Process.launch([FAMILY, "forks", "3", "4"]) as p:
            with self.assertRaises(InvalidArgument):
                p.set_follow(4)
            p.set_follow(FOLLOW_FORK)
            hit = helpers.symbol(p, "hit", FAMILY)
            p.add_breakpoint(hit)
            taken: list = []
            self.assertEqual(run_counting(p, hit, taken), 4)
            self.assertEqual(p.exit_status, ExitStatus(0, 0))
            self.assertEqual([(h, s) for _, h, s in taken],
                             [(4 * (i + 1), ExitStatus(10 + i, 0)) for i in range(3)])

    def test_follow_libraries_keeps_follow_fork(self):
        with Process.launch([FAMILY, "forks", "1", "1"]) as p:
            self.assertEqual(p.get_follow(), 0)
            p.set_follow(FOLLOW_FORK)
            p.follow_libraries()
            self.assertEqual(p.get_follow(), FOLLOW_FORK | 2)
            p.follow_libraries(False)
            self.assertEqual(p.get_follow(), FOLLOW_FORK)

    def test_take_child_of_a_pid_never_offered(self):
        with Process.launch([FAMILY, "forks", "1", "1"]) as p:
            p.set_follow(FOLLOW_FORK)
            with self.assertRaises(InvalidArgument):
                p.take_child(p.pid)


if __name__ == "__main__":
    unittest.main()
