"""Shared test helpers: where things are, symbol addresses, bounded waits."""

from __future__ import annotations

import os
import select
import shutil
import subprocess
import sys
import unittest
from typing import Dict, List, Optional

HERE = os.path.dirname(os.path.abspath(__file__))
BINDING = os.path.dirname(HERE)
ROOT = os.path.dirname(os.path.dirname(BINDING))
SRC = os.path.join(BINDING, "src")
HEADER = os.path.join(ROOT, "include", "ptrace_dbg.h")
EXAMPLES = os.path.join(ROOT, "examples", "python")
TRACEE = os.environ.get("PTRACE_DBG_TRACEE", os.path.join(ROOT, "build", "tracees", "tracee"))

try:  # the installed package if there is one, else the source tree's
    import ptrace_dbg  # noqa: F401
except ImportError:
    sys.path.insert(0, SRC)
    import ptrace_dbg  # noqa: F401

from ptrace_dbg import Exited, Process, Timeout  # noqa: E402

#: Seconds any single wait in the tests may take.
WAIT = 10.0

def symbol(p: Process, name: str, path: str = TRACEE) -> int:
    """Run-time address of symbol ``name`` of ``path`` (the tracee) in process ``p``."""
    return p.symbol_address(name, os.path.realpath(path))


def nm_symbols(path: str) -> Optional[Dict[str, int]]:
    """``nm``'s view of the defined symbols, or None without binutils."""
    if not shutil.which("nm"):
        return None
    out = subprocess.run(["nm", "--defined-only", path], capture_output=True, text=True,
                         timeout=30, check=True).stdout
    result = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3:
            result[parts[2]] = int(parts[0], 16)
    return result


def launch(*args: str, **kw) -> Process:
    """The tracee launched with ``args``, stopped at exec."""
    return Process.launch([TRACEE, *args], **kw)


def run_to_exit(p: Process, limit: int = 1000) -> List[object]:
    """Continues until the process exits; returns the causes of the stops on the way."""
    causes: List[object] = []
    for _ in range(limit):
        p.cont()
        try:
            tid = p.wait_stop(WAIT)
        except Exited:
            return causes
        causes.append(p.stop_cause(tid) if tid else None)
    raise AssertionError(f"no exit after {limit} stops")


def run_until_quiet(p: Process, quiet: float = 0.3) -> None:
    """Continues through stops until the process runs ``quiet`` seconds without one."""
    for _ in range(100):
        p.cont()
        try:
            p.wait_stop(quiet)
        except Timeout:
            return
    raise AssertionError("the process kept stopping")


def read_line(f, timeout: float = WAIT) -> str:
    """One line from a pipe, within ``timeout`` seconds."""
    ready, _, _ = select.select([f], [], [], timeout)
    if not ready:
        raise AssertionError("no line from the tracee")
    return f.readline().decode().rstrip("\n")


def require_tracee(test: unittest.TestCase) -> None:
    if not os.access(TRACEE, os.X_OK):
        test.skipTest(f"{TRACEE} is not built (make tracees)")


class deadline:
    """A call that tests a timeout runs under its own deadline: ``with deadline(3, "what"):``.
    If the block has not finished after ``seconds``, the test program ends at once naming it
    (a blocking C call cannot be interrupted from Python), instead of hanging until the
    runner's limit."""

    def __init__(self, seconds: float, what: str) -> None:
        import threading

        self.seconds, self.what = seconds, what
        self.timer = threading.Timer(seconds, self._expired)
        self.timer.daemon = True

    def _expired(self) -> None:
        sys.stdout.write(f"FAIL: {self.what} did not return within {self.seconds} s\n")
        sys.stdout.flush()
        os._exit(1)

    def __enter__(self) -> "deadline":
        self.timer.start()
        return self

    def __exit__(self, *exc) -> None:
        self.timer.cancel()
