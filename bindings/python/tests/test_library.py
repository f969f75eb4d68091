"""The library as loaded: version, texts, the ctypes declarations against the header, the
exception hierarchy, the Registers mapping, and symbols, maps and libraries."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import unittest

import helpers
import ptrace_dbg
from ptrace_dbg import _lib, errors


def header_text() -> str:
    with open(helpers.HEADER) as f:
        return f.read()


class LibraryTest(unittest.TestCase):
    def test_version_matches_the_binding(self):
        self.assertRegex(ptrace_dbg.version(), r"^\d+\.\d+\.\d+$")
        self.assertEqual(ptrace_dbg.version_info()[0], _lib.EXPECTED_MAJOR)

    def test_texts(self):
        self.assertEqual(ptrace_dbg.strerror(0), "success")
        self.assertEqual(ptrace_dbg.strerror(_lib.E_TIMEOUT), "timed out")
        self.assertEqual(ptrace_dbg.signal_name(11), "SIGSEGV")
        self.assertEqual(ptrace_dbg.signal_name(0), "<invalid>")

    def test_register_names_are_the_librarys(self):
        lib = _lib.lib
        self.assertEqual(lib.ptrace_dbg_reg_count(), len(ptrace_dbg.REG_NAMES))
        names = tuple(lib.ptrace_dbg_reg_name(i).decode() for i in range(len(ptrace_dbg.REG_NAMES)))
        self.assertEqual(names, ptrace_dbg.REG_NAMES)
        self.assertIsNone(lib.ptrace_dbg_reg_name(len(names)))

    def test_library_path_precedence(self):
        """PTRACE_DBG_LIBRARY wins; without it, the source tree's build/lib is used."""
        code = "import ptrace_dbg; print(ptrace_dbg.library_name)"
        env = dict(os.environ, PYTHONPATH=helpers.SRC)
        env.pop("PTRACE_DBG_LIBRARY", None)
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                             text=True, timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr)
        if _lib._in_tree_library():
            self.assertEqual(os.path.realpath(out.stdout.strip()),
                             os.path.realpath(os.path.join(helpers.ROOT, "build/lib",
                                                           _lib.SONAME)))
        env["PTRACE_DBG_LIBRARY"] = "/nonexistent/libptrace_dbg.so.0"
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                             text=True, timeout=60)
        self.assertNotEqual(out.returncode, 0)
        self.assertIn("PTRACE_DBG_LIBRARY", out.stderr)


@unittest.skipUnless(os.path.exists(helpers.HEADER), "no header (not a source tree)")
class HeaderMirrorTest(unittest.TestCase):
    """The ctypes declarations mirror include/ptrace_dbg.h exactly."""

    def test_every_function_is_declared(self):
        declared = set(re.findall(r"\b(ptrace_dbg_\w+)\s*\(", header_text()))
        self.assertEqual(declared, set(_lib.SIGNATURES))

    def test_structs_have_the_headers_fields_in_order(self):
        text = header_text()
        for cname, struct in (("ptrace_dbg_launch_options", _lib.LaunchOptions),
                              ("ptrace_dbg_cause", _lib.Cause),
                              ("ptrace_dbg_regs", _lib.Regs),
                              ("ptrace_dbg_syscall", _lib.Syscall)):
            body = re.search(r"typedef struct %s \{(.*?)\} %s;" % (cname, cname), text, re.S)
            self.assertIsNotNone(body, cname)
            body_text = re.sub(r"/\*.*?\*/", "", body.group(1), flags=re.S)
            fields = [(decl.strip().rsplit(None, 1)[0] if "*" not in decl else "*",
                       decl.strip().rsplit(None, 1)[-1].lstrip("*"))
                      for decl in body_text.split(";") if decl.strip()]
            # An array field, "args[6]": its name and element count.
            counts = [int(m.group(1)) if (m := re.search(r"\[(\d+)\]$", name)) else 1
                      for _, name in fields]
            fields = [(ctype, re.sub(r"\[\d+\]$", "", name)) for ctype, name in fields]
            self.assertEqual([name for _, name in fields], [f[0] for f in struct._fields_], cname)
            sizes = {"uint64_t": 8, "int64_t": 8, "int32_t": 4, "uint32_t": 4}
            for (ctype, name), count, (_, pytype) in zip(fields, counts, struct._fields_):
                size = count * (8 if "*" in ctype else sizes[ctype])
                self.assertEqual(size, __import__("ctypes").sizeof(pytype), f"{cname}.{name}")

    def test_every_result_code_has_its_exception(self):
        codes = dict(re.findall(r"#define PTRACE_DBG_(E_\w+) (-\d+)", header_text()))
        self.assertEqual(len(codes), len(errors.BY_CODE))
        for name, value in codes.items():
            self.assertEqual(getattr(_lib, name), int(value), name)
            cls = errors.BY_CODE[int(value)]
            self.assertEqual(cls.code, int(value))
            self.assertTrue(issubclass(cls, ptrace_dbg.PtraceDbgError))

    def test_states_and_causes_match(self):
        found = re.findall(r"#define PTRACE_DBG_((?:STATE|CAUSE)_\w+) (\d+)", header_text())
        self.assertEqual(len(found), len(ptrace_dbg.ThreadState) + len(ptrace_dbg.CauseKind))
        for name, value in found:
            enum = ptrace_dbg.ThreadState if name.startswith("STATE_") else ptrace_dbg.CauseKind
            self.assertEqual(enum[name.split("_", 1)[1]], int(value), name)


