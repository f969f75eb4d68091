"""ptrace_dbg: trace and control Linux processes, the way a debugger does.

A ctypes binding of libptrace_dbg (stdlib only). The library is loaded from
$PTRACE_DBG_LIBRARY, else from the source tree's build/lib when run from the repository,
else as libptrace_dbg.so.0 from the system (after `make install`).

    with Process.launch(["./prog"]) as p:       # stopped at its first instruction
        p.add_breakpoint(addr)
        p.cont()
        tid = p.wait_stop(timeout=5)
        print(p.stop_cause(tid), p.regs(tid)["rdi"])
"""

from __future__ import annotations

from typing import Tuple

from . import _lib
from .errors import (
    BadState, BreakpointExists, BufferTooSmall, Exited, Fault, Internal, InvalidArgument,
    InvalidHandle, NoBreakpoint, NoResource, NoSuchProcess, NoSuchThread, NotFound, NotSupported,
    Os, PermissionDenied, PtraceDbgError, Timeout,
)
from .process import (
    REG_NAMES, CauseKind, ExitStatus, Library, Mapping, Process, Record, RecordKind, Registers,
    StopCause, Symbol, Syscall, ThreadState, WatchKind, syscall_name, syscall_number,
)

__version__ = "0.2.0"

#: ``Process.set_follow`` flag: follow fork, vfork and clone of a process (cause FORK).
FOLLOW_FORK: int = _lib.FOLLOW_FORK

#: The name or path the library was loaded by.
library_name: str = _lib.library_name


def version() -> str:
    """The loaded library's version, "MAJOR.MINOR.PATCH"."""
    return _lib.text(_lib.lib.ptrace_dbg_version())


def version_info() -> Tuple[int, int, int]:
    """The loaded library's version as (major, minor, patch)."""
    major, minor, patch = (int(x) for x in version().split("."))
    return major, minor, patch


def strerror(code: int) -> str:
    """The fixed text of a result code."""
    return _lib.text(_lib.lib.ptrace_dbg_strerror(code))


def signal_name(signo: int) -> str:
    """The name of a signal ("SIGSEGV"); "<invalid>" out of range."""
    return _lib.text(_lib.lib.ptrace_dbg_signal_name(signo))


__all__ = [
    "Process", "StopCause", "CauseKind", "ThreadState", "ExitStatus", "Registers", "REG_NAMES",
    "WatchKind", "NoResource",
    "FOLLOW_FORK",
    "version", "version_info", "strerror", "signal_name", "library_name",
    "Syscall", "syscall_name", "syscall_number", "Record", "RecordKind",
    "PtraceDbgError", "InvalidArgument", "InvalidHandle", "BadState", "NoSuchThread",
    "BreakpointExists", "NoBreakpoint", "PermissionDenied", "NoSuchProcess", "Timeout",
    "Exited", "Fault", "BufferTooSmall", "Os", "Internal", "NotSupported", "NotFound", "Mapping",
    "Library", "Symbol",
]
