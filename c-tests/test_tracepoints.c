/* Tracepoints, records, breakpoint conditions and range stepping through the header, against
 * the tp tracee (c-tests/tracees/tp.c): 8 threads x 10,000 hits read through the event fd
 * with poll, every record exact; a slow reader with a tiny buffer; step_range and step_n. */
#define _GNU_SOURCE
#include "ptrace_dbg.h"
#include "runner.h"
#include "tracee_util.h"

#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WAIT_MS 10000

static const char *tp_path(void) {
    static char path[PATH_MAX];
    if (!path[0]) {
        snprintf(path, sizeof path, "%s", tracee_path());
        char *slash = strrchr(path, '/');
        CHECK(slash != NULL);
        strcpy(slash + 1, "tp");
    }
    return path;
}

static ptrace_dbg_process *launch_tp(const char *const *argv) {
    ptrace_dbg_process *p = NULL;
    CHECK_OK(ptrace_dbg_launch(tp_path(), argv, NULL, NULL, &p));
    return p;
}

static uint64_t tp_sym(ptrace_dbg_process *p, const char *name) {
    uint64_t addr = symbol_address(pid_of(p), tp_path(), name);
    if (!addr) runner_fail(__FILE__, __LINE__, "no symbol %s in tp", name);
    return addr;
}

/* Reads every record until the process exits, polling the event fd; thread births and ends
 * (all-stop events) are continued. `chunk` records per read. Returns how many were read into
 * `out` (at most `cap`). */
static size_t drain(ptrace_dbg_process *p, ptrace_dbg_record *out, size_t cap, size_t chunk) {
    int32_t fd = -1;
    CHECK_OK(ptrace_dbg_event_fd(p, &fd));
    size_t total = 0;
    long long deadline = now_ms() + 120000;
    for (;;) {
        CHECK(now_ms() < deadline);
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        CHECK(poll(&pfd, 1, WAIT_MS) == 1);
        size_t n = 0;
        size_t want = chunk < cap - total ? chunk : cap - total;
        CHECK_OK(ptrace_dbg_read_records(p, out + total, want, &n));
        total += n;
        if (n > 0) continue;
        int32_t trigger = 0;
        int rc = ptrace_dbg_wait_stop(p, 0, &trigger);
        if (rc == PTRACE_DBG_E_EXITED) {
            CHECK_OK(ptrace_dbg_read_records(p, out + total, cap - total, &n));
            return total + n;
        }
        if (rc == PTRACE_DBG_E_TIMEOUT) continue; /* records came and went */
        CHECK_OK(rc);
        ptrace_dbg_cause cause;
        CHECK_OK(ptrace_dbg_stop_cause(p, trigger, &cause));
        CHECK(cause.kind == PTRACE_DBG_CAUSE_THREAD_CREATE ||
              cause.kind == PTRACE_DBG_CAUSE_THREAD_EXIT);
        CHECK_OK(ptrace_dbg_continue(p));
    }
}

TEST_TIMEOUT(tracepoint_eight_threads_80000_records_exact_through_the_event_fd, 240) {
    enum { THREADS = 8, N = 10000, TOTAL = THREADS * (N + 2) };
    const char *argv[] = {"tp", "hits", "8", "10000", "4", NULL};
    ptrace_dbg_process *p = launch_tp(argv);
    int32_t id = 0, id2 = 0;
    uint64_t target = tp_sym(p, "tp_target"), ool = tp_sym(p, "tp_ool");
    CHECK_CODE(ptrace_dbg_add_tracepoint(p, target, 1, &id), PTRACE_DBG_E_INVALID_ARGUMENT);
    CHECK_OK(ptrace_dbg_add_tracepoint(p, target, 0, &id));
    CHECK_CODE(ptrace_dbg_add_tracepoint(p, target, 0, &id2), PTRACE_DBG_E_BREAKPOINT_EXISTS);
    CHECK_OK(ptrace_dbg_add_tracepoint(p, ool, 0, &id2));
    CHECK(id > 0 && id2 > 0 && id != id2);
    CHECK_OK(ptrace_dbg_continue(p));
    ptrace_dbg_record *recs = calloc(TOTAL + 1, sizeof *recs);
    CHECK(recs != NULL);
    size_t n = drain(p, recs, TOTAL + 1, 3000);
    CHECK_EQ_INT(n, TOTAL);
    int32_t code = -1;
    CHECK_OK(ptrace_dbg_exit_status(p, &code, NULL));
    CHECK_EQ_INT(code, 0);
    struct { int32_t tid; uint64_t next; } seen[THREADS] = {{0, 0}};
    for (size_t i = 0; i < n; i++) {
        const ptrace_dbg_record *r = &recs[i];
        CHECK_EQ_INT(r->kind, PTRACE_DBG_RECORD_TRACEPOINT);
        CHECK_EQ_INT(r->regs.rip, r->pc);
        int k = 0;
        while (k < THREADS && seen[k].tid && seen[k].tid != r->tid) k++;
        CHECK(k < THREADS);
        seen[k].tid = r->tid;
        if (r->id == id) {
            CHECK_EQ_INT(r->pc, target);
            CHECK_EQ_INT(r->regs.rdi, seen[k].next);
            seen[k].next++;
        } else {
            CHECK_EQ_INT(r->id, id2);
            CHECK_EQ_INT(r->regs.rdi, N);
        }
    }
    for (int k = 0; k < THREADS; k++) CHECK_EQ_INT(seen[k].next, N + 1);
    ptrace_dbg_record_stats st;
    CHECK_OK(ptrace_dbg_get_record_stats(p, &st));
    CHECK_EQ_INT(st.recorded, TOTAL);
    CHECK_EQ_INT(st.pending, 0);
    free(recs);
    ptrace_dbg_process_free(p);
}