class ErrorsTest(unittest.TestCase):
    def test_hierarchy_and_builtin_bases(self):
        self.assertTrue(issubclass(ptrace_dbg.Timeout, TimeoutError))
        self.assertTrue(issubclass(ptrace_dbg.PermissionDenied, PermissionError))
        self.assertTrue(issubclass(ptrace_dbg.NoSuchProcess, ProcessLookupError))
        self.assertTrue(issubclass(ptrace_dbg.InvalidArgument, ValueError))
        self.assertTrue(issubclass(ptrace_dbg.Os, OSError))
        for cls in errors.BY_CODE.values():
            self.assertTrue(issubclass(cls, ptrace_dbg.PtraceDbgError))

    def test_code_detail_and_text(self):
        e = errors.error_for(_lib.E_OS, "execve: ENOENT")
        self.assertIsInstance(e, ptrace_dbg.Os)
        self.assertEqual((e.code, e.detail, e.errno), (_lib.E_OS, "execve: ENOENT", 2))
        self.assertEqual(str(e), "system call failed: execve: ENOENT")
        # Each phrase once (issue 10).
        timeout = errors.error_for(_lib.E_TIMEOUT, "timed out: the process is still running")
        self.assertEqual(str(timeout), "timed out: the process is still running")
        exited = errors.error_for(_lib.E_EXITED, "the process has exited")
        self.assertEqual(str(exited), "the process has exited")
        unknown = errors.error_for(-1000, "x")
        self.assertIs(type(unknown), ptrace_dbg.PtraceDbgError)
        self.assertEqual(unknown.code, -1000)

    def test_detail_is_the_last_error(self):
        with self.assertRaises(ptrace_dbg.InvalidArgument) as cm:
            ptrace_dbg.Process.attach(0)
        self.assertEqual(cm.exception.code, _lib.E_INVALID_ARGUMENT)
        self.assertTrue(cm.exception.detail)


class RegistersTest(unittest.TestCase):
    def test_mapping(self):
        r = ptrace_dbg.Registers({"rax": 5})
        self.assertEqual(list(r), list(ptrace_dbg.REG_NAMES))
        self.assertEqual((r["rax"], r.rax, r["rbx"]), (5, 5, 0))
        r.rbx = -1
        self.assertEqual(r["rbx"], 2**64 - 1)
        with self.assertRaises(KeyError):
            r["xmm0"] = 1
        with self.assertRaises(AttributeError):
            r.xmm0 = 1
        with self.assertRaises(ptrace_dbg.InvalidArgument):
            r["rax"] = 2**64
        with self.assertRaises(TypeError):
            del r["rax"]
        self.assertEqual(dict(r)["rbx"], 2**64 - 1)


class SymbolsTest(unittest.TestCase):
    """The library's symbols, maps and libraries, against nm and /proc/PID/maps."""

    def setUp(self):
        helpers.require_tracee(self)

    def test_symbols_agree_with_nm_and_maps_with_proc(self):
        nm = helpers.nm_symbols(helpers.TRACEE)
        if nm is None:
            self.skipTest("no nm")
        with helpers.launch("exit") as p:
            exe = os.path.realpath(helpers.TRACEE)
            base = min(m.start for m in p.maps() if m.path == exe)
            for name in ("target_fn", "pattern", "check_poke", "main"):
                addr = p.symbol_address(name)
                self.assertEqual(addr, base + nm[name], name)
                self.assertEqual(p.symbol_address(name, os.path.basename(exe)), addr)
                if name != "pattern":
                    sym = p.address_symbol(addr + 1)
                    self.assertEqual((sym.name, sym.offset, sym.path), (name, 1, exe))
            with self.assertRaises(ptrace_dbg.NotFound):
                p.symbol_address("no_such_symbol")
            with self.assertRaises(ptrace_dbg.NotFound):
                p.address_symbol(16)
            with open(f"/proc/{p.pid}/maps") as f:
                kernel = [line.split(maxsplit=5) for line in f]
            ours = p.maps()
            self.assertEqual(len(ours), len(kernel))
            for m, k in zip(ours, kernel):
                self.assertEqual(f"{m.start:x}-{m.end:x}", k[0])
                self.assertEqual(m.perms, k[1])
                self.assertEqual(m.path, k[5].strip() if len(k) > 5 else "")
            libs = p.libraries()
            self.assertEqual(libs[0].path, exe)

    def test_symbol_breakpoint_on_a_libc_function(self):
        with helpers.launch("exit") as p:
            bp = p.add_symbol_breakpoint("exit", "libc.so.6")
            p.cont()
            tid = p.wait_stop(timeout=helpers.WAIT)
            cause = p.stop_cause(tid)
            self.assertEqual(cause.kind, ptrace_dbg.CauseKind.BREAKPOINT)
            self.assertEqual(cause.pc, p.symbol_address("exit", "libc.so.6"))
            self.assertEqual(p.address_symbol(cause.pc).name, "exit")
            p.remove_symbol_breakpoint(bp)
            with self.assertRaises(ptrace_dbg.NotFound):
                p.remove_symbol_breakpoint(bp)


if __name__ == "__main__":
    unittest.main()
