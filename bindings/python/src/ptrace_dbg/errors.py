"""The exception hierarchy: one class per PTRACE_DBG_E_* result code, all PtraceDbgError."""

from __future__ import annotations

import errno as _errno
import re
from typing import Dict, Optional, Type

from . import _lib


class PtraceDbgError(Exception):
    """A call into libptrace_dbg failed.

    ``code`` is the negative PTRACE_DBG_E_* value, ``detail`` the library's last_error text
    for the failing call (what failed, which system call, the errno text).
    """

    code: int = 0

    def __init__(self, code: Optional[int] = None, detail: str = "") -> None:
        if code is None:
            code = type(self).code
        text = _lib.text(_lib.lib.ptrace_dbg_strerror(code))
        # Each phrase once: a detail that starts with the code's text stands alone
        # ("timed out: the process is still running", not "timed out: timed out: ...").
        if not detail or detail == text:
            message = text
        elif detail.lower().startswith(text.lower()):
            message = detail
        else:
            message = f"{text}: {detail}"
        super().__init__(message)
        self.code = code
        self.detail = detail
        if isinstance(self, OSError):
            # The errno of the failing system call, when the detail names one ("execve: ENOENT").
            setattr(self, "errno", _errno_in(detail))
            setattr(self, "strerror", detail or text)

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


def _errno_in(detail: str) -> Optional[int]:
    for name in re.findall(r"\bE[A-Z0-9]+\b", detail):
        value = getattr(_errno, name, None)
        if isinstance(value, int):
            return value
    return None


class InvalidArgument(PtraceDbgError, ValueError):
    """An argument is unusable (PTRACE_DBG_E_INVALID_ARGUMENT)."""

    code = _lib.E_INVALID_ARGUMENT


class InvalidHandle(PtraceDbgError):
    """The process handle was freed (closed) or never was one (PTRACE_DBG_E_INVALID_HANDLE)."""

    code = _lib.E_INVALID_HANDLE


class BadState(PtraceDbgError):
    """Wrong state for the call, e.g. registers of a running thread (PTRACE_DBG_E_BAD_STATE)."""

    code = _lib.E_BAD_STATE


class NoSuchThread(PtraceDbgError, LookupError):
    """The tid is not a live thread of the process (PTRACE_DBG_E_NO_SUCH_THREAD)."""

    code = _lib.E_NO_SUCH_THREAD


class BreakpointExists(PtraceDbgError):
    """A breakpoint is already set at that address (PTRACE_DBG_E_BREAKPOINT_EXISTS)."""

    code = _lib.E_BREAKPOINT_EXISTS


class NoBreakpoint(PtraceDbgError, LookupError):
    """No breakpoint is set at that address (PTRACE_DBG_E_NO_BREAKPOINT)."""

    code = _lib.E_NO_BREAKPOINT


class PermissionDenied(PtraceDbgError, PermissionError):
    """The kernel refused: ptrace_scope, capabilities, another tracer (PTRACE_DBG_E_PERMISSION)."""

    code = _lib.E_PERMISSION


class NoSuchProcess(PtraceDbgError, ProcessLookupError):
    """The process does not exist (PTRACE_DBG_E_NO_SUCH_PROCESS)."""

    code = _lib.E_NO_SUCH_PROCESS


class Timeout(PtraceDbgError, TimeoutError):
    """A wait ran out of time (PTRACE_DBG_E_TIMEOUT)."""

    code = _lib.E_TIMEOUT


class Exited(PtraceDbgError):
    """The process has exited; see Process.exit_status (PTRACE_DBG_E_EXITED)."""

    code = _lib.E_EXITED


class Fault(PtraceDbgError):
    """Tracee memory is not accessible (PTRACE_DBG_E_FAULT).

    ``done`` is the number of bytes transferred before the inaccessible one; for a read,
    ``data`` holds those bytes.
    """

    code = _lib.E_FAULT

    def __init__(
        self, code: Optional[int] = None, detail: str = "", data: bytes = b"", done: int = 0
    ) -> None:
        super().__init__(code, detail)
        self.data = data
        self.done = done


class BufferTooSmall(PtraceDbgError):
    """A buffer was too small (PTRACE_DBG_E_BUFFER_TOO_SMALL); the binding retries for you."""

    code = _lib.E_BUFFER_TOO_SMALL


class Os(PtraceDbgError, OSError):
    """Another system call failed (PTRACE_DBG_E_OS); ``errno`` is set when the detail names it."""

    code = _lib.E_OS


class Internal(PtraceDbgError):
    """A bug in the library caught at its boundary (PTRACE_DBG_E_INTERNAL)."""

    code = _lib.E_INTERNAL


class NoResource(PtraceDbgError):
    """A limited resource is used up: all four watchpoint slots (PTRACE_DBG_E_NO_RESOURCE)."""

    code = _lib.E_NO_RESOURCE


class NotFound(PtraceDbgError, LookupError):
    """No such symbol, loaded object or symbol breakpoint (PTRACE_DBG_E_NOT_FOUND)."""

    code = _lib.E_NOT_FOUND


class NotSupported(PtraceDbgError):
    """The CPU or kernel lacks the feature, e.g. zmm registers without AVX-512
    (PTRACE_DBG_E_NOT_SUPPORTED)."""

    code = _lib.E_NOT_SUPPORTED


#: result code -> exception class
BY_CODE: Dict[int, Type[PtraceDbgError]] = {
    cls.code: cls
    for cls in (
        InvalidArgument, InvalidHandle, BadState, NoSuchThread, BreakpointExists, NoBreakpoint,
        PermissionDenied, NoSuchProcess, Timeout, Exited, Fault, BufferTooSmall, Os, Internal,
        NoResource,
        NotFound,
        NotSupported,
    )
}


def error_for(code: int, detail: Optional[str] = None) -> PtraceDbgError:
    """The exception for result ``code``; ``detail`` defaults to this thread's last_error."""
    if detail is None:
        detail = _lib.text(_lib.lib.ptrace_dbg_last_error())
    return BY_CODE.get(code, PtraceDbgError)(code, detail)


def check(code: int) -> None:
    """Raises the exception for a failing result code; returns for PTRACE_DBG_OK."""
    if code != _lib.OK:
        raise error_for(code)
