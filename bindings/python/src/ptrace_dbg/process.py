"""The traced process: Process, its stop causes, thread states and registers."""

from __future__ import annotations

import asyncio
import ctypes
import enum
import math
import os
import threading
import time
from dataclasses import dataclass
from typing import (
    IO, Any, Dict, Iterator, List, Mapping, MutableMapping, NamedTuple, Optional, Sequence, Tuple,
    Union,
)

from . import _lib
from ._lib import lib
from .errors import Fault, InvalidArgument, NoBreakpoint, Timeout, check, error_for

PathArg = Union[str, bytes, "os.PathLike[str]", "os.PathLike[bytes]"]
#: A file descriptor, or an object with fileno() (a file, a socket).
FdArg = Union[int, IO[Any], Any]

_U64_MASK = (1 << 64) - 1
# wait_stop without a timeout waits in slices this long, so Ctrl-C (KeyboardInterrupt) works.
_WAIT_SLICE_MS = 250


class ThreadState(enum.IntEnum):
    """A thread's state, PTRACE_DBG_STATE_*."""

    RUNNING = 0
    SINGLE_STEPPING = 1
    STOPPING = 2
    STOPPED = 3
    STOPPED_BREAKPOINT = 4
    STOPPED_SIGNAL = 5
    STOPPED_THREAD_CREATE = 6
    STOPPED_EXITING = 7
    EXITING = 8
    EXITED = 9
    DETACHED = 10

    def __str__(self) -> str:
        # Its name, as the library's messages spell it ("stopped-breakpoint"), not "4".
        return self.name.lower().replace("_", "-")


class CauseKind(enum.IntEnum):
    """Why a thread is stopped, PTRACE_DBG_CAUSE_*."""

    STOPPED = 0
    BREAKPOINT = 1
    SIGNAL = 2
    THREAD_CREATE = 3
    THREAD_EXIT = 4
    EXEC = 5
    #: Created a process (fork, vfork, clone); ``new_tid`` is its pid (only after
    #: ``set_follow(FOLLOW_FORK)``); ``Process.take_child`` takes it.
    FORK = 10
    #: Only seen by a caller that set a watchpoint.
    WATCHPOINT = 6
    SYSCALL_ENTRY = 7
    SYSCALL_EXIT = 8
    LIBRARY = 9


class WatchKind(enum.IntEnum):
    """What a watchpoint watches, PTRACE_DBG_WATCH_* (x86 has no read-only watchpoint)."""

    EXECUTE = 0
    WRITE = 1
    READ_WRITE = 3


@dataclass(frozen=True)
class Syscall:
    """The system call a thread is stopped at (``Process.syscall_info``)."""

    #: The x86-64 number (at an exit: the number it entered with; -1 for a skipped call).
    number: int
    is_exit: bool
    #: rdi, rsi, rdx, r10, r8, r9.
    args: Sequence[int]
    #: At an exit: the result, -errno on failure. At an entry: 0.
    ret: int
    is_error: bool
    #: AUDIT_ARCH_X86_64 (0xc000003e) or AUDIT_ARCH_I386 (0x40000003, ``int 0x80``).
    arch: int
    #: The address after the ``syscall`` instruction.
    pc: int
    sp: int

    @property
    def name(self) -> str:
        """The call's name ("openat"), "" if the number has none."""
        return syscall_name(self.number) or ""

    def __str__(self) -> str:
        args = ", ".join(f"{a:#x}" for a in self.args)
        call = f"{self.name or self.number}({args})"
        return f"{call} = {self.ret}" if self.is_exit else call


def syscall_name(number: int) -> Optional[str]:
    """The name of x86-64 system call ``number`` ("openat"), None if there is none."""
    if not isinstance(number, int) or not -(1 << 31) <= number < (1 << 31):
        return None
    name = lib.ptrace_dbg_syscall_name(number)
    return name.decode() if name else None


def syscall_number(name: str) -> int:
    """The number of the x86-64 system call called ``name``; InvalidArgument if none is."""
    out = ctypes.c_int32()
    check(lib.ptrace_dbg_syscall_number(name.encode(), ctypes.byref(out)))
    return out.value


@dataclass(frozen=True)
class StopCause:
    """Why a stopped thread is stopped; fields that do not apply to ``kind`` are 0."""

    kind: CauseKind
    #: SIGNAL: the pending signal; THREAD_EXIT: the terminating signal or 0.
    signal: int = 0
    #: THREAD_CREATE: the new thread's id; FORK: the new process's pid.
    new_tid: int = 0
    #: THREAD_EXIT: the exit status, or -1 when killed by a signal.
    exit_status: int = 0
    #: BREAKPOINT: the breakpoint's address; WATCHPOINT: the watchpoint's address.
    pc: int = 0

    def __str__(self) -> str:
        name = getattr(self.kind, "name", str(self.kind)).lower()
        if self.kind == CauseKind.BREAKPOINT:
            return f"breakpoint at {self.pc:#x}"
        if self.kind == CauseKind.WATCHPOINT:
            return f"watchpoint at {self.pc:#x}"
        if self.kind == CauseKind.SIGNAL:
            return f"signal {self.signal}"
        if self.kind == CauseKind.THREAD_CREATE:
            return f"thread_create of {self.new_tid}"
        if self.kind == CauseKind.FORK:
            return f"fork of process {self.new_tid}"
        if self.kind in (CauseKind.SYSCALL_ENTRY, CauseKind.SYSCALL_EXIT):
            return name + " (see Process.syscall_info)"
        if self.kind == CauseKind.THREAD_EXIT:
            how = f"signal {self.signal}" if self.signal else f"status {self.exit_status}"
            return f"thread_exit with {how}"
        return name


