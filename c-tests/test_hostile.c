/* Hostile input, table driven (issue 6, "Hostile and bad input"): every exported function of
 * the header is called with bad handles (NULL, made up, pointers to heap, stack and code,
 * freed, freed twice, forged from a live one), NULL out-parameters, thread ids that are not
 * the process's (including the test's own, pid 1, other traced and untraced processes),
 * unmapped, kernel-space and wrapping addresses, zero and absurd lengths, out-of-range
 * register indices, register values the kernel refuses, bad timeouts, flags and descriptors,
 * and in every process state (stopped, running, exited, detached, freed).
 *
 * Each call must return one of the codes the header documents for that input (or, where it is
 * silent, the natural one), leave its out-parameters unwritten when it fails (`*done`/`*count`
 * aside, which are always set), and put a fresh, non-empty message in ptrace_dbg_last_error().
 * Nothing may crash or hang: a watchdog thread names the case that hangs, and (outside ASan,
 * which reports crashes itself) a signal handler names the case that crashed. Mismatches are
 * collected and printed one per line ("hostile FAIL: ...") and fail the test at the end; the
 * last line says how many cases ran ("hostile: N cases, ...").
 *
 * A case for a library bug that is known and not yet fixed is skipped unless RUN_KNOWN_BUGS=1
 * is in the environment (see KNOWN_BUGS below), so `make test` stays green meanwhile.
 *
 * The test extends test_process.c's null_forged_and_freed_handles_are_invalid_handles and
 * null_out_parameters_unknown_tids_and_bad_numbers_are_rejected: those check a handful of
 * values each; this one crosses every value with every function and every state. */
#define _GNU_SOURCE
#include "ptrace_dbg.h"
#include "runner.h"
#include "tracee_util.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define WAIT_MS 10000
/* A case that takes longer than this is a hang (the slowest legitimate ones, a failed launch
 * or a kill, take milliseconds). */
#define CASE_LIMIT_MS 15000
/* A case that tests a timeout itself (wait_stop with a finite timeout) gets this much: a
 * wait that ignores its timeout fails in seconds, named, not after CASE_LIMIT_MS. */
#define TIMEOUT_CASE_LIMIT_MS 3000

#define OK PTRACE_DBG_OK
#define E_ARG PTRACE_DBG_E_INVALID_ARGUMENT
#define E_HANDLE PTRACE_DBG_E_INVALID_HANDLE
#define E_STATE PTRACE_DBG_E_BAD_STATE
#define E_THREAD PTRACE_DBG_E_NO_SUCH_THREAD
#define E_EXISTS PTRACE_DBG_E_BREAKPOINT_EXISTS
#define E_NO_BP PTRACE_DBG_E_NO_BREAKPOINT
#define E_PERM PTRACE_DBG_E_PERMISSION
#define E_NO_PROC PTRACE_DBG_E_NO_SUCH_PROCESS
#define E_TIMEOUT PTRACE_DBG_E_TIMEOUT
#define E_EXITED PTRACE_DBG_E_EXITED
#define E_FAULT PTRACE_DBG_E_FAULT
#define E_SMALL PTRACE_DBG_E_BUFFER_TOO_SMALL
#define E_OS PTRACE_DBG_E_OS
#define E_NO_RES PTRACE_DBG_E_NO_RESOURCE
#define E_NOT_FOUND PTRACE_DBG_E_NOT_FOUND
/* Not a result code (they are 0 or negative): ends a list of codes, or means "skip". */
#define END 1
#define SKIP 1

#define KERNEL_ADDR UINT64_C(0xffff800000000000)
#define NONCANONICAL UINT64_C(0x0000800000000000)

/* ------------------------------------------------------------------------------------------
 * Case bookkeeping: begin_case names the case (for the watchdog and the crash handler) and
 * arms the checks; end_case compares the result. */

static int cases, failures, known_skipped;
static char current[512];
static _Atomic long long case_started_ms;
/* The current case's limit: CASE_LIMIT_MS unless the case tests a timeout (short_deadline). */
static _Atomic int case_limit_ms = CASE_LIMIT_MS;
/* ptrace_dbg_last_error() after a failing call we make before each case: a failing case must
 * replace it. */
static char marker_error[512];
/* Out-parameters: filled with SENTINEL before each case; a failing call must not touch them. */
#define SENTINEL 0xa5
static struct outs {
    int32_t i32[2];
    uint64_t u64;
    uint32_t u32;
    size_t index;
    ptrace_dbg_cause cause;
    ptrace_dbg_regs regs;
    int32_t tids[16];
    const char *str;
    ptrace_dbg_process *child;
    ptrace_dbg_mapping maps[256];
    ptrace_dbg_library libs[64];
    char name[256];
    char path[256];
    ptrace_dbg_fpregs fpregs;
    unsigned char xbuf[64];
} outs;
/* peek/poke's *done and threads' *count: set on failure too, so outside the sentinel area. */
static size_t done_out, count_out;

