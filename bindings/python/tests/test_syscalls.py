"""System-call stops from Python: counts, a changed result, names (build/tracees/syscalls)."""

from __future__ import annotations

import os
import unittest

import helpers
from ptrace_dbg import CauseKind, Exited, InvalidArgument, Process, syscall_name, syscall_number

SYSCALLS = os.path.join(os.path.dirname(helpers.TRACEE), "syscalls")


def run(p: Process, on_stop) -> None:
    """Continues to the exit, calling on_stop(tid, syscall) for every thread at a syscall
    stop."""
    for _ in range(100000):
        p.cont()
        try:
            p.wait_stop(timeout=helpers.WAIT)
        except Exited:
            return
        for tid in p.threads():
            if p.stop_cause(tid).kind in (CauseKind.SYSCALL_ENTRY, CauseKind.SYSCALL_EXIT):
                on_stop(tid, p.syscall_info(tid))
    raise AssertionError("no exit")


@unittest.skipUnless(os.access(SYSCALLS, os.X_OK), "no syscalls tracee (make tracees)")
class SyscallTest(unittest.TestCase):
    def setUp(self):
        self.null = open(os.devnull, "wb")
        self.addCleanup(self.null.close)

    def test_counts_from_four_threads(self):
        seen = {}
        with Process.launch([SYSCALLS, "count", "20"], stdout=self.null) as p:
            p.trace_syscalls(["write", "getppid"], entry=False, exit=True)
            run(p, lambda tid, s: seen.__setitem__((s.name, s.is_exit),
                                                  seen.get((s.name, s.is_exit), 0) + 1))
            self.assertEqual(p.exit_status.code, 0)
        self.assertEqual(seen, {("write", True): 80, ("getppid", True): 80})

    def test_changed_result_is_what_the_program_sees(self):
        r, w = os.pipe()
        try:
            with Process.launch([SYSCALLS, "change", "/nonexistent/x", "/dev/null"],
                                stdout=w) as p:
                os.close(w)
                w = -1
                p.trace_syscalls([syscall_number("getpid")], entry=False)
                run(p, lambda tid, s: p.set_syscall_return(tid, 4321))
            out = os.read(r, 4096).decode()
        finally:
            os.close(r)
            if w >= 0:
                os.close(w)
        self.assertIn("getpid=4321 ", out)

    def test_names_and_bad_input(self):
        self.assertEqual(syscall_name(257), "openat")
        self.assertIsNone(syscall_name(400))
        self.assertIsNone(syscall_name(1 << 40))
        self.assertEqual(syscall_number("exit_group"), 231)
        with self.assertRaises(InvalidArgument):
            syscall_number("no_such_call")
        with Process.launch([SYSCALLS, "count", "1"], stdout=self.null) as p:
            with self.assertRaises(InvalidArgument):
                p.trace_syscalls([-1])
            with self.assertRaises(InvalidArgument):
                p.trace_syscalls(["no_such_call"])


if __name__ == "__main__":
    unittest.main()
