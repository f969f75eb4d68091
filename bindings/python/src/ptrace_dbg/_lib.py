"""Loading libptrace_dbg with ctypes and declaring every function of include/ptrace_dbg.h."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from pathlib import Path
from typing import List, Optional, Tuple

#: The library major version this binding is written for (PTRACE_DBG_VERSION_MAJOR).
EXPECTED_MAJOR = 0
SONAME = "libptrace_dbg.so.0"

# Result codes (PTRACE_DBG_OK, PTRACE_DBG_E_*).
OK = 0
E_INVALID_ARGUMENT = -1
E_INVALID_HANDLE = -2
E_BAD_STATE = -3
E_NO_SUCH_THREAD = -4
E_BREAKPOINT_EXISTS = -5
E_NO_BREAKPOINT = -6
E_PERMISSION = -7
E_NO_SUCH_PROCESS = -8
E_TIMEOUT = -9
E_EXITED = -10
E_FAULT = -11
E_BUFFER_TOO_SMALL = -12
E_OS = -13
E_INTERNAL = -14
E_NO_RESOURCE = -15
E_NOT_FOUND = -16

# Watchpoint kinds (PTRACE_DBG_WATCH_*).
WATCH_EXECUTE = 0
WATCH_WRITE = 1
WATCH_READ_WRITE = 3

E_NOT_SUPPORTED = -17

LAUNCH_DISABLE_ASLR = 1
FOLLOW_LIBRARIES = 2


class LaunchOptions(ctypes.Structure):
    """struct ptrace_dbg_launch_options."""

    _fields_ = [
        ("cwd", ctypes.c_char_p),
        ("stdin_fd", ctypes.c_int32),
        ("stdout_fd", ctypes.c_int32),
        ("stderr_fd", ctypes.c_int32),
        ("flags", ctypes.c_uint32),
    ]


class Cause(ctypes.Structure):
    """struct ptrace_dbg_cause."""

    _fields_ = [
        ("kind", ctypes.c_int32),
        ("signal", ctypes.c_int32),
        ("new_tid", ctypes.c_int32),
        ("exit_status", ctypes.c_int32),
        ("pc", ctypes.c_uint64),
    ]


#: ptrace_dbg_trace_syscalls flags.
SYSCALL_ENTRY = 1
SYSCALL_EXIT = 2
SYSCALL_SECCOMP = 4


class Syscall(ctypes.Structure):
    """struct ptrace_dbg_syscall."""

    _fields_ = [
        ("number", ctypes.c_int32),
        ("is_exit", ctypes.c_int32),
        ("args", ctypes.c_uint64 * 6),
        ("ret", ctypes.c_int64),
        ("is_error", ctypes.c_int32),
        ("arch", ctypes.c_uint32),
        ("pc", ctypes.c_uint64),
        ("sp", ctypes.c_uint64),
    ]


#: The fields of struct ptrace_dbg_regs (the kernel's user_regs_struct), in order.
REG_NAMES = (
    "r15", "r14", "r13", "r12", "rbp", "rbx", "r11", "r10", "r9", "r8", "rax", "rcx", "rdx",
    "rsi", "rdi", "orig_rax", "rip", "cs", "eflags", "rsp", "ss", "fs_base", "gs_base", "ds",
    "es", "fs", "gs",
)


class Regs(ctypes.Structure):
    """struct ptrace_dbg_regs (x86-64)."""

    _fields_ = [(name, ctypes.c_uint64) for name in REG_NAMES]


#: ptrace_dbg_trace_syscalls flag: record the stops instead of reporting them (issue 18).
SYSCALL_RECORD = 8

#: ptrace_dbg_record.kind values.
RECORD_TRACEPOINT = 1
RECORD_SYSCALL_ENTRY = 2
RECORD_SYSCALL_EXIT = 3
RECORD_DATA_MAX = 64

#: ptrace_dbg_set_breakpoint_condition operators.
CONDITIONS = {"==": 1, "!=": 2, "<": 3, "<=": 4, ">": 5, ">=": 6, "s<": 7, "s<=": 8, "s>": 9,
              "s>=": 10, "&": 11}


class Record(ctypes.Structure):
    """struct ptrace_dbg_record."""

    _fields_ = [
        ("kind", ctypes.c_int32),
        ("tid", ctypes.c_int32),
        ("id", ctypes.c_int32),
        ("data_len", ctypes.c_uint32),
        ("time_ns", ctypes.c_uint64),
        ("pc", ctypes.c_uint64),
        ("regs", Regs),
        ("data", ctypes.c_uint8 * RECORD_DATA_MAX),
    ]


class RecordStats(ctypes.Structure):
    """struct ptrace_dbg_record_stats."""

    _fields_ = [(name, ctypes.c_uint64)
                for name in ("recorded", "pending", "waits", "wait_ns", "capacity")]


class Mapping(ctypes.Structure):
    """struct ptrace_dbg_mapping."""

    _fields_ = [
        ("start", ctypes.c_uint64),
        ("end", ctypes.c_uint64),
        ("offset", ctypes.c_uint64),
        ("inode", ctypes.c_uint64),
        ("dev_major", ctypes.c_uint32),
        ("dev_minor", ctypes.c_uint32),
        ("prot", ctypes.c_uint32),
        ("flags", ctypes.c_uint32),
    ]


class Library(ctypes.Structure):
    """struct ptrace_dbg_library."""

    _fields_ = [
        ("base", ctypes.c_uint64),
        ("dynamic", ctypes.c_uint64),
        ("link_map", ctypes.c_uint64),
    ]


class FpRegs(ctypes.Structure):
    """struct ptrace_dbg_fpregs (the kernel's user_fpregs_struct, the FXSAVE image)."""

    _fields_ = [
        ("cwd", ctypes.c_uint16),
        ("swd", ctypes.c_uint16),
        ("ftw", ctypes.c_uint16),
        ("fop", ctypes.c_uint16),
        ("rip", ctypes.c_uint64),
        ("rdp", ctypes.c_uint64),
        ("mxcsr", ctypes.c_uint32),
        ("mxcr_mask", ctypes.c_uint32),
        ("st_space", ctypes.c_uint32 * 32),
        ("xmm_space", ctypes.c_uint32 * 64),
        ("padding", ctypes.c_uint32 * 24),
    ]


_handle = ctypes.c_void_p
_i32 = ctypes.c_int32
_u64 = ctypes.c_uint64
_size = ctypes.c_size_t
_int = ctypes.c_int
_i32p = ctypes.POINTER(ctypes.c_int32)
_u64p = ctypes.POINTER(ctypes.c_uint64)
_sizep = ctypes.POINTER(ctypes.c_size_t)
_strv = ctypes.POINTER(ctypes.c_char_p)

#: name -> (restype, argtypes), every function of the header.
SIGNATURES = {
    "ptrace_dbg_strerror": (ctypes.c_char_p, [_int]),
    "ptrace_dbg_last_error": (ctypes.c_char_p, []),
    "ptrace_dbg_launch_options_init": (None, [ctypes.POINTER(LaunchOptions)]),
    "ptrace_dbg_reg_count": (_size, []),
    "ptrace_dbg_reg_name": (ctypes.c_char_p, [_size]),
    "ptrace_dbg_reg_index": (_int, [ctypes.c_char_p, _sizep]),
    "ptrace_dbg_signal_name": (ctypes.c_char_p, [_i32]),
    "ptrace_dbg_version": (ctypes.c_char_p, []),
    "ptrace_dbg_attach": (_int, [_i32, ctypes.POINTER(_handle)]),
    "ptrace_dbg_launch": (
        _int,
        [ctypes.c_char_p, _strv, _strv, ctypes.POINTER(LaunchOptions), ctypes.POINTER(_handle)],
    ),
    "ptrace_dbg_pid": (_int, [_handle, _i32p]),
    "ptrace_dbg_detach": (_int, [_handle]),
    "ptrace_dbg_kill": (_int, [_handle]),
    "ptrace_dbg_process_free": (None, [_handle]),
    "ptrace_dbg_exit_status": (_int, [_handle, _i32p, _i32p]),
    "ptrace_dbg_stop": (_int, [_handle]),
    "ptrace_dbg_continue": (_int, [_handle]),
    "ptrace_dbg_wait_stop": (_int, [_handle, _i32, _i32p]),
    "ptrace_dbg_event_fd": (_int, [_handle, _i32p]),
    "ptrace_dbg_step": (_int, [_handle, _i32]),
    "ptrace_dbg_threads": (_int, [_handle, _i32p, _size, _sizep]),
    "ptrace_dbg_thread_state": (_int, [_handle, _i32, _i32p]),
    "ptrace_dbg_stop_cause": (_int, [_handle, _i32, ctypes.POINTER(Cause)]),
    "ptrace_dbg_add_breakpoint": (_int, [_handle, _u64]),
    "ptrace_dbg_remove_breakpoint": (_int, [_handle, _u64]),
    "ptrace_dbg_get_regs": (_int, [_handle, _i32, ctypes.POINTER(Regs)]),
    "ptrace_dbg_set_regs": (_int, [_handle, _i32, ctypes.POINTER(Regs)]),
    "ptrace_dbg_get_reg": (_int, [_handle, _i32, _size, _u64p]),
    "ptrace_dbg_set_reg": (_int, [_handle, _i32, _size, _u64]),
    "ptrace_dbg_get_pc": (_int, [_handle, _i32, _u64p]),
    "ptrace_dbg_set_pc": (_int, [_handle, _i32, _u64]),
    "ptrace_dbg_get_sp": (_int, [_handle, _i32, _u64p]),
    "ptrace_dbg_set_sp": (_int, [_handle, _i32, _u64]),
    "ptrace_dbg_peek": (_int, [_handle, _i32, _u64, ctypes.c_void_p, _size, _sizep]),
    "ptrace_dbg_poke": (_int, [_handle, _i32, _u64, ctypes.c_void_p, _size, _sizep]),
    "ptrace_dbg_maps": (_int, [_handle, ctypes.POINTER(Mapping), _size, _sizep]),
    "ptrace_dbg_mapping_path": (_int, [_handle, _size, ctypes.c_char_p, _size, _sizep]),
    "ptrace_dbg_symbol_address": (_int, [_handle, ctypes.c_char_p, ctypes.c_char_p, _u64p]),
    "ptrace_dbg_address_symbol": (
        _int,
        [_handle, _u64, ctypes.c_char_p, _size, _u64p, ctypes.c_char_p, _size],
    ),
    "ptrace_dbg_libraries": (_int, [_handle, ctypes.POINTER(Library), _size, _sizep]),
    "ptrace_dbg_library_path": (_int, [_handle, _size, ctypes.c_char_p, _size, _sizep]),
    "ptrace_dbg_set_follow": (_int, [_handle, ctypes.c_uint32]),
    "ptrace_dbg_get_follow": (_int, [_handle, ctypes.POINTER(ctypes.c_uint32)]),
    "ptrace_dbg_add_symbol_breakpoint": (_int, [_handle, ctypes.c_char_p, ctypes.c_char_p, _i32p]),
    "ptrace_dbg_remove_symbol_breakpoint": (_int, [_handle, _i32]),
    "ptrace_dbg_take_child": (_int, [_handle, _i32, ctypes.POINTER(_handle)]),
    "ptrace_dbg_add_watchpoint": (_int, [_handle, _u64, _size, _i32, _i32p]),
    "ptrace_dbg_remove_watchpoint": (_int, [_handle, _i32]),
    "ptrace_dbg_watchpoint_hit": (_int, [_handle, _i32, _i32p, _u64p]),
    "ptrace_dbg_get_fpregs": (_int, [_handle, _i32, ctypes.POINTER(FpRegs)]),
    "ptrace_dbg_set_fpregs": (_int, [_handle, _i32, ctypes.POINTER(FpRegs)]),
    "ptrace_dbg_get_xstate": (_int, [_handle, _i32, ctypes.c_void_p, _size, _sizep]),
    "ptrace_dbg_set_xstate": (_int, [_handle, _i32, ctypes.c_void_p, _size]),
    "ptrace_dbg_read_register": (
        _int, [_handle, _i32, ctypes.c_char_p, ctypes.c_void_p, _size, _sizep],
    ),
    "ptrace_dbg_write_register": (_int, [_handle, _i32, ctypes.c_char_p, ctypes.c_void_p, _size]),
    "ptrace_dbg_register_count": (_size, [_handle]),
    "ptrace_dbg_register_info": (
        _int, [_handle, _size, ctypes.POINTER(ctypes.c_char_p), _sizep],
    ),
    "ptrace_dbg_trace_syscalls": (_int, [_handle, _i32p, _size, ctypes.c_uint32]),
    "ptrace_dbg_syscall_info": (_int, [_handle, _i32, ctypes.POINTER(Syscall)]),
    "ptrace_dbg_set_syscall": (_int, [_handle, _i32, _i32, _u64p]),
    "ptrace_dbg_set_syscall_return": (_int, [_handle, _i32, ctypes.c_int64]),
    "ptrace_dbg_syscall_name": (ctypes.c_char_p, [_i32]),
    "ptrace_dbg_add_tracepoint": (_int, [_handle, _u64, ctypes.c_uint32, _i32p]),
    "ptrace_dbg_remove_tracepoint": (_int, [_handle, _i32]),
    "ptrace_dbg_tracepoint_capture": (_int, [_handle, _i32, _size, ctypes.c_int64, _size]),
    "ptrace_dbg_read_records": (_int, [_handle, ctypes.POINTER(Record), _size, _sizep]),
    "ptrace_dbg_set_record_capacity": (_int, [_handle, _size]),
    "ptrace_dbg_get_record_stats": (_int, [_handle, ctypes.POINTER(RecordStats)]),
    "ptrace_dbg_set_breakpoint_condition": (_int, [_handle, _u64, _size, _int, _u64]),
    "ptrace_dbg_set_breakpoint_ignore_count": (_int, [_handle, _u64, _u64]),
    "ptrace_dbg_step_range": (_int, [_handle, _i32, _u64, _u64, _u64p]),
    "ptrace_dbg_step_n": (_int, [_handle, _i32, _u64, _u64p]),
    "ptrace_dbg_syscall_number": (_int, [ctypes.c_char_p, _i32p]),
}

#: ptrace_dbg_set_follow flags.
FOLLOW_FORK = 1


def text(raw: Optional[bytes]) -> str:
    """A const char * result as str ("" for NULL)."""
    return raw.decode(errors="replace") if raw else ""


def _in_tree_library() -> Optional[str]:
    """build/lib/libptrace_dbg.so.0 of the repository this file sits in, if there is one."""
    here = Path(__file__).resolve()
    # <repo>/bindings/python/src/ptrace_dbg/_lib.py
    if len(here.parents) < 5:
        return None
    root = here.parents[4]
    candidate = root / "build" / "lib" / SONAME
    if (root / "include" / "ptrace_dbg.h").is_file() and candidate.exists():
        return str(candidate)
    return None


def candidates() -> List[str]:
    """Where the library is looked for, in order."""
    env = os.environ.get("PTRACE_DBG_LIBRARY")
    if env:
        return [env]
    found: List[str] = []
    tree = _in_tree_library()
    if tree:
        found.append(tree)
    found.append(SONAME)
    system = ctypes.util.find_library("ptrace_dbg")
    if system and system not in found:
        found.append(system)
    return found


def _declare(lib: ctypes.CDLL) -> None:
    for name, (restype, argtypes) in SIGNATURES.items():
        function = getattr(lib, name)
        function.restype = restype
        function.argtypes = argtypes


def load() -> Tuple[ctypes.CDLL, str]:
    """Loads and checks the library; returns it and the name it was loaded by."""
    errors = []
    for name in candidates():
        try:
            lib = ctypes.CDLL(name)
        except OSError as e:
            # dlopen's text usually names the file already ("libptrace_dbg.so.0: cannot ...").
            errors.append(str(e) if str(e).startswith(name) else f"{name}: {e}")
            continue
        try:
            _declare(lib)
        except AttributeError as e:
            raise ImportError(f"{name} lacks a function of ptrace_dbg.h: {e}") from None
        version = text(lib.ptrace_dbg_version())
        major = int(version.split(".")[0])
        if major != EXPECTED_MAJOR:
            raise ImportError(
                f"{name} is libptrace_dbg {version}; this binding needs major version "
                f"{EXPECTED_MAJOR}"
            )
        return lib, name
    raise ImportError(
        "cannot load libptrace_dbg: "
        + "; ".join(errors)
        + ". After `make install` into a system prefix (/usr/local) run `sudo ldconfig`; for"
        " another prefix add its lib directory to LD_LIBRARY_PATH, or set PTRACE_DBG_LIBRARY to"
        " the library's path"
    )


lib, library_name = load()
