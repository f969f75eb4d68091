"""Just enough ELF64 and /proc/PID/maps reading to put breakpoints on functions by name.

    exe = Elf("/usr/bin/ls")
    addr = exe.symbols["main"] + load_bias(pid, exe.path)   # works for PIE and non-PIE

Symbols come from .symtab and .dynsym (so stripped programs and shared libraries still give
their exported functions). Little-endian ELF64 only (x86-64).
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

ET_DYN = 3
PT_LOAD = 1
SHT_SYMTAB = 2
SHT_DYNSYM = 11
SHT_GNU_VERSYM = 0x6FFFFFFF
SHN_UNDEF = 0
STT_OBJECT, STT_FUNC, STT_GNU_IFUNC = 1, 2, 10
_VERSYM_HIDDEN = 0x8000
PAGE = 4096


class ElfError(ValueError):
    """The file is not an ELF64 little-endian file this reader understands."""


class Elf:
    """An ELF64 file's symbols (name -> file address of functions and objects), its entry
    point and its lowest loaded address."""

    def __init__(self, path: "str | os.PathLike[str]") -> None:
        self.path = os.fspath(path)
        with open(self.path, "rb") as f:
            data = f.read()
        if data[:4] != b"\x7fELF" or len(data) < 64:
            raise ElfError(f"{self.path}: not an ELF file")
        if data[4] != 2 or data[5] != 1:
            raise ElfError(f"{self.path}: not a little-endian ELF64 file")
        (self.type, _machine, _version, self.entry, phoff, shoff, _flags, _ehsize,
         phentsize, phnum, shentsize, shnum, _shstrndx) = struct.unpack_from(
            "<HHIQQQIHHHHHH", data, 16)
        #: True for PIE executables and shared libraries (loaded at a run-time base).
        self.relocatable = self.type == ET_DYN
        loads = []
        for i in range(phnum):
            p_type, _pf, p_offset, p_vaddr = struct.unpack_from(
                "<IIQQ", data, phoff + i * phentsize)
            if p_type == PT_LOAD:
                loads.append((p_vaddr, p_offset))
        #: The lowest PT_LOAD address, rounded down to a page.
        self.base_vaddr = min(v for v, _ in loads) & ~(PAGE - 1) if loads else 0
        sections = [struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize)
                    for i in range(shnum)] if shoff else []
        self.symbols: Dict[str, int] = {}
        for kind in (SHT_DYNSYM, SHT_SYMTAB):  # .symtab wins over .dynsym
            self._read_symbols(data, sections, kind)

    def _read_symbols(self, data: bytes, sections: List[Tuple[int, ...]], kind: int) -> None:
        for index, (_n, sh_type, _f, _a, offset, size, link, _i, _al, entsize) in enumerate(
                sections):
            if sh_type != kind or not entsize:
                continue
            str_offset = sections[link][4]
            versym = None
            if kind == SHT_DYNSYM:  # prefer each name's default version (not "hidden")
                for s in sections:
                    if s[1] == SHT_GNU_VERSYM and s[6] == index:
                        versym = (s[4], s[5])
            found: Dict[str, int] = {}
            for i in range(size // entsize):
                st_name, st_info, _other, st_shndx, st_value, _size = struct.unpack_from(
                    "<IBBHQQ", data, offset + i * entsize)
                if st_shndx == SHN_UNDEF or st_value == 0:
                    continue
                if st_info & 0xF not in (STT_FUNC, STT_OBJECT, STT_GNU_IFUNC):
                    continue
                end = data.index(b"\0", str_offset + st_name)
                name = data[str_offset + st_name:end].decode(errors="replace")
                hidden = False
                if versym and 2 * i + 2 <= versym[1]:
                    hidden = bool(struct.unpack_from("<H", data, versym[0] + 2 * i)[0]
                                  & _VERSYM_HIDDEN)
                if name and (name not in found or not hidden):
                    found[name] = st_value
            self.symbols.update(found)

    def lookup(self, name: str) -> Optional[int]:
        """The file address of symbol ``name``, or None."""
        return self.symbols.get(name)


@dataclass(frozen=True)
class Mapping:
    """One line of /proc/PID/maps."""

    start: int
    end: int
    perms: str
    offset: int
    path: str


def maps(pid: int) -> List[Mapping]:
    """The memory mappings of process ``pid``."""
    out = []
    with open(f"/proc/{pid}/maps") as f:
        for line in f:
            fields = line.split(maxsplit=5)
            start, end = (int(x, 16) for x in fields[0].split("-"))
            path = fields[5].rstrip("\n") if len(fields) > 5 else ""
            out.append(Mapping(start, end, fields[1], int(fields[2], 16), path))
    return out


def load_bias(pid: int, path: "str | os.PathLike[str]") -> Optional[int]:
    """How far the ELF file at ``path`` is moved in process ``pid``: run-time address = file
    address + bias (0 for a non-PIE executable). None while the file is not mapped."""
    real = os.path.realpath(path)
    ours = [m for m in maps(pid) if m.path == real and m.offset == 0]
    if not ours:
        return None
    return min(m.start for m in ours) - Elf(real).base_vaddr


def find_library(pid: int, prefix: str) -> Optional[str]:
    """The path of the first file mapped in ``pid`` whose name starts with ``prefix``
    (e.g. "libc.so"), or None."""
    for m in maps(pid):
        if m.path.startswith("/") and os.path.basename(m.path).startswith(prefix):
            return m.path
    return None


def symbol_address(pid: int, path: "str | os.PathLike[str]", name: str) -> Optional[int]:
    """The run-time address of symbol ``name`` of the ELF file ``path`` in process ``pid``;
    None if the symbol is unknown or the file not mapped."""
    value = Elf(path).lookup(name)
    bias = load_bias(pid, path)
    if value is None or bias is None:
        return None
    return value + bias
