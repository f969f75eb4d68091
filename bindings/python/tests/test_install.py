"""The package as installed: loaded outside the source tree against an installed
libptrace_dbg.so.0 (found by the dynamic loader), and built by pip where it can be."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

import helpers
from ptrace_dbg import _lib

CHECK = """
import ptrace_dbg, sys
print(ptrace_dbg.library_name)
print(ptrace_dbg.__file__)
with open("/proc/self/maps") as f:
    print(next(l.split()[-1] for l in f if "libptrace_dbg" in l))
with ptrace_dbg.Process.launch([sys.argv[1], "exit", "5"]) as p:
    while True:
        p.cont()
        try:
            p.wait_stop(10)
        except ptrace_dbg.Exited:
            break
    print(p.exit_status.code)
"""


def loaded_library() -> str:
    with open("/proc/self/maps") as f:
        return next(line.split()[-1] for line in f if "libptrace_dbg" in line)


class InstalledTest(unittest.TestCase):
    def setUp(self):
        helpers.require_tracee(self)
        self.tmp = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.tmp)
        # An installed library: a copy under its SONAME in a directory of its own.
        self.libdir = os.path.join(self.tmp, "lib")
        os.mkdir(self.libdir)
        shutil.copy(loaded_library(), os.path.join(self.libdir, _lib.SONAME))

    def run_check(self, site: str) -> "list[str]":
        env = {k: v for k, v in os.environ.items()
               if k not in ("PTRACE_DBG_LIBRARY", "PYTHONPATH")}
        env.update(PYTHONPATH=site, LD_LIBRARY_PATH=self.libdir)
        out = subprocess.run([sys.executable, "-c", CHECK, helpers.TRACEE], env=env,
                             cwd=self.tmp, capture_output=True, text=True, timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr)
        return out.stdout.split("\n")

    def check_lines(self, lines: "list[str]", site: str) -> None:
        name, module, loaded, status = lines[:4]
        self.assertEqual(name, _lib.SONAME)
        self.assertTrue(module.startswith(site), module)
        self.assertEqual(os.path.realpath(loaded),
                         os.path.realpath(os.path.join(self.libdir, _lib.SONAME)))
        self.assertEqual(status, "5")

    def test_copied_package_loads_the_installed_library(self):
        """What a wheel install amounts to: the package directory, outside the tree."""
        site = os.path.join(self.tmp, "site")
        shutil.copytree(os.path.join(helpers.SRC, "ptrace_dbg"),
                        os.path.join(site, "ptrace_dbg"),
                        ignore=shutil.ignore_patterns("__pycache__"))
        self.check_lines(self.run_check(site), site)

    def test_pip_install(self):
        """pip builds and installs the package offline when setuptools can make wheels."""
        import setuptools
        can_build = (importlib.util.find_spec("wheel") is not None
                     or tuple(int(x) for x in setuptools.__version__.split(".")[:2]) >= (70, 1))
        if not can_build or importlib.util.find_spec("pip") is None:
            self.skipTest("offline wheel builds need the `wheel` package or setuptools >= 70.1")
        site = os.path.join(self.tmp, "site")
        source = os.path.join(self.tmp, "source")  # pip builds in place: not in the tree
        shutil.copytree(helpers.BINDING, source, ignore=shutil.ignore_patterns(
            "__pycache__", "build", "*.egg-info", "tests"))
        out = subprocess.run(
            [sys.executable, "-m", "pip", "install", "--no-index", "--no-build-isolation",
             "--target", site, source],
            capture_output=True, text=True, timeout=120)
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        self.assertTrue(os.path.exists(os.path.join(site, "ptrace_dbg", "py.typed")))
        self.check_lines(self.run_check(site), site)


if __name__ == "__main__":
    unittest.main()
