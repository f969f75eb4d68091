/* ELF64 symbol lookup for the demo; see elf_symbols.h. Reads the whole file into memory and
 * checks every offset against its size before using it. */
#define _GNU_SOURCE
#include "elf_symbols.h"

#include <elf.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct elf_symbols {
    unsigned char *data; /* the whole file */
    size_t size;
    const Elf64_Sym *syms;
    size_t nsyms;
    const char *strtab;
    size_t strtab_size;
    uint64_t lowest_load; /* lowest PT_LOAD p_vaddr, page aligned */
};

static void say(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void say(char *err, size_t errlen, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* Does [off, off + len) lie inside the file? */
static int in_file(const elf_symbols *s, uint64_t off, uint64_t len) {
    return off <= s->size && len <= s->size - off;
}

static int read_file(const char *path, elf_symbols *s, char *err, size_t errlen) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        say(err, errlen, "cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    size_t cap = 1 << 16;
    s->data = malloc(cap);
    s->size = 0;
    while (s->data) {
        s->size += fread(s->data + s->size, 1, cap - s->size, f);
        if (s->size < cap) {
            break;
        }
        unsigned char *bigger = realloc(s->data, cap * 2);
        if (!bigger) {
            free(s->data);
        }
        s->data = bigger;
        cap *= 2;
    }
    int bad = ferror(f);
    fclose(f);
    if (!s->data || bad) {
        say(err, errlen, "cannot read %s", path);
        return -1;
    }
    return 0;
}

/* Finds the section of type `type` and its linked string table; 0 when found. */
static int find_table(elf_symbols *s, const Elf64_Ehdr *eh, uint32_t type) {
    const Elf64_Shdr *sh = (const Elf64_Shdr *)(s->data + eh->e_shoff);
    for (size_t i = 0; i < eh->e_shnum; i++) {
        if (sh[i].sh_type != type || sh[i].sh_entsize != sizeof(Elf64_Sym) ||
            sh[i].sh_link >= eh->e_shnum) {
            continue;
        }
        const Elf64_Shdr *str = &sh[sh[i].sh_link];
        if (!in_file(s, sh[i].sh_offset, sh[i].sh_size) ||
            !in_file(s, str->sh_offset, str->sh_size) || str->sh_size == 0 ||
            sh[i].sh_offset % _Alignof(Elf64_Sym) != 0) {
            continue;
        }
        s->syms = (const Elf64_Sym *)(s->data + sh[i].sh_offset);
        s->nsyms = sh[i].sh_size / sizeof(Elf64_Sym);
        s->strtab = (const char *)(s->data + str->sh_offset);
        s->strtab_size = str->sh_size;
        return 0;
    }
    return -1;
}

elf_symbols *elf_symbols_load(const char *path, char *err, size_t errlen) {
    elf_symbols *s = calloc(1, sizeof *s);
    if (!s) {
        say(err, errlen, "out of memory");
        return NULL;
    }
    if (read_file(path, s, err, errlen) != 0) {
        elf_symbols_free(s);
        return NULL;
    }
    const Elf64_Ehdr *eh = (const Elf64_Ehdr *)s->data;
    if (s->size < sizeof *eh || memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 ||
        eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_ident[EI_DATA] != ELFDATA2LSB) {
        say(err, errlen, "%s is not a little-endian ELF64 file", path);
        elf_symbols_free(s);
        return NULL;
    }
    if (eh->e_shentsize != sizeof(Elf64_Shdr) || eh->e_phentsize != sizeof(Elf64_Phdr) ||
        eh->e_shoff % 8 != 0 || eh->e_phoff % 8 != 0 ||
        !in_file(s, eh->e_shoff, (uint64_t)eh->e_shnum * sizeof(Elf64_Shdr)) ||
        !in_file(s, eh->e_phoff, (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr))) {
        say(err, errlen, "%s: malformed section or program headers", path);
        elf_symbols_free(s);
        return NULL;
    }
    if (find_table(s, eh, SHT_SYMTAB) != 0 && find_table(s, eh, SHT_DYNSYM) != 0) {
        say(err, errlen, "%s has no symbol table", path);
        elf_symbols_free(s);
        return NULL;
    }
    const Elf64_Phdr *ph = (const Elf64_Phdr *)(s->data + eh->e_phoff);
    int found = 0;
    for (size_t i = 0; i < eh->e_phnum; i++) {
        if (ph[i].p_type == PT_LOAD && (!found || ph[i].p_vaddr < s->lowest_load)) {
            s->lowest_load = ph[i].p_vaddr;
            found = 1;
        }
    }
    if (!found) {
        say(err, errlen, "%s has no loadable segment", path);
        elf_symbols_free(s);
        return NULL;
    }
    s->lowest_load &= ~(uint64_t)(sysconf(_SC_PAGESIZE) - 1);
    return s;
}

void elf_symbols_free(elf_symbols *s) {
    if (s) {
        free(s->data);
        free(s);
    }
}

static const char *sym_name(const elf_symbols *s, const Elf64_Sym *sym) {
    if (sym->st_name >= s->strtab_size ||
        !memchr(s->strtab + sym->st_name, '\0', s->strtab_size - sym->st_name)) {
        return "";
    }
    return s->strtab + sym->st_name;
}

uint64_t elf_symbols_lookup(const elf_symbols *s, const char *name) {
    for (size_t i = 0; i < s->nsyms; i++) {
        const Elf64_Sym *sym = &s->syms[i];
        int type = ELF64_ST_TYPE(sym->st_info);
        if ((type == STT_FUNC || type == STT_OBJECT) && sym->st_shndx != SHN_UNDEF &&
            strcmp(sym_name(s, sym), name) == 0) {
            return sym->st_value;
        }
    }
    return 0;
}

const char *elf_symbols_function_at(const elf_symbols *s, uint64_t addr, uint64_t *offset) {
    for (size_t i = 0; i < s->nsyms; i++) {
        const Elf64_Sym *sym = &s->syms[i];
        if (ELF64_ST_TYPE(sym->st_info) == STT_FUNC && sym->st_shndx != SHN_UNDEF &&
            addr >= sym->st_value && addr - sym->st_value < sym->st_size) {
            *offset = addr - sym->st_value;
            return sym_name(s, sym);
        }
    }
    return NULL;
}

int elf_symbols_load_bias(const elf_symbols *s, pid_t pid, uint64_t *bias, char *err,
                          size_t errlen) {
    char path[64], exe[4096];
    snprintf(path, sizeof path, "/proc/%d/exe", (int)pid);
    ssize_t n = readlink(path, exe, sizeof exe - 1);
    if (n < 0) {
        say(err, errlen, "readlink %s: %s", path, strerror(errno));
        return -1;
    }
    exe[n] = '\0';
    snprintf(path, sizeof path, "/proc/%d/maps", (int)pid);
    FILE *maps = fopen(path, "r");
    if (!maps) {
        say(err, errlen, "cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    /* Each line: start-end perms offset dev inode   path (none for anonymous memory) */
    char line[4096 + 256];
    uint64_t lowest = UINT64_MAX;
    while (fgets(line, sizeof line, maps)) {
        unsigned long long start;
        int path_at = -1;
        if (sscanf(line, "%llx-%*s %*s %*s %*s %*s %n", &start, &path_at) < 1 ||
            path_at < 0) {
            continue;
        }
        line[strcspn(line, "\n")] = '\0';
        if (strcmp(line + path_at, exe) == 0 && start < lowest) {
            lowest = start;
        }
    }
    fclose(maps);
    if (lowest == UINT64_MAX) {
        say(err, errlen, "%s is not mapped in process %d", exe, (int)pid);
        return -1;
    }
    *bias = lowest - s->lowest_load;
    return 0;
}
