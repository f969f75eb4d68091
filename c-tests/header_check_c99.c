/* The header compiles as C99 with every warning an error, and its items are usable. */
#include "ptrace_dbg.h"

#include <stdio.h>
#include <string.h>

int main(void) {
    ptrace_dbg_launch_options opts;
    ptrace_dbg_regs regs;
    ptrace_dbg_cause cause;
    ptrace_dbg_process *process = NULL;
    size_t index = 0;
    memset(&regs, 0, sizeof regs);
    memset(&cause, 0, sizeof cause);
    ptrace_dbg_launch_options_init(&opts);
    if (opts.stdin_fd != -1 || sizeof regs != 27 * sizeof(uint64_t) || process != NULL) return 1;
    if (ptrace_dbg_reg_index("rip", &index) != PTRACE_DBG_OK) return 1;
    if (index != offsetof(ptrace_dbg_regs, rip) / sizeof(uint64_t)) return 1;
    printf("%s %s\n", ptrace_dbg_version(), ptrace_dbg_strerror(PTRACE_DBG_E_INVALID_HANDLE));
    return cause.kind == PTRACE_DBG_CAUSE_STOPPED ? 0 : 1;
}
