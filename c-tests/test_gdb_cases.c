/* Two of the cases from gdb's testsuite of issue 11, through the C API the way gdb drives them
 * (the Rust tests in tests/gdb_cases.rs have every case, the detach rounds included).
 * Tracee: c-tests/tracees/gdbcases.c. */
#define _GNU_SOURCE
#include "ptrace_dbg.h"
#include "runner.h"
#include "tracee_util.h"

#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define WAIT_MS 10000

/* build/tracees/gdbcases, next to the tracee. */
static const char *gdbcases_path(void) {
    static char path[PATH_MAX];
    const char *tracee = tracee_path();
    const char *slash = strrchr(tracee, '/');
    CHECK(slash != NULL);
    snprintf(path, sizeof path, "%.*s/gdbcases", (int)(slash - tracee), tracee);
    return path;
}

static ptrace_dbg_process *launch_case(const char *mode, const char *arg) {
    const char *argv[] = {"gdbcases", mode, arg, NULL};
    ptrace_dbg_launch_options opts;
    ptrace_dbg_launch_options_init(&opts);
    ptrace_dbg_process *p = NULL;
    CHECK_OK(ptrace_dbg_launch(gdbcases_path(), argv, NULL, &opts, &p));
    return p;
}

static uint64_t sym(ptrace_dbg_process *p, const char *name) {
    uint64_t addr = symbol_address(pid_of(p), gdbcases_path(), name);
    CHECK(addr != 0);
    return addr;
}

/* gdb.threads/non-ldr-exc: a non-leader thread stopped just before its execve is stepped alone
 * (scheduler-locking on, stepi). The step ends in the EXEC stop on the leader's tid. */
TEST(step_of_a_non_leader_thread_into_execve_ends_in_an_exec_stop) {
    ptrace_dbg_process *p = launch_case("exec-thread", NULL);
    int32_t pid = pid_of(p);
    CHECK_OK(ptrace_dbg_add_breakpoint(p, sym(p, "gdb_execve")));
    /* Continue past the thread creations to the breakpoint. */
    int32_t tid = 0;
    ptrace_dbg_cause cause = {0};
    for (int i = 0; i < 20 && cause.kind != PTRACE_DBG_CAUSE_BREAKPOINT; i++) {
        CHECK_OK(continue_and_wait(p, WAIT_MS, &tid));
        CHECK_OK(ptrace_dbg_stop_cause(p, tid, &cause));
    }
    CHECK_EQ_INT(cause.kind, PTRACE_DBG_CAUSE_BREAKPOINT);
    CHECK(tid != pid);
    int exec_seen = 0;
    for (int i = 0; i < 3 && !exec_seen; i++) {
        CHECK_OK(ptrace_dbg_step(p, tid)); /* used to time out after 30 s */
        CHECK_OK(ptrace_dbg_stop_cause(p, pid, &cause));
        exec_seen = cause.kind == PTRACE_DBG_CAUSE_EXEC;
    }
    CHECK(exec_seen);
    int32_t tids[8];
    size_t count = 0;
    CHECK_OK(ptrace_dbg_threads(p, tids, 8, &count));
    CHECK_EQ_INT(count, 1);
    CHECK_EQ_INT(tids[0], pid);
    int rc = PTRACE_DBG_OK;
    for (int i = 0; i < 100 && rc == PTRACE_DBG_OK; i++) rc = continue_and_wait(p, WAIT_MS, NULL);
    CHECK_CODE(rc, PTRACE_DBG_E_EXITED);
    int32_t code = -2, sig = -2;
    CHECK_OK(ptrace_dbg_exit_status(p, &code, &sig));
    CHECK_EQ_INT(code, 7);
    ptrace_dbg_process_free(p);
}

/* gdb.base/bp-permanent: a breakpoint on the program's own int3. Each continue passes it once:
 * BREAKPOINT, then the int3's own SIGTRAP (a signal, PC after it), delivered to the program's
 * handler at the next continue. */
TEST(breakpoint_on_the_programs_own_int3_passes_it_once_per_continue) {
    ptrace_dbg_process *p = launch_case("own-int3", "handler");
    uint64_t trap = sym(p, "own_trap");
    CHECK_OK(ptrace_dbg_add_breakpoint(p, trap));
    for (int round = 1; round <= 5; round++) {
        int32_t tid = 0;
        ptrace_dbg_cause cause;
        uint64_t pc = 0;
        CHECK_OK(continue_and_wait(p, WAIT_MS, &tid));
        CHECK_OK(ptrace_dbg_stop_cause(p, tid, &cause));
        CHECK_EQ_INT(cause.kind, PTRACE_DBG_CAUSE_BREAKPOINT);
        CHECK_OK(ptrace_dbg_get_pc(p, tid, &pc));
        CHECK_EQ_INT(pc, trap);
        CHECK_OK(continue_and_wait(p, WAIT_MS, &tid));
        CHECK_OK(ptrace_dbg_stop_cause(p, tid, &cause));
        CHECK_EQ_INT(cause.kind, PTRACE_DBG_CAUSE_SIGNAL); /* was BREAKPOINT for ever */
        CHECK_EQ_INT(cause.signal, SIGTRAP);
        CHECK_OK(ptrace_dbg_get_pc(p, tid, &pc));
        CHECK_EQ_INT(pc, trap + 1);
    }
    int rc = PTRACE_DBG_OK;
    for (int i = 0; i < 100 && rc == PTRACE_DBG_OK; i++) rc = continue_and_wait(p, WAIT_MS, NULL);
    CHECK_CODE(rc, PTRACE_DBG_E_EXITED);
    int32_t code = -2, sig = -2;
    CHECK_OK(ptrace_dbg_exit_status(p, &code, &sig));
    CHECK_EQ_INT(code, 0); /* every int3 handled once */
    CHECK_EQ_INT(sig, 0);
    ptrace_dbg_process_free(p);
}