TEST_TIMEOUT(tracepoint_full_buffer_blocks_a_slow_reader_gets_every_record, 120) {
    enum { THREADS = 4, N = 1000, TOTAL = THREADS * (N + 1) };
    const char *argv[] = {"tp", "hits", "4", "1000", NULL};
    ptrace_dbg_process *p = launch_tp(argv);
    CHECK_CODE(ptrace_dbg_set_record_capacity(p, 0), PTRACE_DBG_E_INVALID_ARGUMENT);
    CHECK_OK(ptrace_dbg_set_record_capacity(p, 8));
    int32_t id = 0;
    CHECK_OK(ptrace_dbg_add_tracepoint(p, tp_sym(p, "tp_target"), 0, &id));
    CHECK_OK(ptrace_dbg_continue(p));
    /* Nobody reads until the buffer is full and a thread waits (a bounded watch of the
     * counters: the event fd is readable from the first record on). Each look waits up to
     * 1 ms for a stop, which leaves the CPU to the monitor: under valgrind, which runs one
     * thread at a time, a look that never blocked starved it past the deadline. */
    ptrace_dbg_record_stats st;
    long long deadline = now_ms() + 20000;
    do {
        CHECK(now_ms() < deadline);
        int32_t trigger = 0;
        if (ptrace_dbg_wait_stop(p, 1, &trigger) == PTRACE_DBG_OK)
            CHECK_OK(ptrace_dbg_continue(p)); /* a thread's birth or end */
        CHECK_OK(ptrace_dbg_get_record_stats(p, &st));
    } while (st.waits == 0);
    CHECK(st.pending >= 8);
    ptrace_dbg_record *recs = calloc(TOTAL + 1, sizeof *recs);
    CHECK(recs != NULL);
    size_t n = drain(p, recs, TOTAL + 1, 3);
    CHECK_EQ_INT(n, TOTAL);
    CHECK_OK(ptrace_dbg_get_record_stats(p, &st));
    CHECK(st.waits > 0);
    CHECK(st.wait_ns > 0);
    CHECK_EQ_INT(st.capacity, 8);
    free(recs);
    ptrace_dbg_process_free(p);
}

TEST(step_range_and_step_n_and_a_conditional_breakpoint) {
    const char *argv[] = {"tp", "range", NULL};
    ptrace_dbg_process *p = launch_tp(argv);
    uint64_t start = tp_sym(p, "tp_range_start"), end = tp_sym(p, "tp_range_end");
    uint64_t inner = tp_sym(p, "tp_range_inner");
    size_t rcx = 0;
    CHECK_OK(ptrace_dbg_reg_index("rcx", &rcx));
    CHECK_OK(ptrace_dbg_add_breakpoint(p, start));
    int32_t trigger = 0;
    CHECK_OK(continue_and_wait(p, WAIT_MS, &trigger));
    uint64_t pc = 0, steps = 0;
    CHECK_OK(ptrace_dbg_get_pc(p, trigger, &pc));
    CHECK_EQ_INT(pc, start);
    CHECK_CODE(ptrace_dbg_step_range(p, trigger, end, start, &steps),
               PTRACE_DBG_E_INVALID_ARGUMENT);
    CHECK_OK(ptrace_dbg_step_range(p, trigger, start, end, &steps));
    CHECK_EQ_INT(steps, 301);
    CHECK_OK(ptrace_dbg_get_pc(p, trigger, &pc));
    CHECK_EQ_INT(pc, end);
    /* A breakpoint with a false condition (rcx == 5, it is 0) is passed by step_n; one with
     * a true one (rcx == 0) stops it. */
    CHECK_OK(ptrace_dbg_add_breakpoint(p, inner));
    CHECK_OK(ptrace_dbg_set_breakpoint_condition(p, inner, rcx, PTRACE_DBG_COND_EQ, 5));
    CHECK_CODE(ptrace_dbg_set_breakpoint_condition(p, inner, rcx, 99, 5),
               PTRACE_DBG_E_INVALID_ARGUMENT);
    CHECK_CODE(ptrace_dbg_set_breakpoint_condition(p, end, rcx, PTRACE_DBG_COND_EQ, 5),
               PTRACE_DBG_E_NO_BREAKPOINT);
    CHECK_OK(ptrace_dbg_step_n(p, trigger, 3, &steps));
    CHECK_EQ_INT(steps, 3);
    CHECK_OK(ptrace_dbg_get_pc(p, trigger, &pc));
    CHECK_EQ_INT(pc, inner + 1);
    ptrace_dbg_process_free(p);

    p = launch_tp(argv);
    start = tp_sym(p, "tp_range_start");
    inner = tp_sym(p, "tp_range_inner");
    CHECK_OK(ptrace_dbg_add_breakpoint(p, start));
    CHECK_OK(continue_and_wait(p, WAIT_MS, &trigger));
    CHECK_OK(ptrace_dbg_add_breakpoint(p, inner));
    CHECK_OK(ptrace_dbg_set_breakpoint_condition(p, inner, rcx, PTRACE_DBG_COND_EQ, 0));
    CHECK_OK(ptrace_dbg_step_n(p, trigger, 1000, &steps));
    CHECK_EQ_INT(steps, 303);
    ptrace_dbg_cause cause;
    CHECK_OK(ptrace_dbg_stop_cause(p, trigger, &cause));
    CHECK_EQ_INT(cause.kind, PTRACE_DBG_CAUSE_BREAKPOINT);
    CHECK_EQ_INT(cause.pc, inner);
    CHECK_CODE(ptrace_dbg_step_n(p, trigger, 0, NULL), PTRACE_DBG_E_INVALID_ARGUMENT);
    ptrace_dbg_process_free(p);
}