class RecordKind(enum.IntEnum):
    """What a record is about (PTRACE_DBG_RECORD_*)."""

    TRACEPOINT = _lib.RECORD_TRACEPOINT
    SYSCALL_ENTRY = _lib.RECORD_SYSCALL_ENTRY
    SYSCALL_EXIT = _lib.RECORD_SYSCALL_EXIT


@dataclass(frozen=True)
class Record:
    """One tracepoint hit (or system call, in record mode), as the library captured it."""

    kind: RecordKind
    tid: int
    #: The tracepoint's id; for a system call, its number.
    id: int
    #: CLOCK_MONOTONIC at the hit, in nanoseconds.
    time_ns: int
    pc: int
    #: The registers at the hit, before the instruction ran.
    regs: "Registers"
    #: The memory captured (``Process.tracepoint_capture``).
    data: bytes


class Mapping(NamedTuple):
    """One memory mapping (a line of /proc/PID/maps)."""

    start: int
    end: int
    offset: int
    perms: str
    inode: int
    path: str


class Library(NamedTuple):
    """One loaded object of the dynamic loader's list."""

    path: str
    base: int
    dynamic: int
    link_map: int


class Symbol(NamedTuple):
    """The symbol containing an address."""

    name: str
    offset: int
    path: str


class ExitStatus(NamedTuple):
    """How the process ended: exit ``code`` (or -1) and terminating ``signal`` (or 0)."""

    code: int
    signal: int


REG_NAMES = _lib.REG_NAMES


def _u64(value: int, what: str) -> int:
    """An unsigned 64-bit value; negative values are taken as two's complement."""
    if not isinstance(value, int) or not -(1 << 63) <= value <= _U64_MASK:
        raise InvalidArgument(detail=f"{what} {value!r} is not a 64-bit integer")
    return value & _U64_MASK


