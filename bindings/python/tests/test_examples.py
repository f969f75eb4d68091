"""The examples of examples/python run as a user would run them."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import unittest

import helpers
import ptrace_dbg


def run_example(name: str, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    package_dir = os.path.dirname(os.path.dirname(os.path.abspath(ptrace_dbg.__file__)))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_dir, env.get("PYTHONPATH")]))
    return subprocess.run([sys.executable, os.path.join(helpers.EXAMPLES, name), *args],
                          env=env, capture_output=True, text=True, timeout=120)


@unittest.skipUnless(os.path.isdir(helpers.EXAMPLES), "no examples/python")
class ExamplesTest(unittest.TestCase):
    def setUp(self):
        helpers.require_tracee(self)

    def test_mini_ltrace_counts_a_libc_function(self):
        out = run_example("mini_ltrace.py", "raise", helpers.TRACEE, "sigusr1")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(out.stdout, "handler ran 1\n")  # the program's own output
        self.assertIn("calls to raise: 1\n", out.stderr)

    def test_mini_ltrace_counts_a_program_function(self):
        out = run_example("mini_ltrace.py", "target_fn", helpers.TRACEE, "bp_loop", "7")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("calls to target_fn: 7\n", out.stderr)

    def test_mini_ltrace_follows_an_exec(self):
        # Issue 10: through a shim that execs the real program, the count was 0.
        env = shutil.which("env")
        if env is None:
            self.skipTest("no env")
        out = run_example("mini_ltrace.py", "target_fn", env, helpers.TRACEE, "bp_loop", "7")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("exec'd", out.stderr)
        self.assertIn("calls to target_fn: 7\n", out.stderr)

    def test_mini_ltrace_counts_hits_among_thread_stops(self):
        # Thread creations and exits stop the process too: only breakpoint hits count.
        out = run_example("mini_ltrace.py", "target_fn", helpers.TRACEE, "bp_threads", "3", "5")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("calls to target_fn: 15\n", out.stderr)

    def test_mini_ltrace_on_ls(self):
        ls = shutil.which("ls")
        if ls is None:
            self.skipTest("no ls")
        out = run_example("mini_ltrace.py", "malloc", "ls", "-la", helpers.ROOT)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("Makefile", out.stdout)
        count = re.search(r"calls to malloc: (\d+)", out.stderr)
        self.assertIsNotNone(count, out.stderr)
        self.assertGreater(int(count.group(1)), 0)

    def test_mini_ltrace_unknown_function(self):
        out = run_example("mini_ltrace.py", "no_such_function", helpers.TRACEE, "exit", "0")
        self.assertNotEqual(out.returncode, 0)
        self.assertIn("no function no_such_function", out.stderr)

    def test_async_wait(self):
        out = run_example("async_wait.py", helpers.TRACEE, "exit_later", "1")
        self.assertEqual(out.returncode, 7, out.stderr)
        self.assertIn("thread_create", out.stdout)
        ticks = re.search(r"exited with status 7; the event loop ticked (\d+) times", out.stdout)
        self.assertIsNotNone(ticks, out.stdout)
        self.assertGreater(int(ticks.group(1)), 5)


if __name__ == "__main__":
    unittest.main()