static void begin_case(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void begin_case(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(current, sizeof current, fmt, ap);
    va_end(ap);
    /* A known failure with a text no case produces (no register has this name). */
    size_t idx;
    ptrace_dbg_reg_index("hostile-test-marker", &idx);
    snprintf(marker_error, sizeof marker_error, "%s", ptrace_dbg_last_error());
    memset(&outs, SENTINEL, sizeof outs);
    done_out = count_out = (size_t)0xa5a5a5a5;
    atomic_store(&case_limit_ms, CASE_LIMIT_MS);
    atomic_store(&case_started_ms, now_ms());
    cases++;
}

static void fail_case(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fail_case(const char *fmt, ...) {
    char why[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    printf("hostile FAIL: %s: %s\n", current, why);
    failures++;
}

static int outs_untouched(void) {
    const unsigned char *bytes = (const unsigned char *)&outs;
    for (size_t i = 0; i < sizeof outs; i++)
        if (bytes[i] != SENTINEL) return 0;
    return 1;
}

static int code_in(int rc, const int *codes) {
    for (; *codes != END; codes++)
        if (rc == *codes) return 1;
    return 0;
}

static void codes_text(const int *codes, char *buf, size_t size) {
    size_t n = 0;
    buf[0] = '\0';
    for (; *codes != END && n + 40 < size; codes++)
        n += (size_t)snprintf(buf + n, size - n, "%s%d (%s)", n ? " or " : "", *codes,
                              ptrace_dbg_strerror(*codes));
}

/* Issue 10: a message says each thing once ("execve: ENOENT: No such file or directory (No such
 * file or directory)", "timed out: timed out: ..." were not) and counts in good grammar ("1
 * threads" was not). Returns what is wrong with `message`, or NULL. Checked on every message
 * this test provokes. */
static const char *badly_worded(const char *message, char *why, size_t size) {
    /* Segments between ':', ';', ',', '(' and ')', compared without case: none twice. */
    char segs[32][128];
    int nseg = 0;
    size_t len = 0;
    for (const char *c = message;; c++) {
        int end = *c == '\0' || strchr(":;,()", *c) != NULL;
        if (!end) { /* a segment longer than the buffer is compared by its start */
            if (nseg < 32 && len + 1 < sizeof segs[0] && (len > 0 || *c != ' '))
                segs[nseg][len++] = (char)(*c >= 'A' && *c <= 'Z' ? *c + 32 : *c);
            continue;
        }
        while (len > 0 && segs[nseg][len - 1] == ' ') len--;
        if (nseg < 32) {
            segs[nseg][len] = '\0';
            if (len >= 2) {
                for (int i = 0; i < nseg; i++)
                    if (strcmp(segs[i], segs[nseg]) == 0) {
                        snprintf(why, size, "says \"%s\" twice", segs[nseg]);
                        return why;
                    }
                nseg++;
            }
        }
        len = 0;
        if (*c == '\0') break;
    }
    /* Words (letters only, without case; tokens with digits such as 0x55af are skipped): no
     * run of three twice. */
    char words[64][32];
    int nw = 0;
    for (const char *c = message; *c && nw < 64;) {
        int alpha = 1;
        size_t n = 0;
        const char *w = c;
        while ((*c | 32) >= 'a' && (*c | 32) <= 'z' ? 1 : (*c >= '0' && *c <= '9' ? (alpha = 0, 1) : 0)) {
            if (n + 1 < sizeof words[0]) words[nw][n++] = (char)(*c | 32);
            c++;
        }
        if (c == w) {
            c++;
            continue;
        }
        if (alpha) words[nw++][n] = '\0';
    }
    for (int i = 0; i + 2 < nw; i++)
        for (int j = i + 1; j + 2 < nw; j++)
            if (!strcmp(words[i], words[j]) && !strcmp(words[i + 1], words[j + 1]) &&
                !strcmp(words[i + 2], words[j + 2])) {
                snprintf(why, size, "says \"%s %s %s\" twice", words[i], words[i + 1],
                         words[i + 2]);
                return why;
            }
    /* "1 threads": a lone 1 before a plural of what the library counts. */
    static const char *const PLURALS[] = {"threads", "bytes", "breakpoints", "processes",
                                          "handles", "registers", "seconds", "entries",
                                          "arguments", "stops", "times", NULL};
    for (const char *c = message; (c = strstr(c, "1 ")) != NULL; c++) {
        if (c > message && ((c[-1] >= '0' && c[-1] <= '9') || c[-1] == '.' || c[-1] == '-' ||
                            c[-1] == 'x'))
            continue;
        for (int i = 0; PLURALS[i]; i++) {
            size_t n = strlen(PLURALS[i]);
            if (!strncmp(c + 2, PLURALS[i], n) && !((c[2 + n] | 32) >= 'a' && (c[2 + n] | 32) <= 'z')) {
                snprintf(why, size, "says \"1 %s\"", PLURALS[i]);
                return why;
            }
        }
    }
    return NULL;
}

/* The result of the case: `rc` must be one of `codes`; a failure must come with a fresh
 * message and untouched out-parameters. */
static void end_case(int rc, const int *codes) {
    atomic_store(&case_started_ms, 0);
    const char *message = ptrace_dbg_last_error();
    if (!code_in(rc, codes)) {
        char want[512];
        codes_text(codes, want, sizeof want);
        fail_case("returned %d (%s), expected %s; last error: \"%s\"", rc,
                  ptrace_dbg_strerror(rc), want, message ? message : "(NULL)");
        return;
    }
    if (rc == OK) return;
    char why[256];
    if (message == NULL || message[0] == '\0')
        fail_case("returned %d (%s) with an empty last error", rc, ptrace_dbg_strerror(rc));
    else if (badly_worded(message, why, sizeof why))
        fail_case("last error \"%s\" %s", message, why);
    else if (strcmp(message, marker_error) == 0)
        fail_case("returned %d (%s) without setting the last error", rc,
                  ptrace_dbg_strerror(rc));
    if (!outs_untouched())
        fail_case("returned %d (%s) but wrote an out-parameter", rc, ptrace_dbg_strerror(rc));
}

#define CODES(...) ((const int[]){__VA_ARGS__, END})

/* Library bugs found by this test and not fixed yet: their cases are skipped (and counted)
 * unless RUN_KNOWN_BUGS=1. Each entry is a substring of the case's name. */
static const char *const KNOWN_BUGS[] = {
    /* None at the moment. (The four step/stop/kill cases that were here pass since the engine
     * interrupts a step on stop and settles a kill only in Exited.) */
    NULL,
};

static int skip_known_bug(void) {
    const char *run = getenv("RUN_KNOWN_BUGS");
    if (run && strcmp(run, "1") == 0) return 0;
    for (size_t i = 0; KNOWN_BUGS[i]; i++) {
        if (strstr(current, KNOWN_BUGS[i])) {
            cases--;
            known_skipped++;
            atomic_store(&case_started_ms, 0);
            return 1;
        }
    }
    return 0;
}

/* Runs `call` as one case expecting one of the codes. */
#define CASE(codes, call, ...)                 \
    do {                                       \
        begin_case(__VA_ARGS__);               \
        if (!skip_known_bug()) {               \
            int case_rc_ = (call);             \
            end_case(case_rc_, (codes));       \
        }                                      \
    } while (0)

/* ------------------------------------------------------------------------------------------
 * Hangs and crashes name their case. */

static void *watchdog(void *arg) {
    (void)arg;
    for (;;) {
        struct timespec tick = {0, 100 * 1000 * 1000};
        nanosleep(&tick, NULL);
        long long started = atomic_load(&case_started_ms);
        int limit = atomic_load(&case_limit_ms);
        if (started && now_ms() - started > limit)
            runner_fail(__FILE__, __LINE__, "hang: case \"%s\" still runs after %d ms", current,
                        limit);
    }
    return NULL;
}

#if !defined(__SANITIZE_ADDRESS__)
static void on_crash(int sig) {
    /* Not async-signal-safe, but the process is lost anyway: say where it died. */
    runner_fail(__FILE__, __LINE__, "crashed with signal %d (%s) in case \"%s\"", sig,
                strsignal(sig), current);
}
#endif

static void guard(void) {
    pthread_t thread;
    CHECK_EQ_INT(pthread_create(&thread, NULL, watchdog, NULL), 0);
    pthread_detach(thread);
#if !defined(__SANITIZE_ADDRESS__)
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_crash;
    sa.sa_flags = (int)SA_RESETHAND;
    int signals[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT};
    for (size_t i = 0; i < sizeof signals / sizeof signals[0]; i++)
        sigaction(signals[i], &sa, NULL);
#endif
}

/* ------------------------------------------------------------------------------------------
 * Every function that takes a process handle, as an operation over one argument set, so the
 * tables below can cross them with bad handles, thread ids and states. */

struct args {
    int32_t tid;
    uint64_t addr;        /* peek, poke, breakpoints */
    size_t len;           /* peek, poke */
    void *buf;            /* peek, poke */
    size_t index;         /* get_reg, set_reg */
    uint64_t value;       /* set_reg, set_pc, set_sp */
    const ptrace_dbg_regs *regs; /* set_regs */
    const ptrace_dbg_fpregs *fpregs; /* set_fpregs */
    int null_out;         /* pass NULL for the out-parameter (buf for peek and poke) */
};

#define OUT(p) (a->null_out ? NULL : (p))

static int op_pid(ptrace_dbg_process *p, const struct args *a) {
    return ptrace_dbg_pid(p, OUT(&outs.i32[0]));
}
static int op_detach(ptrace_dbg_process *p, const struct args *a) {
    (void)a;
    return ptrace_dbg_detach(p);
}
static int op_kill(ptrace_dbg_process *p, const struct args *a) {
    (void)a;
    return ptrace_dbg_kill(p);
}
static int op_exit_status(ptrace_dbg_process *p, const struct args *a) {
    (void)a;
    return ptrace_dbg_exit_status(p, &outs.i32[0], &outs.i32[1]);
}
static int op_exit_status_nulls(ptrace_dbg_process *p, const struct args *a) {
    (void)a;
    return ptrace_dbg_exit_status(p, NULL, NULL);
}
static int op_stop(ptrace_dbg_process *p, const struct args *a) {
    (void)a;
    return ptrace_dbg_stop(p);
}
static int op_continue(ptrace_dbg_process *p, const struct args *a) {
    (void)a;
    return ptrace_dbg_continue(p);
}
/* The case under way tests a timeout: it gets TIMEOUT_CASE_LIMIT_MS, not CASE_LIMIT_MS. */
static void short_deadline(void) { atomic_store(&case_limit_ms, TIMEOUT_CASE_LIMIT_MS); }
/* wait_stop under the short deadline: for CASE()s that test wait_stop's timeout handling. */
static int short_wait_stop(ptrace_dbg_process *p, int32_t timeout_ms, int32_t *trigger) {
    short_deadline();
    return ptrace_dbg_wait_stop(p, timeout_ms, trigger);
}
static int op_wait_poll(ptrace_dbg_process *p, const struct args *a) {
    (void)a;
    short_deadline();
    return ptrace_dbg_wait_stop(p, 0, &outs.i32[0]);
}
static int op_wait_50ms(ptrace_dbg_process *p, const struct args *a) {
    (void)a;
    short_deadline();
    return ptrace_dbg_wait_stop(p, 50, NULL);
}
static int op_event_fd(ptrace_dbg_process *p, const struct args *a) {
    return ptrace_dbg_event_fd(p, OUT(&outs.i32[0]));
}
static int op_step(ptrace_dbg_process *p, const struct args *a) {
    return ptrace_dbg_step(p, a->tid);
}
static int op_threads_size(ptrace_dbg_process *p, const struct args *a) {
    return ptrace_dbg_threads(p, NULL, 0, a->null_out ? NULL : &count_out);
}
static int op_threads(ptrace_dbg_process *p, const struct args *a) {
    return ptrace_dbg_threads(p, outs.tids, 16, a->null_out ? NULL : &count_out);
}
static int op_thread_state(ptrace_dbg_process *p, const struct args *a) {
    return ptrace_dbg_thread_state(p, a->tid, OUT(&outs.i32[0]));
}
static int op_stop_cause(ptrace_dbg_process *p, const struct args *a) {
    return ptrace_dbg_stop_cause(p, a->tid, OUT(&outs.cause));
}
static int op_add_breakpoint(ptrace_dbg_process *p, const struct args *a) {
    return ptrace_dbg_add_breakpoint(p, a->addr);
}
static int op_remove_breakpoint(ptrace_dbg_process *p, const struct args *a) {
    return ptrace_dbg_remove_breakpoint(p, a->addr);
}
static int op_add_watchpoint(ptrace_dbg_process *p, const struct args *a) {
    /* An execute watchpoint (length 1) is valid at any user address. */
    return ptrace_dbg_add_watchpoint(p, a->addr, 1, PTRACE_DBG_WATCH_EXECUTE, OUT(&outs.i32[0]));
}
static int op_remove_watchpoint(ptrace_dbg_process *p, const struct args *a) {
    (void)a;
    return ptrace_dbg_remove_watchpoint(p, 1);
}
static int op_watchpoint_hit(ptrace_dbg_process *p, const struct args *a) {
    return ptrace_dbg_watchpoint_hit(p, a->tid, OUT(&outs.i32[0]), &outs.u64);
}
static int op_get_regs(ptrace_dbg_process *p, const struct args *a) {
    return ptrace_dbg_get_regs(p, a->tid, OUT(&outs.regs));
}
static int op_set_regs(ptrace_dbg_process *p, const struct args *a) {
    return ptrace_dbg_set_regs(p, a->tid, a->null_out ? NULL : a->regs);
}
static int op_get_reg(ptrace_dbg_process *p, const struct args *a) {
    return ptrace_dbg_get_reg(p, a->tid, a->index, OUT(&outs.u64));
}
static int op_set_reg(ptrace_dbg_process *p, const struct args *a) {
    return ptrace_dbg_set_reg(p, a->tid, a->index, a->value);
}
static int op_get_fpregs(ptrace_dbg_process *p, const struct args *a) {
    return ptrace_dbg_get_fpregs(p, a->tid, OUT(&outs.fpregs));
}
static int op_set_fpregs(ptrace_dbg_process *p, const struct args *a) {
    return ptrace_dbg_set_fpregs(p, a->tid, a->null_out ? NULL : a->fpregs);
}
static int op_get_xstate_size(ptrace_dbg_process *p, const struct args *a) {
    return ptrace_dbg_get_xstate(p, a->tid, NULL, 0, a->null_out ? NULL : &count_out);
}
static int op_get_xstate(ptrace_dbg_process *p, const struct args *a) {
    return ptrace_dbg_get_xstate(p, a->tid, OUT(outs.xbuf), sizeof outs.xbuf, &count_out);
}
static int op_set_xstate(ptrace_dbg_process *p, const struct args *a) {
    return ptrace_dbg_set_xstate(p, a->tid, a->null_out ? NULL : a->buf, a->len);
}
static int op_read_register(ptrace_dbg_process *p, const struct args *a) {
    return ptrace_dbg_read_register(p, a->tid, "xmm0", OUT(outs.xbuf), sizeof outs.xbuf,
                                    &count_out);
}
static int op_write_register(ptrace_dbg_process *p, const struct args *a) {
    static const unsigned char zeros[16];
    return ptrace_dbg_write_register(p, a->tid, "xmm15", a->null_out ? NULL : zeros, 16);
}
static int op_register_info(ptrace_dbg_process *p, const struct args *a) {
    (void)a;
    return ptrace_dbg_register_info(p, 0, &outs.str, &outs.index);
}
static int op_get_pc(ptrace_dbg_process *p, const struct args *a) {
    return ptrace_dbg_get_pc(p, a->tid, OUT(&outs.u64));
}
static int op_set_pc(ptrace_dbg_process *p, const struct args *a) {
    return ptrace_dbg_set_pc(p, a->tid, a->value);
}
static int op_get_sp(ptrace_dbg_process *p, const struct args *a) {
    return ptrace_dbg_get_sp(p, a->tid, OUT(&outs.u64));
}
static int op_set_sp(ptrace_dbg_process *p, const struct args *a) {
    return ptrace_dbg_set_sp(p, a->tid, a->value);
}
static int op_peek(ptrace_dbg_process *p, const struct args *a) {
    return ptrace_dbg_peek(p, a->tid, a->addr, OUT(a->buf), a->len, &done_out);
}
static int op_peek_no_done(ptrace_dbg_process *p, const struct args *a) {
    return ptrace_dbg_peek(p, a->tid, a->addr, OUT(a->buf), a->len, NULL);
}
static int op_poke(ptrace_dbg_process *p, const struct args *a) {
    return ptrace_dbg_poke(p, a->tid, a->addr, OUT(a->buf), a->len, &done_out);
}
static int op_poke_no_done(ptrace_dbg_process *p, const struct args *a) {
    return ptrace_dbg_poke(p, a->tid, a->addr, OUT(a->buf), a->len, NULL);
}
/* Issue 18: tracepoints, records, breakpoint decisions, range stepping. */
static int op_add_tracepoint(ptrace_dbg_process *p, const struct args *a) {
    return ptrace_dbg_add_tracepoint(p, a->addr, 0, OUT(&outs.i32[0]));
}
static int op_remove_tracepoint(ptrace_dbg_process *p, const struct args *a) {
    (void)a;
    return ptrace_dbg_remove_tracepoint(p, 12345);
}
static int op_tracepoint_capture(ptrace_dbg_process *p, const struct args *a) {
    (void)a;
    return ptrace_dbg_tracepoint_capture(p, 12345, 0, 0, 8);
}
static int op_read_records(ptrace_dbg_process *p, const struct args *a) {
    static ptrace_dbg_record recs[4];
    return ptrace_dbg_read_records(p, recs, 4, a->null_out ? NULL : &count_out);
}
static int op_set_record_capacity(ptrace_dbg_process *p, const struct args *a) {
    (void)a;
    return ptrace_dbg_set_record_capacity(p, PTRACE_DBG_RECORD_DEFAULT_CAPACITY);
}
static int op_get_record_stats(ptrace_dbg_process *p, const struct args *a) {
    static ptrace_dbg_record_stats st;
    return ptrace_dbg_get_record_stats(p, OUT(&st));
}
static int op_set_breakpoint_condition(ptrace_dbg_process *p, const struct args *a) {
    return ptrace_dbg_set_breakpoint_condition(p, a->addr, 0, PTRACE_DBG_COND_EQ, 0);
}
static int op_set_breakpoint_ignore_count(ptrace_dbg_process *p, const struct args *a) {
    return ptrace_dbg_set_breakpoint_ignore_count(p, a->addr, 3);
}
static int op_step_range(ptrace_dbg_process *p, const struct args *a) {
    return ptrace_dbg_step_range(p, a->tid, a->addr, a->addr + 1, &outs.u64);
}
static int op_step_n(ptrace_dbg_process *p, const struct args *a) {
    return ptrace_dbg_step_n(p, a->tid, 1, NULL);
}
static int op_take_child(ptrace_dbg_process *p, const struct args *a) {
    return ptrace_dbg_take_child(p, a->tid, OUT(&outs.child));
}

/* System calls. trace_syscalls with flags 0 (tracing off) is harmless to the stopped world. */
static ptrace_dbg_syscall syscall_out;
static int op_trace_syscalls_off(ptrace_dbg_process *p, const struct args *a) {
    (void)a;
    return ptrace_dbg_trace_syscalls(p, NULL, 0, 0);
}
static int op_syscall_info(ptrace_dbg_process *p, const struct args *a) {
    return ptrace_dbg_syscall_info(p, a->tid, OUT(&syscall_out));
}
static int op_set_syscall(ptrace_dbg_process *p, const struct args *a) {
    return ptrace_dbg_set_syscall(p, a->tid, 39, NULL);
}
static int op_set_syscall_return(ptrace_dbg_process *p, const struct args *a) {
    return ptrace_dbg_set_syscall_return(p, a->tid, -EPERM);
}

static int op_maps(ptrace_dbg_process *p, const struct args *a) {
    return ptrace_dbg_maps(p, outs.maps, 256, a->null_out ? NULL : &count_out);
}
static int op_mapping_path(ptrace_dbg_process *p, const struct args *a) {
    return ptrace_dbg_mapping_path(p, 0, OUT(outs.path), sizeof outs.path, &count_out);
}
static int op_symbol_address(ptrace_dbg_process *p, const struct args *a) {
    return ptrace_dbg_symbol_address(p, NULL, "main", OUT(&outs.u64));
}
static int op_address_symbol(ptrace_dbg_process *p, const struct args *a) {
    return ptrace_dbg_address_symbol(p, a->addr, OUT(outs.name), sizeof outs.name, &outs.u64,
                                     outs.path, sizeof outs.path);
}
static int op_libraries(ptrace_dbg_process *p, const struct args *a) {
    return ptrace_dbg_libraries(p, outs.libs, 64, a->null_out ? NULL : &count_out);
}
static int op_library_path(ptrace_dbg_process *p, const struct args *a) {
    return ptrace_dbg_library_path(p, 0, OUT(outs.path), sizeof outs.path, &count_out);
}
static int op_set_follow(ptrace_dbg_process *p, const struct args *a) {
    (void)a;
    return ptrace_dbg_set_follow(p, 0);
}
static int op_get_follow(ptrace_dbg_process *p, const struct args *a) {
    return ptrace_dbg_get_follow(p, a->null_out ? NULL : &outs.u32);
}
static int op_add_symbol_breakpoint(ptrace_dbg_process *p, const struct args *a) {
    return ptrace_dbg_add_symbol_breakpoint(p, NULL, "main", OUT(&outs.i32[0]));
}
static int op_remove_symbol_breakpoint(ptrace_dbg_process *p, const struct args *a) {
    (void)a;
    return ptrace_dbg_remove_symbol_breakpoint(p, 12345);
}

/* Flags of an operation. */
#define TID 1u     /* takes a thread id */
#define NEEDS 2u   /* has a pointer argument whose NULL is PTRACE_DBG_E_INVALID_ARGUMENT */
#define MEM 4u     /* peek/poke with `done`: *done must be 0 after a failure before any byte */

struct op {
    const char *name;
    int (*fn)(ptrace_dbg_process *, const struct args *);
    unsigned flags;
    /* The documented code with valid arguments when the process runs, has exited, was
     * detached; SKIP where the call would succeed and change the state. */
    int running, exited, detached;
};

static const struct op OPS[] = {
    {"pid", op_pid, NEEDS, OK, OK, OK},
    {"detach", op_detach, 0, SKIP, E_EXITED, E_STATE},
    {"kill", op_kill, 0, SKIP, E_EXITED, E_STATE},
    {"exit_status", op_exit_status, 0, E_STATE, OK, E_STATE},
    {"exit_status(NULL, NULL)", op_exit_status_nulls, 0, E_STATE, OK, E_STATE},
    {"stop", op_stop, 0, SKIP, E_EXITED, E_STATE},
    {"continue", op_continue, 0, E_STATE, E_EXITED, E_STATE},
    {"wait_stop(0)", op_wait_poll, 0, E_TIMEOUT, E_EXITED, E_STATE},
    {"wait_stop(50, NULL)", op_wait_50ms, 0, E_TIMEOUT, E_EXITED, E_STATE},
    {"event_fd", op_event_fd, NEEDS, OK, OK, OK},
    {"step", op_step, TID, E_STATE, E_EXITED, E_STATE},
    {"threads(NULL, 0)", op_threads_size, NEEDS, E_SMALL, E_EXITED, E_STATE},
    {"threads", op_threads, NEEDS, OK, E_EXITED, E_STATE},
    {"thread_state", op_thread_state, TID | NEEDS, OK, E_EXITED, E_STATE},
    {"stop_cause", op_stop_cause, TID | NEEDS, E_STATE, E_EXITED, E_STATE},
    {"add_breakpoint", op_add_breakpoint, 0, E_STATE, E_EXITED, E_STATE},
    {"remove_breakpoint", op_remove_breakpoint, 0, E_STATE, E_EXITED, E_STATE},
    {"add_watchpoint", op_add_watchpoint, NEEDS, E_STATE, E_EXITED, E_STATE},
    {"remove_watchpoint", op_remove_watchpoint, 0, E_STATE, E_EXITED, E_STATE},
    {"watchpoint_hit", op_watchpoint_hit, TID | NEEDS, E_STATE, E_EXITED, E_STATE},
    {"get_regs", op_get_regs, TID | NEEDS, E_STATE, E_EXITED, E_STATE},
    {"set_regs", op_set_regs, TID | NEEDS, E_STATE, E_EXITED, E_STATE},
    {"get_reg", op_get_reg, TID | NEEDS, E_STATE, E_EXITED, E_STATE},
    {"set_reg", op_set_reg, TID, E_STATE, E_EXITED, E_STATE},
    {"get_fpregs", op_get_fpregs, TID | NEEDS, E_STATE, E_EXITED, E_STATE},
    {"set_fpregs", op_set_fpregs, TID | NEEDS, E_STATE, E_EXITED, E_STATE},
    {"get_xstate(NULL, 0)", op_get_xstate_size, TID | NEEDS, E_STATE, E_EXITED, E_STATE},
    {"get_xstate(cap 64)", op_get_xstate, TID | NEEDS, E_STATE, E_EXITED, E_STATE},
    {"set_xstate", op_set_xstate, TID | NEEDS, E_STATE, E_EXITED, E_STATE},
    {"read_register", op_read_register, TID | NEEDS, E_STATE, E_EXITED, E_STATE},
    {"write_register", op_write_register, TID | NEEDS, E_STATE, E_EXITED, E_STATE},
    {"register_info", op_register_info, 0, OK, OK, OK},
    {"get_pc", op_get_pc, TID | NEEDS, E_STATE, E_EXITED, E_STATE},
    {"set_pc", op_set_pc, TID, E_STATE, E_EXITED, E_STATE},
    {"get_sp", op_get_sp, TID | NEEDS, E_STATE, E_EXITED, E_STATE},
    {"set_sp", op_set_sp, TID, E_STATE, E_EXITED, E_STATE},
    {"peek", op_peek, TID | NEEDS | MEM, E_STATE, E_EXITED, E_STATE},
    {"peek(done NULL)", op_peek_no_done, TID | NEEDS, E_STATE, E_EXITED, E_STATE},
    {"poke", op_poke, TID | NEEDS | MEM, E_STATE, E_EXITED, E_STATE},
    {"poke(done NULL)", op_poke_no_done, TID | NEEDS, E_STATE, E_EXITED, E_STATE},
    {"add_tracepoint", op_add_tracepoint, NEEDS, E_STATE, E_EXITED, E_STATE},
    {"remove_tracepoint", op_remove_tracepoint, 0, E_STATE, E_EXITED, E_STATE},
    {"tracepoint_capture", op_tracepoint_capture, 0, E_STATE, E_EXITED, E_STATE},
    {"read_records", op_read_records, NEEDS, OK, OK, OK},
    {"set_record_capacity", op_set_record_capacity, 0, OK, OK, OK},
    {"get_record_stats", op_get_record_stats, NEEDS, OK, OK, OK},
    {"set_breakpoint_condition", op_set_breakpoint_condition, 0, E_STATE, E_EXITED, E_STATE},
    {"set_breakpoint_ignore_count", op_set_breakpoint_ignore_count, 0, E_STATE, E_EXITED,
     E_STATE},
    {"step_range", op_step_range, TID, E_STATE, E_EXITED, E_STATE},
    {"step_n", op_step_n, TID, E_STATE, E_EXITED, E_STATE},
    {"maps", op_maps, NEEDS, OK, E_EXITED, E_STATE},
    /* Names an entry of the last maps listing on the handle (made just above when it ran). */
    {"mapping_path(0)", op_mapping_path, NEEDS, OK, E_ARG, E_ARG},
    {"symbol_address(main)", op_symbol_address, NEEDS, OK, E_EXITED, E_STATE},
    {"address_symbol", op_address_symbol, NEEDS, E_NOT_FOUND, E_EXITED, E_STATE},
    {"libraries", op_libraries, NEEDS, OK, E_EXITED, E_STATE},
    {"library_path(0)", op_library_path, NEEDS, OK, E_ARG, E_ARG},
    {"set_follow(0)", op_set_follow, 0, E_STATE, E_EXITED, E_STATE},
    {"get_follow", op_get_follow, NEEDS, OK, E_EXITED, E_STATE},
    {"add_symbol_breakpoint(main)", op_add_symbol_breakpoint, NEEDS, E_STATE, E_EXITED, E_STATE},
    {"remove_symbol_breakpoint(12345)", op_remove_symbol_breakpoint, 0, E_STATE, E_EXITED, E_STATE},
    {"take_child", op_take_child, NEEDS, E_STATE, E_EXITED, E_STATE},
    {"trace_syscalls(off)", op_trace_syscalls_off, 0, E_STATE, E_EXITED, E_STATE},
    {"syscall_info", op_syscall_info, TID | NEEDS, E_STATE, E_EXITED, E_STATE},
    {"set_syscall", op_set_syscall, TID, E_STATE, E_EXITED, E_STATE},
    {"set_syscall_return", op_set_syscall_return, TID, E_STATE, E_EXITED, E_STATE},
};
#define N_OPS (sizeof OPS / sizeof OPS[0])

/* Runs `op` as a case; for peek/poke also checks *done (0 after a failure: every failing
 * case here fails before its first byte; `len` after a success). */
static void run_op(const struct op *op, ptrace_dbg_process *p, const struct args *a,
                   const int *codes, const char *what) {
    begin_case("%s(%s%s)", op->name, what, a->null_out ? ", NULL out" : "");
    if (skip_known_bug()) return;
    int rc = op->fn(p, a);
    end_case(rc, codes);
    if ((op->flags & MEM) && code_in(rc, codes)) {
        size_t want = rc == OK ? a->len : 0;
        if (done_out != want)
            fail_case("returned %d with *done %zu, expected %zu", rc, done_out, want);
    }
}

/* The codes acceptable when a call has the faults `a` and `b` (`b` may be END) in a state
 * whose own answer to it is `state_code`: any of them may be named first. A state code that
 * is an answer rather than a refusal (OK, TIMEOUT, BUFFER_TOO_SMALL, or SKIP) is left out. */
static const int *either(int *storage, int a, int b, int state_code) {
    int n = 0;
    storage[n++] = a;
    if (b != END) storage[n++] = b;
    if (state_code != OK && state_code != E_TIMEOUT && state_code != E_SMALL &&
        state_code != SKIP && state_code != a && state_code != b)
        storage[n++] = state_code;
    storage[n] = END;
    return storage;
}

/* ------------------------------------------------------------------------------------------
 * The processes the cases run against. */

struct world {
    ptrace_dbg_process *stopped;  /* "spin 2", all three threads stopped */
    pid_t stopped_pid;
    int32_t stopped_tids[8];
    size_t stopped_count;
    ptrace_dbg_regs stopped_regs; /* of its main thread, to see nothing changed them */
    ptrace_dbg_fpregs stopped_fpregs; /* of its main thread, for set_fpregs */
    uint64_t pc;                  /* its main thread's pc: mapped text */
    unsigned char text[64];       /* the bytes at pc */
    ptrace_dbg_process *running;  /* "spin 0", running */
    pid_t running_pid;
    ptrace_dbg_process *exited;   /* "exit 0", killed */
    ptrace_dbg_process *detached; /* "threads 2" attached then detached */
    pid_t detached_pid;
    pid_t detached_thread;        /* a thread of it that is not its main thread */
    ptrace_dbg_process *freed;    /* freed once */
    ptrace_dbg_process *freed_twice;
    ptrace_dbg_process *freed_running; /* freed while it ran */
    pid_t helper_tid;             /* a thread of this test */
    pid_t free_pid;               /* the pid of a child we reaped: no process */
    int stopped_out;              /* stdout pipes of the tracees */
};

static pthread_mutex_t helper_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t helper_cond = PTHREAD_COND_INITIALIZER;
static pid_t helper_tid_value;

static void *helper_thread(void *arg) {
    (void)arg;
    pthread_mutex_lock(&helper_lock);
    helper_tid_value = (pid_t)syscall(SYS_gettid);
    pthread_cond_broadcast(&helper_cond);
    pthread_mutex_unlock(&helper_lock);
    for (;;) pause();
    return NULL;
}

static pid_t start_helper_thread(void) {
    pthread_t thread;
    CHECK_EQ_INT(pthread_create(&thread, NULL, helper_thread, NULL), 0);
    pthread_detach(thread);
    pthread_mutex_lock(&helper_lock);
    while (helper_tid_value == 0) pthread_cond_wait(&helper_cond, &helper_lock);
    pthread_mutex_unlock(&helper_lock);
    return helper_tid_value;
}

/* A child of ours running the tracee's "exit N". It execs rather than _exit from the fork:
 * a forked copy of this multi-threaded process has lost the library's threads, and a leak
 * checker (LSan, valgrind) at its exit would call their memory lost. */
static pid_t exiting_child(const char *code) {
    const char *tracee = tracee_path();
    pid_t child = fork();
    CHECK(child >= 0);
    if (child == 0) {
        execl(tracee, tracee, "exit", code, (char *)NULL);
        _exit(127);
    }
    return child;
}

static pid_t reaped_child_pid(void) {
    pid_t child = exiting_child("0");
    CHECK_EQ_INT(waitpid(child, NULL, 0), child);
    return child;
}

static void build_world(struct world *w) {
    memset(w, 0, sizeof *w);
    char line[64];

    /* Threads spinning in user code: a step of any of them ends (one blocked in a system call
     * would not, see blocked_step). */
    w->stopped = launch_tracee(&w->stopped_out, (const char *const[]){"spin", "2", NULL});
    CHECK_OK(ptrace_dbg_pid(w->stopped, &w->stopped_pid));
    /* Run it until it says "ready", continuing past the stops of its thread creations. */
    long long deadline = now_ms() + WAIT_MS;
    for (;;) {
        CHECK(now_ms() < deadline);
        int rc = ptrace_dbg_continue(w->stopped);
        CHECK(rc == OK || rc == E_STATE);
        if (read_line(w->stopped_out, line, sizeof line, 100)) break;
        rc = ptrace_dbg_wait_stop(w->stopped, 0, NULL);
        CHECK(rc == OK || rc == E_TIMEOUT);
    }
    CHECK_OK(ptrace_dbg_stop(w->stopped));
    CHECK_OK(ptrace_dbg_wait_stop(w->stopped, WAIT_MS, NULL));
    CHECK_OK(ptrace_dbg_threads(w->stopped, w->stopped_tids, 8, &w->stopped_count));
    CHECK_EQ_INT(w->stopped_count, 3);
    CHECK_OK(ptrace_dbg_get_regs(w->stopped, w->stopped_pid, &w->stopped_regs));
    CHECK_OK(ptrace_dbg_get_fpregs(w->stopped, w->stopped_pid, &w->stopped_fpregs));
    w->pc = w->stopped_regs.rip;
    CHECK_OK(ptrace_dbg_peek(w->stopped, w->stopped_pid, w->pc, w->text, sizeof w->text, NULL));

    w->running = launch_tracee(NULL, (const char *const[]){"spin", "0", NULL});
    CHECK_OK(ptrace_dbg_pid(w->running, &w->running_pid));
    CHECK_OK(ptrace_dbg_continue(w->running));

    w->exited = launch_tracee(NULL, (const char *const[]){"exit", "0", NULL});
    CHECK_OK(ptrace_dbg_kill(w->exited));

    int out;
    w->detached_pid = spawn_tracee(&out, (const char *const[]){"threads", "2", NULL});
    CHECK(read_line(out, line, sizeof line, WAIT_MS));
    close(out);
    pid_t tasks[8];
    CHECK_EQ_INT(list_tasks(w->detached_pid, tasks, 8), 3);
    for (size_t i = 0; i < 3; i++)
        if (tasks[i] != w->detached_pid) w->detached_thread = tasks[i];
    CHECK_OK(ptrace_dbg_attach(w->detached_pid, &w->detached));
    CHECK_OK(ptrace_dbg_detach(w->detached));

    w->freed = launch_tracee(NULL, (const char *const[]){"exit", "0", NULL});
    ptrace_dbg_process_free(w->freed);
    w->freed_twice = launch_tracee(NULL, (const char *const[]){"exit", "0", NULL});
    ptrace_dbg_process_free(w->freed_twice);
    ptrace_dbg_process_free(w->freed_twice);
    w->freed_running = launch_tracee(NULL, (const char *const[]){"spin", "1", NULL});
    CHECK_OK(ptrace_dbg_continue(w->freed_running));
    ptrace_dbg_process_free(w->freed_running);

    w->helper_tid = start_helper_thread();
    w->free_pid = reaped_child_pid();
}

/* The stopped process is as it was: same registers, same text, same threads, all stopped. */
static void check_stopped_unharmed(const struct world *w, const char *after) {
    begin_case("the stopped process is unharmed after %s", after);
    ptrace_dbg_regs regs;
    unsigned char text[sizeof w->text];
    int32_t tids[8];
    size_t count = 0;
    int rc = ptrace_dbg_get_regs(w->stopped, w->stopped_pid, &regs);
    if (rc == OK) rc = ptrace_dbg_peek(w->stopped, w->stopped_pid, w->pc, text, sizeof text, NULL);
    if (rc == OK) rc = ptrace_dbg_threads(w->stopped, tids, 8, &count);
    end_case(rc, CODES(OK));
    if (rc != OK) return;
    if (memcmp(&regs, &w->stopped_regs, sizeof regs) != 0) fail_case("the registers changed");
    if (memcmp(text, w->text, sizeof text) != 0) fail_case("the text at pc changed");
    if (count != w->stopped_count) fail_case("%zu threads, was %zu", count, w->stopped_count);
    for (size_t i = 0; i < count && i < 8; i++) {
        int32_t state = -1;
        if (ptrace_dbg_thread_state(w->stopped, tids[i], &state) != OK ||
            state == PTRACE_DBG_STATE_RUNNING || state == PTRACE_DBG_STATE_SINGLE_STEPPING)
            fail_case("thread %d is not stopped (state %d)", tids[i], state);
    }
}

/* Default arguments: valid for the stopped process's main thread. */
static struct args valid_args(const struct world *w, void *buf) {
    struct args a;
    memset(&a, 0, sizeof a);
    a.tid = w->stopped_pid;
    a.addr = w->pc;
    a.len = 8;
    a.buf = buf;
    a.index = 0;
    a.value = 0;
    a.regs = &w->stopped_regs;
    a.fpregs = &w->stopped_fpregs;
    return a;
}

/* ------------------------------------------------------------------------------------------
 * The tables. */

/* Every handle-taking function with handles that are not (or no longer) handles. */
static void bad_handles(const struct world *w) {
    void *heap = calloc(1, 64);
    CHECK(heap != NULL);
    int on_stack = 0;
    ptrace_dbg_process *stopped_copy = w->stopped;
    uintptr_t live = (uintptr_t)w->stopped;
    struct {
        const char *name;
        ptrace_dbg_process *h;
    } handles[] = {
        {"NULL", NULL},
        {"0x1", (ptrace_dbg_process *)(uintptr_t)0x1},
        {"0xdeadbeef", (ptrace_dbg_process *)(uintptr_t)0xdeadbeef},
        {"(void *)-1", (ptrace_dbg_process *)UINTPTR_MAX},
        {"kernel address", (ptrace_dbg_process *)(uintptr_t)KERNEL_ADDR},
        {"heap pointer", heap},
        {"stack pointer", (ptrace_dbg_process *)&on_stack},
        {"pointer to a variable holding a live handle", (ptrace_dbg_process *)&stopped_copy},
        {"code pointer", (ptrace_dbg_process *)(uintptr_t)&op_pid},
        {"freed handle", w->freed},
        {"double-freed handle", w->freed_twice},
        {"handle freed while running", w->freed_running},
        /* Forged from a live handle. Not by flipping low bits: the ids of consecutive
         * handles differ there, so that could name another live process. */
        {"live handle ^ (1 << 30)", (ptrace_dbg_process *)(live ^ ((uintptr_t)1 << 30))},
        {"live handle ^ (1 << 47)", (ptrace_dbg_process *)(live ^ ((uintptr_t)1 << 47))},
        {"live handle ^ (1 << 48)", (ptrace_dbg_process *)(live ^ ((uintptr_t)1 << 48))},
        {"live handle ^ (1 << 63)", (ptrace_dbg_process *)(live ^ ((uintptr_t)1 << 63))},
        {"live handle's tag with id 0", (ptrace_dbg_process *)(live & ~(uintptr_t)0xffffffffffff)},
        {"live handle's tag with id 0xffffffffffff",
         (ptrace_dbg_process *)(live | (uintptr_t)0xffffffffffff)},
    };
    unsigned char buf[16] = {0};
    struct args a = valid_args(w, buf);
    for (size_t h = 0; h < sizeof handles / sizeof handles[0]; h++) {
        /* None may be a live handle by chance: the frees below would end that process. */
        CHECK(handles[h].h != w->stopped && handles[h].h != w->running &&
              handles[h].h != w->exited && handles[h].h != w->detached);
        for (size_t i = 0; i < N_OPS; i++) {
            a.null_out = 0;
            run_op(&OPS[i], handles[h].h, &a, CODES(E_HANDLE), handles[h].name);
            if (OPS[i].flags & NEEDS) {
                a.null_out = 1;
                run_op(&OPS[i], handles[h].h, &a, CODES(E_HANDLE, E_ARG), handles[h].name);
            }
        }
        a.null_out = 0;
        /* wait_stop forever on a dead handle must not wait; a bad timeout too. */
        CASE(CODES(E_HANDLE), short_wait_stop(handles[h].h, -1, NULL), "wait_stop(%s, -1)",
             handles[h].name);
        CASE(CODES(E_HANDLE, E_ARG), short_wait_stop(handles[h].h, -2, &outs.i32[0]),
             "wait_stop(%s, -2)", handles[h].name);
        CASE(CODES(E_HANDLE, E_ARG), ptrace_dbg_threads(handles[h].h, NULL, 5, &count_out),
             "threads(%s, NULL, 5)", handles[h].name);
        CASE(CODES(E_HANDLE, E_ARG), ptrace_dbg_get_reg(handles[h].h, a.tid, 27, &outs.u64),
             "get_reg(%s, index 27)", handles[h].name);
        CASE(CODES(E_HANDLE, E_ARG), ptrace_dbg_set_reg(handles[h].h, a.tid, SIZE_MAX, 0),
             "set_reg(%s, index SIZE_MAX)", handles[h].name);
        CASE(CODES(E_HANDLE, E_ARG),
             ptrace_dbg_peek(handles[h].h, a.tid, UINT64_MAX, buf, 2, &done_out),
             "peek(%s, wrapping range)", handles[h].name);
        CASE(CODES(E_HANDLE, E_ARG), ptrace_dbg_poke(handles[h].h, 0, 0, buf, SIZE_MAX, NULL),
             "poke(%s, tid 0, addr 0, len SIZE_MAX)", handles[h].name);
        begin_case("register_count(%s)", handles[h].name);
        size_t reg_count = ptrace_dbg_register_count(handles[h].h);
        end_case(reg_count == 0 ? E_HANDLE : OK, CODES(E_HANDLE));
        if (handles[h].h != NULL) {
            /* Freeing a non-handle does nothing but say so. */
            begin_case("process_free(%s)", handles[h].name);
            ptrace_dbg_process_free(handles[h].h);
            end_case(E_HANDLE, CODES(E_HANDLE)); /* checks the fresh last_error */
        }
    }
    begin_case("process_free(NULL) is a no-op");
    ptrace_dbg_process_free(NULL);
    end_case(OK, CODES(OK));
    free(heap);
    check_stopped_unharmed(w, "the bad handles");
}

/* Thread ids that are not threads of the process, in every state. */
static void bad_tids(const struct world *w) {
    struct {
        const char *name;
        int32_t tid;
    } tids[] = {
        {"0", 0},
        {"-1", -1},
        {"INT32_MIN", INT32_MIN},
        {"INT32_MAX", INT32_MAX},
        {"0x3ffffff0", 0x3ffffff0},
        {"pid 1", 1},
        {"the test's own pid", getpid()},
        {"a thread of the test", w->helper_tid},
        {"the runner's pid", getppid()},
        {"another traced process", w->running_pid},
        {"an untraced process", w->detached_pid},
        {"a thread of an untraced process", w->detached_thread},
        {"a reaped pid", w->free_pid},
    };
    struct {
        const char *name;
        ptrace_dbg_process *p;
        int state; /* index into op.running/exited/detached; -1: stopped */
    } states[] = {
        {"stopped", w->stopped, -1},
        {"running", w->running, 0},
        {"exited", w->exited, 1},
        {"detached", w->detached, 2},
    };
    unsigned char buf[16] = {0};
    char what[160];
    for (size_t s = 0; s < sizeof states / sizeof states[0]; s++) {
        int32_t own = 0;
        CHECK_OK(ptrace_dbg_pid(states[s].p, &own));
        for (size_t t = 0; t < sizeof tids / sizeof tids[0]; t++) {
            if (tids[t].tid == own) continue; /* "another traced process" is this one */
            for (size_t i = 0; i < N_OPS; i++) {
                const struct op *op = &OPS[i];
                if (!(op->flags & TID)) continue;
                int state_code = states[s].state < 0   ? E_THREAD
                                 : states[s].state == 0 ? op->running
                                 : states[s].state == 1 ? op->exited
                                                        : op->detached;
                int storage[4];
                struct args a = valid_args(w, buf);
                a.tid = tids[t].tid;
                snprintf(what, sizeof what, "%s, tid %s", states[s].name, tids[t].name);
                run_op(op, states[s].p, &a, either(storage, E_THREAD, END, state_code), what);
                if (op->flags & NEEDS) {
                    /* NULL out with an unknown tid: either fault may be named first. */
                    a.null_out = 1;
                    run_op(op, states[s].p, &a, either(storage, E_THREAD, E_ARG, state_code),
                           what);
                }
            }
        }
    }
    check_stopped_unharmed(w, "the unknown thread ids");
}

/* Valid arguments in the wrong state: running, exited, detached. */
static void wrong_states(const struct world *w) {
    unsigned char buf[16] = {0};
    struct {
        const char *name;
        ptrace_dbg_process *p;
        pid_t tid;
        int state;
    } states[] = {
        {"running", w->running, w->running_pid, 0},
        {"exited", w->exited, 0, 1},
        {"detached", w->detached, w->detached_pid, 2},
    };
    for (size_t s = 0; s < sizeof states / sizeof states[0]; s++) {
        /* The exited process's pid, for the tid: its thread is gone. */
        int32_t pid = 0;
        CHECK_OK(ptrace_dbg_pid(states[s].p, &pid));
        for (size_t i = 0; i < N_OPS; i++) {
            const struct op *op = &OPS[i];
            int code = states[s].state == 0   ? op->running
                       : states[s].state == 1 ? op->exited
                                              : op->detached;
            if (code == SKIP) continue;
            struct args a = valid_args(w, buf);
            a.tid = pid;
            a.addr = 0x1000;
            int storage[4];
            /* The exited process's thread is gone too: EXITED or NO_SUCH_THREAD. */
            int also = states[s].state == 1 && (op->flags & TID) ? E_THREAD : END;
            if (code == OK || code == E_TIMEOUT || code == E_SMALL)
                run_op(op, states[s].p, &a, (storage[0] = code, storage[1] = END, storage),
                       states[s].name);
            else
                run_op(op, states[s].p, &a, either(storage, code, also, code), states[s].name);
            if (op->flags & NEEDS) {
                a.null_out = 1;
                run_op(op, states[s].p, &a, either(storage, E_ARG, also, code), states[s].name);
            }
        }
        /* Bad timeouts must be refused before any wait, in every state. */
        int32_t timeouts[] = {-2, -3, -1000, INT32_MIN, INT32_MIN + 1};
        for (size_t t = 0; t < sizeof timeouts / sizeof timeouts[0]; t++)
            CASE(states[s].state == 0   ? CODES(E_ARG)
                 : states[s].state == 1 ? CODES(E_ARG, E_EXITED)
                                        : CODES(E_ARG, E_STATE),
                 short_wait_stop(states[s].p, timeouts[t], &outs.i32[0]),
                 "wait_stop(%s, timeout %d)", states[s].name, timeouts[t]);
    }
    /* An exited process's status stays readable; no thread is left. */
    int32_t code = 99, sig = 99;
    CHECK_OK(ptrace_dbg_exit_status(w->exited, &code, &sig));
    CHECK_EQ_INT(code, -1);
    CHECK_EQ_INT(sig, SIGKILL);
    CASE(CODES(E_EXITED), ptrace_dbg_kill(w->exited), "kill(exited) again");
}

/* NULL out-parameters and the other bad numbers on the stopped process. */
static void bad_arguments_stopped(const struct world *w) {
    static unsigned char big[1 << 16];
    unsigned char buf[16] = {0};
    const int32_t tid = w->stopped_pid;
    ptrace_dbg_process *p = w->stopped;

    /* Every function with a mandatory pointer, given NULL. */
    for (size_t i = 0; i < N_OPS; i++) {
        if (!(OPS[i].flags & NEEDS)) continue;
        struct args a = valid_args(w, buf);
        a.null_out = 1;
        run_op(&OPS[i], p, &a, CODES(E_ARG), "stopped");
        if (OPS[i].flags & TID) {
            a.tid = w->stopped_tids[2]; /* a thread that is not the main thread */
            run_op(&OPS[i], p, &a, CODES(E_ARG), "stopped, second thread");
        }
    }
    /* Issue 18: tracepoints, records, breakpoint decisions, range stepping. */
    {
        int32_t id = 0;
        ptrace_dbg_record rec;
        size_t n = 0;
        CASE(CODES(E_ARG), ptrace_dbg_add_tracepoint(p, w->pc, 0x80000000u, &id),
             "add_tracepoint(unknown flag)");
        CASE(CODES(E_FAULT), ptrace_dbg_add_tracepoint(p, 0, 0, &id), "add_tracepoint(0)");
        CASE(CODES(E_FAULT), ptrace_dbg_add_tracepoint(p, KERNEL_ADDR, 0, &id),
             "add_tracepoint(kernel address)");
        CASE(CODES(E_ARG), ptrace_dbg_remove_tracepoint(p, -1), "remove_tracepoint(-1)");
        CASE(CODES(E_ARG), ptrace_dbg_remove_tracepoint(p, INT32_MAX),
             "remove_tracepoint(INT32_MAX)");
        CASE(CODES(E_ARG), ptrace_dbg_read_records(p, NULL, 4, &n), "read_records(NULL, 4)");
        CASE(CODES(E_ARG), ptrace_dbg_read_records(p, NULL, SIZE_MAX, &n),
             "read_records(NULL, SIZE_MAX)");
        CASE(CODES(OK), ptrace_dbg_read_records(p, NULL, 0, &n), "read_records(NULL, 0)");
        CASE(CODES(OK), ptrace_dbg_read_records(p, &rec, 1, &n), "read_records(1)");
        CASE(CODES(E_ARG), ptrace_dbg_set_record_capacity(p, 0), "set_record_capacity(0)");
        CASE(CODES(E_ARG), ptrace_dbg_set_record_capacity(p, SIZE_MAX),
             "set_record_capacity(SIZE_MAX)");
        CASE(CODES(E_ARG),
             ptrace_dbg_set_record_capacity(p, PTRACE_DBG_RECORD_MAX_CAPACITY + 1),
             "set_record_capacity(max + 1)");
        CASE(CODES(E_NO_BP), ptrace_dbg_set_breakpoint_condition(p, w->pc, 0, PTRACE_DBG_COND_EQ, 0),
             "set_breakpoint_condition(no breakpoint)");
        CASE(CODES(E_NO_BP), ptrace_dbg_set_breakpoint_ignore_count(p, w->pc, 1),
             "set_breakpoint_ignore_count(no breakpoint)");
        CASE(CODES(E_ARG), ptrace_dbg_step_range(p, tid, 10, 10, NULL), "step_range(empty)");
        CASE(CODES(E_ARG), ptrace_dbg_step_range(p, tid, UINT64_MAX, 0, NULL),
             "step_range(reversed)");
        CASE(CODES(E_ARG), ptrace_dbg_step_n(p, tid, 0, NULL), "step_n(0)");
        /* A tracepoint at the main thread's pc: set, once only, its captures checked, gone. */
        CASE(CODES(OK), ptrace_dbg_add_tracepoint(p, w->pc, 0, &id), "add_tracepoint(pc)");
        int32_t id2 = 0;
        CASE(CODES(E_EXISTS), ptrace_dbg_add_tracepoint(p, w->pc, 0, &id2),
             "add_tracepoint(pc) twice");
        CASE(CODES(E_ARG), ptrace_dbg_tracepoint_capture(p, id, 27, 0, 8),
             "tracepoint_capture(reg 27)");
        CASE(CODES(E_ARG), ptrace_dbg_tracepoint_capture(p, id, SIZE_MAX, 0, 8),
             "tracepoint_capture(reg SIZE_MAX)");
        CASE(CODES(E_ARG), ptrace_dbg_tracepoint_capture(p, id, 0, 0, SIZE_MAX),
             "tracepoint_capture(len SIZE_MAX)");
        CASE(CODES(E_ARG),
             ptrace_dbg_tracepoint_capture(p, id, 0, 0, PTRACE_DBG_RECORD_DATA_MAX + 1),
             "tracepoint_capture(len max + 1)");
        CASE(CODES(OK), ptrace_dbg_tracepoint_capture(p, id, 0, INT64_MIN, 8),
             "tracepoint_capture(offset INT64_MIN)");
        CASE(CODES(E_ARG), ptrace_dbg_set_breakpoint_condition(p, w->pc, 0, 99, 0),
             "set_breakpoint_condition(unknown op)");
        CASE(CODES(OK), ptrace_dbg_remove_tracepoint(p, id), "remove_tracepoint(id)");
        CASE(CODES(E_ARG), ptrace_dbg_remove_tracepoint(p, id), "remove_tracepoint(id) twice");
    }
    CASE(CODES(E_ARG), ptrace_dbg_threads(p, NULL, 1, &count_out), "threads(NULL tids, cap 1)");
    CASE(CODES(E_ARG), ptrace_dbg_threads(p, NULL, SIZE_MAX, &count_out),
         "threads(NULL tids, cap SIZE_MAX)");
    CASE(CODES(E_ARG), ptrace_dbg_threads(p, NULL, 4, NULL), "threads(NULL tids, cap 4, NULL)");
    /* Too small: *count set, nothing written. */
    for (size_t cap = 0; cap < w->stopped_count; cap++) {
        CASE(CODES(E_SMALL), ptrace_dbg_threads(p, outs.tids, cap, &count_out),
             "threads(cap %zu of %zu)", cap, w->stopped_count);
        if (count_out != w->stopped_count) fail_case("*count %zu", count_out);
    }

    /* Register indices out of range, with good and bad tids. */
    size_t indices[] = {27, 28, 64, 255, 256, (size_t)INT32_MAX, (size_t)1 << 32, (size_t)1 << 63,
                        SIZE_MAX - 1, SIZE_MAX};
    for (size_t i = 0; i < sizeof indices / sizeof indices[0]; i++) {
        CASE(CODES(E_ARG), ptrace_dbg_get_reg(p, tid, indices[i], &outs.u64),
             "get_reg(index %zu)", indices[i]);
        CASE(CODES(E_ARG), ptrace_dbg_set_reg(p, tid, indices[i], 0), "set_reg(index %zu)",
             indices[i]);
        CASE(CODES(E_ARG, E_THREAD), ptrace_dbg_get_reg(p, -1, indices[i], &outs.u64),
             "get_reg(tid -1, index %zu)", indices[i]);
        CASE(CODES(E_ARG), ptrace_dbg_get_reg(p, tid, indices[i], NULL),
             "get_reg(index %zu, NULL)", indices[i]);
        begin_case("reg_name(%zu)", indices[i]);
        if (!skip_known_bug()) {
            const char *name = ptrace_dbg_reg_name(indices[i]);
            end_case(name == NULL ? E_ARG : OK, CODES(E_ARG));
        }
    }

    /* Register values the kernel refuses: PTRACE_DBG_E_OS, and nothing changes. */
    struct {
        const char *reg;
        uint64_t value;
    } refused[] = {
        /* Selectors of a privilege level other than 3 (the kernel checks only that). */
        {"cs", 0},          {"cs", 0x10},        {"ss", 0x1},        {"ss", 0xfffc},
        {"ds", 0x2a},       {"es", 0x11},        {"fs", 0x12},       {"gs", 0xfff0},
        /* Segment bases outside the user address space. */
        {"fs_base", KERNEL_ADDR}, {"gs_base", KERNEL_ADDR},
        {"fs_base", NONCANONICAL}, {"gs_base", UINT64_MAX},
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        size_t index = 0;
        CHECK_OK(ptrace_dbg_reg_index(refused[i].reg, &index));
        CASE(CODES(E_OS), ptrace_dbg_set_reg(p, tid, index, refused[i].value),
             "set_reg(%s = %#" PRIx64 ")", refused[i].reg, refused[i].value);
        CASE(CODES(E_OS), ptrace_dbg_write_register(p, tid, refused[i].reg, &refused[i].value, 8),
             "write_register(%s = %#" PRIx64 ")", refused[i].reg, refused[i].value);
        ptrace_dbg_regs regs = w->stopped_regs;
        uint64_t *fields = (uint64_t *)&regs;
        fields[index] = refused[i].value;
        CASE(CODES(E_OS), ptrace_dbg_set_regs(p, tid, &regs), "set_regs(%s = %#" PRIx64 ")",
             refused[i].reg, refused[i].value);
    }
    check_stopped_unharmed(w, "refused register values");

    /* Registers by name: names no register has, one the CPU lacks, wrong sizes, absurd
     * lengths, NULLs (issue 13). */
    const char *bad_reg_names[] = {"",     "XMM0", "xmm",   "zmm32",  "st8",  "k8",
                                   "dr8",  "ymm0h", "xmm0 ", " rip",  "\xff", "mm0"};
    for (size_t i = 0; i < sizeof bad_reg_names / sizeof bad_reg_names[0]; i++) {
        CASE(CODES(E_ARG),
             ptrace_dbg_read_register(p, tid, bad_reg_names[i], outs.xbuf, 64, &count_out),
             "read_register(bad name %zu)", i);
        CASE(CODES(E_ARG), ptrace_dbg_write_register(p, tid, bad_reg_names[i], buf, 16),
             "write_register(bad name %zu)", i);
    }
    CASE(CODES(E_ARG), ptrace_dbg_read_register(p, tid, NULL, outs.xbuf, 64, &count_out),
         "read_register(NULL name)");
    CASE(CODES(E_ARG), ptrace_dbg_read_register(p, tid, "xmm0", outs.xbuf, 64, NULL),
         "read_register(NULL size)");
    CASE(CODES(E_ARG), ptrace_dbg_read_register(p, tid, "xmm0", NULL, SIZE_MAX, &count_out),
         "read_register(NULL buf, cap SIZE_MAX)");
    CASE(CODES(E_SMALL), ptrace_dbg_read_register(p, tid, "xmm0", outs.xbuf, 15, &count_out),
         "read_register(cap 15)");
    if (count_out != 16) fail_case("*size %zu, expected 16", count_out);
    CASE(CODES(PTRACE_DBG_E_NOT_SUPPORTED),
         ptrace_dbg_read_register(p, tid, "dr5", outs.xbuf, 64, &count_out),
         "read_register(dr5)");
    CASE(CODES(E_ARG), ptrace_dbg_write_register(p, tid, NULL, buf, 16), "write_register(NULL)");
    size_t reg_sizes[] = {0, 1, 15, 17, 64, SIZE_MAX};
    for (size_t i = 0; i < sizeof reg_sizes / sizeof reg_sizes[0]; i++)
        CASE(CODES(E_ARG), ptrace_dbg_write_register(p, tid, "xmm0", big, reg_sizes[i]),
             "write_register(xmm0, size %zu)", reg_sizes[i]);
    CASE(CODES(E_ARG), ptrace_dbg_set_xstate(p, tid, big, sizeof big),
         "set_xstate(len %zu)", sizeof big);
    CASE(CODES(E_ARG), ptrace_dbg_set_xstate(p, tid, big, SIZE_MAX), "set_xstate(len SIZE_MAX)");
    CASE(CODES(E_ARG), ptrace_dbg_set_xstate(p, tid, big, 0), "set_xstate(len 0)");
    CASE(CODES(E_ARG), ptrace_dbg_get_xstate(p, tid, NULL, SIZE_MAX, &count_out),
         "get_xstate(NULL buf, cap SIZE_MAX)");
    CASE(CODES(E_ARG), ptrace_dbg_get_xstate(p, tid, big, sizeof big, NULL),
         "get_xstate(NULL len)");
    size_t reg_count = ptrace_dbg_register_count(p);
    if (reg_count < 27 + 8 + 8 + 1 + 16) fail_case("register_count %zu", reg_count);
    size_t reg_indices[] = {reg_count, reg_count + 1, (size_t)1 << 32, SIZE_MAX};
    for (size_t i = 0; i < sizeof reg_indices / sizeof reg_indices[0]; i++)
        CASE(CODES(E_ARG), ptrace_dbg_register_info(p, reg_indices[i], &outs.str, &outs.index),
             "register_info(index %zu)", reg_indices[i]);
    check_stopped_unharmed(w, "bad register names and sizes");

    /* System calls: bad sets and flags, calls outside a syscall stop, SECCOMP once the
     * program has run (this one has). */
    const int32_t bad_numbers[] = {-1, 1024, INT32_MIN, INT32_MAX};
    for (size_t i = 0; i < sizeof bad_numbers / sizeof bad_numbers[0]; i++) {
        CASE(CODES(E_ARG), ptrace_dbg_trace_syscalls(p, &bad_numbers[i], 1, 1),
             "trace_syscalls(number %d)", bad_numbers[i]);
        CASE(CODES(E_ARG), ptrace_dbg_set_syscall(p, tid, bad_numbers[i] == -1 ? -2 : bad_numbers[i], NULL),
             "set_syscall(number %d)", bad_numbers[i] == -1 ? -2 : bad_numbers[i]);
    }
    const int32_t write_nr = 1;
    CASE(CODES(E_ARG), ptrace_dbg_trace_syscalls(p, NULL, 5, 1), "trace_syscalls(NULL, 5)");
    CASE(CODES(E_ARG), ptrace_dbg_trace_syscalls(p, NULL, SIZE_MAX, 1),
         "trace_syscalls(NULL, SIZE_MAX)");
    uint32_t bad_flags[] = {16, 0x80000000u, UINT32_MAX, PTRACE_DBG_SYSCALL_SECCOMP};
    for (size_t i = 0; i < sizeof bad_flags / sizeof bad_flags[0]; i++)
        CASE(CODES(E_ARG), ptrace_dbg_trace_syscalls(p, &write_nr, 1, bad_flags[i]),
             "trace_syscalls(flags %#x)", bad_flags[i]);
    CASE(CODES(E_STATE),
         ptrace_dbg_trace_syscalls(p, &write_nr, 1,
                                   PTRACE_DBG_SYSCALL_ENTRY | PTRACE_DBG_SYSCALL_SECCOMP),
         "trace_syscalls(SECCOMP after the program ran)");
    CASE(CODES(E_STATE), ptrace_dbg_syscall_info(p, tid, &syscall_out),
         "syscall_info(not at a syscall stop)");
    CASE(CODES(E_STATE), ptrace_dbg_set_syscall(p, tid, -1, NULL), "set_syscall(not at an entry)");
    CASE(CODES(E_STATE), ptrace_dbg_set_syscall_return(p, tid, 0),
         "set_syscall_return(not at an exit)");
    CASE(CODES(OK), ptrace_dbg_trace_syscalls(p, &write_nr, 0, 0), "trace_syscalls(off)");
    check_stopped_unharmed(w, "the system-call calls");

    /* Memory: unmapped, kernel-space and wrapping ranges, zero and absurd lengths. */
    struct {
        const char *name;
        uint64_t addr;
    } addrs[] = {
        {"0", 0},
        {"1", 1},
        {"0xfff", 0xfff},
        {"0x1000", 0x1000},
        {"0x10000", 0x10000},
        {"top user page", UINT64_C(0x00007ffffffff000)},
        {"non-canonical", NONCANONICAL},
        {"non-canonical high", UINT64_C(0x8000000000000000)},
        {"kernel", KERNEL_ADDR},
        {"kernel top page", UINT64_C(0xfffffffffffff000)},
    };
    size_t lens[] = {1, 8, 4095, 4096, 4097, sizeof big};
    for (size_t i = 0; i < sizeof addrs / sizeof addrs[0]; i++) {
        for (size_t l = 0; l < sizeof lens / sizeof lens[0]; l++) {
            /* Past 2^64 the range wraps (refused); ending exactly at 2^64 is either. */
            uint64_t room = UINT64_MAX - addrs[i].addr + 1; /* bytes up to 2^64; 0 for 0 */
            const int *codes = room != 0 && lens[l] > room    ? CODES(E_ARG)
                               : room != 0 && lens[l] == room ? CODES(E_FAULT, E_ARG)
                                                              : CODES(E_FAULT);
            CASE(codes, ptrace_dbg_peek(p, tid, addrs[i].addr, big, lens[l], &done_out),
                 "peek(%s, len %zu)", addrs[i].name, lens[l]);
            if (done_out != 0) fail_case("*done %zu", done_out);
            CASE(codes, ptrace_dbg_poke(p, tid, addrs[i].addr, big, lens[l], &done_out),
                 "poke(%s, len %zu)", addrs[i].name, lens[l]);
            if (done_out != 0) fail_case("*done %zu", done_out);
        }
        /* len 0 reads nothing and succeeds, wherever, with or without a buffer. */
        CASE(CODES(OK), ptrace_dbg_peek(p, tid, addrs[i].addr, NULL, 0, &done_out),
             "peek(%s, NULL, len 0)", addrs[i].name);
        if (done_out != 0) fail_case("*done %zu", done_out);
        CASE(CODES(OK), ptrace_dbg_poke(p, tid, addrs[i].addr, buf, 0, NULL),
             "poke(%s, len 0)", addrs[i].name);
        /* A NULL buffer with a length is refused before the address is looked at. */
        CASE(CODES(E_ARG), ptrace_dbg_peek(p, tid, addrs[i].addr, NULL, 8, &done_out),
             "peek(%s, NULL, len 8)", addrs[i].name);
        CASE(CODES(E_ARG), ptrace_dbg_poke(p, tid, addrs[i].addr, NULL, 8, &done_out),
             "poke(%s, NULL, len 8)", addrs[i].name);
    }
    /* Ranges that wrap past the end of the address space. */
    struct {
        uint64_t addr;
        size_t len;
    } wraps[] = {
        {UINT64_MAX, 2},
        {UINT64_MAX - 4, 16},
        {UINT64_C(0xffffffffffffff00), 0x200},
        {UINT64_C(0xfffffffffffff000), 0x2000},
        {UINT64_MAX - 4095, sizeof big},
    };
    for (size_t i = 0; i < sizeof wraps / sizeof wraps[0]; i++) {
        CASE(CODES(E_ARG), ptrace_dbg_peek(p, tid, wraps[i].addr, big, wraps[i].len, &done_out),
             "peek(%#" PRIx64 ", len %#zx: wraps)", wraps[i].addr, wraps[i].len);
        if (done_out != 0) fail_case("*done %zu", done_out);
        CASE(CODES(E_ARG), ptrace_dbg_poke(p, tid, wraps[i].addr, big, wraps[i].len, &done_out),
             "poke(%#" PRIx64 ", len %#zx: wraps)", wraps[i].addr, wraps[i].len);
        if (done_out != 0) fail_case("*done %zu", done_out);
    }
    /* Ending exactly at 2^64 does not wrap (nothing is mapped there): FAULT, or refused. */
    CASE(CODES(E_FAULT, E_ARG), ptrace_dbg_peek(p, tid, UINT64_MAX, buf, 1, &done_out),
         "peek(UINT64_MAX, len 1)");
    CASE(CODES(E_FAULT, E_ARG), ptrace_dbg_peek(p, tid, UINT64_MAX - 7, buf, 8, &done_out),
         "peek(UINT64_MAX - 7, len 8)");
    /* Absurd lengths (above SSIZE_MAX), with a small buffer: refused before any copy. */
    size_t absurd[] = {SIZE_MAX, SIZE_MAX - 1, (size_t)1 << 63, ((size_t)1 << 63) + 1,
                       (size_t)SSIZE_MAX + 1};
    uint64_t absurd_at[] = {w->pc, 0, KERNEL_ADDR};
    for (size_t i = 0; i < sizeof absurd / sizeof absurd[0]; i++) {
        for (size_t j = 0; j < sizeof absurd_at / sizeof absurd_at[0]; j++) {
            CASE(CODES(E_ARG), ptrace_dbg_peek(p, tid, absurd_at[j], buf, absurd[i], &done_out),
                 "peek(%#" PRIx64 ", len %#zx)", absurd_at[j], absurd[i]);
            if (done_out != 0) fail_case("*done %zu", done_out);
            CASE(CODES(E_ARG), ptrace_dbg_poke(p, tid, absurd_at[j], buf, absurd[i], &done_out),
                 "poke(%#" PRIx64 ", len %#zx)", absurd_at[j], absurd[i]);
            if (done_out != 0) fail_case("*done %zu", done_out);
            CASE(CODES(E_ARG), ptrace_dbg_peek(p, tid, absurd_at[j], NULL, absurd[i], NULL),
                 "peek(%#" PRIx64 ", NULL, len %#zx)", absurd_at[j], absurd[i]);
        }
    }
    /* Large but legal lengths (1 << 62, below SSIZE_MAX) with a small buffer are outside the
     * header's contract (`buf` writable for `len` bytes), so they are not tried: valgrind
     * rightly flags the system call handed such a buffer, even where nothing could be copied. */

    /* A range straddling the end of a mapping: the bytes before the hole, then FAULT. */
    uint64_t end = 0;
    {
        char path[64], line[512];
        snprintf(path, sizeof path, "/proc/%d/maps", (int)w->stopped_pid);
        FILE *f = fopen(path, "r");
        CHECK(f != NULL);
        uint64_t prev_end = 0, start = 0, stop = 0;
        char perms[8];
        while (fgets(line, sizeof line, f)) {
            if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %7s", &start, &stop, perms) != 3) continue;
            if (prev_end && start != prev_end) {
                end = prev_end; /* a hole right after the previous mapping */
                break;
            }
            /* Readable ordinary mappings only ([vvar] and the like are special). */
            prev_end = perms[0] == 'r' && !strstr(line, "[v") ? stop : 0;
        }
        fclose(f);
    }
    CHECK(end != 0);
    CASE(CODES(E_FAULT), ptrace_dbg_peek(p, tid, end - 8, buf, 16, &done_out),
         "peek(8 bytes before a hole, len 16)");
    if (done_out != 8) fail_case("*done %zu, expected 8", done_out);
    unsigned char edge[8];
    memcpy(edge, buf, 8);
    CASE(CODES(E_FAULT), ptrace_dbg_poke(p, tid, end - 8, buf, 16, &done_out),
         "poke(8 bytes before a hole, len 16) writes back what was there");
    if (done_out != 8) fail_case("*done %zu, expected 8", done_out);
    CASE(CODES(OK), ptrace_dbg_peek(p, tid, end - 8, buf, 8, &done_out),
         "peek(the 8 bytes before the hole)");
    if (memcmp(edge, buf, 8) != 0) fail_case("the bytes before the hole changed");

    /* Breakpoints at addresses that are not text, and the double add/remove. */
    uint64_t no_text[] = {0,          1,           0x1000,      NONCANONICAL,
                          KERNEL_ADDR, UINT64_MAX, UINT64_C(0xfffffffffffff000)};
    for (size_t i = 0; i < sizeof no_text / sizeof no_text[0]; i++) {
        CASE(CODES(E_FAULT), ptrace_dbg_add_breakpoint(p, no_text[i]),
             "add_breakpoint(%#" PRIx64 ")", no_text[i]);
        CASE(CODES(E_NO_BP), ptrace_dbg_remove_breakpoint(p, no_text[i]),
             "remove_breakpoint(%#" PRIx64 ")", no_text[i]);
    }
    CASE(CODES(OK), ptrace_dbg_add_breakpoint(p, w->pc), "add_breakpoint(pc)");
    CASE(CODES(E_EXISTS), ptrace_dbg_add_breakpoint(p, w->pc), "add_breakpoint(pc) twice");
    CASE(CODES(E_NO_BP), ptrace_dbg_remove_breakpoint(p, w->pc + 1),
         "remove_breakpoint(pc + 1), not set");
    CASE(CODES(OK), ptrace_dbg_remove_breakpoint(p, w->pc), "remove_breakpoint(pc)");
    CASE(CODES(E_NO_BP), ptrace_dbg_remove_breakpoint(p, w->pc), "remove_breakpoint(pc) twice");

    /* Watchpoints: bad lengths, alignments, addresses, kinds and ids; four slots. */
    {
        const uint64_t data = w->pc & ~UINT64_C(7);
        struct {
            uint64_t addr;
            size_t len;
            int32_t kind;
        } bad_watch[] = {
            {data, 0, PTRACE_DBG_WATCH_WRITE},
            {data, 3, PTRACE_DBG_WATCH_WRITE},
            {data, 16, PTRACE_DBG_WATCH_READ_WRITE},
            {data, SIZE_MAX, PTRACE_DBG_WATCH_WRITE},
            {data + 4, 8, PTRACE_DBG_WATCH_WRITE},
            {data + 1, 2, PTRACE_DBG_WATCH_READ_WRITE},
            {data, 8, PTRACE_DBG_WATCH_EXECUTE},
            {data, 8, 2 /* no read-only watchpoints on x86 */},
            {data, 8, -1},
            {data, 8, 4},
            {data, 8, INT32_MIN},
            {data, 8, INT32_MAX},
            {KERNEL_ADDR, 8, PTRACE_DBG_WATCH_WRITE},
            {NONCANONICAL, 8, PTRACE_DBG_WATCH_WRITE},
            {UINT64_MAX - 7, 8, PTRACE_DBG_WATCH_WRITE},
            {UINT64_C(0xfffffffffffff000), 1, PTRACE_DBG_WATCH_EXECUTE},
        };
        for (size_t i = 0; i < sizeof bad_watch / sizeof bad_watch[0]; i++)
            CASE(CODES(E_ARG),
                 ptrace_dbg_add_watchpoint(p, bad_watch[i].addr, bad_watch[i].len,
                                           bad_watch[i].kind, &outs.i32[0]),
                 "add_watchpoint(%#" PRIx64 ", len %zu, kind %d)", bad_watch[i].addr,
                 bad_watch[i].len, bad_watch[i].kind);
        int32_t bad_ids[] = {0, -1, 1, 2, 1000, INT32_MIN, INT32_MAX};
        for (size_t i = 0; i < sizeof bad_ids / sizeof bad_ids[0]; i++)
            CASE(CODES(E_NO_BP), ptrace_dbg_remove_watchpoint(p, bad_ids[i]),
                 "remove_watchpoint(%d), never set", bad_ids[i]);
        CASE(CODES(E_NO_BP), ptrace_dbg_watchpoint_hit(p, tid, &outs.i32[0], &outs.u64),
             "watchpoint_hit(a thread stopped by request)");
        int32_t ids[4];
        for (int i = 0; i < 4; i++) {
            CASE(CODES(OK),
                 ptrace_dbg_add_watchpoint(p, data + 8 * (uint64_t)i, 8,
                                           PTRACE_DBG_WATCH_READ_WRITE, &ids[i]),
                 "add_watchpoint(slot %d)", i);
        }
        CASE(CODES(E_NO_RES),
             ptrace_dbg_add_watchpoint(p, data, 1, PTRACE_DBG_WATCH_EXECUTE, &outs.i32[0]),
             "add_watchpoint(a fifth)");
        for (int i = 0; i < 4; i++) {
            CASE(CODES(OK), ptrace_dbg_remove_watchpoint(p, ids[i]), "remove_watchpoint(%d)",
                 ids[i]);
            CASE(CODES(E_NO_BP), ptrace_dbg_remove_watchpoint(p, ids[i]),
                 "remove_watchpoint(%d) twice", ids[i]);
        }
    }

    /* Timeouts: below -1 refused; the largest and "forever" return at once when stopped. */
    int32_t timeouts[] = {-2, -3, -1000, INT32_MIN, INT32_MIN + 1};
    for (size_t t = 0; t < sizeof timeouts / sizeof timeouts[0]; t++) {
        CASE(CODES(E_ARG), short_wait_stop(p, timeouts[t], &outs.i32[0]),
             "wait_stop(stopped, timeout %d)", timeouts[t]);
        CASE(CODES(E_ARG), short_wait_stop(w->running, timeouts[t], NULL),
             "wait_stop(running, timeout %d)", timeouts[t]);
    }
    CASE(CODES(OK), short_wait_stop(p, INT32_MAX, NULL), "wait_stop(stopped, INT32_MAX)");
    CASE(CODES(OK), short_wait_stop(p, -1, NULL), "wait_stop(stopped, -1)");
    CASE(CODES(E_STATE), ptrace_dbg_exit_status(p, &outs.i32[0], &outs.i32[1]),
         "exit_status(stopped)");
    /* Follow flags: unknown bits refused; take_child of a pid never offered. */
    uint32_t follow_flags[] = {4, PTRACE_DBG_FOLLOW_FORK | 4, 8, 0x80000000u, UINT32_MAX};
    for (size_t i = 0; i < sizeof follow_flags / sizeof follow_flags[0]; i++)
        CASE(CODES(E_ARG), ptrace_dbg_set_follow(p, follow_flags[i]), "set_follow(%#x)",
             follow_flags[i]);
    int32_t not_children[] = {tid, w->stopped_tids[1], 0, -1, INT32_MIN, INT32_MAX, w->free_pid};
    for (size_t i = 0; i < sizeof not_children / sizeof not_children[0]; i++)
        CASE(CODES(E_ARG), ptrace_dbg_take_child(p, not_children[i], &outs.child),
             "take_child(pid %d, never offered)", not_children[i]);

    /* Maps, symbols and libraries (issue 16). */
    CASE(CODES(E_ARG), ptrace_dbg_maps(p, NULL, 5, &count_out), "maps(NULL, 5)");
    CASE(CODES(E_SMALL), ptrace_dbg_maps(p, NULL, 0, &count_out), "maps(NULL, 0)");
    if (count_out == 0 || count_out > 4096) fail_case("maps(NULL, 0) set *count to %zu", count_out);
    CASE(CODES(E_SMALL), ptrace_dbg_maps(p, outs.maps, 1, &count_out), "maps(cap 1)");
    CASE(CODES(OK), ptrace_dbg_maps(p, outs.maps, 256, &count_out), "maps");
    size_t listed = count_out;
    CASE(CODES(E_ARG), ptrace_dbg_mapping_path(p, listed, outs.path, 16, NULL),
         "mapping_path(one past the listing)");
    CASE(CODES(E_ARG), ptrace_dbg_mapping_path(p, SIZE_MAX, outs.path, 16, NULL),
         "mapping_path(SIZE_MAX)");
    CASE(CODES(E_SMALL), ptrace_dbg_mapping_path(p, 0, outs.path, 1, &count_out),
         "mapping_path(cap 1)");
    CASE(CODES(E_ARG), ptrace_dbg_mapping_path(p, 0, NULL, 16, NULL), "mapping_path(NULL, 16)");
    CASE(CODES(E_ARG), ptrace_dbg_symbol_address(p, NULL, NULL, &outs.u64),
         "symbol_address(NULL symbol)");
    CASE(CODES(E_NOT_FOUND), ptrace_dbg_symbol_address(p, NULL, "hostile_no_such_symbol", &outs.u64),
         "symbol_address(unknown symbol)");
    CASE(CODES(E_NOT_FOUND), ptrace_dbg_symbol_address(p, "libnothere.so", "main", &outs.u64),
         "symbol_address(unknown library)");
    CASE(CODES(E_NOT_FOUND), ptrace_dbg_symbol_address(p, "", "main", &outs.u64),
         "symbol_address(empty library)");
    CASE(CODES(E_ARG), ptrace_dbg_symbol_address(p, NULL, "\xff\xfe", &outs.u64),
         "symbol_address(not UTF-8)");
    uint64_t bad_addrs[] = {0, 16, KERNEL_ADDR, NONCANONICAL, UINT64_MAX};
    for (size_t i = 0; i < sizeof bad_addrs / sizeof bad_addrs[0]; i++)
        CASE(CODES(E_NOT_FOUND),
             ptrace_dbg_address_symbol(p, bad_addrs[i], outs.name, sizeof outs.name, &outs.u64,
                                       outs.path, sizeof outs.path),
             "address_symbol(%#" PRIx64 ")", bad_addrs[i]);
    uint64_t main_addr = 0;
    CHECK_OK(ptrace_dbg_symbol_address(p, NULL, "main", &main_addr));
    CASE(CODES(E_SMALL),
         ptrace_dbg_address_symbol(p, main_addr, outs.name, 4, &outs.u64, NULL, 0),
         "address_symbol(main, cap 4)");
    CASE(CODES(E_SMALL),
         ptrace_dbg_address_symbol(p, main_addr, outs.name, sizeof outs.name, NULL, outs.path, 2),
         "address_symbol(main, path_cap 2)");
    CASE(CODES(E_ARG),
         ptrace_dbg_address_symbol(p, main_addr, outs.name, sizeof outs.name, NULL, NULL, 16),
         "address_symbol(main, NULL path with a size)");
    CASE(CODES(E_ARG), ptrace_dbg_libraries(p, NULL, 3, &count_out), "libraries(NULL, 3)");
    CASE(CODES(E_ARG), ptrace_dbg_library_path(p, SIZE_MAX, outs.path, 16, NULL),
         "library_path(SIZE_MAX)");
    uint32_t bad_follow[] = {4, 5, 6, 0x80000000u, UINT32_MAX};
    for (size_t i = 0; i < sizeof bad_follow / sizeof bad_follow[0]; i++)
        CASE(CODES(E_ARG), ptrace_dbg_set_follow(p, bad_follow[i]), "set_follow(%#x)", bad_follow[i]);
    CASE(CODES(E_ARG), ptrace_dbg_add_symbol_breakpoint(p, NULL, NULL, &outs.i32[0]),
         "add_symbol_breakpoint(NULL symbol)");
    CASE(CODES(E_ARG), ptrace_dbg_add_symbol_breakpoint(p, NULL, "", &outs.i32[0]),
         "add_symbol_breakpoint(empty symbol)");
    CASE(CODES(E_ARG), ptrace_dbg_add_symbol_breakpoint(p, "", "main", &outs.i32[0]),
         "add_symbol_breakpoint(empty library)");
    int32_t bad_ids[] = {0, -1, 12345, INT32_MIN, INT32_MAX};
    for (size_t i = 0; i < sizeof bad_ids / sizeof bad_ids[0]; i++)
        CASE(CODES(E_NOT_FOUND), ptrace_dbg_remove_symbol_breakpoint(p, bad_ids[i]),
             "remove_symbol_breakpoint(%d)", bad_ids[i]);
    check_stopped_unharmed(w, "the bad arguments");
}

/* The functions that take no handle. */
static void handleless(const struct world *w) {
    int weird_codes[] = {1, 2, 100, -999, -100, INT_MIN, INT_MAX};
    for (size_t i = 0; i < sizeof weird_codes / sizeof weird_codes[0]; i++) {
        begin_case("strerror(%d)", weird_codes[i]);
        const char *text = ptrace_dbg_strerror(weird_codes[i]);
        end_case(OK, CODES(OK));
        if (text == NULL || text[0] == '\0') fail_case("NULL or empty text");
    }
    int32_t weird_signals[] = {0, -1, 65, 128, INT32_MIN, INT32_MAX};
    for (size_t i = 0; i < sizeof weird_signals / sizeof weird_signals[0]; i++) {
        begin_case("signal_name(%d)", weird_signals[i]);
        const char *name = ptrace_dbg_signal_name(weird_signals[i]);
        end_case(OK, CODES(OK));
        if (name == NULL || strcmp(name, "<invalid>") != 0)
            fail_case("gave \"%s\"", name ? name : "(NULL)");
    }
    int32_t weird_syscalls[] = {-1, 400, 512, 100000, INT32_MIN, INT32_MAX};
    for (size_t i = 0; i < sizeof weird_syscalls / sizeof weird_syscalls[0]; i++) {
        begin_case("syscall_name(%d)", weird_syscalls[i]);
        const char *name = ptrace_dbg_syscall_name(weird_syscalls[i]);
        end_case(OK, CODES(OK));
        if (name != NULL) fail_case("gave \"%s\"", name);
    }
    int32_t nr = -7;
    CASE(CODES(E_ARG), ptrace_dbg_syscall_number(NULL, &nr), "syscall_number(NULL)");
    CASE(CODES(E_ARG), ptrace_dbg_syscall_number("", &nr), "syscall_number(\"\")");
    CASE(CODES(E_ARG), ptrace_dbg_syscall_number("openat\n", &nr), "syscall_number(openat\\n)");
    CASE(CODES(E_ARG), ptrace_dbg_syscall_number("openat", NULL), "syscall_number(NULL out)");
    if (nr != -7) fail_case("out written on failure");
    CASE(CODES(OK), ptrace_dbg_syscall_number("openat", &nr), "syscall_number(openat)");
    if (nr != 257) fail_case("openat is %d", nr);
    begin_case("version, reg_count, last_error, launch_options_init(NULL)");
    const char *version = ptrace_dbg_version();
    size_t count = ptrace_dbg_reg_count();
    ptrace_dbg_launch_options_init(NULL);
    const char *last = ptrace_dbg_last_error();
    end_case(OK, CODES(OK));
    if (version == NULL || count != 27 || last == NULL) fail_case("version/reg_count/last_error");

    /* reg_index: NULL, empty, wrong case, padding, other architectures' names, control and
     * invalid UTF-8 bytes, a very long name. */
    static char long_name[1 << 16];
    memset(long_name, 'r', sizeof long_name - 1);
    const char *bad_names[] = {"",      "RIP",   "Rip",    "rip ",     " rip",  "eax",
                               "r16",   "pc",    "sp",     "rip\x01",  "\xff\xfe", "\xc3\x28",
                               "fs.base", "gs_base\n", long_name};
    for (size_t i = 0; i < sizeof bad_names / sizeof bad_names[0]; i++) {
        CASE(CODES(E_ARG), ptrace_dbg_reg_index(bad_names[i], &outs.index),
             "reg_index(bad name %zu)", i);
        CASE(CODES(E_ARG), ptrace_dbg_reg_index(bad_names[i], NULL),
             "reg_index(bad name %zu, NULL)", i);
    }
    CASE(CODES(E_ARG), ptrace_dbg_reg_index(NULL, &outs.index), "reg_index(NULL)");
    CASE(CODES(E_ARG), ptrace_dbg_reg_index(NULL, NULL), "reg_index(NULL, NULL)");
    CASE(CODES(E_ARG), ptrace_dbg_reg_index("rip", NULL), "reg_index(\"rip\", NULL)");

    /* attach: numbers that are no process, the host itself, a thread, an already traced
     * process; NULL out. pid 1 is not tried: as root, attaching to init would succeed. */
    struct {
        const char *name;
        int32_t pid;
        const int *codes;
    } pids[] = {
        {"0", 0, CODES(E_ARG)},
        {"-1", -1, CODES(E_ARG)},
        {"INT32_MIN", INT32_MIN, CODES(E_ARG)},
        {"the host's pid", getpid(), CODES(E_ARG)},
        {"a thread of the host", w->helper_tid, CODES(E_ARG)},
        {"a thread of an untraced process", w->detached_thread, CODES(E_ARG)},
        {"a thread of a traced process", w->stopped_tids[1], CODES(E_ARG, E_PERM)},
        {"INT32_MAX", INT32_MAX, CODES(E_NO_PROC)},
        {"0x3ffffff0", 0x3ffffff0, CODES(E_NO_PROC)},
        {"a reaped pid", w->free_pid, CODES(E_NO_PROC)},
        {"a process we trace already", w->stopped_pid, CODES(E_PERM)},
        {"a running process we trace already", w->running_pid, CODES(E_PERM)},
    };
    for (size_t i = 0; i < sizeof pids / sizeof pids[0]; i++) {
        ptrace_dbg_process *out = (ptrace_dbg_process *)(uintptr_t)0x77;
        CASE(pids[i].codes, ptrace_dbg_attach(pids[i].pid, &out), "attach(%s)", pids[i].name);
        if (out != (ptrace_dbg_process *)(uintptr_t)0x77) fail_case("*out written");
        CASE(CODES(E_ARG), ptrace_dbg_attach(pids[i].pid, NULL), "attach(%s, NULL)", pids[i].name);
    }
    /* A zombie child of ours: refused (it cannot be traced), and still ours to reap. */
    pid_t zombie = exiting_child("7");
    /* Until it is a zombie (state Z; not wait_gone: valgrind does not know pidfd_open). */
    long long deadline = now_ms() + WAIT_MS;
    while (task_state(zombie, zombie) != 'Z') {
        CHECK(now_ms() < deadline);
        struct timespec tick = {0, 1000 * 1000};
        nanosleep(&tick, NULL);
    }
    {
        ptrace_dbg_process *out = NULL;
        CASE(CODES(E_NO_PROC, E_PERM), ptrace_dbg_attach(zombie, &out), "attach(a zombie child)");
        if (out) ptrace_dbg_process_free(out);
        int status = 0;
        begin_case("the zombie is still ours to reap");
        pid_t reaped = waitpid(zombie, &status, WNOHANG);
        end_case(reaped == zombie && WIFEXITED(status) && WEXITSTATUS(status) == 7 ? OK : E_OS,
                 CODES(OK));
    }
}

/* launch with bad paths, arrays, options; run before any other process exists so that the
 * check for leaked children, threads and descriptors sees only launch's own. */
static void bad_launches(void) {
    int fds_before = count_dir("/proc/self/fd");
    int tasks_before = count_dir("/proc/self/task");
    ptrace_dbg_process *out = (ptrace_dbg_process *)(uintptr_t)0x77;
    const char *tracee = tracee_path();
    const char *const argv[] = {tracee, "exit", "0", NULL};

    /* A file that is executable but no program: ENOEXEC. */
    char script[] = "/tmp/ptrace_dbg_hostile_XXXXXX";
    int fd = mkstemp(script);
    CHECK(fd >= 0);
    CHECK(write(fd, "\x01\x02garbage", 9) == 9);
    close(fd);
    CHECK(chmod(script, 0700) == 0);
    static char long_path[8192];
    memset(long_path, 'a', sizeof long_path - 1);
    long_path[0] = '/';
    static char huge_arg[300 * 1024]; /* above MAX_ARG_STRLEN (128 KiB): E2BIG */
    memset(huge_arg, 'x', sizeof huge_arg - 1);
    const char *const huge_argv[] = {tracee, huge_arg, NULL};
    const char *const huge_envp[] = {huge_arg, NULL};

    struct {
        const char *name;
        const char *path;
        const char *const *argv;
        const char *const *envp;
        const int *codes;
    } paths[] = {
        {"NULL path", NULL, argv, NULL, CODES(E_ARG)},
        {"empty path", "", argv, NULL, CODES(E_ARG)},
        {"NULL path and argv", NULL, NULL, NULL, CODES(E_ARG)},
        {"missing file", "/nonexistent/ptrace_dbg/program", argv, NULL, CODES(E_OS)},
        {"missing relative file", "no/such/program", argv, NULL, CODES(E_OS)},
        {"bare name not in PATH", "ptrace-dbg-no-such-program", NULL, NULL, CODES(E_OS)},
        {"a directory", "/", NULL, NULL, CODES(E_PERM)},
        {"a bare '.'", ".", NULL, NULL, CODES(E_PERM, E_OS)},
        {"a file without x bit", "/etc/passwd", NULL, NULL, CODES(E_PERM)},
        {"a device", "/dev/null", NULL, NULL, CODES(E_PERM)},
        {"an executable that is no program", script, NULL, NULL, CODES(E_OS)},
        {"a path of 8 KiB", long_path, NULL, NULL, CODES(E_OS)},
        {"an argument of 300 KiB", tracee, huge_argv, NULL, CODES(E_OS)},
        {"an environment string of 300 KiB", tracee, argv, huge_envp, CODES(E_OS)},
    };
    /* valgrind dies when an execve it runs fails late ("EXEC FAILED: I can't recover"), as
     * E2BIG does: the launch then sees its child exit before exec. Those two only run
     * natively. */
    const char *preload = getenv("LD_PRELOAD");
    int under_valgrind = preload && strstr(preload, "vgpreload");
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        if (under_valgrind && (paths[i].argv == huge_argv || paths[i].envp == huge_envp))
            continue;
        CASE(paths[i].codes,
             ptrace_dbg_launch(paths[i].path, paths[i].argv, paths[i].envp, NULL, &out),
             "launch(%s)", paths[i].name);
        if (out != (ptrace_dbg_process *)(uintptr_t)0x77) {
            fail_case("*out written");
            if (code_in(OK, paths[i].codes) == 0) out = (ptrace_dbg_process *)(uintptr_t)0x77;
        }
        CASE(CODES(E_ARG),
             ptrace_dbg_launch(paths[i].path, paths[i].argv, paths[i].envp, NULL, NULL),
             "launch(%s, NULL out)", paths[i].name);
    }
    unlink(script);

    int closed_fd = open("/dev/null", O_RDONLY);
    CHECK(closed_fd >= 0);
    close(closed_fd);
    struct {
        const char *name;
        uint32_t flags;
        int32_t in, outfd, err;
        const char *cwd;
        const int *codes;
    } options[] = {
        {"flags 2", 2, -1, -1, -1, NULL, CODES(E_ARG)},
        {"flags DISABLE_ASLR | 2", PTRACE_DBG_LAUNCH_DISABLE_ASLR | 2, -1, -1, -1, NULL,
         CODES(E_ARG)},
        {"flags 0x80000000", 0x80000000u, -1, -1, -1, NULL, CODES(E_ARG)},
        {"flags UINT32_MAX", UINT32_MAX, -1, -1, -1, NULL, CODES(E_ARG)},
        {"stdin_fd -2", 0, -2, -1, -1, NULL, CODES(E_ARG)},
        {"stdout_fd INT32_MIN", 0, -1, INT32_MIN, -1, NULL, CODES(E_ARG)},
        {"stderr_fd INT32_MAX", 0, -1, -1, INT32_MAX, NULL, CODES(E_ARG)},
        {"stdin_fd closed", 0, closed_fd, -1, -1, NULL, CODES(E_ARG)},
        {"stdout_fd 1000, not open", 0, -1, 1000, -1, NULL, CODES(E_ARG)},
        {"cwd missing", 0, -1, -1, -1, "/nonexistent/ptrace_dbg/dir", CODES(E_OS)},
        {"cwd a file", 0, -1, -1, -1, "/etc/passwd", CODES(E_OS)},
        {"cwd empty", 0, -1, -1, -1, "", CODES(E_OS, E_ARG)},
    };
    for (size_t i = 0; i < sizeof options / sizeof options[0]; i++) {
        ptrace_dbg_launch_options opts;
        ptrace_dbg_launch_options_init(&opts);
        opts.flags = options[i].flags;
        opts.stdin_fd = options[i].in;
        opts.stdout_fd = options[i].outfd;
        opts.stderr_fd = options[i].err;
        opts.cwd = options[i].cwd;
        CASE(options[i].codes, ptrace_dbg_launch(tracee, argv, NULL, &opts, &out), "launch(%s)",
             options[i].name);
        if (out != (ptrace_dbg_process *)(uintptr_t)0x77) fail_case("*out written");
    }

    /* Nothing left behind by the failures: no child (the host may wait for any child here, as
     * no process is traced yet), no descriptor, no thread. */
    begin_case("failed launches leave no child, descriptor or thread");
    int status;
    pid_t left = waitpid(-1, &status, WNOHANG);
    int fds_after = count_dir("/proc/self/fd");
    int tasks_after = count_dir("/proc/self/task");
    end_case(OK, CODES(OK));
    if (left > 0) fail_case("child %d was left for the host to reap", (int)left);
    if (fds_after != fds_before)
        fail_case("%d descriptors before, %d after", fds_before, fds_after);
    if (tasks_after > tasks_before)
        fail_case("%d threads before, %d after", tasks_before, tasks_after);

    /* The edge cases that are valid: an empty argv and an empty environment. */
    const char *const empty[] = {NULL};
    ptrace_dbg_launch_options quiet;
    ptrace_dbg_launch_options_init(&quiet);
    quiet.stdout_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
    CHECK(quiet.stdout_fd >= 0);
    ptrace_dbg_process *p = NULL;
    CASE(CODES(OK), ptrace_dbg_launch(tracee, empty, empty, &quiet, &p),
         "launch(argv {NULL}, envp {NULL})");
    close(quiet.stdout_fd);
    if (p) {
        CASE(CODES(OK), ptrace_dbg_kill(p), "kill(a just-launched process)");
        ptrace_dbg_process_free(p);
    }
}

/* A step of a thread blocked in a system call (pause()) cannot end by itself: the call
 * restarts and blocks again. Another host thread must still be able to end the wait: a stop
 * (the doc's "callable from any thread") or a kill, after which the step says EXITED. */
struct canceller {
    ptrace_dbg_process *p;
    int use_kill;
    int rc;
};

static void *cancel_after_500ms(void *arg) {
    struct canceller *c = arg;
    struct timespec pause_500ms = {0, 500 * 1000 * 1000};
    nanosleep(&pause_500ms, NULL);
    c->rc = c->use_kill ? ptrace_dbg_kill(c->p) : ptrace_dbg_stop(c->p);
    return NULL;
}

static void blocked_step(int use_kill) {
    const char *canceller = use_kill ? "kill" : "stop";
    begin_case("step(a thread blocked in pause()) while another thread calls %s", canceller);
    if (skip_known_bug()) {
        known_skipped++; /* and the canceller's own case */
        return;
    }
    cases--; /* counted again below */
    char line[64];
    int out;
    ptrace_dbg_process *p = launch_tracee(&out, (const char *const[]){"threads", "1", NULL});
    long long deadline = now_ms() + WAIT_MS;
    for (;;) {
        CHECK(now_ms() < deadline);
        int rc = ptrace_dbg_continue(p);
        CHECK(rc == OK || rc == E_STATE);
        if (read_line(out, line, sizeof line, 100)) break;
        rc = ptrace_dbg_wait_stop(p, 0, NULL);
        CHECK(rc == OK || rc == E_TIMEOUT);
    }
    /* Until the kernel says the main thread sits in pause() (syscall 34), bounded. */
    {
        char path[64], buf[64] = "";
        snprintf(path, sizeof path, "/proc/%d/syscall", (int)pid_of(p));
        for (;;) {
            CHECK(now_ms() < deadline);
            FILE *f = fopen(path, "r");
            if (f) {
                if (!fgets(buf, sizeof buf, f)) buf[0] = 0;
                fclose(f);
            }
            if (strncmp(buf, "34 ", 3) == 0) break;
            sched_yield();
        }
    }
    CHECK_OK(ptrace_dbg_stop(p));
    int32_t tids[4];
    size_t count = 0;
    CHECK_OK(ptrace_dbg_threads(p, tids, 4, &count));
    CHECK_EQ_INT(count, 2);
    struct canceller c = {p, use_kill, 1};
    pthread_t thread;
    CHECK_EQ_INT(pthread_create(&thread, NULL, cancel_after_500ms, &c), 0);
    begin_case("step(a thread blocked in pause()) while another thread calls %s", canceller);
    end_case(ptrace_dbg_step(p, tids[0]),
             use_kill ? CODES(E_EXITED) : CODES(OK, E_TIMEOUT, E_STATE));
    CHECK_EQ_INT(pthread_join(thread, NULL), 0);
    begin_case("%s from another thread during a step of a thread blocked in pause()",
               canceller);
    end_case(c.rc, CODES(OK));
    ptrace_dbg_process_free(p);
    close(out);
}

TEST_TIMEOUT(hostile_input_gets_documented_codes_and_never_crashes_or_hangs, 180) {
    guard();
    bad_launches();
    struct world w;
    build_world(&w);
    handleless(&w);
    bad_handles(&w);
    bad_tids(&w);
    wrong_states(&w);
    bad_arguments_stopped(&w);

    /* Everything still works after all that, and goes away cleanly. */
    blocked_step(0);
    blocked_step(1);

    check_stopped_unharmed(&w, "everything");
    CASE(CODES(OK), ptrace_dbg_step(w.stopped, w.stopped_pid), "step(stopped) still works");
    CASE(CODES(OK), ptrace_dbg_stop(w.running), "stop(running) still works");
    CASE(CODES(OK), ptrace_dbg_kill(w.stopped), "kill(stopped)");
    CASE(CODES(OK), ptrace_dbg_kill(w.running), "kill(running)");
    ptrace_dbg_process_free(w.stopped);
    ptrace_dbg_process_free(w.running);
    ptrace_dbg_process_free(w.exited);
    ptrace_dbg_process_free(w.detached);
    close(w.stopped_out);
    kill_child(w.detached_pid);
    CASE(CODES(E_HANDLE), ptrace_dbg_pid(w.stopped, &outs.i32[0]), "pid(the stopped, now freed)");

    printf("hostile: %d cases, %d failed, %d known-bug cases skipped%s\n", cases, failures,
           known_skipped, known_skipped ? " (RUN_KNOWN_BUGS=1 runs them)" : "");
    if (failures) runner_fail(__FILE__, __LINE__, "%d of %d hostile cases failed", failures, cases);
}
