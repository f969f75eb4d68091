/* Just enough ELF64 reading for the demo: function symbols of an executable, and where its
 * file addresses end up in a running process (so a PIE works). */
#ifndef DEMO_ELF_SYMBOLS_H
#define DEMO_ELF_SYMBOLS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct elf_symbols elf_symbols;

/* Reads the ELF64 file at path: its symbol table (.symtab, or .dynsym when stripped) and its
 * lowest PT_LOAD address. NULL on failure, with a reason in err. */
elf_symbols *elf_symbols_load(const char *path, char *err, size_t errlen);
void elf_symbols_free(elf_symbols *s);

/* The file address (st_value) of the function or object named name; 0 when not found. */
uint64_t elf_symbols_lookup(const elf_symbols *s, const char *name);

/* The function containing file address addr, and the offset into it; NULL when none does. */
const char *elf_symbols_function_at(const elf_symbols *s, uint64_t addr, uint64_t *offset);

/* How far the program's addresses are moved in process pid: runtime address = file address +
 * bias. Found from the lowest mapping of the executable in /proc/PID/maps (the executable is
 * identified by /proc/PID/exe). 0 on success, -1 with a reason in err. */
int elf_symbols_load_bias(const elf_symbols *s, pid_t pid, uint64_t *bias, char *err,
                          size_t errlen);

#endif
