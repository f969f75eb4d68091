"""What a dlopen user sees: the library loaded with ctypes (stdlib only), a traced program run
to its exit. Library path: $PTRACE_DBG_SO, else build/lib/libptrace_dbg.so.0 (made by `make`);
tracee: $PTRACE_DBG_TRACEE, else build/tracees/tracee."""

import ctypes
import os
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LIB_PATH = os.environ.get("PTRACE_DBG_SO", os.path.join(ROOT, "build/lib/libptrace_dbg.so.0"))
TRACEE = os.environ.get("PTRACE_DBG_TRACEE", os.path.join(ROOT, "build/tracees/tracee"))

OK = 0
E_INVALID_ARGUMENT = -1
E_INVALID_HANDLE = -2
E_TIMEOUT = -9
E_EXITED = -10


def load():
    lib = ctypes.CDLL(LIB_PATH)
    handle = ctypes.c_void_p
    i32p = ctypes.POINTER(ctypes.c_int32)
    signatures = {
        "ptrace_dbg_version": (ctypes.c_char_p, []),
        "ptrace_dbg_strerror": (ctypes.c_char_p, [ctypes.c_int]),
        "ptrace_dbg_last_error": (ctypes.c_char_p, []),
        "ptrace_dbg_launch": (
            ctypes.c_int,
            [ctypes.c_char_p, ctypes.POINTER(ctypes.c_char_p), ctypes.POINTER(ctypes.c_char_p),
             ctypes.c_void_p, ctypes.POINTER(handle)],
        ),
        "ptrace_dbg_pid": (ctypes.c_int, [handle, i32p]),
        "ptrace_dbg_continue": (ctypes.c_int, [handle]),
        "ptrace_dbg_wait_stop": (ctypes.c_int, [handle, ctypes.c_int32, i32p]),
        "ptrace_dbg_exit_status": (ctypes.c_int, [handle, i32p, i32p]),
        "ptrace_dbg_process_free": (None, [handle]),
    }
    for name, (restype, argtypes) in signatures.items():
        function = getattr(lib, name)
        function.restype = restype
        function.argtypes = argtypes
    return lib


def strings(items):
    """A NULL-terminated char *[] for argv/envp."""
    array = (ctypes.c_char_p * (len(items) + 1))()
    array[:-1] = [item.encode() for item in items]
    array[-1] = None
    return array


class CtypesSmokeTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.lib = load()

    def test_version_and_texts(self):
        version = self.lib.ptrace_dbg_version().decode()
        self.assertRegex(version, r"^\d+\.\d+\.\d+$")
        self.assertEqual(self.lib.ptrace_dbg_strerror(OK), b"success")
        self.assertEqual(self.lib.ptrace_dbg_strerror(E_TIMEOUT), b"timed out")
        self.assertNotEqual(self.lib.ptrace_dbg_strerror(-1000), b"")

    def test_launch_run_to_exit_and_read_the_status(self):
        lib = self.lib
        process = ctypes.c_void_p()
        argv = strings([TRACEE, "exit", "3"])
        rc = lib.ptrace_dbg_launch(TRACEE.encode(), argv, None, None, ctypes.byref(process))
        self.assertEqual(rc, OK, lib.ptrace_dbg_last_error())
        try:
            pid = ctypes.c_int32()
            self.assertEqual(lib.ptrace_dbg_pid(process, ctypes.byref(pid)), OK)
            self.assertGreater(pid.value, 0)
            rc = OK
            for _ in range(100):  # the main thread's exit stop comes before the exit
                self.assertEqual(lib.ptrace_dbg_continue(process), OK, lib.ptrace_dbg_last_error())
                rc = lib.ptrace_dbg_wait_stop(process, 10000, None)
                if rc != OK:
                    break
            self.assertEqual(rc, E_EXITED, lib.ptrace_dbg_last_error())
            code, signal = ctypes.c_int32(-5), ctypes.c_int32(-5)
            rc = lib.ptrace_dbg_exit_status(process, ctypes.byref(code), ctypes.byref(signal))
            self.assertEqual(rc, OK)
            self.assertEqual((code.value, signal.value), (3, 0))
        finally:
            lib.ptrace_dbg_process_free(process)
        # The freed handle is dead, and last_error says why.
        self.assertEqual(lib.ptrace_dbg_continue(process), E_INVALID_HANDLE)
        self.assertIn(b"freed", lib.ptrace_dbg_last_error())

    def test_errors_set_last_error(self):
        lib = self.lib
        process = ctypes.c_void_p()
        rc = lib.ptrace_dbg_launch(None, None, None, None, ctypes.byref(process))
        self.assertEqual(rc, E_INVALID_ARGUMENT)
        self.assertEqual(lib.ptrace_dbg_last_error(), b"argument `path` is NULL")
        self.assertEqual(lib.ptrace_dbg_pid(None, None), E_INVALID_HANDLE)
        self.assertNotEqual(lib.ptrace_dbg_last_error(), b"")


if __name__ == "__main__":
    unittest.main()