class Registers(MutableMapping[str, int]):
    """The x86-64 general registers of a thread: a mapping of name ("rip", "rax", ...) to int.

    The keys are fixed (REG_NAMES, in struct order); registers also read and write as
    attributes (``regs.rip``). Values are unsigned; a negative int stored is taken as two's
    complement.
    """

    __slots__ = ("_values",)
    _values: Dict[str, int]

    def __init__(self, values: Optional[Mapping[str, int]] = None) -> None:
        object.__setattr__(self, "_values", dict.fromkeys(REG_NAMES, 0))
        if values is not None:
            self.update(values)

    @classmethod
    def _from_struct(cls, regs: _lib.Regs) -> "Registers":
        out = cls()
        out._values.update((name, getattr(regs, name)) for name in REG_NAMES)
        return out

    def __getitem__(self, name: str) -> int:
        return self._values[name]

    def __setitem__(self, name: str, value: int) -> None:
        if name not in self._values:
            raise KeyError(f"no register named {name!r}")
        self._values[name] = _u64(value, name)

    def __delitem__(self, name: str) -> None:
        raise TypeError("registers cannot be deleted")

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __getattr__(self, name: str) -> int:
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name: str, value: int) -> None:
        if name not in self._values:
            raise AttributeError(f"no register named {name!r}")
        self[name] = value

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={v:#x}" for k, v in self._values.items())
        return f"Registers({inner})"


def _u32(value: int, what: str) -> int:
    if not isinstance(value, int) or not 0 <= value < 1 << 32:
        raise InvalidArgument(detail=f"{what} {value!r} is not a 32-bit unsigned integer")
    return value


def _i32(value: int, what: str) -> int:
    if not isinstance(value, int) or not -(1 << 31) <= value < (1 << 31):
        raise InvalidArgument(detail=f"{what} {value!r} is not a 32-bit integer")
    return value


def _fd(value: Optional[FdArg], what: str) -> int:
    if value is None:
        return -1
    if isinstance(value, int):
        return _i32(value, what)
    fileno = getattr(value, "fileno", None)
    if fileno is None:
        raise InvalidArgument(detail=f"{what} must be an int file descriptor or have fileno()")
    return int(fileno())


def _strings(items: Sequence[bytes]) -> "ctypes.Array[ctypes.c_char_p]":
    """A NULL-terminated char *[]."""
    array = (ctypes.c_char_p * (len(items) + 1))()
    array[: len(items)] = list(items)
    array[len(items)] = None
    return array


class Process:
    """A traced process: from Process.launch or Process.attach; close() (or a with block,
    or garbage collection) frees it, killing a launched process and detaching from an
    attached one.

    Thread arguments (``tid``) default to the main thread (tid == pid). Every method may be
    called from any thread. Failures raise PtraceDbgError subclasses (ptrace_dbg.errors).
    """

    def __init__(self, handle: ctypes.c_void_p) -> None:
        """Wraps a raw handle (use launch() or attach() instead)."""
        self._handle = handle
        self._closed = False
        self._launched = False
        self._lock = threading.Lock()
        pid = ctypes.c_int32()
        check(lib.ptrace_dbg_pid(handle, ctypes.byref(pid)))
        self._pid = pid.value

    # ----- creating and releasing -----

    @classmethod
    def launch(
        cls,
        argv: Union[PathArg, Sequence[PathArg]],
        env: Optional[Mapping[PathArg, PathArg]] = None,
        cwd: Optional[PathArg] = None,
        stdin: Optional[FdArg] = None,
        stdout: Optional[FdArg] = None,
        stderr: Optional[FdArg] = None,
        disable_aslr: bool = False,
    ) -> "Process":
        """Starts ``argv[0]`` (searched in PATH when it has no '/') traced, stopped at its first
        instruction after exec (stop cause EXEC).

        ``env`` replaces the environment (None inherits it); ``stdin``/``stdout``/``stderr``
        are fds or objects with fileno() (None inherits); ``disable_aslr`` turns address
        randomization off. An exec failure raises here (Os, PermissionDenied).
        """
        if isinstance(argv, (str, bytes, os.PathLike)):
            argv = [argv]
        args = [os.fsencode(a) for a in argv]
        if not args:
            raise InvalidArgument(detail="argv is empty")
        envp = None
        if env is not None:
            envp = _strings([os.fsencode(k) + b"=" + os.fsencode(v) for k, v in env.items()])
        opts = _lib.LaunchOptions()
        lib.ptrace_dbg_launch_options_init(ctypes.byref(opts))
        opts.cwd = None if cwd is None else os.fsencode(cwd)
        opts.stdin_fd = _fd(stdin, "stdin")
        opts.stdout_fd = _fd(stdout, "stdout")
        opts.stderr_fd = _fd(stderr, "stderr")
        opts.flags = _lib.LAUNCH_DISABLE_ASLR if disable_aslr else 0
        handle = ctypes.c_void_p()
        check(lib.ptrace_dbg_launch(args[0], _strings(args), envp, ctypes.byref(opts),
                                    ctypes.byref(handle)))
        p = cls(handle)
        p._launched = True
        return p

    @classmethod
    def attach(cls, pid: int) -> "Process":
        """Attaches to every thread of process ``pid``; returns with all of them stopped."""
        handle = ctypes.c_void_p()
        check(lib.ptrace_dbg_attach(_i32(pid, "pid"), ctypes.byref(handle)))
        return cls(handle)

    def close(self) -> None:
        """Frees the handle: a launched process is killed, an attached one detached. Later
        calls raise InvalidHandle; closing again does nothing."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        lib.ptrace_dbg_process_free(self._handle)

    @property
    def closed(self) -> bool:
        """Whether close() was called."""
        return self._closed

    def __enter__(self) -> "Process":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # interpreter shutdown: the library may be gone already
            pass

    def __repr__(self) -> str:
        return f"<ptrace_dbg.Process pid={self._pid}{' closed' if self._closed else ''}>"

    # ----- the process -----

    @property
    def pid(self) -> int:
        """The process id (also after exit, detach or close)."""
        return self._pid

    def _tid(self, tid: Optional[int]) -> int:
        return self._pid if tid is None else _i32(tid, "tid")

    def detach(self) -> None:
        """Removes every breakpoint and lets the process run on untraced (then BadState)."""
        check(lib.ptrace_dbg_detach(self._handle))

    def kill(self) -> None:
        """SIGKILLs the process and waits until it is reaped (then Exited, exit_status)."""
        check(lib.ptrace_dbg_kill(self._handle))

    @property
    def exit_status(self) -> Optional[ExitStatus]:
        """(code, signal) once the process has exited: code -1 when a signal killed it;
        None while it has not exited (or was detached)."""
        code, signal = ctypes.c_int32(), ctypes.c_int32()
        rc = lib.ptrace_dbg_exit_status(self._handle, ctypes.byref(code), ctypes.byref(signal))
        if rc == _lib.E_BAD_STATE:
            return None
        check(rc)
        return ExitStatus(code.value, signal.value)

    # ----- run control -----

    def stop(self) -> None:
        """Stops every thread; returns when all are stopped. wait_stop() then returns at once."""
        check(lib.ptrace_dbg_stop(self._handle))

    def cont(self) -> None:
        """Resumes every thread (stepping over breakpoints, delivering pending signals);
        does not wait: use wait_stop() for the next stop."""
        check(lib.ptrace_dbg_continue(self._handle))

    def wait_stop(self, timeout: Optional[float] = None) -> int:
        """Waits until the process is stopped (a breakpoint, a signal, a new thread, an exit,
        an exec, or stop()); returns the tid whose event stopped it, 0 for stop().

        ``timeout`` in seconds, None or -1 (the C habit) waits forever, 0 polls; any other
        negative value raises ValueError. Raises Timeout, or Exited once no thread is left (see
        exit_status). Returns at once if already stopped.
        """
        open_at_start = not self._closed
        if timeout is not None and timeout < 0:
            if timeout != -1:
                raise ValueError(f"timeout is {timeout}; it must be None or -1 (forever) or >= 0")
            timeout = None
        deadline = None if timeout is None else time.monotonic() + timeout
        trigger = ctypes.c_int32()
        while True:
            if deadline is None:
                ms = _WAIT_SLICE_MS
            else:
                left = deadline - time.monotonic()
                ms = max(0, min(_WAIT_SLICE_MS, math.ceil(left * 1000)))
            rc = lib.ptrace_dbg_wait_stop(self._handle, ms, ctypes.byref(trigger))
            if rc == _lib.OK:
                return trigger.value
            if rc == _lib.E_TIMEOUT and (deadline is None or time.monotonic() < deadline):
                continue
            if rc == _lib.E_INVALID_HANDLE and open_at_start and self._closed:
                # close() on another thread between two slices of this wait: report what it
                # did to the process, as the library does for a wait it interrupts.
                if self._launched:
                    raise error_for(_lib.E_EXITED, "close() on another thread killed the process")
                raise error_for(_lib.E_BAD_STATE,
                                "close() on another thread detached the process")
            raise error_for(rc)

    async def wait_stop_async(self, timeout: Optional[float] = None) -> int:
        """wait_stop() for asyncio: waits for fileno() to become readable with
        loop.add_reader, without blocking the event loop. Same results and errors."""
        loop = asyncio.get_running_loop()
        if timeout is not None and timeout < 0:
            if timeout != -1:
                raise ValueError(f"timeout is {timeout}; it must be None or -1 (forever) or >= 0")
            timeout = None
        deadline = None if timeout is None else loop.time() + timeout
        fd = self.fileno()
        while True:
            try:
                return self.wait_stop(0)
            except Timeout:
                if deadline is not None and loop.time() >= deadline:
                    raise
            ready: asyncio.Future[None] = loop.create_future()

            def wake(ready: "asyncio.Future[None]" = ready) -> None:
                if not ready.done():
                    ready.set_result(None)

            loop.add_reader(fd, wake)
            try:
                if deadline is None:
                    await ready
                else:
                    await asyncio.wait({ready}, timeout=max(0.0, deadline - loop.time()))
            finally:
                loop.remove_reader(fd)

    def fileno(self) -> int:
        """The event fd: readable while wait_stop() would not block (stopped, exited,
        detached). For select/poll/asyncio; owned by the library: never read or close it."""
        fd = ctypes.c_int32()
        check(lib.ptrace_dbg_event_fd(self._handle, ctypes.byref(fd)))
        return fd.value

    def step(self, tid: Optional[int] = None) -> None:
        """Executes one instruction of stopped thread ``tid``; the others stay stopped."""
        check(lib.ptrace_dbg_step(self._handle, self._tid(tid)))

    # ----- threads -----

    def threads(self) -> List[int]:
        """The live threads' ids, main thread first while it lives."""
        count = ctypes.c_size_t()
        cap = 16
        while True:
            tids = (ctypes.c_int32 * cap)()
            rc = lib.ptrace_dbg_threads(self._handle, tids, cap, ctypes.byref(count))
            if rc == _lib.OK:
                return list(tids[: count.value])
            if rc != _lib.E_BUFFER_TOO_SMALL:
                raise error_for(rc)
            cap = count.value + 16

    def thread_state(self, tid: Optional[int] = None) -> ThreadState:
        """The state of thread ``tid``."""
        state = ctypes.c_int32()
        check(lib.ptrace_dbg_thread_state(self._handle, self._tid(tid), ctypes.byref(state)))
        try:
            return ThreadState(state.value)
        except ValueError:  # a state added by a newer library
            return state.value  # type: ignore[return-value]

    def stop_cause(self, tid: Optional[int] = None) -> StopCause:
        """Why stopped thread ``tid`` is stopped (BadState if it runs)."""
        cause = _lib.Cause()
        check(lib.ptrace_dbg_stop_cause(self._handle, self._tid(tid), ctypes.byref(cause)))
        try:
            kind = CauseKind(cause.kind)
        except ValueError:  # a cause added by a newer library
            kind = cause.kind
        return StopCause(kind, cause.signal, cause.new_tid, cause.exit_status, cause.pc)

    # ----- following children -----

    def set_follow(self, flags: int) -> None:
        """What to follow besides the process's threads (while stopped): FOLLOW_FORK stops the
        process with cause FORK at every fork, vfork or clone of a process; 0 turns it off."""
        check(lib.ptrace_dbg_set_follow(self._handle, _u32(flags, "flags")))

    def get_follow(self) -> int:
        """The follow flags in force (set_follow's, or those a taken child inherited)."""
        flags = ctypes.c_uint32()
        check(lib.ptrace_dbg_get_follow(self._handle, ctypes.byref(flags)))
        return flags.value

    def take_child(self, pid: int) -> "Process":
        """Takes the child ``pid`` offered at this stop (a thread stopped with cause FORK,
        ``new_tid`` == pid) as a Process of its own, stopped at its first instruction after the
        fork, with this process's breakpoints (after a fork; none after a vfork) and follow
        flags. A child not taken before this process runs again is let go, clean."""
        handle = ctypes.c_void_p()
        check(lib.ptrace_dbg_take_child(self._handle, _i32(pid, "pid"), ctypes.byref(handle)))
        return type(self)(handle)
    # ----- system calls -----

    def trace_syscalls(self, calls: Optional[Sequence[Union[int, str]]] = None,
                       entry: bool = True, exit: bool = True, seccomp: bool = False,
                       record: bool = False) -> None:
        """Stops at the entry and/or exit of ``calls`` (numbers or names; None: every call) in
        every thread, present and future; ``entry`` and ``exit`` both False turns it off.
        Replaces the previous set. ``seccomp``: a seccomp filter stops only these calls
        (a launched process at its launch stop; it then cannot be detached). ``record``: the
        stops become records (``read_records``) instead of stopping the process. See
        ptrace_dbg_trace_syscalls in the header."""
        flags = ((_lib.SYSCALL_ENTRY if entry else 0) | (_lib.SYSCALL_EXIT if exit else 0)
                 | (_lib.SYSCALL_SECCOMP if seccomp and (entry or exit) else 0)
                 | (_lib.SYSCALL_RECORD if record else 0))
        if calls is None:
            check(lib.ptrace_dbg_trace_syscalls(self._handle, None, 0, flags))
            return
        numbers = [syscall_number(c) if isinstance(c, str) else c for c in calls]
        for n in numbers:
            if not isinstance(n, int) or not -(1 << 31) <= n < (1 << 31):
                raise InvalidArgument(detail=f"system call {n!r} is not a number")
        array = (ctypes.c_int32 * max(1, len(numbers)))(*numbers)
        check(lib.ptrace_dbg_trace_syscalls(self._handle, array, len(numbers), flags))

    def syscall_info(self, tid: Optional[int] = None) -> Syscall:
        """The system call thread ``tid`` is stopped at (cause SYSCALL_ENTRY or _EXIT)."""
        s = _lib.Syscall()
        check(lib.ptrace_dbg_syscall_info(self._handle, self._tid(tid), ctypes.byref(s)))
        return Syscall(s.number, bool(s.is_exit), tuple(s.args), s.ret, bool(s.is_error),
                       s.arch, s.pc, s.sp)

    def set_syscall(self, tid: Optional[int], number: Union[int, str],
                    args: Optional[Sequence[int]] = None) -> None:
        """At an entry stop: the call's number (-1 skips it) and, if given, its six
        arguments."""
        if isinstance(number, str):
            number = syscall_number(number)
        if not isinstance(number, int) or not -(1 << 31) <= number < (1 << 31):
            raise InvalidArgument(detail=f"system call number {number!r} is out of range")
        array = None
        if args is not None:
            if len(args) != 6:
                raise InvalidArgument(detail=f"{len(args)} arguments, not 6")
            array = (ctypes.c_uint64 * 6)(*(_u64(a, "argument") for a in args))
        check(lib.ptrace_dbg_set_syscall(self._handle, self._tid(tid), number, array))

    def set_syscall_return(self, tid: Optional[int], ret: int) -> None:
        """At an exit stop (or the entry of a skipped call): the result the program sees
        (-errno for a failure)."""
        if not isinstance(ret, int) or not -(1 << 63) <= ret < (1 << 63):
            raise InvalidArgument(detail=f"result {ret!r} is not a 64-bit integer")
        check(lib.ptrace_dbg_set_syscall_return(self._handle, self._tid(tid), ret))

    # ----- tracepoints, records, breakpoint decisions, range stepping (issue 18) -----

    def add_tracepoint(self, addr: int) -> int:
        """Sets a tracepoint at ``addr`` (while stopped) and returns its id: each hit is
        recorded by the library and the thread goes on, nothing stops."""
        out = ctypes.c_int32()
        check(lib.ptrace_dbg_add_tracepoint(self._handle, _u64(addr, "address"), 0,
                                            ctypes.byref(out)))
        return out.value

    def remove_tracepoint(self, tp_id: int) -> None:
        """Removes tracepoint ``tp_id`` (while stopped)."""
        check(lib.ptrace_dbg_remove_tracepoint(self._handle, _i32(tp_id, "tracepoint id")))

    def tracepoint_capture(self, tp_id: int, reg: str, offset: int, length: int) -> None:
        """Makes each hit of ``tp_id`` also capture ``length`` bytes (at most 64) at register
        ``reg`` + ``offset``."""
        if not isinstance(offset, int) or not -(1 << 63) <= offset < (1 << 63):
            raise InvalidArgument(detail=f"offset {offset!r} is not a 64-bit integer")
        if not isinstance(length, int) or length < 0:
            raise InvalidArgument(detail=f"length {length!r} is not a size")
        check(lib.ptrace_dbg_tracepoint_capture(self._handle, _i32(tp_id, "tracepoint id"),
                                                self._reg_index(reg), offset, length))

    def read_records(self, cap: int = 4096) -> List[Record]:
        """Takes up to ``cap`` records, oldest first; never blocks (``fileno()`` polls
        readable while records wait)."""
        if not isinstance(cap, int) or cap < 0:
            raise InvalidArgument(detail=f"cap {cap!r} is not a size")
        buf = (_lib.Record * max(1, cap))()
        n = ctypes.c_size_t()
        check(lib.ptrace_dbg_read_records(self._handle, buf, cap, ctypes.byref(n)))
        return [Record(RecordKind(r.kind), r.tid, r.id, r.time_ns, r.pc,
                       Registers._from_struct(r.regs), bytes(r.data[:r.data_len]))
                for r in buf[:n.value]]

    def set_record_capacity(self, capacity: int) -> None:
        """How many records may wait before a hitting thread waits for the reader."""
        if not isinstance(capacity, int) or capacity < 0:
            raise InvalidArgument(detail=f"capacity {capacity!r} is not a size")
        check(lib.ptrace_dbg_set_record_capacity(self._handle, capacity))

    def record_stats(self) -> Dict[str, int]:
        """recorded, pending, waits, wait_ns, capacity."""
        st = _lib.RecordStats()
        check(lib.ptrace_dbg_get_record_stats(self._handle, ctypes.byref(st)))
        return {name: getattr(st, name) for name, _ in st._fields_}

    def set_breakpoint_condition(self, addr: int, reg: Optional[str] = None, op: str = "==",
                                 value: int = 0) -> None:
        """The breakpoint at ``addr`` stops only when ``reg op value`` holds (ops: == != < <=
        > >= s< s<= s> s>= &); ``reg`` None clears the condition."""
        if reg is None:
            check(lib.ptrace_dbg_set_breakpoint_condition(self._handle, _u64(addr, "address"),
                                                          0, 0, 0))
            return
        if op not in _lib.CONDITIONS:
            raise InvalidArgument(detail=f"unknown operator {op!r}")
        check(lib.ptrace_dbg_set_breakpoint_condition(
            self._handle, _u64(addr, "address"), self._reg_index(reg), _lib.CONDITIONS[op],
            _u64(value & (1 << 64) - 1 if isinstance(value, int) else value, "value")))

    def set_breakpoint_ignore_count(self, addr: int, count: int) -> None:
        """The next ``count`` hits of the breakpoint at ``addr`` go on without a stop."""
        check(lib.ptrace_dbg_set_breakpoint_ignore_count(self._handle, _u64(addr, "address"),
                                                         _u64(count, "count")))

    def step_range(self, tid: Optional[int], start: int, end: int) -> int:
        """Single-steps ``tid`` while its pc is in [start, end), inside the library; returns
        the instructions executed (ends early at a breakpoint, signal or event)."""
        steps = ctypes.c_uint64()
        check(lib.ptrace_dbg_step_range(self._handle, self._tid(tid), _u64(start, "start"),
                                        _u64(end, "end"), ctypes.byref(steps)))
        return steps.value

    def step_n(self, tid: Optional[int], n: int) -> int:
        """Single-steps ``tid`` ``n`` instructions inside the library; returns how many."""
        steps = ctypes.c_uint64()
        check(lib.ptrace_dbg_step_n(self._handle, self._tid(tid), _u64(n, "n"),
                                    ctypes.byref(steps)))
        return steps.value

    # ----- breakpoints -----

    def add_breakpoint(self, addr: int) -> None:
        """Sets a breakpoint at ``addr`` (while stopped); BreakpointExists if one is there."""
        check(lib.ptrace_dbg_add_breakpoint(self._handle, _u64(addr, "address")))

    def remove_breakpoint(self, addr: int) -> None:
        """Removes the breakpoint at ``addr`` (while stopped); NoBreakpoint if none is there."""
        check(lib.ptrace_dbg_remove_breakpoint(self._handle, _u64(addr, "address")))

    # ----- maps, symbols, libraries -----

    def _path(self, fn: Any, index: int) -> str:
        buf = ctypes.create_string_buffer(256)
        length = ctypes.c_size_t()
        rc = fn(self._handle, index, buf, len(buf), ctypes.byref(length))
        if rc == _lib.E_BUFFER_TOO_SMALL:
            buf = ctypes.create_string_buffer(length.value + 1)
            rc = fn(self._handle, index, buf, len(buf), ctypes.byref(length))
        check(rc)
        return os.fsdecode(buf.value)

    def maps(self) -> List[Mapping]:
        """The memory mappings, as /proc/PID/maps shows them now."""
        count = ctypes.c_size_t()
        cap = 64
        while True:
            arr = (_lib.Mapping * cap)()
            rc = lib.ptrace_dbg_maps(self._handle, arr, cap, ctypes.byref(count))
            if rc == _lib.OK:
                break
            if rc != _lib.E_BUFFER_TOO_SMALL:
                raise error_for(rc)
            cap = count.value + 16
        out = []
        for i, m in enumerate(arr[: count.value]):
            perms = "".join(c if m.prot & bit else "-" for c, bit in (("r", 1), ("w", 2), ("x", 4)))
            perms += "s" if m.flags & 1 else "p"
            path = self._path(lib.ptrace_dbg_mapping_path, i)
            out.append(Mapping(m.start, m.end, m.offset, perms, m.inode, path))
        return out

    def symbol_address(self, name: str, library: Optional[str] = None) -> int:
        """The run-time address of symbol ``name``: in ``library`` (a path or a file name such
        as "libc.so.6"), or in the program and then every library in load order. NotFound if
        nothing loaded defines it."""
        addr = ctypes.c_uint64()
        lib_arg = os.fsencode(library) if library is not None else None
        check(lib.ptrace_dbg_symbol_address(self._handle, lib_arg, name.encode(), ctypes.byref(addr)))
        return addr.value

    def address_symbol(self, addr: int) -> Symbol:
        """The symbol containing ``addr``, the offset into it and its object's path."""
        name = ctypes.create_string_buffer(1024)
        path = ctypes.create_string_buffer(4096)
        off = ctypes.c_uint64()
        check(lib.ptrace_dbg_address_symbol(self._handle, _u64(addr, "address"), name, len(name),
                                            ctypes.byref(off), path, len(path)))
        return Symbol(name.value.decode(errors="replace"), off.value, os.fsdecode(path.value))

    def libraries(self) -> List[Library]:
        """The loaded objects in load order (the dynamic loader's list)."""
        count = ctypes.c_size_t()
        cap = 32
        while True:
            arr = (_lib.Library * cap)()
            rc = lib.ptrace_dbg_libraries(self._handle, arr, cap, ctypes.byref(count))
            if rc == _lib.OK:
                break
            if rc != _lib.E_BUFFER_TOO_SMALL:
                raise error_for(rc)
            cap = count.value + 16
        return [
            Library(self._path(lib.ptrace_dbg_library_path, i), m.base, m.dynamic, m.link_map)
            for i, m in enumerate(arr[: count.value])
        ]

    def follow_libraries(self, on: bool = True) -> None:
        """Stops with CauseKind.LIBRARY whenever the loaded objects change (while stopped)."""
        flags = self.get_follow()
        flags = flags | _lib.FOLLOW_LIBRARIES if on else flags & ~_lib.FOLLOW_LIBRARIES
        check(lib.ptrace_dbg_set_follow(self._handle, flags))

    def add_symbol_breakpoint(self, name: str, library: Optional[str] = None) -> int:
        """A breakpoint on function ``name``, now where it is loaded and in every object that
        defines it when loaded later (dlopen); returns its id."""
        bp = ctypes.c_int32()
        lib_arg = os.fsencode(library) if library is not None else None
        check(lib.ptrace_dbg_add_symbol_breakpoint(self._handle, lib_arg, name.encode(),
                                                   ctypes.byref(bp)))
        return bp.value

    def remove_symbol_breakpoint(self, bp: int) -> None:
        """Removes symbol breakpoint ``bp`` everywhere."""
        check(lib.ptrace_dbg_remove_symbol_breakpoint(self._handle, _i32(bp, "id")))

    # ----- watchpoints -----

    def add_watchpoint(self, addr: int, len: int = 8, kind: int = WatchKind.WRITE) -> int:
        """Sets a hardware watchpoint on every thread, present and future (while stopped) and
        returns its id. ``len`` is 1, 2, 4 or 8 with ``addr`` aligned to it; ``kind`` a
        WatchKind (EXECUTE needs len 1). A hit stops the process with cause WATCHPOINT.
        InvalidArgument for a bad request, NoResource when four are set."""
        if not isinstance(len, int) or not 0 <= len <= _U64_MASK:
            raise InvalidArgument(detail=f"length {len!r} is not a size")
        if not isinstance(kind, int) or not -(1 << 31) <= kind < (1 << 31):
            raise InvalidArgument(detail=f"kind {kind!r} is not a WatchKind")
        wid = ctypes.c_int32()
        check(lib.ptrace_dbg_add_watchpoint(
            self._handle, _u64(addr, "address"), len, int(kind), ctypes.byref(wid)))
        return wid.value

    def remove_watchpoint(self, wid: int) -> None:
        """Removes watchpoint ``wid`` (while stopped); NoBreakpoint if it is not set (ids die
        with an exec)."""
        if not isinstance(wid, int) or not -(1 << 31) <= wid < (1 << 31):
            raise NoBreakpoint(_lib.E_NO_BREAKPOINT, f"{wid!r} is not a watchpoint id")
        check(lib.ptrace_dbg_remove_watchpoint(self._handle, wid))

    def watchpoint_hit(self, tid: Optional[int] = None) -> Tuple[int, int]:
        """(id, address) of the watchpoint stopped thread ``tid`` tripped at this stop;
        NoBreakpoint if its stop is not a watchpoint hit."""
        wid = ctypes.c_int32()
        addr = ctypes.c_uint64()
        check(lib.ptrace_dbg_watchpoint_hit(
            self._handle, self._tid(tid), ctypes.byref(wid), ctypes.byref(addr)))
        return wid.value, addr.value

    # ----- registers (thread stopped) -----

    def regs(self, tid: Optional[int] = None) -> Registers:
        """All general registers of stopped thread ``tid``, as a Registers mapping."""
        out = _lib.Regs()
        check(lib.ptrace_dbg_get_regs(self._handle, self._tid(tid), ctypes.byref(out)))
        return Registers._from_struct(out)

    def set_regs(self, tid: Optional[int], regs: Mapping[str, int]) -> None:
        """Writes the registers named in ``regs`` of stopped thread ``tid`` (None: the main
        thread); the others keep their values. Unknown names raise InvalidArgument."""
        tid = self._tid(tid)
        for name in regs:
            if name not in REG_NAMES:
                raise InvalidArgument(detail=f"no register named {name!r}")
        current = _lib.Regs()
        check(lib.ptrace_dbg_get_regs(self._handle, tid, ctypes.byref(current)))
        for name, value in regs.items():
            setattr(current, name, _u64(value, name))
        check(lib.ptrace_dbg_set_regs(self._handle, tid, ctypes.byref(current)))

    def _reg_index(self, name: str) -> int:
        index = ctypes.c_size_t()
        check(lib.ptrace_dbg_reg_index(name.encode(), ctypes.byref(index)))
        return index.value

    def get_reg(self, tid: Optional[int], name: str) -> int:
        """Register ``name`` ("rax", "fs_base", ...) of stopped thread ``tid``."""
        value = ctypes.c_uint64()
        check(lib.ptrace_dbg_get_reg(self._handle, self._tid(tid), self._reg_index(name),
                                     ctypes.byref(value)))
        return value.value

    def set_reg(self, tid: Optional[int], name: str, value: int) -> None:
        """Writes register ``name`` of stopped thread ``tid``."""
        check(lib.ptrace_dbg_set_reg(self._handle, self._tid(tid), self._reg_index(name),
                                     _u64(value, name)))

    def get_pc(self, tid: Optional[int] = None) -> int:
        """The program counter (rip) of stopped thread ``tid``."""
        pc = ctypes.c_uint64()
        check(lib.ptrace_dbg_get_pc(self._handle, self._tid(tid), ctypes.byref(pc)))
        return pc.value

    def set_pc(self, tid: Optional[int], pc: int) -> None:
        """Sets the program counter of stopped thread ``tid``; it continues from there."""
        check(lib.ptrace_dbg_set_pc(self._handle, self._tid(tid), _u64(pc, "pc")))

    def get_sp(self, tid: Optional[int] = None) -> int:
        """The stack pointer (rsp) of stopped thread ``tid``."""
        sp = ctypes.c_uint64()
        check(lib.ptrace_dbg_get_sp(self._handle, self._tid(tid), ctypes.byref(sp)))
        return sp.value

    def set_sp(self, tid: Optional[int], sp: int) -> None:
        """Sets the stack pointer of stopped thread ``tid``."""
        check(lib.ptrace_dbg_set_sp(self._handle, self._tid(tid), _u64(sp, "sp")))

    # ----- memory (through a stopped thread) -----

    def peek(self, addr: int, n: int, tid: Optional[int] = None) -> bytes:
        """Reads ``n`` bytes at ``addr`` (breakpoint bytes show as the original ones). Where
        the range runs into unmapped memory, raises Fault with ``.data`` = the bytes read."""
        if not isinstance(n, int) or n < 0:
            raise InvalidArgument(detail=f"length {n!r} is not a non-negative int")
        buf = ctypes.create_string_buffer(n)
        done = ctypes.c_size_t()
        rc = lib.ptrace_dbg_peek(self._handle, self._tid(tid), _u64(addr, "address"), buf, n,
                                 ctypes.byref(done))
        if rc == _lib.OK:
            return buf.raw[:n]
        err = error_for(rc)
        if isinstance(err, Fault):
            err.done = done.value
            err.data = buf.raw[: done.value]
        raise err

    def poke(self, addr: int, data: bytes, tid: Optional[int] = None) -> None:
        """Writes ``data`` at ``addr`` (read-only code too; a breakpoint there stays set).
        Where the range runs into unmapped memory, raises Fault with ``.done`` bytes
        written."""
        data = bytes(data)
        done = ctypes.c_size_t()
        rc = lib.ptrace_dbg_poke(self._handle, self._tid(tid), _u64(addr, "address"), data,
                                 len(data), ctypes.byref(done))
        if rc == _lib.OK:
            return
        err = error_for(rc)
        if isinstance(err, Fault):
            err.done = done.value
        raise err

    # ----- registers beyond Registers: x87, SSE, AVX, AVX-512 (thread stopped) -----

    def register_names(self) -> List[tuple]:
        """The registers this CPU and kernel have, as (name, size in bytes), in the library's
        fixed order: general, st0-7, x87 control words, mxcsr, xmm, ymm, zmm, k, pkru, dr."""
        out = []
        for i in range(lib.ptrace_dbg_register_count(self._handle)):
            name = ctypes.c_char_p()
            size = ctypes.c_size_t()
            check(lib.ptrace_dbg_register_info(self._handle, i, ctypes.byref(name),
                                               ctypes.byref(size)))
            out.append((_lib.text(name.value), size.value))
        return out

    def read_register(self, tid: Optional[int], name: str) -> bytes:
        """Register ``name`` ("xmm0", "ymm3", "zmm31", "st0", "k1", "mxcsr", "rip", ...) of
        stopped thread ``tid`` as little-endian bytes of its natural size. Unknown names raise
        InvalidArgument; registers this CPU lacks raise NotSupported."""
        buf = ctypes.create_string_buffer(64)
        size = ctypes.c_size_t()
        check(lib.ptrace_dbg_read_register(self._handle, self._tid(tid), name.encode(), buf,
                                           len(buf), ctypes.byref(size)))
        return buf.raw[: size.value]

    def write_register(self, tid: Optional[int], name: str, data: bytes) -> None:
        """Writes register ``name`` of stopped thread ``tid`` from ``data`` (exactly its size,
        little-endian); the thread gets it before it runs again."""
        data = bytes(data)
        check(lib.ptrace_dbg_write_register(self._handle, self._tid(tid), name.encode(), data,
                                            len(data)))

    def fpregs(self, tid: Optional[int] = None) -> "_lib.FpRegs":
        """The x87/SSE registers of stopped thread ``tid`` (struct ptrace_dbg_fpregs)."""
        out = _lib.FpRegs()
        check(lib.ptrace_dbg_get_fpregs(self._handle, self._tid(tid), ctypes.byref(out)))
        return out

    def set_fpregs(self, tid: Optional[int], regs: "_lib.FpRegs") -> None:
        """Writes the x87/SSE registers of stopped thread ``tid`` (from ``fpregs``)."""
        check(lib.ptrace_dbg_set_fpregs(self._handle, self._tid(tid), ctypes.byref(regs)))

    def get_xstate(self, tid: Optional[int] = None) -> bytes:
        """The raw XSAVE area (NT_X86_XSTATE) of stopped thread ``tid``, the kernel's size:
        save it to restore the whole register file later with ``set_xstate``."""
        tid = self._tid(tid)
        size = ctypes.c_size_t()
        rc = lib.ptrace_dbg_get_xstate(self._handle, tid, None, 0, ctypes.byref(size))
        if rc != _lib.E_BUFFER_TOO_SMALL:
            check(rc)
        buf = ctypes.create_string_buffer(size.value)
        check(lib.ptrace_dbg_get_xstate(self._handle, tid, buf, size.value, ctypes.byref(size)))
        return buf.raw[: size.value]

    def set_xstate(self, tid: Optional[int], data: bytes) -> None:
        """Replaces the whole XSAVE area of stopped thread ``tid`` (exactly ``get_xstate``'s
        length)."""
        data = bytes(data)
        check(lib.ptrace_dbg_set_xstate(self._handle, self._tid(tid), data, len(data)))


